//! The client L2 nodes use to follow L1: every finalized block with each
//! transaction and its receipt, records at the finalized tip, submission,
//! and signing with fee caps. Each L2 node filters the transactions of its
//! own settlement module.
//!
//! A client only ever reads *finalized* L1 blocks: L1 finality is BFT, so
//! what an L2 node derives from them is never reorganised.

use crate::engine::LocalClient;
use bytes::Bytes;
use commonware_codec::Encode as _;
use std::future::Future;
use terrace_l1::{
    ChainParams, Key, MemoryState, Payload, Receipt, SignedTransaction, Transaction,
    tx::{intrinsic_gas, tx_id},
};
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

/// A finalized transaction and its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedTx {
    /// Its id.
    pub hash: Hash,
    /// Who sent it.
    pub sender: Address,
    /// What it did.
    pub payload: Payload,
    /// Its outcome (a failure changed nothing but the fee).
    pub receipt: Receipt,
}

/// A finalized L1 block, as L2 nodes read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct L1Block {
    /// Height.
    pub height: u64,
    /// Proposer's timestamp.
    pub timestamp_ms: u64,
    /// Its transactions in execution order, each with its receipt.
    pub txs: Vec<FinalizedTx>,
}

/// An operation of a settlement module that acts on one L2 (a rollup id
/// and what it does): how each L2 node picks its own out of a block.
pub trait L2Operation: Clone {
    /// The L2 and the operation, if `payload` is one of this module's.
    fn of_payload(payload: &Payload) -> Option<(u64, &Self)>;
    /// The payload carrying `self` for L2 `rollup`.
    fn into_payload(self, rollup: u64) -> Payload;
}

impl L2Operation for terrace_l1::modules::optimistic::RollupOp {
    fn of_payload(payload: &Payload) -> Option<(u64, &Self)> {
        match payload {
            Payload::Optimistic(terrace_l1::modules::optimistic::OptimisticOp::Rollup {
                rollup,
                op,
            }) => Some((*rollup, op)),
            _ => None,
        }
    }

    fn into_payload(self, rollup: u64) -> Payload {
        Payload::Optimistic(terrace_l1::modules::optimistic::OptimisticOp::Rollup {
            rollup,
            op: self,
        })
    }
}

impl L2Operation for terrace_l1::modules::validity::ZkOp {
    fn of_payload(payload: &Payload) -> Option<(u64, &Self)> {
        match payload {
            Payload::Validity(terrace_l1::modules::validity::ValidityOp::Rollup { rollup, op }) => {
                Some((*rollup, op))
            }
            _ => None,
        }
    }

    fn into_payload(self, rollup: u64) -> Payload {
        Payload::Validity(terrace_l1::modules::validity::ValidityOp::Rollup { rollup, op: self })
    }
}

/// A finalized L1 transaction that acted on an L2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Tx<Op> {
    /// Its id.
    pub hash: Hash,
    /// Who sent it.
    pub sender: Address,
    /// The L2 it acted on.
    pub rollup: u64,
    /// What it did.
    pub op: Op,
    /// Why L1 refused it, if it did (it then changed nothing).
    pub failure: Option<terrace_l1::Failure>,
}

impl<Op: L2Operation> L2Tx<Op> {
    /// The module's operations in `block`, in execution order.
    pub fn of_block(block: &L1Block) -> impl Iterator<Item = L2Tx<Op>> + '_ {
        block.txs.iter().filter_map(|t| {
            let (rollup, op) = Op::of_payload(&t.payload)?;
            Some(L2Tx {
                hash: t.hash,
                sender: t.sender,
                rollup,
                op: op.clone(),
                failure: t.receipt.failure,
            })
        })
    }

    /// As a finalized transaction (for blocks built by hand in tests and
    /// benches): its receipt records only its failure.
    pub fn finalized(self) -> FinalizedTx {
        FinalizedTx {
            hash: self.hash,
            sender: self.sender,
            payload: self.op.into_payload(self.rollup),
            receipt: Receipt {
                tx_hash: self.hash,
                failure: self.failure,
                gas_used: 0,
                effective_gas_price: 0,
            },
        }
    }
}

/// L1 as an L2 node sees it.
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
    /// The receipt of transaction `hash` once it is final (`None` before).
    fn receipt(&self, hash: Hash) -> impl Future<Output = Option<Receipt>> + Send;
}

