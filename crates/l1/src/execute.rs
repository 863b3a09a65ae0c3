//! Block execution in phases, after revm:
//!
//! 1. **stateless** ([`check_transactions`]): decode, size, chain id, gas
//!    bounds, key and signature — in parallel, signatures in one batch;
//! 2. **stateful** ([`BlockExecutor::apply`]): block gas and bytes left,
//!    nonce, fee cap ≥ base fee, balance ≥ gas limit × max fee + value;
//! 3. **apply**: charge `gas_used × effective price` (base fee burned, tip
//!    kept for the proposer), bump the nonce, run the payload;
//! 4. **receipt**: status, gas used, price.
//!
//! A transaction that fails a check is refused and changes nothing; a
//! proposer never includes one, so a block containing one is invalid. A
//! payload that fails *after* the checks (unstaking more than is bonded,
//! evidence that does not verify) is included as `Failed` and still pays
//! its fee, so failing work is never free.
//!
//! At the end of the block ([`BlockExecutor::finish`]) unbonding entries
//! due at this height are released, the proposer receives the tips and the
//! block reward, totals are updated and the next base fee is computed.

use crate::{
    error::{BlockError, TxError},
    fee::{effective_gas_price, next_base_fee},
    params::ChainParams,
    settlement,
    staking::EvidenceVerifier,
    state::{Account, Key, Overlay, StateReader, Totals, UnbondingEntry, Validator, Value, Writes},
    tx::{
        CheckedTransaction, Payload, SignedTransaction, check_fields_encoded, check_signatures,
        check_signatures_beside,
    },
};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_merkle::{MerkleHasher as _, MerkleTree, Sha256Hasher};
use terrace_primitives::{
    Address, Amount, ChainId, Hash, hash_tagged,
    keys::KeyCache,
    par::{Threads, map_chunks},
};

/// What a block's execution needs to know besides the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockEnv {
    /// The chain.
    pub chain_id: ChainId,
    /// This block's height.
    pub height: u64,
    /// Receives tips and the block reward.
    pub proposer: Address,
    /// This block's base fee (from the header; see [`crate::fee`]).
    pub base_fee: u64,
}

/// Why an included transaction's payload had no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Failure {
    /// Unstake of more than is bonded.
    InsufficientStake = 1,
    /// The sender or target is not a validator.
    NotAValidator = 2,
    /// A jailed validator cannot stake.
    Jailed = 3,
    /// Too many unbonding entries pending.
    TooManyUnbonding = 4,
    /// Slash evidence does not verify.
    InvalidEvidence = 5,
    /// The offense was already punished.
    AlreadySlashed = 6,
    /// Staking or unstaking zero.
    ZeroAmount = 7,
    /// The evidence is from an epoch before the previous one (or a future
    /// one): its committee is no longer kept.
    EvidenceExpired = 8,
    /// No rollup has this id.
    UnknownRollup = 9,
    /// The rollup configuration cannot run (a zero window, deadline or bond, or batches over the transaction size limit).
    InvalidConfig = 10,
    /// The balance left after fees does not cover the bond.
    InsufficientFunds = 11,
    /// The sender has no poster bond for this rollup.
    NoBond = 12,
    /// The sender's poster bond is below the rollup's `poster_bond`.
    BondTooLow = 13,
    /// The poster's last batch is not final yet, so its bond stays.
    BondLocked = 14,
    /// Only the sequencer may post until no batch has been posted for the sequencing window.
    NotSequencer = 15,
    /// The batch index is not the rollup's next one.
    WrongBatchIndex = 16,
    /// The batch's previous output root is not the rollup's current one.
    BatchDoesNotContinue = 17,
    /// The batch data is over the rollup's `batch_bytes_max`.
    BatchTooLarge = 18,
    /// The batch data does not decompress or decode, has no steps, or consumes the inbox backwards.
    BadBatchData = 19,
    /// The batch consumes the inbox past its end, or not up to the position it declares.
    InboxBeyondEnd = 20,
    /// The batch leaves an inbox message older than the sequencing window unconsumed.
    InboxSkipped = 21,
    /// The batch has another number of steps than it declares.
    StepCountMismatch = 22,
    /// No accepted batch has this index (never posted, or reverted).
    NoSuchBatch = 23,
    /// The batch's challenge window is over.
    WindowClosed = 24,
    /// The rollup tracks too many disputed batches already.
    TooManyChallenges = 25,
    /// No open challenge has this id.
    NoSuchChallenge = 26,
    /// It is not the sender's move in this challenge (or not this kind of move).
    NotYourTurn = 27,
    /// The move came after its deadline.
    DeadlinePassed = 28,
    /// A timeout was called before the deadline.
    DeadlineNotPassed = 29,
    /// The one-step proof does not verify against the agreed root, the batch data or the inbox.
    InvalidProof = 30,
    /// The batch is not final yet: its challenge window is running or a challenge is open.
    NotFinal = 31,
    /// The withdrawal is not in the batch's output root.
    InvalidWithdrawalProof = 32,
    /// The withdrawal was claimed already.
    AlreadyClaimed = 33,
    /// The deposit's recipient key could never sign (small order or non-canonical).
    InvalidRecipient = 34,
    /// An amount would overflow.
    Overflow = 35,
    /// A deposit's BLS key came with a proof of possession that does not verify.
    InvalidPossession = 36,
    /// The aggregate the proof disputes is valid: there is no fraud.
    AggregateValid = 37,
}

