//! The node's answers to the API: finalized records from the store (with
//! proofs), blocks from marshal's archive, receipts from the chain index,
//! submissions through the pool and gossip.

use super::{
    AccountInfo, Backend, BlockId, BlockInfo, ChainInfo, FeeEstimate, Member, RecordInfo, RpcError,
    TxInfo, hex_hash, payload_summary,
};
use crate::{
    Runtime,
    app::App,
    block::Block,
    chain::Chain,
    gossip::{FinalizedState, Gossip, SubmitError},
    state::state_key,
};
use bytes::Bytes;
use commonware_codec::{Encode as _, EncodeSize as _};
use commonware_consensus::{
    marshal::{Identifier, core::Mailbox as MarshalMailbox, standard::Standard},
    simplex::scheme::ed25519::Scheme,
    types::Height,
};
use commonware_runtime::Spawner;
use futures::future::BoxFuture;
use std::sync::Arc;
use terrace_l1::{
    Key, SignedTransaction, StateReader as _, Value,
    modules::staking::{StakingRecord, StakingRecords as _, validator_key},
    tx::{intrinsic_gas, tx_id},
};
use terrace_primitives::{Address, Amount, Hash, codec::to_hex};

/// A read from the state store, and where it was read.
struct Read {
    value: Option<Value>,
    also: Option<Value>,
    root: Hash,
    proof: Option<String>,
    height: u64,
    block_hash: Hash,
}

/// Suggested tip per gas (1 nTER).
pub const SUGGESTED_TIP: u64 = 1_000_000_000;

/// The API over one validator.
pub struct NodeBackend<E: commonware_storage::Context + Spawner> {
    chain: Arc<Chain>,
    state: FinalizedState<E>,
    gossip: Gossip,
    marshal: MarshalMailbox<Scheme, Standard<Block>>,
}

impl<E: commonware_storage::Context + Spawner> std::fmt::Debug for NodeBackend<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeBackend")
    }
}

impl<E: Runtime> NodeBackend<E> {
    /// A backend over a running validator.
    pub fn new(
        chain: Arc<Chain>,
        stateful: commonware_glue::stateful::Mailbox<E, App>,
        gossip: Gossip,
        marshal: MarshalMailbox<Scheme, Standard<Block>>,
    ) -> Self {
        Self {
            state: FinalizedState::new(chain.clone(), stateful),
            chain,
            gossip,
            marshal,
        }
    }

    fn info(&self, block: &Block, finalized: bool) -> BlockInfo {
        BlockInfo::new(
            block.header(),
            &block.hash(),
            u64::try_from(block.l1().encode_size()).unwrap_or(u64::MAX),
            finalized,
            block.l1().transactions.iter().map(|t| tx_id(t)).collect(),
        )
    }

    async fn finalized_block(&self, id: Identifier<Hash>) -> Option<Block> {
        self.marshal.get_block(id).await.map(|b| b.inner().clone())
    }

    async fn account_info(&self, address: Address, proof: bool) -> Result<AccountInfo, RpcError> {
        let tip = self.chain.tip().block;
        if tip.header().height == 0 {
            if proof {
                return Err(RpcError::Unavailable(
                    "no state proofs before block 1 (the genesis allocation applies in block 1)"
                        .into(),
                ));
            }
            let records = self
                .state
                .records(&[Key::Account(address), validator_key(address)])
                .await
                .map_err(RpcError::Unavailable)?;
            let account = records.account(&address);
            return Ok(AccountInfo {
                address,
                balance: account.balance,
                nonce: account.nonce,
                stake: records.validator(&address).map(|v| v.stake),
                height: 0,
                block_hash: hex_hash(&tip.hash()),
                state_root: hex_hash(&tip.header().state_root),
                proof: None,
            });
        }
        let read = self
            .read(&Key::Account(address), Some(&validator_key(address)), proof)
            .await?;
        let stake = match read.also {
            Some(Value::Staking(StakingRecord::Validator(v))) => Some(v.stake),
            _ => None,
        };
        let (balance, nonce) = match read.value {
            Some(Value::Account(a)) => (a.balance, a.nonce),
            _ => (Amount::ZERO, 0),
        };
        Ok(AccountInfo {
            address,
            balance,
            nonce,
            stake,
            height: read.height,
            block_hash: hex_hash(&read.block_hash),
            state_root: hex_hash(&read.root),
            proof: read.proof,
        })
    }

