//! The optimistic rollup as a design: the rollup node on the `terrace`
//! L1 with the lab's settlement parameters, run on the workload in
//! simulation ([`run`]) with signed transfers (`optimistic`) or with
//! BLS-aggregated ones (`optimistic-bls`), and its attack scenarios
//! ([`scenarios`]). Deployment — registering the rollup, starting its
//! sequencer and verifier — goes through [`terrace_rollup::deploy`], the
//! same path the devnet takes.

pub mod run;
pub mod scenarios;

pub use run::OptimisticRun;

use crate::{
    LabError,
    design::{Design, Layer, RiskSummary, human_ms},
    designs::l1::L1Preset,
    lab::{Check, LabConfig},
    report::DesignReport,
    sim::role_key,
};
use terrace_l1::{ChainParams, modules::optimistic::RollupConfig};
use terrace_primitives::{Address, Amount, PrivateKey, keys::Signer as _};

const TER: u128 = 1_000_000_000_000_000_000;

/// The lab's rollup: a 60 s challenge window (240 blocks of 250 ms) so a
/// withdrawal completes inside a run, batches up to 120 KiB (the L1
/// transaction limit is 128 KiB), and the devnet's other windows.
pub fn lab_rollup(sequencer: Address) -> RollupConfig {
    RollupConfig {
        sequencer,
        poster_bond: Amount(10 * TER),
        challenge_bond: Amount(4 * TER),
        challenge_window_blocks: 240,
        sequencing_window_blocks: 16,
        batch_bytes_max: 120 * 1024,
        move_deadline_blocks: 8,
    }
}

/// The sequencer's L1 key.
pub fn sequencer_key() -> PrivateKey {
    role_key("sequencer")
}

/// The optimistic designs of `cfg`: transfers signed one by one
/// (`optimistic`), and aggregated under one BLS signature per chunk
/// (`optimistic-bls`).
pub fn designs(cfg: &LabConfig) -> Vec<OptimisticRun> {
    let sequencer = Address::from_public_key(&sequencer_key().public_key());
    [false, true]
        .into_iter()
        .map(|aggregated| OptimisticRun {
            name: if aggregated {
                "optimistic-bls".into()
            } else {
                "optimistic".into()
            },
            aggregated,
            validators: cfg.validators,
            workload: cfg.workload(),
            rate: if cfg.quick { 200.0 } else { 500.0 },
            paced_seconds: if cfg.quick { 3 } else { 6 },
            backlog: if cfg.quick { 3_000 } else { 20_000 },
            config: lab_rollup(sequencer),
            seed: cfg.seed,
            soft_rpc_txs: if cfg.quick { 400 } else { 2_000 },
        })
        .collect()
}

impl Design for OptimisticRun {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn layer(&self) -> Layer {
        Layer::L2
    }

    fn params(&self) -> ChainParams {
        L1Preset::Terrace.params()
    }

    fn risks(&self) -> Option<RiskSummary> {
        Some(optimistic_risks(&self.name, &self.config, &self.params()))
    }

    fn run(&self, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
        run::run(self, progress)
    }

    /// Every transfer becomes withdrawable, and waits the challenge
    /// window after it is final on L1 (less one observation tick of the
    /// run, 10 ms).
    fn checks(&self, d: &DesignReport) -> Vec<Check> {
        let l = &d.latency;
        let window_ms = self
            .config
            .challenge_window_blocks
            .saturating_mul(self.params().block_time_ms) as f64;
        let waited = l.withdrawable.p50_ms - l.final_l1.p50_ms;
        let withdrawable = l.withdrawable.samples
            + d.latency_saturated
                .as_ref()
                .map_or(0, |s| s.withdrawable.samples);
        vec![Check {
            design: d.design.clone(),
            what: format!(
                "{withdrawable} of {} transfers withdrawable; withdrawable p50 − final p50 = {waited:.0} ms ≥ the challenge window {window_ms:.0} ms − 10 ms",
                d.workload.transfers
            ),
            passed: withdrawable == d.workload.transfers && waited >= window_ms - 10.0,
        }]
    }
}

/// The optimistic rollup's summary from its L1 configuration.
pub fn optimistic_risks(name: &str, config: &RollupConfig, l1: &ChainParams) -> RiskSummary {
    let blocks = |n: u64| {
        let ms = n.saturating_mul(l1.block_time_ms);
        format!("{n} L1 blocks ({})", human_ms(ms))
    };
    RiskSummary {
        design: name.into(),
        state_validation: format!(
            "fraud proofs: interactive bisection to a one-step proof run by L1 ({} per move), \
             and a one-transaction proof of a bad BLS aggregate; bonds {} (poster) and {} (challenger)",
            blocks(config.move_deadline_blocks),
            config.poster_bond.ter(),
            config.challenge_bond.ter()
        ),
        data_availability: "L1: every batch's compressed data is in L1 calldata".into(),
        exit_window: format!(
            "{} challenge window before a withdrawal is claimable",
            blocks(config.challenge_window_blocks)
        ),
        exit_window_ms: config
            .challenge_window_blocks
            .saturating_mul(l1.block_time_ms),
        sequencer_failure: format!(
            "forced inclusion through the L1 inbox: a batch that skips a message older than {} is refused",
            blocks(config.sequencing_window_blocks)
        ),
        proposer_failure: format!(
            "anyone with a bond may post after {} without a batch",
            blocks(config.sequencing_window_blocks)
        ),
    }
}
