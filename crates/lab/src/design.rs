//! What a design is: a named configuration of the real components that
//! the lab runs on the workload and measures with the same definitions as
//! every other — an L1 parameter preset, or an L2 on the `terrace` L1.
//!
//! Each design lives in its own folder under [`crate::designs`]: its
//! configuration, its simulated run, what its run must show ([`Check`]s)
//! and its attack scenarios. The run loop, the checks, the comparison
//! table and the claims iterate over [`Design`]s and never name one; adding
//! a design adds a folder and a line to [`crate::designs::all`].

use crate::{LabError, lab::Check, report::DesignReport};
use serde::Serialize;
use terrace_l1::ChainParams;

/// Where a design runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// The base chain itself (a parameter preset of the L1).
    L1,
    /// On top of the `terrace` L1.
    L2,
}

impl Layer {
    /// `l1` or `l2`, as reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Layer::L1 => "l1",
            Layer::L2 => "l2",
        }
    }
}

/// A design the lab runs.
pub trait Design: Send + Sync {
    /// Its name in reports (`l1:terrace`, `optimistic`, `optimistic-bls`).
    fn name(&self) -> String;

    /// Where it runs.
    fn layer(&self) -> Layer;

    /// The L1 parameters it runs on.
    fn params(&self) -> ChainParams;

    /// An L2BEAT-style risk summary from its actual configuration (none
    /// for an L1).
    fn risks(&self) -> Option<RiskSummary>;

    /// Runs it on the workload in simulation; `progress` hears what it is
    /// doing.
    fn run(&self, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError>;

    /// What its run must show, judged on its report.
    fn checks(&self, report: &DesignReport) -> Vec<Check>;
}

/// What limits an L1's throughput of one kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// Transactions per block allowed by the byte limit.
    pub by_bytes_per_block: u64,
    /// Transactions per block allowed by the gas limit.
    pub by_gas_per_block: u64,
    /// Transactions per block allowed by the gas target (the sustained
    /// rate: above it the base fee rises 12.5% a block until demand
    /// falls back).
    pub at_target_per_block: u64,
    /// `min(bytes limit / tx bytes, gas limit / tx gas) / block time`.
    pub limit_per_s: f64,
    /// The same at the gas target.
    pub target_per_s: f64,
    /// `"block bytes"` or `"block gas"`: whichever binds.
    pub bound_by: &'static str,
}

/// The throughput bound of transactions of `tx_bytes` bytes and `tx_gas`
/// gas under `params`.
pub fn bound(params: &ChainParams, tx_bytes: u64, tx_gas: u64) -> Bound {
    let by_bytes = params.block_bytes_max / tx_bytes.max(1);
    let by_gas = params.block_gas_limit / tx_gas.max(1);
    let at_target = (params.block_gas_target / tx_gas.max(1)).min(by_bytes);
    let per_s = |n: u64| n as f64 * 1000.0 / params.block_time_ms.max(1) as f64;
    Bound {
        by_bytes_per_block: by_bytes,
        by_gas_per_block: by_gas,
        at_target_per_block: at_target,
        limit_per_s: per_s(by_bytes.min(by_gas)),
        target_per_s: per_s(at_target),
        bound_by: if by_bytes <= by_gas {
            "block bytes"
        } else {
            "block gas"
        },
    }
}

/// An L2BEAT-style risk summary, computed from a design's configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSummary {
    /// The design.
    pub design: String,
    /// How L1 accepts its state.
    pub state_validation: String,
    /// Where its data lives.
    pub data_availability: String,
    /// How long users wait to exit to L1 (and can react to a bad state).
    pub exit_window: String,
    /// The same wait in milliseconds of L1 blocks (a parameter, not a
    /// measurement).
    pub exit_window_ms: u64,
    /// What users do when the sequencer censors or stops.
    pub sequencer_failure: String,
    /// What happens when the proposer stops.
    pub proposer_failure: String,
}

/// `ms` as a short human duration.
pub fn human_ms(ms: u64) -> String {
    crate::report::dur(ms as f64)
}
