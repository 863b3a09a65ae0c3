//! Settlement of optimistic rollups on L1: the registry, the bridge escrow
//! and inbox, batches, interactive fraud proofs and withdrawals.
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

use crate::{
    execute::Failure,
    params::ChainParams,
    rollup::{
        BatchRecord, BatchSubmission, Challenge, InboxRecord, PosterBond, Rollup, RollupConfig,
        RollupOp, RollupRecords as _, Turn, WINNER_SHARE_BPS, WithdrawalClaim,
    },
    state::{Key, StateReader, Value},
};
use terrace_l2::{
    AggregateProof, Batch, DisputedChunk, DisputedStep, InboxMessage, OneStepProof,
    batch::{aggregate_commitment, data_commitment},
};
use terrace_primitives::{Address, Amount, Hash};

/// What a settlement operation does to the state, computed before anything
/// is written.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// Records written (`None` deletes).
    pub writes: Vec<(Key, Option<Value>)>,
    /// Taken from the sender's balance.
    pub debit: Amount,
    /// Paid to accounts.
    pub credits: Vec<(Address, Amount)>,
    /// Burned.
    pub burned: Amount,
}

/// The transaction around an operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpEnv<'a> {
    pub params: &'a ChainParams,
    pub height: u64,
    pub sender: Address,
    pub tx_hash: Hash,
}

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
        Err(Failure::InvalidConfig)
    }
}

/// Registers a rollup under the next id.
pub(crate) fn create(
    state: &(impl StateReader + ?Sized),
    env: OpEnv<'_>,
    config: &RollupConfig,
) -> Result<Effects, Failure> {
    validate_config(config, env.params)?;
    let id = match state.get(&Key::RollupCount) {
        Some(Value::RollupCount(n)) => n,
        _ => 0,
    };
    let next = id.checked_add(1).ok_or(Failure::Overflow)?;
    Ok(Effects {
        writes: vec![
            (Key::RollupCount, Some(Value::RollupCount(next))),
            (
                Key::Rollup(id),
                Some(Value::Rollup(Box::new(Rollup::new(
                    config.clone(),
                    env.height,
                )))),
            ),
        ],
        ..Effects::default()
    })
}

