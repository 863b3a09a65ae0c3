//! The L2 transition function: one step at a time.
//!
//! A step is either an inbox message (a deposit or a forced transaction)
//! or a transaction the sequencer put in a block. Every step has an
//! outcome, so the function is total: a transaction that fails a check (a
//! bad signature, a wrong nonce, too little balance, a fee over its cap)
//! is kept in the batch as a no-op with a failure receipt and changes
//! nothing. This is what lets L1 re-execute any single step of any batch
//! and get one answer.
//!
//! # Fees (the OP Stack model)
//!
//! A transaction pays `gas × l2_gas_price + bytes × l1_byte_price`, where
//! `bytes` is its encoded length: its share of the L1 data its batch costs.
//! The sequencer sets both prices per block ([`BlockContext`]) from the L1
//! base fee it sees and its compression ratio; the user caps the total
//! with `max_fee`, which is all the protection a user needs and all L1
//! checks. Fees go to the block's `fee_recipient` account. Forced
//! transactions pay no L2 fee: their sender already paid L1 gas.

use crate::{
    account::{Account, Withdrawal},
    batch::{AGGREGATED_TX_OVERHEAD, BlockContext},
    inbox::{Deposit, FORCED_TX_BYTES_MAX, InboxMessage},
    state::{L2State, WitnessError},
    tx::{Action, L2Transaction, SignedL2Transaction},
};
use commonware_codec::EncodeSize as _;
use terrace_primitives::{Address, Amount, PublicKey, codec::decode_bounded};

/// L2 execution gas of a transfer.
pub const GAS_TRANSFER: u64 = 2_000;
/// L2 execution gas of a withdrawal (it adds a leaf L1 later proves).
pub const GAS_WITHDRAW: u64 = 10_000;

/// Why a step had no effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Failure {
    /// The sender's account does not exist.
    UnknownSender = 1,
    /// The signature does not verify for the sender's key (or an
    /// aggregated transaction's sender has no BLS key).
    BadSignature = 2,
    /// The nonce is not the sender's next one.
    WrongNonce = 3,
    /// The fee at this block's prices is above the transaction's cap.
    FeeAboveMax = 4,
    /// The balance does not cover amount plus fee.
    InsufficientBalance = 5,
    /// The recipient's account does not exist.
    UnknownRecipient = 6,
    /// A forced transaction's bytes do not decode.
    Undecodable = 7,
    /// A tree is full (2^32 accounts or withdrawals).
    TreeFull = 8,
    /// An amount would overflow.
    Overflow = 9,
}

impl Failure {
    /// The failure with this code.
    pub fn from_u8(v: u8) -> Option<Self> {
        use Failure::*;
        [
            UnknownSender,
            BadSignature,
            WrongNonce,
            FeeAboveMax,
            InsufficientBalance,
            UnknownRecipient,
            Undecodable,
            TreeFull,
            Overflow,
        ]
        .into_iter()
        .find(|f| *f as u8 == v)
    }
}

/// What a step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepReceipt {
    /// `None` when the step took effect.
    pub failure: Option<Failure>,
    /// Fee paid.
    pub fee: Amount,
    /// The account a deposit opened.
    pub opened: Option<u32>,
    /// The withdrawal the step made (a refunded deposit makes one too).
    pub withdrawal: Option<u64>,
}

impl StepReceipt {
    fn failed(failure: Failure) -> Self {
        Self {
            failure: Some(failure),
            ..Self::default()
        }
    }
}

/// One step's input.
#[derive(Debug, Clone, Copy)]
pub enum StepInput<'a> {
    /// The inbox message at `position`.
    Inbox {
        /// Its position in the inbox.
        position: u64,
        /// The message.
        message: &'a InboxMessage,
    },
    /// A transaction from a block with `context`.
    Tx {
        /// The block's fee prices and recipient.
        context: &'a BlockContext,
        /// The transaction.
        tx: &'a SignedL2Transaction,
    },
    /// A transaction whose signature the caller already verified against
    /// `key` (the sequencer verifies many at once, in parallel). The
    /// outcome is the same as [`StepInput::Tx`]: the check is skipped only
    /// when `key` is the sender account's key, and made as usual otherwise.
    CheckedTx {
        /// The block's fee prices and recipient.
        context: &'a BlockContext,
        /// The transaction.
        tx: &'a SignedL2Transaction,
        /// The key its signature verified against.
        key: &'a PublicKey,
    },
    /// An aggregated transaction from a block with `context`. Its signature
    /// is checked per chunk, for the whole batch ([`crate::aggregate`]);
    /// here it only needs a sender with a BLS key.
    Aggregated {
        /// The block's fee prices and recipient.
        context: &'a BlockContext,
        /// The transaction.
        tx: &'a L2Transaction,
    },
}

