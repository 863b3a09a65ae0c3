//! Adversarial scenarios: an attacker plays against the real L1 and rollup
//! code on the deterministic runtime, and the outcome is judged against
//! what the design's trust model promises. Every figure is measured in
//! the run (virtual time, balances read from L1 and the derived L2
//! state); a scenario's seed replays it exactly.

mod l1;
mod rollup;
mod stage;

use crate::{LabError, report::Table};
use commonware_runtime::{Runner as _, deterministic};
use serde::Serialize;
use std::{fmt::Write as _, time::Duration};

pub use l1::{equivocation, validator_crash};
pub use rollup::{
    censorship, double_claim, early_claim, forged_aggregate, forged_withdrawal, invalid_root,
    malicious_challenger, silent_sequencer,
};

/// One scenario of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Its name on the command line.
    pub name: &'static str,
    /// The design under attack: `l1` or `optimistic`.
    pub design: &'static str,
    /// What the attacker tries.
    pub attack: &'static str,
    /// What the trust model promises.
    pub promise: &'static str,
    /// The seed `run --all` uses.
    pub seed: u64,
    play: fn(u64) -> Result<Outcome, LabError>,
}

/// What a scenario measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// What happened, with the figures.
    pub happened: String,
    /// Funds honest parties lost (wei).
    pub funds_lost: u128,
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
    /// Funds honest parties lost, in wei (a decimal string: wei exceed
    /// JSON's exact integers).
    pub funds_lost_wei: String,
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
    /// The promises that did not hold.
    pub broken: Vec<String>,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
}

/// The catalog, in the order `run --all` plays it.
pub fn catalog() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "invalid-root",
            design: "optimistic",
            attack: "the sequencer posts a batch with a false output root",
            promise: "one honest verifier wins the bisection game inside the challenge window: the batch and those after it are reverted, the poster's bond is slashed, the honest chain is re-posted with every confirmed transfer",
            seed: 21,
            play: |seed| invalid_root(seed, false),
        },
        Scenario {
            name: "malicious-challenger",
            design: "optimistic",
            attack: "a challenger disputes every honest batch and disagrees with every root",
            promise: "a false challenge reverts nothing: the defender wins on the one-step proof or the move deadline, the challenger loses its bond, the batches become final",
            seed: 31,
            play: |seed| malicious_challenger(seed, false),
        },
        Scenario {
            name: "censorship",
            design: "optimistic",
            attack: "the sequencer refuses a user's transactions and leaves her forced transaction out of its batches",
            promise: "a transaction forced through the L1 inbox executes: batches that skip it past the sequencing window are refused, and anyone may post it after that",
            seed: 41,
            play: censorship,
        },
        Scenario {
            name: "silent-sequencer",
            design: "optimistic",
            attack: "the sequencer goes silent: it produces and posts nothing",
            promise: "after a sequencing window without a batch anyone may post: a deposit still reaches L2",
            seed: 51,
            play: silent_sequencer,
        },
        Scenario {
            name: "forged-withdrawal",
            design: "optimistic",
            attack: "a user claims ten times his withdrawal, and a thief claims it to her own address, with altered Merkle proofs",
            promise: "L1 pays only withdrawals whose Merkle path leads to a final output root: forged claims fail and the escrow is untouched; the true claim pays",
            seed: 71,
            play: forged_withdrawal,
        },
        Scenario {
            name: "double-claim",
            design: "optimistic",
            attack: "a user claims the same withdrawal twice",
            promise: "each withdrawal pays once: the second claim fails and the escrow falls by the amount once",
            seed: 72,
            play: double_claim,
        },
        Scenario {
            name: "early-claim",
            design: "optimistic",
            attack: "a user claims a withdrawal before its batch's challenge window is over",
            promise: "nothing is paid before the window ends; the same claim pays once the batch is final",
            seed: 73,
            play: early_claim,
        },
        Scenario {
            name: "forged-aggregate",
            design: "optimistic",
            attack: "the sequencer slips an unsigned transfer out of a BLS account into a block beside its owner's aggregated transfer, with every root true to the data",
            promise: "one L1 transaction proves the aggregate wrong: the batch falls, the sequencer is slashed, the owner's own transfer is re-posted and the forged one never returns",
            seed: 61,
            play: forged_aggregate,
        },
        Scenario {
            name: "equivocation",
            design: "l1",
            attack: "a validator signs conflicting votes (equivocates) in every view",
            promise: "safety holds with fewer than a third faulty; the evidence is reported, 10% of its stake is slashed and it leaves the committee at the next epoch; the others keep finalizing",
            seed: 41,
            play: equivocation,
        },
        Scenario {
            name: "validator-crash",
            design: "l1",
            attack: "a validator is killed mid-run and restarted later from its storage",
            promise: "the others keep finalizing without it (one of four is under a third); it catches up from its storage and peers, with every transfer final",
            seed: 11,
            play: validator_crash,
        },
    ]
}

/// The scenario named `name`.
pub fn find(name: &str) -> Option<Scenario> {
    catalog().into_iter().find(|s| s.name == name)
}

impl Scenario {
    /// Plays the scenario with `seed` and judges it.
    pub fn run(&self, seed: u64) -> Verdict {
        let wall = std::time::Instant::now();
        let (outcome, holds) = match (self.play)(seed) {
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
            funds_lost_wei: outcome.funds_lost.to_string(),
            resolution_ms: outcome.resolution.as_millis() as u64,
            resolution: outcome.resolution_span,
            clock: "simulated",
            seed,
            holds,
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
            .with_cycle(crate::sim_l1::SCHEDULER_CYCLE)
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

/// Wei as ETH for people.
fn eth(wei: u128) -> String {
    if wei == 0 {
        "0".into()
    } else {
        format!("{:.6} ETH", wei as f64 / 1e18)
    }
}

/// The verdict table for the terminal and Markdown: per scenario, what
/// the attacker tried, what the trust model promises, what happened,
/// funds lost, the virtual time to resolution and the seed.
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
            eth(v.funds_lost_wei.parse().unwrap_or(u128::MAX)),
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
            "  replay: terrace scenario run {} --seed {}",
            v.scenario, v.seed
        );
    }
    out
}
