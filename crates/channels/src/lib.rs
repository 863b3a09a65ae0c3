//! Terrace payment channels, off-chain: the messages two channel nodes
//! exchange ([`wire`]) and the state machine of one side of a channel
//! ([`machine`]), the channel graph and source routing ([`routing`]),
//! invoices ([`invoice`]) and the watchtower's core ([`tower`]) — pure
//! and tested without I/O — and the journal a node keeps its channels in
//! ([`journal`], files only). The L1 rules they settle under are
//! [`terrace_l1::modules::channels`].

pub mod invoice;
pub mod journal;
pub mod link;
pub mod machine;
pub mod routing;
pub mod tower;
pub mod wire;

pub use link::Link;
pub use machine::{Channel, ChannelError, Event, Snapshot, Step, Update, initial_state};
pub use wire::Message;

#[cfg(test)]
mod tests;
