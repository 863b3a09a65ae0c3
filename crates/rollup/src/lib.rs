//! The Terrace optimistic rollup node.
//!
//! - [`derive`]: the L2 chain rebuilt from finalized L1 blocks alone, every
//!   posted output root checked against the true one;
//! - [`sequencer`]: soft confirmations, L2 blocks, and batches to post;
//! - [`game`]: the moves of the bisection game, from the true roots;
//! - [`faults`]: a node's byzantine behaviours for tests and the lab, called
//!   through one hook;
//! - [`node`]: the loop that ties them to L1, generic over the commonware
//!   runtime, so the whole L1 + L2 system runs in deterministic simulation
//!   in tests and in real time in the devnet;
//! - [`l1`]: the rollup operations in finalized L1 blocks, read through the
//!   L2 client every node shares ([`terrace_node::client`]);
//! - [`deploy`]: registering a rollup and starting its nodes — one path for
//!   the devnet, the lab's runs and its scenarios;
//! - [`rpc`]: the `l2_*` JSON-RPC API over a node's state.

pub mod deploy;
pub mod derive;
pub mod faults;
pub mod game;
pub mod l1;
pub mod node;
pub mod rpc;
pub mod sequencer;

pub use derive::{BatchStatus, BatchSummary, Derivation, DerivedBatch};
pub use faults::Fault;
pub use node::{
    Event, Node, NodeConfig, SequencerConfig, Shared, Status, WithdrawalStage, WithdrawalStatus,
    l1_byte_price,
};
pub use sequencer::{Sequencer, SoftReceipt, SubmitError};
