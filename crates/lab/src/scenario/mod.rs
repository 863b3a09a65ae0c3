//! Adversarial scenarios: an attacker plays against the real L1 and rollup
//! code on the deterministic runtime, and the outcome is judged against
//! what the design's trust model promises. Every figure is measured in
//! the run (virtual time, balances read from L1 and the derived L2
//! state); a scenario's seed replays it exactly.

pub(crate) mod stage;

use crate::{LabError, report::Table};
use commonware_runtime::{Runner as _, deterministic};
use serde::Serialize;
use std::{fmt::Write as _, time::Duration};

pub use crate::designs::channels::scenarios::{
    challenge_congested, htlc_onchain_preimage, jamming, revoked_close_no_tower,
    revoked_close_tower, unresponsive_peer,
};
pub use crate::designs::l1::scenarios::{equivocation, validator_crash};
pub use crate::designs::optimistic::scenarios::{
    censorship, double_claim, early_claim, forged_aggregate, forged_withdrawal, invalid_root,
    malicious_challenger, silent_sequencer,
};

/// One scenario of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name on the command line.
    pub name: &'static str,
    /// The design under attack (`l1`, `optimistic`, `channels`, …).
    pub design: &'static str,
    /// What the attacker tries.
    pub attack: &'static str,
    /// What the trust model promises.
    pub promise: &'static str,
    /// The seed `run --all` uses.
    pub seed: u64,
    /// Plays it with a seed.
    pub(crate) play: fn(u64) -> Result<Outcome, LabError>,
    /// Plays it with the honest side switched off, where the scenario has
    /// such a variant: its verdict must break (a test of the judge).
    pub(crate) sabotage: Option<fn(u64) -> Result<Outcome, LabError>>,
}

/// What a scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// What happened, with the figures.
    pub happened: String,
    /// Funds honest parties lost (aTER): taken by someone else, or gone
    /// for good.
    pub funds_lost: u128,
    /// Funds of honest parties nobody can move any more, though nobody
    /// took them: still in escrow, with no proof anyone honest can build
    /// to get them out (a validium whose data was withheld). Counted
    /// apart from `funds_lost` because the trust model predicts it.
    pub funds_frozen: u128,
    /// Virtual time from the attack to its resolution.
    pub resolution: Duration,
    /// Which two moments `resolution` spans.
    pub resolution_span: &'static str,
    /// The promises that did not hold, in words.
    pub broken: Vec<String>,
}

impl Outcome {
    /// Records `promise`, broken unless `held`.
    pub(crate) fn expect(&mut self, held: bool, promise: impl Into<String>) {
        if !held {
            self.broken.push(promise.into());
        }
    }
}

/// A scenario's verdict: the row of the table and the JSON record.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The scenario.
    pub scenario: &'static str,
    /// The design under attack.
    pub design: &'static str,
    /// What the attacker tried.
    pub attack: &'static str,
    /// What the trust model promises.
    pub promise: &'static str,
    /// What happened, with the measured figures (or why the run failed).
    pub outcome: String,
    /// Funds honest parties lost, in aTER (a decimal string: amounts exceed
    /// JSON's exact integers).
    pub funds_lost_ater: String,
    /// Funds of honest parties frozen: nobody took them and nobody honest
    /// can move them (aTER, a decimal string).
    pub funds_frozen_ater: String,
    /// Virtual time from the attack to its resolution (ms).
    pub resolution_ms: u64,
    /// The two moments the resolution time spans.
    pub resolution: &'static str,
    /// The clock of `resolution_ms`: always `simulated`.
    pub clock: &'static str,
    /// The seed that replays the run.
    pub seed: u64,
    /// Whether the outcome is what the trust model promises.
    pub holds: bool,
    /// Played with its honest side switched off (`--sabotage`).
    pub sabotaged: bool,
    /// The promises that did not hold.
    pub broken: Vec<String>,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
}

/// The catalog: every design's scenarios ([`crate::designs::scenarios`]),
/// in the order `run --all` plays them.
pub fn catalog() -> Vec<Scenario> {
    crate::designs::scenarios()
}

/// The scenario named `name`.
pub fn find(name: &str) -> Option<Scenario> {
    catalog().into_iter().find(|s| s.name == name)
}

impl Scenario {
    /// Whether it has a sabotaged variant ([`Self::run_sabotaged`]).
    pub fn can_sabotage(&self) -> bool {
        self.sabotage.is_some()
    }

