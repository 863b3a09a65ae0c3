//! The lab's runs: which designs, with how much work, in quick and full
//! mode; and the checks a run must pass.

use crate::{
    LabError, claims,
    design::Design,
    report::{DesignReport, LabReport},
    scenario,
    workload::Payments,
};
use serde::Serialize;
use std::time::Instant;

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
    /// Cores each L1 validator is given in the CPU bound of throughput.
    pub validator_cores: u32,
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
            validator_cores: 2,
        }
    }

    /// The workload every design runs.
    pub fn workload(&self) -> Payments {
        Payments {
            accounts: self.accounts,
            zipf_exponent: self.zipf_exponent,
            seed: self.seed,
        }
    }

    /// The designs to run: every design of [`crate::designs::all`] that
    /// `only` selects.
    pub fn designs(&self) -> Vec<Box<dyn Design>> {
        crate::designs::all(self)
            .into_iter()
            .filter(|d| self.wanted(&d.name()))
            .collect()
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

/// The checks of `report`: what each design's run must show
/// ([`Design::checks`]), and every scenario's verdict as its trust model
/// promises.
pub fn checks(designs: &[Box<dyn Design>], report: &LabReport) -> Vec<Check> {
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
        .flat_map(|d| {
            designs
                .iter()
                .find(|design| design.name() == d.design)
                .map(|design| design.checks(d))
                .unwrap_or_default()
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
        self.designs().len()
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
    let designs = cfg.designs();
    let mut reports: Vec<DesignReport> = Vec::new();
    let at = |done: usize| move |what: &str| progress(Step { done, total, what });
    for d in &designs {
        reports.push(d.run(&at(reports.len()))?);
    }
    let mut report = LabReport::new(
        if cfg.quick { "quick" } else { "full" },
        cfg.seed,
        reports,
        0.0,
    );
    if cfg.scenarios {
        for s in scenario::catalog() {
            at(report.designs.len() + report.scenarios.len())(&format!("scenario {}", s.name));
            report.scenarios.push(s.run(s.seed));
        }
    }
    report.checks = checks(&designs, &report);
    report.claims = claims::claims(&report);
    report.comparison = claims::comparison(&report);
    report.wall_s = wall.elapsed().as_secs_f64();
    Ok(report)
}