/// How a transaction's sender authorized it.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// Its own signature, checked here.
    Signed(&'a SignedL2Transaction),
    /// Its own signature, already checked against `key`.
    Checked(&'a SignedL2Transaction, &'a PublicKey),
    /// Its chunk's aggregate, checked per batch.
    Aggregated,
}

/// The fee a signed `tx` pays at `context`'s prices, `None` on overflow.
pub fn fee(context: &BlockContext, tx: &SignedL2Transaction) -> Option<Amount> {
    fee_for(context, &tx.tx, tx.encode_size())
}

/// The fee an aggregated `tx` pays at `context`'s prices.
pub fn aggregated_fee(context: &BlockContext, tx: &L2Transaction) -> Option<Amount> {
    fee_for(context, tx, tx.encode_size() + AGGREGATED_TX_OVERHEAD)
}

fn fee_for(context: &BlockContext, tx: &L2Transaction, bytes: usize) -> Option<Amount> {
    let gas = match tx.action {
        Action::Transfer { .. } => GAS_TRANSFER,
        Action::Withdraw { .. } => GAS_WITHDRAW,
    };
    let execution = Amount::from(gas).checked_mul(context.l2_gas_price as u128)?;
    let data = Amount::from(bytes as u64).checked_mul(context.l1_byte_price as u128)?;
    execution.checked_add(data)
}

/// Applies one step for `rollup`. An error means the witnesses could not
/// support the step (only ever from a [`crate::WitnessState`]).
pub fn apply_step<S: L2State>(
    state: &mut S,
    rollup: u64,
    step: StepInput<'_>,
) -> Result<StepReceipt, WitnessError> {
    match step {
        StepInput::Inbox { position, message } => {
            let receipt = apply_inbox(state, rollup, message)?;
            state.set_inbox_cursor(position.saturating_add(1));
            Ok(receipt)
        }
        StepInput::Tx { context, tx } => apply_tx(state, rollup, context, &tx.tx, Auth::Signed(tx)),
        StepInput::CheckedTx { context, tx, key } => {
            apply_tx(state, rollup, context, &tx.tx, Auth::Checked(tx, key))
        }
        StepInput::Aggregated { context, tx } => {
            apply_tx(state, rollup, context, tx, Auth::Aggregated)
        }
    }
}

fn apply_inbox<S: L2State>(
    state: &mut S,
    rollup: u64,
    message: &InboxMessage,
) -> Result<StepReceipt, WitnessError> {
    match message {
        InboxMessage::Deposit(Deposit {
            recipient,
            account,
            amount,
            bls,
        }) => {
            let bls = bls.as_ref().map(|r| r.key);
            if let Some(index) = account
                && let Some(mut existing) = state.account(*index)?
                && existing.key == *recipient
                && (bls.is_none() || existing.bls == bls)
                && let Some(balance) = existing.balance.checked_add(*amount)
            {
                existing.balance = balance;
                state.put_account(*index, existing)?;
                return Ok(StepReceipt::default());
            }
            let opened = state.open_account(Account {
                key: recipient.clone(),
                bls,
                balance: *amount,
                nonce: 0,
            })?;
            if opened.is_some() {
                return Ok(StepReceipt {
                    opened,
                    ..StepReceipt::default()
                });
            }
            // No room for the funds on L2: they go back to the depositor's
            // key on L1, so the escrow still matches.
            let refund = Withdrawal {
                recipient: Address::from_public_key(recipient),
                amount: *amount,
            };
            Ok(StepReceipt {
                failure: Some(Failure::TreeFull),
                withdrawal: state.push_withdrawal(refund)?,
                ..StepReceipt::default()
            })
        }
        InboxMessage::Forced { tx } => {
            match decode_bounded::<SignedL2Transaction>(tx, FORCED_TX_BYTES_MAX, &()) {
                Ok(tx) => apply_tx(
                    state,
                    rollup,
                    &BlockContext::FREE,
                    &tx.tx,
                    Auth::Signed(&tx),
                ),
                Err(_) => Ok(StepReceipt::failed(Failure::Undecodable)),
            }
        }
    }
}

/// The accounts a transaction changes, each once whatever aliasing the
/// sender, recipient and fee recipient have.
struct Touched(Vec<(u32, Account)>);

impl Touched {
    fn get_mut(&mut self, index: u32) -> Option<&mut Account> {
        self.0.iter_mut().find(|(i, _)| *i == index).map(|(_, a)| a)
    }

    fn credit(&mut self, index: u32, amount: Amount) -> Result<(), Failure> {
        let account = self.get_mut(index).ok_or(Failure::UnknownRecipient)?;
        account.balance = account
            .balance
            .checked_add(amount)
            .ok_or(Failure::Overflow)?;
        Ok(())
    }
}

