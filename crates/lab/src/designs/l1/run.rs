//! An L1 design in simulation: its validators on the deterministic
//! runtime, spread round-robin over the WAN model's regions, with virtual
//! time. The workload's transfers go in twice: *paced* at an offered rate
//! (latency without saturation), then *saturated* (the pools kept full,
//! for throughput). Everything is observed at validator 0.

use crate::{
    LabError,
    design::{Bound, bound},
    report::{DesignReport, Fee, Node, Throughput, Tiers, WorkloadInfo},
    sim::{CHAIN, SCHEDULER_CYCLE, genesis, start_network, timeouts, validator_keys},
    util::{Percentiles, cpu_time, par_map, quantiles},
    workload::{Payments, Transfer, account_key},
};
use bytes::Bytes;
use commonware_codec::Encode as _;
use commonware_runtime::{Clock as _, Runner as _, Spawner as _, Supervisor as _, deterministic};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use terrace_l1::{ChainParams, Payload, Transaction};
use terrace_node::{
    app::now_ms,
    engine::LocalClient,
    rpc::hex_hash,
    sim::{self},
};
use terrace_primitives::{Address, Amount, PrivateKey, PublicKey, keys::Signer as _};

/// One L1 run.
#[derive(Debug, Clone)]
pub struct L1Run {
    /// Name in reports.
    pub name: String,
    /// Chain parameters.
    pub params: ChainParams,
    /// Validators.
    pub validators: u32,
    /// The workload.
    pub workload: Payments,
    /// Offered rate of the paced phase (tx/s); `rate_share` of the bound
    /// when `None`.
    pub rate: Option<f64>,
    /// Share of the bound offered in the paced phase.
    pub rate_share: f64,
    /// Blocks' worth of time of the paced phase.
    pub paced_blocks: u64,
    /// Full blocks measured in the saturated phase (0: skip it).
    pub saturated_blocks: u64,
    /// Simulation seed.
    pub seed: u64,
    /// Cores each validator is given in the CPU bound (a stated
    /// parameter).
    pub validator_cores: u32,
}

/// A signed workload transfer.
struct Signed {
    bytes: Bytes,
    id: String,
    from: u32,
}

/// Signs `transfers` as L1 transactions, nonces in stream order.
fn sign(transfers: &[Transfer], params: &ChainParams) -> Vec<Signed> {
    let nonces = crate::workload::nonces(transfers);
    let keys: HashMap<u32, PrivateKey> = transfers
        .iter()
        .flat_map(|t| [t.from, t.to])
        .map(|i| (i, account_key(i as usize)))
        .collect();
    let gas_limit = 21_000 + params.gas.per_byte * 256 + params.gas.transfer;
    par_map(transfers.len(), crate::util::cores(), |k| {
        let t = transfers[k];
        let bytes = Transaction {
            chain_id: CHAIN,
            nonce: nonces[k],
            // Far above any base fee these runs reach: every transfer pays.
            max_fee_per_gas: 1_000_000_000_000,
            max_priority_fee_per_gas: params.min_base_fee.max(1),
            gas_limit,
            payload: Payload::Transfer {
                to: Address::from_public_key(&keys[&t.to].public_key()),
                amount: Amount(u128::from(t.amount)),
            },
        }
        .sign(&keys[&t.from])
        .encode();
        Signed {
            id: hex_hash(&terrace_l1::tx::tx_id(&bytes)),
            bytes,
            from: t.from,
        }
    })
}

/// What validator 0 saw of one finalized block.
#[derive(Debug, Clone)]
struct Seen {
    timestamp_ms: u64,
    finalized_ms: u64,
    base_fee: u64,
    gas_used: u64,
    size: u64,
    txs: Vec<String>,
}

