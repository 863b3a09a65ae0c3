//! The Terrace L1 node: simplex BFT consensus with marshal as the block
//! layer, the L1 state-transition function over an authenticated QMDB
//! store, the mempool, transaction gossip and the JSON-RPC server.
//!
//! Everything async is generic over the commonware runtime, so the same
//! node runs under the deterministic runtime with a simulated network in
//! tests and under tokio with authenticated TCP in production.
//!
//! [`client`] is how L2 nodes follow it: every finalized block's
//! transactions with their receipts.

pub mod app;
pub mod block;
pub mod chain;
pub mod client;
pub mod engine;
pub mod epochs;
pub mod evidence;
pub mod gossip;
pub mod net;
pub mod pacing;
pub mod receipts;
pub mod rpc;
pub mod sim;
pub mod state;

/// What the node needs of a runtime context: storage, tasks, a clock and
/// metrics. Both the deterministic and the tokio runtime provide it.
pub trait Runtime:
    commonware_storage::Context
    + commonware_runtime::Spawner
    + commonware_runtime::Clock
    + commonware_runtime::Metrics
{
}

impl<T> Runtime for T where
    T: commonware_storage::Context
        + commonware_runtime::Spawner
        + commonware_runtime::Clock
        + commonware_runtime::Metrics
{
}
