//! The zk-rollup rules: what each operation does, as [`Effects`] over the
//! state before it (see the protocol in [`super`]).

use super::{
    DAC_NAMESPACE, UNIT, ValidityFailure as F, attestation_message,
    ops::{BatchData, MemberSignature, ValidityOp, ZkBatchSubmission, ZkClaim, ZkExit, ZkOp},
    records::{
        COMMITTEE_MAX, Committee, DataMode, Felt, InboxItem, SLOTS_MAX, VERIFIERS_MAX, ValidityKey,
        ValidityRecord, ZkBatch, ZkInbox, ZkRecords as _, ZkRollup, ZkRollupConfig, verifying_key,
    },
};
use crate::{
    Failure,
    module::{Effects, OpEnv},
    params::ChainParams,
    state::{Key, StateReader},
};
use terrace_primitives::{Address, Amount, keys};
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, Signature},
    fr_from_le, fr_to_le,
    groth16::{Proof, VerifyingKey},
    ops::{self as zkops, InboxEntry, MAX_DEPTH, PubOp, Statement, code},
    state::empty_root,
};

fn felt(bytes: &Felt) -> Result<Fr, Failure> {
    fr_from_le(bytes).ok_or_else(|| F::NonCanonical.into())
}

/// Checks a configuration can run: an even depth (the account tree is
/// quaternary) the public data can number, one to four batch sizes with
/// keys of the batch statement's inputs, and a committee (if any) of
/// distinct valid keys with a threshold it can reach.
pub fn validate_config(config: &ZkRollupConfig, params: &ChainParams) -> Result<(), Failure> {
    let mut sizes: Vec<u32> = config.verifiers.iter().map(|v| v.slots).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let ok = (2..=MAX_DEPTH).contains(&config.depth)
        && config.depth.is_multiple_of(2)
        && !config.verifiers.is_empty()
        && config.verifiers.len() <= VERIFIERS_MAX
        && sizes.len() == config.verifiers.len()
        && sizes.iter().all(|s| s.is_power_of_two() && *s <= SLOTS_MAX)
        && config
            .verifiers
            .iter()
            .all(|v| VerifyingKey::from_bytes(&v.key).is_ok_and(|k| k.inputs() == Statement::LEN))
        && config.batch_bytes_max >= 1
        && config.batch_bytes_max <= params.tx_bytes_max
        && config.exodus_after_blocks >= 1
        && config.inbox_deadline_blocks >= 1
        && match &config.data {
            DataMode::OnChain => true,
            DataMode::Committee(c) => committee_ok(c),
        };
    if ok {
        Ok(())
    } else {
        Err(F::InvalidConfig.into())
    }
}

fn committee_ok(c: &Committee) -> bool {
    let mut keys: Vec<&[u8]> = c.members.iter().map(|k| k.as_ref()).collect();
    keys.sort_unstable();
    keys.dedup();
    !c.members.is_empty()
        && c.members.len() <= COMMITTEE_MAX
        && keys.len() == c.members.len()
        && c.threshold >= 1
        && usize::from(c.threshold) <= c.members.len()
        && c.members.iter().all(|k| keys::check_public_key(k).is_ok())
}

/// Checks that at least the threshold of distinct members signed the
/// attestation of batch `index` with data commitment `commitment`.
fn check_attestations(
    committee: &Committee,
    domain: &Felt,
    index: u64,
    commitment: &Felt,
    signatures: &[MemberSignature],
) -> Result<(), Failure> {
    let message = attestation_message(domain, index, commitment);
    let mut signed = [false; COMMITTEE_MAX];
    for s in signatures {
        let member = usize::from(s.member);
        let key = committee.members.get(member).ok_or(F::UnknownMember)?;
        if std::mem::replace(&mut signed[member], true) {
            return Err(F::DuplicateSigner.into());
        }
        keys::verify(key, DAC_NAMESPACE, &message, &s.signature)
            .map_err(|_| F::InvalidAttestation)?;
    }
    if signatures.len() < usize::from(committee.threshold) {
        return Err(F::TooFewAttestations.into());
    }
    Ok(())
}

