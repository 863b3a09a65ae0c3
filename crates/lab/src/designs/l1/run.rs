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
    util::{Percentiles, cpu_time, par_map},
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
    let mut next = HashMap::<u32, u64>::new();
    let nonces: Vec<u64> = transfers
        .iter()
        .map(|t| {
            let n = next.entry(t.from).or_default();
            *n += 1;
            *n - 1
        })
        .collect();
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

/// Runs `run`; `progress` hears what it is doing.
pub fn run(run: &L1Run, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
    let fail = |what: String| LabError::Run {
        design: run.name.clone(),
        what,
    };
    if run.validators == 0 {
        return Err(LabError::Config(
            "a chain needs at least one validator".into(),
        ));
    }
    run.params
        .validate()
        .map_err(|e| LabError::Config(e.to_string()))?;
    let wall = Instant::now();
    let params = run.params.clone();
    let (tx_bytes, tx_gas) = transfer_cost(&params)?;
    let b: Bound = bound(&params, tx_bytes, tx_gas);
    let per_block = b.by_bytes_per_block.min(b.by_gas_per_block).max(1);
    let block_s = params.block_time_ms as f64 / 1000.0;
    let rate = run.rate.unwrap_or(b.limit_per_s * run.rate_share).max(0.1);
    let paced = ((rate * block_s * run.paced_blocks as f64).ceil() as usize).max(1);
    let saturated = if run.saturated_blocks > 0 {
        usize::try_from(per_block * (run.saturated_blocks + 2)).unwrap_or(usize::MAX)
    } else {
        0
    };
    progress(&format!(
        "{}: signing {} transfers ({paced} paced at {rate:.1}/s, {saturated} saturated)",
        run.name,
        paced + saturated
    ));
    let transfers = run.workload.take(paced + saturated);
    let workload = WorkloadInfo::payments(&run.workload, &transfers);
    let signed = Arc::new(sign(&transfers, &params));
    let index: HashMap<String, usize> = signed
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();

    let keys = validator_keys(run.validators);
    let members: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let regions: Vec<usize> = (0..members.len()).map(sim::region_of).collect();
    let genesis = genesis(&members, run.workload.accounts, &[], params.clone());
    let tick = Duration::from_millis((params.block_time_ms / 20).clamp(10, 5_000));
    let virtual_limit = Duration::from_millis(
        params
            .block_time_ms
            .saturating_mul(run.paced_blocks + run.saturated_blocks * 3 + 40),
    ) + Duration::from_secs(120);
    let timeouts = timeouts(&params);
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(run.seed)
            .with_cycle(SCHEDULER_CYCLE)
            .with_timeout(Some(virtual_limit + Duration::from_secs(3_600))),
    );
    progress(&format!(
        "{}: {} validators over {} regions, simulated",
        run.name,
        run.validators,
        regions.iter().max().map_or(0, |r| r + 1)
    ));
    let name = run.name.clone();
    type Outcome = (Vec<Seen>, Vec<(usize, u64)>, Duration, bool);
    let tx_len: HashMap<String, u64> = signed
        .iter()
        .map(|s| (s.id.clone(), s.bytes.len() as u64))
        .collect();
    let outcome: Result<Outcome, LabError> = runner.start(|context| async move {
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
        let elapsed = |context: &deterministic::Context| {
            context.current().duration_since(begun).unwrap_or_default()
        };
        // Warm up: two blocks everywhere.
        while validators
            .iter()
            .any(|v| v.chain.tip().block.header().height < 2)
        {
            if elapsed(&context) > virtual_limit {
                return Ok((Vec::new(), Vec::new(), Duration::ZERO, false));
            }
            context.sleep(tick).await;
        }
        let clients: Vec<_> = validators.iter().map(|v| v.client()).collect();
        let n = clients.len();
        let mut submitted: Vec<(usize, u64)> = Vec::with_capacity(paced + saturated);
        // Paced: transfer k is due at k / rate seconds.
        let start_ms = now_ms(&context);
        let mut k = 0;
        while k < paced {
            let now = now_ms(&context);
            let due = |k: usize| start_ms + (k as f64 * 1000.0 / rate) as u64;
            while k < paced && due(k) <= now {
                let s = &signed[k];
                match clients[s.from as usize % n].submit(s.bytes.clone()).await {
                    Ok(_) => {
                        submitted.push((k, now));
                        k += 1;
                    }
                    Err(_) => break, // a full pool: next tick
                }
            }
            if elapsed(&context) > virtual_limit {
                break;
            }
            context.sleep(tick).await;
        }
        // Saturated: keep two blocks' worth pooled.
        let cpu_before = cpu_time();
        while k < paced + saturated {
            let now = now_ms(&context);
            while k < paced + saturated && (clients[0].chain.pool_len() as u64) < 2 * per_block {
                let s = &signed[k];
                match clients[s.from as usize % n].submit(s.bytes.clone()).await {
                    Ok(_) => {
                        submitted.push((k, now));
                        k += 1;
                    }
                    Err(_) => break,
                }
            }
            if elapsed(&context) > virtual_limit {
                break;
            }
            context.sleep(tick).await;
        }
        // Everything submitted finalized (or the limit).
        let mut done = false;
        while !done && elapsed(&context) <= virtual_limit {
            {
                let seen = seen.lock().unwrap_or_else(|e| e.into_inner());
                let included: usize = seen.iter().map(|b| b.txs.len()).sum();
                done = included >= submitted.len();
            }
            context.sleep(tick).await;
        }
        let cpu = cpu_time().saturating_sub(cpu_before);
        let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok((seen, submitted, cpu, done))
    });
    let (blocks, submitted, cpu, done) = outcome?;
    if !done {
        return Err(fail(format!(
            "not every submitted transfer finalized within {} virtual",
            crate::design::human_ms(virtual_limit.as_millis() as u64)
        )));
    }
    progress(&format!("{name}: measuring"));
    // Per transfer: (submitted, included = block timestamp, finalized).
    let mut at: HashMap<usize, (u64, u64)> = HashMap::new();
    let mut fee_of: HashMap<usize, u64> = HashMap::new();
    for blk in &blocks {
        for id in &blk.txs {
            if let Some(&i) = index.get(id) {
                at.insert(i, (blk.timestamp_ms, blk.finalized_ms));
                fee_of.insert(i, blk.base_fee);
            }
        }
    }
    let phase_tiers = |range: std::ops::Range<usize>| {
        let mut inc = Vec::new();
        let mut fin = Vec::new();
        for &(i, sub) in submitted.iter().filter(|(i, _)| range.contains(i)) {
            if let Some(&(ts, f)) = at.get(&i) {
                inc.push(ts.saturating_sub(sub) as f64);
                fin.push(f.saturating_sub(sub) as f64);
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
    };
    let latency = phase_tiers(0..paced);
    let latency_saturated = (saturated > 0).then(|| phase_tiers(paced..paced + saturated));

    // Throughput: the blocks that carried saturated-phase transfers, but
    // the last (the pools draining). The first is the time origin; the
    // transfers of the others over the time since it.
    let mut carrying: Vec<&Seen> = blocks
        .iter()
        .filter(|b| {
            b.txs
                .iter()
                .any(|id| index.get(id).is_some_and(|i| *i >= paced))
        })
        .collect();
    carrying.pop();
    let measured: Vec<&Seen> = carrying.iter().skip(1).copied().collect();
    let span_ms = match (carrying.first(), carrying.last()) {
        (Some(a), Some(z)) => z.timestamp_ms.saturating_sub(a.timestamp_ms),
        _ => 0,
    };
    let (sum_size, sum_txs, sum_gas) = measured.iter().fold((0u64, 0usize, 0u64), |acc, b| {
        (acc.0 + b.size, acc.1 + b.txs.len(), acc.2 + b.gas_used)
    });
    // What the byte limit limits: the transactions' bytes, not the header
    // and framing a stored block adds.
    let sum_tx_bytes: u64 = measured
        .iter()
        .flat_map(|b| &b.txs)
        .filter_map(|id| tx_len.get(id))
        .sum();
    let (measured_tps, sat_blocks, txs_per_block) = if span_ms > 0 && !measured.is_empty() {
        (
            sum_txs as f64 * 1000.0 / span_ms as f64,
            measured.len(),
            sum_txs as f64 / measured.len() as f64,
        )
    } else {
        (0.0, 0, 0.0)
    };
    // Fees: what each paced transfer paid at its block's base fee.
    let tip = params.min_base_fee.max(1);
    let paid: Vec<f64> = (0..paced)
        .filter_map(|i| fee_of.get(&i))
        .map(|base| (tx_gas as f64) * (*base + tip) as f64)
        .collect();
    let bases: Vec<f64> = (0..paced)
        .filter_map(|i| fee_of.get(&i))
        .map(|b| *b as f64)
        .collect();
    let base_fee = crate::util::quantiles(bases).map_or(0.0, |q| q(0.5));
    let fee_wei = crate::util::quantiles(paid).map_or(0.0, |q| q(0.5));
    let sat_base_fee_end = measured.last().map_or(0, |b| b.base_fee);
    let data_gas = params.gas.per_byte * tx_bytes;
    let sat_submitted = submitted.iter().filter(|(i, _)| *i >= paced).count();
    let cpu_us_per_tx = if sat_submitted > 0 {
        cpu.as_secs_f64() * 1e6 / (sat_submitted as f64 * run.validators as f64)
    } else {
        0.0
    };
    let cpu_bound_tps =
        (cpu_us_per_tx > 0.0).then(|| f64::from(run.validator_cores) * 1e6 / cpu_us_per_tx);
    let bound_by = match cpu_bound_tps {
        Some(c) if c < b.limit_per_s => format!(
            "validator cpu ({} cores × {:.1} µs per transfer); {} allows {:.0}",
            run.validator_cores, cpu_us_per_tx, b.bound_by, b.limit_per_s
        ),
        _ => b.bound_by.into(),
    };
    Ok(DesignReport {
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
            blocks_measured: sat_blocks,
            txs_per_block,
            limit_tps: b.limit_per_s,
            target_tps: b.target_per_s,
            bound_by,
            cpu_bound_tps,
            validator_cores: Some(run.validator_cores),
            wall_clock_tps: None,
            block_bytes_used: if measured.is_empty() {
                0.0
            } else {
                sum_tx_bytes as f64 / (measured.len() as f64 * params.block_bytes_max as f64)
            },
            block_gas_used: if measured.is_empty() {
                0.0
            } else {
                sum_gas as f64 / (measured.len() as f64 * params.block_gas_limit as f64)
            },
        },
        offered_tps: rate,
        latency,
        latency_saturated,
        l1_bytes_per_tx: tx_bytes as f64,
        fee: Fee {
            l1_gas_per_tx: tx_gas as f64,
            l1_data_gas_per_tx: data_gas as f64,
            base_fee_ater: base_fee,
            fee_per_tx_ater: fee_wei,
            base_fee_after_saturation_ater: sat_base_fee_end as f64,
            l2_fee_per_tx_ater: None,
        },
        node: Node {
            storage_bytes_per_tx: if sum_txs > 0 {
                sum_size as f64 / sum_txs as f64
            } else {
                0.0
            },
            storage_bytes_per_s: if span_ms > 0 {
                sum_size as f64 * 1000.0 / span_ms as f64
            } else {
                0.0
            },
            cpu_us_per_tx,
            soft_cpu_us: None,
        },
        risks: None,
        wall_s: wall.elapsed().as_secs_f64(),
    })
}
