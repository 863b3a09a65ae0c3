//! The optimistic-rollup rules: what each operation does, as [`Effects`]
//! over the state before it (see the protocol in [`super`]).

use super::{
    OptimisticFailure,
    ops::{BatchSubmission, OptimisticOp, RollupOp, WithdrawalClaim},
    records::{
        BatchRecord, Challenge, DISPUTED_MAX, InboxRecord, OptimisticKey, OptimisticRecord,
        PosterBond, Rollup, RollupConfig, RollupRecords as _, Turn, WINNER_SHARE_BPS,
    },
};
use crate::{
    Failure,
    module::{Effects, OpEnv},
    params::ChainParams,
    state::{Key, StateReader},
};
use terrace_l2::{
    AggregateProof, Batch, DisputedChunk, DisputedStep, InboxMessage, OneStepProof,
    batch::{aggregate_commitment, data_commitment},
};
use terrace_primitives::{Address, Amount, Hash};

fn add(a: Amount, b: Amount) -> Result<Amount, Failure> {
    a.checked_add(b).ok_or(Failure::Overflow)
}

fn sub(a: Amount, b: Amount) -> Result<Amount, Failure> {
    a.checked_sub(b).ok_or(Failure::Overflow)
}

/// Checks a configuration can run.
pub fn validate_config(config: &RollupConfig, params: &ChainParams) -> Result<(), Failure> {
    let ok = config.challenge_window_blocks >= 1
        && config.sequencing_window_blocks >= 1
        && config.move_deadline_blocks >= 1
        && config.batch_bytes_max >= 1
        && config.batch_bytes_max <= params.tx_bytes_max
        && !config.poster_bond.is_zero()
        && !config.challenge_bond.is_zero();
    if ok {
        Ok(())
    } else {
        Err(OptimisticFailure::InvalidConfig.into())
    }
}

/// Applies an optimistic-rollup operation.
pub(super) fn apply<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    op: &OptimisticOp,
) -> Result<Effects, Failure> {
    match op {
        OptimisticOp::Create(config) => create(state, env, config),
        OptimisticOp::Rollup { rollup, op } => apply_to(state, *env, *rollup, op),
    }
}

/// Registers a rollup under the next id.
fn create<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    config: &RollupConfig,
) -> Result<Effects, Failure> {
    validate_config(config, env.params)?;
    let id = state.rollup_count();
    let next = id.checked_add(1).ok_or(Failure::Overflow)?;
    let mut effects = Effects::default();
    effects.write(
        OptimisticKey::RollupCount,
        OptimisticRecord::RollupCount(next),
    );
    effects.write(
        OptimisticKey::Rollup(id),
        OptimisticRecord::Rollup(Box::new(Rollup::new(config.clone(), env.height))),
    );
    Ok(effects)
}