impl Failure {
    /// The failure's name in receipts and RPC answers (snake case).
    pub fn name(self) -> &'static str {
        match self {
            Failure::InsufficientStake => "insufficient_stake",
            Failure::NotAValidator => "not_a_validator",
            Failure::Jailed => "jailed",
            Failure::TooManyUnbonding => "too_many_unbonding",
            Failure::InvalidEvidence => "invalid_evidence",
            Failure::AlreadySlashed => "already_slashed",
            Failure::ZeroAmount => "zero_amount",
            Failure::EvidenceExpired => "evidence_expired",
            Failure::UnknownRollup => "unknown_rollup",
            Failure::InvalidConfig => "invalid_config",
            Failure::InsufficientFunds => "insufficient_funds",
            Failure::NoBond => "no_bond",
            Failure::BondTooLow => "bond_too_low",
            Failure::BondLocked => "bond_locked",
            Failure::NotSequencer => "not_sequencer",
            Failure::WrongBatchIndex => "wrong_batch_index",
            Failure::BatchDoesNotContinue => "batch_does_not_continue",
            Failure::BatchTooLarge => "batch_too_large",
            Failure::BadBatchData => "bad_batch_data",
            Failure::InboxBeyondEnd => "inbox_beyond_end",
            Failure::InboxSkipped => "inbox_skipped",
            Failure::StepCountMismatch => "step_count_mismatch",
            Failure::NoSuchBatch => "no_such_batch",
            Failure::WindowClosed => "window_closed",
            Failure::TooManyChallenges => "too_many_challenges",
            Failure::NoSuchChallenge => "no_such_challenge",
            Failure::NotYourTurn => "not_your_turn",
            Failure::DeadlinePassed => "deadline_passed",
            Failure::DeadlineNotPassed => "deadline_not_passed",
            Failure::InvalidProof => "invalid_proof",
            Failure::NotFinal => "not_final",
            Failure::InvalidWithdrawalProof => "invalid_withdrawal_proof",
            Failure::AlreadyClaimed => "already_claimed",
            Failure::InvalidRecipient => "invalid_recipient",
            Failure::Overflow => "overflow",
            Failure::InvalidPossession => "invalid_possession",
            Failure::AggregateValid => "aggregate_valid",
        }
    }

    fn from_u8(v: u8) -> Option<Self> {
        use Failure::*;
        [
            InsufficientStake,
            NotAValidator,
            Jailed,
            TooManyUnbonding,
            InvalidEvidence,
            AlreadySlashed,
            ZeroAmount,
            EvidenceExpired,
            UnknownRollup,
            InvalidConfig,
            InsufficientFunds,
            NoBond,
            BondTooLow,
            BondLocked,
            NotSequencer,
            WrongBatchIndex,
            BatchDoesNotContinue,
            BatchTooLarge,
            BadBatchData,
            InboxBeyondEnd,
            InboxSkipped,
            StepCountMismatch,
            NoSuchBatch,
            WindowClosed,
            TooManyChallenges,
            NoSuchChallenge,
            NotYourTurn,
            DeadlinePassed,
            DeadlineNotPassed,
            InvalidProof,
            NotFinal,
            InvalidWithdrawalProof,
            AlreadyClaimed,
            InvalidRecipient,
            Overflow,
            InvalidPossession,
            AggregateValid,
        ]
        .into_iter()
        .find(|f| *f as u8 == v)
    }
}

