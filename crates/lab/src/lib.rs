//! The lab: runs the designs — named configurations of the real L1 and L2
//! components — on one seeded workload, and measures them with the same
//! definitions.
//!
//! - [`workload`]: reproducible transaction streams (`payments`).
//! - [`design`]: the [`design::Design`] trait every design implements, L1
//!   parameter presets, throughput bounds from parameters, and the risk
//!   summaries read from a design's actual configuration.
//! - [`designs`]: one folder per design (its run and its scenarios) and the
//!   two registries, [`designs::all`] and [`designs::scenarios`], that gain
//!   one line per design.
//! - [`sim`]: the deterministic runtime with the WAN model and virtual
//!   time that every simulated run shares; every figure says its clock.
//! - [`wall_clock`]: the figures measured on this machine's clock (STF,
//!   L1 execution, sequencer and JSON-RPC soft confirmations).
//! - [`report`]: the metrics of one run and their renderings (terminal
//!   table, Markdown, JSON records, self-contained HTML with SVG charts).
//! - [`claims`]: the comparison table and headline claims of `CLAIMS.md`,
//!   each verdict a stated rule from [`claims::rules`] applied to measured
//!   values.
//! - [`scenario`]: adversarial scenarios played on the same components,
//!   each judged against its design's trust model.
//!
//! The lab drives the real node and rollup code; it owns no consensus,
//! execution or settlement logic of its own.

pub mod claims;
pub mod design;
pub mod designs;
pub mod lab;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod util;
pub mod wall_clock;
pub mod workload;

/// Why a lab run failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The configuration cannot run.
    #[error("invalid lab configuration: {0}")]
    Config(String),
    /// A wall-clock measurement failed.
    #[error("wall-clock measurement: {0}")]
    WallClock(String),
    /// A run did not reach its goal in virtual time.
    #[error("{design}: {what}")]
    Run {
        /// The design.
        design: String,
        /// What went wrong.
        what: String,
    },
}
