//! `terrace bench` without a subcommand: the lab. Every design on one
//! seeded workload in simulation, a table in the terminal, and a report
//! directory (JSON, Markdown).

use anyhow::{Context as _, Result, bail};
use std::path::PathBuf;
use terrace_lab::{
    lab::{self, LabConfig},
    report,
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
}

/// The JSON document of `terrace bench --json` and `report.json`.
#[derive(serde::Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    report: &'a report::LabReport,
    checks: &'a [lab::Check],
    claims: &'a [report::Claim],
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
    if cfg.l1_runs().is_empty() && cfg.optimistic_run().is_none() {
        bail!("--only {:?} matches no design", args.only);
    }
    let json = args.json;
    let progress = |msg: &str| {
        if !json {
            eprintln!("… {msg}");
        }
    };
    let report = lab::run(&cfg, &progress)?;
    let checks = lab::checks(&report);
    let claims = report::claims(&report);
    let doc = Document {
        report: &report,
        checks: &checks,
        claims: &claims,
    };
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    std::fs::write(args.out.join("report.json"), &text)?;
    let mut md = report::markdown(&report);
    md.push_str("\n## Claims\n\n");
    md.push_str(&report::claims_markdown(&claims));
    md.push_str("\n## Checks\n\n");
    for c in &checks {
        md.push_str(&format!(
            "- {} {}: {}\n",
            if c.passed { "pass" } else { "FAIL" },
            c.design,
            c.what
        ));
    }
    std::fs::write(args.out.join("report.md"), &md)?;
    if json {
        println!("{text}");
    } else {
        println!("{}", report::table(&report));
        print!("{}", report::risks(&report));
        println!("{}", report::claims_markdown(&claims));
        for c in &checks {
            println!(
                "{} {}: {}",
                if c.passed { "pass" } else { "FAIL" },
                c.design,
                c.what
            );
        }
        println!(
            "\nreport: {} (report.json, report.md); {:.0} s",
            args.out.display(),
            report.wall_s
        );
    }
    let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
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
