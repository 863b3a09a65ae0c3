//! The report's renderings: figures in words, the tables, the sections
//! Markdown and HTML share, and the whole report in Markdown.

use super::{LabReport, Tiers};
use crate::{design::RiskSummary, util::Percentiles};
use std::fmt::Write as _;

/// A figure to three significant digits, with thousands separators.
pub fn fig(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a >= 1000.0 {
        let n = x.round() as i128;
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{x:.3}")
    }
}

/// Milliseconds as a short duration.
pub fn dur(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.0} µs", ms * 1000.0)
    } else if ms < 10.0 {
        format!("{ms:.1} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 120_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms < 7_200_000.0 {
        format!("{:.1} min", ms / 60_000.0)
    } else if ms < 172_800_000.0 {
        format!("{:.1} h", ms / 3_600_000.0)
    } else {
        format!("{:.1} days", ms / 86_400_000.0)
    }
}

/// aTER as TER or nTER, whichever reads better (see
/// [`terrace_primitives::amount`] for the units).
pub fn ter(x: f64) -> String {
    if x >= 1e15 {
        format!("{} TER", fig(x / 1e18))
    } else {
        format!("{} nTER", fig(x / 1e9))
    }
}

/// A price per gas in aTER, as nTER per gas.
pub fn per_gas(x: f64) -> String {
    format!("{} nTER/gas", fig(x / 1e9))
}

/// The main table, in Markdown (also printed in the terminal).
pub fn table(r: &LabReport) -> String {
    designs_table(r).markdown()
}

/// The main table: one row per design, its headline figures.
pub fn designs_table(r: &LabReport) -> Table {
    let mut table = Table::new(&[
        "design",
        "throughput (tx/s)",
        "bound by",
        "soft p50",
        "included p50",
        "final p50 / p99",
        "withdrawable p50",
        "L1 bytes/tx",
        "L1 gas/tx",
        "fee/tx",
        "storage B/tx",
        "CPU µs/tx",
    ]);
    for d in &r.designs {
        let t = &d.latency;
        let fee = match d.fee.l2_fee_per_tx_ater {
            Some(l2) => format!(
                "{} (L2) / {} (L1 share)",
                ter(l2),
                ter(d.fee.fee_per_tx_ater)
            ),
            None => ter(d.fee.fee_per_tx_ater),
        };
        table.rows.push(vec![
            d.design.clone(),
            match d.throughput.wall_clock_tps {
                Some(w) => format!(
                    "{} ({}) / {} (wall-clock, real nodes on loopback)",
                    fig(d.throughput.measured_tps),
                    d.throughput.clock,
                    fig(w)
                ),
                None => format!(
                    "{} ({})",
                    fig(d.throughput.measured_tps),
                    d.throughput.clock
                ),
            },
            format!(
                "{}; L1 allows {}",
                d.throughput.bound_by,
                fig(d.throughput.limit_tps)
            ),
            t.soft.map_or("—".into(), |p| {
                format!(
                    "{} ({})",
                    dur(p.p50_ms),
                    t.soft_how.as_deref().unwrap_or("")
                )
            }),
            dur(t.included.p50_ms),
            format!("{} / {}", dur(t.final_l1.p50_ms), dur(t.final_l1.p99_ms)),
            dur(t.withdrawable.p50_ms),
            fig(d.l1_bytes_per_tx),
            fig(d.fee.l1_gas_per_tx),
            fee,
            fig(d.node.storage_bytes_per_tx),
            fig(d.node.cpu_us_per_tx),
        ]);
    }
    table
}

/// The risk summaries, one list item per line of each design's summary.
pub fn risks(r: &LabReport) -> String {
    let mut s = String::new();
    for d in &r.designs {
        if let Some(k) = &d.risks {
            let _ = writeln!(s, "{}:", k.design);
            for item in risk_items(k) {
                let _ = writeln!(s, "- {item}");
            }
        }
    }
    s
}

fn risk_items(k: &RiskSummary) -> [String; 5] {
    [
        format!("state validation: {}", k.state_validation),
        format!("data availability: {}", k.data_availability),
        format!("exit window: {}", k.exit_window),
        format!("sequencer failure: {}", k.sequencer_failure),
        format!("proposer failure: {}", k.proposer_failure),
    ]
}