/// The keys an operation reads from its payload alone.
pub(super) fn keys(op: &ValidityOp) -> Vec<Key> {
    let ValidityOp::Rollup { rollup: id, op } = op else {
        return vec![ValidityKey::RollupCount.into()];
    };
    let id = *id;
    let mut keys: Vec<Key> = vec![ValidityKey::Rollup(id).into()];
    match op {
        ZkOp::Claim(c) => {
            keys.push(ValidityKey::Batch(id, c.batch).into());
            keys.push(ValidityKey::Claim(id, c.batch, c.slot).into());
        }
        ZkOp::Exit(e) => keys.push(ValidityKey::Exit(id, e.account).into()),
        ZkOp::Refund { position } => {
            keys.push(ValidityKey::Inbox(id, *position).into());
            keys.push(ValidityKey::Refund(id, *position).into());
        }
        _ => {}
    }
    keys
}

/// The inbox entries an operation reads, known once the rollup is read.
pub(super) fn keys_after<S: StateReader + ?Sized>(state: &S, op: &ValidityOp) -> Vec<Key> {
    let ValidityOp::Rollup { rollup: id, op } = op else {
        return Vec::new();
    };
    let Some(r) = state.zk_rollup(*id) else {
        return Vec::new();
    };
    let inbox = |p: u64| -> Key { ValidityKey::Inbox(*id, p).into() };
    match op {
        ZkOp::Deposit { .. } | ZkOp::ForcedExit { .. } => r
            .inbox_count
            .checked_sub(1)
            .map(inbox)
            .into_iter()
            .collect(),
        ZkOp::SubmitBatch(b) => [r.inbox_consumed.checked_sub(1), b.inbox_end.checked_sub(1)]
            .into_iter()
            .flatten()
            .map(inbox)
            .collect(),
        ZkOp::Freeze => vec![inbox(r.inbox_consumed)],
        _ => Vec::new(),
    }
}

/// Applies a validity-module operation.
pub(super) fn apply<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    op: &ValidityOp,
) -> Result<Effects, Failure> {
    match op {
        ValidityOp::Create(config) => create(state, env, config),
        ValidityOp::Rollup { rollup, op } => {
            let r = state.zk_rollup(*rollup).ok_or(F::UnknownRollup)?;
            let mut run = Run {
                state,
                env,
                id: *rollup,
                r,
                effects: Effects::default(),
            };
            match op {
                ZkOp::Deposit { key, amount } => run.deposit(key, *amount)?,
                ZkOp::ForcedExit {
                    account,
                    serial,
                    key,
                    to,
                    signature,
                } => run.forced_exit(*account, *serial, key, *to, signature)?,
                ZkOp::SubmitBatch(b) => run.submit(b)?,
                ZkOp::Claim(c) => run.claim(c)?,
                ZkOp::Freeze => run.freeze()?,
                ZkOp::Exit(e) => run.exit(e)?,
                ZkOp::Refund { position } => run.refund(*position)?,
            }
            let Run {
                id, r, mut effects, ..
            } = run;
            effects.write(ValidityKey::Rollup(id), ValidityRecord::Rollup(Box::new(r)));
            Ok(effects)
        }
    }
}

fn create<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    config: &ZkRollupConfig,
) -> Result<Effects, Failure> {
    validate_config(config, env.params)?;
    let id = state.zk_rollup_count();
    let next = id.checked_add(1).ok_or(Failure::Overflow)?;
    let rollup = ZkRollup {
        config: config.clone(),
        domain: fr_to_le(&zkops::domain(env.chain_id.0, id)),
        escrow: Amount::ZERO,
        root: fr_to_le(&empty_root(config.depth)),
        batch_count: 0,
        inbox_count: 0,
        inbox_consumed: 0,
        last_batch_height: env.height,
        frozen_at: None,
    };
    let mut effects = Effects::default();
    effects.write(ValidityKey::RollupCount, ValidityRecord::RollupCount(next));
    effects.write(
        ValidityKey::Rollup(id),
        ValidityRecord::Rollup(Box::new(rollup)),
    );
    Ok(effects)
}

