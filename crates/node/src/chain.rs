//! What a node's tasks share: the genesis, the transaction pool, the
//! receipts of executed blocks, the finalized tip and the feed of finalized
//! blocks. Locks here are never held across an await.

use crate::{block::Block, evidence::SimplexEvidence, receipts::TxIndex, rpc::BlockInfo};
use commonware_codec::EncodeSize as _;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};
use terrace_l1::{
    BlockExecutor, ChainParams, Key, Receipt, StateReader,
    block::{Block as L1Block, ConsensusRound, Header, StateLog},
    genesis::{Genesis, GenesisError},
    modules::staking::StakingRecords as _,
    state::Writes,
    tx::CheckedTransaction,
};
use terrace_mempool::{Inserted, Mempool, PoolConfig, Rejection};
use terrace_merkle::Sha256Hasher;
use terrace_primitives::{ChainId, Hash, PublicKey, hash_tagged, keys::KeyCache};
use tokio::sync::broadcast;

/// Where a finalized transaction sits, with its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Block hash.
    pub block: Hash,
    /// Position in the block.
    pub index: u32,
    /// Its receipt.
    pub receipt: Receipt,
}

/// The epoch this node's consensus runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentEpoch {
    /// Its number.
    pub epoch: u64,
    /// Its committee (sorted by key bytes) with each member's bonded stake
    /// when the epoch started.
    pub members: Vec<(PublicKey, terrace_primitives::Amount)>,
}

/// The finalized tip.
#[derive(Debug, Clone)]
pub struct Tip {
    /// The block.
    pub block: Block,
    /// Base fee of the block after it.
    pub next_base_fee: u64,
}

/// What is kept of an executed block until it finalizes.
#[derive(Debug)]
struct Pending {
    height: u64,
    timestamp_ms: u64,
    receipts: Arc<Vec<Receipt>>,
}

#[derive(Debug, Default)]
struct Index {
    /// Executed (not yet finalized) blocks, by block hash.
    pending: HashMap<Hash, Pending>,
    /// The highest executed block.
    latest: Option<Block>,
}

/// Shared node state.
pub struct Chain {
    genesis: Genesis,
    genesis_writes: Writes,
    genesis_block: Block,
    committee: Vec<PublicKey>,
    /// The epoch consensus runs in, with its members' stakes at its start.
    current: Mutex<CurrentEpoch>,
    /// Chain parameters.
    pub params: ChainParams,
    keys: KeyCache,
    evidence: SimplexEvidence,
    threads: usize,
    pool: Mutex<Mempool>,
    index: Mutex<Index>,
    tip: Mutex<Tip>,
    /// Set once the engine opened it; finalization waits for it.
    tx_index: tokio::sync::watch::Sender<Option<TxIndex>>,
    feed: broadcast::Sender<BlockInfo>,
    audit: Mutex<Option<Audit>>,
    /// The finalized height this node reopened its own store at, when it
    /// started on a store that had processed blocks.
    restored: Mutex<Option<u64>>,
}

