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
//! A payload other than a transfer belongs to a settlement module
//! ([`crate::module`]): the module computes its [`Effects`] and
//! [`BlockExecutor::settle`] applies them — the one place where module
//! operations touch balances.
//!
//! At the end of the block ([`BlockExecutor::finish`]) every module's
//! end-of-block hook runs (staking releases unbonding stake and picks the
//! next committee), the proposer receives the tips and the block reward,
//! totals are updated and the next base fee is computed.

use crate::{
    error::{BlockError, TxError},
    fee::{effective_gas_price, next_base_fee},
    module::{Effects, EndBlockHost, OpEnv},
    modules::{
        channels::ChannelFailure, dispatch, optimistic::OptimisticFailure,
        staking::EvidenceVerifier, staking::StakingFailure, validity::ValidityFailure,
    },
    params::ChainParams,
    state::{Account, Key, Overlay, StateReader, Totals, Value, Writes},
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

/// Why an included transaction's payload had no effect: one of the
/// core's reasons, or a module's (one arm per module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// Staking, unstaking, bonding or depositing zero.
    ZeroAmount,
    /// The balance left after fees does not cover what the operation takes.
    InsufficientFunds,
    /// An amount would overflow.
    Overflow,
    /// A staking operation's failure.
    Staking(StakingFailure),
    /// An optimistic-rollup operation's failure.
    Optimistic(OptimisticFailure),
    /// A zk-rollup operation's failure.
    Validity(ValidityFailure),
    /// A payment-channel operation's failure.
    Channels(ChannelFailure),
}

impl Failure {
    /// The core's own failures.
    pub const CORE: &'static [Failure] = &[
        Failure::ZeroAmount,
        Failure::InsufficientFunds,
        Failure::Overflow,
    ];

    /// The byte a receipt records (never 0, which means success).
    pub fn code(self) -> u8 {
        match self {
            Failure::ZeroAmount => 7,
            Failure::InsufficientFunds => 11,
            Failure::Overflow => 35,
            module => dispatch::failure_code(module).unwrap_or(u8::MAX),
        }
    }

    /// The failure's name in receipts and RPC answers (snake case).
    pub fn name(self) -> &'static str {
        match self {
            Failure::ZeroAmount => "zero_amount",
            Failure::InsufficientFunds => "insufficient_funds",
            Failure::Overflow => "overflow",
            module => dispatch::failure_name(module).unwrap_or("unknown"),
        }
    }

    /// The failure recorded as `code`.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::CORE
            .iter()
            .copied()
            .find(|f| f.code() == code)
            .or_else(|| dispatch::failure_from_code(code))
    }
}

impl std::fmt::Display for Failure {
    /// Its name, as receipts and RPC answers show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
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

/// The environment of `tx`'s operation in block `height`.
fn op_env<'a>(
    tx: &'a CheckedTransaction,
    height: u64,
    params: &'a ChainParams,
    evidence: &'a dyn EvidenceVerifier,
) -> OpEnv<'a> {
    OpEnv {
        params,
        height,
        chain_id: tx.tx().chain_id,
        sender: tx.sender,
        sender_key: &tx.signed.public_key,
        tx_hash: tx.hash,
        evidence,
    }
}

/// The state keys a transaction touches at `height`, from its payload
/// alone: what a node prefetches before executing it, and what decides
/// which transactions may run in parallel.
pub fn touched_keys(
    tx: &CheckedTransaction,
    height: u64,
    params: &ChainParams,
    evidence: &impl EvidenceVerifier,
) -> Vec<Key> {
    let mut keys = vec![Key::Account(tx.sender)];
    match &tx.tx().payload {
        Payload::Transfer { to, .. } => keys.push(Key::Account(*to)),
        module => keys.extend(
            dispatch::keys(module, &op_env(tx, height, params, evidence)).unwrap_or_default(),
        ),
    }
    keys
}

/// The keys a transaction touches beyond [`touched_keys`] that are known
/// only once those are readable (a slash's offender, once the committee
/// of its evidence's epoch is read).
pub fn touched_keys_after(
    tx: &CheckedTransaction,
    state: &(impl StateReader + ?Sized),
    height: u64,
    params: &ChainParams,
    evidence: &impl EvidenceVerifier,
) -> Vec<Key> {
    dispatch::keys_after(
        &tx.tx().payload,
        state,
        &op_env(tx, height, params, evidence),
    )
    .unwrap_or_default()
}

