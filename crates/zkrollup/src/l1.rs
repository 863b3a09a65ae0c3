//! What the zk-rollup node reads from L1: the shared L2 client
//! ([`terrace_node::client`]) with the finalized transactions that act on
//! a zk-rollup picked out.

use terrace_l1::modules::validity::ZkOp;
pub use terrace_node::client::{FinalizedTx, L1, L1Block, L1Error, address_of, sign_l1};

/// A finalized L1 transaction that acted on a zk-rollup.
pub type ZkTx = terrace_node::client::L2Tx<ZkOp>;

/// A short name of an operation, for events and logs.
pub fn op_name(op: &ZkOp) -> String {
    match op {
        ZkOp::Deposit { .. } => "deposit".into(),
        ZkOp::ForcedExit { account, .. } => format!("forced_exit {account}"),
        ZkOp::SubmitBatch(b) => format!("submit_batch {}", b.index),
        ZkOp::Claim(c) => format!("claim {}:{}", c.batch, c.slot),
        ZkOp::Freeze => "freeze".into(),
        ZkOp::Exit(e) => format!("exit {}", e.account),
        ZkOp::Refund { position } => format!("refund {position}"),
    }
}
