//! `terrace bench l1`: the whole node measured, on two clocks.
//!
//! **Wall clock, loopback.** N validators in this process, each on its own
//! 127.0.0.1 port over the real authenticated p2p with its own storage,
//! exactly as `terrace devnet` runs them. Signed transfers (signed before
//! the clock starts) are submitted in-process through each validator's
//! admission path (decode, signature, pool, gossip) and followed to
//! finalization on validator 0. Two phases: *paced* (a fixed rate, for
//! latency without queueing) and *saturated* (as fast as the pools accept,
//! for throughput).
//!
//! **Virtual clock, simulated WAN.** N validators on the deterministic
//! runtime, spread round-robin over five regions with the round trips of
//! [`terrace_node::sim::REGION_RTT_MS`]; every block's proposal →
//! finalization delay at every validator, against what simplex's three
//! network hops would take on the same links
//! ([`terrace_node::sim::three_hop_finality_ms`]).

use super::{Context as _, Result, bail};
use crate::{
    sim::validator_keys,
    util::{par_map, peak_rss_bytes},
    workload::account_key,
};
use bytes::Bytes;
use commonware_codec::Encode as _;
use commonware_runtime::{
    Clock as _, Runner as _, Spawner as _, Supervisor as _, deterministic, tokio as cw_tokio,
};
use serde::Serialize;
use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr, TcpListener},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use terrace_l1::{ChainParams, Payload, Transaction, genesis::Genesis};
use terrace_mempool::PoolConfig;
use terrace_node::net::{NodeSpec, Running, start_node};
use terrace_node::{
    chain::Chain,
    engine::{Behavior, Timeouts},
    net::{Endpoint, Peer},
    rpc::hex_hash,
    sim::{self, Network},
    state::empty_log,
};
use terrace_primitives::{Address, Amount, ChainId, PublicKey, keys::Signer as _};

const CHAIN: ChainId = ChainId(9_001);

/// What to run.
#[derive(Debug, Clone)]
pub struct L1BenchConfig {
    /// Validators on loopback.
    pub validators: u32,
    /// Funded sender accounts.
    pub accounts: usize,
    /// Transfers in the saturated phase.
    pub saturated_txs: usize,
    /// Transfers per second in the paced phase.
    pub paced_rate: u64,
    /// Seconds of the paced phase.
    pub paced_seconds: u64,
    /// Block time (ms); the chain default when `None`.
    pub block_time_ms: Option<u64>,
    /// Committee sizes for the simulated-WAN run (empty: skip it).
    pub wan_validators: Vec<u32>,
    /// Blocks measured per simulated-WAN run (after a warm-up).
    pub wan_blocks: u64,
    /// Every link this one-way delay (ms) instead of the region model.
    pub wan_one_way_ms: Option<u64>,
    /// Virtual time one turn of the simulator's scheduler takes (µs).
    pub wan_cycle_us: u64,
    /// Skip the loopback run.
    pub skip_loopback: bool,
    /// Simulation seed.
    pub seed: u64,
}

/// Percentiles in milliseconds: the lab's, with the largest sample.
pub use crate::util::Percentiles as Latency;

/// One loopback phase (wall clock).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// "paced" or "saturated".
    pub phase: &'static str,
    /// Transfers submitted (accepted by a pool).
    pub submitted: usize,
    /// Of those, finalized.
    pub finalized: usize,
    /// Submissions refused for a full pool and retried.
    pub retries: u64,
    /// Offered rate (paced) or 0 (saturated: as fast as accepted).
    pub offered_per_s: f64,
    /// Finalized transfers / (last finalization − first submission).
    pub finalized_per_s: f64,
    /// Submit → finalized on validator 0.
    pub submit_to_final: Latency,
    /// Block timestamp (proposal) → finalized on validator 0, for blocks
    /// finalized during the phase: consensus finality alone.
    pub propose_to_final: Latency,
    /// Mean interval between finalized blocks' timestamps.
    pub block_interval_ms: f64,
    /// Finalized blocks in the phase.
    pub blocks: usize,
    /// Largest number of transfers in one block.
    pub max_block_txs: usize,
    /// Process CPU seconds (user + system) / wall seconds, over the phase.
    pub cpu_cores_busy: f64,
    /// Process CPU microseconds per finalized transfer.
    pub cpu_us_per_tx: f64,
}

