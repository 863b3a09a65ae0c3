//! The optimistic rollup in simulation: the `terrace` L1's validators on
//! the deterministic runtime with the WAN model, a sequencer node and a
//! verifier (challenger) node beside validator 0, virtual time.
//!
//! The run in steps: sign the workload's transfers ([`Transfers`]); start
//! the L1, deploy the rollup through the one deploy path and open every
//! user's account by a deposit through L1 ([`Sim::start`]); send the
//! transfers to the sequencer *paced* (latency tiers), then as one
//! *backlog* (how fast the batcher drains it onto L1, in virtual time);
//! wait until every transfer is final ([`Sim::until_final`]); then turn
//! what was observed into the report ([`measure`]). What the sequencer's
//! CPU does is measured on the wall clock in the same run.

use super::{optimistic_risks, sequencer_key};
use crate::{
    LabError,
    designs::l1::L1Preset,
    report::{DesignReport, Fee, Node as NodeCost, Throughput, Tiers, WorkloadInfo},
    sim::{SCHEDULER_CYCLE, genesis, role_key, start_network, timeouts, validator_keys},
    util::{Percentiles, par_map, quantiles},
    wall_clock::sequencer::{RpcSoft, RpcSoftConfig, rpc_soft_confirmations},
    workload::{Payments, account_key},
};
use commonware_runtime::{Clock as _, Runner as _, deterministic};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use terrace_l1::{
    ChainParams, Payload,
    modules::optimistic::{OptimisticOp, RollupConfig},
};
use terrace_l2::{
    Action, AggregatedL2Transaction, BlockContext, BlsRegistration, Deposit, L2Transaction,
    SignedL2Transaction,
};
use terrace_node::{
    app::now_ms,
    client::{L1 as _, sign_l1},
    engine::LocalClient,
    sim,
};
use terrace_primitives::{
    Address, Amount, BlsPrivateKey, PrivateKey, hash_tagged, keys::Signer as _, par::Threads,
};
use terrace_rollup::{
    NodeConfig, SequencerConfig, Shared, SoftReceipt, SubmitError,
    deploy::{self, Waiting},
};

const TER: u128 = 1_000_000_000_000_000_000;
/// The rollup's id on the run's fresh L1 (the first registered): the
/// transfers are signed for it before the run starts.
const ROLLUP: u64 = 0;

/// One optimistic-rollup run.
#[derive(Debug, Clone)]
pub struct OptimisticRun {
    /// Name in reports.
    pub name: String,
    /// Transfers aggregated under one BLS signature per chunk (from
    /// accounts that deposited with a BLS key), instead of each signed.
    pub aggregated: bool,
    /// L1 validators.
    pub validators: u32,
    /// The workload.
    pub workload: Payments,
    /// Offered rate of the paced phase (tx/s).
    pub rate: f64,
    /// Seconds of the paced phase (virtual).
    pub paced_seconds: u64,
    /// Transfers in the backlog phase (0: skip it).
    pub backlog: usize,
    /// The rollup's settlement parameters.
    pub config: RollupConfig,
    /// Simulation seed.
    pub seed: u64,
    /// Transfers a client sends over JSON-RPC, at `rate`, to time soft
    /// confirmations as a user sees them (wall clock, loopback).
    pub soft_rpc_txs: usize,
}

impl OptimisticRun {
    /// Transfers of the paced phase.
    fn paced(&self) -> usize {
        ((self.rate * self.paced_seconds as f64).ceil() as usize).max(1)
    }

    /// Virtual time the whole run may take.
    fn virtual_limit(&self, params: &ChainParams) -> Duration {
        let window_ms = self.config.challenge_window_blocks * params.block_time_ms;
        Duration::from_secs(self.paced_seconds + 600) + Duration::from_millis(window_ms * 3)
    }
}