/// The outcome of an included transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The transaction.
    pub tx_hash: Hash,
    /// `None` on success.
    pub failure: Option<Failure>,
    /// Gas charged.
    pub gas_used: u64,
    /// Price per gas paid (base fee + tip).
    pub effective_gas_price: u64,
}

impl Receipt {
    /// True when the payload took effect.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }
}

/// What executing a block produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutput {
    /// Writes to apply to the state, in key order.
    pub writes: Writes,
    /// One per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Merkle root of the transaction ids.
    pub tx_root: Hash,
    /// Merkle root of the encoded receipts.
    pub receipts_root: Hash,
    /// Gas used by all transactions.
    pub gas_used: u64,
    /// Bytes of transactions.
    pub bytes_used: u64,
    /// Burned in this block (base fees and slashes).
    pub burned: Amount,
    /// Tips paid to the proposer.
    pub tips: Amount,
    /// The next block's base fee.
    pub next_base_fee: u64,
}

/// Stateless checks for a block's encoded transactions, in parallel on
/// `threads`: decoding (senders' keys through `keys`) and field checks per
/// transaction, then all signatures in one batch.
pub fn check_transactions(
    raw: &[Bytes],
    chain_id: ChainId,
    params: &ChainParams,
    keys: &KeyCache,
    threads: Threads,
) -> Result<Vec<CheckedTransaction>, BlockError> {
    let checked = check_transaction_fields(raw, chain_id, params, keys, threads)?;
    check_signatures(&checked, threads)
        .map_err(|(index, error)| BlockError::Transaction { index, error })?;
    Ok(checked)
}

/// Decoding and field checks for a block's transactions, in parallel on
/// `threads`; signatures are left to [`check_signatures`] or
/// [`verify_and_execute`].
pub fn check_transaction_fields(
    raw: &[Bytes],
    chain_id: ChainId,
    params: &ChainParams,
    keys: &KeyCache,
    threads: Threads,
) -> Result<Vec<CheckedTransaction>, BlockError> {
    let checked: Vec<Result<Vec<CheckedTransaction>, BlockError>> =
        map_chunks(raw, threads, 256, |offset, chunk| {
            chunk
                .iter()
                .enumerate()
                .map(|(i, bytes)| {
                    SignedTransaction::decode_cached(bytes, params, keys)
                        .and_then(|signed| {
                            check_fields_encoded(signed, bytes.clone(), chain_id, params)
                        })
                        .map_err(|error| BlockError::Transaction {
                            index: offset + i,
                            error,
                        })
                })
                .collect()
        });
    let mut out = Vec::with_capacity(raw.len());
    for part in checked {
        out.extend(part?);
    }
    Ok(out)
}

/// Replays a block of field-checked transactions while their signatures
/// are verified on `threads`, so the sequential execution
/// overlaps the parallel verification. The output is used only if every
/// signature verifies; a bad signature is reported before any execution
/// error. Same result as [`check_signatures`] then [`execute_block`].
pub fn verify_and_execute<S: StateReader + ?Sized, E: EvidenceVerifier>(
    txs: &[CheckedTransaction],
    state: &S,
    params: &ChainParams,
    env: BlockEnv,
    evidence: &E,
    threads: Threads,
) -> Result<BlockOutput, BlockError> {
    let (output, signatures) = check_signatures_beside(txs, threads, || {
        execute_block(state, params, env, evidence, txs)
    });
    match signatures {
        Ok(()) => output,
        Err((index, error)) => Err(BlockError::Transaction { index, error }),
    }
}

/// The state keys a transaction touches at `height`: what a node prefetches
/// before executing it, and what decides which transactions may run in
/// parallel. Slash targets come from the evidence.
pub fn touched_keys(
    tx: &CheckedTransaction,
    height: u64,
    params: &ChainParams,
    evidence: &impl EvidenceVerifier,
) -> Vec<Key> {
    let mut keys = tx.base_keys(height, params);
    if let Payload::Slash { evidence: bytes } = &tx.tx().payload
        && let Ok(epoch) = evidence.epoch(bytes)
    {
        // The offender is known only once the committee is read: a node
        // fetches its keys in a second step.
        keys.push(Key::Committee(epoch));
    }
    keys
}

