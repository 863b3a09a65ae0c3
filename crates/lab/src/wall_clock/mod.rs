//! Measurements on the wall clock: what this machine's CPU does, outside
//! the simulation.
//!
//! - [`stf`]: the L1 state-transition function on blocks of signed
//!   transfers (`terrace bench stf`);
//! - [`l1`]: validators as real nodes on loopback TCP, and the same chain
//!   in simulation over the WAN model (`terrace bench l1`);
//! - [`sequencer`]: the optimistic rollup's sequencer and verifier in one
//!   process (`terrace bench sequencer`);
//! - [`pass`]: the short pass that ends a full `terrace bench`.
//!
//! Every figure here says it is wall-clock; none is asserted in a test.

pub mod l1;
pub mod sequencer;
pub mod stf;

use crate::{LabError, report::WallFigure};

/// A failed wall-clock measurement.
pub(crate) fn fail(what: impl std::fmt::Display) -> LabError {
    LabError::WallClock(what.to_string())
}

/// The result of a wall-clock measurement step.
pub(crate) type Result<T> = std::result::Result<T, LabError>;

/// Says what was being done when a step failed.
pub(crate) trait Context<T> {
    /// The value, or a [`LabError::WallClock`] naming `what` failed.
    fn context(self, what: &str) -> Result<T>;
}

impl<T, E: std::fmt::Display> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| fail(format!("{what}: {e}")))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, what: &str) -> Result<T> {
        self.ok_or_else(|| fail(what))
    }
}

/// Ends the measurement with a [`LabError::WallClock`].
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::wall_clock::fail(format!($($arg)*)))
    };
}

/// Ends the measurement unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::wall_clock::bail!($($arg)*);
        }
    };
}

pub(crate) use {bail, ensure};

/// Steps of the wall-clock pass: the loopback L1, the sequencer.
pub const STEPS: usize = 2;

/// A short pass on the real runtime: the `terrace` L1 with four validators
/// on loopback in this process (`terrace bench l1`, shortened) and the
/// rollup sequencer (`terrace bench sequencer`, shortened).
/// What the short wall-clock pass measured.
#[derive(Debug, Clone, Default)]
pub struct Pass {
    /// Every figure, for the report's wall-clock section.
    pub figures: Vec<WallFigure>,
    /// Designs measured on real nodes too, with their saturated
    /// throughput (tx/s): shown beside the simulated figure.
    pub design_tps: Vec<(String, f64)>,
}

/// The short pass that ends a full `terrace bench`.
pub fn pass(seed: u64, progress: &dyn Fn(usize, &str)) -> Result<Pass> {
    let validators = 4;
    progress(0, "wall-clock: l1:terrace on loopback");
    let l1 = l1::run(
        &l1::L1BenchConfig {
            validators,
            accounts: 2_000,
            saturated_txs: 20_000,
            paced_rate: 200,
            paced_seconds: 3,
            block_time_ms: None,
            wan_validators: Vec::new(),
            wan_blocks: 0,
            wan_one_way_ms: None,
            wan_cycle_us: 10,
            skip_loopback: false,
            seed,
        },
        |_| {},
    )?;
    progress(1, "wall-clock: optimistic sequencer");
    let seq = sequencer::run(
        &sequencer::SequencerBenchConfig {
            accounts: 10_000,
            txs: 20_000,
            block_txs: 1_000,
            zipf_exponent: 1.0,
            seed,
        },
        |_| {},
    )?;
    let mut design_tps = Vec::new();
    if let Some(p) = l1
        .loopback
        .as_ref()
        .and_then(|lb| lb.phases.iter().find(|p| p.phase == "saturated"))
    {
        design_tps.push(("l1:terrace".to_string(), p.finalized_per_s));
    }
    let mut out = Vec::new();
    let mut push = |run: &str, metric: &str, value: f64, unit: &'static str| {
        out.push(WallFigure {
            run: run.into(),
            metric: metric.into(),
            value,
            unit,
            clock: "wall-clock",
        })
    };
    let run = format!("l1:terrace, {validators} validators on loopback");
    if let Some(lb) = &l1.loopback {
        for p in &lb.phases {
            let phase = p.phase;
            push(
                &run,
                &format!("{phase}: finalized"),
                p.finalized_per_s,
                "tx/s",
            );
            push(
                &run,
                &format!("{phase}: submitted → final p50"),
                p.submit_to_final.p50_ms,
                "ms",
            );
            push(
                &run,
                &format!("{phase}: submitted → final p99"),
                p.submit_to_final.p99_ms,
                "ms",
            );
            push(
                &run,
                &format!("{phase}: CPU per transfer, all validators"),
                p.cpu_us_per_tx,
                "µs",
            );
        }
        push(&run, "parameter bound", lb.params_bound_per_s, "tx/s");
    }
    let run = "optimistic sequencer, one process";
    push(
        run,
        "soft confirmations back to back",
        seq.saturated_per_s,
        "tx/s",
    );
    push(
        run,
        "soft confirmation p50 back to back",
        seq.saturated_latency.p50_us,
        "µs",
    );
    push(
        run,
        &format!(
            "soft confirmation p50 at half load ({} tx/s)",
            crate::report::fig(seq.half_load_per_s)
        ),
        seq.half_load_latency.p50_us,
        "µs",
    );
    push(
        run,
        &format!(
            "soft confirmations in calls of {}, {} threads",
            seq.block_txs, seq.threads
        ),
        seq.batched_per_s,
        "tx/s",
    );
    push(run, "verifier derivation", seq.derive_per_s, "tx/s");
    push(
        run,
        "L1 bytes per transfer (compressed batch)",
        seq.l1_bytes_per_transfer,
        "bytes",
    );
    push(
        run,
        "aggregated (BLS) soft confirmations",
        seq.aggregated.per_s,
        "tx/s",
    );
    Ok(Pass {
        figures: out,
        design_tps,
    })
}
