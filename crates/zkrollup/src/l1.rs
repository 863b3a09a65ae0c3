//! What the zk-rollup node reads from L1: the shared L2 client
//! ([`terrace_node::client`]) with the finalized transactions that act on
//! a zk-rollup picked out.

use terrace_l1::{
    Failure, Payload, Receipt,
    modules::validity::{ValidityOp, ZkOp},
};
pub use terrace_node::client::{FinalizedTx, L1, L1Block, L1Error, address_of, sign_l1};
use terrace_primitives::{Address, Hash};

/// A finalized L1 transaction that acted on a zk-rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkTx {
    /// Its id.
    pub hash: Hash,
    /// Who sent it.
    pub sender: Address,
    /// The rollup it acted on.
    pub rollup: u64,
    /// What it did.
    pub op: ZkOp,
    /// Why L1 refused it, if it did (it then changed nothing).
    pub failure: Option<Failure>,
}

impl ZkTx {
    /// The operations on zk-rollups in `block`, in execution order.
    pub fn of_block(block: &L1Block) -> impl Iterator<Item = ZkTx> + '_ {
        block.txs.iter().filter_map(|t| match &t.payload {
            Payload::Validity(ValidityOp::Rollup { rollup, op }) => Some(ZkTx {
                hash: t.hash,
                sender: t.sender,
                rollup: *rollup,
                op: op.clone(),
                failure: t.receipt.failure,
            }),
            _ => None,
        })
    }

    /// As a finalized transaction (for blocks built by hand in tests): its
    /// receipt records only its failure.
    pub fn finalized(self) -> FinalizedTx {
        FinalizedTx {
            hash: self.hash,
            sender: self.sender,
            payload: Payload::Validity(ValidityOp::Rollup {
                rollup: self.rollup,
                op: self.op,
            }),
            receipt: Receipt {
                tx_hash: self.hash,
                failure: self.failure,
                gas_used: 0,
                effective_gas_price: 0,
            },
        }
    }
}

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