/// The keys a slash touches beyond [`touched_keys`], once the committee of
/// the evidence's epoch is readable.
pub fn slash_keys(
    tx: &CheckedTransaction,
    state: &(impl StateReader + ?Sized),
    evidence: &impl EvidenceVerifier,
) -> Vec<Key> {
    let Payload::Slash { evidence: bytes } = &tx.tx().payload else {
        return Vec::new();
    };
    let offense = evidence
        .epoch(bytes)
        .ok()
        .and_then(|epoch| state.committee(epoch))
        .and_then(|committee| evidence.verify(bytes, &committee).ok());
    match offense {
        Some(o) => vec![Key::Validator(o.offender), Key::Slashed(o.id)],
        None => Vec::new(),
    }
}

/// The keys every block touches regardless of its transactions; the last
/// block of an epoch also reads the validator index and the committees.
pub fn block_keys(env: &BlockEnv, params: &ChainParams) -> Vec<Key> {
    let mut keys = vec![
        Key::Account(env.proposer),
        Key::Totals,
        Key::Unbonding(env.height),
    ];
    if params.is_epoch_end(env.height) {
        let epoch = params.epoch_of(env.height);
        keys.push(Key::Validators);
        keys.push(Key::Committee(epoch));
        keys.push(Key::Committee(epoch.saturating_add(1)));
        if let Some(previous) = epoch.checked_sub(1) {
            keys.push(Key::Committee(previous));
        }
    }
    keys
}

/// The keys the end of block `env.height` touches that are known only once
/// [`block_keys`] are read: the validators whose unbonding entries mature
/// (listed under [`Key::Unbonding`]) and, at an epoch's end, every
/// validator the next committee is chosen from. A node prefetches them in a
/// second step.
pub fn release_keys(
    state: &(impl StateReader + ?Sized),
    env: &BlockEnv,
    params: &ChainParams,
) -> Vec<Key> {
    let mut keys: Vec<Key> = match state.get(&Key::Unbonding(env.height)) {
        Some(Value::Unbonding(queue)) => queue
            .iter()
            .flat_map(|a| [Key::Validator(*a), Key::Account(*a)])
            .collect(),
        _ => Vec::new(),
    };
    if params.is_epoch_end(env.height) {
        keys.extend(state.validators().into_iter().map(Key::Validator));
    }
    keys
}

/// Executes one block's transactions one at a time over an overlay.
///
/// The proposer uses [`BlockExecutor::apply`] to try mempool transactions
/// (a refused one changes nothing, so it just moves on); a validator
/// replays a proposed block with [`execute_block`].
#[derive(Debug)]
pub struct BlockExecutor<'a, S: StateReader + ?Sized, E: EvidenceVerifier> {
    overlay: Overlay<'a, S>,
    params: &'a ChainParams,
    env: BlockEnv,
    evidence: &'a E,
    gas_used: u64,
    bytes_used: u64,
    burned: Amount,
    tips: Amount,
    receipts: Vec<Receipt>,
    tx_hashes: Vec<Hash>,
}

impl<'a, S: StateReader + ?Sized, E: EvidenceVerifier> BlockExecutor<'a, S, E> {
    /// Starts a block on top of `state`.
    pub fn new(state: &'a S, params: &'a ChainParams, env: BlockEnv, evidence: &'a E) -> Self {
        Self {
            overlay: Overlay::new(state),
            params,
            env,
            evidence,
            gas_used: 0,
            bytes_used: 0,
            burned: Amount::ZERO,
            tips: Amount::ZERO,
            receipts: Vec::new(),
            tx_hashes: Vec::new(),
        }
    }

