//! The data-availability committee of a validium: members that take each
//! batch's data from the operator, check it against the commitment the
//! proof uses, store it durably, sign that they hold it, and serve it to
//! anyone rebuilding the state.
//!
//! - [`member`]: one member's rules and its store, without I/O beyond its
//!   own directory;
//! - [`client`]: how the operator and full nodes reach members — in the
//!   same process (tests, the lab's simulation) or over JSON-RPC;
//! - [`rpc`]: the `dac_*` JSON-RPC API a member serves.
//!
//! What a member signs ([`terrace_l1::modules::validity::attestation_message`])
//! names the rollup, the batch index and the commitment: L1 takes it for
//! that batch only. Only the rollup's operator may store data (its request
//! is signed with its L1 key), so nobody else can fill a member's disk.

pub mod client;
pub mod member;
pub mod rpc;

pub use client::{AnyCommittee, Committee, Conduct, HttpCommittee, LocalCommittee};
pub use member::{DacError, Member, MemberStatus, MemberView, StoreRequest, Stored};
