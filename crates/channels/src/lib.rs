//! Terrace payment channels, off-chain: the messages two channel nodes
//! exchange ([`wire`]) and the state machine of one side of a channel
//! ([`machine`]), pure and tested without I/O. The L1 rules they settle
//! under are [`terrace_l1::modules::channels`].

pub mod machine;
pub mod wire;

pub use machine::{Channel, ChannelError, Event, Snapshot, Step, Update, initial_state};
pub use wire::Message;

#[cfg(test)]
mod tests;
