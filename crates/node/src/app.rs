//! The L1 as a `glue::stateful` application: build a block from the pool
//! (propose), replay a peer's block and check every commitment in its
//! header (process), and record finalized blocks (finalized).
//!
//! Execution is the pure `l1` state-transition function over records
//! prefetched from the QMDB store; the writes go back as one batch and the
//! store's root becomes the header's state root.

use crate::{
    block::{Block, BlockContext, round_of},
    chain::Chain,
    state::{Prefetched, StateSet, SyncTarget, read_records, state_key},
};
use commonware_consensus::{marshal::ancestry::Ancestry, simplex::scheme::ed25519::Scheme};
use commonware_glue::stateful::{
    Application, Finality, Input, Proposed,
    db::{DatabaseSet, Merkleized as _, Unmerkleized as _},
};
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use commonware_storage::{Context as StorageContext, merkle::Location};
use commonware_utils::non_empty_range;
use futures::StreamExt as _;
use std::{sync::Arc, time::Duration};
use terrace_l1::{
    BlockEnv, BlockExecutor, BlockOutput, Key,
    block::{Block as L1Block, Header, StateLog},
    execute::{block_keys, block_keys_after, check_transactions, execute_block, touched_keys},
    fee::next_base_fee,
    modules::staking::{StakingKey, StakingRecords as _},
    tx::CheckedTransaction,
};
use terrace_primitives::{Hash, par::Threads};
use tracing::{debug, warn};

/// How far ahead of the local clock a block's timestamp may be before a
/// validator waits for its clock to catch up.
pub const CLOCK_DRIFT_MS: u64 = 500;
/// A block more than this after its parent is permanently invalid, which
/// bounds how long a validator ever waits on a timestamp.
pub const MAX_BLOCK_GAP_MS: u64 = 24 * 60 * 60 * 1000;
/// Rounds of "fetch the records execution missed, run again" before giving
/// up on a block (declared keys make one round the norm).
const MAX_FETCH_ROUNDS: usize = 8;

/// The unmerkleized and merkleized state batches of the store.
pub type Unmerkleized<E> = <StateSet<E> as DatabaseSet<E>>::Unmerkleized;
/// See [`Unmerkleized`].
pub type Merkleized<E> = <StateSet<E> as DatabaseSet<E>>::Merkleized;

/// The application; cheap to clone (everything shared lives in [`Chain`]).
#[derive(Clone)]
pub struct App {
    chain: Arc<Chain>,
    epochs: futures::channel::mpsc::UnboundedSender<crate::epochs::EpochChange>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("App")
    }
}

impl App {
    /// An application over `chain`; the next epoch's committee goes to
    /// `epochs` when an epoch's last block is finalized.
    pub fn new(
        chain: Arc<Chain>,
        epochs: futures::channel::mpsc::UnboundedSender<crate::epochs::EpochChange>,
    ) -> Self {
        Self { chain, epochs }
    }
}

/// Milliseconds since the Unix epoch on the runtime's clock.
pub fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Reads `keys` from the batch into `view`.
async fn fetch<E: StorageContext + Spawner>(
    batch: &Unmerkleized<E>,
    view: &mut Prefetched,
    keys: Vec<Key>,
) -> Option<()> {
    if keys.is_empty() {
        return Some(());
    }
    let store_keys: Vec<Hash> = keys.iter().map(state_key).collect();
    let refs: Vec<&Hash> = store_keys.iter().collect();
    let values = match batch.get_many(&refs).await {
        Ok(values) => values,
        Err(e) => {
            warn!(error = %e, "state read failed");
            return None;
        }
    };
    for (k, v) in keys.into_iter().zip(values) {
        view.insert(k, v);
    }
    Some(())
}

/// Prefetches what a block at `env` with `txs` reads: its own keys, the
/// transactions' keys, then what the end of the block reads once those are
/// known (staking's unbonding releases due).
async fn prefetch<E: StorageContext + Spawner>(
    chain: &Chain,
    batch: &Unmerkleized<E>,
    env: &BlockEnv,
    extra: Vec<Key>,
) -> Option<Prefetched> {
    let mut view = Prefetched::new();
    if env.height == 1 {
        // The genesis allocation takes effect in block 1: the store starts
        // empty, as state sync expects of a genesis block.
        view.apply(chain.genesis_writes());
    }
    let keys = view.missing(block_keys(env, &chain.params).into_iter().chain(extra));
    fetch(batch, &mut view, keys).await?;
    let release = view.missing(block_keys_after(&view, env, &chain.params));
    fetch(batch, &mut view, release).await?;
    Some(view)
}

