//! Optimistic rollups on L1: the registry, the bridge escrow and inbox,
//! batches, interactive fraud proofs and withdrawals.
//!
//! # Protocol
//!
//! - **Create**: anyone registers a rollup with a [`RollupConfig`]; it
//!   starts at the L2 genesis output root.
//! - **Bond**: a poster locks at least `poster_bond` before posting. When one
//!   of its batches loses a challenge the whole bond is slashed; it comes
//!   back (`Unbond`) once the poster's last batch is final.
//! - **Deposit / ForceInclude**: lock funds in escrow, or carry a signed L2
//!   transaction; either appends a message to the inbox, numbered and
//!   stamped with the L1 height.
//! - **SubmitBatch**: the sequencer (or anyone, once no batch has been
//!   posted for `sequencing_window_blocks`) posts the compressed batch as
//!   transaction data, paid per byte. L1 decodes it once, checks that it
//!   continues the last output root, consumes the inbox in order up to
//!   what it declares, and leaves no message older than the sequencing
//!   window unconsumed; then it records the Merkle root of the steps.
//! - **Challenge**: within `challenge_window_blocks` of a batch, anyone locks
//!   `challenge_bond` and disputes its output root. The game bisects over
//!   the batch's per-step roots: the defender (the poster) `Bisect`s by
//!   revealing the root at the midpoint, the challenger `Choose`s the half
//!   it disputes, until one step remains; a `ProveStep` then re-executes
//!   that step on L1 with the `l2` code ([`terrace_l2::OneStepProof`]) and
//!   compares with the defender's root. Each move must come within
//!   `move_deadline_blocks` of the previous one; after that anyone may call
//!   `Timeout` and the side to move loses (at the one-step stage, the
//!   challenger, who claims the step is wrong).
//! - **ProveAggregate**: a batch's aggregated transactions carry one BLS
//!   aggregate per chunk, which the step function never checks; within the
//!   window anyone may show a chunk whose aggregate fails against its
//!   senders' keys in the state before the batch
//!   ([`terrace_l2::AggregateProof`]). One transaction settles it: the
//!   batch is reverted and its poster slashed as if it lost a challenge,
//!   half of the bond to the prover.
//! - **Outcome**: the loser's bond is slashed, half to the winner, half
//!   burned ([`WINNER_SHARE_BPS`]). A batch that loses is reverted with
//!   every batch after it: the rollup returns to the root and inbox
//!   position before it, and challenges of reverted batches are refunded.
//! - **Finality and withdrawals**: a batch is final once its window is over
//!   and no batch up to it is disputed. `Claim` pays a withdrawal from
//!   escrow against a Merkle proof into a final batch's output root; the
//!   withdrawal's index is its nullifier.
//!
//! A refused operation changes nothing but the fee (its receipt says why).

mod ops;
mod records;
mod rules;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

pub use ops::{BATCH_DATA_MAX, BatchSubmission, OptimisticOp, RollupOp, WithdrawalClaim};
pub use records::{
    BatchRecord, Challenge, DISPUTED_MAX, InboxRecord, OptimisticKey, OptimisticRecord, PosterBond,
    Rollup, RollupConfig, RollupRecords, Turn, WINNER_SHARE_BPS,
};
pub use rules::validate_config;

use crate::{
    ChainParams, Failure,
    module::{Effects, Module, OpEnv, OpSummary},
    state::{Key, StateReader},
};
use serde::{Deserialize, Serialize};
use terrace_l2::Deposit;
use terrace_primitives::{Address, Amount};

/// The optimistic-rollup module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Optimistic;

