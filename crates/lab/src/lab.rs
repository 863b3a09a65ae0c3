//! The lab's runs: which designs, with how much work, in quick and full
//! mode; and the checks a run must pass.

use crate::{
    LabError, claims,
    design::{L1Preset, bound},
    report::{DesignReport, LabReport},
    scenario,
    sim_l1::{self, L1Run, transfer_cost},
    sim_optimistic::{self, OptimisticRun, lab_rollup, sequencer_key},
    workload::Payments,
};
use serde::Serialize;
use std::time::Instant;
use terrace_primitives::{Address, keys::Signer as _};

/// What to run.
#[derive(Debug, Clone)]
pub struct LabConfig {
    /// A smoke run: fewer blocks, fewer sweep points, under a minute.
    pub quick: bool,
    /// L1 validators in every simulated network.
    pub validators: u32,
    /// Workload accounts.
    pub accounts: u32,
    /// Zipf exponent of senders and receivers.
    pub zipf_exponent: f64,
    /// Workload and simulation seed.
    pub seed: u64,
    /// Only designs whose name contains one of these (all when empty).
    pub only: Vec<String>,
    /// Also play every scenario of the catalog, each with its own seed.
    pub scenarios: bool,
}

impl LabConfig {
    /// The defaults of `terrace bench` (or `--quick`).
    pub fn new(quick: bool) -> Self {
        Self {
            quick,
            validators: if quick { 4 } else { 7 },
            accounts: if quick { 1_000 } else { 2_000 },
            zipf_exponent: 1.0,
            seed: 1,
            only: Vec::new(),
            scenarios: true,
        }
    }

    fn workload(&self) -> Payments {
        Payments {
            accounts: self.accounts,
            zipf_exponent: self.zipf_exponent,
            seed: self.seed,
        }
    }

    /// The L1 runs.
    pub fn l1_runs(&self) -> Vec<L1Run> {
        let q = self.quick;
        // (preset, paced blocks, saturated blocks) for full and quick runs.
        let mut presets = vec![
            (
                L1Preset::Terrace,
                if q { 2 } else { 4 },
                if q { 1 } else { 3 },
            ),
            (
                L1Preset::BitcoinLike,
                if q { 1 } else { 2 },
                if q { 1 } else { 2 },
            ),
            (
                L1Preset::EthereumLike,
                if q { 2 } else { 5 },
                if q { 1 } else { 4 },
            ),
        ];
        let sweep: &[u64] = if q { &[128, 512] } else { &[256, 512, 1024] };
        presets.extend(
            sweep
                .iter()
                .map(|kib| (L1Preset::BigBlocks(kib * 1024), 2, if q { 1 } else { 2 })),
        );
        presets
            .into_iter()
            .map(|(preset, paced_blocks, saturated_blocks)| L1Run {
                name: preset.name(),
                params: preset.params(),
                validators: self.validators,
                workload: self.workload(),
                rate: None,
                rate_share: if q { 0.1 } else { 0.5 },
                paced_blocks,
                saturated_blocks,
                seed: self.seed,
            })
            .filter(|r| self.wanted(&r.name))
            .collect()
    }

    /// The optimistic-rollup run.
    pub fn optimistic_run(&self) -> Option<OptimisticRun> {
        let sequencer = Address::from_public_key(&sequencer_key().public_key());
        let run = OptimisticRun {
            name: "optimistic".into(),
            validators: self.validators,
            workload: self.workload(),
            rate: if self.quick { 200.0 } else { 500.0 },
            paced_seconds: if self.quick { 3 } else { 6 },
            backlog: if self.quick { 3_000 } else { 20_000 },
            config: lab_rollup(sequencer),
            seed: self.seed,
        };
        self.wanted(&run.name).then_some(run)
    }

    fn wanted(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
    }
}

/// A check of a run against what its parameters predict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Design.
    pub design: String,
    /// What is checked.
    pub what: String,
    /// Whether it held.
    pub passed: bool,
}

impl std::fmt::Display for Check {
    /// `pass DESIGN: WHAT` or `FAIL DESIGN: WHAT`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = if self.passed { "pass" } else { "FAIL" };
        write!(f, "{mark} {}: {}", self.design, self.what)
    }
}

