//! `terrace bench` without a subcommand: the lab. Every design on one
//! seeded workload in simulation, the scenarios, a short wall-clock pass,
//! a table in the terminal, and a report directory (JSON, Markdown,
//! HTML).

use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::{path::PathBuf, time::Instant};
use terrace_lab::{
    claims,
    lab::{self, LabConfig, Step},
    report::{self, html},
    scenario, wall_clock,
};

/// The lab's options.
#[derive(clap::Args, Debug)]
pub struct LabArgs {
    /// A smoke run: fewer blocks and sweep points (under a minute).
    #[arg(long)]
    quick: bool,
    /// L1 validators in each simulated network [default: 7, quick 4].
    #[arg(long)]
    validators: Option<u32>,
    /// Workload accounts [default: 2,000, quick 1,000].
    #[arg(long)]
    accounts: Option<u32>,
    /// Zipf exponent of the workload's senders and receivers.
    #[arg(long, default_value_t = 1.0)]
    zipf: f64,
    /// Workload and simulation seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Only designs whose name contains one of these, comma-separated
    /// (e.g. `bitcoin,optimistic`).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Report directory.
    #[arg(long, default_value = "lab-report")]
    out: PathBuf,
    /// Print one JSON document on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Cores each L1 validator is given in the CPU bound of throughput
    /// (a stated parameter, not this machine's).
    #[arg(long, default_value_t = 2)]
    validator_cores: u32,
    /// Skip the scenarios (they run by default, after the designs).
    #[arg(long)]
    no_scenarios: bool,
    /// Skip the wall-clock pass (a full run without --only makes one;
    /// --quick never does).
    #[arg(long)]
    no_wall_clock: bool,
}

/// Runs the lab.
pub fn bench(args: &LabArgs) -> Result<()> {
    let mut cfg = LabConfig::new(args.quick);
    if let Some(v) = args.validators {
        cfg.validators = v;
    }
    if let Some(a) = args.accounts {
        cfg.accounts = a;
    }
    cfg.zipf_exponent = args.zipf;
    cfg.seed = args.seed;
    cfg.only = args.only.clone();
    cfg.scenarios = !args.no_scenarios;
    cfg.validator_cores = args.validator_cores.max(1);
    if cfg.designs().is_empty() {
        let names: Vec<String> = LabConfig::new(args.quick)
            .designs()
            .iter()
            .map(|d| d.name())
            .collect();
        bail!(
            "--only {} matches no design; the designs are {}",
            args.only.join(","),
            names.join(", ")
        );
    }
    let wall_clock = !args.quick && !args.no_wall_clock && args.only.is_empty();
    let lab_steps = cfg.steps();
    let total = lab_steps + if wall_clock { wall_clock::STEPS } else { 0 };
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} {wide_msg}")?
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut report = lab::run(&cfg, &|step: Step<'_>| {
        bar.set_position(step.done as u64);
        bar.set_message(step.what.to_string());
    })?;
    if wall_clock {
        let pass = wall_clock::pass(cfg.seed, &|done, what| {
            bar.set_position((lab_steps + done) as u64);
            bar.set_message(what.to_string());
        })?;
        report.add_wall_clock(pass);
    }
    report.wall_s = started.elapsed().as_secs_f64();
    bar.finish_and_clear();

    let text = serde_json::to_string_pretty(&report)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(args.out.join("report.json"), &text)?;
    std::fs::write(args.out.join("report.md"), report::markdown(&report))?;
    std::fs::write(args.out.join("report.html"), html::page(&report))?;
    if args.json {
        println!("{text}");
    } else {
        println!("{}", report::table(&report));
        print!("{}", report::risks(&report));
        println!();
        println!(
            "{}",
            claims::comparison_table(&report.comparison).markdown()
        );
        println!("{}", claims::claims_table(&report.claims).markdown());
        if !report.scenarios.is_empty() {
            println!("{}", scenario::table(&report.scenarios));
        }
        for w in &report.wall_clock {
            println!(
                "wall-clock {}: {} = {} {}",
                w.run,
                w.metric,
                report::fig(w.value),
                w.unit
            );
        }
        for c in &report.checks {
            println!("{c}");
        }
        println!(
            "\nreport: {} (report.json, report.md, report.html); {:.0} s",
            args.out.display(),
            report.wall_s
        );
    }
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.passed).collect();
    if !failed.is_empty() {
        bail!(
            "{} check(s) failed: {}",
            failed.len(),
            failed
                .iter()
                .map(|c| c.design.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