/// Invariant checks on every finalized block, for tests and the lab: the
/// node reads the records of a known set of addresses after each block.
#[derive(Debug, Clone, Default)]
pub struct Audit {
    /// Every address that can hold funds on the chain under test.
    pub addresses: Vec<terrace_primitives::Address>,
    /// Per finalized height: the state digest of the audited records, or
    /// why the supply invariant failed.
    pub results: Vec<(u64, Result<Hash, String>)>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.genesis.chain_id)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering from a poisoned lock (a panicked holder left
/// only caches behind, never half-applied chain state).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The genesis block: height 0, committing to the genesis allocation. The
/// store starts empty (as state sync expects) and block 1 applies the
/// allocation, so the header's state log is the empty store's.
pub fn genesis_block(genesis: &Genesis, empty_log: StateLog) -> Result<Block, GenesisError> {
    let state = genesis.state()?;
    let keys = genesis.validator_keys()?;
    let proposer = keys.first().cloned().ok_or(GenesisError::Validator {
        index: 0,
        why: "a chain needs at least one validator".into(),
    })?;
    let empty = terrace_merkle::root::<Sha256Hasher, &[u8]>(&[]);
    let header = Header {
        chain_id: genesis.chain_id,
        height: 0,
        parent: hash_tagged(
            b"terrace/l1/genesis-parent",
            &[&genesis.chain_id.0.to_be_bytes()],
        ),
        timestamp_ms: genesis.timestamp_ms,
        round: ConsensusRound::default(),
        proposer,
        tx_root: empty,
        receipts_root: empty,
        state_root: hash_tagged(
            b"terrace/l1/genesis-state",
            &[state.digest().as_ref(), genesis.to_toml().as_bytes()],
        ),
        state_log: empty_log,
        base_fee: genesis.params.initial_base_fee,
        gas_used: 0,
    };
    Ok(Block::new(L1Block {
        header,
        transactions: Vec::new(),
    }))
}

impl Chain {
    /// Shared state for a chain starting at `genesis`; `empty_log` is the
    /// empty store's sync target.
    pub fn new(
        genesis: Genesis,
        empty_log: StateLog,
        pool: PoolConfig,
        threads: usize,
    ) -> Result<Self, GenesisError> {
        genesis.validate()?;
        let genesis_writes = genesis.writes()?;
        let genesis_block = genesis_block(&genesis, empty_log)?;
        let genesis_state = genesis.state()?;
        let committee = genesis_state.committee(0).unwrap_or_default();
        let params = genesis.params.clone();
        let evidence = SimplexEvidence::new(crate::engine::namespace(genesis.chain_id.0));
        let current = CurrentEpoch {
            epoch: 0,
            members: committee
                .iter()
                .map(|k| {
                    let address = terrace_primitives::Address::from_public_key(k);
                    let stake = genesis_state
                        .validator(&address)
                        .map_or(terrace_primitives::Amount::ZERO, |v| v.stake);
                    (k.clone(), stake)
                })
                .collect(),
        };
        let (feed, _) = broadcast::channel(1024);
        Ok(Self {
            pool: Mutex::new(Mempool::new(pool, params.initial_base_fee)),
            tip: Mutex::new(Tip {
                block: genesis_block.clone(),
                next_base_fee: params.initial_base_fee,
            }),
            genesis,
            genesis_writes,
            genesis_block,
            current: Mutex::new(current),
            committee,
            params,
            keys: KeyCache::new(100_000),
            evidence,
            threads: threads.max(1),
            index: Mutex::new(Index::default()),
            tx_index: tokio::sync::watch::Sender::new(None),
            feed,
            audit: Mutex::new(None),
            restored: Mutex::new(None),
        })
    }

    /// The genesis file.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The chain id.
    pub fn chain_id(&self) -> ChainId {
        self.genesis.chain_id
    }

    /// The genesis block.
    pub fn genesis_block(&self) -> &Block {
        &self.genesis_block
    }

    /// The genesis allocation as writes.
    pub fn genesis_writes(&self) -> &Writes {
        &self.genesis_writes
    }

    /// Epoch 0's committee (genesis validators by stake, capped at
    /// `committee_size_max`), sorted by key bytes.
    pub fn committee(&self) -> &[PublicKey] {
        &self.committee
    }

    /// The epoch consensus runs in now.
    pub fn current_epoch(&self) -> CurrentEpoch {
        lock(&self.current).clone()
    }

    /// Records the epoch consensus entered.
    pub fn enter_epoch(&self, epoch: CurrentEpoch) {
        *lock(&self.current) = epoch;
    }

    /// Sender-key cache for decoding.
    pub fn keys(&self) -> &KeyCache {
        &self.keys
    }

    /// The slashing-evidence verifier.
    pub fn evidence(&self) -> &SimplexEvidence {
        &self.evidence
    }

    /// Threads for signature checks.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Keys the pooled transactions touch at `height`.
    pub fn pool_keys(&self, height: u64) -> Vec<Key> {
        lock(&self.pool).touched_keys(height, &self.params, &self.evidence)
    }

    /// The nonce after `sender`'s highest pooled transaction, if any.
    pub fn pool_next_nonce(&self, sender: &terrace_primitives::Address) -> Option<u64> {
        lock(&self.pool).next_nonce(sender)
    }

    /// Senders with pooled transactions.
    pub fn pool_senders(&self) -> Vec<terrace_primitives::Address> {
        lock(&self.pool).senders()
    }

    /// Transactions in the pool.
    pub fn pool_len(&self) -> usize {
        lock(&self.pool).len()
    }

    /// A pooled transaction.
    pub fn pooled(&self, hash: &Hash) -> Option<Arc<CheckedTransaction>> {
        lock(&self.pool).get(hash)
    }

    /// Fills a block from the pool.
    pub fn build_from_pool<S: StateReader + ?Sized>(
        &self,
        executor: &mut BlockExecutor<'_, S, SimplexEvidence>,
    ) -> Vec<Arc<CheckedTransaction>> {
        lock(&self.pool).build(executor)
    }

    /// Admits a checked transaction against the sender's finalized account.
    pub fn admit(
        &self,
        tx: CheckedTransaction,
        state: &impl StateReader,
    ) -> Result<Inserted, Rejection> {
        lock(&self.pool).insert(tx, state)
    }

    /// Keeps an executed block's receipts until it finalizes, and tracks
    /// the highest executed block.
    pub fn executed(&self, block: &Block, receipts: Vec<Receipt>) {
        let height = block.header().height;
        let mut index = lock(&self.index);
        index.pending.insert(
            block.hash(),
            Pending {
                height,
                timestamp_ms: block.header().timestamp_ms,
                receipts: Arc::new(receipts),
            },
        );
        if index
            .latest
            .as_ref()
            .is_none_or(|b| b.header().height < height)
        {
            index.latest = Some(block.clone());
        }
    }

    /// The highest block this node executed (proposed or verified); it may
    /// not be finalized, and may never be.
    pub fn latest(&self) -> Block {
        let latest = lock(&self.index).latest.clone();
        let tip = self.tip().block;
        match latest {
            Some(b) if b.header().height > tip.header().height => b,
            _ => tip,
        }
    }

    /// Connects the persisted transaction index (once, at engine start).
    pub fn set_tx_index(&self, index: TxIndex) {
        self.tx_index.send_replace(Some(index));
    }

    /// Persists a block's receipts in the transaction index before the
    /// block's state is applied (see [`crate::receipts`]).
    pub async fn index_receipts(&self, block: &Block) {
        let hash = block.hash();
        let receipts = lock(&self.index)
            .pending
            .get(&hash)
            .map(|p| p.receipts.clone());
        // Wait for the engine to open the index rather than skip a block.
        let mut opened = self.tx_index.subscribe();
        let index = opened
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|i| i.clone());
        match (index, receipts) {
            (Some(index), Some(receipts)) => {
                index.record(block.header().height, hash, receipts).await;
            }
            (_, None) if !block.l1().transactions.is_empty() => {
                tracing::warn!(
                    height = block.header().height,
                    "finalized block has no receipts in memory; left unindexed"
                );
            }
            _ => {}
        }
    }

    /// Records a finalized block: forgets receipts of blocks that can no
    /// longer finalize, updates the pool (against the senders' finalized
    /// `accounts`, when they could be read) and the tip, and announces it.
    pub fn on_finalized(
        &self,
        block: &Block,
        accounts: Option<&impl StateReader>,
        next_base_fee: u64,
    ) {
        let hash = block.hash();
        let header = block.header();
        // Blocks at or below a finalized height can no longer finalize.
        lock(&self.index)
            .pending
            .retain(|_, p| p.height > header.height);
        if let Some(accounts) = accounts {
            lock(&self.pool).on_block(accounts, next_base_fee);
        }
        *lock(&self.tip) = Tip {
            block: block.clone(),
            next_base_fee,
        };
        let info = BlockInfo::new(
            header,
            &hash,
            u64::try_from(block.l1().encode_size()).unwrap_or(u64::MAX),
            true,
            block
                .l1()
                .transactions
                .iter()
                .map(|t| terrace_l1::tx::tx_id(t))
                .collect(),
        );
        let _ = self.feed.send(info);
    }

    /// The timestamp of an executed block that may still finalize, or of
    /// the finalized tip.
    pub fn block_timestamp(&self, hash: &Hash) -> Option<u64> {
        if let Some(p) = lock(&self.index).pending.get(hash) {
            return Some(p.timestamp_ms);
        }
        let tip = self.tip().block;
        (tip.hash() == *hash).then(|| tip.header().timestamp_ms)
    }

    /// The finalized tip.
    pub fn tip(&self) -> Tip {
        lock(&self.tip).clone()
    }

    /// A finalized transaction's location and receipt, from the persisted
    /// index.
    pub async fn tx_location(&self, hash: &Hash) -> Option<TxLocation> {
        let index = self.tx_index.borrow().clone()?;
        index.lookup(*hash).await
    }

    /// The receipts of finalized `block`, in transaction order, from the
    /// persisted index; `None` while any is not indexed yet.
    pub async fn finalized_receipts(&self, block: &Block) -> Option<Vec<Receipt>> {
        let mut receipts = Vec::with_capacity(block.l1().transactions.len());
        for bytes in &block.l1().transactions {
            let location = self.tx_location(&terrace_l1::tx::tx_id(bytes)).await?;
            receipts.push(location.receipt);
        }
        Some(receipts)
    }

    /// Records the finalized height the node's own store held at start,
    /// read before consensus runs or any peer is heard.
    pub fn set_restored(&self, height: u64) {
        *lock(&self.restored) = Some(height);
    }

    /// The finalized height this node reopened its own store at (`None`
    /// for a store that had processed nothing).
    pub fn restored_height(&self) -> Option<u64> {
        *lock(&self.restored)
    }

    /// Turns on the supply audit over `addresses` (tests and the lab).
    pub fn enable_audit(&self, addresses: Vec<terrace_primitives::Address>) {
        *lock(&self.audit) = Some(Audit {
            addresses,
            results: Vec::new(),
        });
    }

    /// The audited addresses, if auditing.
    pub fn audit_addresses(&self) -> Option<Vec<terrace_primitives::Address>> {
        lock(&self.audit).as_ref().map(|a| a.addresses.clone())
    }

    /// Records an audit result.
    pub fn record_audit(&self, height: u64, result: Result<Hash, String>) {
        if let Some(a) = lock(&self.audit).as_mut() {
            a.results.push((height, result));
        }
    }

    /// Audit results so far.
    pub fn audit_results(&self) -> Vec<(u64, Result<Hash, String>)> {
        lock(&self.audit)
            .as_ref()
            .map(|a| a.results.clone())
            .unwrap_or_default()
    }

    /// A feed of finalized blocks.
    pub fn subscribe(&self) -> broadcast::Receiver<BlockInfo> {
        self.feed.subscribe()
    }
}
