//! `terrace bench` without a subcommand: the lab. Every design on one
//! seeded workload in simulation, the scenarios, a short wall-clock pass,
//! a table in the terminal, and a report directory (JSON, Markdown,
//! HTML).

use crate::{bench_l1, bench_l2};
use anyhow::{Context as _, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::{path::PathBuf, time::Instant};
use terrace_lab::{
    claims, html,
    lab::{self, LabConfig, Step},
    report::{self, WallFigure},
    scenario,
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
    if cfg.l1_runs().is_empty() && cfg.optimistic_run().is_none() {
        let every = LabConfig::new(args.quick);
        let names: Vec<String> = every
            .l1_runs()
            .into_iter()
            .map(|r| r.name)
            .chain(every.optimistic_run().map(|r| r.name))
            .collect();
        bail!(
            "--only {} matches no design; the designs are {}",
            args.only.join(","),
            names.join(", ")
        );
    }
    let wall_clock = !args.quick && !args.no_wall_clock && args.only.is_empty();
    let lab_steps = cfg.steps();
    let total = lab_steps + if wall_clock { WALL_CLOCK_STEPS } else { 0 };
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
        report.wall_clock = wall_clock_pass(cfg.seed, &|done, what| {
            bar.set_position((lab_steps + done) as u64);
            bar.set_message(what.to_string());
        })?;
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

/// Steps of the wall-clock pass: the loopback L1, the sequencer.
const WALL_CLOCK_STEPS: usize = 2;

/// A short pass on the real runtime: the `terrace` L1 with four validators
/// on loopback in this process (`terrace bench l1`, shortened) and the
/// rollup sequencer (`terrace bench sequencer`, shortened).
fn wall_clock_pass(seed: u64, progress: &dyn Fn(usize, &str)) -> Result<Vec<WallFigure>> {
    let validators = 4;
    progress(0, "wall-clock: l1:terrace on loopback");
    let l1 = bench_l1::run(
        &bench_l1::L1BenchConfig {
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
    let seq = bench_l2::run(
        &bench_l2::SequencerBenchConfig {
            accounts: 10_000,
            txs: 20_000,
            block_txs: 1_000,
            zipf_exponent: 1.0,
            seed,
        },
        |_| {},
    )?;
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
            report::fig(seq.half_load_per_s)
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
    Ok(out)
}
