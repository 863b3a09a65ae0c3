//! The optimistic rollup in simulation: the `terrace` L1's validators on
//! the deterministic runtime with the WAN model, a sequencer node and a
//! verifier (challenger) node beside validator 0, virtual time. Users
//! are opened by deposits through L1; the workload's transfers go to the
//! sequencer *paced* (latency tiers), then as one backlog (how fast the
//! batcher drains it onto L1, in virtual time). Soft confirmations and the
//! sequencer's CPU are measured on the wall clock, in the same run.

use crate::{
    LabError,
    design::{L1Preset, optimistic_risks},
    report::{DesignReport, Fee, Node as NodeCost, Throughput, Tiers, WorkloadInfo},
    sim_l1::{SCHEDULER_CYCLE, genesis, start_network, timeouts, validator_keys},
    util::{Percentiles, par_map},
    workload::{Payments, account_key},
};
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, deterministic};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use terrace_l1::{
    Payload,
    modules::optimistic::{OptimisticOp, RollupConfig, RollupOp},
};
use terrace_l2::{Action, BlockContext, Deposit, L2Transaction, SignedL2Transaction};
use terrace_node::{
    app::now_ms,
    client::{L1 as _, sign_l1},
    sim,
};
use terrace_primitives::{
    Address, Amount, PrivateKey, hash_tagged, keys::Signer as _, keys::private_key_from_seed,
    par::Threads,
};
use terrace_rollup::{Fault, Node, NodeConfig, SequencerConfig};

const ROLLUP: u64 = 0;
const ETHER: u128 = 1_000_000_000_000_000_000;

/// One optimistic-rollup run.
#[derive(Debug, Clone)]
pub struct OptimisticRun {
    /// Name in reports.
    pub name: String,
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
}

/// The lab's rollup: a 60 s challenge window (240 blocks of 250 ms) so a
/// withdrawal completes inside a run, batches up to 120 KiB (the L1
/// transaction limit is 128 KiB), and the devnet's other windows.
pub fn lab_rollup(sequencer: Address) -> RollupConfig {
    RollupConfig {
        sequencer,
        poster_bond: Amount(10 * ETHER),
        challenge_bond: Amount(4 * ETHER),
        challenge_window_blocks: 240,
        sequencing_window_blocks: 16,
        batch_bytes_max: 120 * 1024,
        move_deadline_blocks: 8,
    }
}

pub(crate) fn role_key(role: &str) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/lab/role", &[role.as_bytes()]).0)
}

/// The sequencer's L1 key.
pub fn sequencer_key() -> PrivateKey {
    role_key("sequencer")
}

