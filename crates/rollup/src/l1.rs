//! What the rollup node reads from L1: the shared L2 client
//! ([`terrace_node::client`]) with the finalized transactions that act on
//! a rollup picked out, and the rollup's records.

pub use terrace_l1::modules::optimistic::RollupRecords;
use terrace_l1::{
    Failure, Payload, Receipt, StateReader,
    modules::optimistic::{OptimisticOp, RollupOp},
};
pub use terrace_node::client::{FinalizedTx, L1, L1Block, L1Error, address_of, sign_l1};
use terrace_primitives::{Address, Amount, Hash};

/// A finalized L1 transaction that acted on a rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupTx {
    /// Its id.
    pub hash: Hash,
    /// Who sent it.
    pub sender: Address,
    /// The rollup it acted on.
    pub rollup: u64,
    /// What it did.
    pub op: RollupOp,
    /// Why L1 refused it, if it did (it then changed nothing).
    pub failure: Option<Failure>,
}

impl RollupTx {
    /// The operations on rollups in `block`, in execution order.
    pub fn of_block(block: &L1Block) -> impl Iterator<Item = RollupTx> + '_ {
        block.txs.iter().filter_map(|t| match &t.payload {
            Payload::Optimistic(OptimisticOp::Rollup { rollup, op }) => Some(RollupTx {
                hash: t.hash,
                sender: t.sender,
                rollup: *rollup,
                op: op.clone(),
                failure: t.receipt.failure,
            }),
            _ => None,
        })
    }

    /// As a finalized transaction (for blocks built by hand in tests and
    /// benches): its receipt records only its failure.
    pub fn finalized(self) -> FinalizedTx {
        FinalizedTx {
            hash: self.hash,
            sender: self.sender,
            payload: Payload::Optimistic(OptimisticOp::Rollup {
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

/// A poster's bond, zero when it has none.
pub fn bond_amount(records: &impl StateReader, id: u64, poster: Address) -> Amount {
    records
        .bond(id, poster)
        .map(|b| b.amount)
        .unwrap_or(Amount::ZERO)
}