/// Applies an operation on rollup `id`.
fn apply_to<S: StateReader + ?Sized>(
    state: &S,
    env: OpEnv<'_>,
    id: u64,
    op: &RollupOp,
) -> Result<Effects, Failure> {
    let rollup = state.rollup(id).ok_or(OptimisticFailure::UnknownRollup)?;
    let mut game = Game {
        state,
        env,
        id,
        rollup,
        effects: Effects::default(),
    };
    match op {
        RollupOp::Bond { amount } => game.bond(*amount)?,
        RollupOp::Unbond => game.unbond()?,
        RollupOp::Deposit(deposit) => {
            if deposit.amount.is_zero() {
                return Err(Failure::ZeroAmount);
            }
            // A small-order key could never sign on L2: the funds would be stuck.
            terrace_primitives::keys::check_public_key(&deposit.recipient)
                .map_err(|_| OptimisticFailure::InvalidRecipient)?;
            // A key without proof of possession could be a rogue key that
            // forges aggregates with honest keys.
            if let Some(r) = &deposit.bls {
                r.key
                    .verify_possession(&r.possession)
                    .map_err(|_| OptimisticFailure::InvalidPossession)?;
            }
            game.effects.debit = deposit.amount;
            game.rollup.escrow = add(game.rollup.escrow, deposit.amount)?;
            game.append_inbox(&InboxMessage::Deposit(deposit.clone()))?;
        }
        RollupOp::ForceInclude { tx } => {
            game.append_inbox(&InboxMessage::Forced { tx: tx.clone() })?
        }
        RollupOp::SubmitBatch(submission) => game.submit(submission)?,
        RollupOp::Challenge { batch } => game.open_challenge(*batch)?,
        RollupOp::Bisect { challenge, root } => game.bisect(*challenge, *root)?,
        RollupOp::Choose { challenge, agree } => game.choose(*challenge, *agree)?,
        RollupOp::ProveStep { challenge, proof } => game.prove(*challenge, proof)?,
        RollupOp::ProveAggregate { batch, proof } => game.prove_aggregate(*batch, proof)?,
        RollupOp::Timeout { challenge } => game.timeout(*challenge)?,
        RollupOp::Claim(claim) => game.claim(claim)?,
    }
    let Game {
        id,
        rollup,
        mut effects,
        ..
    } = game;
    effects.write(
        OptimisticKey::Rollup(id),
        OptimisticRecord::Rollup(Box::new(rollup)),
    );
    Ok(effects)
}

/// One operation in progress: the rollup record as it will be written, and
/// the effects so far.
struct Game<'a, S: StateReader + ?Sized> {
    state: &'a S,
    env: OpEnv<'a>,
    id: u64,
    rollup: Rollup,
    effects: Effects,
}

