//! The Terrace zk-rollup node.
//!
//! - [`follow`]: the full node — the rollup's state rebuilt from finalized
//!   L1 blocks alone, every proven batch replayed from its posted data,
//!   with withdrawal claims and exodus exit proofs;
//! - [`operator`]: soft confirmations and batches, pure;
//! - [`node`]: the loop that ties them to L1 and the prover task, generic
//!   over the commonware runtime (deterministic simulation in tests, real
//!   time in the devnet);
//! - [`deploy`]: setup, registration and starting nodes;
//! - [`rpc`]: the `zk_*` JSON-RPC API;
//! - [`dac`]: a validium's data-availability committee: members, their
//!   store and `dac_*` API, and the clients that reach them;
//! - [`l1`]: the zk-rollup operations in finalized L1 blocks.

pub mod dac;
pub mod deploy;
pub mod follow;
pub mod l1;
pub mod node;
pub mod operator;
pub mod rpc;

pub use follow::{FollowError, Follower, ProvenBatch, Withdrawal};
pub use node::{Event, Fault, Node, NodeConfig, OperatorConfig, Proven, Prover, Shared, Status};
pub use operator::{L2Op, Operator, SoftReceipt, Stage, SubmitError};