/// The gas and bytes of one workload transfer under `params`.
pub fn transfer_cost(params: &ChainParams) -> Result<(u64, u64), LabError> {
    let t = Payments {
        accounts: 2,
        zipf_exponent: 0.0,
        seed: 0,
    }
    .take(1);
    let s = sign(&t, params);
    let bytes = s[0].bytes.clone();
    let checked = terrace_l1::SignedTransaction::decode_and_check(bytes.clone(), CHAIN, params)
        .map_err(|e| LabError::Config(format!("a workload transfer does not check: {e}")))?;
    Ok((bytes.len() as u64, checked.intrinsic_gas()))
}

/// How much a run sends, and when: derived from the run and the bound.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// The gas and bytes of one workload transfer.
    tx_bytes: u64,
    tx_gas: u64,
    /// The parameter bound.
    bound: Bound,
    /// Transfers one block holds.
    per_block: u64,
    /// Offered rate of the paced phase (tx/s).
    rate: f64,
    /// Transfers of the paced phase, then of the saturated one.
    paced: usize,
    saturated: usize,
    /// Time between two looks at the chain.
    tick: Duration,
    /// Virtual time the whole run may take.
    limit: Duration,
}

impl Plan {
    fn of(run: &L1Run) -> Result<Self, LabError> {
        let params = &run.params;
        let (tx_bytes, tx_gas) = transfer_cost(params)?;
        let bound = bound(params, tx_bytes, tx_gas);
        let per_block = bound.by_bytes_per_block.min(bound.by_gas_per_block).max(1);
        let block_s = params.block_time_ms as f64 / 1000.0;
        let rate = run
            .rate
            .unwrap_or(bound.limit_per_s * run.rate_share)
            .max(0.1);
        Ok(Self {
            tx_bytes,
            tx_gas,
            bound,
            per_block,
            rate,
            paced: ((rate * block_s * run.paced_blocks as f64).ceil() as usize).max(1),
            saturated: if run.saturated_blocks > 0 {
                usize::try_from(per_block * (run.saturated_blocks + 2)).unwrap_or(usize::MAX)
            } else {
                0
            },
            tick: Duration::from_millis((params.block_time_ms / 20).clamp(10, 5_000)),
            limit: Duration::from_millis(
                params
                    .block_time_ms
                    .saturating_mul(run.paced_blocks + run.saturated_blocks * 3 + 40),
            ) + Duration::from_secs(120),
        })
    }
}

/// A transfer submitted: its place in the workload and when (virtual ms).
#[derive(Debug, Clone, Copy)]
struct Submitted {
    index: usize,
    at_ms: u64,
}

/// What the simulation observed.
#[derive(Debug, Default)]
struct Observed {
    /// Every finalized block, as validator 0 saw it.
    blocks: Vec<Seen>,
    submitted: Vec<Submitted>,
    /// Process CPU of the saturated phase (every validator).
    cpu: Duration,
    /// Whether everything submitted finalized within the limit.
    done: bool,
}

/// Runs `run`; `progress` hears what it is doing.
pub fn run(run: &L1Run, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
    if run.validators == 0 {
        return Err(LabError::Config(
            "a chain needs at least one validator".into(),
        ));
    }
    run.params
        .validate()
        .map_err(|e| LabError::Config(e.to_string()))?;
    let wall = Instant::now();
    let plan = Plan::of(run)?;
    progress(&format!(
        "{}: signing {} transfers ({} paced at {:.1}/s, {} saturated)",
        run.name,
        plan.paced + plan.saturated,
        plan.paced,
        plan.rate,
        plan.saturated
    ));
    let transfers = run.workload.take(plan.paced + plan.saturated);
    let workload = WorkloadInfo::payments(&run.workload, &transfers);
    let signed = Arc::new(sign(&transfers, &run.params));
    progress(&format!(
        "{}: {} validators over {} regions, simulated",
        run.name,
        run.validators,
        (0..run.validators as usize)
            .map(sim::region_of)
            .max()
            .map_or(0, |r| r + 1)
    ));
    let observed = simulate(run, &plan, signed.clone())?;
    if !observed.done {
        return Err(LabError::Run {
            design: run.name.clone(),
            what: format!(
                "not every submitted transfer finalized within {} virtual",
                crate::design::human_ms(plan.limit.as_millis() as u64)
            ),
        });
    }
    progress(&format!("{}: measuring", run.name));
    Ok(measure(run, &plan, &signed, &observed, workload, wall))
}

