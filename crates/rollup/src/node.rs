//! The rollup node: follows finalized L1 blocks, and as configured
//! sequences and posts batches, challenges false batches, defends its own,
//! and posts through the escape hatch when the sequencer is silent.
//!
//! One loop, generic over the commonware runtime's clock: each tick it
//! derives the new L1 blocks, reads the rollup's records, decides what to
//! send from that view alone, and sends it. Nothing it decides depends on
//! memory of earlier ticks beyond what L1 shows, so a node that restarts
//! mid-game rebuilds everything from L1 and carries on.

use crate::faults::{Fault, Faults};
use crate::{
    derive::{BatchSummary, Derivation},
    game,
    l1::{L1, L1Error, RollupRecords as _, RollupTx, address_of},
    sequencer::{Sequencer, SoftReceipt, SubmitError},
};
use commonware_runtime::Clock;
use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, UNIX_EPOCH},
};
use terrace_l1::{
    Key, Payload, StateReader as _,
    modules::optimistic::{OptimisticKey, OptimisticOp, Rollup, RollupOp, WithdrawalClaim},
};
use terrace_l2::{
    Account, AggregatedL2Transaction, Batch, BlockContext, L2Block, SignedL2Transaction,
};
use terrace_node::client::Outbox;
use terrace_primitives::{Address, Amount, Hash, PrivateKey};
use tracing::{debug, info, warn};

/// The sequencer's settings.
#[derive(Debug, Clone, Copy)]
pub struct SequencerConfig {
    /// Fee prices and recipient of its blocks.
    pub context: BlockContext,
    /// L2 block interval.
    pub block_time: Duration,
    /// Longest a sealed block waits before it is posted.
    pub batch_interval: Duration,
    /// Price L1 data from L1's next base fee and the compression of the
    /// last batch posted, never below `context.l1_byte_price`.
    pub track_l1_fee: bool,
}

/// What L1 will charge per byte of an L2 transaction, in parts per
/// million of compressed over raw batch bytes: `base fee × gas per byte ×
/// ratio`, rounded up. The fixed gas of the batch transaction itself is
/// not spread over its transactions: it is small beside the data on a
/// full batch, and the sequencer carries it.
pub fn l1_byte_price(base_fee: u64, gas_per_byte: u64, ratio_ppm: u64) -> u64 {
    let wei =
        (u128::from(base_fee) * u128::from(gas_per_byte)).saturating_mul(u128::from(ratio_ppm));
    u64::try_from(wei.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The rollup.
    pub rollup: u64,
    /// L1 height to start deriving from (the rollup's creation block or
    /// earlier).
    pub from_height: u64,
    /// The node's L1 key: posts, bonds, challenges and moves are sent
    /// with it.
    pub key: PrivateKey,
    /// Sequence and post batches.
    pub sequencer: Option<SequencerConfig>,
    /// Challenge false batches.
    pub challenger: bool,
    /// Post inbox messages through the escape hatch when no batch came for
    /// a sequencing window.
    pub fallback_poster: bool,
    /// How often it looks at L1.
    pub poll: Duration,
    /// Misbehaviour, for tests.
    pub fault: Fault,
}

/// Something the node did or saw, for logs, the CLI and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Sent a batch.
    Posted {
        /// Index.
        index: u64,
        /// Steps.
        steps: u64,
        /// Compressed bytes.
        bytes: usize,
        /// Whether the root is the true one.
        honest: bool,
    },
    /// Sent an operation (other than a batch).
    Sent(String),
    /// L1 refused one of its transactions at the pool.
    Refused(String),
    /// One of its transactions failed on L1.
    Failed {
        /// The operation.
        op: String,
        /// L1's reason.
        failure: &'static str,
    },
    /// L1 reverted batches from this index.
    Reverted(u64),
    /// Its pending blocks no longer continue L1's chain: it restarted
    /// from the derived state, dropping this many transactions.
    Rebased(usize),
    /// Derivation stopped.
    Stuck(String),
}

