//! Staking and slashing: validators bond stake, the committee of each
//! epoch is chosen from it, and equivocation is punished.
//!
//! # Rules
//!
//! - `Stake` bonds balance into the sender's validator record (the sender's
//!   key becomes its consensus key). A jailed validator cannot stake again.
//! - `Unstake` moves bonded stake into an unbonding entry released at the end
//!   of block `height + unbonding_delay_blocks`; until then it stays
//!   slashable. A validator holds at most `unbonding_entries_max` entries.
//! - `Slash` carries equivocation evidence. The consensus engine defines the
//!   evidence; L1 only needs it to verify on its own and to name the
//!   offender and a unique offense id, through [`EvidenceVerifier`]. The
//!   offender loses `slash_fraction_bps` of its bonded and unbonding stake;
//!   `slash_reporter_reward_bps` of that goes to the reporter, the rest is
//!   burned. The offender is jailed (leaves the committee at the next
//!   epoch), and the offense id is recorded so it cannot be punished twice.
//!   Evidence is accepted during its epoch and the next one.
//! - **End of block**: unbonding entries due at the height return to their
//!   validators' balances. The last block of epoch *e* records epoch
//!   *e* + 1's committee: the validators that are not jailed and have bonded
//!   stake, the `committee_size_max` largest stakes, each with one vote
//!   ([`select_committee`]); epoch *e* − 1's committee is forgotten.
//!
//! Bonded and unbonding stake is part of the supply ([`Validator::held`]).

mod evidence;
mod ops;
mod records;
mod rules;
#[cfg(test)]
mod tests;

pub use evidence::{
    DoubleVote, DoubleVoteVerifier, EvidenceError, EvidenceVerifier, Offense, VOTE_NAMESPACE,
    vote_message,
};
pub use ops::{EVIDENCE_BYTES_MAX, StakingOp};
pub use records::{
    COMMITTEE_MAX, StakingKey, StakingRecord, StakingRecords, UNBONDING_ENTRIES_MAX,
    UNBONDING_QUEUE_MAX, UnbondingEntry, VALIDATORS_MAX, Validator, validator_key,
};
pub use rules::{genesis_records, select_committee};

use crate::{
    BlockEnv, ChainParams, Failure,
    error::BlockError,
    module::{Effects, Module, OpEnv, OpSummary},
    params::ParamsError,
    state::{Key, StateReader},
};
use serde::{Deserialize, Serialize};
use terrace_primitives::{Address, Amount};

/// The staking module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Staking;

crate::failure_codes! {
    /// Why a staking operation had no effect.
    pub enum StakingFailure {
        /// Unstake of more than is bonded.
        InsufficientStake = 1 => "insufficient_stake",
        /// The sender or target is not a validator.
        NotAValidator = 2 => "not_a_validator",
        /// A jailed validator cannot stake.
        Jailed = 3 => "jailed",
        /// Too many unbonding entries pending.
        TooManyUnbonding = 4 => "too_many_unbonding",
        /// Slash evidence does not verify.
        InvalidEvidence = 5 => "invalid_evidence",
        /// The offense was already punished.
        AlreadySlashed = 6 => "already_slashed",
        /// The evidence is from an epoch before the previous one (or a
        /// future one): its committee is no longer kept.
        EvidenceExpired = 8 => "evidence_expired",
    }
}

/// Staking's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StakingParams {
    /// Blocks between an unstake and the release of its funds; stake stays
    /// slashable while it unbonds.
    pub unbonding_delay_blocks: u64,
    /// Most unbonding entries a validator may have pending.
    pub unbonding_entries_max: u32,
    /// Share of a validator's stake (bonded and unbonding) a slash removes,
    /// in basis points.
    pub slash_fraction_bps: u32,
    /// Share of the slashed amount paid to the reporter, in basis points; the
    /// rest is burned.
    pub slash_reporter_reward_bps: u32,
    /// Gas of its operations.
    pub gas: StakingGas,
}

/// Gas of staking operations, beyond the base and byte charges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StakingGas {
    /// Staking or unstaking (touches the validator record).
    pub stake: u64,
    /// A slash (evidence verification: two signature checks).
    pub slash: u64,
}

impl Default for StakingParams {
    fn default() -> Self {
        Self {
            unbonding_delay_blocks: 1_000,
            unbonding_entries_max: 16,
            slash_fraction_bps: 1_000,
            slash_reporter_reward_bps: 1_000,
            gas: StakingGas::default(),
        }
    }
}

impl Default for StakingGas {
    fn default() -> Self {
        Self {
            stake: 20_000,
            slash: 60_000,
        }
    }
}