/// Plays the run on the deterministic runtime: warm up, the paced phase,
/// the saturated phase, until everything submitted is final.
fn simulate(run: &L1Run, plan: &Plan, signed: Arc<Vec<Signed>>) -> Result<Observed, LabError> {
    let params = &run.params;
    let keys = validator_keys(run.validators);
    let members: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let regions: Vec<usize> = (0..members.len()).map(sim::region_of).collect();
    let genesis = genesis(&members, run.workload.accounts, &[], params.clone());
    let timeouts = timeouts(params);
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(run.seed)
            .with_cycle(SCHEDULER_CYCLE)
            .with_timeout(Some(plan.limit + Duration::from_secs(3_600))),
    );
    let plan = *plan;
    runner.start(|context| async move {
        let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
        let (_network, validators) = start_network(
            &context,
            &keys,
            &regions,
            &genesis,
            timeouts,
            &[],
            |i, chain| {
                if i != 0 {
                    return;
                }
                let mut feed = chain.subscribe();
                let seen = seen.clone();
                context.child("observer").spawn(move |context| async move {
                    while let Ok(b) = feed.recv().await {
                        let at = now_ms(&context);
                        seen.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                            timestamp_ms: b.timestamp_ms,
                            finalized_ms: at,
                            base_fee: b.base_fee,
                            gas_used: b.gas_used,
                            size: b.size,
                            txs: b.transactions,
                        });
                    }
                });
            },
        )
        .await?;
        let begun = context.current();
        let over = |context: &deterministic::Context| {
            context.current().duration_since(begun).unwrap_or_default() > plan.limit
        };
        let mut observed = Observed::default();
        // Warm up: two blocks everywhere.
        while validators
            .iter()
            .any(|v| v.chain.tip().block.header().height < 2)
        {
            if over(&context) {
                return Ok(observed);
            }
            context.sleep(plan.tick).await;
        }
        let clients: Vec<_> = validators.iter().map(|v| v.client()).collect();
        // Paced: transfer k is due at k / rate seconds.
        let start_ms = now_ms(&context);
        let mut k = 0;
        while k < plan.paced {
            let now = now_ms(&context);
            let due = |k: usize| start_ms + (k as f64 * 1000.0 / plan.rate) as u64;
            while k < plan.paced
                && due(k) <= now
                && submit(&clients, &signed, k, now, &mut observed).await
            {
                k += 1;
            }
            if over(&context) {
                break;
            }
            context.sleep(plan.tick).await;
        }
        // Saturated: keep two blocks' worth pooled.
        let total = plan.paced + plan.saturated;
        let cpu_before = cpu_time();
        while k < total {
            let now = now_ms(&context);
            while k < total
                && (clients[0].chain.pool_len() as u64) < 2 * plan.per_block
                && submit(&clients, &signed, k, now, &mut observed).await
            {
                k += 1;
            }
            if over(&context) {
                break;
            }
            context.sleep(plan.tick).await;
        }
        // Everything submitted finalized (or the limit).
        while !observed.done && !over(&context) {
            {
                let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                let included: usize = seen.iter().map(|b| b.txs.len()).sum();
                observed.done = included >= observed.submitted.len();
            }
            context.sleep(plan.tick).await;
        }
        observed.cpu = cpu_time().saturating_sub(cpu_before);
        observed.blocks = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(observed)
    })
}

/// Submits transfer `k` through its sender's validator and records it at
/// `at_ms`; false when the pool is full (the caller tries next tick).
async fn submit(
    clients: &[LocalClient<deterministic::Context>],
    signed: &[Signed],
    k: usize,
    at_ms: u64,
    observed: &mut Observed,
) -> bool {
    let s = &signed[k];
    let client = &clients[s.from as usize % clients.len()];
    if client.submit(s.bytes.clone()).await.is_err() {
        return false;
    }
    observed.submitted.push(Submitted { index: k, at_ms });
    true
}

