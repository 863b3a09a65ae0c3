//! What a run measured, with the same definitions for every design, and
//! its renderings: the terminal table, Markdown, and flat JSON records
//! (one per design × metric).

pub mod html;

use crate::{
    claims::{Claim, Comparison},
    design::RiskSummary,
    lab::Check,
    scenario::Verdict,
    util::Percentiles,
    workload::{Payments, Transfer, digest},
};
use serde::Serialize;
use std::fmt::Write as _;

/// The workload a design ran.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadInfo {
    /// Its name.
    pub name: &'static str,
    /// Its parameters.
    pub params: Payments,
    /// Transfers taken from the stream.
    pub transfers: usize,
    /// Hash of those transfers: equal prefixes give equal hashes.
    pub digest: String,
}

impl WorkloadInfo {
    /// The `payments` workload's first `transfers`.
    pub fn payments(params: &Payments, transfers: &[Transfer]) -> Self {
        Self {
            name: "payments",
            params: *params,
            transfers: transfers.len(),
            digest: terrace_primitives::codec::to_hex(&digest(transfers).0),
        }
    }
}

/// Sustained throughput and what bounded it.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Transactions per second sustained while demand exceeded capacity.
    pub measured_tps: f64,
    /// The clock `measured_tps` came from.
    pub clock: &'static str,
    /// Blocks (L1) or batches (L2) it was measured over.
    pub blocks_measured: usize,
    /// Mean transactions per measured block.
    pub txs_per_block: f64,
    /// The bound from parameters at the block limits.
    pub limit_tps: f64,
    /// The bound at the gas target (the sustained equilibrium under
    /// EIP-1559).
    pub target_tps: f64,
    /// What binds: `block bytes`, `block gas`, `sequencer cpu`, …
    pub bound_by: String,
    /// Share of the byte limit the measured blocks used.
    pub block_bytes_used: f64,
    /// Share of the gas limit the measured blocks used.
    pub block_gas_used: f64,
}

/// Latency tiers of one transaction: submitted → soft confirmation →
/// included on L1 → final on L1 → withdrawable on L1.
#[derive(Debug, Clone, Serialize)]
pub struct Tiers {
    /// Submitted → soft confirmation (L2 only).
    pub soft: Option<Percentiles>,
    /// The clock of `soft`.
    pub soft_clock: Option<&'static str>,
    /// Submitted → included on L1 (the L1 block's timestamp).
    pub included: Percentiles,
    /// Submitted → final on L1 (observed at a validator).
    pub final_l1: Percentiles,
    /// Submitted → its value is withdrawable on L1 (L1: final; optimistic:
    /// the challenge window over).
    pub withdrawable: Percentiles,
}

/// What a transaction costs its sender, in L1 units (wei) and gas.
#[derive(Debug, Clone, Serialize)]
pub struct Fee {
    /// L1 gas per transaction (an L2's share of its batch transaction).
    pub l1_gas_per_tx: f64,
    /// The part of it charged for data bytes.
    pub l1_data_gas_per_tx: f64,
    /// Median L1 base fee over the paced phase (wei per gas).
    pub base_fee_wei: f64,
    /// Median L1 fee per transaction in the paced phase (wei).
    pub fee_per_tx_wei: f64,
    /// L1 base fee at the end of the saturated phase (wei per gas).
    pub base_fee_after_saturation_wei: f64,
    /// What the L2 charged its user (wei), median: L2 only.
    pub l2_fee_per_tx_wei: Option<f64>,
}

/// What a node pays to keep up.
#[derive(Debug, Clone, Serialize)]
pub struct Node {
    /// Block bytes stored per transaction (L2: batch data on L1).
    pub storage_bytes_per_tx: f64,
    /// Block bytes stored per second at saturation.
    pub storage_bytes_per_s: f64,
    /// Wall-clock CPU per transaction per validator (the simulation runs
    /// every validator in this process; divided by their number).
    pub cpu_us_per_tx: f64,
}

/// One design's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct DesignReport {
    /// Name (`l1:terrace`, `optimistic`, …).
    pub design: String,
    /// `l1` or `l2`.
    pub layer: &'static str,
    /// The clock of latencies and throughput (`simulated`: virtual time).
    pub clock: &'static str,
    /// L1 validators.
    pub validators: u32,
    /// L1 block time.
    pub block_time_ms: u64,
    /// L1 block byte limit.
    pub block_bytes_max: u64,
    /// L1 block gas limit.
    pub block_gas_limit: u64,
    /// L1 block gas target.
    pub block_gas_target: u64,
    /// The workload.
    pub workload: WorkloadInfo,
    /// Throughput.
    pub throughput: Throughput,
    /// Offered rate of the paced phase (tx/s).
    pub offered_tps: f64,
    /// Latency tiers at the offered rate.
    pub latency: Tiers,
    /// Latency tiers at saturation (queueing included).
    pub latency_saturated: Option<Tiers>,
    /// L1 bytes per transaction.
    pub l1_bytes_per_tx: f64,
    /// Fees.
    pub fee: Fee,
    /// Node cost.
    pub node: Node,
    /// L2 risk summary.
    pub risks: Option<RiskSummary>,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
}

