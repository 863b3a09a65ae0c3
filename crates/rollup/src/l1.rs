//! What the rollup node reads from and sends to L1, behind one trait, with
//! the implementation over a validator in the same process.
//!
//! The node only ever reads *finalized* L1 blocks: L1 finality is BFT, so
//! what the node derives from them is never reorganised.

use bytes::Bytes;
use commonware_codec::Encode as _;
use std::future::Future;
use terrace_l1::{
    ChainParams, Key, MemoryState, Payload, StateReader, Transaction,
    execute::Failure,
    modules::optimistic::{OptimisticOp, RollupOp},
};
use terrace_node::engine::LocalClient;
use terrace_primitives::{Address, ChainId, Hash, PrivateKey, keys::Signer as _};

/// Why an L1 call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum L1Error {
    /// L1 cannot answer now (not synced, block not stored yet).
    #[error("L1 unavailable: {0}")]
    Unavailable(String),
    /// L1 refused a transaction before executing it.
    #[error("L1 refused the transaction: {0}")]
    Rejected(String),
}

/// A finalized L1 transaction that acted on a rollup.
#[derive(Debug, Clone)]
pub struct RollupTx {
    /// Its id.
    pub hash: Hash,
    /// Who sent it.
    pub sender: Address,
    /// The rollup it acted on.
    pub rollup: u64,
    /// What it did.
    pub op: RollupOp,
    /// Why L1 refused it, if it did (it then changed nothing).
    pub failure: Option<Failure>,
}

/// A finalized L1 block, reduced to what a rollup node reads.
#[derive(Debug, Clone, Default)]
pub struct L1Block {
    /// Height.
    pub height: u64,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// Its rollup transactions, in execution order.
    pub rollup_txs: Vec<RollupTx>,
}

/// L1 as the rollup node sees it.
pub trait L1: Clone + Send + Sync + 'static {
    /// The chain id transactions must name.
    fn chain_id(&self) -> ChainId;
    /// The chain's parameters (gas schedule, limits).
    fn params(&self) -> &ChainParams;
    /// The height of the last finalized block.
    fn finalized_height(&self) -> u64;
    /// The base fee of the next block.
    fn next_base_fee(&self) -> u64;
    /// The finalized block at `height`.
    fn block(&self, height: u64) -> impl Future<Output = Result<L1Block, L1Error>> + Send;
    /// Records under `keys` at the finalized tip.
    fn records(&self, keys: Vec<Key>) -> impl Future<Output = Result<MemoryState, L1Error>> + Send;
    /// Submits a signed transaction to the pool.
    fn submit(&self, tx: Bytes) -> impl Future<Output = Result<Hash, L1Error>> + Send;
}

impl<E: terrace_node::Runtime> L1 for LocalClient<E> {
    fn chain_id(&self) -> ChainId {
        self.chain.chain_id()
    }

    fn params(&self) -> &ChainParams {
        &self.chain.params
    }

    fn finalized_height(&self) -> u64 {
        self.chain.tip().block.header().height
    }

    fn next_base_fee(&self) -> u64 {
        self.chain.tip().next_base_fee
    }

    async fn block(&self, height: u64) -> Result<L1Block, L1Error> {
        let block = self
            .finalized_block(height)
            .await
            .ok_or_else(|| L1Error::Unavailable(format!("block {height} is not stored")))?;
        let header = block.header();
        let mut rollup_txs = Vec::new();
        for bytes in &block.l1().transactions {
            // A finalized block's transactions decoded when it was
            // executed; one that does not now is skipped, not trusted.
            let Ok(signed) =
                terrace_l1::SignedTransaction::decode_bounded(bytes, &self.chain.params)
            else {
                continue;
            };
            let Payload::Optimistic(OptimisticOp::Rollup { rollup, op }) =
                signed.tx.payload.clone()
            else {
                continue;
            };
            let hash = terrace_l1::tx::tx_id(bytes);
            let location = self.chain.tx_location(&hash).await.ok_or_else(|| {
                L1Error::Unavailable(format!("receipt of {hash} at {height} is not indexed yet"))
            })?;
            rollup_txs.push(RollupTx {
                hash,
                sender: signed.sender(),
                rollup,
                op,
                failure: location.receipt.failure,
            });
        }
        Ok(L1Block {
            height,
            timestamp_ms: header.timestamp_ms,
            rollup_txs,
        })
    }

    async fn records(&self, keys: Vec<Key>) -> Result<MemoryState, L1Error> {
        LocalClient::records(self, &keys)
            .await
            .map_err(L1Error::Unavailable)
    }

    async fn submit(&self, tx: Bytes) -> Result<Hash, L1Error> {
        LocalClient::submit(self, tx)
            .await
            .map_err(|e| L1Error::Rejected(e.to_string()))
    }
}

pub use terrace_l1::modules::optimistic::RollupRecords;

/// A poster's bond, zero when it has none.
pub fn bond_amount(
    records: &impl StateReader,
    id: u64,
    poster: Address,
) -> terrace_primitives::Amount {
    records
        .bond(id, poster)
        .map(|b| b.amount)
        .unwrap_or(terrace_primitives::Amount::ZERO)
}

/// Signs an L1 transaction carrying `payload` with fee caps for the next
/// few blocks: twice the next base fee plus a tip, and the exact gas.
pub fn sign_l1(
    l1: &impl L1,
    key: &PrivateKey,
    nonce: u64,
    payload: Payload,
) -> Result<Bytes, L1Error> {
    let params = l1.params();
    let tip = params.min_base_fee.max(1);
    let max_fee = l1
        .next_base_fee()
        .saturating_mul(2)
        .saturating_add(tip)
        .max(params.min_base_fee);
    let mut tx = Transaction {
        chain_id: l1.chain_id(),
        nonce,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        gas_limit: 0,
        payload,
    };
    // The gas depends on the encoded length, which depends (by a few varint
    // bytes) on the gas limit: settle it with a fixed point.
    for _ in 0..4 {
        let len = tx.clone().sign(key).encode().len();
        let gas = terrace_l1::tx::intrinsic_gas(&tx.payload, len, params)
            .ok_or_else(|| L1Error::Rejected("gas overflows".into()))?;
        if gas == tx.gas_limit {
            break;
        }
        tx.gas_limit = gas;
    }
    let signed = tx.sign(key);
    let bytes = signed.encode();
    if bytes.len() as u64 > params.tx_bytes_max {
        return Err(L1Error::Rejected(format!(
            "{} bytes, L1 takes at most {}",
            bytes.len(),
            params.tx_bytes_max
        )));
    }
    Ok(bytes)
}

/// The L1 address of a key.
pub fn address_of(key: &PrivateKey) -> Address {
    Address::from_public_key(&key.public_key())
}
