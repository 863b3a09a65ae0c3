//! Typed errors. A rejected transaction or block changes no state.

use terrace_primitives::{Address, Amount, ChainId, codec::DecodeError, keys::SignatureError};

/// Why a transaction cannot be included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The bytes are not a transaction.
    #[error("undecodable transaction: {0}")]
    Malformed(String),
    /// The encoding is over the chain's per-transaction byte limit.
    #[error("transaction is {len} bytes, over the limit of {max}")]
    TooLarge {
        /// Encoded length.
        len: usize,
        /// Limit.
        max: u64,
    },
    /// Signed for another chain.
    #[error("transaction is for chain {got}, this is chain {expected}")]
    WrongChain {
        /// This chain.
        expected: ChainId,
        /// The transaction's chain.
        got: ChainId,
    },
    /// Bad key or signature.
    #[error("bad signature: {0}")]
    BadSignature(SignatureError),
    /// The tip cap is above the fee cap.
    #[error("max_priority_fee_per_gas {tip} is above max_fee_per_gas {fee_cap}")]
    TipAboveFeeCap {
        /// Tip cap.
        tip: u64,
        /// Fee cap.
        fee_cap: u64,
    },
    /// The gas limit does not cover the intrinsic gas.
    #[error("gas limit {gas_limit} is below the {intrinsic} gas this transaction needs")]
    GasLimitTooLow {
        /// Declared limit.
        gas_limit: u64,
        /// Needed.
        intrinsic: u64,
    },
    /// The gas limit exceeds what a block can hold.
    #[error("gas limit {gas_limit} is above the block gas limit {block_limit}")]
    GasLimitAboveBlockLimit {
        /// Declared limit.
        gas_limit: u64,
        /// Block limit.
        block_limit: u64,
    },
    /// A nonce already used.
    #[error("nonce {got} is too low: the sender's next nonce is {expected}")]
    NonceTooLow {
        /// Next nonce.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// A nonce past the sender's next one.
    #[error("nonce {got} is too high: the sender's next nonce is {expected}")]
    NonceTooHigh {
        /// Next nonce.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// The fee cap is below the block's base fee.
    #[error("max_fee_per_gas {fee_cap} is below the base fee {base_fee}")]
    FeeCapBelowBaseFee {
        /// Fee cap.
        fee_cap: u64,
        /// Base fee.
        base_fee: u64,
    },
    /// The balance does not cover gas_limit × max_fee + value.
    #[error("sender {sender} has {balance}, needs {needed} (gas limit × max fee + value)")]
    InsufficientBalance {
        /// Sender.
        sender: Address,
        /// Balance.
        balance: Amount,
        /// Needed.
        needed: Amount,
    },
    /// The block has no gas left for this transaction.
    #[error("block gas exhausted: {used} used of {limit}, transaction needs {needed}")]
    BlockGasExhausted {
        /// Used so far.
        used: u64,
        /// Limit.
        limit: u64,
        /// This transaction's gas limit.
        needed: u64,
    },
    /// The block has no bytes left for this transaction.
    #[error("block bytes exhausted: {used} used of {limit}, transaction has {needed}")]
    BlockBytesExhausted {
        /// Used so far.
        used: u64,
        /// Limit.
        limit: u64,
        /// This transaction's length.
        needed: u64,
    },
    /// An amount would overflow.
    #[error("arithmetic overflow in amounts or gas")]
    Overflow,
}

impl From<DecodeError> for TxError {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooLarge { len, max } => TxError::TooLarge {
                len,
                max: max as u64,
            },
            DecodeError::Malformed(e) => TxError::Malformed(e.to_string()),
        }
    }
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// One of its transactions cannot be included.
    #[error("transaction {index} is invalid: {error}")]
    Transaction {
        /// Position in the block.
        index: usize,
        /// Why.
        error: TxError,
    },
    /// The header's base fee is not the one the parent implies.
    #[error("header base fee {got} differs from the expected {expected}")]
    WrongBaseFee {
        /// Expected.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// A header field is not what its parent or its execution implies.
    #[error("header {field} is {got}, expected {expected}")]
    HeaderMismatch {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: String,
        /// What it is.
        got: String,
    },
    /// The bytes are not a block.
    #[error("undecodable block: {0}")]
    Malformed(String),
    /// Minting the block reward or summing totals overflowed.
    #[error("arithmetic overflow in block totals")]
    Overflow,
}