impl<S: StateReader + ?Sized> Game<'_, S> {
    fn write(&mut self, key: OptimisticKey, value: Option<OptimisticRecord>) {
        self.effects
            .writes
            .push((key.into(), value.map(Into::into)));
    }

    fn bond(&mut self, amount: Amount) -> Result<(), Failure> {
        if amount.is_zero() {
            return Err(Failure::ZeroAmount);
        }
        let mut bond = self
            .state
            .bond(self.id, self.env.sender)
            .unwrap_or(PosterBond {
                amount: Amount::ZERO,
                last_batch: None,
            });
        bond.amount = add(bond.amount, amount)?;
        self.effects.debit = amount;
        self.write(
            OptimisticKey::Bond(self.id, self.env.sender),
            Some(OptimisticRecord::Bond(bond)),
        );
        Ok(())
    }

    fn unbond(&mut self) -> Result<(), Failure> {
        let bond = self
            .state
            .bond(self.id, self.env.sender)
            .ok_or(OptimisticFailure::NoBond)?;
        // The poster's last batch must be final. If a revert took it away,
        // its earlier batches may still stand undecided: wait until every
        // standing batch is final.
        if let Some(last) = bond.last_batch
            && let Some(newest) = self.rollup.batch_count.checked_sub(1)
        {
            let index = last.min(newest);
            let batch = self
                .state
                .batch(self.id, index)
                .ok_or(OptimisticFailure::NoSuchBatch)?;
            if !self.rollup.is_final(index, batch.height, self.env.height) {
                return Err(OptimisticFailure::BondLocked.into());
            }
        }
        self.effects.credits.push((self.env.sender, bond.amount));
        self.write(OptimisticKey::Bond(self.id, self.env.sender), None);
        Ok(())
    }

    fn append_inbox(&mut self, message: &InboxMessage) -> Result<(), Failure> {
        let position = self.rollup.inbox_count;
        self.rollup.inbox_count = position.checked_add(1).ok_or(Failure::Overflow)?;
        self.write(
            OptimisticKey::Inbox(self.id, position),
            Some(OptimisticRecord::Inbox(InboxRecord {
                hash: message.hash(),
                height: self.env.height,
            })),
        );
        Ok(())
    }

    fn submit(&mut self, s: &BatchSubmission) -> Result<(), Failure> {
        let config = &self.rollup.config;
        let sender = self.env.sender;
        if s.index != self.rollup.batch_count {
            return Err(OptimisticFailure::WrongBatchIndex.into());
        }
        if s.prev_output_root != self.rollup.output_root {
            return Err(OptimisticFailure::BatchDoesNotContinue.into());
        }
        if s.data.len() as u64 > config.batch_bytes_max {
            return Err(OptimisticFailure::BatchTooLarge.into());
        }
        let hatch_open = self.env.height
            >= self
                .rollup
                .last_batch_height
                .saturating_add(config.sequencing_window_blocks);
        if sender != config.sequencer && !hatch_open {
            return Err(OptimisticFailure::NotSequencer.into());
        }
        let mut bond = self
            .state
            .bond(self.id, sender)
            .ok_or(OptimisticFailure::NoBond)?;
        if bond.amount < config.poster_bond {
            return Err(OptimisticFailure::BondTooLow.into());
        }
        let batch = Batch::decompress(&s.data).map_err(|_| OptimisticFailure::BadBatchData)?;
        let (steps, inbox_end) = batch
            .steps(self.rollup.inbox_consumed)
            .map_err(|_| OptimisticFailure::BadBatchData)?;
        if inbox_end != s.inbox_end || inbox_end > self.rollup.inbox_count {
            return Err(OptimisticFailure::InboxBeyondEnd.into());
        }
        if steps.len() as u64 != s.step_count {
            return Err(OptimisticFailure::StepCountMismatch.into());
        }
        // The oldest message left unconsumed must be inside the window.
        if inbox_end < self.rollup.inbox_count {
            let oldest = self
                .state
                .inbox(self.id, inbox_end)
                .ok_or(OptimisticFailure::InboxBeyondEnd)?;
            if self.env.height
                >= oldest
                    .height
                    .saturating_add(config.sequencing_window_blocks)
            {
                return Err(OptimisticFailure::InboxSkipped.into());
            }
        }
        let chunks = batch.chunks();
        let record = BatchRecord {
            id: self.env.tx_hash,
            poster: sender,
            prev_output_root: s.prev_output_root,
            output_root: s.output_root,
            data_commitment: data_commitment(&steps),
            step_count: s.step_count,
            aggregate_commitment: aggregate_commitment(&chunks),
            chunk_count: chunks.len() as u64,
            inbox_start: self.rollup.inbox_consumed,
            inbox_end,
            height: self.env.height,
        };
        bond.last_batch = Some(s.index);
        self.rollup.batch_count = s.index.checked_add(1).ok_or(Failure::Overflow)?;
        self.rollup.output_root = s.output_root;
        self.rollup.inbox_consumed = inbox_end;
        self.rollup.last_batch_height = self.env.height;
        self.write(
            OptimisticKey::Batch(self.id, s.index),
            Some(OptimisticRecord::Batch(Box::new(record))),
        );
        self.write(
            OptimisticKey::Bond(self.id, sender),
            Some(OptimisticRecord::Bond(bond)),
        );
        Ok(())
    }

    /// Standing batch `index`, if it may still be disputed.
    fn disputable_batch(&self, index: u64) -> Result<BatchRecord, Failure> {
        if index >= self.rollup.batch_count {
            return Err(OptimisticFailure::NoSuchBatch.into());
        }
        let batch = self
            .state
            .batch(self.id, index)
            .ok_or(OptimisticFailure::NoSuchBatch)?;
        if self.env.height >= self.rollup.window_end(batch.height) {
            return Err(OptimisticFailure::WindowClosed.into());
        }
        Ok(batch)
    }

    fn open_challenge(&mut self, index: u64) -> Result<(), Failure> {
        let batch = self.disputable_batch(index)?;
        let open = match self.rollup.disputed.binary_search_by_key(&index, |d| d.0) {
            Ok(i) => &mut self.rollup.disputed[i].1,
            Err(i) => {
                if self.rollup.disputed.len() >= DISPUTED_MAX {
                    return Err(OptimisticFailure::TooManyChallenges.into());
                }
                self.rollup.disputed.insert(i, (index, 0));
                &mut self.rollup.disputed[i].1
            }
        };
        *open = open
            .checked_add(1)
            .ok_or(OptimisticFailure::TooManyChallenges)?;
        let id = self.rollup.challenge_count;
        self.rollup.challenge_count = id.checked_add(1).ok_or(Failure::Overflow)?;
        let bond = self.rollup.config.challenge_bond;
        self.effects.debit = bond;
        let challenge = Challenge {
            batch: index,
            batch_id: batch.id,
            challenger: self.env.sender,
            defender: batch.poster,
            bond,
            lo: 0,
            lo_root: batch.prev_output_root,
            hi: batch.step_count,
            hi_root: batch.output_root,
            mid_root: None,
            deadline: self.deadline(),
        };
        self.write(
            OptimisticKey::Challenge(self.id, id),
            Some(OptimisticRecord::Challenge(Box::new(challenge))),
        );
        Ok(())
    }

    fn deadline(&self) -> u64 {
        self.env
            .height
            .saturating_add(self.rollup.config.move_deadline_blocks)
    }

    /// The open challenge `id` with its batch, if the batch still stands.
    fn live_challenge(&self, id: u64) -> Result<(Challenge, Option<BatchRecord>), Failure> {
        let challenge = self
            .state
            .challenge(self.id, id)
            .ok_or(OptimisticFailure::NoSuchChallenge)?;
        let batch = (challenge.batch < self.rollup.batch_count)
            .then(|| self.state.batch(self.id, challenge.batch))
            .flatten()
            .filter(|b| b.id == challenge.batch_id);
        Ok((challenge, batch))
    }

    /// A move of kind `turn` on challenge `id`: it must be the sender's
    /// turn and in time. Returns the challenge and its batch.
    fn start_move(&self, id: u64, turn: Turn) -> Result<(Challenge, BatchRecord), Failure> {
        let (challenge, batch) = self.live_challenge(id)?;
        let batch = batch.ok_or(OptimisticFailure::NoSuchBatch)?;
        if challenge.turn() != turn {
            return Err(OptimisticFailure::NotYourTurn.into());
        }
        let mover = match turn {
            Turn::Defender => Some(challenge.defender),
            Turn::Challenger => Some(challenge.challenger),
            Turn::OneStep => None,
        };
        if mover.is_some_and(|m| m != self.env.sender) {
            return Err(OptimisticFailure::NotYourTurn.into());
        }
        if self.env.height > challenge.deadline {
            return Err(OptimisticFailure::DeadlinePassed.into());
        }
        Ok((challenge, batch))
    }

    fn put_challenge(&mut self, id: u64, challenge: Challenge) {
        self.write(
            OptimisticKey::Challenge(self.id, id),
            Some(OptimisticRecord::Challenge(Box::new(challenge))),
        );
    }

    fn bisect(&mut self, id: u64, root: Hash) -> Result<(), Failure> {
        let (mut challenge, _) = self.start_move(id, Turn::Defender)?;
        challenge.mid_root = Some(root);
        challenge.deadline = self.deadline();
        self.put_challenge(id, challenge);
        Ok(())
    }

    fn choose(&mut self, id: u64, agree: bool) -> Result<(), Failure> {
        let (mut challenge, _) = self.start_move(id, Turn::Challenger)?;
        let (mid, root) = (challenge.mid(), challenge.mid_root.take());
        let root = root.ok_or(OptimisticFailure::NotYourTurn)?;
        if agree {
            (challenge.lo, challenge.lo_root) = (mid, root);
        } else {
            (challenge.hi, challenge.hi_root) = (mid, root);
        }
        challenge.deadline = self.deadline();
        self.put_challenge(id, challenge);
        Ok(())
    }

    fn prove(&mut self, id: u64, proof: &OneStepProof) -> Result<(), Failure> {
        let (challenge, batch) = self.start_move(id, Turn::OneStep)?;
        let disputed = DisputedStep {
            rollup: self.id,
            pre_root: challenge.lo_root,
            data_commitment: batch.data_commitment,
            step_count: batch.step_count,
            index: challenge.lo,
        };
        let post = proof
            .verify(&disputed, |position| {
                self.state.inbox(self.id, position).map(|r| r.hash)
            })
            .map_err(|_| OptimisticFailure::InvalidProof)?;
        let challenger_won = post != challenge.hi_root;
        self.settle(id, &challenge, challenger_won, &batch)
    }

    fn prove_aggregate(&mut self, index: u64, proof: &AggregateProof) -> Result<(), Failure> {
        let batch = self.disputable_batch(index)?;
        let disputed = DisputedChunk {
            rollup: self.id,
            pre_root: batch.prev_output_root,
            aggregate_commitment: batch.aggregate_commitment,
            chunk_count: batch.chunk_count,
        };
        match proof.verify(&disputed) {
            Ok(_fault) => {}
            Err(terrace_l2::AggregateProofError::AggregateValid) => {
                return Err(OptimisticFailure::AggregateValid.into());
            }
            Err(_) => return Err(OptimisticFailure::InvalidProof.into()),
        }
        let reward = self.slash_poster(batch.poster)?;
        self.effects.credits.push((self.env.sender, reward));
        self.revert_from(index, &batch);
        Ok(())
    }

    /// Takes `poster`'s whole bond: returns the winner's share and burns
    /// the rest.
    fn slash_poster(&mut self, poster: Address) -> Result<Amount, Failure> {
        let mut bond = self.state.bond(self.id, poster).unwrap_or(PosterBond {
            amount: Amount::ZERO,
            last_batch: None,
        });
        let slashed = bond.amount;
        bond.amount = Amount::ZERO;
        let reward = slashed
            .mul_div(WINNER_SHARE_BPS, 10_000)
            .ok_or(Failure::Overflow)?;
        self.effects.burned = add(self.effects.burned, sub(slashed, reward)?)?;
        self.write(
            OptimisticKey::Bond(self.id, poster),
            Some(OptimisticRecord::Bond(bond)),
        );
        Ok(reward)
    }

    /// Reverts batch `index` (whose record is `batch`) and every batch
    /// after it: the rollup returns to the root and inbox position before it.
    fn revert_from(&mut self, index: u64, batch: &BatchRecord) {
        self.rollup.batch_count = index;
        self.rollup.output_root = batch.prev_output_root;
        self.rollup.inbox_consumed = batch.inbox_start;
        self.rollup.last_batch_height = self.env.height;
        self.rollup.disputed.retain(|(b, _)| *b < index);
    }

    fn timeout(&mut self, id: u64) -> Result<(), Failure> {
        let (challenge, batch) = self.live_challenge(id)?;
        let Some(batch) = batch else {
            // Its batch was reverted by another challenge: nobody lost.
            self.write(OptimisticKey::Challenge(self.id, id), None);
            self.effects
                .credits
                .push((challenge.challenger, challenge.bond));
            return Ok(());
        };
        if self.env.height <= challenge.deadline {
            return Err(OptimisticFailure::DeadlineNotPassed.into());
        }
        let challenger_won = challenge.turn() == Turn::Defender;
        self.settle(id, &challenge, challenger_won, &batch)
    }

    /// Ends challenge `id`: pays the winner, slashes the loser, and on a
    /// challenger's win reverts the batch and every batch after it.
    fn settle(
        &mut self,
        id: u64,
        challenge: &Challenge,
        challenger_won: bool,
        batch: &BatchRecord,
    ) -> Result<(), Failure> {
        self.write(OptimisticKey::Challenge(self.id, id), None);
        let share = |a: Amount| a.mul_div(WINNER_SHARE_BPS, 10_000).ok_or(Failure::Overflow);
        if challenger_won {
            let reward = self.slash_poster(challenge.defender)?;
            self.effects
                .credits
                .push((challenge.challenger, add(challenge.bond, reward)?));
            self.revert_from(challenge.batch, batch);
        } else {
            let reward = share(challenge.bond)?;
            self.effects.burned = add(self.effects.burned, sub(challenge.bond, reward)?)?;
            self.effects.credits.push((challenge.defender, reward));
            if let Ok(i) = self
                .rollup
                .disputed
                .binary_search_by_key(&challenge.batch, |d| d.0)
            {
                self.rollup.disputed[i].1 = self.rollup.disputed[i].1.saturating_sub(1);
                if self.rollup.disputed[i].1 == 0 {
                    self.rollup.disputed.remove(i);
                }
            }
        }
        Ok(())
    }

    fn claim(&mut self, claim: &WithdrawalClaim) -> Result<(), Failure> {
        if claim.batch >= self.rollup.batch_count {
            return Err(OptimisticFailure::NoSuchBatch.into());
        }
        let batch = self
            .state
            .batch(self.id, claim.batch)
            .ok_or(OptimisticFailure::NoSuchBatch)?;
        if !self
            .rollup
            .is_final(claim.batch, batch.height, self.env.height)
        {
            return Err(OptimisticFailure::NotFinal.into());
        }
        if claim.state.output_root() != batch.output_root {
            return Err(OptimisticFailure::InvalidWithdrawalProof.into());
        }
        claim
            .state
            .verify_withdrawal(claim.index, &claim.withdrawal, &claim.proof)
            .map_err(|_| OptimisticFailure::InvalidWithdrawalProof)?;
        if self.state.claimed(self.id, claim.index) {
            return Err(OptimisticFailure::AlreadyClaimed.into());
        }
        let amount = claim.withdrawal.amount;
        self.rollup.escrow = sub(self.rollup.escrow, amount)?;
        self.effects
            .credits
            .push((claim.withdrawal.recipient, amount));
        self.write(
            OptimisticKey::Claim(self.id, claim.index),
            Some(OptimisticRecord::Claimed(self.env.height)),
        );
        Ok(())
    }
}