fn apply_tx<S: L2State>(
    state: &mut S,
    rollup: u64,
    context: &BlockContext,
    tx: &L2Transaction,
    auth: Auth<'_>,
) -> Result<StepReceipt, WitnessError> {
    let Some(sender) = state.account(tx.from)? else {
        return Ok(StepReceipt::failed(Failure::UnknownSender));
    };
    let authorized = match auth {
        Auth::Signed(signed) => signed.verify(rollup, &sender.key).is_ok(),
        Auth::Checked(signed, key) => {
            *key == sender.key || signed.verify(rollup, &sender.key).is_ok()
        }
        Auth::Aggregated => sender.bls.is_some(),
    };
    if !authorized {
        return Ok(StepReceipt::failed(Failure::BadSignature));
    }
    if tx.nonce != sender.nonce {
        return Ok(StepReceipt::failed(Failure::WrongNonce));
    }
    let fee = match auth {
        Auth::Signed(signed) | Auth::Checked(signed, _) => fee(context, signed),
        Auth::Aggregated => aggregated_fee(context, tx),
    };
    let Some(mut fee) = fee else {
        return Ok(StepReceipt::failed(Failure::FeeAboveMax));
    };
    if fee > tx.max_fee {
        return Ok(StepReceipt::failed(Failure::FeeAboveMax));
    }
    let mut touched = Touched(vec![(tx.from, sender)]);
    if let Action::Transfer { to, .. } = tx.action
        && to != tx.from
    {
        let Some(recipient) = state.account(to)? else {
            return Ok(StepReceipt::failed(Failure::UnknownRecipient));
        };
        touched.0.push((to, recipient));
    }
    if !fee.is_zero() && touched.get_mut(context.fee_recipient).is_none() {
        match state.account(context.fee_recipient)? {
            Some(a) => touched.0.push((context.fee_recipient, a)),
            // A block naming no fee recipient charges no fee.
            None => fee = Amount::ZERO,
        }
    }
    let amount = tx.action.amount();
    let Some(total) = amount.checked_add(fee) else {
        return Ok(StepReceipt::failed(Failure::Overflow));
    };
    let outcome = (|| {
        let sender = touched.get_mut(tx.from).ok_or(Failure::UnknownSender)?;
        sender.balance = sender
            .balance
            .checked_sub(total)
            .ok_or(Failure::InsufficientBalance)?;
        sender.nonce = sender.nonce.checked_add(1).ok_or(Failure::Overflow)?;
        if let Action::Transfer { to, amount } = tx.action {
            touched.credit(to, amount)?;
        }
        if !fee.is_zero() {
            touched.credit(context.fee_recipient, fee)?;
        }
        Ok(())
    })();
    if let Err(failure) = outcome {
        return Ok(StepReceipt::failed(failure));
    }
    let mut withdrawal = None;
    if let Action::Withdraw { recipient, amount } = tx.action {
        withdrawal = state.push_withdrawal(Withdrawal { recipient, amount })?;
        if withdrawal.is_none() {
            return Ok(StepReceipt::failed(Failure::TreeFull));
        }
    }
    for (index, account) in touched.0 {
        state.put_account(index, account)?;
    }
    Ok(StepReceipt {
        failure: None,
        fee,
        opened: None,
        withdrawal,
    })
}

/// Why a run of steps stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The inbox message at this position is not known.
    #[error("inbox message {0} is not known")]
    MissingInbox(u64),
    /// The state refused a read (never from a [`crate::FullState`]).
    #[error(transparent)]
    Witness(#[from] WitnessError),
}

/// Runs a batch's steps, returning each step's receipt and the output root
/// after it: the roots a batch poster must be able to reveal in a challenge.
pub fn run_steps<S: L2State>(
    state: &mut S,
    rollup: u64,
    steps: &[crate::Step],
    inbox: impl Fn(u64) -> Option<InboxMessage>,
) -> Result<Vec<(StepReceipt, terrace_primitives::Hash)>, RunError> {
    let mut out = Vec::with_capacity(steps.len());
    for step in steps {
        let receipt = match step {
            crate::Step::Inbox { position } => {
                let message = inbox(*position).ok_or(RunError::MissingInbox(*position))?;
                apply_step(
                    state,
                    rollup,
                    StepInput::Inbox {
                        position: *position,
                        message: &message,
                    },
                )?
            }
            crate::Step::Tx { context, tx } => {
                apply_step(state, rollup, StepInput::Tx { context, tx })?
            }
            crate::Step::Aggregated { context, tx } => {
                apply_step(state, rollup, StepInput::Aggregated { context, tx })?
            }
        };
        out.push((receipt, state.commitment().output_root()));
    }
    Ok(out)
}