/// A workload account's BLS key (the `optimistic-bls` design).
pub fn account_bls_key(i: usize) -> BlsPrivateKey {
    BlsPrivateKey::from_seed(
        &hash_tagged(b"terrace/lab/bls-account", &[&(i as u64).to_le_bytes()]).0,
    )
}

/// The workload's transfers, signed for the sequencer: one signature each,
/// or BLS signatures the sequencer aggregates.
enum Transfers {
    Signed(Vec<SignedL2Transaction>),
    Aggregated(Vec<AggregatedL2Transaction>),
}

impl Transfers {
    /// Signs the first `total` transfers of the workload; workload account
    /// `i` is L2 account `i + 1` (0 is the sequencer's fees).
    fn sign(run: &OptimisticRun, total: usize) -> (Self, WorkloadInfo) {
        let transfers = run.workload.take(total);
        let workload = WorkloadInfo::payments(&run.workload, &transfers);
        let nonces = crate::workload::nonces(&transfers);
        let unsigned = |k: usize| {
            let t = transfers[k];
            L2Transaction {
                from: t.from + 1,
                nonce: nonces[k],
                max_fee: Amount(TER / 1_000),
                action: Action::Transfer {
                    to: t.to + 1,
                    amount: Amount(u128::from(t.amount)),
                },
            }
        };
        let rollup = ROLLUP;
        let cores = crate::util::cores();
        let signed = if run.aggregated {
            Self::Aggregated(par_map(total, cores, |k| {
                unsigned(k).sign_bls(rollup, &account_bls_key(transfers[k].from as usize))
            }))
        } else {
            Self::Signed(par_map(total, cores, |k| {
                unsigned(k).sign(rollup, &account_key(transfers[k].from as usize))
            }))
        };
        (signed, workload)
    }

    /// Sends transfer `k` to the sequencer (in process).
    fn submit(&self, seq: &Shared, k: usize) -> Result<SoftReceipt, SubmitError> {
        match self {
            Self::Signed(txs) => seq.submit(txs[k].clone()),
            Self::Aggregated(txs) => seq.submit_aggregated(txs[k].clone()),
        }
    }

    /// Sends transfers `range` in calls of a thousand, their signatures
    /// checked on every core.
    fn submit_many(
        &self,
        seq: &Shared,
        range: std::ops::Range<usize>,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        let mut out = Vec::with_capacity(range.len());
        let ranges: Vec<_> = range.clone().step_by(1_000).collect();
        for start in ranges {
            let end = (start + 1_000).min(range.end);
            out.extend(match self {
                Self::Signed(txs) => {
                    seq.submit_many(txs[start..end].to_vec(), Threads::available())
                }
                Self::Aggregated(txs) => {
                    seq.submit_many_aggregated(txs[start..end].to_vec(), Threads::available())
                }
            });
        }
        out
    }
}

/// A transfer the sequencer confirmed: when it was sent (virtual ms) and
/// the L2 block it landed in.
#[derive(Debug, Clone, Copy)]
struct Submitted {
    at_ms: u64,
    block: u64,
}

/// The sequencer's status after one tick: L2 blocks posted and final.
#[derive(Debug, Clone, Copy)]
struct Progress {
    at_ms: u64,
    posted: u64,
    finalized: u64,
}

/// A batch as it landed on L1.
#[derive(Debug, Clone, Copy)]
struct BatchSeen {
    first_block: u64,
    blocks: u64,
    transactions: u64,
    data_bytes: u64,
    l1_timestamp_ms: u64,
    l1_gas: u64,
    l1_fee: u128,
}

/// Everything the simulation observed.
#[derive(Debug, Default)]
struct Observed {
    submitted: Vec<Submitted>,
    /// Wall-clock time of each paced in-process submission (ms): the
    /// sequencer's CPU per soft confirmation, not a user's latency.
    soft_cpu_ms: Vec<f64>,
    /// L2 fee per transfer.
    fees: Vec<f64>,
    progress: Vec<Progress>,
    batches: Vec<BatchSeen>,
    /// Wall seconds of the backlog's submission.
    backlog_wall_s: f64,
    /// Virtual ms the backlog was sent at.
    backlog_from_ms: u64,
    median_base_fee: f64,
    /// L1's next base fee once the backlog was final.
    base_fee_after_backlog: f64,
}

