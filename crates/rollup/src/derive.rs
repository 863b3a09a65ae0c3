//! Derivation: the L2 chain rebuilt from finalized L1 blocks alone.
//!
//! The inbox is every successful `Deposit` and `ForceInclude` on the
//! rollup, numbered in L1 order; the chain is the data of the standing
//! batches, executed in order with [`terrace_l2::run_steps`]. What a batch
//! *claims* (its output root) is only compared, never trusted: the state
//! kept here is what the data really produces, so a wrong root shows as a
//! mismatch and the honest state carries on past it.
//!
//! A successful `SubmitBatch` with an index below the standing count means
//! a challenge reverted the batches from that index; the node also calls
//! [`Derivation::revert_to`] when it reads a lower batch count from L1.
//! Batches that are final can no longer be reverted and are folded into
//! the final state.
//!
//! Each batch's aggregate signatures are checked too, chunk by chunk,
//! against the keys in the state before it ([`terrace_l2::aggregate::judge`]):
//! a batch with a bad aggregate is false whatever roots it claims, and the
//! node proves it with an [`AggregateProof`].

use crate::l1::{L1Block, RollupTx};
use std::collections::{BTreeSet, VecDeque};
use terrace_l1::modules::optimistic::{BatchSubmission, Rollup, RollupOp, WithdrawalClaim};
use terrace_l2::{
    AggregateFault, AggregateProof, Batch, FullState, InboxMessage, L2Block, L2State as _,
    OneStepProof, Step, StepReceipt, aggregate::judge, run_steps,
};
use terrace_primitives::{Address, Hash, par};

/// Batches remembered for [`Derivation::recent`].
pub const RECENT_BATCHES: usize = 256;

/// Where a batch stands on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// Standing, still in its challenge window or under challenge.
    Pending,
    /// Final: withdrawals in it can be claimed.
    Final,
    /// Reverted by a lost challenge (its blocks may be posted again).
    Reverted,
}

/// A batch as the node reports it, final, pending or reverted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSummary {
    /// Index on L1.
    pub index: u64,
    /// The L1 transaction that posted it.
    pub id: Hash,
    /// Who posted it.
    pub poster: Address,
    /// L1 height it was posted at.
    pub l1_height: u64,
    /// Number of its first L2 block.
    pub first_block: u64,
    /// L2 blocks.
    pub blocks: u64,
    /// L2 transactions (not counting inbox messages).
    pub transactions: u64,
    /// Steps (transactions and inbox messages).
    pub steps: u64,
    /// Compressed bytes posted.
    pub data_bytes: u64,
    /// The output root it claims.
    pub claimed_root: Hash,
    /// Whether the claim is true.
    pub valid: bool,
    /// Where it stands.
    pub status: BatchStatus,
}

impl DerivedBatch {
    fn summary(&self, status: BatchStatus) -> BatchSummary {
        BatchSummary {
            index: self.index,
            id: self.id,
            poster: self.poster,
            l1_height: self.l1_height,
            first_block: self.first_block,
            blocks: self.blocks.len() as u64,
            transactions: self.blocks.iter().map(|b| b.txs.len() as u64).sum(),
            steps: self.steps.len() as u64,
            data_bytes: self.data_bytes,
            claimed_root: self.claimed_root,
            valid: self.is_valid(),
            status,
        }
    }
}

/// Why an L1 block could not be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeriveError {
    /// Blocks must come in height order.
    #[error("expected L1 block {expected}, got {got}")]
    OutOfOrder {
        /// Next height.
        expected: u64,
        /// Height given.
        got: u64,
    },
    /// A batch index beyond the standing count: a block was missed.
    #[error("batch {index} posted while {standing} batches stand")]
    Gap {
        /// Posted index.
        index: u64,
        /// Standing count.
        standing: u64,
    },
    /// A final batch can never be reverted; seeing it is a bug or a broken L1.
    #[error("batch {0} was replaced after it was final")]
    FinalReplaced(u64),
    /// L1 accepted batch data this code cannot execute.
    #[error("batch {index} cannot be executed: {why}")]
    Unexecutable {
        /// Batch index.
        index: u64,
        /// Why.
        why: String,
    },
}

