//! What a run measured, with the same definitions for every design, and
//! its renderings: the terminal table, Markdown, and flat JSON records
//! (one per design × metric).

use crate::{
    design::RiskSummary,
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
    /// Wall-clock seconds of the whole run.
    pub wall_s: f64,
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
    } else {
        format!("{:.1} h", ms / 3_600_000.0)
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
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| design | throughput (tx/s) | bound by | soft p50 | included p50 | final p50 / p99 | withdrawable p50 | L1 bytes/tx | L1 gas/tx | fee/tx | storage B/tx | CPU µs/tx |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|");
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
        let _ = writeln!(
            s,
            "| {} | {} ({}) | {}; L1 allows {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            d.design,
            fig(d.throughput.measured_tps),
            d.throughput.clock,
            d.throughput.bound_by,
            fig(d.throughput.limit_tps),
            t.soft.map_or("—".into(), |p| format!(
                "{} ({})",
                dur(p.p50_ms),
                t.soft_clock.unwrap_or("")
            )),
            dur(t.included.p50_ms),
            dur(t.final_l1.p50_ms),
            dur(t.final_l1.p99_ms),
            dur(t.withdrawable.p50_ms),
            fig(d.l1_bytes_per_tx),
            fig(d.fee.l1_gas_per_tx),
            fee,
            fig(d.node.storage_bytes_per_tx),
            fig(d.node.cpu_us_per_tx),
        );
    }
    s
}

/// The risk summaries, in Markdown.
pub fn risks(r: &LabReport) -> String {
    let mut s = String::new();
    for d in &r.designs {
        if let Some(k) = &d.risks {
            let _ = writeln!(s, "**{}**\n", k.design);
            let _ = writeln!(s, "- state validation: {}", k.state_validation);
            let _ = writeln!(s, "- data availability: {}", k.data_availability);
            let _ = writeln!(s, "- exit window: {}", k.exit_window);
            let _ = writeln!(s, "- sequencer failure: {}", k.sequencer_failure);
            let _ = writeln!(s, "- proposer failure: {}\n", k.proposer_failure);
        }
    }
    s
}

/// The whole report in Markdown.
pub fn markdown(r: &LabReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Terrace lab report ({} run, seed {})\n",
        r.mode, r.seed
    );
    let _ = writeln!(
        s,
        "Latencies, throughput, bytes and fees are from simulated runs (virtual time, WAN model) \
         unless marked wall-clock; bounds are from parameters. {} cores, {:.0} s wall.\n",
        r.cores, r.wall_s
    );
    s.push_str(&table(r));
    let _ = writeln!(s);
    let risks = risks(r);
    if !risks.is_empty() {
        let _ = writeln!(s, "## Risk summary\n\n{risks}");
    }
    let _ = writeln!(s, "## Runs\n");
    for d in &r.designs {
        let _ = writeln!(
            s,
            "- {}: {} validators, {} ms blocks, {} B / {} gas per block (target {}); \
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
        );
    }
    s
}

/// A claim from `CLAIMS.md`, and what this run measured of it.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// The claim, as the field states it.
    pub claim: &'static str,
    /// The figures this run measured for it.
    pub measured: String,
    /// `supported`, `refuted`, `qualified` (true with a caveat the
    /// measurement shows), or `not measured` (a design it needs was not run).
    pub verdict: &'static str,
}

