//! Terrace L2 state-transition function: accounts, transactions, batches,
//! output roots, and single-step execution against Merkle witnesses (pure).
//!
//! One transition function, two kinds of state. The rollup node runs
//! [`stf::apply_step`] over a [`state::FullState`] (every account in memory);
//! the L1 runs the very same function over a [`state::WitnessState`] built
//! from the Merkle witnesses of a one-step fraud proof ([`proof`]), and so
//! re-executes one disputed step with nothing but the agreed pre-state
//! commitment. Whatever the sequencer's code does, L1 judges it by this code.
//!
//! No I/O, no clock, no OS randomness: the same state and step give the
//! same output root on every machine.

pub mod account;
pub mod aggregate;
pub mod batch;
pub mod inbox;
pub mod proof;
pub mod state;
pub mod stf;
pub mod tx;

pub use account::{Account, Withdrawal};
pub use aggregate::{AggregateFault, AggregateProof, AggregateProofError, DisputedChunk};
pub use batch::{AggregateChunk, Batch, BatchError, BlockContext, BlockTx, L2Block, Step};
pub use inbox::{BlsRegistration, Deposit, InboxMessage};
pub use proof::{DisputedStep, OneStepProof, StepProofError};
pub use state::{Commitment, FullState, L2State, Witness, WitnessError, WitnessState};
pub use stf::{Failure, RunError, StepInput, StepReceipt, apply_step, run_steps};
pub use tx::{Action, AggregatedL2Transaction, L2Transaction, SignedL2Transaction};

/// Depth of the account tree: account indices are `u32`.
pub const ACCOUNT_TREE_DEPTH: u8 = 32;
/// Depth of the withdrawal tree: withdrawals are numbered by `u32`.
pub const WITHDRAWAL_TREE_DEPTH: u8 = 32;