/// A standing batch, executed.
#[derive(Debug, Clone)]
pub struct DerivedBatch {
    /// Index on L1.
    pub index: u64,
    /// The L1 transaction that posted it (its id in challenges).
    pub id: Hash,
    /// Who posted it.
    pub poster: Address,
    /// L1 height it was posted at.
    pub l1_height: u64,
    /// The root it was posted after.
    pub prev_output_root: Hash,
    /// The root it claims.
    pub claimed_root: Hash,
    /// Its blocks.
    pub blocks: Vec<L2Block>,
    /// Number of the first of its blocks in the L2 chain.
    pub first_block: u64,
    /// Its steps.
    pub steps: Vec<Step>,
    /// Each step's receipt and the true output root after it.
    pub executed: Vec<(StepReceipt, Hash)>,
    /// The true state before it.
    pub pre: FullState,
    /// Bytes of compressed data posted.
    pub data_bytes: u64,
    /// The first chunk whose aggregate is bad, and why.
    pub aggregate_fault: Option<(u64, AggregateFault)>,
}

impl DerivedBatch {
    /// Accounts in the state after it.
    pub fn accounts_after(&self) -> u64 {
        let opened = self
            .executed
            .iter()
            .filter(|(r, _)| r.opened.is_some())
            .count() as u64;
        self.pre.commitment().account_count + opened
    }

    /// The proof of its bad aggregate, if it has one.
    pub fn aggregate_proof(&self) -> Option<AggregateProof> {
        let (chunk, _) = self.aggregate_fault?;
        let chunks: Vec<_> = self.blocks.iter().flat_map(L2Block::chunks).collect();
        AggregateProof::build(&self.pre, &chunks, chunk)
    }

    /// The true output root after `n` of its steps (`n = 0`: before it).
    pub fn root_after(&self, n: u64) -> Option<Hash> {
        match n {
            0 => Some(self.pre.commitment().output_root()),
            n => self
                .executed
                .get(usize::try_from(n - 1).ok()?)
                .map(|(_, root)| *root),
        }
    }

    /// The true output root after the whole batch.
    pub fn true_root(&self) -> Hash {
        self.root_after(self.steps.len() as u64)
            .unwrap_or_else(|| self.pre.commitment().output_root())
    }

    /// Whether it continues the true state, claims the true root and has
    /// good aggregates.
    pub fn is_valid(&self) -> bool {
        self.prev_output_root == self.pre.commitment().output_root()
            && self.claimed_root == self.true_root()
            && self.aggregate_fault.is_none()
    }

    /// The full state after `n` of its steps.
    pub fn state_after(&self, rollup: u64, n: u64, inbox: &[InboxMessage]) -> Option<FullState> {
        let mut state = self.pre.clone();
        let steps = self.steps.get(..usize::try_from(n).ok()?)?;
        run_steps(&mut state, rollup, steps, |p| {
            inbox.get(usize::try_from(p).ok()?).cloned()
        })
        .ok()?;
        Some(state)
    }

    /// The one-step proof of step `index`.
    pub fn prove(&self, rollup: u64, index: u64, inbox: &[InboxMessage]) -> Option<OneStepProof> {
        let pre = self.state_after(rollup, index, inbox)?;
        let message = match self.steps.get(usize::try_from(index).ok()?)? {
            Step::Inbox { position } => Some(inbox.get(usize::try_from(*position).ok()?)?.clone()),
            Step::Tx { .. } | Step::Aggregated { .. } => None,
        };
        OneStepProof::build(&pre, rollup, &self.steps, index, message)
    }
}