type Ctx = deterministic::Context;

/// The running simulation: L1, the rollup's nodes, what was observed.
struct Sim<'a> {
    run: &'a OptimisticRun,
    context: Ctx,
    /// The simulated network and its validators: they run while held.
    _network: sim::Network,
    _validators: Vec<terrace_node::engine::Validator<Ctx>>,
    l1: LocalClient<Ctx>,
    sequencer: Shared,
    begun: std::time::SystemTime,
    limit: Duration,
    tick: Duration,
    seen: BTreeMap<u64, terrace_rollup::BatchSummary>,
    observed: Observed,
}

/// Runs `run`.
pub fn run(run: &OptimisticRun, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
    if run.validators == 0 || run.workload.accounts < 2 {
        return Err(LabError::Config("need a validator and two accounts".into()));
    }
    let wall = Instant::now();
    let params = L1Preset::Terrace.params();
    let paced = run.paced();
    let total = paced + run.backlog;
    progress(&format!(
        "{}: signing {total} L2 transfers ({paced} paced at {:.0}/s, {} backlog{})",
        run.name,
        run.rate,
        run.backlog,
        if run.aggregated { ", BLS" } else { "" }
    ));
    let (transfers, workload) = Transfers::sign(run, total);
    progress(&format!(
        "{}: {} validators over the WAN model, sequencer and verifier, simulated",
        run.name, run.validators
    ));
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(run.seed)
            .with_cycle(SCHEDULER_CYCLE)
            .with_timeout(Some(
                run.virtual_limit(&params) + Duration::from_secs(3_600),
            )),
    );
    let sim_params = params.clone();
    let observed = runner.start(|context| async move {
        let mut sim = Sim::start(run, context, &sim_params).await?;
        sim.paced(&transfers, paced).await?;
        sim.backlog(&transfers, paced..total)?;
        sim.until_final().await?;
        sim.collect_batches().await;
        Ok::<_, String>(sim.observed)
    });
    let observed = observed.map_err(|what| LabError::Run {
        design: run.name.clone(),
        what,
    })?;
    progress(&format!(
        "{}: soft confirmations over JSON-RPC on loopback at {:.0}/s (wall clock)",
        run.name, run.rate
    ));
    let rpc = rpc_soft_confirmations(&RpcSoftConfig {
        accounts: run.workload.accounts as usize,
        txs: run.soft_rpc_txs,
        rate: run.rate,
        aggregated: run.aggregated,
        seed: run.seed,
    })?;
    progress(&format!("{}: measuring", run.name));
    Ok(measure(
        run, &params, &observed, &rpc, workload, paced, wall,
    ))
}

