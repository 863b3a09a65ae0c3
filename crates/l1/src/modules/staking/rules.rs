//! The staking rules: what each operation and the end of a block do,
//! as [`Effects`] over the state before them.

use super::{
    StakingFailure,
    evidence::EvidenceVerifier,
    ops::StakingOp,
    records::{StakingKey, StakingRecord, StakingRecords as _, UnbondingEntry, Validator},
    records::{validator_key, validator_value},
};
use crate::{
    BlockEnv, ChainParams, Failure,
    error::BlockError,
    module::{Effects, OpEnv},
    state::{Key, StateReader},
};
use bytes::Bytes;
use terrace_primitives::{Address, Amount, PublicKey};

/// Applies a staking operation.
pub(super) fn apply<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    op: &StakingOp,
) -> Result<Effects, Failure> {
    match op {
        StakingOp::Stake { amount } => stake(state, env, *amount),
        StakingOp::Unstake { amount } => unstake(state, env, *amount),
        StakingOp::Slash { evidence } => slash(state, env, evidence),
    }
}

fn stake<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    amount: Amount,
) -> Result<Effects, Failure> {
    if amount.is_zero() {
        return Err(Failure::ZeroAmount);
    }
    let mut effects = Effects::default();
    let existing = state.validator(&env.sender);
    if existing.is_none() {
        let mut index = state.validators();
        if let Err(pos) = index.binary_search(&env.sender) {
            index.insert(pos, env.sender);
        }
        effects.write(StakingKey::Validators, StakingRecord::Validators(index));
    }
    let mut validator = existing.unwrap_or(Validator {
        public_key: env.sender_key.clone(),
        stake: Amount::ZERO,
        unbonding: Vec::new(),
        jailed: false,
    });
    if validator.jailed {
        return Err(StakingFailure::Jailed.into());
    }
    validator.stake = validator
        .stake
        .checked_add(amount)
        .ok_or(Failure::Overflow)?;
    effects.debit = amount;
    effects.write(validator_key(env.sender), validator_value(validator));
    Ok(effects)
}

fn unstake<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    amount: Amount,
) -> Result<Effects, Failure> {
    if amount.is_zero() {
        return Err(Failure::ZeroAmount);
    }
    let params = super::params(env.params);
    let mut validator = state
        .validator(&env.sender)
        .ok_or(StakingFailure::NotAValidator)?;
    let stake = validator
        .stake
        .checked_sub(amount)
        .ok_or(StakingFailure::InsufficientStake)?;
    if validator.unbonding.len() >= params.unbonding_entries_max as usize {
        return Err(StakingFailure::TooManyUnbonding.into());
    }
    let release_height = env.height.saturating_add(params.unbonding_delay_blocks);
    validator.stake = stake;
    validator.unbonding.push(UnbondingEntry {
        release_height,
        amount,
    });
    let mut queue = state.unbonding_queue(release_height).unwrap_or_default();
    if let Err(pos) = queue.binary_search(&env.sender) {
        queue.insert(pos, env.sender);
    }
    let mut effects = Effects::default();
    effects.write(validator_key(env.sender), validator_value(validator));
    effects.write(
        StakingKey::Unbonding(release_height),
        StakingRecord::Unbonding(queue),
    );
    Ok(effects)
}