/// The keys every block touches regardless of its transactions: the
/// proposer, the totals, and what each module's end of block reads.
pub fn block_keys(env: &BlockEnv, params: &ChainParams) -> Vec<Key> {
    let mut keys = vec![Key::Account(env.proposer), Key::Totals];
    keys.extend(dispatch::end_block_keys(env, params));
    keys
}

/// The keys the end of block `env.height` touches that are known only
/// once [`block_keys`] are read (staking's maturing unbonding entries and,
/// at an epoch's end, every validator). A node prefetches them in a
/// second step.
pub fn block_keys_after(
    state: &(impl StateReader + ?Sized),
    env: &BlockEnv,
    params: &ChainParams,
) -> Vec<Key> {
    dispatch::end_block_keys_after(state, env, params)
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
            module => {
                let env = op_env(tx, self.env.height, self.params, self.evidence);
                match dispatch::apply(module, &self.overlay, &env) {
                    Some((owner, effects)) => {
                        self.settle(tx, owner, effects, &mut sender, &mut burned, &mut writes)?
                    }
                    None => None,
                }
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

    /// Applies a module operation's effects to the sender and the writes,
    /// or reports why it was refused (changing nothing).
    fn settle(
        &self,
        tx: &CheckedTransaction,
        owner: &'static str,
        effects: Result<Effects, Failure>,
        sender: &mut Account,
        burned: &mut Amount,
        writes: &mut Vec<(Key, Option<Value>)>,
    ) -> Result<Option<Failure>, TxError> {
        let effects = match effects {
            Ok(e) => e,
            Err(failure) => return Ok(Some(failure)),
        };
        debug_assert!(
            effects.writes.iter().all(|(k, _)| k.owner() == Some(owner)),
            "{owner} wrote records it does not own"
        );
        let Some(mut balance) = sender.balance.checked_sub(effects.debit) else {
            return Ok(Some(Failure::InsufficientFunds));
        };
        let mut credited: Vec<(Address, Account)> = Vec::new();
        for (from, amount) in effects.taken {
            let left = if from == tx.sender {
                &mut balance
            } else {
                let i = match credited.iter().position(|(a, _)| *a == from) {
                    Some(i) => i,
                    None => {
                        credited.push((from, self.overlay.account(&from)));
                        credited.len() - 1
                    }
                };
                &mut credited[i].1.balance
            };
            let Some(rest) = left.checked_sub(amount) else {
                return Ok(Some(Failure::InsufficientFunds));
            };
            *left = rest;
        }
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

    /// Ends the block: runs every module's end of block, pays the
    /// proposer, updates totals, computes roots and the next base fee.
    pub fn finish(mut self) -> Result<BlockOutput, BlockError> {
        let (env, params) = (self.env.clone(), self.params);
        dispatch::end_block(&mut self, &env, params)?;
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

impl<S: StateReader + ?Sized, E: EvidenceVerifier> EndBlockHost for BlockExecutor<'_, S, E> {
    fn state(&self) -> &dyn StateReader {
        &self.overlay
    }

    fn apply(&mut self, owner: &'static str, effects: Effects) -> Result<(), BlockError> {
        debug_assert!(
            effects.debit.is_zero() && effects.taken.is_empty(),
            "{owner} debited nobody at the end of a block"
        );
        debug_assert!(
            effects.writes.iter().all(|(k, _)| k.owner() == Some(owner)),
            "{owner} wrote records it does not own"
        );
        for (key, value) in effects.writes {
            self.overlay.put(key, value);
        }
        for (to, amount) in effects.credits {
            let mut account = self.overlay.account(&to);
            account.balance = account
                .balance
                .checked_add(amount)
                .ok_or(BlockError::Overflow)?;
            self.overlay
                .put(Key::Account(to), Some(Value::Account(account)));
        }
        self.burned = self
            .burned
            .checked_add(effects.burned)
            .ok_or(BlockError::Overflow)?;
        Ok(())
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
        self.failure.map_or(0u8, Failure::code).write(buf);
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
            v => Some(Failure::from_code(v).ok_or(CodecError::InvalidEnum(v))?),
        };
        Ok(Self {
            tx_hash,
            failure,
            gas_used: UInt::<u64>::read(buf)?.0,
            effective_gas_price: UInt::<u64>::read(buf)?.0,
        })
    }
}