/// The first chunk of `batch` whose aggregate fails against `pre`, checked
/// on every core (a chunk costs one pairing per transaction).
fn first_bad_chunk(rollup: u64, batch: &Batch, pre: &FullState) -> Option<(u64, AggregateFault)> {
    let chunks = batch.chunks();
    par::map_chunks(&chunks, par::Threads::available(), 1, |offset, part| {
        part.iter().enumerate().find_map(|(i, c)| {
            judge(rollup, c, |a| pre.account_at(a))
                .err()
                .map(|f| ((offset + i) as u64, f))
        })
    })
    .into_iter()
    .flatten()
    .next()
}

/// The L2 chain as L1 has it.
#[derive(Debug, Clone)]
pub struct Derivation {
    rollup: u64,
    next_height: u64,
    inbox: Vec<InboxMessage>,
    inbox_heights: Vec<u64>,
    /// State after the final batches, and how many there are.
    final_state: FullState,
    final_count: u64,
    final_blocks: u64,
    /// Standing batches after the final ones, in order.
    batches: Vec<DerivedBatch>,
    /// True state after every standing batch.
    state: FullState,
    /// Withdrawals claimed on L1 (their nullifiers).
    claimed: BTreeSet<u64>,
    /// The last [`RECENT_BATCHES`] batches seen, oldest first.
    recent: VecDeque<BatchSummary>,
}

impl Derivation {
    /// Follows `rollup` from L1 height `from` (the block that created it).
    pub fn new(rollup: u64, from: u64) -> Self {
        Self {
            rollup,
            next_height: from,
            inbox: Vec::new(),
            inbox_heights: Vec::new(),
            final_state: FullState::new(),
            final_count: 0,
            final_blocks: 0,
            batches: Vec::new(),
            state: FullState::new(),
            claimed: BTreeSet::new(),
            recent: VecDeque::new(),
        }
    }

    /// Whether withdrawal `index` has been claimed on L1.
    pub fn is_claimed(&self, index: u64) -> bool {
        self.claimed.contains(&index)
    }

    /// The last batches seen, final, pending and reverted, oldest first.
    pub fn recent(&self) -> impl Iterator<Item = &BatchSummary> {
        self.recent.iter()
    }

    fn remember(&mut self, summary: BatchSummary) {
        if self.recent.len() == RECENT_BATCHES {
            self.recent.pop_front();
        }
        self.recent.push_back(summary);
    }

    fn mark_reverted(&mut self, index: u64) {
        if let Some(s) = self
            .recent
            .iter_mut()
            .rev()
            .find(|s| s.index == index && s.status == BatchStatus::Pending)
        {
            s.status = BatchStatus::Reverted;
        }
    }

    /// The rollup followed.
    pub fn rollup(&self) -> u64 {
        self.rollup
    }

    /// The next L1 height to feed.
    pub fn next_height(&self) -> u64 {
        self.next_height
    }

    /// Every inbox message so far, by position.
    pub fn inbox(&self) -> &[InboxMessage] {
        &self.inbox
    }

    /// The L1 height of inbox message `position`.
    pub fn inbox_height(&self, position: u64) -> Option<u64> {
        self.inbox_heights
            .get(usize::try_from(position).ok()?)
            .copied()
    }

    /// The true state after every standing batch.
    pub fn state(&self) -> &FullState {
        &self.state
    }

    /// The state after the final batches: withdrawals are claimed against it.
    pub fn final_state(&self) -> &FullState {
        &self.final_state
    }

    /// Final batches.
    pub fn final_count(&self) -> u64 {
        self.final_count
    }

    /// Standing batches (final or not).
    pub fn batch_count(&self) -> u64 {
        self.final_count + self.batches.len() as u64
    }

    /// L2 blocks in final batches.
    pub fn final_blocks(&self) -> u64 {
        self.final_blocks
    }

    /// L2 blocks in standing batches.
    pub fn posted_blocks(&self) -> u64 {
        self.batches
            .last()
            .map(|b| b.first_block + b.blocks.len() as u64)
            .unwrap_or(self.final_blocks)
    }