/// L1 base units of `units` L2 units.
fn to_l1(units: u64) -> Amount {
    Amount(u128::from(units) * UNIT)
}

struct Run<'a, S: ?Sized> {
    state: &'a S,
    env: &'a OpEnv<'a>,
    id: u64,
    r: ZkRollup,
    effects: Effects,
}

impl<S: StateReader + ?Sized> Run<'_, S> {
    fn live(&self) -> Result<(), Failure> {
        match self.r.frozen_at {
            Some(_) => Err(F::Frozen.into()),
            None => Ok(()),
        }
    }

    fn domain(&self) -> Result<Fr, Failure> {
        felt(&self.r.domain)
    }

    /// The inbox chain after `position` entries.
    fn chain_at(&self, position: u64) -> Result<Fr, Failure> {
        match position.checked_sub(1) {
            None => Ok(Fr::from(0u64)),
            Some(p) => {
                let entry = self.state.zk_inbox(self.id, p).ok_or(F::InboxBeyondEnd)?;
                felt(&entry.chain)
            }
        }
    }

    fn append_inbox(&mut self, item: InboxItem, entry: InboxEntry) -> Result<(), Failure> {
        let chain = entry.chain(self.chain_at(self.r.inbox_count)?);
        self.effects.write(
            ValidityKey::Inbox(self.id, self.r.inbox_count),
            ValidityRecord::Inbox(ZkInbox {
                entry: item,
                chain: fr_to_le(&chain),
                height: self.env.height,
            }),
        );
        self.r.inbox_count = self.r.inbox_count.checked_add(1).ok_or(Failure::Overflow)?;
        Ok(())
    }

    fn account_in_range(&self, account: u32) -> Result<(), Failure> {
        if u64::from(account) >> self.r.config.depth == 0 {
            Ok(())
        } else {
            Err(F::AccountOutOfRange.into())
        }
    }

    fn pay(&mut self, to: Address, units: u64) -> Result<(), Failure> {
        if units == 0 {
            return Err(Failure::ZeroAmount);
        }
        let amount = to_l1(units);
        self.r.escrow = self.r.escrow.checked_sub(amount).ok_or(Failure::Overflow)?;
        self.effects.credit(to, amount);
        Ok(())
    }

    /// Debits `amount` plus the inbox fee, the fee to the operator.
    fn pay_inbox_fee(&mut self, amount: Amount) -> Result<(), Failure> {
        let fee = self.r.config.inbox_fee;
        self.effects.debit = amount.checked_add(fee).ok_or(Failure::Overflow)?;
        if !fee.is_zero() {
            self.effects.credit(self.r.config.operator, fee);
        }
        Ok(())
    }

    fn spend(&mut self, key: ValidityKey, already: F) -> Result<(), Failure> {
        if self.state.zk_spent(key.clone()) {
            return Err(already.into());
        }
        self.effects
            .write(key, ValidityRecord::Spent(self.env.height));
        Ok(())
    }

    fn deposit(&mut self, key: &[u8; 32], amount: Amount) -> Result<(), Failure> {
        self.live()?;
        if amount.is_zero() {
            return Err(Failure::ZeroAmount);
        }
        if !amount.0.is_multiple_of(UNIT) {
            return Err(F::NotInUnits.into());
        }
        let escrow = self.r.escrow.checked_add(amount).ok_or(Failure::Overflow)?;
        // Every L2 balance, and their sum, fits 64 bits of units.
        let units = u64::try_from(amount.0 / UNIT).map_err(|_| F::AmountTooLarge)?;
        if escrow.0 / UNIT > u128::from(u64::MAX) {
            return Err(F::AmountTooLarge.into());
        }
        let pk = PublicKey::unpack(key).map_err(|_| F::InvalidKey)?;
        self.pay_inbox_fee(amount)?;
        self.r.escrow = escrow;
        self.append_inbox(
            InboxItem::Deposit {
                key: *key,
                amount: units,
                depositor: self.env.sender,
            },
            InboxEntry::Deposit {
                key: pk,
                amount: units,
            },
        )
    }

    fn forced_exit(
        &mut self,
        account: u32,
        serial: u64,
        key: &[u8; 32],
        to: Address,
        signature: &[u8; 64],
    ) -> Result<(), Failure> {
        self.live()?;
        self.account_in_range(account)?;
        let pk = PublicKey::unpack(key).map_err(|_| F::InvalidKey)?;
        let sig = Signature::unpack(signature).map_err(|_| F::InvalidSignature)?;
        let message =
            zkops::exit_message(self.domain()?, code::FORCED_EXIT, account, serial, &to.0);
        pk.verify(message, &sig).map_err(|_| F::InvalidSignature)?;
        self.spend(ValidityKey::Forced(self.id, account, serial), F::SerialUsed)?;
        self.pay_inbox_fee(Amount::ZERO)?;
        self.append_inbox(
            InboxItem::ForcedExit {
                account,
                key: *key,
                to,
            },
            InboxEntry::ForcedExit {
                account,
                key: pk,
                to: to.0,
            },
        )
    }

    fn submit(&mut self, b: &ZkBatchSubmission) -> Result<(), Failure> {
        self.live()?;
        let config = &self.r.config;
        if self.env.sender != config.operator {
            return Err(F::NotOperator.into());
        }
        if b.index != self.r.batch_count {
            return Err(F::WrongBatchIndex.into());
        }
        let verifier = config.verifier(b.slots).ok_or(F::UnknownBatchSize)?;
        if b.inbox_end < self.r.inbox_consumed || b.inbox_end > self.r.inbox_count {
            return Err(F::InboxBeyondEnd.into());
        }
        let data_commitment = match (&config.data, &b.data) {
            (DataMode::OnChain, BatchData::Posted(data)) => {
                if data.len() as u64 > config.batch_bytes_max {
                    return Err(F::BatchTooLarge.into());
                }
                let ops = PubOp::decode_all(data, b.slots as usize, config.depth)
                    .map_err(|_| F::BadBatchData)?;
                let consumed = ops.iter().filter(|op| op.consumes_inbox()).count() as u64;
                if consumed != b.inbox_end - self.r.inbox_consumed {
                    return Err(F::InboxMismatch.into());
                }
                zkops::data_commitment(&ops, b.slots as usize)
            }
            // The proof binds the commitment and both inbox chains, so the
            // entries consumed are exactly those up to `inbox_end`.
            (
                DataMode::Committee(committee),
                BatchData::Attested {
                    commitment,
                    signatures,
                },
            ) => {
                let data = felt(commitment)?;
                check_attestations(committee, &self.r.domain, b.index, commitment, signatures)?;
                data
            }
            _ => return Err(F::WrongDataMode.into()),
        };
        let vk = verifying_key(verifier).ok_or(F::InvalidConfig)?;
        let statement = Statement {
            domain: self.domain()?,
            old_root: felt(&self.r.root)?,
            new_root: felt(&b.new_root)?,
            data: data_commitment,
            inbox_from: self.chain_at(self.r.inbox_consumed)?,
            inbox_to: self.chain_at(b.inbox_end)?,
            withdrawals: felt(&b.withdrawals_root)?,
        };
        let proof = Proof::from_bytes(&b.proof).map_err(|_| F::InvalidProof)?;
        vk.verify(&proof, &statement.inputs())
            .map_err(|_| F::InvalidProof)?;
        self.effects.write(
            ValidityKey::Batch(self.id, b.index),
            ValidityRecord::Batch(ZkBatch {
                root: b.new_root,
                withdrawals_root: b.withdrawals_root,
                data_commitment: fr_to_le(&data_commitment),
                slots: b.slots,
                inbox_end: b.inbox_end,
                height: self.env.height,
            }),
        );
        self.r.root = b.new_root;
        self.r.batch_count += 1;
        self.r.inbox_consumed = b.inbox_end;
        self.r.last_batch_height = self.env.height;
        Ok(())
    }

    fn claim(&mut self, c: &ZkClaim) -> Result<(), Failure> {
        let batch = self
            .state
            .zk_batch(self.id, c.batch)
            .ok_or(F::NoSuchBatch)?;
        let levels = batch.slots.trailing_zeros() as usize;
        if c.slot >= batch.slots || c.path.len() != levels {
            return Err(F::InvalidWithdrawalProof.into());
        }
        let path = c.path.iter().map(felt).collect::<Result<Vec<_>, _>>()?;
        let leaf = zkops::withdrawal_leaf(zkops::address_to_fr(&c.to.0), c.amount);
        if zkops::root_from_path(leaf, u64::from(c.slot), &path) != felt(&batch.withdrawals_root)? {
            return Err(F::InvalidWithdrawalProof.into());
        }
        self.spend(
            ValidityKey::Claim(self.id, c.batch, c.slot),
            F::AlreadyClaimed,
        )?;
        self.pay(c.to, c.amount)
    }

    fn freeze(&mut self) -> Result<(), Failure> {
        self.live()?;
        let height = self.env.height;
        let no_batch = height
            >= self
                .r
                .last_batch_height
                .saturating_add(self.r.config.exodus_after_blocks);
        let overdue = self.r.inbox_consumed < self.r.inbox_count
            && self
                .state
                .zk_inbox(self.id, self.r.inbox_consumed)
                .is_some_and(|e| {
                    height >= e.height.saturating_add(self.r.config.inbox_deadline_blocks)
                });
        if !no_batch && !overdue {
            return Err(F::NotStalled.into());
        }
        self.r.frozen_at = Some(height);
        Ok(())
    }

    fn exit(&mut self, e: &ZkExit) -> Result<(), Failure> {
        if self.r.frozen_at.is_none() {
            return Err(F::NotFrozen.into());
        }
        self.account_in_range(e.account)?;
        if e.path.len() != 3 * zkops::account_levels(self.r.config.depth) {
            return Err(F::InvalidExitProof.into());
        }
        let pk = PublicKey::unpack(&e.key).map_err(|_| F::InvalidKey)?;
        let path = e.path.iter().map(felt).collect::<Result<Vec<_>, _>>()?;
        let leaf = zkops::account_leaf(pk.x(), pk.y(), e.balance, e.nonce);
        if zkops::account_root_from_path(leaf, u64::from(e.account), &path)
            != Some(felt(&self.r.root)?)
        {
            return Err(F::InvalidExitProof.into());
        }
        let sig = Signature::unpack(&e.signature).map_err(|_| F::InvalidSignature)?;
        let message = zkops::exit_message(self.domain()?, code::EXODUS, e.account, 0, &e.to.0);
        pk.verify(message, &sig).map_err(|_| F::InvalidSignature)?;
        self.spend(ValidityKey::Exit(self.id, e.account), F::AlreadyExited)?;
        self.pay(e.to, e.balance)
    }

    fn refund(&mut self, position: u64) -> Result<(), Failure> {
        if self.r.frozen_at.is_none() {
            return Err(F::NotFrozen.into());
        }
        if position < self.r.inbox_consumed || position >= self.r.inbox_count {
            return Err(F::NotRefundable.into());
        }
        let entry = self
            .state
            .zk_inbox(self.id, position)
            .ok_or(F::NotRefundable)?;
        let InboxItem::Deposit {
            amount, depositor, ..
        } = entry.entry
        else {
            return Err(F::NotRefundable.into());
        };
        self.spend(ValidityKey::Refund(self.id, position), F::NotRefundable)?;
        self.pay(depositor, amount)
    }
}