impl<'a> Sim<'a> {
    /// Starts the L1, deploys the rollup with its sequencer and verifier,
    /// and opens every user's L2 account by a deposit through L1.
    async fn start(
        run: &'a OptimisticRun,
        context: Ctx,
        params: &ChainParams,
    ) -> Result<Self, String> {
        let sequencer = sequencer_key();
        let operator = role_key("operator");
        let addr = |k: &PrivateKey| Address::from_public_key(&k.public_key());
        let keys = validator_keys(run.validators);
        let members: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        let regions: Vec<usize> = (0..members.len()).map(sim::region_of).collect();
        let genesis = genesis(
            &members,
            0,
            &[
                addr(&sequencer),
                addr(&role_key("verifier")),
                addr(&operator),
            ],
            params.clone(),
        );
        let (network, validators) = start_network(
            &context,
            &keys,
            &regions,
            &genesis,
            timeouts(params),
            &[],
            |_, _| {},
        )
        .await
        .map_err(|e| e.to_string())?;
        let l1 = validators[0].client();
        let begun = context.current();
        let tick = Duration::from_millis(10);
        let limit = run.virtual_limit(params);
        let over =
            |context: &Ctx| context.current().duration_since(begun).unwrap_or_default() > limit;
        while l1.finalized_height() < 1 {
            if over(&context) {
                return Err("L1 produced no block".into());
            }
            context.sleep(tick).await;
        }
        let config = RollupConfig {
            sequencer: addr(&sequencer),
            ..run.config.clone()
        };
        let wait = Waiting { poll: tick, limit };
        let deployment = deploy::register(&context, &l1, &sequencer, 0, &config, wait)
            .await
            .map_err(|e| format!("create rollup: {e}"))?;
        if deployment.rollup != ROLLUP {
            return Err(format!(
                "the rollup got id {}, not {ROLLUP}",
                deployment.rollup
            ));
        }
        let seq_config = NodeConfig::sequencer(
            deployment,
            sequencer.clone(),
            SequencerConfig {
                context: BlockContext {
                    fee_recipient: 0,
                    l2_gas_price: 1,
                    l1_byte_price: 1,
                },
                block_time: Duration::from_millis(200),
                batch_interval: Duration::from_millis(1_000),
                track_l1_fee: true,
            },
            false,
        );
        let (_, seq) = deploy::start(&context, l1.clone(), seq_config);
        let (_, _verifier) = deploy::start(
            &context,
            l1.clone(),
            NodeConfig::verifier(deployment, role_key("verifier")),
        );
        let mut sim = Self {
            run,
            context,
            _network: network,
            _validators: validators,
            l1,
            sequencer: seq,
            begun,
            limit,
            tick,
            seen: BTreeMap::new(),
            observed: Observed::default(),
        };
        sim.open_accounts(&sequencer, &operator, deployment.rollup)
            .await?;
        Ok(sim)
    }

    fn over(&self) -> bool {
        self.context
            .current()
            .duration_since(self.begun)
            .unwrap_or_default()
            > self.limit
    }

    /// The operator deposits for the sequencer's fee account (0) and every
    /// workload account (1…), with a BLS key for the aggregated design;
    /// waits until the sequencer has opened them, in order.
    async fn open_accounts(
        &mut self,
        sequencer: &PrivateKey,
        operator: &PrivateKey,
        rollup: u64,
    ) -> Result<(), String> {
        let accounts = self.run.workload.accounts;
        let deposit = |to: &PrivateKey, bls: Option<BlsPrivateKey>| {
            Payload::Optimistic(OptimisticOp::Rollup {
                rollup,
                op: terrace_l1::modules::optimistic::RollupOp::Deposit(Deposit {
                    recipient: to.public_key(),
                    account: None,
                    amount: Amount(TER),
                    bls: bls.map(|k| {
                        Box::new(BlsRegistration {
                            key: k.public_key(),
                            possession: k.proof_of_possession(),
                        })
                    }),
                }),
            })
        };
        let mut payloads = vec![deposit(sequencer, None)];
        payloads.extend((0..accounts as usize).map(|i| {
            let bls = self.run.aggregated.then(|| account_bls_key(i));
            deposit(&account_key(i), bls)
        }));
        for (nonce, p) in payloads.into_iter().enumerate() {
            let bytes = sign_l1(&self.l1, operator, nonce as u64, p)
                .map_err(|e| format!("deposit {nonce}: {e}"))?;
            self.l1
                .submit(bytes)
                .await
                .map_err(|e| format!("deposit {nonce}: {e}"))?;
        }
        while self.sequencer.account(accounts).is_none() {
            if self.over() {
                return Err("deposits never reached the sequencer".into());
            }
            self.context.sleep(self.tick).await;
        }
        if self.sequencer.find_account(&account_key(0).public_key()) != Some(1) {
            return Err("deposits opened accounts out of order".into());
        }
        // Aggregated transfers come only from accounts already on L1: wait
        // until the batch that opened them has landed.
        while self.run.aggregated && self.sequencer.base_accounts() <= u64::from(accounts) {
            if self.over() {
                return Err("the accounts' batch never landed on L1".into());
            }
            self.context.sleep(self.tick).await;
        }
        Ok(())
    }

