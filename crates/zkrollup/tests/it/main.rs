//! The zk-rollup node's integration tests, in one binary: one link, and the
//! generic code the files share instantiated once instead of per file.

mod common;
mod pure;
mod rpc;
mod sim;
