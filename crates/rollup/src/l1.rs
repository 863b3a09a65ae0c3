//! What the rollup node reads from L1: the shared L2 client
//! ([`terrace_node::client`]) with the finalized transactions that act on
//! a rollup picked out, and the rollup's records.

pub use terrace_l1::modules::optimistic::RollupRecords;
use terrace_l1::{StateReader, modules::optimistic::RollupOp};
pub use terrace_node::client::{FinalizedTx, L1, L1Block, L1Error, address_of, sign_l1};
use terrace_primitives::{Address, Amount};

/// A finalized L1 transaction that acted on an optimistic rollup.
pub type RollupTx = terrace_node::client::L2Tx<RollupOp>;

/// A poster's bond, zero when it has none.
pub fn bond_amount(records: &impl StateReader, id: u64, poster: Address) -> Amount {
    records
        .bond(id, poster)
        .map(|b| b.amount)
        .unwrap_or(Amount::ZERO)
}
