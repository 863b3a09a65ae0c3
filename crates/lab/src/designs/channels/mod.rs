//! Payment channels on the `terrace` L1 (`terrace_l1::modules::channels`
//! and the `terrace-channels` state machine): the attacks of the
//! channels' trust model, played with both sides of each channel in
//! process and every open, close, challenge and claim on the real L1.
//! The design's row in the comparison table is not built yet.

pub mod scenarios;