    async fn record_info(&self, key: Key, proof: bool) -> Result<RecordInfo, RpcError> {
        if self.chain.tip().block.header().height == 0 {
            return Err(RpcError::Unavailable(
                "no records before block 1 (the genesis allocation applies in block 1)".into(),
            ));
        }
        let read = self.read(&key, None, proof).await?;
        Ok(RecordInfo {
            key: format!("0x{}", to_hex(&key.encode())),
            value: read.value.map(|v| format!("0x{}", to_hex(&v.encode()))),
            height: read.height,
            block_hash: hex_hash(&read.block_hash),
            state_root: hex_hash(&read.root),
            proof: read.proof,
        })
    }

    /// Reads `key` (and `also`, under the same root) from the state store,
    /// with an inclusion or exclusion proof of `key` if asked, and names
    /// the finalized block whose root the answer carries.
    async fn read(&self, key: &Key, also: Option<&Key>, proof: bool) -> Result<Read, RpcError> {
        let tip = self.chain.tip().block;
        let dbs = self.state.databases().await;
        let guard = dbs.read().await;
        let unavailable = |e: commonware_storage::qmdb::Error<commonware_storage::mmr::Family>| {
            RpcError::Unavailable(format!("state store: {e}"))
        };
        let key = state_key(key);
        let value = guard.get(&key).await.map_err(unavailable)?;
        let also = match also {
            Some(k) => guard.get(&state_key(k)).await.map_err(unavailable)?,
            None => None,
        };
        let root = guard.root();
        let proof = if !proof {
            None
        } else if value.is_some() {
            Some(to_hex(
                &guard
                    .key_value_proof(key)
                    .await
                    .map_err(unavailable)?
                    .encode(),
            ))
        } else {
            Some(to_hex(
                &guard
                    .exclusion_proof(&key)
                    .await
                    .map_err(unavailable)?
                    .encode(),
            ))
        };
        drop(guard);
        // The store may be one block ahead of the tip while the finalized
        // hook runs; name the block whose root the answer carries.
        let (height, block_hash) = if tip.header().state_root == root {
            (tip.header().height, tip.hash())
        } else {
            let next = tip.header().height + 1;
            let hash = self
                .finalized_block(Identifier::Height(Height::new(next)))
                .await
                .map(|b| b.hash())
                .unwrap_or(tip.hash());
            (next, hash)
        };
        Ok(Read {
            value,
            also,
            root,
            proof: proof.map(|p| format!("0x{p}")),
            height,
            block_hash,
        })
    }

    async fn block_info(&self, id: BlockId) -> Result<BlockInfo, RpcError> {
        match id {
            BlockId::Finalized => Ok(self.info(&self.chain.tip().block, true)),
            BlockId::Latest => {
                let latest = self.chain.latest();
                let tip = self.chain.tip().block.header().height;
                Ok(self.info(&latest, latest.header().height <= tip))
            }
            BlockId::Height(0) => Ok(self.info(self.chain.genesis_block(), true)),
            BlockId::Height(h) => self
                .finalized_block(Identifier::Height(Height::new(h)))
                .await
                .map(|b| self.info(&b, true))
                .ok_or_else(|| RpcError::NotFound(format!("no finalized block at height {h}"))),
            BlockId::Hash(hash) => {
                if hash == self.chain.genesis_block().hash() {
                    return Ok(self.info(self.chain.genesis_block(), true));
                }
                if let Some(b) = self.finalized_block(Identifier::Digest(hash)).await {
                    return Ok(self.info(&b, true));
                }
                let latest = self.chain.latest();
                if latest.hash() == hash {
                    return Ok(self.info(&latest, false));
                }
                Err(RpcError::NotFound(format!("no block {}", hex_hash(&hash))))
            }
        }
    }

    async fn tx_info(&self, hash: Hash) -> Result<TxInfo, RpcError> {
        if let Some(loc) = self.chain.tx_location(&hash).await {
            let block = self
                .finalized_block(Identifier::Digest(loc.block))
                .await
                .ok_or_else(|| {
                    RpcError::Unavailable("including block not in the archive".into())
                })?;
            let bytes = block
                .l1()
                .transactions
                .get(usize::try_from(loc.index).unwrap_or(usize::MAX))
                .ok_or_else(|| RpcError::Unavailable("index out of the block".into()))?;
            let signed = SignedTransaction::decode_bounded(bytes, &self.chain.params)
                .map_err(|e| RpcError::Unavailable(format!("stored transaction: {e}")))?;
            return Ok(describe(
                &signed,
                hash,
                "finalized",
                Some((loc.height, loc.block, loc.index, &loc.receipt)),
            ));
        }
        if let Some(tx) = self.chain.pooled(&hash) {
            return Ok(describe(tx.signed(), hash, "pending", None));
        }
        Err(RpcError::NotFound(format!(
            "transaction {} is neither finalized nor pending",
            hex_hash(&hash)
        )))
    }