/// Where each submitted transfer landed: its block's timestamp, when it
/// was seen final, and its block's base fee, by workload index.
#[derive(Debug, Default)]
struct Landed {
    at: HashMap<usize, (u64, u64)>,
    base_fee: HashMap<usize, u64>,
}

impl Landed {
    fn of(o: &Observed, index: &HashMap<&str, usize>) -> Self {
        let mut landed = Self::default();
        for blk in &o.blocks {
            for id in &blk.txs {
                if let Some(&i) = index.get(id.as_str()) {
                    landed.at.insert(i, (blk.timestamp_ms, blk.finalized_ms));
                    landed.base_fee.insert(i, blk.base_fee);
                }
            }
        }
        landed
    }

    /// Latency tiers of the transfers whose workload index is in `range`.
    fn tiers(&self, o: &Observed, range: std::ops::Range<usize>) -> Tiers {
        let mut inc = Vec::new();
        let mut fin = Vec::new();
        for s in o.submitted.iter().filter(|s| range.contains(&s.index)) {
            if let Some(&(ts, f)) = self.at.get(&s.index) {
                inc.push(ts.saturating_sub(s.at_ms) as f64);
                fin.push(f.saturating_sub(s.at_ms) as f64);
            }
        }
        let fin = Percentiles::of(fin);
        Tiers {
            soft: None,
            soft_clock: None,
            soft_how: None,
            included: Percentiles::of(inc),
            final_l1: fin,
            withdrawable: fin,
        }
    }
}

/// The saturated phase's blocks: those that carried its transfers, but
/// the last (the pools draining); the first is the time origin.
#[derive(Debug, Default)]
struct Saturated {
    /// Blocks measured (after the origin).
    blocks: usize,
    /// Their transfers, encoded bytes (block and transactions alone), gas.
    txs: usize,
    block_bytes: u64,
    tx_bytes: u64,
    gas: u64,
    /// From the origin's timestamp to the last block's.
    span_ms: u64,
    /// The base fee of the last block measured.
    base_fee_end: u64,
}

impl Saturated {
    fn of(
        o: &Observed,
        index: &HashMap<&str, usize>,
        tx_len: &HashMap<&str, u64>,
        paced: usize,
    ) -> Self {
        let mut carrying: Vec<&Seen> = o
            .blocks
            .iter()
            .filter(|b| {
                b.txs
                    .iter()
                    .any(|id| index.get(id.as_str()).is_some_and(|i| *i >= paced))
            })
            .collect();
        carrying.pop();
        let measured = carrying.get(1..).unwrap_or_default();
        Self {
            blocks: measured.len(),
            txs: measured.iter().map(|b| b.txs.len()).sum(),
            block_bytes: measured.iter().map(|b| b.size).sum(),
            // What the byte limit limits: the transactions' bytes, not the
            // header and framing a stored block adds.
            tx_bytes: measured
                .iter()
                .flat_map(|b| &b.txs)
                .filter_map(|id| tx_len.get(id.as_str()))
                .sum(),
            gas: measured.iter().map(|b| b.gas_used).sum(),
            span_ms: match (carrying.first(), carrying.last()) {
                (Some(a), Some(z)) => z.timestamp_ms.saturating_sub(a.timestamp_ms),
                _ => 0,
            },
            base_fee_end: measured.last().map_or(0, |b| b.base_fee),
        }
    }

    /// `x` per measured block, or 0.
    fn per_block(&self, x: f64) -> f64 {
        if self.blocks == 0 {
            0.0
        } else {
            x / self.blocks as f64
        }
    }
}