fn slash<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    evidence: &Bytes,
) -> Result<Effects, Failure> {
    let params = super::params(env.params);
    let epoch = env
        .evidence
        .epoch(evidence)
        .map_err(|_| StakingFailure::InvalidEvidence)?;
    // Accepted during the offense's epoch and the next one.
    let current = env.params.epoch_of(env.height);
    if epoch > current || epoch.saturating_add(1) < current {
        return Err(StakingFailure::EvidenceExpired.into());
    }
    let committee = state
        .committee(epoch)
        .ok_or(StakingFailure::EvidenceExpired)?;
    let offense = env
        .evidence
        .verify(evidence, &committee)
        .map_err(|_| StakingFailure::InvalidEvidence)?;
    if state.slashed(&offense.id).is_some() {
        return Err(StakingFailure::AlreadySlashed.into());
    }
    let mut validator = state
        .validator(&offense.offender)
        .ok_or(StakingFailure::NotAValidator)?;
    let cut = |a: Amount| {
        a.mul_div(params.slash_fraction_bps as u64, 10_000)
            .ok_or(Failure::Overflow)
    };
    let mut slashed = cut(validator.stake)?;
    validator.stake = validator
        .stake
        .checked_sub(slashed)
        .ok_or(Failure::Overflow)?;
    for entry in &mut validator.unbonding {
        let c = cut(entry.amount)?;
        entry.amount = entry.amount.checked_sub(c).ok_or(Failure::Overflow)?;
        slashed = slashed.checked_add(c).ok_or(Failure::Overflow)?;
    }
    validator.jailed = true;
    let reward = slashed
        .mul_div(params.slash_reporter_reward_bps as u64, 10_000)
        .ok_or(Failure::Overflow)?;
    let mut effects = Effects {
        burned: slashed.checked_sub(reward).ok_or(Failure::Overflow)?,
        ..Effects::default()
    };
    effects.credit(env.sender, reward);
    effects.write(validator_key(offense.offender), validator_value(validator));
    effects.write(
        StakingKey::Slashed(offense.id),
        StakingRecord::Slashed(env.height),
    );
    Ok(effects)
}

/// The keys a slash reads once the committee of its evidence's epoch is
/// readable: the offender's record and the offense's mark.
pub(super) fn slash_keys_after<S: StateReader + ?Sized>(
    state: &S,
    evidence: &[u8],
    verifier: &dyn EvidenceVerifier,
) -> Vec<Key> {
    let offense = verifier
        .epoch(evidence)
        .ok()
        .and_then(|epoch| state.committee(epoch))
        .and_then(|committee| verifier.verify(evidence, &committee).ok());
    match offense {
        Some(o) => vec![validator_key(o.offender), StakingKey::Slashed(o.id).into()],
        None => Vec::new(),
    }
}

/// The end of block `env.height`: releases the unbonding entries due now,
/// and at an epoch's last block records the next committee.
pub(super) fn end_block<S: StateReader + ?Sized>(
    state: &S,
    env: &BlockEnv,
    params: &ChainParams,
) -> Result<Effects, BlockError> {
    let mut effects = Effects::default();
    let height = env.height;
    if let Some(queue) = state.unbonding_queue(height) {
        for address in queue {
            let Some(mut validator) = state.validator(&address) else {
                continue;
            };
            let (due, pending): (Vec<UnbondingEntry>, Vec<UnbondingEntry>) = validator
                .unbonding
                .iter()
                .partition(|e| e.release_height <= height);
            validator.unbonding = pending;
            let released = due
                .iter()
                .try_fold(Amount::ZERO, |sum, e| sum.checked_add(e.amount))
                .ok_or(BlockError::Overflow)?;
            effects.write(validator_key(address), validator_value(validator));
            effects.credit(address, released);
        }
        effects.delete(StakingKey::Unbonding(height));
    }
    if params.is_epoch_end(height) {
        choose_next_committee(state, env, params, &mut effects);
    }
    Ok(effects)
}

/// At the end of an epoch's last block: records the next epoch's committee
/// from the staking state (keeping the current one if nobody is eligible,
/// so the chain never halts for want of a committee), and forgets the
/// previous epoch's, whose evidence expires now.
fn choose_next_committee<S: StateReader + ?Sized>(
    state: &S,
    env: &BlockEnv,
    params: &ChainParams,
    effects: &mut Effects,
) {
    let epoch = params.epoch_of(env.height);
    let validators: Vec<Validator> = state
        .validators()
        .iter()
        .filter_map(|a| state.validator(a))
        .collect();
    let max = usize::try_from(params.committee_size_max).unwrap_or(usize::MAX);
    let mut next = select_committee(&validators, max);
    if next.is_empty() {
        next = state.committee(epoch).unwrap_or_default();
    }
    effects.write(
        StakingKey::Committee(epoch.saturating_add(1)),
        StakingRecord::Committee(next),
    );
    if let Some(previous) = epoch.checked_sub(1) {
        effects.delete(StakingKey::Committee(previous));
    }
}