/// Applies an operation on rollup `id`.
pub(crate) fn apply(
    state: &(impl StateReader + ?Sized),
    env: OpEnv<'_>,
    id: u64,
    op: &RollupOp,
) -> Result<Effects, Failure> {
    let rollup = state.rollup(id).ok_or(Failure::UnknownRollup)?;
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
                .map_err(|_| Failure::InvalidRecipient)?;
            // A key without proof of possession could be a rogue key that
            // forges aggregates with honest keys.
            if let Some(r) = &deposit.bls {
                r.key
                    .verify_possession(&r.possession)
                    .map_err(|_| Failure::InvalidPossession)?;
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
    effects
        .writes
        .push((Key::Rollup(id), Some(Value::Rollup(Box::new(rollup)))));
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
    fn write(&mut self, key: Key, value: Option<Value>) {
        self.effects.writes.push((key, value));
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
            Key::RollupBond(self.id, self.env.sender),
            Some(Value::Bond(bond)),
        );
        Ok(())
    }

    fn unbond(&mut self) -> Result<(), Failure> {
        let bond = self
            .state
            .bond(self.id, self.env.sender)
            .ok_or(Failure::NoBond)?;
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
                .ok_or(Failure::NoSuchBatch)?;
            if !self.rollup.is_final(index, batch.height, self.env.height) {
                return Err(Failure::BondLocked);
            }
        }
        self.effects.credits.push((self.env.sender, bond.amount));
        self.write(Key::RollupBond(self.id, self.env.sender), None);
        Ok(())
    }

    fn append_inbox(&mut self, message: &InboxMessage) -> Result<(), Failure> {
        let position = self.rollup.inbox_count;
        self.rollup.inbox_count = position.checked_add(1).ok_or(Failure::Overflow)?;
        self.write(
            Key::RollupInbox(self.id, position),
            Some(Value::Inbox(InboxRecord {
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
            return Err(Failure::WrongBatchIndex);
        }
        if s.prev_output_root != self.rollup.output_root {
            return Err(Failure::BatchDoesNotContinue);
        }
        if s.data.len() as u64 > config.batch_bytes_max {
            return Err(Failure::BatchTooLarge);
        }
        let hatch_open = self.env.height
            >= self
                .rollup
                .last_batch_height
                .saturating_add(config.sequencing_window_blocks);
        if sender != config.sequencer && !hatch_open {
            return Err(Failure::NotSequencer);
        }
        let mut bond = self.state.bond(self.id, sender).ok_or(Failure::NoBond)?;
        if bond.amount < config.poster_bond {
            return Err(Failure::BondTooLow);
        }
        let batch = Batch::decompress(&s.data).map_err(|_| Failure::BadBatchData)?;
        let (steps, inbox_end) = batch
            .steps(self.rollup.inbox_consumed)
            .map_err(|_| Failure::BadBatchData)?;
        if inbox_end != s.inbox_end || inbox_end > self.rollup.inbox_count {
            return Err(Failure::InboxBeyondEnd);
        }
        if steps.len() as u64 != s.step_count {
            return Err(Failure::StepCountMismatch);
        }
        // The oldest message left unconsumed must be inside the window.
        if inbox_end < self.rollup.inbox_count {
            let oldest = self
                .state
                .inbox(self.id, inbox_end)
                .ok_or(Failure::InboxBeyondEnd)?;
            if self.env.height
                >= oldest
                    .height
                    .saturating_add(config.sequencing_window_blocks)
            {
                return Err(Failure::InboxSkipped);
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
            Key::RollupBatch(self.id, s.index),
            Some(Value::Batch(Box::new(record))),
        );
        self.write(Key::RollupBond(self.id, sender), Some(Value::Bond(bond)));
        Ok(())
    }

    /// Standing batch `index`, if it may still be disputed.
    fn disputable_batch(&self, index: u64) -> Result<BatchRecord, Failure> {
        if index >= self.rollup.batch_count {
            return Err(Failure::NoSuchBatch);
        }
        let batch = self
            .state
            .batch(self.id, index)
            .ok_or(Failure::NoSuchBatch)?;
        if self.env.height >= self.rollup.window_end(batch.height) {
            return Err(Failure::WindowClosed);
        }
        Ok(batch)
    }

    fn open_challenge(&mut self, index: u64) -> Result<(), Failure> {
        let batch = self.disputable_batch(index)?;
        let open = match self.rollup.disputed.binary_search_by_key(&index, |d| d.0) {
            Ok(i) => &mut self.rollup.disputed[i].1,
            Err(i) => {
                if self.rollup.disputed.len() >= crate::rollup::DISPUTED_MAX {
                    return Err(Failure::TooManyChallenges);
                }
                self.rollup.disputed.insert(i, (index, 0));
                &mut self.rollup.disputed[i].1
            }
        };
        *open = open.checked_add(1).ok_or(Failure::TooManyChallenges)?;
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
            Key::RollupChallenge(self.id, id),
            Some(Value::Challenge(Box::new(challenge))),
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
            .ok_or(Failure::NoSuchChallenge)?;
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
        let batch = batch.ok_or(Failure::NoSuchBatch)?;
        if challenge.turn() != turn {
            return Err(Failure::NotYourTurn);
        }
        let mover = match turn {
            Turn::Defender => Some(challenge.defender),
            Turn::Challenger => Some(challenge.challenger),
            Turn::OneStep => None,
        };
        if mover.is_some_and(|m| m != self.env.sender) {
            return Err(Failure::NotYourTurn);
        }
        if self.env.height > challenge.deadline {
            return Err(Failure::DeadlinePassed);
        }
        Ok((challenge, batch))
    }

    fn put_challenge(&mut self, id: u64, challenge: Challenge) {
        self.write(
            Key::RollupChallenge(self.id, id),
            Some(Value::Challenge(Box::new(challenge))),
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
        let root = root.ok_or(Failure::NotYourTurn)?;
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
            .map_err(|_| Failure::InvalidProof)?;
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
                return Err(Failure::AggregateValid);
            }
            Err(_) => return Err(Failure::InvalidProof),
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
        self.write(Key::RollupBond(self.id, poster), Some(Value::Bond(bond)));
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
            self.write(Key::RollupChallenge(self.id, id), None);
            self.effects
                .credits
                .push((challenge.challenger, challenge.bond));
            return Ok(());
        };
        if self.env.height <= challenge.deadline {
            return Err(Failure::DeadlineNotPassed);
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
        self.write(Key::RollupChallenge(self.id, id), None);
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
            return Err(Failure::NoSuchBatch);
        }
        let batch = self
            .state
            .batch(self.id, claim.batch)
            .ok_or(Failure::NoSuchBatch)?;
        if !self
            .rollup
            .is_final(claim.batch, batch.height, self.env.height)
        {
            return Err(Failure::NotFinal);
        }
        if claim.state.output_root() != batch.output_root {
            return Err(Failure::InvalidWithdrawalProof);
        }
        claim
            .state
            .verify_withdrawal(claim.index, &claim.withdrawal, &claim.proof)
            .map_err(|_| Failure::InvalidWithdrawalProof)?;
        let nullifier = Key::RollupClaim(self.id, claim.index);
        if self.state.get(&nullifier).is_some() {
            return Err(Failure::AlreadyClaimed);
        }
        let amount = claim.withdrawal.amount;
        self.rollup.escrow = sub(self.rollup.escrow, amount)?;
        self.effects
            .credits
            .push((claim.withdrawal.recipient, amount));
        self.write(nullifier, Some(Value::Claimed(self.env.height)));
        Ok(())
    }
}

/// The keys an operation on rollup `id` reads that its payload names.
pub(crate) fn op_keys(id: u64, op: &RollupOp, sender: Address) -> Vec<Key> {
    let mut keys = vec![Key::Rollup(id)];
    match op {
        RollupOp::Bond { .. } | RollupOp::Unbond => keys.push(Key::RollupBond(id, sender)),
        RollupOp::Deposit(_) | RollupOp::ForceInclude { .. } => {}
        RollupOp::SubmitBatch(s) => {
            keys.push(Key::RollupBond(id, sender));
            keys.push(Key::RollupInbox(id, s.inbox_end));
        }
        RollupOp::Challenge { batch } | RollupOp::ProveAggregate { batch, .. } => {
            keys.push(Key::RollupBatch(id, *batch))
        }
        RollupOp::Bisect { challenge, .. }
        | RollupOp::Choose { challenge, .. }
        | RollupOp::Timeout { challenge } => keys.push(Key::RollupChallenge(id, *challenge)),
        RollupOp::ProveStep { challenge, proof } => {
            keys.push(Key::RollupChallenge(id, *challenge));
            if let terrace_l2::Step::Inbox { position } = proof.step {
                keys.push(Key::RollupInbox(id, position));
            }
        }
        RollupOp::Claim(c) => {
            keys.push(Key::RollupBatch(id, c.batch));
            keys.push(Key::RollupClaim(id, c.index));
            keys.push(Key::Account(c.withdrawal.recipient));
        }
    }
    keys
}
