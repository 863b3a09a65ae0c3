//! The node's tests, in one binary: one link, and the generic code the
//! files share instantiated once instead of per file. (The library has no
//! unit-test harness of its own — `test = false` — so the engine is not
//! compiled a third time for it.)

mod delay_model;
mod gossip_batch;
mod rpc;
mod sim;