    /// Records the sequencer's status and the batches it has seen.
    fn observe(&mut self, at_ms: u64) {
        let st = self.sequencer.status();
        self.observed.progress.push(Progress {
            at_ms,
            posted: st.posted,
            finalized: st.finalized,
        });
        for b in self.sequencer.recent_batches() {
            self.seen.insert(b.index, b);
        }
    }

    /// Sends the first `paced` transfers at the run's rate, one call each,
    /// timing each call on the wall clock.
    async fn paced(&mut self, transfers: &Transfers, paced: usize) -> Result<(), String> {
        let start = now_ms(&self.context);
        let mut k = 0;
        let mut bases = Vec::new();
        while k < paced {
            let now = now_ms(&self.context);
            while k < paced && start + (k as f64 * 1000.0 / self.run.rate) as u64 <= now {
                let at = Instant::now();
                let r = transfers
                    .submit(&self.sequencer, k)
                    .map_err(|e| format!("transfer {k} refused: {e}"))?;
                self.observed
                    .soft_cpu_ms
                    .push(at.elapsed().as_secs_f64() * 1000.0);
                self.observed.submitted.push(Submitted {
                    at_ms: now,
                    block: r.block,
                });
                self.observed.fees.push(r.fee.0 as f64);
                k += 1;
            }
            bases.push(self.l1.next_base_fee() as f64);
            self.observe(now);
            if self.over() {
                return Err("the paced phase overran".into());
            }
            self.context.sleep(self.tick).await;
        }
        self.observed.median_base_fee = quantiles(bases).map_or(0.0, |q| q(0.5));
        Ok(())
    }

    /// Sends transfers `range` at once.
    fn backlog(
        &mut self,
        transfers: &Transfers,
        range: std::ops::Range<usize>,
    ) -> Result<(), String> {
        if range.is_empty() {
            return Ok(());
        }
        let now = now_ms(&self.context);
        self.observed.backlog_from_ms = now;
        let at = Instant::now();
        for r in transfers.submit_many(&self.sequencer, range) {
            let r = r.map_err(|e| format!("backlog transfer refused: {e}"))?;
            self.observed.submitted.push(Submitted {
                at_ms: now,
                block: r.block,
            });
            self.observed.fees.push(r.fee.0 as f64);
        }
        self.observed.backlog_wall_s = at.elapsed().as_secs_f64();
        Ok(())
    }

    /// Waits until every transfer's block is final (withdrawable).
    async fn until_final(&mut self) -> Result<(), String> {
        let last = self
            .observed
            .submitted
            .iter()
            .map(|s| s.block)
            .max()
            .unwrap_or(0);
        loop {
            let now = now_ms(&self.context);
            self.observe(now);
            if self.sequencer.status().finalized > last {
                self.observed.base_fee_after_backlog = self.l1.next_base_fee() as f64;
                return Ok(());
            }
            if self.over() {
                return Err("transfers not final within the virtual limit".into());
            }
            self.context.sleep(self.tick).await;
        }
    }

    /// Each batch seen: where and when it landed on L1, and what it cost.
    async fn collect_batches(&mut self) {
        for b in self.seen.values() {
            let Some(block) = self.l1.finalized_block(b.l1_height).await else {
                continue;
            };
            let (l1_gas, l1_fee) = match self.l1.chain.tx_location(&b.id).await {
                Some(loc) => (
                    loc.receipt.gas_used,
                    u128::from(loc.receipt.gas_used) * u128::from(loc.receipt.effective_gas_price),
                ),
                None => (0, 0),
            };
            self.observed.batches.push(BatchSeen {
                first_block: b.first_block,
                blocks: b.blocks,
                transactions: b.transactions,
                data_bytes: b.data_bytes,
                l1_timestamp_ms: block.header().timestamp_ms,
                l1_gas,
                l1_fee,
            });
        }
    }
}