/// Staking's parameters within the chain's.
pub fn params(chain: &ChainParams) -> &StakingParams {
    &chain.modules.staking
}

impl Module for Staking {
    const NAME: &'static str = "staking";
    type Op = StakingOp;
    type Key = StakingKey;
    type Record = StakingRecord;
    type Failure = StakingFailure;
    type Params = StakingParams;

    fn params(chain: &ChainParams) -> &StakingParams {
        params(chain)
    }

    fn validate_params(chain: &ChainParams) -> Result<(), ParamsError> {
        let p = params(chain);
        let bad = |name, why| Err(ParamsError::Invalid { name, why });
        if p.slash_fraction_bps > 10_000 || p.slash_reporter_reward_bps > 10_000 {
            return bad("slash_fraction_bps", "basis points are at most 10000");
        }
        if p.unbonding_delay_blocks == 0 {
            return bad(
                "unbonding_delay_blocks",
                "must be positive: stake must stay slashable for a while",
            );
        }
        // Evidence from epoch e is accepted until the end of epoch e + 1, so
        // stake must stay slashable for two epochs after an unstake.
        if p.unbonding_delay_blocks < chain.epoch_length_blocks.saturating_mul(2) {
            return bad(
                "unbonding_delay_blocks",
                "must be at least 2 × epoch_length_blocks (the evidence window)",
            );
        }
        Ok(())
    }

    fn value(op: &StakingOp) -> Amount {
        match op {
            StakingOp::Stake { amount } => *amount,
            StakingOp::Unstake { .. } | StakingOp::Slash { .. } => Amount::ZERO,
        }
    }

    fn gas(op: &StakingOp, chain: &ChainParams) -> u64 {
        let gas = &params(chain).gas;
        match op {
            StakingOp::Stake { .. } | StakingOp::Unstake { .. } => gas.stake,
            StakingOp::Slash { .. } => gas.slash,
        }
    }

    fn summary(op: &StakingOp) -> OpSummary {
        let (kind, amount) = match op {
            StakingOp::Stake { amount } => ("stake", Some(*amount)),
            StakingOp::Unstake { amount } => ("unstake", Some(*amount)),
            StakingOp::Slash { .. } => ("slash", None),
        };
        OpSummary {
            kind,
            to: None,
            amount,
        }
    }

    fn keys(op: &StakingOp, env: &OpEnv<'_>) -> Vec<Key> {
        match op {
            // A first stake adds the sender to the validator index.
            StakingOp::Stake { .. } => {
                vec![validator_key(env.sender), StakingKey::Validators.into()]
            }
            StakingOp::Unstake { .. } => vec![
                validator_key(env.sender),
                StakingKey::Unbonding(
                    env.height
                        .saturating_add(params(env.params).unbonding_delay_blocks),
                )
                .into(),
            ],
            // The offender is known only once the committee is read.
            StakingOp::Slash { evidence } => match env.evidence.epoch(evidence) {
                Ok(epoch) => vec![StakingKey::Committee(epoch).into()],
                Err(_) => Vec::new(),
            },
        }
    }

    fn keys_after<S: StateReader + ?Sized>(op: &StakingOp, state: &S, env: &OpEnv<'_>) -> Vec<Key> {
        match op {
            StakingOp::Slash { evidence } => rules::slash_keys_after(state, evidence, env.evidence),
            StakingOp::Stake { .. } | StakingOp::Unstake { .. } => Vec::new(),
        }
    }

    fn apply<S: StateReader + ?Sized>(
        state: &S,
        env: &OpEnv<'_>,
        op: &StakingOp,
    ) -> Result<Effects, Failure> {
        rules::apply(state, env, op)
    }

    fn held(record: &StakingRecord) -> Option<Amount> {
        match record {
            StakingRecord::Validator(v) => v.held(),
            _ => Some(Amount::ZERO),
        }
    }

    fn fund_keys<S: StateReader + ?Sized>(_state: &S, addresses: &[Address]) -> Vec<Key> {
        addresses.iter().map(|a| validator_key(*a)).collect()
    }

    fn end_block_keys(env: &BlockEnv, params: &ChainParams) -> Vec<Key> {
        rules::end_block_keys(env, params)
    }

    fn end_block_keys_after<S: StateReader + ?Sized>(
        state: &S,
        env: &BlockEnv,
        params: &ChainParams,
    ) -> Vec<Key> {
        rules::end_block_keys_after(state, env, params)
    }

    fn end_block<S: StateReader + ?Sized>(
        state: &S,
        env: &BlockEnv,
        params: &ChainParams,
    ) -> Result<Effects, BlockError> {
        rules::end_block(state, env, params)
    }
}
