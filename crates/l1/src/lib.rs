//! Terrace L1 state-transition function: accounts, EIP-1559 fees, and the
//! settlement modules — staking and slashing, optimistic rollups, zk-rollups — each a
//! folder under [`modules`] behind one trait, [`module::Module`] (pure,
//! deterministic).
//!
//! No I/O, no clock, no OS randomness, no hash-map iteration: the same
//! state, block and parameters give byte-identical writes and receipts on
//! every machine. The node (next crate up) prefetches the keys each
//! transaction declares, runs [`execute::execute_block`] over them and
//! commits the returned writes to its authenticated store.

pub mod block;
pub mod error;
pub mod execute;
pub mod fee;
pub mod genesis;
pub mod module;
pub mod modules;
pub mod params;
pub mod state;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tx;

pub use error::{BlockError, TxError};
pub use execute::{BlockEnv, BlockExecutor, BlockOutput, Failure, Receipt, execute_block};
pub use params::ChainParams;
pub use state::{Account, Key, MemoryState, StateReader, Value};
pub use tx::{CheckedTransaction, Payload, SignedTransaction, Transaction};