/// How far a saturated L1's measured throughput may be from its bound.
pub const BOUND_TOLERANCE: f64 = 0.10;

/// The checks of `report`: every saturated L1 run within
/// [`BOUND_TOLERANCE`] of its parameter bound; every L2 with a
/// withdrawable tier after its final tier; every scenario's verdict as its
/// trust model promises.
pub fn checks(report: &LabReport) -> Vec<Check> {
    let scenarios = report.scenarios.iter().map(|v| Check {
        design: format!("scenario {}", v.scenario),
        what: format!(
            "the outcome is what the {} trust model promises{}",
            v.design,
            if v.broken.is_empty() {
                String::new()
            } else {
                format!(" (broken: {})", v.broken.join("; "))
            }
        ),
        passed: v.holds,
    });
    report
        .designs
        .iter()
        .map(|d| {
            if d.layer == "l1" {
                let t = &d.throughput;
                let ratio = t.measured_tps / t.limit_tps.max(1e-9);
                Check {
                    design: d.design.clone(),
                    what: format!(
                        "measured {:.2} tx/s within {:.0}% of the bound min(bytes/tx bytes, gas/tx gas)/block time = {:.2} ({:.3}×)",
                        t.measured_tps,
                        BOUND_TOLERANCE * 100.0,
                        t.limit_tps,
                        ratio
                    ),
                    passed: (ratio - 1.0).abs() <= BOUND_TOLERANCE,
                }
            } else {
                let l = &d.latency;
                Check {
                    design: d.design.clone(),
                    what: format!(
                        "every transfer withdrawable, after L1 finality (p50 {:.0} ms ≥ {:.0} ms)",
                        l.withdrawable.p50_ms, l.final_l1.p50_ms
                    ),
                    passed: l.withdrawable.samples
                        + d.latency_saturated
                            .as_ref()
                            .map_or(0, |s| s.withdrawable.samples)
                        == d.workload.transfers
                        && l.withdrawable.p50_ms >= l.final_l1.p50_ms,
                }
            }
        })
        .chain(scenarios)
        .collect()
}

/// Where a run is: `done` of `total` steps (a design or a scenario each),
/// and what it is doing now.
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// Steps finished.
    pub done: usize,
    /// Steps in the run.
    pub total: usize,
    /// What runs now.
    pub what: &'a str,
}

impl LabConfig {
    /// The steps [`run`] takes: one per design and scenario.
    pub fn steps(&self) -> usize {
        self.l1_runs().len()
            + usize::from(self.optimistic_run().is_some())
            + if self.scenarios {
                scenario::catalog().len()
            } else {
                0
            }
    }
}

/// Runs every design of `cfg`, then the scenarios; `progress` hears each
/// step.
pub fn run(cfg: &LabConfig, progress: &dyn Fn(Step<'_>)) -> Result<LabReport, LabError> {
    let wall = Instant::now();
    let total = cfg.steps();
    let mut designs: Vec<DesignReport> = Vec::new();
    let at = |done: usize| move |what: &str| progress(Step { done, total, what });
    for r in cfg.l1_runs() {
        designs.push(sim_l1::run(&r, &at(designs.len()))?);
    }
    if let Some(r) = cfg.optimistic_run() {
        designs.push(sim_optimistic::run(&r, &at(designs.len()))?);
    }
    let mut report = LabReport::new(
        if cfg.quick { "quick" } else { "full" },
        cfg.seed,
        designs,
        0.0,
    );
    if cfg.scenarios {
        for s in scenario::catalog() {
            at(report.designs.len() + report.scenarios.len())(&format!("scenario {}", s.name));
            report.scenarios.push(s.run(s.seed));
        }
    }
    report.checks = checks(&report);
    report.claims = claims::claims(&report);
    report.comparison = claims::comparison(&report);
    report.wall_s = wall.elapsed().as_secs_f64();
    Ok(report)
}

/// The bound of a workload transfer on `preset`, from parameters alone.
pub fn preset_bound(preset: L1Preset) -> Result<crate::design::Bound, LabError> {
    let params = preset.params();
    let (bytes, gas) = transfer_cost(&params)?;
    Ok(bound(&params, bytes, gas))
}