    fn chain_info(&self) -> ChainInfo {
        let tip = self.chain.tip();
        let current = self.chain.current_epoch();
        let committee = current
            .members
            .iter()
            .map(|(key, stake)| Member {
                address: Address::from_public_key(key),
                public_key: terrace_primitives::codec::to_hex(key.as_ref()),
                stake: *stake,
            })
            .collect();
        ChainInfo {
            chain_id: self.chain.chain_id().0,
            height: self.chain.latest().header().height,
            finalized_height: tip.block.header().height,
            finalized_hash: hex_hash(&tip.block.hash()),
            base_fee: tip.next_base_fee,
            epoch: current.epoch,
            epoch_length: self.chain.params.epoch_length_blocks,
            committee,
            block_time_ms: self.chain.params.block_time_ms,
            pending_transactions: u64::try_from(self.chain.pool_len()).unwrap_or(u64::MAX),
            restored_height: self.chain.restored_height(),
        }
    }

    fn fee_estimate(&self) -> FeeEstimate {
        let base_fee = self.chain.tip().next_base_fee;
        let max_fee = base_fee.saturating_mul(2).saturating_add(SUGGESTED_TIP);
        // A transfer signs to 142 bytes.
        let transfer_gas = intrinsic_gas(
            &terrace_l1::Payload::Transfer {
                to: Address([0; 20]),
                amount: Amount::ZERO,
            },
            142,
            &self.chain.params,
        )
        .unwrap_or(u64::MAX);
        FeeEstimate {
            base_fee,
            max_priority_fee_per_gas: SUGGESTED_TIP,
            max_fee_per_gas: max_fee,
            transfer_gas,
            transfer_fee_max: Amount(u128::from(transfer_gas) * u128::from(max_fee)),
        }
    }
}

fn describe(
    signed: &SignedTransaction,
    hash: Hash,
    status: &str,
    at: Option<(u64, Hash, u32, &terrace_l1::Receipt)>,
) -> TxInfo {
    let (kind, to, amount) = payload_summary(&signed.tx.payload);
    TxInfo {
        hash: hex_hash(&hash),
        from: signed.sender(),
        kind: kind.into(),
        to,
        amount,
        nonce: signed.tx.nonce,
        max_fee_per_gas: signed.tx.max_fee_per_gas,
        max_priority_fee_per_gas: signed.tx.max_priority_fee_per_gas,
        gas_limit: signed.tx.gas_limit,
        status: status.into(),
        block_height: at.map(|a| a.0),
        block_hash: at.map(|a| hex_hash(&a.1)),
        index: at.map(|a| a.2),
        receipt: at.map(|a| a.3.into()),
    }
}

impl<E: Runtime> Backend for NodeBackend<E> {
    fn submit(&self, tx: Vec<u8>) -> BoxFuture<'_, Result<String, RpcError>> {
        Box::pin(async move {
            self.gossip
                .submit(&self.chain, &self.state, Bytes::from(tx))
                .await
                .map(|h| hex_hash(&h))
                .map_err(|e| match e {
                    SubmitError::Invalid(e) => RpcError::InvalidTransaction(e.to_string()),
                    SubmitError::Rejected(e) => RpcError::Rejected(e.to_string()),
                    SubmitError::Unavailable(e) => RpcError::Unavailable(e),
                })
        })
    }

    fn account(
        &self,
        address: Address,
        proof: bool,
    ) -> BoxFuture<'_, Result<AccountInfo, RpcError>> {
        Box::pin(self.account_info(address, proof))
    }

    fn record(&self, key: Key, proof: bool) -> BoxFuture<'_, Result<RecordInfo, RpcError>> {
        Box::pin(self.record_info(key, proof))
    }

    fn block(&self, id: BlockId) -> BoxFuture<'_, Result<BlockInfo, RpcError>> {
        Box::pin(self.block_info(id))
    }

    fn transaction(&self, hash: Hash) -> BoxFuture<'_, Result<TxInfo, RpcError>> {
        Box::pin(self.tx_info(hash))
    }

    fn chain_info(&self) -> BoxFuture<'_, Result<ChainInfo, RpcError>> {
        Box::pin(async move { Ok(NodeBackend::chain_info(self)) })
    }

    fn estimate_fee(&self) -> BoxFuture<'_, Result<FeeEstimate, RpcError>> {
        Box::pin(async move { Ok(self.fee_estimate()) })
    }

    fn finalized_blocks(&self) -> tokio::sync::broadcast::Receiver<BlockInfo> {
        self.chain.subscribe()
    }
}