crate::failure_codes! {
    /// Why an optimistic-rollup operation had no effect.
    pub enum OptimisticFailure {
        /// No rollup has this id.
        UnknownRollup = 9 => "unknown_rollup",
        /// The rollup configuration cannot run (a zero window, deadline or
        /// bond, or batches over the transaction size limit).
        InvalidConfig = 10 => "invalid_config",
        /// The sender has no poster bond for this rollup.
        NoBond = 12 => "no_bond",
        /// The sender's poster bond is below the rollup's `poster_bond`.
        BondTooLow = 13 => "bond_too_low",
        /// The poster's last batch is not final yet, so its bond stays.
        BondLocked = 14 => "bond_locked",
        /// Only the sequencer may post until no batch has been posted for
        /// the sequencing window.
        NotSequencer = 15 => "not_sequencer",
        /// The batch index is not the rollup's next one.
        WrongBatchIndex = 16 => "wrong_batch_index",
        /// The batch's previous output root is not the rollup's current one.
        BatchDoesNotContinue = 17 => "batch_does_not_continue",
        /// The batch data is over the rollup's `batch_bytes_max`.
        BatchTooLarge = 18 => "batch_too_large",
        /// The batch data does not decompress or decode, has no steps, or
        /// consumes the inbox backwards.
        BadBatchData = 19 => "bad_batch_data",
        /// The batch consumes the inbox past its end, or not up to the
        /// position it declares.
        InboxBeyondEnd = 20 => "inbox_beyond_end",
        /// The batch leaves an inbox message older than the sequencing
        /// window unconsumed.
        InboxSkipped = 21 => "inbox_skipped",
        /// The batch has another number of steps than it declares.
        StepCountMismatch = 22 => "step_count_mismatch",
        /// No accepted batch has this index (never posted, or reverted).
        NoSuchBatch = 23 => "no_such_batch",
        /// The batch's challenge window is over.
        WindowClosed = 24 => "window_closed",
        /// The rollup tracks too many disputed batches already.
        TooManyChallenges = 25 => "too_many_challenges",
        /// No open challenge has this id.
        NoSuchChallenge = 26 => "no_such_challenge",
        /// It is not the sender's move in this challenge (or not this kind
        /// of move).
        NotYourTurn = 27 => "not_your_turn",
        /// The move came after its deadline.
        DeadlinePassed = 28 => "deadline_passed",
        /// A timeout was called before the deadline.
        DeadlineNotPassed = 29 => "deadline_not_passed",
        /// The one-step proof does not verify against the agreed root, the
        /// batch data or the inbox.
        InvalidProof = 30 => "invalid_proof",
        /// The batch is not final yet: its challenge window is running or a
        /// challenge is open.
        NotFinal = 31 => "not_final",
        /// The withdrawal is not in the batch's output root.
        InvalidWithdrawalProof = 32 => "invalid_withdrawal_proof",
        /// The withdrawal was claimed already.
        AlreadyClaimed = 33 => "already_claimed",
        /// The deposit's recipient key could never sign (small order or
        /// non-canonical).
        InvalidRecipient = 34 => "invalid_recipient",
        /// A deposit's BLS key came with a proof of possession that does
        /// not verify.
        InvalidPossession = 36 => "invalid_possession",
        /// The aggregate the proof disputes is valid: there is no fraud.
        AggregateValid = 37 => "aggregate_valid",
    }
}

/// The optimistic-rollup module's parameters: its gas schedule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimisticParams {
    /// Gas of its operations.
    pub gas: OptimisticGas,
}

/// Gas of optimistic-rollup operations, beyond the base and byte charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimisticGas {
    /// Registering a rollup.
    pub create: u64,
    /// A bond, deposit, forced transaction, challenge move or timeout: a
    /// few record reads and writes.
    pub op: u64,
    /// A batch: decompressing and hashing its steps (its bytes are paid per
    /// byte on top).
    pub batch: u64,
    /// A one-step proof: a signature check and a few dozen Merkle path
    /// hashes.
    pub one_step_proof: u64,
    /// A withdrawal claim: a Merkle path and a nullifier.
    pub withdrawal_claim: u64,
    /// Per BLS pairing (a deposit's proof of possession takes two; an
    /// aggregate proof one per transaction plus one): EIP-2537 charges
    /// 32,600 per pair plus 37,700.
    pub bls_pairing: u64,
}

impl Default for OptimisticGas {
    fn default() -> Self {
        Self {
            create: 100_000,
            op: 30_000,
            batch: 50_000,
            one_step_proof: 200_000,
            withdrawal_claim: 60_000,
            bls_pairing: 45_000,
        }
    }
}

/// The module's parameters within the chain's.
pub fn params(chain: &ChainParams) -> &OptimisticParams {
    &chain.modules.optimistic
}