/// A table for any rendering: cells are plain text with `code` spans and
/// `[links](#anchor)` inside the report.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Column heads.
    pub head: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// An empty table with these column heads.
    pub fn new(head: &[&str]) -> Self {
        Self {
            head: head.iter().map(|h| (*h).to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// In Markdown.
    pub fn markdown(&self) -> String {
        let row = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
        let mut s = row(&self.head);
        s.push_str(&row(&vec!["---".to_string(); self.head.len()]));
        for r in &self.rows {
            s.push_str(&row(r));
        }
        s
    }
}

/// A part of the report: its anchor, heading, text, and a table or list.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Its anchor (`#designs`, …): the `how` links of claims point here.
    pub id: &'static str,
    /// Heading.
    pub title: &'static str,
    /// Paragraphs before the table.
    pub text: Vec<String>,
    /// The table, if any.
    pub table: Option<Table>,
    /// List items after the table.
    pub items: Vec<String>,
}

fn tier(p: &Percentiles) -> String {
    if p.samples == 0 {
        "—".into()
    } else {
        format!("{} / {} / {}", dur(p.p50_ms), dur(p.p95_ms), dur(p.p99_ms))
    }
}

/// The report's sections, in order; Markdown and HTML render the same.
pub fn sections(r: &LabReport) -> Vec<Section> {
    let mut out = vec![
        designs_section(r),
        latency_section(r),
        throughput_section(r),
        fees_section(r),
    ];
    out.extend(prover_section(r));
    out.extend(risks_section(r));
    out.push(comparison_section(r));
    out.push(claims_section(r));
    out.extend(scenarios_section(r));
    out.extend(wall_clock_section(r));
    out.push(checks_section(r));
    out.push(runs_section(r));
    out
}

fn designs_section(r: &LabReport) -> Section {
    let designs = designs_table(r);
    Section {
        id: "designs",
        title: "Designs",
        text: vec![format!(
            "Every design ran the same seeded `payments` workload. Latencies, throughput, bytes and \
             fees are from simulated runs (virtual time, {} validators over a 5-region WAN model) \
             unless marked wall-clock; bounds are from parameters. CPU is wall-clock. {} cores, \
             {:.0} s wall for the whole run.",
            r.designs.first().map_or(0, |d| d.validators),
            r.cores,
            r.wall_s
        )],
        table: Some(designs),
        items: Vec::new(),
    }
}

fn latency_section(r: &LabReport) -> Section {
    let mut latency = Table::new(&[
        "design",
        "load",
        "soft p50 / p95 / p99",
        "included",
        "final on L1",
        "withdrawable on L1",
    ]);
    for d in &r.designs {
        let mut push = |load: String, t: &Tiers| {
            latency.rows.push(vec![
                d.design.clone(),
                load,
                t.soft.as_ref().map_or("—".into(), |p| {
                    format!(
                        "{} ({}, {})",
                        tier(p),
                        t.soft_clock.unwrap_or(""),
                        t.soft_how.as_deref().unwrap_or("")
                    )
                }),
                tier(&t.included),
                tier(&t.final_l1),
                tier(&t.withdrawable),
            ]);
        };
        push(format!("{} tx/s offered", fig(d.offered_tps)), &d.latency);
        if let Some(t) = &d.latency_saturated {
            push("backlog past capacity".into(), t);
        }
    }
    Section {
        id: "latency",
        title: "Latency",
        text: vec![
            "Per transaction, from submission: soft confirmation (an L2 sequencer's receipt), \
             included in an L1 block (its timestamp), final on L1 (seen final at a validator), \
             withdrawable on L1 (L1: final; optimistic: its batch's challenge window over; \
             zk-rollup: its batch proven on L1, the run's withdrawals claimed then). \
             p50 / p95 / p99, simulated clock unless marked."
                .into(),
        ],
        table: Some(latency),
        items: Vec::new(),
    }
}

/// What proving costs, for designs with a prover; with the throughput
/// `k` provers would sustain, derived and labelled so.
fn prover_section(r: &LabReport) -> Option<Section> {
    let mut t = Table::new(&[
        "design",
        "circuit",
        "setup",
        "proving key",
        "prove one batch",
        "CPU s per transfer",
        "one prover",
        "k provers (derived)",
        "peak memory",
        "verify",
        "proofs in the run",
    ]);
    for d in &r.designs {
        let Some(p) = &d.prover else { continue };
        let derived: Vec<String> = [4.0, 16.0]
            .iter()
            .map(|k| {
                format!(
                    "{k}: {} tx/s",
                    fig((k * p.proven_per_s).min(d.throughput.limit_tps))
                )
            })
            .collect();
        t.rows.push(vec![
            d.design.clone(),
            format!(
                "depth {}, {} slots, {} constraints",
                p.depth,
                p.slots,
                fig(p.constraints as f64)
            ),
            dur(p.setup_s * 1000.0),
            format!("{} MB", fig(p.proving_key_bytes as f64 / 1e6)),
            dur(p.prove_ms_per_batch),
            fig(p.prove_cpu_s_per_tx),
            format!("{} tx/s", fig(p.proven_per_s)),
            derived.join(", "),
            format!("{} MB", fig(p.peak_rss_bytes as f64 / 1e6)),
            format!("{} ({} B proof)", dur(p.verify_ms), p.proof_bytes),
            format!("{}, p50 {}", p.proofs_in_run, dur(p.proof_ms_in_run.p50_ms)),
        ]);
    }
    if t.rows.is_empty() {
        return None;
    }
    Some(Section {
        id: "prover",
        title: "Prover",
        text: vec![format!(
            "Wall clock on this machine ({} cores): one full batch of transfers proven before the \
             run (the calibration; every proof of the simulated run takes that long in virtual \
             time), and every real proof of the run. Peak memory is the process's resident peak \
             while proving, its baseline included. \"k provers\" is derived, not measured: k \
             times one prover's rate, capped by what L1 block space carries.",
            r.cores
        )],
        table: Some(t),
        items: Vec::new(),
    })
}

fn throughput_section(r: &LabReport) -> Section {
    let mut thr = Table::new(&[
        "design",
        "block",
        "measured tx/s",
        "bound (limit / target)",
        "bound by",
        "bytes used",
        "gas used",
        "stored KB/s",
        "CPU µs/tx",
    ]);
    for d in &r.designs {
        let t = &d.throughput;
        thr.rows.push(vec![
            d.design.clone(),
            format!(
                "{} B, {} gas, every {}",
                fig(d.block_bytes_max as f64),
                fig(d.block_gas_limit as f64),
                dur(d.block_time_ms as f64)
            ),
            format!("{} ({})", fig(t.measured_tps), t.clock),
            format!("{} / {}", fig(t.limit_tps), fig(t.target_tps)),
            t.bound_by.clone(),
            format!("{:.0}%", t.block_bytes_used * 100.0),
            format!("{:.0}%", t.block_gas_used * 100.0),
            fig(d.node.storage_bytes_per_s / 1000.0),
            fig(d.node.cpu_us_per_tx),
        ]);
    }
    Section {
        id: "throughput",
        title: "Throughput",
        text: vec![
            "Sustained while demand exceeded capacity (a backlog), over the blocks or batches \
             listed under Runs. The bound is min(block bytes / tx bytes, block gas / tx gas) per \
             block time at the limits, and at the gas target EIP-1559 settles on."
                .into(),
        ],
        table: Some(thr),
        items: Vec::new(),
    }
}

fn fees_section(r: &LabReport) -> Section {
    let mut fees = Table::new(&[
        "design",
        "L1 gas/tx",
        "of which data",
        "L1 base fee",
        "L1 fee/tx",
        "base fee after a backlog",
        "L2 fee/tx",
    ]);
    for d in &r.designs {
        let f = &d.fee;
        fees.rows.push(vec![
            d.design.clone(),
            fig(f.l1_gas_per_tx),
            fig(f.l1_data_gas_per_tx),
            per_gas(f.base_fee_ater),
            ter(f.fee_per_tx_ater),
            per_gas(f.base_fee_after_saturation_ater),
            f.l2_fee_per_tx_ater.map_or("—".into(), ter),
        ]);
    }
    Section {
        id: "fees",
        title: "Fees",
        text: vec![
            "What a transfer costs its sender in L1 units: an L1 transfer's gas, or an L2 \
             transfer's share of its batch transaction's gas (data part shown), at the median \
             base fee of the paced phase."
                .into(),
        ],
        table: Some(fees),
        items: Vec::new(),
    }
}

fn risks_section(r: &LabReport) -> Option<Section> {
    let mut items = Vec::new();
    for d in &r.designs {
        if let Some(k) = &d.risks {
            items.extend(
                risk_items(k)
                    .into_iter()
                    .map(|i| format!("{}: {i}", k.design)),
            );
        }
    }
    if !items.is_empty() {
        Some(Section {
            id: "risks",
            title: "Risks",
            text: vec!["L2BEAT-style, computed from each L2 design's actual configuration.".into()],
            table: None,
            items,
        })
    } else {
        None
    }
}

fn comparison_section(r: &LabReport) -> Section {
    Section {
        id: "comparison",
        title: "Comparison",
        text: vec![
            "The usual L1-versus-L2 table of `CLAIMS.md`, each adjective next to what this run \
             measured."
                .into(),
        ],
        table: Some(crate::claims::comparison_table(&r.comparison)),
        items: Vec::new(),
    }
}

fn claims_section(r: &LabReport) -> Section {
    Section {
        id: "claims",
        title: "Claims",
        text: vec![
            "The headline claims of `CLAIMS.md` the designs run here can answer, each L2 claim \
             once per L2 design. Every verdict is the rule beside it applied to the measured \
             figures; a figure not measured here is a reference, with its source."
                .into(),
        ],
        table: Some(crate::claims::claims_table(&r.claims)),
        items: Vec::new(),
    }
}

fn scenarios_section(r: &LabReport) -> Option<Section> {
    if !r.scenarios.is_empty() {
        let sc = crate::scenario::verdict_table(&r.scenarios);
        Some(Section {
            id: "scenarios",
            title: "Scenarios",
            text: vec![
                "Adversarial runs on the same components in deterministic simulation, each \
                 judged against its design's trust model; `terrace scenario run NAME --seed N` \
                 replays one."
                    .into(),
            ],
            table: Some(sc),
            items: Vec::new(),
        })
    } else {
        None
    }
}

fn wall_clock_section(r: &LabReport) -> Option<Section> {
    if !r.wall_clock.is_empty() {
        let mut wc = Table::new(&["run", "metric", "value"]);
        for w in &r.wall_clock {
            wc.rows.push(vec![
                w.run.clone(),
                w.metric.clone(),
                format!("{} {}", fig(w.value), w.unit),
            ]);
        }
        Some(Section {
            id: "wall-clock",
            title: "Wall-clock",
            text: vec![
                "A short pass on the real runtime: validators on loopback TCP in one process, \
                 and the rollup sequencer on this machine's cores. These figures are what the CPU \
                 does, not a network."
                    .into(),
            ],
            table: Some(wc),
            items: Vec::new(),
        })
    } else {
        None
    }
}

fn checks_section(r: &LabReport) -> Section {
    Section {
        id: "checks",
        title: "Checks",
        text: Vec::new(),
        table: None,
        items: r.checks.iter().map(ToString::to_string).collect(),
    }
}

fn runs_section(r: &LabReport) -> Section {
    Section {
        id: "runs",
        title: "Runs",
        text: Vec::new(),
        table: None,
        items: r
            .designs
            .iter()
            .map(|d| {
                format!(
                    "{}: {} validators, {} ms blocks, {} B / {} gas per block (target {}); \
                     workload `{}` ({} accounts, Zipf {}, seed {}), {} transfers, digest {}; \
                     offered {} tx/s; {} blocks measured at saturation; {:.1} s wall",
                    d.design,
                    d.validators,
                    d.block_time_ms,
                    fig(d.block_bytes_max as f64),
                    fig(d.block_gas_limit as f64),
                    fig(d.block_gas_target as f64),
                    d.workload.name,
                    d.workload.params.accounts,
                    d.workload.params.zipf_exponent,
                    d.workload.params.seed,
                    d.workload.transfers,
                    &d.workload.digest[..16.min(d.workload.digest.len())],
                    fig(d.offered_tps),
                    d.throughput.blocks_measured,
                    d.wall_s
                )
            })
            .collect(),
    }
}

/// The whole report in Markdown.
pub fn markdown(r: &LabReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Terrace lab report ({} run, seed {})\n",
        r.mode, r.seed
    );
    for sec in sections(r) {
        let _ = writeln!(s, "## {}\n", sec.title);
        for p in &sec.text {
            let _ = writeln!(s, "{p}\n");
        }
        if let Some(t) = &sec.table {
            let _ = writeln!(s, "{}", t.markdown());
        }
        for i in &sec.items {
            let _ = writeln!(s, "- {i}");
        }
        if !sec.items.is_empty() {
            let _ = writeln!(s);
        }
    }
    s
}