/// The claims this run's designs can answer.
pub fn claims(r: &LabReport) -> Vec<Claim> {
    let find = |name: &str| r.designs.iter().find(|d| d.design == name);
    let mut out = Vec::new();
    let missing = |claim: &'static str| Claim {
        claim,
        measured: "the designs it needs were not run".into(),
        verdict: "not measured",
    };
    let c = "Bitcoin ≈ 7 transactions/s (1 MB blocks every 10 minutes)";
    out.push(match find("l1:bitcoin-like") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "{} tx/s sustained ({}-byte transfers; bound {}); Bitcoin's average \
                 transaction is ≈ 250 B, which at the same 1 MB / 600 s gives ≈ 6.7/s",
                fig(d.throughput.measured_tps),
                fig(d.l1_bytes_per_tx),
                fig(d.throughput.limit_tps)
            ),
            verdict: if (5.0..20.0).contains(&d.throughput.measured_tps) {
                "supported"
            } else {
                "refuted"
            },
        },
        None => missing(c),
    });
    let c = "Ethereum ≈ 15–30 transactions/s";
    out.push(match find("l1:ethereum-like") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "plain 21,000-gas transfers: {} tx/s at the 30 M gas limit, {} tx/s sustained \
                 at the 15 M target; the quoted 15–30/s reflects the real mix, ≈ 40–80 k gas \
                 per transaction on average",
                fig(d.throughput.measured_tps),
                fig(d.throughput.target_tps)
            ),
            verdict: "qualified",
        },
        None => missing(c),
    });
    let c = "Bigger blocks raise throughput but raise the cost of running a node";
    let mut sweep: Vec<&DesignReport> = r
        .designs
        .iter()
        .filter(|d| d.design.starts_with("l1:big-blocks") || d.design == "l1:terrace")
        .collect();
    sweep.sort_by_key(|d| d.block_bytes_max);
    out.push(if sweep.len() >= 2 {
        let points: Vec<String> = sweep
            .iter()
            .map(|d| {
                format!(
                    "{} KiB: {} tx/s, {} KB/s of blocks to store",
                    d.block_bytes_max / 1024,
                    fig(d.throughput.measured_tps),
                    fig(d.node.storage_bytes_per_s / 1000.0)
                )
            })
            .collect();
        let rising = sweep.windows(2).all(|w| {
            w[1].throughput.measured_tps > w[0].throughput.measured_tps
                && w[1].node.storage_bytes_per_s > w[0].node.storage_bytes_per_s
        });
        Claim {
            claim: c,
            measured: points.join("; "),
            verdict: if rising { "supported" } else { "refuted" },
        }
    } else {
        missing(c)
    });
    let c = "L2 fees are a fraction of L1 fees";
    out.push(match (find("l1:terrace"), find("optimistic")) {
        (Some(l1), Some(l2)) => {
            let ratio = l1.fee.l1_gas_per_tx / l2.fee.l1_gas_per_tx.max(1e-9);
            Claim {
                claim: c,
                measured: format!(
                    "an L1 transfer uses {} gas; the same transfer in an optimistic batch uses \
                     {} L1 gas: {:.1}× less at any L1 gas price",
                    fig(l1.fee.l1_gas_per_tx),
                    fig(l2.fee.l1_gas_per_tx),
                    ratio
                ),
                verdict: if ratio > 1.0 { "supported" } else { "refuted" },
            }
        }
        _ => missing(c),
    });
    let c = "L2 confirms much faster than L1";
    out.push(match (find("l1:terrace"), find("optimistic")) {
        (Some(l1), Some(l2)) => {
            let soft = l2.latency.soft.map_or(f64::NAN, |s| s.p50_ms);
            Claim {
                claim: c,
                measured: format!(
                    "optimistic soft confirmation p50 {} (wall clock, in process) against L1 \
                     finality p50 {} (simulated WAN, 250 ms blocks); the rollup's own L1 \
                     finality p50 is {}",
                    dur(soft),
                    dur(l1.latency.final_l1.p50_ms),
                    dur(l2.latency.final_l1.p50_ms)
                ),
                verdict: if soft < l1.latency.final_l1.p50_ms {
                    "qualified"
                } else {
                    "refuted"
                },
            }
        }
        _ => missing(c),
    });
    let c = "Optimistic withdrawals wait the challenge window";
    out.push(match find("optimistic") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "final on L1 p50 {}, withdrawable p50 {} ({})",
                dur(d.latency.final_l1.p50_ms),
                dur(d.latency.withdrawable.p50_ms),
                d.risks.as_ref().map_or("", |k| k.exit_window.as_str())
            ),
            verdict: if d.latency.withdrawable.p50_ms > d.latency.final_l1.p50_ms {
                "supported"
            } else {
                "refuted"
            },
        },
        None => missing(c),
    });
    out
}

/// The claims as a Markdown table.
pub fn claims_markdown(claims: &[Claim]) -> String {
    let mut s = String::from("| claim | measured | verdict |\n|---|---|---|\n");
    for c in claims {
        let _ = writeln!(s, "| {} | {} | {} |", c.claim, c.measured, c.verdict);
    }
    s
}