/// The loopback run.
#[derive(Debug, Clone, Serialize)]
pub struct LoopbackReport {
    /// Always "wall-clock".
    pub clock: &'static str,
    /// Validators.
    pub validators: u32,
    /// Block time parameter (ms).
    pub block_time_ms: u64,
    /// CPU cores the machine reports.
    pub cores: usize,
    /// Encoded transfer size.
    pub tx_bytes: usize,
    /// Transfers a block may hold (gas and bytes), per second of block
    /// time: the parameters' bound.
    pub params_bound_per_s: f64,
    /// The two phases.
    pub phases: Vec<PhaseReport>,
    /// Peak resident memory of the process (VmHWM).
    pub peak_rss_bytes: u64,
}

/// One simulated-WAN run (virtual clock).
#[derive(Debug, Clone, Serialize)]
pub struct WanReport {
    /// Always "simulated".
    pub clock: &'static str,
    /// Validators.
    pub validators: u32,
    /// Every link's one-way delay, when not the region model.
    pub uniform_one_way_ms: Option<u64>,
    /// Virtual time per scheduler turn (µs). Every hand-off between tasks
    /// (p2p actor → consensus → marshal → application …) takes at least
    /// one turn, so this is a processing cost per hop that the network
    /// model does not have: at commonware's default of 1 ms it added a
    /// constant ≈35 ms to every block's finality.
    pub cycle_us: u64,
    /// Validators per region, in the order of `regions` (region model).
    pub per_region: Vec<usize>,
    /// Region names.
    pub regions: Vec<&'static str>,
    /// Blocks measured.
    pub blocks: usize,
    /// Proposal → finalized, every validator and block.
    pub measured: Latency,
    /// The same samples under the three-hop model.
    pub three_hop_model: Latency,
    /// measured − model, per sample.
    pub excess: Latency,
    /// Mean one-way delay between distinct validators.
    pub mean_one_way_ms: f64,
    /// Whether p50 measured ≤ p50 model + 20 ms (the target).
    pub within_target: bool,
    /// Mean interval between finalized blocks (virtual).
    pub block_interval_ms: f64,
    /// Wall-clock seconds the simulation took.
    pub wall_s: f64,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct L1BenchReport {
    /// Loopback (wall clock), unless skipped.
    pub loopback: Option<LoopbackReport>,
    /// Simulated WAN (virtual clock), one per committee size.
    pub wan: Vec<WanReport>,
}

/// Runs the benchmark.
pub fn run(cfg: &L1BenchConfig, progress: impl Fn(&str)) -> Result<L1BenchReport> {
    let loopback = if cfg.skip_loopback {
        None
    } else {
        Some(loopback(cfg, &progress)?)
    };
    let mut wan = Vec::new();
    for &n in &cfg.wan_validators {
        progress(&format!("simulated WAN: {n} validators"));
        wan.push(wan_run(
            n,
            cfg.wan_blocks,
            cfg.wan_one_way_ms,
            cfg.wan_cycle_us,
            cfg.seed,
        )?);
    }
    Ok(L1BenchReport { loopback, wan })
}

fn params(block_time_ms: Option<u64>) -> ChainParams {
    let mut p = ChainParams::default();
    if let Some(ms) = block_time_ms {
        p.block_time_ms = ms;
    }
    p
}

/// The lab's genesis (every account funded, equal stakes) on this
/// benchmark's chain id.
fn genesis(validators: &[PublicKey], accounts: usize, params: ChainParams) -> Genesis {
    let accounts = u32::try_from(accounts).unwrap_or(u32::MAX);
    let mut g = crate::sim::genesis(validators, accounts, &[], params);
    g.chain_id = CHAIN;
    g
}

/// A pre-signed transfer and its id as the node reports it.
struct Signed {
    bytes: Bytes,
    id: String,
}

/// Transfer k: sender k mod accounts, nonce k / accounts, to the next
/// account.
fn sign_transfers(accounts: usize, count: usize, threads: usize) -> Vec<Signed> {
    let keys: Vec<_> = (0..accounts).map(account_key).collect();
    let to: Vec<Address> = keys
        .iter()
        .map(|k| Address::from_public_key(&k.public_key()))
        .collect();
    par_map(count, threads, |k| {
        let from = k % accounts;
        let bytes = Transaction {
            chain_id: CHAIN,
            nonce: (k / accounts) as u64,
            max_fee_per_gas: 1_000_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            gas_limit: 30_000,
            payload: Payload::Transfer {
                to: to[(from + 1) % accounts],
                amount: Amount(1),
            },
        }
        .sign(&keys[from])
        .encode();
        let id = hex_hash(&terrace_l1::tx::tx_id(&bytes));
        Signed { bytes, id }
    })
}

/// `n` free p2p ports below Linux's default ephemeral range (32768–60999).
/// A port the kernel hands out (bind to 0) is released before the
/// validator binds it, and in that gap another validator's outbound dial
/// may take it as its source port.
fn free_ports(n: usize) -> Result<Vec<u16>> {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    let start = std::process::id() % SPAN;
    // Held until all are found, so no port is picked twice.
    let held: Vec<TcpListener> = (0..SPAN)
        .filter_map(|i| u16::try_from(LOW + (start + i) % SPAN).ok())
        .filter_map(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, p)).ok())
        .take(n)
        .collect();
    if held.len() < n {
        bail!(
            "fewer than {n} free ports on 127.0.0.1 between {LOW} and {}",
            LOW + SPAN
        );
    }
    held.iter()
        .map(|l| Ok(l.local_addr().context("a free port")?.port()))
        .collect()
}