    /// The standing batches not yet final.
    pub fn pending(&self) -> &[DerivedBatch] {
        &self.batches
    }

    /// A standing, non-final batch by index.
    pub fn batch(&self, index: u64) -> Option<&DerivedBatch> {
        let i = index.checked_sub(self.final_count)?;
        self.batches.get(usize::try_from(i).ok()?)
    }

    /// The output root the standing chain claims (what L1 holds).
    pub fn claimed_root(&self) -> Hash {
        self.batches
            .last()
            .map(|b| b.claimed_root)
            .unwrap_or_else(|| self.final_state.commitment().output_root())
    }

    /// The first standing batch whose claim is false, if any.
    pub fn first_invalid(&self) -> Option<&DerivedBatch> {
        self.batches.iter().find(|b| !b.is_valid())
    }

    /// Applies a finalized L1 block; returns the batches it reverted.
    pub fn apply_block(&mut self, block: &L1Block) -> Result<Vec<DerivedBatch>, DeriveError> {
        if block.height != self.next_height {
            return Err(DeriveError::OutOfOrder {
                expected: self.next_height,
                got: block.height,
            });
        }
        let mut reverted = Vec::new();
        for tx in RollupTx::of_block(block) {
            if tx.rollup != self.rollup || tx.failure.is_some() {
                continue;
            }
            match &tx.op {
                RollupOp::Deposit(deposit) => {
                    self.push_inbox(InboxMessage::Deposit(deposit.clone()), block.height)
                }
                RollupOp::ForceInclude { tx } => {
                    self.push_inbox(InboxMessage::Forced { tx: tx.clone() }, block.height)
                }
                RollupOp::SubmitBatch(s) => {
                    reverted.extend(self.add_batch(s, tx.hash, tx.sender, block.height)?)
                }
                RollupOp::Claim(claim) => {
                    self.claimed.insert(claim.index);
                }
                _ => {}
            }
        }
        self.next_height += 1;
        Ok(reverted)
    }

    fn push_inbox(&mut self, message: InboxMessage, height: u64) {
        self.inbox.push(message);
        self.inbox_heights.push(height);
    }

    fn add_batch(
        &mut self,
        s: &BatchSubmission,
        id: Hash,
        poster: Address,
        height: u64,
    ) -> Result<Vec<DerivedBatch>, DeriveError> {
        let standing = self.batch_count();
        if s.index < self.final_count {
            return Err(DeriveError::FinalReplaced(s.index));
        }
        if s.index > standing {
            return Err(DeriveError::Gap {
                index: s.index,
                standing,
            });
        }
        let reverted = self.revert_to(s.index);
        let unexecutable = |why: String| DeriveError::Unexecutable {
            index: s.index,
            why,
        };
        let batch = Batch::decompress(&s.data).map_err(|e| unexecutable(e.to_string()))?;
        let cursor = self.state.commitment().inbox_cursor;
        let (steps, _) = batch
            .steps(cursor)
            .map_err(|e| unexecutable(e.to_string()))?;
        let pre = self.state.clone();
        let aggregate_fault = first_bad_chunk(self.rollup, &batch, &pre);
        let inbox = &self.inbox;
        let executed = run_steps(&mut self.state, self.rollup, &steps, |p| {
            inbox.get(usize::try_from(p).ok()?).cloned()
        })
        .map_err(|e| unexecutable(e.to_string()))?;
        let first_block = self.posted_blocks();
        let derived = DerivedBatch {
            index: s.index,
            id,
            poster,
            l1_height: height,
            prev_output_root: s.prev_output_root,
            claimed_root: s.output_root,
            blocks: batch.blocks,
            first_block,
            steps,
            executed,
            pre,
            data_bytes: s.data.len() as u64,
            aggregate_fault,
        };
        self.remember(derived.summary(BatchStatus::Pending));
        self.batches.push(derived);
        Ok(reverted)
    }