/// One figure: a design × metric.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Design.
    pub design: String,
    /// Metric name (see the README).
    pub metric: &'static str,
    /// Value (`null`: the design has no such thing, e.g. an L1's soft
    /// confirmation).
    pub value: Option<f64>,
    /// Unit.
    pub unit: &'static str,
    /// `simulated` (virtual time), `wall-clock`, or `parameters`.
    pub clock: &'static str,
}

/// Every metric name a record may carry, in report order.
pub const METRICS: [&str; 20] = [
    "throughput_tps",
    "throughput_limit_tps",
    "throughput_target_tps",
    "latency_soft_p50_ms",
    "latency_soft_p99_ms",
    "latency_included_p50_ms",
    "latency_included_p95_ms",
    "latency_included_p99_ms",
    "latency_final_p50_ms",
    "latency_final_p95_ms",
    "latency_final_p99_ms",
    "latency_withdrawable_p50_ms",
    "latency_withdrawable_p99_ms",
    "l1_bytes_per_tx",
    "l1_gas_per_tx",
    "fee_per_tx_wei",
    "l2_fee_per_tx_wei",
    "base_fee_wei",
    "storage_bytes_per_tx",
    "cpu_us_per_tx",
];

impl DesignReport {
    /// Its flat records, one per metric in [`METRICS`].
    pub fn records(&self) -> Vec<Record> {
        let t = &self.latency;
        let soft_clock = t.soft_clock.unwrap_or("wall-clock");
        let figures: [(Option<f64>, &'static str, &'static str); 20] = [
            (
                Some(self.throughput.measured_tps),
                "tx/s",
                self.throughput.clock,
            ),
            (Some(self.throughput.limit_tps), "tx/s", "parameters"),
            (Some(self.throughput.target_tps), "tx/s", "parameters"),
            (t.soft.map(|s| s.p50_ms), "ms", soft_clock),
            (t.soft.map(|s| s.p99_ms), "ms", soft_clock),
            (Some(t.included.p50_ms), "ms", self.clock),
            (Some(t.included.p95_ms), "ms", self.clock),
            (Some(t.included.p99_ms), "ms", self.clock),
            (Some(t.final_l1.p50_ms), "ms", self.clock),
            (Some(t.final_l1.p95_ms), "ms", self.clock),
            (Some(t.final_l1.p99_ms), "ms", self.clock),
            (Some(t.withdrawable.p50_ms), "ms", self.clock),
            (Some(t.withdrawable.p99_ms), "ms", self.clock),
            (Some(self.l1_bytes_per_tx), "bytes", self.clock),
            (Some(self.fee.l1_gas_per_tx), "gas", self.clock),
            (Some(self.fee.fee_per_tx_wei), "wei", self.clock),
            (self.fee.l2_fee_per_tx_wei, "wei", self.clock),
            (Some(self.fee.base_fee_wei), "wei/gas", self.clock),
            (Some(self.node.storage_bytes_per_tx), "bytes", self.clock),
            (Some(self.node.cpu_us_per_tx), "µs", "wall-clock"),
        ];
        METRICS
            .iter()
            .zip(figures)
            .map(|(metric, (value, unit, clock))| Record {
                design: self.design.clone(),
                metric,
                value,
                unit,
                clock,
            })
            .collect()
    }
}

/// A whole lab run.
#[derive(Debug, Clone, Serialize)]
pub struct LabReport {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Simulation seed.
    pub seed: u64,
    /// This machine's cores.
    pub cores: usize,
    /// Per design.
    pub designs: Vec<DesignReport>,
    /// Flat records: one per design × metric.
    pub records: Vec<Record>,
    /// The scenarios' verdicts (empty when they were not run).
    pub scenarios: Vec<Verdict>,
    /// The wall-clock pass (empty when it was not run).
    pub wall_clock: Vec<WallFigure>,
    /// Each design's run and each scenario against what it must show.
    pub checks: Vec<Check>,
    /// The comparison table of `CLAIMS.md`, measured.
    pub comparison: Vec<Comparison>,
    /// The headline claims of `CLAIMS.md`, with verdicts.
    pub claims: Vec<Claim>,
    /// Wall-clock seconds of the whole run.
    pub wall_s: f64,
}

