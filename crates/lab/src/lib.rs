//! The lab: runs the designs — named configurations of the real L1 and L2
//! components — on one seeded workload, and measures them with the same
//! definitions.
//!
//! - [`workload`]: reproducible transaction streams (`payments`).
//! - [`design`]: L1 parameter presets and L2 designs, their throughput
//!   bounds from parameters, and the L2 risk summaries from their actual
//!   configuration.
//! - [`sim_l1`], [`sim_optimistic`]: runs on the deterministic runtime
//!   with the WAN model and virtual time; every figure says which clock it
//!   came from.
//! - [`report`]: the metrics of one run and their renderings (terminal
//!   table, Markdown, JSON records).
//! - [`claims`]: the comparison table and headline claims of
//!   `CLAIMS.md`, answered with the run's figures.
//! - [`html`]: the self-contained HTML report with SVG charts.
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