/// The keys an optimistic operation reads that its payload names.
pub(super) fn keys(op: &OptimisticOp, sender: Address) -> Vec<Key> {
    let OptimisticOp::Rollup { rollup: id, op } = op else {
        return vec![OptimisticKey::RollupCount.into()];
    };
    let id = *id;
    let mut keys = vec![OptimisticKey::Rollup(id)];
    match op {
        RollupOp::Bond { .. } | RollupOp::Unbond => keys.push(OptimisticKey::Bond(id, sender)),
        RollupOp::Deposit(_) | RollupOp::ForceInclude { .. } => {}
        RollupOp::SubmitBatch(s) => {
            keys.push(OptimisticKey::Bond(id, sender));
            keys.push(OptimisticKey::Inbox(id, s.inbox_end));
        }
        RollupOp::Challenge { batch } | RollupOp::ProveAggregate { batch, .. } => {
            keys.push(OptimisticKey::Batch(id, *batch))
        }
        RollupOp::Bisect { challenge, .. }
        | RollupOp::Choose { challenge, .. }
        | RollupOp::Timeout { challenge } => keys.push(OptimisticKey::Challenge(id, *challenge)),
        RollupOp::ProveStep { challenge, proof } => {
            keys.push(OptimisticKey::Challenge(id, *challenge));
            if let terrace_l2::Step::Inbox { position } = proof.step {
                keys.push(OptimisticKey::Inbox(id, position));
            }
        }
        RollupOp::Claim(c) => {
            keys.push(OptimisticKey::Batch(id, c.batch));
            keys.push(OptimisticKey::Claim(id, c.index));
            let mut keys: Vec<Key> = keys.into_iter().map(Key::from).collect();
            keys.push(Key::Account(c.withdrawal.recipient));
            return keys;
        }
    }
    keys.into_iter().map(Key::from).collect()
}