    /// The state as of the transactions applied so far.
    pub fn state(&self) -> &Overlay<'a, S> {
        &self.overlay
    }

    /// Gas used so far.
    pub fn gas_used(&self) -> u64 {
        self.gas_used
    }

    /// Bytes used so far.
    pub fn bytes_used(&self) -> u64 {
        self.bytes_used
    }

    /// Applies a stateless-checked transaction, or refuses it and changes nothing.
    pub fn apply(&mut self, tx: &CheckedTransaction) -> Result<&Receipt, TxError> {
        let body = tx.tx();
        let params = self.params;
        // Block limits.
        let gas_left = params.block_gas_limit - self.gas_used;
        if body.gas_limit > gas_left {
            return Err(TxError::BlockGasExhausted {
                used: self.gas_used,
                limit: params.block_gas_limit,
                needed: body.gas_limit,
            });
        }
        let len = tx.len() as u64;
        if self.bytes_used + len > params.block_bytes_max {
            return Err(TxError::BlockBytesExhausted {
                used: self.bytes_used,
                limit: params.block_bytes_max,
                needed: len,
            });
        }
        // Stateful checks.
        let mut sender = self.overlay.account(&tx.sender);
        if body.nonce < sender.nonce {
            return Err(TxError::NonceTooLow {
                expected: sender.nonce,
                got: body.nonce,
            });
        }
        if body.nonce > sender.nonce {
            return Err(TxError::NonceTooHigh {
                expected: sender.nonce,
                got: body.nonce,
            });
        }
        let base_fee = self.env.base_fee;
        let price = effective_gas_price(
            body.max_fee_per_gas,
            body.max_priority_fee_per_gas,
            base_fee,
        )
        .ok_or(TxError::FeeCapBelowBaseFee {
            fee_cap: body.max_fee_per_gas,
            base_fee,
        })?;
        let value = body.payload.value();
        let needed = Amount::from(body.gas_limit)
            .checked_mul(body.max_fee_per_gas as u128)
            .and_then(|a| a.checked_add(value))
            .ok_or(TxError::Overflow)?;
        if sender.balance < needed {
            return Err(TxError::InsufficientBalance {
                sender: tx.sender,
                balance: sender.balance,
                needed,
            });
        }
        // Apply: compute everything, then write. Nothing below can fail
        // except on overflow, which is checked before the first write.
        let gas_used = tx.intrinsic_gas;
        let fee = Amount::from(gas_used)
            .checked_mul(price as u128)
            .ok_or(TxError::Overflow)?;
        let burn = Amount::from(gas_used)
            .checked_mul(base_fee as u128)
            .ok_or(TxError::Overflow)?;
        let tip = fee.checked_sub(burn).ok_or(TxError::Overflow)?;
        let tips = self.tips.checked_add(tip).ok_or(TxError::Overflow)?;
        let mut burned = self.burned.checked_add(burn).ok_or(TxError::Overflow)?;
        // needed ≥ fee + value, so these cannot underflow.
        sender.balance = sender.balance.checked_sub(fee).ok_or(TxError::Overflow)?;
        sender.nonce += 1;
        let mut writes: Vec<(Key, Option<Value>)> = Vec::with_capacity(3);
        let failure = match &body.payload {
            Payload::Transfer { to, amount } => {
                sender.balance = sender
                    .balance
                    .checked_sub(*amount)
                    .ok_or(TxError::Overflow)?;
                if *to == tx.sender {
                    sender.balance = sender
                        .balance
                        .checked_add(*amount)
                        .ok_or(TxError::Overflow)?;
                } else {
                    let mut recipient = self.overlay.account(to);
                    recipient.balance = recipient
                        .balance
                        .checked_add(*amount)
                        .ok_or(TxError::Overflow)?;
                    writes.push((Key::Account(*to), Some(Value::Account(recipient))));
                }
                None
            }
            Payload::Stake { amount } => self.stake(tx, &mut sender, *amount, &mut writes)?,
            Payload::Unstake { amount } => self.unstake(tx, *amount, &mut writes)?,
            Payload::Slash { evidence } => {
                self.slash(evidence, &mut sender, &mut burned, &mut writes)?
            }
            Payload::CreateRollup(config) => {
                let effects = settlement::create(&self.overlay, self.op_env(tx), config);
                self.settle(tx, effects, &mut sender, &mut burned, &mut writes)?
            }
            Payload::Rollup { rollup, op } => {
                let effects = settlement::apply(&self.overlay, self.op_env(tx), *rollup, op);
                self.settle(tx, effects, &mut sender, &mut burned, &mut writes)?
            }
        };
        writes.push((Key::Account(tx.sender), Some(Value::Account(sender))));
        for (k, v) in writes {
            self.overlay.put(k, v);
        }
        self.gas_used += gas_used;
        self.bytes_used += len;
        self.tips = tips;
        self.burned = burned;
        self.tx_hashes.push(tx.hash);
        self.receipts.push(Receipt {
            tx_hash: tx.hash,
            failure,
            gas_used,
            effective_gas_price: price,
        });
        Ok(self
            .receipts
            .last()
            .unwrap_or_else(|| unreachable!("just pushed")))
    }

    fn op_env(&self, tx: &CheckedTransaction) -> settlement::OpEnv<'a> {
        settlement::OpEnv {
            params: self.params,
            height: self.env.height,
            sender: tx.sender,
            tx_hash: tx.hash,
        }
    }

    /// Applies a settlement operation's effects to the sender and the
    /// writes, or reports why it was refused (changing nothing).
    fn settle(
        &self,
        tx: &CheckedTransaction,
        effects: Result<settlement::Effects, Failure>,
        sender: &mut Account,
        burned: &mut Amount,
        writes: &mut Vec<(Key, Option<Value>)>,
    ) -> Result<Option<Failure>, TxError> {
        let effects = match effects {
            Ok(e) => e,
            Err(failure) => return Ok(Some(failure)),
        };
        let Some(mut balance) = sender.balance.checked_sub(effects.debit) else {
            return Ok(Some(Failure::InsufficientFunds));
        };
        let mut credited: Vec<(Address, Account)> = Vec::new();
        for (to, amount) in effects.credits {
            if to == tx.sender {
                balance = balance.checked_add(amount).ok_or(TxError::Overflow)?;
                continue;
            }
            let i = match credited.iter().position(|(a, _)| *a == to) {
                Some(i) => i,
                None => {
                    credited.push((to, self.overlay.account(&to)));
                    credited.len() - 1
                }
            };
            let account = &mut credited[i].1;
            account.balance = account
                .balance
                .checked_add(amount)
                .ok_or(TxError::Overflow)?;
        }
        *burned = burned
            .checked_add(effects.burned)
            .ok_or(TxError::Overflow)?;
        sender.balance = balance;
        writes.extend(effects.writes);
        writes.extend(
            credited
                .into_iter()
                .map(|(a, account)| (Key::Account(a), Some(Value::Account(account)))),
        );
        Ok(None)
    }

    fn stake(
        &self,
        tx: &CheckedTransaction,
        sender: &mut Account,
        amount: Amount,
        writes: &mut Vec<(Key, Option<Value>)>,
    ) -> Result<Option<Failure>, TxError> {
        if amount.is_zero() {
            return Ok(Some(Failure::ZeroAmount));
        }
        let existing = self.overlay.validator(&tx.sender);
        if existing.is_none() {
            let mut index = self.overlay.validators();
            if let Err(pos) = index.binary_search(&tx.sender) {
                index.insert(pos, tx.sender);
            }
            writes.push((Key::Validators, Some(Value::Validators(index))));
        }
        let mut validator = existing.unwrap_or(Validator {
            public_key: tx.signed.public_key.clone(),
            stake: Amount::ZERO,
            unbonding: Vec::new(),
            jailed: false,
        });
        if validator.jailed {
            return Ok(Some(Failure::Jailed));
        }
        validator.stake = validator
            .stake
            .checked_add(amount)
            .ok_or(TxError::Overflow)?;
        sender.balance = sender
            .balance
            .checked_sub(amount)
            .ok_or(TxError::Overflow)?;
        writes.push((
            Key::Validator(tx.sender),
            Some(Value::Validator(Box::new(validator))),
        ));
        Ok(None)
    }

    fn unstake(
        &self,
        tx: &CheckedTransaction,
        amount: Amount,
        writes: &mut Vec<(Key, Option<Value>)>,
    ) -> Result<Option<Failure>, TxError> {
        if amount.is_zero() {
            return Ok(Some(Failure::ZeroAmount));
        }
        let Some(mut validator) = self.overlay.validator(&tx.sender) else {
            return Ok(Some(Failure::NotAValidator));
        };
        let Some(stake) = validator.stake.checked_sub(amount) else {
            return Ok(Some(Failure::InsufficientStake));
        };
        if validator.unbonding.len() >= self.params.unbonding_entries_max as usize {
            return Ok(Some(Failure::TooManyUnbonding));
        }
        let release_height = self
            .env
            .height
            .saturating_add(self.params.unbonding_delay_blocks);
        validator.stake = stake;
        validator.unbonding.push(UnbondingEntry {
            release_height,
            amount,
        });
        let mut queue = match self.overlay.get(&Key::Unbonding(release_height)) {
            Some(Value::Unbonding(q)) => q,
            _ => Vec::new(),
        };
        if let Err(pos) = queue.binary_search(&tx.sender) {
            queue.insert(pos, tx.sender);
        }
        writes.push((
            Key::Validator(tx.sender),
            Some(Value::Validator(Box::new(validator))),
        ));
        writes.push((
            Key::Unbonding(release_height),
            Some(Value::Unbonding(queue)),
        ));
        Ok(None)
    }

    fn slash(
        &self,
        evidence: &Bytes,
        reporter: &mut Account,
        burned: &mut Amount,
        writes: &mut Vec<(Key, Option<Value>)>,
    ) -> Result<Option<Failure>, TxError> {
        let Ok(epoch) = self.evidence.epoch(evidence) else {
            return Ok(Some(Failure::InvalidEvidence));
        };
        // Accepted during the offense's epoch and the next one.
        let current = self.params.epoch_of(self.env.height);
        if epoch > current || epoch.saturating_add(1) < current {
            return Ok(Some(Failure::EvidenceExpired));
        }
        let Some(committee) = self.overlay.committee(epoch) else {
            return Ok(Some(Failure::EvidenceExpired));
        };
        let Ok(offense) = self.evidence.verify(evidence, &committee) else {
            return Ok(Some(Failure::InvalidEvidence));
        };
        if self.overlay.get(&Key::Slashed(offense.id)).is_some() {
            return Ok(Some(Failure::AlreadySlashed));
        }
        let Some(mut validator) = self.overlay.validator(&offense.offender) else {
            return Ok(Some(Failure::NotAValidator));
        };
        let bps = self.params.slash_fraction_bps as u64;
        let cut = |a: Amount| a.mul_div(bps, 10_000).ok_or(TxError::Overflow);
        let mut slashed = cut(validator.stake)?;
        validator.stake = validator
            .stake
            .checked_sub(slashed)
            .ok_or(TxError::Overflow)?;
        for entry in &mut validator.unbonding {
            let c = cut(entry.amount)?;
            entry.amount = entry.amount.checked_sub(c).ok_or(TxError::Overflow)?;
            slashed = slashed.checked_add(c).ok_or(TxError::Overflow)?;
        }
        validator.jailed = true;
        let reward = slashed
            .mul_div(self.params.slash_reporter_reward_bps as u64, 10_000)
            .ok_or(TxError::Overflow)?;
        let burn = slashed.checked_sub(reward).ok_or(TxError::Overflow)?;
        reporter.balance = reporter
            .balance
            .checked_add(reward)
            .ok_or(TxError::Overflow)?;
        *burned = burned.checked_add(burn).ok_or(TxError::Overflow)?;
        writes.push((
            Key::Validator(offense.offender),
            Some(Value::Validator(Box::new(validator))),
        ));
        writes.push((
            Key::Slashed(offense.id),
            Some(Value::Slashed(self.env.height)),
        ));
        Ok(None)
    }

    /// At the end of an epoch's last block: records the next epoch's
    /// committee from the staking state (keeping the current one if nobody
    /// is eligible, so the chain never halts for want of a committee), and
    /// forgets the previous epoch's, whose evidence expires now.
    fn choose_next_committee(&mut self) {
        let epoch = self.params.epoch_of(self.env.height);
        let validators: Vec<Validator> = self
            .overlay
            .validators()
            .iter()
            .filter_map(|a| self.overlay.validator(a))
            .collect();
        let max = usize::try_from(self.params.committee_size_max).unwrap_or(usize::MAX);
        let mut next = crate::staking::select_committee(&validators, max);
        if next.is_empty() {
            next = self.overlay.committee(epoch).unwrap_or_default();
        }
        self.overlay.put(
            Key::Committee(epoch.saturating_add(1)),
            Some(Value::Committee(next)),
        );
        if let Some(previous) = epoch.checked_sub(1) {
            self.overlay.put(Key::Committee(previous), None);
        }
    }

    /// Ends the block: releases due unbonding entries, pays the proposer,
    /// updates totals, computes roots and the next base fee.
    pub fn finish(mut self) -> Result<BlockOutput, BlockError> {
        let height = self.env.height;
        if let Some(Value::Unbonding(queue)) = self.overlay.get(&Key::Unbonding(height)) {
            for address in queue {
                let Some(mut validator) = self.overlay.validator(&address) else {
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
                let mut account = self.overlay.account(&address);
                account.balance = account
                    .balance
                    .checked_add(released)
                    .ok_or(BlockError::Overflow)?;
                self.overlay.put(
                    Key::Validator(address),
                    Some(Value::Validator(Box::new(validator))),
                );
                self.overlay
                    .put(Key::Account(address), Some(Value::Account(account)));
            }
            self.overlay.put(Key::Unbonding(height), None);
        }
        if self.params.is_epoch_end(height) {
            self.choose_next_committee();
        }
        let reward = self.params.block_reward;
        let mut proposer = self.overlay.account(&self.env.proposer);
        proposer.balance = proposer
            .balance
            .checked_add(self.tips)
            .and_then(|b| b.checked_add(reward))
            .ok_or(BlockError::Overflow)?;
        self.overlay.put(
            Key::Account(self.env.proposer),
            Some(Value::Account(proposer)),
        );
        let totals = self.overlay.totals();
        let totals = Totals {
            minted: totals
                .minted
                .checked_add(reward)
                .ok_or(BlockError::Overflow)?,
            burned: totals
                .burned
                .checked_add(self.burned)
                .ok_or(BlockError::Overflow)?,
        };
        self.overlay.put(Key::Totals, Some(Value::Totals(totals)));
        // The transaction ids are the leaves: their preimages start with the
        // txid tag's length byte (0x0f), never the node prefix (0x01).
        let tx_root = MerkleTree::<Sha256Hasher>::from_leaf_hashes(self.tx_hashes).root();
        let receipt_leaves: Vec<Hash> = self
            .receipts
            .iter()
            .map(|r| Sha256Hasher::hash_leaf(&r.encode()))
            .collect();
        let receipts_root = MerkleTree::<Sha256Hasher>::from_leaf_hashes(receipt_leaves).root();
        Ok(BlockOutput {
            next_base_fee: next_base_fee(self.env.base_fee, self.gas_used, self.params),
            writes: self.overlay.into_writes(),
            receipts: self.receipts,
            tx_root,
            receipts_root,
            gas_used: self.gas_used,
            bytes_used: self.bytes_used,
            burned: self.burned,
            tips: self.tips,
        })
    }
}