/// Heights of the L2 chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Status {
    /// Blocks the sequencer has made (soft), including the open one.
    pub soft: u64,
    /// Blocks in standing batches on L1.
    pub posted: u64,
    /// Blocks in final batches.
    pub finalized: u64,
    /// Standing batches.
    pub batches: u64,
    /// Final batches.
    pub final_batches: u64,
    /// Last finalized L1 height derived.
    pub l1_height: u64,
}

/// Where a transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The soft confirmation.
    pub soft: SoftReceipt,
    /// Its block is in a standing batch.
    pub posted: bool,
    /// Its block is in a final batch.
    pub finalized: bool,
}

struct Inner {
    derivation: Derivation,
    sequencer: Option<Sequencer>,
    events: Vec<Event>,
    /// An account a censoring sequencer refuses.
    censored: Option<u32>,
    /// The rollup's record at the last finalized L1 height read.
    rollup: Option<Rollup>,
    /// That height.
    l1_height: u64,
}

/// How far a withdrawal has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStage {
    /// Confirmed by the sequencer, not yet in a batch on L1.
    Soft,
    /// In a standing batch still in its challenge window.
    Posted,
    /// In a final batch: claimable on L1.
    Final,
}

/// A withdrawal and what it takes to claim it.
#[derive(Debug, Clone)]
pub struct WithdrawalStatus {
    /// Its index (the nullifier L1 records on claim).
    pub index: u64,
    /// Recipient and amount.
    pub withdrawal: terrace_l2::Withdrawal,
    /// How far it has come.
    pub stage: WithdrawalStage,
    /// The first standing batch that holds it.
    pub batch: Option<u64>,
    /// The L1 height at which that batch's window ends (it is final then
    /// unless a challenge is open on it).
    pub window_end: Option<u64>,
    /// Whether it has been claimed on L1.
    pub claimed: bool,
    /// The claim to send, once final.
    pub claim: Option<WithdrawalClaim>,
}