impl<E: crate::Runtime> L1 for LocalClient<E> {
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
        let receipts = self.chain.finalized_receipts(&block).await.ok_or_else(|| {
            L1Error::Unavailable(format!("receipts of block {height} are not indexed yet"))
        })?;
        let mut txs = Vec::with_capacity(block.l1().transactions.len());
        for (bytes, receipt) in block.l1().transactions.iter().zip(receipts.iter()) {
            // A finalized block's transactions decoded when it was
            // executed; one that does not now is skipped, not trusted.
            let Ok(signed) = SignedTransaction::decode_bounded(bytes, &self.chain.params) else {
                continue;
            };
            txs.push(FinalizedTx {
                hash: tx_id(bytes),
                sender: signed.sender(),
                payload: signed.tx.payload,
                receipt: receipt.clone(),
            });
        }
        Ok(L1Block {
            height,
            timestamp_ms: header.timestamp_ms,
            txs,
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

    async fn receipt(&self, hash: Hash) -> Option<Receipt> {
        self.chain.tx_location(&hash).await.map(|l| l.receipt)
    }
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
    sign_l1_priced(l1, key, nonce, payload, max_fee, tip)
}

/// Signs an L1 transaction carrying `payload` with the given fee caps
/// (per gas: the most paid in all, the most tipped) and the exact gas:
/// for senders that bid against a full block.
pub fn sign_l1_priced(
    l1: &impl L1,
    key: &PrivateKey,
    nonce: u64,
    payload: Payload,
    max_fee_per_gas: u64,
    max_priority_fee_per_gas: u64,
) -> Result<Bytes, L1Error> {
    let params = l1.params();
    let mut tx = Transaction {
        chain_id: l1.chain_id(),
        nonce,
        max_fee_per_gas,
        max_priority_fee_per_gas,
        gas_limit: 0,
        payload,
    };
    // The gas depends on the encoded length, which depends (by a few varint
    // bytes) on the gas limit: settle it with a fixed point.
    for _ in 0..4 {
        let len = tx.clone().sign(key).encode().len();
        let gas = intrinsic_gas(&tx.payload, len, params)
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

/// How often and how long a client waits for L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// Time between two looks.
    pub poll: std::time::Duration,
    /// Longest wait for one transaction.
    pub limit: std::time::Duration,
}

/// Why sending a transaction and waiting for it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// L1 could not be read or refused the transaction.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The transaction was included but had no effect.
    #[error("{what} failed on L1: {failure}")]
    Failed {
        /// The step.
        what: &'static str,
        /// Why.
        failure: terrace_l1::Failure,
    },
    /// The transaction was not final in time.
    #[error("{what}: not final within {limit:?}")]
    Timeout {
        /// The step.
        what: &'static str,
        /// How long it waited.
        limit: std::time::Duration,
    },
    /// The registration is final but no rollup has its configuration.
    #[error("the registered rollup is not on L1")]
    NotFound,
    /// The node has no proving key matching the rollup's verification key
    /// for a batch size it registered.
    #[error("no proving key matches the rollup's verification key for batches of {slots}")]
    KeyMismatch {
        /// The batch size.
        slots: u32,
    },
    /// The rollup keeps its data with a committee the node cannot reach.
    #[error("the rollup keeps its data with a committee: the node needs its members' addresses")]
    NoCommittee,
}

/// Signs `payload` from `key` with `nonce`, submits it, and waits until
/// it is final, looking every `wait.poll`; returns why it failed on L1,
/// if it did.
pub async fn send_and_wait<C: commonware_runtime::Clock, L: L1>(
    clock: &C,
    l1: &L,
    key: &PrivateKey,
    nonce: u64,
    payload: Payload,
    what: &'static str,
    wait: Waiting,
) -> Result<Option<terrace_l1::Failure>, DeployError> {
    let bytes = sign_l1(l1, key, nonce, payload)?;
    let hash = l1.submit(bytes).await?;
    let start = clock.current();
    loop {
        if let Some(receipt) = l1.receipt(hash).await {
            return Ok(receipt.failure);
        }
        let waited = clock.current().duration_since(start).unwrap_or_default();
        if waited > wait.limit {
            return Err(DeployError::Timeout {
                what,
                limit: wait.limit,
            });
        }
        clock.sleep(wait.poll).await;
    }
}

/// The next nonce of `key`'s L1 account at the finalized tip.
pub async fn next_nonce<L: L1>(l1: &L, key: &PrivateKey) -> Result<u64, L1Error> {
    use terrace_l1::StateReader as _;
    let me = address_of(key);
    Ok(l1.records(vec![Key::Account(me)]).await?.account(&me).nonce)
}

/// How many blocks a sent transaction may take to land before an
/// [`Outbox`] forgets it and its owner decides afresh.
pub const RESEND_AFTER_BLOCKS: u64 = 8;

/// What an L2 node has sent to L1 and not yet seen land, by purpose
/// (`"batch:7"`), so each tick decides from L1's view without sending the
/// same thing twice, and numbers its transactions past those in flight.
#[derive(Debug, Default)]
pub struct Outbox {
    sent: Vec<Sent>,
}

#[derive(Debug)]
struct Sent {
    purpose: String,
    nonce: u64,
    at: u64,
}

impl Outbox {
    /// Forgets what landed (nonces below the account's `nonce` at the
    /// finalized `height`), and everything when something has waited past
    /// [`RESEND_AFTER_BLOCKS`] (the pool dropped it; decide afresh).
    pub fn update(&mut self, nonce: u64, height: u64) {
        self.sent.retain(|s| s.nonce >= nonce);
        if self
            .sent
            .iter()
            .any(|s| s.at + RESEND_AFTER_BLOCKS < height)
        {
            self.sent.clear();
        }
    }

    /// Whether a transaction for `purpose` is in flight.
    pub fn contains(&self, purpose: &str) -> bool {
        self.sent.iter().any(|s| s.purpose == purpose)
    }

    /// Signs and submits `payload` for `purpose` unless one is in flight;
    /// `nonce` is the account's next at the finalized tip. Returns whether
    /// it was sent, or why L1 refused it.
    pub async fn send<L: L1>(
        &mut self,
        l1: &L,
        key: &PrivateKey,
        purpose: String,
        payload: Payload,
        nonce: u64,
        height: u64,
    ) -> Result<bool, L1Error> {
        if self.contains(&purpose) {
            return Ok(false);
        }
        let nonce = self
            .sent
            .iter()
            .map(|s| s.nonce + 1)
            .max()
            .unwrap_or(0)
            .max(nonce);
        let bytes = sign_l1(l1, key, nonce, payload)?;
        l1.submit(bytes).await?;
        self.sent.push(Sent {
            purpose,
            nonce,
            at: height,
        });
        Ok(true)
    }
}