/// Replays a block: every transaction must apply, or the block is invalid.
pub fn execute_block<S: StateReader + ?Sized, E: EvidenceVerifier>(
    state: &S,
    params: &ChainParams,
    env: BlockEnv,
    evidence: &E,
    txs: &[CheckedTransaction],
) -> Result<BlockOutput, BlockError> {
    let mut executor = BlockExecutor::new(state, params, env, evidence);
    for (index, tx) in txs.iter().enumerate() {
        executor
            .apply(tx)
            .map_err(|error| BlockError::Transaction { index, error })?;
    }
    executor.finish()
}

/// A digest of a block's writes and receipts, for determinism checks.
pub fn output_digest(out: &BlockOutput) -> Hash {
    let mut bytes = Vec::new();
    for (k, v) in &out.writes {
        bytes.extend_from_slice(&k.encode());
        match v {
            Some(v) => {
                bytes.push(1);
                bytes.extend_from_slice(&v.encode());
            }
            None => bytes.push(0),
        }
    }
    for r in &out.receipts {
        bytes.extend_from_slice(&r.encode());
    }
    hash_tagged(
        b"terrace/l1/block-output",
        &[&bytes, out.tx_root.as_ref(), out.receipts_root.as_ref()],
    )
}

impl Write for Receipt {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx_hash.write(buf);
        self.failure.map_or(0u8, |f| f as u8).write(buf);
        UInt(self.gas_used).write(buf);
        UInt(self.effective_gas_price).write(buf);
    }
}

impl EncodeSize for Receipt {
    fn encode_size(&self) -> usize {
        32 + 1 + UInt(self.gas_used).encode_size() + UInt(self.effective_gas_price).encode_size()
    }
}

impl Read for Receipt {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tx_hash = Hash::read(buf)?;
        let failure = match u8::read(buf)? {
            0 => None,
            v => Some(Failure::from_u8(v).ok_or(CodecError::InvalidEnum(v))?),
        };
        Ok(Self {
            tx_hash,
            failure,
            gas_used: UInt::<u64>::read(buf)?.0,
            effective_gas_price: UInt::<u64>::read(buf)?.0,
        })
    }
}