/// A figure of the wall-clock pass: what this machine's CPU does on
/// loopback, outside the simulation.
#[derive(Debug, Clone, Serialize)]
pub struct WallFigure {
    /// What ran (`l1:terrace on loopback`, `optimistic sequencer`, …).
    pub run: String,
    /// What was measured.
    pub metric: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: &'static str,
    /// Always `wall-clock`.
    pub clock: &'static str,
}

impl LabReport {
    /// Assembles the report of `designs`.
    pub fn new(mode: &'static str, seed: u64, designs: Vec<DesignReport>, wall_s: f64) -> Self {
        let records = designs.iter().flat_map(|d| d.records()).collect();
        Self {
            mode,
            seed,
            cores: crate::util::cores(),
            designs,
            records,
            scenarios: Vec::new(),
            wall_clock: Vec::new(),
            checks: Vec::new(),
            comparison: Vec::new(),
            claims: Vec::new(),
            wall_s,
        }
    }
}

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

/// Wei as gwei or ether, whichever reads better.
pub fn wei(x: f64) -> String {
    if x >= 1e15 {
        format!("{} ETH", fig(x / 1e18))
    } else {
        format!("{} gwei", fig(x / 1e9))
    }
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
        let fee = match d.fee.l2_fee_per_tx_wei {
            Some(l2) => format!(
                "{} (L2) / {} (L1 share)",
                wei(l2),
                wei(d.fee.fee_per_tx_wei)
            ),
            None => wei(d.fee.fee_per_tx_wei),
        };
        table.rows.push(vec![
            d.design.clone(),
            format!(
                "{} ({})",
                fig(d.throughput.measured_tps),
                d.throughput.clock
            ),
            format!(
                "{}; L1 allows {}",
                d.throughput.bound_by,
                fig(d.throughput.limit_tps)
            ),
            t.soft.map_or("—".into(), |p| {
                format!("{} ({})", dur(p.p50_ms), t.soft_clock.unwrap_or(""))
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
    let mut out = Vec::new();
    let designs = designs_table(r);
    out.push(Section {
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
    });

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
                    format!("{} ({})", tier(p), t.soft_clock.unwrap_or(""))
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
    out.push(Section {
        id: "latency",
        title: "Latency",
        text: vec![
            "Per transaction, from submission: soft confirmation (an L2 sequencer's receipt), \
             included in an L1 block (its timestamp), final on L1 (seen final at a validator), \
             withdrawable on L1 (L1: final; optimistic: its batch's challenge window over). \
             p50 / p95 / p99, simulated clock unless marked."
                .into(),
        ],
        table: Some(latency),
        items: Vec::new(),
    });

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
    out.push(Section {
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
    });

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
            wei(f.base_fee_wei),
            wei(f.fee_per_tx_wei),
            wei(f.base_fee_after_saturation_wei),
            f.l2_fee_per_tx_wei.map_or("—".into(), wei),
        ]);
    }
    out.push(Section {
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
    });

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
        out.push(Section {
            id: "risks",
            title: "Risks",
            text: vec!["L2BEAT-style, computed from each L2 design's actual configuration.".into()],
            table: None,
            items,
        });
    }

    out.push(Section {
        id: "comparison",
        title: "Comparison",
        text: vec![
            "The usual L1-versus-L2 table of `CLAIMS.md`, each adjective next to what this run \
             measured."
                .into(),
        ],
        table: Some(crate::claims::comparison_table(&r.comparison)),
        items: Vec::new(),
    });

    out.push(Section {
        id: "claims",
        title: "Claims",
        text: vec!["The headline claims of `CLAIMS.md` the designs run here can answer.".into()],
        table: Some(crate::claims::claims_table(&r.claims)),
        items: Vec::new(),
    });

    if !r.scenarios.is_empty() {
        let sc = crate::scenario::verdict_table(&r.scenarios);
        out.push(Section {
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
        });
    }

    if !r.wall_clock.is_empty() {
        let mut wc = Table::new(&["run", "metric", "value"]);
        for w in &r.wall_clock {
            wc.rows.push(vec![
                w.run.clone(),
                w.metric.clone(),
                format!("{} {}", fig(w.value), w.unit),
            ]);
        }
        out.push(Section {
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
        });
    }

    out.push(Section {
        id: "checks",
        title: "Checks",
        text: Vec::new(),
        table: None,
        items: r.checks.iter().map(ToString::to_string).collect(),
    });

    out.push(Section {
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
    });
    out
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