/// Writes a block's output (with the genesis allocation in block 1) into
/// the batch and merkleizes it.
async fn commit<E: StorageContext + Spawner>(
    chain: &Chain,
    mut batch: Unmerkleized<E>,
    height: u64,
    output: &BlockOutput,
) -> Option<Merkleized<E>> {
    if height == 1 {
        for (k, v) in chain.genesis_writes() {
            if !output.writes.contains_key(k) {
                batch = batch.write(state_key(k), v.clone());
            }
        }
    }
    for (k, v) in &output.writes {
        batch = batch.write(state_key(k), v.clone());
    }
    match batch.merkleize().await {
        Ok(m) => Some(m),
        Err(e) => {
            warn!(error = %e, "merkleize failed");
            None
        }
    }
}

/// The sync target a merkleized batch commits to.
fn state_log<E: StorageContext + Spawner>(m: &Merkleized<E>) -> StateLog {
    StateLog {
        root: m.ops_root(),
        start: *m.sync_boundary(),
        end: *m.bounds().tip.size,
    }
}

/// Replays `txs` at `env` over the batch, fetching what execution misses.
async fn replay<E: StorageContext + Spawner>(
    chain: &Chain,
    batch: &Unmerkleized<E>,
    env: &BlockEnv,
    txs: &[CheckedTransaction],
) -> Option<Result<BlockOutput, terrace_l1::BlockError>> {
    let declared: Vec<Key> = txs
        .iter()
        .flat_map(|tx| touched_keys(tx, env.height, &chain.params, chain.evidence()))
        .collect();
    let mut view = prefetch(chain, batch, env, declared).await?;
    for _ in 0..MAX_FETCH_ROUNDS {
        let result = execute_block(&view, &chain.params, env.clone(), chain.evidence(), txs);
        let missed = view.take_missed();
        if missed.is_empty() {
            return Some(result);
        }
        debug!(
            keys = missed.len(),
            "execution read undeclared keys; fetching"
        );
        fetch(batch, &mut view, missed).await?;
    }
    warn!("execution kept reading undeclared keys");
    None
}

