//! What a run measured, with the same definitions for every design: the
//! data model of the report and its flat JSON records (one per design ×
//! metric). How it is shown — terminal tables, Markdown, HTML — is
//! [`render`] and [`html`].

pub mod html;
pub mod render;

pub use render::{
    Section, Table, designs_table, dur, fig, markdown, per_gas, risks, sections, table, ter,
};

use crate::{
    claims::{Claim, Comparison},
    design::RiskSummary,
    lab::Check,
    scenario::Verdict,
    util::Percentiles,
    workload::{Payments, Transfer, digest},
};
use serde::Serialize;

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
    /// What binds: the smallest of the parameter bound (`block bytes`,
    /// `block gas`), the CPU bound (`validator cpu`) and the rollup's own
    /// (`sequencer cpu`, the batch pipeline).
    pub bound_by: String,
    /// What the validators' CPU allows: the cores a validator is given ×
    /// 10⁶ / the measured CPU µs per transaction (L1 designs; the
    /// simulation itself ignores CPU).
    pub cpu_bound_tps: Option<f64>,
    /// The cores a validator is given in `cpu_bound_tps` (a stated
    /// parameter, not this machine's).
    pub validator_cores: Option<u32>,
    /// The same design measured on the wall clock, real nodes on loopback,
    /// when the wall-clock pass ran.
    pub wall_clock_tps: Option<f64>,
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
    /// How `soft` was measured (transport, load).
    pub soft_how: Option<String>,
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
    pub base_fee_ater: f64,
    /// Median L1 fee per transaction in the paced phase (wei).
    pub fee_per_tx_ater: f64,
    /// L1 base fee at the end of the saturated phase (wei per gas).
    pub base_fee_after_saturation_ater: f64,
    /// What the L2 charged its user (wei), median: L2 only.
    pub l2_fee_per_tx_ater: Option<f64>,
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
    /// The sequencer's CPU per soft confirmation, p50: one in-process
    /// call (wall clock; L2 only). Not a latency a user sees: that is the
    /// soft tier, over JSON-RPC.
    pub soft_cpu_us: Option<f64>,
}

/// What a validity-proof design's prover costs on this machine: one batch
/// of the key's size proven before the run (the calibration, wall clock),
/// and every proof of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Prover {
    /// Account-tree depth of the circuit.
    pub depth: u8,
    /// Operations per batch (per proof).
    pub slots: usize,
    /// R1CS constraints of the circuit.
    pub constraints: usize,
    /// Seconds of the (single-party) Groth16 setup.
    pub setup_s: f64,
    /// Size of the proving key (compressed points).
    pub proving_key_bytes: usize,
    /// Milliseconds to prove one full batch of transfers.
    pub prove_ms_per_batch: f64,
    /// CPU seconds (all cores) per transfer proven.
    pub prove_cpu_s_per_tx: f64,
    /// Transfers one prover proves per second: `slots / prove time`.
    pub proven_per_s: f64,
    /// The process's peak resident memory while proving (its baseline
    /// included).
    pub peak_rss_bytes: u64,
    /// Milliseconds to verify a proof (what L1 does per batch), mean.
    pub verify_ms: f64,
    /// Bytes of a proof.
    pub proof_bytes: usize,
    /// Proofs made during the run.
    pub proofs_in_run: usize,
    /// Their proving times (wall clock).
    pub proof_ms_in_run: Percentiles,
    /// Always `wall-clock`.
    pub clock: &'static str,
}

/// Withdrawals a run claimed on L1.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimsPaid {
    /// Withdrawals claimed.
    pub withdrawals: usize,
    /// Claims L1 paid.
    pub paid: usize,
    /// Longest a claim was sent after its batch was seen final (virtual
    /// ms).
    pub max_after_final_ms: u64,
}

/// One design's measurements.
#[derive(Debug, Clone, Serialize)]
pub struct DesignReport {
    /// Name (`l1:terrace`, `optimistic`, …).
    pub design: String,
    /// `l1` or `l2`.
    pub layer: &'static str,
    /// The family whose attack scenarios apply (`l1`, `optimistic`).
    pub family: &'static str,
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
    /// What proving cost, for a validity-proof design.
    pub prover: Option<Prover>,
    /// Withdrawals claimed on L1 during the run, where the design's run
    /// claims them.
    pub claims_paid: Option<ClaimsPaid>,
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
pub const METRICS: [&str; 23] = [
    "throughput_tps",
    "throughput_limit_tps",
    "throughput_target_tps",
    "throughput_cpu_bound_tps",
    "throughput_wall_clock_tps",
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
    "fee_per_tx_ater",
    "l2_fee_per_tx_ater",
    "base_fee_ater",
    "storage_bytes_per_tx",
    "cpu_us_per_tx",
    "soft_cpu_us",
];

impl DesignReport {
    /// Its flat records, one per metric in [`METRICS`].
    pub fn records(&self) -> Vec<Record> {
        let t = &self.latency;
        let soft_clock = t.soft_clock.unwrap_or("wall-clock");
        let figures: [(Option<f64>, &'static str, &'static str); 23] = [
            (
                Some(self.throughput.measured_tps),
                "tx/s",
                self.throughput.clock,
            ),
            (Some(self.throughput.limit_tps), "tx/s", "parameters"),
            (Some(self.throughput.target_tps), "tx/s", "parameters"),
            (self.throughput.cpu_bound_tps, "tx/s", "wall-clock"),
            (self.throughput.wall_clock_tps, "tx/s", "wall-clock"),
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
            (Some(self.fee.fee_per_tx_ater), "aTER", self.clock),
            (self.fee.l2_fee_per_tx_ater, "aTER", self.clock),
            (Some(self.fee.base_fee_ater), "aTER/gas", self.clock),
            (Some(self.node.storage_bytes_per_tx), "bytes", self.clock),
            (Some(self.node.cpu_us_per_tx), "µs", "wall-clock"),
            (self.node.soft_cpu_us, "µs", "wall-clock"),
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
    /// Adds the wall-clock pass: its figures, and each design's wall-clock
    /// throughput beside its simulated one.
    pub fn add_wall_clock(&mut self, pass: crate::wall_clock::Pass) {
        for (design, tps) in pass.design_tps {
            if let Some(d) = self.designs.iter_mut().find(|d| d.design == design) {
                d.throughput.wall_clock_tps = Some(tps);
            }
        }
        self.wall_clock = pass.figures;
        self.records = self.designs.iter().flat_map(|d| d.records()).collect();
    }

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