/// Latency tiers of the transfers `range` of `o.submitted`.
fn tiers(o: &Observed, range: std::ops::Range<usize>, soft: Option<&RpcSoft>) -> Tiers {
    // When each L2 block was first seen posted / final.
    let when = |block: u64, pick: fn(&Progress) -> u64| {
        o.progress.iter().find(|p| pick(p) > block).map(|p| p.at_ms)
    };
    let included_at = |block: u64| {
        o.batches
            .iter()
            .find(|b| block >= b.first_block && block < b.first_block + b.blocks)
            .map(|b| b.l1_timestamp_ms)
    };
    let (mut inc, mut fin, mut wd) = (Vec::new(), Vec::new(), Vec::new());
    for s in &o.submitted[range] {
        if let Some(t) = included_at(s.block) {
            inc.push(t.saturating_sub(s.at_ms) as f64);
        }
        if let Some(t) = when(s.block, |p| p.posted) {
            fin.push(t.saturating_sub(s.at_ms) as f64);
        }
        if let Some(t) = when(s.block, |p| p.finalized) {
            wd.push(t.saturating_sub(s.at_ms) as f64);
        }
    }
    Tiers {
        soft: soft.map(|s| s.latency),
        soft_clock: soft.map(|s| s.clock),
        soft_how: soft.map(|s| {
            format!(
                "{}, one client at {:.0} tx/s, {} requests",
                s.transport, s.rate, s.confirmed
            )
        }),
        included: Percentiles::of(inc),
        final_l1: Percentiles::of(fin),
        withdrawable: Percentiles::of(wd),
    }
}

/// The L1 cost of the batches that carried transfers.
#[derive(Debug, Clone, Copy)]
struct BatchCost {
    batches: usize,
    txs: u64,
    bytes: u64,
    gas: u64,
    fee: u128,
}

impl BatchCost {
    fn of(o: &Observed) -> Self {
        let carrying = o.batches.iter().filter(|b| b.transactions > 0);
        let mut c = Self {
            batches: 0,
            txs: 0,
            bytes: 0,
            gas: 0,
            fee: 0,
        };
        for b in carrying {
            c.batches += 1;
            c.txs += b.transactions;
            c.bytes += b.data_bytes;
            c.gas += b.l1_gas;
            c.fee += b.l1_fee;
        }
        c
    }

    /// `x` per transaction.
    fn per(&self, x: f64) -> f64 {
        if self.txs > 0 {
            x / self.txs as f64
        } else {
            0.0
        }
    }
}