impl<E> Application<E> for App
where
    E: StorageContext + Spawner + Clock + Metrics + Storage,
{
    type SigningScheme = Scheme;
    type Context = BlockContext;
    type Block = Block;
    type Databases = StateSet<E>;
    type Captured = ();
    type Provider = ();
    type Input = ();

    fn sync_targets(block: &Block) -> SyncTarget {
        let log = &block.header().state_log;
        // A malformed range (end <= start) cannot come from an honest
        // proposer; it maps to an empty-looking target that never matches.
        let end = log.end.max(log.start.saturating_add(1));
        SyncTarget::new(
            log.root,
            non_empty_range!(Location::new(log.start), Location::new(end)),
        )
    }

    async fn genesis(&mut self) -> Block {
        self.chain.genesis_block().clone()
    }

    async fn propose(
        &mut self,
        context: (E, BlockContext),
        ancestry: impl Ancestry<Block>,
        batches: Unmerkleized<E>,
        _input: Input<(), ()>,
    ) -> Option<Proposed<Self, E>> {
        let (runtime, consensus) = context;
        let mut ancestry = Box::pin(ancestry);
        let parent = ancestry.next().await?;
        let parent = parent.inner().header();
        let chain = &self.chain;
        let params = &chain.params;

        // Not before parent time + block time.
        let earliest = parent.timestamp_ms.saturating_add(params.block_time_ms);
        let now = now_ms(&runtime);
        if now < earliest {
            runtime.sleep(Duration::from_millis(earliest - now)).await;
        }
        let timestamp_ms = now_ms(&runtime).max(earliest);
        let height = parent.height.checked_add(1)?;
        let base_fee = next_base_fee(parent.base_fee, parent.gas_used, params);
        let proposer = consensus.leader.clone();
        let env = BlockEnv {
            chain_id: chain.chain_id(),
            height,
            proposer: terrace_primitives::Address::from_public_key(&proposer),
            base_fee,
        };

        let declared = chain.pool_keys(height);
        let mut view = prefetch(chain, &batches, &env, declared).await?;
        let mut built = None;
        for _ in 0..MAX_FETCH_ROUNDS {
            let mut executor = BlockExecutor::new(&view, params, env.clone(), chain.evidence());
            let txs = chain.build_from_pool(&mut executor);
            let output = executor.finish();
            let missed = view.take_missed();
            if missed.is_empty() {
                built = Some((txs, output));
                break;
            }
            fetch(&batches, &mut view, missed).await?;
        }
        let (txs, output) = built?;
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                warn!(error = %e, "built block does not finish");
                return None;
            }
        };
        let merkleized = commit(chain, batches, height, &output).await?;
        let header = Header {
            chain_id: chain.chain_id(),
            height,
            parent: parent.hash(),
            timestamp_ms,
            round: round_of(&consensus),
            proposer,
            tx_root: output.tx_root,
            receipts_root: output.receipts_root,
            state_root: merkleized.root(),
            state_log: state_log::<E>(&merkleized),
            base_fee,
            gas_used: output.gas_used,
        };
        let block = Block::new(L1Block {
            header,
            transactions: txs.iter().map(|t| t.bytes().clone()).collect(),
        });
        chain.executed(&block, output.receipts);
        debug!(height, txs = txs.len(), "proposed");
        Some(Proposed { block, merkleized })
    }

    async fn process(
        &mut self,
        context: (E, BlockContext),
        ancestry: impl Ancestry<Block>,
        batches: Unmerkleized<E>,
        finality: Finality,
    ) -> Option<Merkleized<E>> {
        let (runtime, consensus) = context;
        let chain = &self.chain;
        let params = &chain.params;
        let mut ancestry = Box::pin(ancestry);
        let block = ancestry.next().await?.inner().clone();
        let parent = ancestry.next().await?.inner().clone();
        let header = block.header();
        let candidate = finality == Finality::Candidate;

        if let Err(e) = header.check_child_of(parent.header(), params) {
            warn!(height = header.height, error = %e, "invalid header");
            return None;
        }
        if header.chain_id != chain.chain_id()
            || header.round != round_of(&consensus)
            || header.proposer != consensus.leader
        {
            warn!(
                height = header.height,
                "header does not match its consensus context"
            );
            return None;
        }
        if candidate {
            let gap = header
                .timestamp_ms
                .saturating_sub(parent.header().timestamp_ms);
            if gap > MAX_BLOCK_GAP_MS {
                warn!(
                    height = header.height,
                    gap, "timestamp too far after parent"
                );
                return None;
            }
            // A timestamp ahead of our clock is not wrong, only early.
            let now = now_ms(&runtime);
            let ahead = header
                .timestamp_ms
                .saturating_sub(now.saturating_add(CLOCK_DRIFT_MS));
            if ahead > 0 {
                runtime.sleep(Duration::from_millis(ahead)).await;
            }
        }

        let txs = match check_transactions(
            &block.l1().transactions,
            chain.chain_id(),
            params,
            chain.keys(),
            Threads::new(chain.threads()),
        ) {
            Ok(txs) => txs,
            Err(e) => {
                warn!(height = header.height, error = %e, "invalid transactions");
                return None;
            }
        };
        let env = BlockEnv {
            chain_id: chain.chain_id(),
            height: header.height,
            proposer: header.proposer_address(),
            base_fee: header.base_fee,
        };
        let output = match replay(chain, &batches, &env, &txs).await? {
            Ok(output) => output,
            Err(e) => {
                warn!(height = header.height, error = %e, "block does not execute");
                return None;
            }
        };
        if let Err(e) = header.check_output(&output) {
            warn!(height = header.height, error = %e, "header does not match execution");
            return None;
        }
        let merkleized = commit(chain, batches, header.height, &output).await?;
        if merkleized.root() != header.state_root {
            warn!(height = header.height, "state root mismatch");
            return None;
        }
        chain.executed(&block, output.receipts);
        Some(merkleized)
    }

    /// Persists the block's receipts before glue applies its state, so a
    /// durable state always has a durable transaction index.
    async fn capture(
        &mut self,
        _context: (E, BlockContext),
        block: &Block,
        _batches: &Merkleized<E>,
        _readers: <StateSet<E> as DatabaseSet<E>>::Readers,
    ) {
        self.chain.index_receipts(block).await;
    }

    async fn finalized(
        &mut self,
        _context: (E, BlockContext),
        block: &Block,
        _captured: (),
        readers: <StateSet<E> as DatabaseSet<E>>::Readers,
    ) {
        let chain = &self.chain;
        let height = block.header().height;
        if chain.params.is_epoch_end(height) {
            let next = chain.params.epoch_of(height).saturating_add(1);
            let committee = {
                let guard = readers.read().await;
                read_records(&guard, [StakingKey::Committee(next).into()]).await
            };
            match committee.map(|r| r.committee(next)) {
                Ok(Some(committee)) => {
                    let _ = self.epochs.unbounded_send(crate::epochs::EpochChange {
                        epoch: next,
                        committee,
                        boundary: block.hash(),
                    });
                }
                Ok(None) => warn!(height, "epoch's last block recorded no next committee"),
                Err(e) => warn!(height, error = %e, "cannot read the next committee"),
            }
        }
        if let Some(addresses) = chain.audit_addresses() {
            let result = audit(&readers, &addresses).await;
            chain.record_audit(block.header().height, result);
        }
        // Re-price the pool and drop what this block mined or made
        // unpayable: it reads the senders' finalized accounts.
        let senders: Vec<Key> = chain.pool_senders().into_iter().map(Key::Account).collect();
        let accounts = {
            let guard = readers.read().await;
            read_records(&guard, senders).await
        };
        if let Err(e) = &accounts {
            warn!(error = %e, "cannot read pool senders; the pool is re-priced next block");
        }
        let next = next_base_fee(
            block.header().base_fee,
            block.header().gas_used,
            &chain.params,
        );
        chain.on_finalized(block, accounts.as_ref().ok(), next);
    }
}