/// The design's report from what the simulation observed.
fn measure(
    run: &L1Run,
    plan: &Plan,
    signed: &[Signed],
    o: &Observed,
    workload: WorkloadInfo,
    wall: Instant,
) -> DesignReport {
    let params = &run.params;
    let index: HashMap<&str, usize> = signed
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let tx_len: HashMap<&str, u64> = signed
        .iter()
        .map(|s| (s.id.as_str(), s.bytes.len() as u64))
        .collect();
    let landed = Landed::of(o, &index);
    let latency = landed.tiers(o, 0..plan.paced);
    let latency_saturated =
        (plan.saturated > 0).then(|| landed.tiers(o, plan.paced..plan.paced + plan.saturated));
    let sat = Saturated::of(o, &index, &tx_len, plan.paced);
    let measured_tps = if sat.span_ms > 0 && sat.blocks > 0 {
        sat.txs as f64 * 1000.0 / sat.span_ms as f64
    } else {
        0.0
    };
    // Fees: what each paced transfer paid at its block's base fee.
    let tip = params.min_base_fee.max(1);
    let paid: Vec<f64> = (0..plan.paced)
        .filter_map(|i| landed.base_fee.get(&i))
        .map(|base| (plan.tx_gas as f64) * (*base + tip) as f64)
        .collect();
    let bases: Vec<f64> = (0..plan.paced)
        .filter_map(|i| landed.base_fee.get(&i))
        .map(|b| *b as f64)
        .collect();
    let sat_submitted = o.submitted.iter().filter(|s| s.index >= plan.paced).count();
    let cpu_us_per_tx = if sat_submitted > 0 {
        o.cpu.as_secs_f64() * 1e6 / (sat_submitted as f64 * run.validators as f64)
    } else {
        0.0
    };
    let cpu_bound_tps =
        (cpu_us_per_tx > 0.0).then(|| f64::from(run.validator_cores) * 1e6 / cpu_us_per_tx);
    let b = plan.bound;
    let bound_by = match cpu_bound_tps {
        Some(c) if c < b.limit_per_s => format!(
            "validator cpu: {} cores / {:.1} µs per transfer = {} tx/s, below {}",
            run.validator_cores,
            cpu_us_per_tx,
            crate::report::render::fig(c),
            b.bound_by
        ),
        _ => b.bound_by.into(),
    };
    DesignReport {
        design: run.name.clone(),
        layer: "l1",
        family: "l1",
        clock: "simulated",
        validators: run.validators,
        block_time_ms: params.block_time_ms,
        block_bytes_max: params.block_bytes_max,
        block_gas_limit: params.block_gas_limit,
        block_gas_target: params.block_gas_target,
        workload,
        throughput: Throughput {
            measured_tps,
            clock: "simulated",
            blocks_measured: sat.blocks,
            txs_per_block: sat.per_block(sat.txs as f64),
            limit_tps: b.limit_per_s,
            target_tps: b.target_per_s,
            bound_by,
            cpu_bound_tps,
            validator_cores: Some(run.validator_cores),
            wall_clock_tps: None,
            block_bytes_used: sat.per_block(sat.tx_bytes as f64) / params.block_bytes_max as f64,
            block_gas_used: sat.per_block(sat.gas as f64) / params.block_gas_limit as f64,
        },
        offered_tps: plan.rate,
        latency,
        latency_saturated,
        l1_bytes_per_tx: plan.tx_bytes as f64,
        fee: Fee {
            l1_gas_per_tx: plan.tx_gas as f64,
            l1_data_gas_per_tx: (params.gas.per_byte * plan.tx_bytes) as f64,
            base_fee_ater: quantiles(bases).map_or(0.0, |q| q(0.5)),
            fee_per_tx_ater: quantiles(paid).map_or(0.0, |q| q(0.5)),
            base_fee_after_saturation_ater: sat.base_fee_end as f64,
            l2_fee_per_tx_ater: None,
        },
        node: Node {
            storage_bytes_per_tx: if sat.txs > 0 {
                sat.block_bytes as f64 / sat.txs as f64
            } else {
                0.0
            },
            storage_bytes_per_s: if sat.span_ms > 0 {
                sat.block_bytes as f64 * 1000.0 / sat.span_ms as f64
            } else {
                0.0
            },
            cpu_us_per_tx,
            soft_cpu_us: None,
        },
        risks: None,
        prover: None,
        claims_paid: None,
        wall_s: wall.elapsed().as_secs_f64(),
    }
}
