//! The zk-rollup and the validium as designs: the zk-rollup node
//! (operator with its prover, watcher) on the `terrace` L1, deployed
//! through [`terrace_zkrollup::deploy`] — the devnet's path — with its
//! data on L1 or, for the validium, kept by a committee of members in the
//! same simulation; and their attack scenarios ([`scenarios`]).

pub mod run;
pub mod scenarios;

pub use run::ZkRun;

use crate::{
    LabError,
    design::{Design, Layer, RiskSummary, human_ms},
    designs::l1::L1Preset,
    lab::{Check, LabConfig},
    report::DesignReport,
    scenario::stage::{Role, Stage},
};
use std::time::Duration;
use terrace_l1::{
    ChainParams,
    modules::validity::{UNIT, ZkRollupConfig},
};
use terrace_primitives::Amount;
use terrace_zkrollup::deploy::{self, Deployment, Settings, Waiting};

/// Registers a zk-rollup of `config` on the stage's L1 from the operator's
/// account, through the devnet's deploy path (the lab's run and its
/// scenarios alike).
pub(crate) async fn register(
    s: &Stage,
    config: &ZkRollupConfig,
    wait: Waiting,
) -> Result<Deployment, LabError> {
    let operator_key = Role::Operator.key();
    let nonce = deploy::next_nonce(&s.l1, &operator_key)
        .await
        .map_err(|e| s.fail(e.to_string()))?;
    deploy::register(&s.context, &s.l1, &operator_key, nonce, config, wait)
        .await
        .map_err(|e| s.fail(format!("zk-rollup not created: {e}")))
}

/// The lab's zk-rollup settings on an L1 of `l1`'s block time: the
/// devnet's (a 10-minute exodus delay, a 5-minute inbox deadline).
pub fn lab_settings(l1: &ChainParams) -> Settings {
    let blocks = |seconds: u64| (seconds * 1_000).div_ceil(l1.block_time_ms.max(1)).max(1);
    Settings {
        operator: Role::Operator.address(),
        batch_bytes_max: 64 * 1024,
        inbox_fee: Amount(UNIT * 1_000),
        exodus_after_blocks: blocks(600),
        inbox_deadline_blocks: blocks(300),
    }
}

/// The validium's committee in the lab, as on the devnet: members, and
/// signatures a batch needs.
pub const COMMITTEE: (u8, u8) = (3, 2);

/// The zk-rollup and validium designs of `cfg`: the devnet's circuit
/// (depth 16, batches of 8) in a full run, a smaller one (depth 10,
/// batches of 4) in a quick one, so that proving stays a minute of CI.
pub fn designs(cfg: &LabConfig) -> Vec<ZkRun> {
    let (depth, slots) = if cfg.quick { (10, 4) } else { (16, 8) };
    let zk = ZkRun {
        name: "zk-rollup".into(),
        validators: cfg.validators,
        workload: cfg.workload(),
        depth,
        slots,
        paced: if cfg.quick { 8 } else { 32 },
        rate: if cfg.quick { 1.0 } else { 0.5 },
        withdrawals: 2,
        backlog: if cfg.quick { 16 } else { 96 },
        batch_interval: Duration::from_secs(1),
        soft_rpc_txs: if cfg.quick { 50 } else { 200 },
        seed: cfg.seed,
        committee: None,
    };
    let validium = ZkRun {
        name: "validium".into(),
        committee: Some(COMMITTEE),
        ..zk.clone()
    };
    vec![zk, validium]
}

impl Design for ZkRun {
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
        let params = self.params();
        Some(zk_risks(
            &self.name,
            self.depth,
            &[self.slots],
            &lab_settings(&params),
            &params,
            self.committee,
        ))
    }

    fn run(&self, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
        run::run(self, progress)
    }

    /// Every operation becomes final, and every withdrawal's claim — sent
    /// the moment its batch was final on L1, no window waited — is paid.
    fn checks(&self, d: &DesignReport) -> Vec<Check> {
        let finals = d.latency.final_l1.samples
            + d.latency_saturated
                .as_ref()
                .map_or(0, |s| s.final_l1.samples);
        let sent = self.paced + self.withdrawals + self.backlog;
        let claims = d.claims_paid.as_ref();
        vec![
            Check {
                design: d.design.clone(),
                what: format!("{finals} of {sent} operations final on L1"),
                passed: finals == sent,
            },
            Check {
                design: d.design.clone(),
                what: format!(
                    "{} of {} withdrawals paid on L1 by a claim sent within {} of their batch being final",
                    claims.map_or(0, |c| c.paid),
                    self.withdrawals,
                    human_ms(claims.map_or(0, |c| c.max_after_final_ms))
                ),
                passed: claims.is_some_and(|c| {
                    c.withdrawals == self.withdrawals
                        && c.paid == self.withdrawals
                        && c.max_after_final_ms <= self.params().block_time_ms
                }),
            },
        ]
    }
}

/// The zk-rollup's summary from its configuration: tree depth, batch
/// sizes with a key on L1, its settings, and the validium's committee
/// (members, threshold) if its data is kept by one.
pub fn zk_risks(
    name: &str,
    depth: u8,
    slots: &[usize],
    settings: &Settings,
    l1: &ChainParams,
    committee: Option<(u8, u8)>,
) -> RiskSummary {
    let blocks = |n: u64| {
        let ms = n.saturating_mul(l1.block_time_ms);
        format!("{n} L1 blocks ({})", human_ms(ms))
    };
    let sizes: Vec<String> = slots.iter().map(|s| s.to_string()).collect();
    RiskSummary {
        design: name.into(),
        state_validation: format!(
            "validity proofs: L1 verifies a Groth16 (BN254) proof of every batch before accepting \
             its root (batches of {} operations, depth-{} account tree); the keys come from a \
             single-party setup in this lab — whoever ran it could forge proofs (a real \
             deployment needs a multi-party ceremony)",
            sizes.join("/"),
            depth
        ),
        data_availability: match committee {
            None => "L1: every batch's public data (about 12 bytes per transfer) is in \
                     L1 calldata; a full node rebuilds every balance from it"
                .into(),
            Some((n, t)) => format!(
                "a committee of {n} members keeps the data; L1 sees each batch's commitment and \
                 at least {t} members' signatures that they hold it. Trust: any {t} members \
                 colluding with the operator — signing a batch whose data they then give nobody \
                 — can freeze every balance (an exit needs the data behind the last proven \
                 root); {} members down stop batches from landing (the rollup then freezes and \
                 everyone exits from the data the others hold); no number of members can \
                 steal — L1 still verifies every batch's proof",
                n - t + 1
            ),
        },
        exit_window: "none: a withdrawal is claimable in the L1 block its batch's proof lands in"
            .into(),
        exit_window_ms: 0,
        sequencer_failure: format!(
            "forced exit through the L1 inbox: if the operator leaves an inbox entry unprocessed for {}, anyone may freeze the rollup and every account exits with a Merkle proof",
            blocks(settings.inbox_deadline_blocks)
        ),
        proposer_failure: format!(
            "only the operator proves; after {} without a batch anyone may freeze the rollup (exodus): \
             accounts exit with their last proven balance, unprocessed deposits are refunded",
            blocks(settings.exodus_after_blocks)
        ),
    }
}