/// The design's report from what the simulation observed.
fn measure(
    run: &OptimisticRun,
    params: &ChainParams,
    o: &Observed,
    rpc: &RpcSoft,
    workload: WorkloadInfo,
    paced: usize,
    wall: Instant,
) -> DesignReport {
    let paced_n = paced.min(o.submitted.len());
    let latency = tiers(o, 0..paced_n, Some(rpc));
    let latency_saturated = (run.backlog > 0).then(|| tiers(o, paced_n..o.submitted.len(), None));
    let cost = BatchCost::of(o);
    // Throughput: the backlog drained onto L1 (virtual), and the sequencer
    // executing it (wall clock); the smaller binds.
    let backlog_blocks: Vec<u64> = o.submitted[paced_n..].iter().map(|s| s.block).collect();
    let drained_at = backlog_blocks
        .iter()
        .max()
        .and_then(|b| o.progress.iter().find(|p| p.posted > *b).map(|p| p.at_ms));
    let (posted_tps, blocks_measured) = match drained_at {
        Some(t) if t > o.backlog_from_ms => (
            run.backlog as f64 * 1000.0 / (t - o.backlog_from_ms) as f64,
            o.batches
                .iter()
                .filter(|b| b.transactions > 0)
                .filter(|b| {
                    backlog_blocks
                        .first()
                        .is_some_and(|f| b.first_block + b.blocks > *f)
                })
                .count(),
        ),
        _ => (0.0, 0),
    };
    let cpu_tps = if o.backlog_wall_s > 0.0 {
        run.backlog as f64 / o.backlog_wall_s
    } else {
        0.0
    };
    let (measured_tps, bound_by, clock) = if cpu_tps > 0.0 && cpu_tps < posted_tps {
        (cpu_tps, "sequencer cpu", "wall-clock")
    } else {
        (
            posted_tps,
            "batch pipeline (one 120 KiB batch in flight)",
            "simulated",
        )
    };
    let l1_gas_per_tx = cost.per(cost.gas as f64);
    let bytes_per_tx = cost.per(cost.bytes as f64);
    // What L1 block space allows rollup transfers at this batch cost:
    // min(block bytes / bytes per transfer, block gas / gas per transfer)
    // per block time (the target: gas target instead of gas limit).
    let per_block = |gas_limit: u64| {
        if cost.txs > 0 && l1_gas_per_tx > 0.0 {
            (params.block_bytes_max as f64 / bytes_per_tx).min(gas_limit as f64 / l1_gas_per_tx)
        } else {
            0.0
        }
    };
    let blocks_per_s = 1000.0 / params.block_time_ms.max(1) as f64;
    let fees_paced = quantiles(o.fees[..paced_n].to_vec()).map_or(0.0, |q| q(0.5));
    DesignReport {
        design: run.name.clone(),
        layer: "l2",
        family: "optimistic",
        clock: "simulated",
        validators: run.validators,
        block_time_ms: params.block_time_ms,
        block_bytes_max: params.block_bytes_max,
        block_gas_limit: params.block_gas_limit,
        block_gas_target: params.block_gas_target,
        workload,
        throughput: Throughput {
            measured_tps,
            clock,
            blocks_measured,
            txs_per_block: if cost.batches == 0 {
                0.0
            } else {
                cost.txs as f64 / cost.batches as f64
            },
            limit_tps: per_block(params.block_gas_limit) * blocks_per_s,
            target_tps: per_block(params.block_gas_target) * blocks_per_s,
            bound_by: bound_by.into(),
            cpu_bound_tps: None,
            validator_cores: None,
            wall_clock_tps: None,
            // The share of L1 block space the batches took at saturation.
            block_bytes_used: measured_tps * bytes_per_tx
                / (params.block_bytes_max as f64 * blocks_per_s),
            block_gas_used: measured_tps * l1_gas_per_tx
                / (params.block_gas_limit as f64 * blocks_per_s),
        },
        offered_tps: run.rate,
        latency,
        latency_saturated,
        l1_bytes_per_tx: bytes_per_tx,
        fee: Fee {
            l1_gas_per_tx,
            l1_data_gas_per_tx: bytes_per_tx * params.gas.per_byte as f64,
            base_fee_ater: o.median_base_fee,
            fee_per_tx_ater: cost.per(cost.fee as f64),
            base_fee_after_saturation_ater: o.base_fee_after_backlog,
            l2_fee_per_tx_ater: Some(fees_paced),
        },
        node: NodeCost {
            storage_bytes_per_tx: bytes_per_tx,
            storage_bytes_per_s: measured_tps * bytes_per_tx,
            cpu_us_per_tx: if cpu_tps > 0.0 { 1e6 / cpu_tps } else { 0.0 },
            soft_cpu_us: quantiles(o.soft_cpu_ms.clone()).map(|q| q(0.5) * 1000.0),
        },
        risks: Some(optimistic_risks(&run.name, &run.config, params)),
        prover: None,
        claims_paid: None,
        wall_s: wall.elapsed().as_secs_f64(),
    }
}