/// Runs `run`.
pub fn run(run: &OptimisticRun, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
    let fail = |what: String| LabError::Run {
        design: run.name.clone(),
        what,
    };
    if run.validators == 0 || run.workload.accounts < 2 {
        return Err(LabError::Config("need a validator and two accounts".into()));
    }
    let wall = Instant::now();
    let params = L1Preset::Terrace.params();
    let sequencer = sequencer_key();
    let verifier = role_key("verifier");
    let operator = role_key("operator");
    let addr = |k: &PrivateKey| Address::from_public_key(&k.public_key());
    let config = RollupConfig {
        sequencer: addr(&sequencer),
        ..run.config.clone()
    };
    let paced = ((run.rate * run.paced_seconds as f64).ceil() as usize).max(1);
    let total = paced + run.backlog;
    progress(&format!(
        "{}: signing {total} L2 transfers ({paced} paced at {:.0}/s, {} backlog)",
        run.name, run.rate, run.backlog
    ));
    let transfers = run.workload.take(total);
    let workload = WorkloadInfo::payments(&run.workload, &transfers);
    // Workload account i is L2 account i + 1 (0 is the sequencer's fees).
    let mut next = BTreeMap::<u32, u64>::new();
    let nonces: Vec<u64> = transfers
        .iter()
        .map(|t| {
            let n = next.entry(t.from).or_default();
            *n += 1;
            *n - 1
        })
        .collect();
    let signed: Vec<SignedL2Transaction> = par_map(total, crate::util::cores(), |k| {
        let t = transfers[k];
        L2Transaction {
            from: t.from + 1,
            nonce: nonces[k],
            max_fee: Amount(ETHER / 1_000),
            action: Action::Transfer {
                to: t.to + 1,
                amount: Amount(u128::from(t.amount)),
            },
        }
        .sign(ROLLUP, &account_key(t.from as usize))
    });
    let keys = validator_keys(run.validators);
    let members: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    let regions: Vec<usize> = (0..members.len()).map(sim::region_of).collect();
    let genesis = genesis(
        &members,
        0,
        &[addr(&sequencer), addr(&verifier), addr(&operator)],
        params.clone(),
    );
    let accounts = run.workload.accounts;
    let window_ms = config.challenge_window_blocks * params.block_time_ms;
    let virtual_limit =
        Duration::from_secs(run.paced_seconds + 600) + Duration::from_millis(window_ms * 3);
    let timeouts = timeouts(&params);
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(run.seed)
            .with_cycle(SCHEDULER_CYCLE)
            .with_timeout(Some(virtual_limit + Duration::from_secs(3_600))),
    );
    let name = run.name.clone();
    let backlog = run.backlog;
    let rate = run.rate;
    let rollup_config = config.clone();
    let tick = Duration::from_millis(10);
    progress(&format!(
        "{name}: {} validators over the WAN model, sequencer and verifier, simulated",
        run.validators
    ));
    struct Outcome {
        /// Per transfer: (submitted ms, L2 block).
        submitted: Vec<(u64, u64)>,
        /// Soft confirmation wall time per paced transfer (ms).
        soft_ms: Vec<f64>,
        /// L2 fee per transfer.
        fees: Vec<f64>,
        /// (virtual ms, posted blocks, final blocks) after each tick.
        progress: Vec<(u64, u64, u64)>,
        /// Batches seen: (first block, blocks, transactions, data bytes,
        /// L1 block timestamp, L1 gas, L1 fee).
        batches: Vec<(u64, u64, u64, u64, u64, u64, u128)>,
        /// Wall seconds of the backlog's submission.
        backlog_wall_s: f64,
        backlog_from: u64,
        median_base_fee: f64,
        /// L1's next base fee once the backlog was final.
        base_fee_after_backlog: f64,
        error: Option<String>,
    }
    let out: Outcome = runner.start(|context| async move {
        let mut out = Outcome {
            submitted: Vec::new(),
            soft_ms: Vec::new(),
            fees: Vec::new(),
            progress: Vec::new(),
            batches: Vec::new(),
            backlog_wall_s: 0.0,
            backlog_from: 0,
            median_base_fee: 0.0,
            base_fee_after_backlog: 0.0,
            error: None,
        };
        let (_network, validators) = match start_network(
            &context,
            &keys,
            &regions,
            &genesis,
            timeouts,
            &[],
            |_, _| {},
        )
        .await
        {
            Ok(started) => started,
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        };
        let l1 = validators[0].client();
        let begun = context.current();
        let over = |context: &deterministic::Context| {
            context.current().duration_since(begun).unwrap_or_default() > virtual_limit
        };
        while l1.finalized_height() < 1 {
            if over(&context) {
                out.error = Some("L1 produced no block".into());
                return out;
            }
            context.sleep(tick).await;
        }
        // The rollup, then every user's deposit from the operator.
        let mut sent = Vec::new();
        let send = |key: &PrivateKey, nonce: u64, payload: Payload| {
            let bytes = sign_l1(&l1, key, nonce, payload);
            let l1 = l1.clone();
            async move {
                l1.submit(bytes.map_err(|e| e.to_string())?)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        match send(
            &sequencer,
            0,
            Payload::Optimistic(OptimisticOp::Create(rollup_config)),
        )
        .await
        {
            Ok(h) => sent.push(h),
            Err(e) => {
                out.error = Some(format!("create rollup: {e}"));
                return out;
            }
        }
        let deposit = |to: &PrivateKey, amount: u128| {
            Payload::Optimistic(OptimisticOp::Rollup {
                rollup: ROLLUP,
                op: RollupOp::Deposit(Deposit {
                    recipient: to.public_key(),
                    account: None,
                    amount: Amount(amount),
                    bls: None,
                }),
            })
        };
        // Wait for the rollup to exist before depositing into it.
        loop {
            if let Some(h) = sent.first()
                && l1.chain.tx_location(h).await.is_some()
            {
                break;
            }
            if over(&context) {
                out.error = Some("the rollup was never created".into());
                return out;
            }
            context.sleep(tick).await;
        }
        let seq_config = NodeConfig {
            rollup: ROLLUP,
            from_height: 0,
            key: sequencer.clone(),
            sequencer: Some(SequencerConfig {
                context: BlockContext {
                    fee_recipient: 0,
                    l2_gas_price: 1,
                    l1_byte_price: 1,
                },
                block_time: Duration::from_millis(200),
                batch_interval: Duration::from_millis(1_000),
                track_l1_fee: true,
            }),
            challenger: false,
            fallback_poster: false,
            poll: Duration::from_millis(100),
            fault: Fault::None,
        };
        let verifier_config = NodeConfig {
            key: verifier.clone(),
            sequencer: None,
            challenger: true,
            fallback_poster: true,
            ..seq_config.clone()
        };
        let spawn = |config: NodeConfig| {
            let node = Node::new(context.child("rollup_clock"), l1.clone(), config);
            let shared = node.shared();
            context.child("rollup").spawn(move |_| node.run());
            shared
        };
        let s = spawn(seq_config);
        let _v = spawn(verifier_config);
        let mut payloads = vec![deposit(&sequencer, ETHER)];
        payloads.extend((0..accounts as usize).map(|i| deposit(&account_key(i), ETHER)));
        for (nonce, p) in payloads.into_iter().enumerate() {
            if let Err(e) = send(&operator, nonce as u64, p).await {
                out.error = Some(format!("deposit {nonce}: {e}"));
                return out;
            }
        }
        while s.account(accounts).is_none() {
            if over(&context) {
                out.error = Some("deposits never reached the sequencer".into());
                return out;
            }
            context.sleep(tick).await;
        }
        if s.find_account(&account_key(0).public_key()) != Some(1) {
            out.error = Some("deposits opened accounts out of order".into());
            return out;
        }
        // Paced.
        let mut batches = BTreeMap::<u64, terrace_rollup::derive::BatchSummary>::new();
        let observe = |out: &mut Outcome, batches: &mut BTreeMap<u64, _>, now: u64| {
            let st = s.status();
            out.progress.push((now, st.posted, st.finalized));
            for b in s.recent_batches() {
                batches.insert(b.index, b);
            }
        };
        let start = now_ms(&context);
        let mut k = 0;
        let mut bases = Vec::new();
        while k < paced {
            let now = now_ms(&context);
            while k < paced && start + (k as f64 * 1000.0 / rate) as u64 <= now {
                let at = Instant::now();
                match s.submit(signed[k].clone()) {
                    Ok(r) => {
                        out.soft_ms.push(at.elapsed().as_secs_f64() * 1000.0);
                        out.submitted.push((now, r.block));
                        out.fees.push(r.fee.0 as f64);
                    }
                    Err(e) => {
                        out.error = Some(format!("transfer {k} refused: {e}"));
                        return out;
                    }
                }
                k += 1;
            }
            bases.push(l1.next_base_fee() as f64);
            observe(&mut out, &mut batches, now);
            if over(&context) {
                out.error = Some("the paced phase overran".into());
                return out;
            }
            context.sleep(tick).await;
        }
        out.median_base_fee = crate::util::quantiles(bases).map_or(0.0, |q| q(0.5));
        // The backlog, at once.
        if backlog > 0 {
            let now = now_ms(&context);
            out.backlog_from = now;
            let at = Instant::now();
            for chunk in signed[paced..].chunks(1_000) {
                for r in s.submit_many(chunk.to_vec(), Threads::available()) {
                    match r {
                        Ok(r) => {
                            out.submitted.push((now, r.block));
                            out.fees.push(r.fee.0 as f64);
                        }
                        Err(e) => {
                            out.error = Some(format!("backlog transfer refused: {e}"));
                            return out;
                        }
                    }
                }
            }
            out.backlog_wall_s = at.elapsed().as_secs_f64();
        }
        // Until every transfer's block is final (withdrawable).
        let last = out.submitted.iter().map(|(_, b)| *b).max().unwrap_or(0);
        loop {
            let now = now_ms(&context);
            observe(&mut out, &mut batches, now);
            if s.status().finalized > last {
                out.base_fee_after_backlog = l1.next_base_fee() as f64;
                break;
            }
            if over(&context) {
                out.error = Some("transfers not final within the virtual limit".into());
                return out;
            }
            context.sleep(tick).await;
        }
        for b in batches.values() {
            let Some(block) = l1.finalized_block(b.l1_height).await else {
                continue;
            };
            let (gas, fee) = match l1.chain.tx_location(&b.id).await {
                Some(loc) => (
                    loc.receipt.gas_used,
                    u128::from(loc.receipt.gas_used) * u128::from(loc.receipt.effective_gas_price),
                ),
                None => (0, 0),
            };
            out.batches.push((
                b.first_block,
                b.blocks,
                b.transactions,
                b.data_bytes,
                block.header().timestamp_ms,
                gas,
                fee,
            ));
        }
        out
    });
    if let Some(e) = out.error {
        return Err(fail(e));
    }
    progress(&format!("{name}: measuring"));
    // When each L2 block was first seen posted / final.
    let when = |block: u64, pick: fn(&(u64, u64, u64)) -> u64| {
        out.progress.iter().find(|p| pick(p) > block).map(|p| p.0)
    };
    let included_at = |block: u64| {
        out.batches
            .iter()
            .find(|b| block >= b.0 && block < b.0 + b.1)
            .map(|b| b.4)
    };
    let tiers = |range: std::ops::Range<usize>, soft: Option<Percentiles>| {
        let (mut inc, mut fin, mut wd) = (Vec::new(), Vec::new(), Vec::new());
        for &(sub, block) in &out.submitted[range] {
            if let Some(t) = included_at(block) {
                inc.push(t.saturating_sub(sub) as f64);
            }
            if let Some(t) = when(block, |p| p.1) {
                fin.push(t.saturating_sub(sub) as f64);
            }
            if let Some(t) = when(block, |p| p.2) {
                wd.push(t.saturating_sub(sub) as f64);
            }
        }
        Tiers {
            soft,
            soft_clock: soft.map(|_| "wall-clock"),
            included: Percentiles::of(inc),
            final_l1: Percentiles::of(fin),
            withdrawable: Percentiles::of(wd),
        }
    };
    let paced_n = paced.min(out.submitted.len());
    let latency = tiers(0..paced_n, Some(Percentiles::of(out.soft_ms.clone())));
    let latency_saturated = (backlog > 0).then(|| tiers(paced_n..out.submitted.len(), None));
    // L1 cost of the batches that carried transfers.
    let carrying: Vec<_> = out.batches.iter().filter(|b| b.2 > 0).collect();
    let txs: u64 = carrying.iter().map(|b| b.2).sum();
    let bytes: u64 = carrying.iter().map(|b| b.3).sum();
    let gas: u64 = carrying.iter().map(|b| b.5).sum();
    let fee: u128 = carrying.iter().map(|b| b.6).sum();
    let per = |x: f64| if txs > 0 { x / txs as f64 } else { 0.0 };
    // Throughput: the backlog drained onto L1 (virtual), and the sequencer
    // executing it (wall clock); the smaller binds.
    let backlog_blocks: Vec<u64> = out.submitted[paced_n..].iter().map(|s| s.1).collect();
    let drained_at = backlog_blocks.iter().max().and_then(|b| when(*b, |p| p.1));
    let (posted_tps, blocks_measured) = match drained_at {
        Some(t) if t > out.backlog_from => (
            backlog as f64 * 1000.0 / (t - out.backlog_from) as f64,
            carrying
                .iter()
                .filter(|b| backlog_blocks.first().is_some_and(|f| b.0 + b.1 > *f))
                .count(),
        ),
        _ => (0.0, 0),
    };
    let cpu_tps = if out.backlog_wall_s > 0.0 {
        backlog as f64 / out.backlog_wall_s
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
    let l1_gas_per_tx = per(gas as f64);
    let data_gas = per(bytes as f64) * params.gas.per_byte as f64;
    // What L1 block space allows rollup transfers at this batch cost:
    // min(block bytes / bytes per transfer, block gas / gas per transfer)
    // per block time (the target: gas target instead of gas limit).
    let per_block = |gas_limit: u64| {
        let by_bytes = params.block_bytes_max as f64 / per(bytes as f64);
        let by_gas = gas_limit as f64 / l1_gas_per_tx;
        if txs > 0 && l1_gas_per_tx > 0.0 {
            by_bytes.min(by_gas)
        } else {
            0.0
        }
    };
    let blocks_per_s = 1000.0 / params.block_time_ms.max(1) as f64;
    let l1_limit_tps = per_block(params.block_gas_limit) * blocks_per_s;
    let l1_target_tps = per_block(params.block_gas_target) * blocks_per_s;
    let fees_paced = crate::util::quantiles(out.fees[..paced_n].to_vec()).map_or(0.0, |q| q(0.5));
    Ok(DesignReport {
        design: run.name.clone(),
        layer: "l2",
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
            txs_per_block: if carrying.is_empty() {
                0.0
            } else {
                txs as f64 / carrying.len() as f64
            },
            limit_tps: l1_limit_tps,
            target_tps: l1_target_tps,
            bound_by: bound_by.into(),
            // The share of L1 block space the batches took at saturation.
            block_bytes_used: measured_tps * per(bytes as f64)
                / (params.block_bytes_max as f64 * blocks_per_s),
            block_gas_used: measured_tps * l1_gas_per_tx
                / (params.block_gas_limit as f64 * blocks_per_s),
        },
        offered_tps: rate,
        latency,
        latency_saturated,
        l1_bytes_per_tx: per(bytes as f64),
        fee: Fee {
            l1_gas_per_tx,
            l1_data_gas_per_tx: data_gas,
            base_fee_wei: out.median_base_fee,
            fee_per_tx_wei: per(fee as f64),
            base_fee_after_saturation_wei: out.base_fee_after_backlog,
            l2_fee_per_tx_wei: Some(fees_paced),
        },
        node: NodeCost {
            storage_bytes_per_tx: per(bytes as f64),
            storage_bytes_per_s: measured_tps * per(bytes as f64),
            cpu_us_per_tx: if cpu_tps > 0.0 { 1e6 / cpu_tps } else { 0.0 },
        },
        risks: Some(optimistic_risks(&run.name, &config, &params)),
        wall_s: wall.elapsed().as_secs_f64(),
    })
}
