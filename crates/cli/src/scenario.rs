//! `terrace scenario`: the lab's adversarial scenarios, each judged
//! against its design's trust model.

use anyhow::{Result, bail};
use clap::Subcommand;
use terrace_lab::scenario::{self, Verdict};

/// What `terrace scenario` does.
#[derive(Subcommand, Debug)]
pub enum ScenarioCommand {
    /// The scenarios, with what the attacker tries and what is promised.
    List {
        /// One JSON document on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Play one scenario, or every one with --all, and print the verdicts.
    Run {
        /// The scenario (see `terrace scenario list`).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        name: Option<String>,
        /// Play every scenario, each with its own seed.
        #[arg(long)]
        all: bool,
        /// Replay with this seed instead of the scenario's own.
        #[arg(long)]
        seed: Option<u64>,
        /// One JSON document on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Switch the honest side off (where the scenario has such a
        /// variant, e.g. invalid-root without its verifier): the verdict
        /// must come out BROKEN, a check of the judge itself.
        #[arg(long)]
        sabotage: bool,
    },
}

/// `terrace scenario list --json`: one entry per scenario.
#[derive(serde::Serialize)]
struct Entry {
    name: &'static str,
    design: &'static str,
    attack: &'static str,
    promise: &'static str,
    seed: u64,
}

/// `terrace scenario run --json`.
#[derive(serde::Serialize)]
struct Document<'a> {
    verdicts: &'a [Verdict],
    /// Whether every verdict matches its trust model.
    all_hold: bool,
}

/// Runs `terrace scenario …`; fails when a verdict contradicts its trust
/// model.
pub fn run(command: &ScenarioCommand) -> Result<()> {
    match command {
        ScenarioCommand::List { json } => {
            let catalog = scenario::catalog();
            if *json {
                let entries: Vec<Entry> = catalog
                    .iter()
                    .map(|s| Entry {
                        name: s.name,
                        design: s.design,
                        attack: s.attack,
                        promise: s.promise,
                        seed: s.seed,
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                for s in &catalog {
                    println!("{:<22} {:<11} {}", s.name, s.design, s.attack);
                }
            }
            Ok(())
        }
        ScenarioCommand::Run {
            name,
            all,
            seed,
            json,
            sabotage,
        } => {
            let chosen = if *all {
                scenario::catalog()
            } else {
                let name = name.as_deref().unwrap_or_default();
                match scenario::find(name) {
                    Some(s) => vec![s],
                    None => bail!("no scenario {name:?}; `terrace scenario list` shows them"),
                }
            };
            if *sabotage && let Some(s) = chosen.iter().find(|s| !s.can_sabotage()) {
                bail!("scenario {} has no sabotaged variant", s.name);
            }
            let mut verdicts = Vec::new();
            for s in &chosen {
                if !json {
                    eprintln!(
                        "… {}{}",
                        s.name,
                        if *sabotage { " (sabotaged)" } else { "" }
                    );
                }
                let seed = seed.unwrap_or(s.seed);
                let verdict = if *sabotage {
                    s.run_sabotaged(seed)
                } else {
                    Some(s.run(seed))
                };
                verdicts.extend(verdict);
            }
            let all_hold = verdicts.iter().all(|v| v.holds);
            if *json {
                let doc = Document {
                    verdicts: &verdicts,
                    all_hold,
                };
                println!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print!("{}", scenario::table(&verdicts));
                print!("{}", scenario::broken(&verdicts));
            }
            let broken: Vec<_> = verdicts
                .iter()
                .filter(|v| !v.holds)
                .map(|v| v.scenario)
                .collect();
            if !broken.is_empty() {
                bail!(
                    "{} scenario(s) contradict their trust model: {}",
                    broken.len(),
                    broken.join(", ")
                );
            }
            Ok(())
        }
    }
}