/// Checks minted − burned = Σ balances over `addresses` + Σ what every
/// settlement module holds (stake, escrows, bonds) in the finalized store;
/// returns a digest of those records.
///
/// The records to read come from the modules themselves
/// ([`terrace_l1::state::fund_keys`]), in rounds until none are new: a
/// module may name records it knows of only once others are read (a
/// rollup's challenges, once the rollup is).
async fn audit<E>(
    readers: &<StateSet<E> as DatabaseSet<E>>::Readers,
    addresses: &[terrace_primitives::Address],
) -> Result<Hash, String>
where
    E: StorageContext + Spawner + Clock + Metrics + Storage,
{
    use terrace_l1::StateReader as _;
    /// Rounds of "read what the modules name" before giving up.
    const AUDIT_ROUNDS: usize = 8;
    let guard = readers.read().await;
    let mut records = terrace_l1::MemoryState::new();
    let mut read = std::collections::BTreeSet::new();
    for _ in 0..AUDIT_ROUNDS {
        let wanted: Vec<Key> = terrace_l1::state::fund_keys(&records, addresses)
            .into_iter()
            .filter(|k| !read.contains(k))
            .collect();
        if wanted.is_empty() {
            let totals = records.totals();
            let supply = totals
                .minted
                .checked_sub(totals.burned)
                .ok_or("burned exceeds minted")?;
            let circulating = records
                .circulating()
                .ok_or("circulating supply overflows")?;
            if supply != circulating {
                return Err(format!(
                    "minted - burned = {supply}, but balances + module funds = {circulating}"
                ));
            }
            return Ok(records.digest());
        }
        let fetched = read_records(&guard, wanted.iter().cloned())
            .await
            .map_err(|e| e.to_string())?;
        read.extend(wanted);
        records.apply_owned(
            fetched
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .collect(),
        );
    }
    Err(format!(
        "the modules still named new records after {AUDIT_ROUNDS} rounds"
    ))
}