/// The node's state, shared with its RPC server and tests.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Inner>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Shared {
    /// The state of a node that follows `derivation`, sequencing with
    /// `sequencer` if it has one.
    pub fn new(derivation: Derivation, sequencer: Option<Sequencer>) -> Self {
        Self(Arc::new(Mutex::new(Inner {
            derivation,
            sequencer,
            events: Vec::new(),
            censored: None,
            rollup: None,
            l1_height: 0,
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a transaction to the sequencer (if this node is one).
    pub fn submit(&self, tx: SignedL2Transaction) -> Result<SoftReceipt, SubmitError> {
        let mut inner = self.lock();
        if inner.censored == Some(tx.tx.from) {
            return Err(SubmitError::Refused);
        }
        let seq = inner.sequencer.as_mut().ok_or(SubmitError::Refused)?;
        seq.submit(tx)
    }

    /// Sends many transactions to the sequencer, their signatures verified
    /// together on `threads` (see [`Sequencer::submit_many`]).
    pub fn submit_many(
        &self,
        txs: Vec<SignedL2Transaction>,
        threads: terrace_primitives::par::Threads,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        self.submit_uncensored(txs, |t| t.tx.from, |seq, txs| seq.submit_many(txs, threads))
    }

    /// Sends an aggregated (BLS-signed) transaction to the sequencer.
    pub fn submit_aggregated(
        &self,
        tx: AggregatedL2Transaction,
    ) -> Result<SoftReceipt, SubmitError> {
        let mut inner = self.lock();
        if inner.censored == Some(tx.tx.from) {
            return Err(SubmitError::Refused);
        }
        let seq = inner.sequencer.as_mut().ok_or(SubmitError::Refused)?;
        seq.submit_aggregated(tx)
    }

    /// Sends many aggregated transactions, their signatures checked in
    /// parallel on `threads` (see [`Sequencer::submit_many_aggregated`]).
    pub fn submit_many_aggregated(
        &self,
        txs: Vec<AggregatedL2Transaction>,
        threads: terrace_primitives::par::Threads,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        self.submit_uncensored(
            txs,
            |t| t.tx.from,
            |seq, txs| seq.submit_many_aggregated(txs, threads),
        )
    }

    /// Runs `submit` on the transactions a censoring sequencer does not
    /// refuse; one result per input, in order.
    fn submit_uncensored<T>(
        &self,
        txs: Vec<T>,
        sender: impl Fn(&T) -> u32,
        submit: impl FnOnce(&mut Sequencer, Vec<T>) -> Vec<Result<SoftReceipt, SubmitError>>,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        let mut inner = self.lock();
        let censored = inner.censored;
        let mut out = vec![Err(SubmitError::Refused); txs.len()];
        let Some(seq) = inner.sequencer.as_mut() else {
            return out;
        };
        let (positions, txs): (Vec<usize>, Vec<T>) = txs
            .into_iter()
            .enumerate()
            .filter(|(_, t)| censored != Some(sender(t)))
            .unzip();
        for (p, r) in positions.into_iter().zip(submit(seq, txs)) {
            out[p] = r;
        }
        out
    }

    /// An account: soft on a sequencer, posted on a verifier.
    pub fn account(&self, index: u32) -> Option<Account> {
        let inner = self.lock();
        match &inner.sequencer {
            Some(s) => s.state().account_at(index).cloned(),
            None => inner.derivation.state().account_at(index).cloned(),
        }
    }

    /// The index of the first account of `key`, if any.
    pub fn find_account(&self, key: &terrace_primitives::PublicKey) -> Option<u32> {
        let inner = self.lock();
        let state = match &inner.sequencer {
            Some(s) => s.state(),
            None => inner.derivation.state(),
        };
        state
            .accounts()
            .iter()
            .position(|a| &a.key == key)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// Accounts aggregated transactions may come from: those in the state
    /// before the sequencer's oldest pending block (0 without a sequencer).
    pub fn base_accounts(&self) -> u64 {
        self.lock()
            .sequencer
            .as_ref()
            .map_or(0, Sequencer::base_accounts)
    }

    /// The index of the first account with BLS key `key`, if any.
    pub fn find_account_bls(&self, key: &terrace_primitives::BlsPublicKey) -> Option<u32> {
        let inner = self.lock();
        let state = match &inner.sequencer {
            Some(s) => s.state(),
            None => inner.derivation.state(),
        };
        state
            .accounts()
            .iter()
            .position(|a| a.bls.as_ref() == Some(key))
            .and_then(|i| u32::try_from(i).ok())
    }

    /// A transaction's receipt (sequencer only).
    pub fn receipt(&self, hash: &Hash) -> Option<Receipt> {
        let inner = self.lock();
        let soft = inner.sequencer.as_ref()?.receipt(hash)?;
        Some(Receipt {
            soft,
            posted: soft.block < inner.derivation.posted_blocks(),
            finalized: soft.block < inner.derivation.final_blocks(),
        })
    }

    /// The chain's heights.
    pub fn status(&self) -> Status {
        let inner = self.lock();
        let d = &inner.derivation;
        Status {
            soft: inner
                .sequencer
                .as_ref()
                .map(|s| s.soft_blocks())
                .unwrap_or_else(|| d.posted_blocks()),
            posted: d.posted_blocks(),
            finalized: d.final_blocks(),
            batches: d.batch_count(),
            final_batches: d.final_count(),
            l1_height: d.next_height().saturating_sub(1),
        }
    }

    /// The rollup's record on L1 and the finalized height it was read at.
    pub fn rollup(&self) -> Option<(Rollup, u64)> {
        let inner = self.lock();
        inner.rollup.clone().map(|r| (r, inner.l1_height))
    }

    /// The fee context of the sequencer's next blocks.
    pub fn fee_context(&self) -> Option<BlockContext> {
        self.lock().sequencer.as_ref().map(|s| s.context())
    }

    /// The last batches seen on L1 (final, pending, reverted), oldest first.
    pub fn recent_batches(&self) -> Vec<BatchSummary> {
        self.lock().derivation.recent().cloned().collect()
    }

    /// Where withdrawal `index` stands, with its claim once final.
    pub fn withdrawal(&self, index: u64) -> Option<WithdrawalStatus> {
        let inner = self.lock();
        let d = &inner.derivation;
        let claimed = d.is_claimed(index);
        let slot = usize::try_from(index).ok()?;
        if let Some(batch) = d.withdrawal_batch(index) {
            let state = d.state_after_batch(batch)?;
            let withdrawal = *state.withdrawals().get(slot)?;
            let is_final = batch < d.final_count();
            let window_end = match (d.batch(batch), &inner.rollup) {
                (Some(b), Some(r)) => Some(r.window_end(b.l1_height)),
                _ => None,
            };
            return Some(WithdrawalStatus {
                index,
                withdrawal,
                stage: if is_final {
                    WithdrawalStage::Final
                } else {
                    WithdrawalStage::Posted
                },
                batch: Some(batch),
                window_end,
                claimed,
                claim: if is_final {
                    d.withdrawal_claim(batch, index)
                } else {
                    None
                },
            });
        }
        let withdrawal = *inner.sequencer.as_ref()?.state().withdrawals().get(slot)?;
        Some(WithdrawalStatus {
            index,
            withdrawal,
            stage: WithdrawalStage::Soft,
            batch: None,
            window_end: None,
            claimed,
            claim: None,
        })
    }

    /// Runs `f` over the derivation (tests, the CLI's claim proofs).
    pub fn with_derivation<T>(&self, f: impl FnOnce(&Derivation) -> T) -> T {
        f(&self.lock().derivation)
    }

    /// Everything that happened so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }
}

/// Most challenge records read per tick.
const CHALLENGES_PER_TICK: u64 = 64;

/// The running node.
pub struct Node<C: Clock, L: L1> {
    clock: C,
    l1: L,
    config: NodeConfig,
    me: Address,
    shared: Shared,
    outbox: Outbox,
    first_open: u64,
    last_seal: u64,
    oldest_sealed: Option<u64>,
    /// Its misbehaviour (honest with [`Fault::None`]).
    faults: Faults,
    challenged: HashSet<Hash>,
    /// Compressed over raw bytes of the last batch posted, in ppm.
    ratio_ppm: u64,
}

impl<C: Clock, L: L1> std::fmt::Debug for Node<C, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("me", &self.me).finish()
    }
}

fn now_ms(clock: &impl Clock) -> u64 {
    clock
        .current()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn op_name(op: &RollupOp) -> String {
    match op {
        RollupOp::Bond { .. } => "bond".into(),
        RollupOp::Unbond => "unbond".into(),
        RollupOp::Deposit(_) => "deposit".into(),
        RollupOp::ForceInclude { .. } => "force_include".into(),
        RollupOp::SubmitBatch(s) => format!("submit_batch {}", s.index),
        RollupOp::Challenge { batch } => format!("challenge batch {batch}"),
        RollupOp::Bisect { challenge, .. } => format!("bisect {challenge}"),
        RollupOp::Choose { challenge, agree } => format!("choose {challenge} agree={agree}"),
        RollupOp::ProveStep { challenge, .. } => format!("prove_step {challenge}"),
        RollupOp::ProveAggregate { batch, .. } => format!("prove_aggregate batch {batch}"),
        RollupOp::Timeout { challenge } => format!("timeout {challenge}"),
        RollupOp::Claim(c) => format!("claim {}", c.index),
    }
}

impl<C: Clock, L: L1> Node<C, L> {
    /// A node that has derived nothing yet.
    pub fn new(clock: C, l1: L, config: NodeConfig) -> Self {
        let derivation = Derivation::new(config.rollup, config.from_height);
        let sequencer = config.sequencer.map(|s| {
            let bytes = usize::try_from(l1.params().tx_bytes_max).unwrap_or(usize::MAX);
            Sequencer::new(&derivation, s.context, bytes / 2)
        });
        let me = address_of(&config.key);
        let now = now_ms(&clock);
        let faults = Faults::new(config.fault);
        Self {
            clock,
            l1,
            me,
            shared: {
                let shared = Shared::new(derivation, sequencer);
                shared.lock().censored = faults.censored();
                shared
            },
            config,
            outbox: Outbox::default(),
            first_open: 0,
            last_seal: now,
            oldest_sealed: None,
            faults,
            challenged: HashSet::new(),
            ratio_ppm: 1_000_000,
        }
    }

    /// The state shared with RPC and tests.
    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }

    /// Runs until the task is dropped.
    pub async fn run(mut self) {
        loop {
            if let Err(e) = self.tick().await {
                debug!(error = %e, "rollup node tick");
            }
            self.clock.sleep(self.config.poll).await;
        }
    }

    fn event(&self, event: Event) {
        info!(?event, "rollup");
        self.shared.lock().events.push(event);
    }

    /// One round: derive, read, decide, send.
    pub async fn tick(&mut self) -> Result<(), L1Error> {
        self.follow().await?;
        let height = self.l1.finalized_height();
        let id = self.config.rollup;
        let records = self
            .l1
            .records(vec![
                OptimisticKey::Rollup(id).into(),
                Key::Account(self.me),
                OptimisticKey::Bond(id, self.me).into(),
            ])
            .await?;
        let Some(rollup) = records.rollup(id) else {
            return Ok(());
        };
        let nonce = records.account(&self.me).nonce;
        let bond = crate::l1::bond_amount(&records, id, self.me);
        let challenges = self.open_challenges(&rollup).await?;
        self.outbox.update(nonce, height);

        let mut ops: Vec<(String, RollupOp)> = Vec::new();
        {
            let shared = self.shared.clone();
            let mut inner = shared.lock();
            let inner = &mut *inner;
            if rollup.batch_count < inner.derivation.batch_count()
                && inner.derivation.next_height() > height
            {
                let reverted = inner.derivation.revert_to(rollup.batch_count);
                if let Some(seq) = inner.sequencer.as_mut()
                    && !seq.reverted(&reverted)
                {
                    let dropped = seq.rebase(&inner.derivation);
                    inner.events.push(Event::Rebased(dropped));
                    self.oldest_sealed = None;
                }
                inner.events.push(Event::Reverted(rollup.batch_count));
            }
            let finalized = inner.derivation.finalize(&rollup, height);
            if let Some(seq) = inner.sequencer.as_mut() {
                seq.finalized(&finalized);
            }
            inner.rollup = Some(rollup.clone());
            inner.l1_height = height;
            let synced = inner.derivation.next_height() > height
                && inner.derivation.batch_count() == rollup.batch_count
                && inner.derivation.claimed_root() == rollup.output_root;

            if self.config.sequencer.is_some() && self.faults.sequences() {
                self.sequence(inner, &rollup, bond, synced, &mut ops);
            }
            if self.config.challenger {
                self.challenge(&inner.derivation, &rollup, height, &challenges, &mut ops);
            }
            for (cid, c) in &challenges {
                if let Some(op) = game::next_move(
                    self.me,
                    *cid,
                    c,
                    &inner.derivation,
                    height,
                    self.faults.disputes_valid(),
                ) {
                    ops.push((game::move_key(*cid, c), op));
                }
            }
            if self.config.fallback_poster && synced {
                self.hatch(&inner.derivation, &rollup, bond, height, &mut ops);
            }
        }
        for (key, op) in ops {
            self.send(key, op, nonce, height).await;
        }
        Ok(())
    }

    /// Derives every finalized L1 block not yet derived.
    async fn follow(&mut self) -> Result<(), L1Error> {
        let finalized = self.l1.finalized_height();
        loop {
            let next = self.shared.lock().derivation.next_height();
            if next > finalized {
                return Ok(());
            }
            let block = self.l1.block(next).await?;
            for tx in RollupTx::of_block(&block) {
                if tx.sender == self.me
                    && tx.rollup == self.config.rollup
                    && let Some(f) = tx.failure
                {
                    self.event(Event::Failed {
                        op: op_name(&tx.op),
                        failure: f.name(),
                    });
                }
            }
            let shared = self.shared.clone();
            let mut inner = shared.lock();
            let inner = &mut *inner;
            let before = inner.derivation.batch_count();
            let reverted = match inner.derivation.apply_block(&block) {
                Ok(r) => r,
                Err(e) => {
                    let stuck = Event::Stuck(e.to_string());
                    if inner.events.last() != Some(&stuck) {
                        warn!(error = %e, "derivation stopped");
                        inner.events.push(stuck);
                    }
                    return Err(L1Error::Unavailable(format!("derivation: {e}")));
                }
            };
            let first_new = reverted
                .first()
                .map(|b| b.index)
                .unwrap_or(before)
                .min(before);
            if let Some(first) = reverted.first() {
                inner.events.push(Event::Reverted(first.index));
            }
            if let Some(seq) = inner.sequencer.as_mut() {
                if !seq.reverted(&reverted) {
                    let dropped = seq.rebase(&inner.derivation);
                    inner.events.push(Event::Rebased(dropped));
                    self.oldest_sealed = None;
                }
                for b in inner.derivation.pending() {
                    if b.index >= first_new && !seq.landed(b) {
                        let dropped = seq.rebase(&inner.derivation);
                        inner.events.push(Event::Rebased(dropped));
                        self.oldest_sealed = None;
                        break;
                    }
                }
            }
        }
    }

    /// Open challenges on the rollup, by id.
    async fn open_challenges(
        &mut self,
        rollup: &Rollup,
    ) -> Result<Vec<(u64, terrace_l1::modules::optimistic::Challenge)>, L1Error> {
        let id = self.config.rollup;
        let end = rollup
            .challenge_count
            .min(self.first_open + CHALLENGES_PER_TICK);
        if self.first_open >= end {
            return Ok(Vec::new());
        }
        let keys = (self.first_open..end)
            .map(|c| OptimisticKey::Challenge(id, c).into())
            .collect();
        let records = self.l1.records(keys).await?;
        let open: Vec<_> = (self.first_open..end)
            .filter_map(|c| records.challenge(id, c).map(|r| (c, r)))
            .collect();
        self.first_open = open.first().map(|(c, _)| *c).unwrap_or(end);
        Ok(open)
    }

    fn sequence(
        &mut self,
        inner: &mut Inner,
        rollup: &Rollup,
        bond: Amount,
        synced: bool,
        ops: &mut Vec<(String, RollupOp)>,
    ) {
        let Some(config) = self.config.sequencer else {
            return;
        };
        let Some(seq) = inner.sequencer.as_mut() else {
            return;
        };
        let now = now_ms(&self.clock);
        let inbox = inner.derivation.inbox();
        let until = self.faults.inbox_until(inbox, inbox.len() as u64);
        seq.take_inbox(inbox, until);
        self.faults.forge(seq);
        if config.track_l1_fee {
            let price = l1_byte_price(
                self.l1.next_base_fee(),
                self.l1.params().gas.per_byte,
                self.ratio_ppm,
            );
            let mut context = config.context;
            context.l1_byte_price = context.l1_byte_price.max(price);
            if context != seq.context() {
                seq.set_context(context);
            }
        }
        if now.saturating_sub(self.last_seal) >= config.block_time.as_millis() as u64 {
            self.last_seal = now;
            if seq.seal(now) && self.oldest_sealed.is_none() {
                self.oldest_sealed = Some(now);
            }
        }
        if seq.sealed() == 0 {
            self.oldest_sealed = None;
        } else if self.oldest_sealed.is_none() {
            // Blocks put back by a revert, or replayed by a rebase.
            self.oldest_sealed = Some(now);
        }
        if let Some(top_up) = bond_top_up(rollup, bond) {
            ops.push(top_up);
            return;
        }
        let due = self
            .oldest_sealed
            .is_some_and(|t| now.saturating_sub(t) >= config.batch_interval.as_millis() as u64);
        let index = inner.derivation.batch_count();
        let key = format!("batch:{index}");
        if !synced || !due || self.outbox.contains(&key) {
            return;
        }
        if inner.derivation.first_invalid().is_some() {
            // Posting on a false root would be reverted with it.
            return;
        }
        let max = usize::try_from(rollup.config.batch_bytes_max).unwrap_or(usize::MAX);
        let Some((batch, data)) = seq.next_batch(max) else {
            return;
        };
        let raw = commonware_codec::EncodeSize::encode_size(&batch).max(1) as u64;
        self.ratio_ppm = (data.len() as u64 * 1_000_000).div_ceil(raw);
        let Some(mut submission) = inner.derivation.submission(index, &batch, data) else {
            return;
        };
        let honest = self.faults.posted_root(index, &mut submission);
        inner.events.push(Event::Posted {
            index,
            steps: submission.step_count,
            bytes: submission.data.len(),
            honest,
        });
        ops.push((key, RollupOp::SubmitBatch(Box::new(submission))));
    }

    fn challenge(
        &mut self,
        derivation: &Derivation,
        rollup: &Rollup,
        height: u64,
        open: &[(u64, terrace_l1::modules::optimistic::Challenge)],
        ops: &mut Vec<(String, RollupOp)>,
    ) {
        let targets: Vec<_> = if self.faults.disputes_valid() {
            derivation.pending().iter().collect()
        } else {
            derivation.first_invalid().into_iter().collect()
        };
        for b in targets {
            let in_window = height + 1 < rollup.window_end(b.l1_height);
            let mine_open = open
                .iter()
                .any(|(_, c)| c.batch_id == b.id && c.challenger == self.me);
            if !in_window || mine_open || self.challenged.contains(&b.id) {
                continue;
            }
            self.challenged.insert(b.id);
            // A bad aggregate is proven at once; a false root goes through
            // the bisection game (a batch with true roots would win it).
            if let Some(proof) = b.aggregate_proof() {
                ops.push((
                    format!("prove_aggregate:{}", b.index),
                    RollupOp::ProveAggregate {
                        batch: b.index,
                        proof: Box::new(proof),
                    },
                ));
                continue;
            }
            ops.push((
                format!("challenge:{}", b.index),
                RollupOp::Challenge { batch: b.index },
            ));
        }
    }

    /// The escape hatch: when no batch has come for a sequencing window and
    /// the inbox holds unconsumed messages, post them.
    fn hatch(
        &self,
        derivation: &Derivation,
        rollup: &Rollup,
        bond: Amount,
        height: u64,
        ops: &mut Vec<(String, RollupOp)>,
    ) {
        let open = height + 1
            >= rollup
                .last_batch_height
                .saturating_add(rollup.config.sequencing_window_blocks);
        if !open
            || rollup.inbox_count <= rollup.inbox_consumed
            || (derivation.inbox().len() as u64) < rollup.inbox_count
            || derivation.first_invalid().is_some()
        {
            return;
        }
        if let Some(top_up) = bond_top_up(rollup, bond) {
            ops.push(top_up);
            return;
        }
        let index = derivation.batch_count();
        let batch = Batch {
            blocks: vec![L2Block {
                timestamp_ms: now_ms(&self.clock),
                context: BlockContext::FREE,
                inbox_until: rollup.inbox_count,
                txs: Vec::new(),
                aggregates: Vec::new(),
            }],
        };
        let data = batch.compress();
        if let Some(s) = derivation.submission(index, &batch, data) {
            ops.push((format!("batch:{index}"), RollupOp::SubmitBatch(Box::new(s))));
        }
    }

    async fn send(&mut self, key: String, op: RollupOp, account_nonce: u64, height: u64) {
        let name = op_name(&op);
        let payload = Payload::Optimistic(OptimisticOp::Rollup {
            rollup: self.config.rollup,
            op,
        });
        match (self.outbox)
            .send(
                &self.l1,
                &self.config.key,
                key,
                payload,
                account_nonce,
                height,
            )
            .await
        {
            Ok(true) => self.event(Event::Sent(name)),
            Ok(false) => {}
            Err(e) => self.event(Event::Refused(format!("{name}: {e}"))),
        }
    }
}

/// The `Bond` a poster holding `bond` must send before it may post.
fn bond_top_up(rollup: &Rollup, bond: Amount) -> Option<(String, RollupOp)> {
    let missing = rollup.config.poster_bond.checked_sub(bond)?;
    (!missing.is_zero()).then(|| ("bond".into(), RollupOp::Bond { amount: missing }))
}