    /// Plays the scenario with `seed` and judges it.
    pub fn run(&self, seed: u64) -> Verdict {
        self.judge(seed, self.play, false)
    }

    /// Plays the scenario with its honest side switched off (see
    /// [`Self::can_sabotage`]) and judges it against the same promises;
    /// `None` when it has no such variant.
    pub fn run_sabotaged(&self, seed: u64) -> Option<Verdict> {
        self.sabotage.map(|play| self.judge(seed, play, true))
    }

    fn judge(
        &self,
        seed: u64,
        play: fn(u64) -> Result<Outcome, LabError>,
        sabotaged: bool,
    ) -> Verdict {
        let wall = std::time::Instant::now();
        let (outcome, holds) = match play(seed) {
            Ok(o) => {
                let holds = o.broken.is_empty();
                (o, holds)
            }
            Err(e) => (
                Outcome {
                    happened: format!("the run failed: {e}"),
                    broken: vec!["the run reached its end".into()],
                    ..Outcome::default()
                },
                false,
            ),
        };
        Verdict {
            scenario: self.name,
            design: self.design,
            attack: self.attack,
            promise: self.promise,
            outcome: outcome.happened,
            funds_lost_ater: outcome.funds_lost.to_string(),
            funds_frozen_ater: outcome.funds_frozen.to_string(),
            resolution_ms: outcome.resolution.as_millis() as u64,
            resolution: outcome.resolution_span,
            clock: "simulated",
            seed,
            holds,
            sabotaged,
            broken: outcome.broken,
            wall_s: wall.elapsed().as_secs_f64(),
        }
    }
}

/// The deterministic runtime every scenario runs on: `seed`, a virtual
/// time limit far beyond any scenario's need.
pub(crate) fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_cycle(crate::sim::SCHEDULER_CYCLE)
            .with_timeout(Some(Duration::from_secs(7_200))),
    )
}

/// Plays `play` on a fresh runtime.
pub(crate) fn play<F, Fut>(seed: u64, play: F) -> Result<Outcome, LabError>
where
    F: FnOnce(deterministic::Context) -> Fut,
    Fut: Future<Output = Result<Outcome, LabError>>,
{
    runner(seed).start(play)
}

/// aTER as TER for people.
fn eth(ater: u128) -> String {
    if ater == 0 {
        "0".into()
    } else {
        format!("{:.6} TER", ater as f64 / 1e18)
    }
}

/// The verdict table for the terminal and Markdown: per scenario, what
/// the attacker tried, what the trust model promises, what happened,
/// funds lost and frozen, the virtual time to resolution and the seed.
pub fn table(verdicts: &[Verdict]) -> String {
    verdict_table(verdicts).markdown()
}

/// The verdicts as a [`Table`], for every rendering.
pub fn verdict_table(verdicts: &[Verdict]) -> Table {
    let mut table = Table::new(&[
        "scenario",
        "design",
        "verdict",
        "attacker tried",
        "trust model promises",
        "what happened",
        "funds lost",
        "funds frozen",
        "resolution (virtual)",
        "seed",
    ]);
    for v in verdicts {
        table.rows.push(vec![
            v.scenario.into(),
            v.design.into(),
            if v.holds { "holds" } else { "BROKEN" }.into(),
            v.attack.into(),
            v.promise.into(),
            v.outcome.clone(),
            eth(v.funds_lost_ater.parse().unwrap_or(u128::MAX)),
            eth(v.funds_frozen_ater.parse().unwrap_or(u128::MAX)),
            format!(
                "{} ({})",
                crate::design::human_ms(v.resolution_ms),
                v.resolution
            ),
            v.seed.to_string(),
        ]);
    }
    table
}

/// The promises that did not hold, with the command that replays each
/// run; empty when every verdict holds.
pub fn broken(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for v in verdicts.iter().filter(|v| !v.holds) {
        let _ = writeln!(out, "{} ({}) BROKEN:", v.scenario, v.design);
        for b in &v.broken {
            let _ = writeln!(out, "  - {b}");
        }
        let _ = writeln!(
            out,
            "  replay: terrace scenario run {} --seed {}{}",
            v.scenario,
            v.seed,
            if v.sabotaged { " --sabotage" } else { "" }
        );
    }
    out
}