impl Module for Optimistic {
    const NAME: &'static str = "optimistic";
    type Op = OptimisticOp;
    type Key = OptimisticKey;
    type Record = OptimisticRecord;
    type Failure = OptimisticFailure;
    type Params = OptimisticParams;

    fn params(chain: &ChainParams) -> &OptimisticParams {
        params(chain)
    }

    fn value(op: &OptimisticOp) -> Amount {
        match op {
            OptimisticOp::Rollup {
                op: RollupOp::Bond { amount } | RollupOp::Deposit(Deposit { amount, .. }),
                ..
            } => *amount,
            _ => Amount::ZERO,
        }
    }

    fn gas(op: &OptimisticOp, chain: &ChainParams) -> u64 {
        let gas = &params(chain).gas;
        let OptimisticOp::Rollup { op, .. } = op else {
            return gas.create;
        };
        match op {
            RollupOp::SubmitBatch(_) => gas.batch,
            RollupOp::ProveStep { .. } => gas.one_step_proof,
            RollupOp::ProveAggregate { proof, .. } => {
                let pairings = proof.chunk.txs.len() as u64 + 1;
                gas.one_step_proof
                    .saturating_add(gas.bls_pairing.saturating_mul(pairings))
            }
            RollupOp::Deposit(d) if d.bls.is_some() => {
                gas.op.saturating_add(gas.bls_pairing.saturating_mul(2))
            }
            RollupOp::Claim(_) => gas.withdrawal_claim,
            _ => gas.op,
        }
    }

    fn summary(op: &OptimisticOp) -> OpSummary {
        let summary = |kind, to, amount| OpSummary { kind, to, amount };
        let OptimisticOp::Rollup { op, .. } = op else {
            return summary("create_rollup", None, None);
        };
        match op {
            RollupOp::Bond { amount } => summary("rollup_bond", None, Some(*amount)),
            RollupOp::Unbond => summary("rollup_unbond", None, None),
            RollupOp::Deposit(d) => summary("rollup_deposit", None, Some(d.amount)),
            RollupOp::ForceInclude { .. } => summary("rollup_force_include", None, None),
            RollupOp::SubmitBatch(_) => summary("rollup_submit_batch", None, None),
            RollupOp::Challenge { .. } => summary("rollup_challenge", None, None),
            RollupOp::Bisect { .. } => summary("rollup_bisect", None, None),
            RollupOp::Choose { .. } => summary("rollup_choose", None, None),
            RollupOp::ProveStep { .. } => summary("rollup_prove_step", None, None),
            RollupOp::ProveAggregate { .. } => summary("rollup_prove_aggregate", None, None),
            RollupOp::Timeout { .. } => summary("rollup_timeout", None, None),
            RollupOp::Claim(c) => summary(
                "rollup_claim",
                Some(c.withdrawal.recipient),
                Some(c.withdrawal.amount),
            ),
        }
    }

    fn keys(op: &OptimisticOp, env: &OpEnv<'_>) -> Vec<Key> {
        rules::keys(op, env.sender)
    }

    fn apply<S: StateReader + ?Sized>(
        state: &S,
        env: &OpEnv<'_>,
        op: &OptimisticOp,
    ) -> Result<Effects, Failure> {
        rules::apply(state, env, op)
    }

    fn held(record: &OptimisticRecord) -> Option<Amount> {
        Some(match record {
            OptimisticRecord::Rollup(r) => r.escrow,
            OptimisticRecord::Bond(b) => b.amount,
            OptimisticRecord::Challenge(c) => c.bond,
            _ => Amount::ZERO,
        })
    }

    /// Escrows, the audited addresses' poster bonds, and every challenge
    /// ever opened (an open one holds its bond).
    fn fund_keys<S: StateReader + ?Sized>(state: &S, addresses: &[Address]) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![OptimisticKey::RollupCount.into()];
        for id in 0..state.rollup_count() {
            keys.push(OptimisticKey::Rollup(id).into());
            keys.extend(addresses.iter().map(|a| OptimisticKey::Bond(id, *a).into()));
            if let Some(r) = state.rollup(id) {
                keys.extend((0..r.challenge_count).map(|c| OptimisticKey::Challenge(id, c).into()));
            }
        }
        keys
    }
}