/// The keys every block's end reads from its height alone; the last block
/// of an epoch also reads the validator index and the committees.
pub(super) fn end_block_keys(env: &BlockEnv, params: &ChainParams) -> Vec<Key> {
    let mut keys = vec![StakingKey::Unbonding(env.height).into()];
    if params.is_epoch_end(env.height) {
        let epoch = params.epoch_of(env.height);
        keys.push(StakingKey::Validators.into());
        keys.push(StakingKey::Committee(epoch).into());
        keys.push(StakingKey::Committee(epoch.saturating_add(1)).into());
        if let Some(previous) = epoch.checked_sub(1) {
            keys.push(StakingKey::Committee(previous).into());
        }
    }
    keys
}

/// The keys the end of the block reads once [`end_block_keys`] are read:
/// the validators whose unbonding entries mature (and their accounts)
/// and, at an epoch's end, every validator the committee is chosen from.
pub(super) fn end_block_keys_after<S: StateReader + ?Sized>(
    state: &S,
    env: &BlockEnv,
    params: &ChainParams,
) -> Vec<Key> {
    let mut keys: Vec<Key> = state
        .unbonding_queue(env.height)
        .unwrap_or_default()
        .iter()
        .flat_map(|a| [validator_key(*a), Key::Account(*a)])
        .collect();
    if params.is_epoch_end(env.height) {
        keys.extend(state.validators().into_iter().map(validator_key));
    }
    keys
}

/// The committee a staking state yields: validators that are not jailed and
/// have bonded stake, the `max` largest stakes (ties broken by key bytes),
/// sorted by key bytes — the order consensus numbers participants in. Every
/// member weighs the same in consensus.
pub fn select_committee<'a>(
    validators: impl IntoIterator<Item = &'a Validator>,
    max: usize,
) -> Vec<PublicKey> {
    let mut eligible: Vec<&Validator> = validators
        .into_iter()
        .filter(|v| !v.jailed && !v.stake.is_zero())
        .collect();
    eligible.sort_by(|a, b| {
        b.stake
            .cmp(&a.stake)
            .then_with(|| a.public_key.as_ref().cmp(b.public_key.as_ref()))
    });
    let mut committee: Vec<PublicKey> = eligible
        .into_iter()
        .take(max)
        .map(|v| v.public_key.clone())
        .collect();
    committee.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
    committee
}

/// The staking records of a genesis: each validator bonded with its stake,
/// the validator index, and epoch 0's committee.
pub fn genesis_records(validators: &[(PublicKey, Amount)], params: &ChainParams) -> Effects {
    let mut effects = Effects::default();
    let mut records = Vec::new();
    let mut index: Vec<Address> = Vec::new();
    for (key, stake) in validators {
        let address = Address::from_public_key(key);
        let record = Validator {
            public_key: key.clone(),
            stake: *stake,
            unbonding: Vec::new(),
            jailed: false,
        };
        index.push(address);
        effects.write(validator_key(address), validator_value(record.clone()));
        records.push(record);
    }
    index.sort();
    effects.write(StakingKey::Validators, StakingRecord::Validators(index));
    let max = usize::try_from(params.committee_size_max).unwrap_or(usize::MAX);
    effects.write(
        StakingKey::Committee(0),
        StakingRecord::Committee(select_committee(&records, max)),
    );
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use terrace_primitives::keys::{Signer as _, private_key_from_seed};

    #[test]
    fn committee_is_the_top_stakes_without_the_jailed_sorted_by_key() {
        let v = |seed: u8, stake: u128, jailed: bool| Validator {
            public_key: private_key_from_seed([seed; 32]).public_key(),
            stake: Amount(stake),
            unbonding: Vec::new(),
            jailed,
        };
        let all = [
            v(1, 10, false),
            v(2, 30, false),
            v(3, 30, true),
            v(4, 0, false),
            v(5, 20, false),
        ];
        let c = select_committee(&all, 2);
        let mut want = vec![all[1].public_key.clone(), all[4].public_key.clone()];
        want.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert_eq!(c, want, "top two stakes; jailed and zero stake excluded");
        assert_eq!(select_committee(&all, 10).len(), 3);
        assert!(select_committee(&all[2..4], 10).is_empty());
    }
}