    /// Drops the batches from `index` on (a challenge reverted them);
    /// returns them, oldest first.
    pub fn revert_to(&mut self, index: u64) -> Vec<DerivedBatch> {
        let keep = index.saturating_sub(self.final_count);
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        if keep >= self.batches.len() {
            return Vec::new();
        }
        let reverted = self.batches.split_off(keep);
        if let Some(first) = reverted.first() {
            self.state = first.pre.clone();
        }
        for b in &reverted {
            self.mark_reverted(b.index);
        }
        reverted
    }

    /// Folds the batches L1 now considers final (at L1 `height`, with the
    /// rollup record `rollup`) into the final state; returns them.
    pub fn finalize(&mut self, rollup: &Rollup, height: u64) -> Vec<DerivedBatch> {
        let mut n: usize = 0;
        for b in &self.batches {
            if !rollup.is_final(b.index, b.l1_height, height) {
                break;
            }
            n += 1;
        }
        let Some(last) = n.checked_sub(1).and_then(|i| self.batches.get(i)) else {
            return Vec::new();
        };
        self.final_count = last.index + 1;
        self.final_blocks = last.first_block + last.blocks.len() as u64;
        self.final_state = match self.batches.get(n) {
            Some(next) => next.pre.clone(),
            None => self.state.clone(),
        };
        let finalized: Vec<DerivedBatch> = self.batches.drain(..n).collect();
        for b in &finalized {
            if let Some(s) = self
                .recent
                .iter_mut()
                .rev()
                .find(|s| s.index == b.index && s.status == BatchStatus::Pending)
            {
                s.status = BatchStatus::Final;
            }
        }
        finalized
    }

    /// The true state after standing batch `index` (the last final one
    /// or a pending one).
    pub fn state_after_batch(&self, index: u64) -> Option<&FullState> {
        if index.checked_add(1) == Some(self.final_count) {
            return Some(&self.final_state);
        }
        let i = usize::try_from(index.checked_sub(self.final_count)?).ok()?;
        self.batches.get(i)?;
        Some(match self.batches.get(i + 1) {
            Some(next) => &next.pre,
            None => &self.state,
        })
    }

    /// The first standing batch whose state holds withdrawal `index`: the
    /// last final batch if a final one does (a claim names any final batch
    /// whose state has it).
    pub fn withdrawal_batch(&self, index: u64) -> Option<u64> {
        let holds = |s: &FullState| (s.withdrawals().len() as u64) > index;
        if self.final_count > 0 && holds(&self.final_state) {
            return Some(self.final_count - 1);
        }
        self.batches
            .iter()
            .map(|b| b.index)
            .find(|&i| self.state_after_batch(i).is_some_and(holds))
    }

    /// The claim of withdrawal `index` against standing batch `batch`'s
    /// state; L1 pays it once that batch is final.
    pub fn withdrawal_claim(&self, batch: u64, index: u64) -> Option<WithdrawalClaim> {
        let state = self.state_after_batch(batch)?;
        Some(WithdrawalClaim {
            batch,
            state: state.commitment(),
            index,
            withdrawal: *state.withdrawals().get(usize::try_from(index).ok()?)?,
            proof: state.withdrawal_proof(index)?,
        })
    }

    /// The submission of `batch` (compressed as `data`) as standing batch
    /// `index` after the derived chain, with the true output root; `None`
    /// if the batch does not continue the chain.
    pub fn submission(&self, index: u64, batch: &Batch, data: Vec<u8>) -> Option<BatchSubmission> {
        let (steps, inbox_end) = batch.steps(self.state.commitment().inbox_cursor).ok()?;
        let mut state = self.state.clone();
        let inbox = &self.inbox;
        let executed = run_steps(&mut state, self.rollup, &steps, |p| {
            inbox.get(usize::try_from(p).ok()?).cloned()
        })
        .ok()?;
        Some(BatchSubmission {
            index,
            prev_output_root: self.claimed_root(),
            output_root: executed.last()?.1,
            step_count: steps.len() as u64,
            inbox_end,
            data: data.into(),
        })
    }
}