use crate::util::cpu_time;

/// Milliseconds since the Unix epoch on this machine's clock.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What validator 0's feed saw: per transfer id, when it finalized; per
/// block, (timestamp, when it finalized, transfers).
#[derive(Default)]
struct Observed {
    finalized: HashMap<String, Instant>,
    blocks: Vec<(u64, f64, usize)>,
}

fn loopback(cfg: &L1BenchConfig, progress: &impl Fn(&str)) -> Result<LoopbackReport> {
    if cfg.validators == 0 || cfg.accounts < 2 {
        bail!("need at least one validator and two accounts");
    }
    let params = params(cfg.block_time_ms);
    let paced_txs = usize::try_from(cfg.paced_rate.saturating_mul(cfg.paced_seconds))
        .context("paced transfers")?;
    let total = paced_txs + cfg.saturated_txs;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    progress(&format!(
        "signing {total} transfers from {} accounts",
        cfg.accounts
    ));
    let txs = sign_transfers(cfg.accounts, total, threads);
    let tx_bytes = txs.first().map_or(0, |t| t.bytes.len());
    let keys = validator_keys(cfg.validators);
    let mut genesis = genesis(
        &keys.iter().map(|k| k.public_key()).collect::<Vec<_>>(),
        cfg.accounts,
        params.clone(),
    );
    // Blocks may not run far ahead of their parent's time: start now.
    genesis.timestamp_ms = wall_ms();
    let dir = std::env::temp_dir().join(format!("terrace-bench-l1-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).context("the data directory")?;
    let peers = keys
        .iter()
        .zip(free_ports(keys.len())?)
        .map(|(k, port)| Peer {
            key: k.public_key(),
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        })
        .collect::<Vec<_>>();
    let gas = terrace_l1::SignedTransaction::decode_and_check(
        txs.first().context("no transfers")?.bytes.clone(),
        CHAIN,
        &params,
    )
    .context("a workload transfer")?
    .intrinsic_gas();
    let per_block = (params.block_gas_limit / gas.max(1))
        .min(params.block_bytes_max / (tx_bytes.max(1) as u64));
    let params_bound_per_s = per_block as f64 * 1000.0 / params.block_time_ms as f64;

    let config = cw_tokio::Config::new()
        .with_worker_threads(4)
        .with_storage_directory(dir.join("store"))
        .with_catch_panics(false);
    let n = cfg.validators;
    let paced_rate = cfg.paced_rate;
    let result: Result<Vec<PhaseReport>> =
        cw_tokio::Runner::new(config).start(|context| async move {
            let mut nodes: Vec<Running> = Vec::new();
            for (i, key) in keys.iter().enumerate() {
                nodes.push(
                    start_node(
                        &context,
                        &genesis,
                        NodeSpec {
                            key,
                            endpoint: Endpoint {
                                listen: peers[i].addr,
                                dialable: peers[i].addr,
                                allow_private: true,
                            },
                            peers: &peers,
                            // Served but unused here: the kernel picks its port.
                            rpc: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                            prefix: format!("validator-{i}"),
                            timeouts: Timeouts::LAN,
                        },
                    )
                    .await
                    .context("starting a validator")?,
                );
            }
            let observed = Arc::new(Mutex::new(Observed::default()));
            let mut feed = nodes[0].chain.subscribe();
            let seen = observed.clone();
            context.child("observer").spawn(move |_| async move {
                while let Ok(b) = feed.recv().await {
                    let now = Instant::now();
                    let at = wall_ms() as f64;
                    let mut o = seen.lock().unwrap_or_else(|e| e.into_inner());
                    o.blocks.push((b.timestamp_ms, at, b.transactions.len()));
                    for t in b.transactions {
                        o.finalized.insert(t, now);
                    }
                }
            });
            // Everyone connected and producing blocks.
            let start = Instant::now();
            while nodes
                .iter()
                .any(|v| v.chain.tip().block.header().height < 2)
            {
                if start.elapsed() > Duration::from_secs(60) {
                    bail!("the validators did not start producing blocks in 60 s");
                }
                context.sleep(Duration::from_millis(20)).await;
            }
            let nodes = Arc::new(nodes);
            let txs = Arc::new(txs);
            let mut reports = Vec::new();
            if paced_txs > 0 {
                progress(&format!(
                    "loopback, paced: {paced_rate} transfers/s for {paced_txs} transfers"
                ));
                reports.push(
                    phase(
                        &context,
                        "paced",
                        &nodes,
                        &txs,
                        0..paced_txs,
                        Some(paced_rate),
                        &observed,
                    )
                    .await
                    .context("starting a validator")?,
                );
            }
            if paced_txs < total {
                progress(&format!(
                    "loopback, saturated: {} transfers as fast as accepted",
                    total - paced_txs
                ));
                reports.push(
                    phase(
                        &context,
                        "saturated",
                        &nodes,
                        &txs,
                        paced_txs..total,
                        None,
                        &observed,
                    )
                    .await
                    .context("starting a validator")?,
                );
            }
            if let Ok(nodes) = Arc::try_unwrap(nodes) {
                for v in nodes {
                    v.stop();
                }
            }
            Ok(reports)
        });
    let _ = std::fs::remove_dir_all(&dir);
    Ok(LoopbackReport {
        clock: "wall-clock",
        validators: n,
        block_time_ms: params.block_time_ms,
        cores: threads,
        tx_bytes,
        params_bound_per_s,
        phases: result?,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Submits `range` of `txs` (paced at `rate`/s, or as fast as accepted)
/// and waits until all of them finalized on validator 0.
async fn phase(
    context: &cw_tokio::Context,
    name: &'static str,
    nodes: &Arc<Vec<Running>>,
    txs: &Arc<Vec<Signed>>,
    range: std::ops::Range<usize>,
    rate: Option<u64>,
    observed: &Arc<Mutex<Observed>>,
) -> Result<PhaseReport> {
    let count = range.len();
    let blocks_before = observed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .blocks
        .len();
    let cpu_start = cpu_time();
    let start = Instant::now();
    let start_ms = wall_ms() as f64;
    // One submitter per validator; submitter w takes transfers k with
    // k mod n = w, in order, so each sender's nonces arrive in order
    // at one validator.
    let n = nodes.len();
    let mut handles = Vec::new();
    for w in 0..n {
        let nodes = nodes.clone();
        let txs = txs.clone();
        let range = range.clone();
        handles.push(context.child("submitter").spawn(move |context| async move {
            let v = &nodes[w];
            let mut submitted: Vec<(usize, Instant)> = Vec::new();
            let mut retries = 0u64;
            for k in range.clone().filter(|k| k % n == w) {
                if let Some(rate) = rate {
                    // Transfer k is due at (k − start) / rate seconds.
                    let due = Duration::from_secs_f64((k - range.start) as f64 / rate as f64);
                    let elapsed = start.elapsed();
                    if due > elapsed {
                        context.sleep(due - elapsed).await;
                    }
                }
                loop {
                    let at = Instant::now();
                    match v
                        .gossip
                        .submit(&v.chain, &v.state, txs[k].bytes.clone())
                        .await
                    {
                        Ok(_) => {
                            submitted.push((k, at));
                            break;
                        }
                        Err(terrace_node::gossip::SubmitError::Rejected(_)) => {
                            // A full pool: wait for a block to drain it.
                            retries += 1;
                            context.sleep(Duration::from_millis(5)).await;
                        }
                        Err(e) => return Err(super::fail(format!("transfer {k} refused: {e}"))),
                    }
                }
            }
            Ok((submitted, retries))
        }));
    }
    let mut submitted = Vec::with_capacity(count);
    let mut retries = 0;
    for h in handles {
        let (s, r) = h.await.context("submitter stopped")??;
        submitted.extend(s);
        retries += r;
    }
    // Wait for finality of everything submitted.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = {
            let o = observed.lock().unwrap_or_else(|e| e.into_inner());
            submitted
                .iter()
                .all(|(k, _)| o.finalized.contains_key(&txs[*k].id))
        };
        if done {
            break;
        }
        if Instant::now() > deadline {
            bail!("{name}: transfers not finalized within 120 s of the last submission");
        }
        context.sleep(Duration::from_millis(10)).await;
    }
    let wall = start.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_start);
    let o = observed.lock().unwrap_or_else(|e| e.into_inner());
    let mut latencies = Vec::with_capacity(submitted.len());
    let mut last = start;
    for (k, at) in &submitted {
        if let Some(f) = o.finalized.get(&txs[*k].id) {
            latencies.push(f.duration_since(*at).as_secs_f64() * 1000.0);
            last = last.max(*f);
        }
    }
    let blocks: Vec<_> = o.blocks[blocks_before..]
        .iter()
        .filter(|(ts, _, _)| *ts as f64 >= start_ms)
        .copied()
        .collect();
    let block_interval_ms = match (blocks.first(), blocks.last()) {
        (Some(a), Some(b)) if blocks.len() > 1 => (b.0 - a.0) as f64 / (blocks.len() - 1) as f64,
        _ => 0.0,
    };
    let finalized = latencies.len();
    let span = last.duration_since(start).as_secs_f64();
    Ok(PhaseReport {
        phase: name,
        submitted: submitted.len(),
        finalized,
        retries,
        offered_per_s: rate.map_or(0.0, |r| r as f64),
        finalized_per_s: if span > 0.0 {
            finalized as f64 / span
        } else {
            0.0
        },
        submit_to_final: Latency::of(latencies),
        propose_to_final: Latency::of(blocks.iter().map(|(ts, at, _)| at - *ts as f64).collect()),
        block_interval_ms,
        blocks: blocks.len(),
        max_block_txs: blocks.iter().map(|b| b.2).max().unwrap_or(0),
        cpu_cores_busy: cpu.as_secs_f64() / wall.as_secs_f64().max(1e-9),
        cpu_us_per_tx: cpu.as_secs_f64() * 1e6 / finalized.max(1) as f64,
    })
}

/// `n` validators in simulated WAN: proposal → finalized per validator and
/// block, in virtual time, against the three-hop model.
fn wan_run(
    n: u32,
    blocks: u64,
    uniform_ms: Option<u64>,
    cycle_us: u64,
    seed: u64,
) -> Result<WanReport> {
    if n == 0 {
        bail!("a simulated network needs at least one validator");
    }
    if cycle_us == 0 {
        bail!("the simulator's cycle must be at least 1 µs");
    }
    const WARMUP: u64 = 3;
    let wall = Instant::now();
    let mut keys: Vec<_> = (0..n)
        .map(|i| {
            terrace_primitives::keys::private_key_from_seed(
                terrace_primitives::hash_tagged(
                    b"terrace/bench/wan-validator",
                    &[&i.to_le_bytes()],
                )
                .0,
            )
        })
        .collect();
    // Committee order (sorted keys) is the placement order.
    keys.sort_by_key(|k| k.public_key());
    let members: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let regions: Vec<usize> = (0..members.len()).map(sim::region_of).collect();
    let delay: Vec<Vec<u64>> = regions
        .iter()
        .map(|&a| {
            regions
                .iter()
                .map(|&b| uniform_ms.unwrap_or_else(|| sim::one_way_ms(a, b)))
                .collect()
        })
        .collect();
    let by_address: HashMap<Address, usize> = members
        .iter()
        .enumerate()
        .map(|(i, k)| (Address::from_public_key(k), i))
        .collect();
    let genesis = genesis(&members, 2, ChainParams::default());
    let target = WARMUP + blocks;
    let (placed, committee) = (regions.clone(), members.clone());
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_cycle(Duration::from_micros(cycle_us))
            .with_timeout(Some(Duration::from_secs(24 * 3600))),
    );
    // (validator, height, proposer, timestamp, finalized at), virtual ms.
    type Sample = (usize, u64, Address, u64, u64);
    let samples: Vec<Sample> = runner.start(|context| async move {
        let new_chain = || {
            Arc::new(
                Chain::new(
                    genesis.clone(),
                    empty_log::<deterministic::Context>(),
                    PoolConfig::default(),
                    1,
                )
                .expect("the benchmark genesis is valid"),
            )
        };
        let probe = new_chain();
        let network = Network::new(&context, &committee, &probe, sim::link(1, 0, 1000)).await;
        match uniform_ms {
            Some(ms) => network.heal(sim::link(ms, 0, 1000)).await,
            None => network.place(&placed).await,
        }
        let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
        let mut validators = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let chain = new_chain();
            let mut feed = chain.subscribe();
            let seen = samples.clone();
            context.child("observer").spawn(move |context| async move {
                while let Ok(b) = feed.recv().await {
                    let at = terrace_node::app::now_ms(&context);
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push((
                        i,
                        b.height,
                        b.proposer,
                        b.timestamp_ms,
                        at,
                    ));
                }
            });
            validators.push(
                network
                    .start_validator(&context, key, chain, Timeouts::WAN, Behavior::Honest, 0)
                    .await,
            );
        }
        let virtual_limit = Duration::from_secs(600);
        let begun = context.current();
        while validators
            .iter()
            .any(|v| v.chain.tip().block.header().height < target)
        {
            let waited = context.current().duration_since(begun).unwrap_or_default();
            if waited > virtual_limit {
                break;
            }
            context.sleep(Duration::from_millis(50)).await;
        }
        samples.lock().unwrap_or_else(|e| e.into_inner()).clone()
    });
    let mut measured = Vec::new();
    let mut model = Vec::new();
    let mut excess = Vec::new();
    let mut stamps: Vec<(u64, u64)> = Vec::new();
    for (v, height, proposer, ts, at) in &samples {
        if *height <= WARMUP || *height > target {
            continue;
        }
        let Some(&leader) = by_address.get(proposer) else {
            continue;
        };
        let m = sim::three_hop_finality_ms(&delay, leader)[*v] as f64;
        let got = at.saturating_sub(*ts) as f64;
        measured.push(got);
        model.push(m);
        excess.push(got - m);
        stamps.push((*height, *ts));
    }
    stamps.sort_unstable();
    stamps.dedup();
    let measured_blocks = stamps.len();
    if measured_blocks < 2 {
        bail!("{n} validators in simulated WAN finalized fewer than 2 blocks after warm-up");
    }
    let block_interval_ms = match (stamps.first(), stamps.last()) {
        (Some(a), Some(b)) => (b.1 - a.1) as f64 / (measured_blocks - 1) as f64,
        _ => 0.0,
    };
    let mut pairs = 0u64;
    let mut sum = 0u64;
    for (i, row) in delay.iter().enumerate() {
        for (j, d) in row.iter().enumerate() {
            if i != j {
                pairs += 1;
                sum += d;
            }
        }
    }
    let measured = Latency::of(measured);
    let three_hop_model = Latency::of(model);
    let mut per_region = vec![0; sim::REGIONS.len()];
    for r in &regions {
        per_region[*r] += 1;
    }
    Ok(WanReport {
        clock: "simulated",
        validators: n,
        uniform_one_way_ms: uniform_ms,
        cycle_us,
        per_region,
        regions: sim::REGIONS.to_vec(),
        blocks: measured_blocks,
        within_target: measured.p50_ms <= three_hop_model.p50_ms + 20.0,
        measured,
        three_hop_model,
        excess: Latency::of(excess),
        mean_one_way_ms: if pairs > 0 {
            sum as f64 / pairs as f64
        } else {
            0.0
        },
        block_interval_ms,
        wall_s: wall.elapsed().as_secs_f64(),
    })
}
