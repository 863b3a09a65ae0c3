//! The node's integration tests, in one binary: one link, and the
//! generic code the files share instantiated once instead of per file.

mod rpc;
mod sim;
