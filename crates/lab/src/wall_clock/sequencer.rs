//! `terrace bench sequencer`: the optimistic rollup's sequencer and
//! batcher on signed L2 transfers, measured on the wall clock, and what
//! its batches cost on L1.
//!
//! Setup (not timed): `accounts` L2 accounts opened by deposits through the
//! inbox, and `txs` signed transfers with Zipf-distributed senders and
//! uniform receivers. Timed:
//! - **saturated**: every transfer submitted back to back (decode, check
//!   the signature, execute on the soft state, confirm), blocks sealed
//!   every `block_txs`: soft-confirmation throughput and the latency of
//!   each confirmation;
//! - **half load**: the same transfers from the same start, offered on a
//!   fixed schedule at half the saturated rate: latency from each
//!   transfer's scheduled arrival to its confirmation (queueing included);
//! - **batching**: the sealed blocks packed into batches and compressed
//!   (zstd, the batcher's compressor), and a verifier deriving them from
//!   the posted data.
//!
//! - **aggregated**: the same transfers from accounts with BLS keys, each
//!   signed with BLS and submitted in calls of `block_txs`
//!   (`l2_sendRawAggregatedTransactions`: signatures checked on every
//!   core), batched with one aggregate per 32, and derived with every
//!   aggregate checked.
//!
//! The L1 side is computed from the real encodings and the gas schedule:
//! the signed `SubmitBatch` transaction of each batch, its gas, and its
//! share per transfer, against the gas of a plain L1 transfer.

use super::{Context as _, Result, ensure};
use crate::{
    util::{Percentiles, par_map, peak_rss_bytes},
    workload::{SplitMix, Zipf, account_key},
};
use commonware_codec::{Encode as _, EncodeSize as _};
use commonware_runtime::{Clock as _, Runner as _, tokio as cw_tokio};
use jsonrpsee::http_client::HttpClientBuilder;
use serde::Serialize;
use std::{
    net::{Ipv4Addr, SocketAddr},
    time::{Duration, Instant},
};
use terrace_l1::{
    ChainParams, Payload, Transaction,
    modules::optimistic::{OptimisticOp, RollupOp},
    tx::intrinsic_gas,
};
use terrace_l2::{
    Action, AggregatedL2Transaction, BlockContext, BlsRegistration, Deposit, L2Transaction,
    SignedL2Transaction,
};
use terrace_primitives::{
    Address, Amount, BlsPrivateKey, ChainId, Hash, codec::to_hex, keys::Signer as _,
};
use terrace_rollup::{
    Derivation, Sequencer, Shared,
    l1::{L1Block, RollupTx},
    rpc::L2ApiClient as _,
};

const ROLLUP: u64 = 0;

/// What to run.
#[derive(Debug, Clone)]
pub struct SequencerBenchConfig {
    /// L2 accounts.
    pub accounts: usize,
    /// Transfers.
    pub txs: usize,
    /// Transfers per L2 block.
    pub block_txs: usize,
    /// Zipf exponent of the sender distribution.
    pub zipf_exponent: f64,
    /// Workload seed.
    pub seed: u64,
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Micros {
    /// Samples.
    pub samples: usize,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Micros {
    fn of(v: Vec<f64>) -> Self {
        let samples = v.len();
        let Some(at) = crate::util::quantiles(v) else {
            return Self::default();
        };
        Self {
            samples,
            p50_us: at(0.50),
            p99_us: at(0.99),
            max_us: at(1.0),
        }
    }
}

/// What was measured.
#[derive(Debug, Clone, Serialize)]
pub struct SequencerBenchReport {
    /// Always "wall-clock".
    pub clock: &'static str,
    /// L2 accounts.
    pub accounts: usize,
    /// Transfers.
    pub txs: usize,
    /// Transfers per block.
    pub block_txs: usize,
    /// Soft confirmations per second, back to back (one core: the
    /// sequencer orders and executes sequentially).
    pub saturated_per_s: f64,
    /// Confirmation latency when saturated.
    pub saturated_latency: Micros,
    /// Soft confirmations per second in calls of `block_txs`
    /// (`l2_sendRawTransactions`), signatures verified together on every
    /// core.
    pub batched_per_s: f64,
    /// Threads verifying signatures in that phase.
    pub threads: usize,
    /// Latency of one such call (every transaction in it is confirmed at
    /// its end).
    pub batched_call_latency: Micros,
    /// The rate offered in the half-load phase.
    pub half_load_per_s: f64,
    /// Scheduled arrival → confirmation at half load.
    pub half_load_latency: Micros,
    /// Raw ed25519 verifications per second on one core, for scale.
    pub ed25519_verify_per_s: f64,
    /// Batches the blocks packed into.
    pub batches: usize,
    /// Mean encoded L2 transfer (signature included), bytes.
    pub raw_bytes_per_transfer: f64,
    /// Compressed batch bytes per transfer: what L1 carries.
    pub l1_bytes_per_transfer: f64,
    /// raw / compressed.
    pub compression_ratio: f64,
    /// Transfers per second a verifier derives (decompress, execute,
    /// per-step roots) from the posted data.
    pub derive_per_s: f64,
    /// L1 gas of the `SubmitBatch` transactions per transfer.
    pub l1_gas_per_l2_transfer: f64,
    /// L1 gas of a plain L1 transfer.
    pub l1_gas_per_l1_transfer: u64,
    /// l1_gas_per_l1_transfer / l1_gas_per_l2_transfer: how many times
    /// less L1 fee an L2 transfer pays at the same base fee.
    pub l1_fee_ratio: f64,
    /// The same transfers sent aggregated (BLS).
    pub aggregated: AggregatedReport,
    /// Peak resident memory, bytes.
    pub peak_rss_bytes: u64,
    /// Seconds spent generating keys and signing (not in the figures).
    pub setup_s: f64,
}

/// The aggregated pass.
#[derive(Debug, Clone, Serialize)]
pub struct AggregatedReport {
    /// Soft confirmations per second in calls of `block_txs`, BLS
    /// signatures checked on every core.
    pub per_s: f64,
    /// Latency of one such call.
    pub call_latency: Micros,
    /// Raw BLS verifications per second on one core, for scale.
    pub bls_verify_per_s: f64,
    /// Batches.
    pub batches: usize,
    /// Mean encoded aggregated transfer in a block (tag included, no
    /// signature), bytes.
    pub raw_bytes_per_transfer: f64,
    /// Compressed batch bytes per transfer, aggregates included.
    pub l1_bytes_per_transfer: f64,
    /// Transfers per second a verifier derives, every aggregate checked.
    pub derive_per_s: f64,
    /// L1 gas of the `SubmitBatch` transactions per transfer.
    pub l1_gas_per_l2_transfer: f64,
    /// Plain L1 transfer gas over that.
    pub l1_fee_ratio: f64,
    /// Bytes of the fraud proof of a bad aggregate over a full chunk.
    pub aggregate_proof_bytes: usize,
    /// Time L1 takes to verify it (best of 5), milliseconds.
    pub aggregate_proof_verify_ms: f64,
    /// L1 gas of the `ProveAggregate` transaction.
    pub aggregate_proof_gas: u64,
}

/// What posting the sequencer's blocks cost and how fast a verifier
/// derived them.
struct Posted {
    batches: usize,
    raw: usize,
    compressed: usize,
    l1_gas: u64,
    derive_s: f64,
    /// The next L1 height.
    height: u64,
}

/// Packs every sealed block into batches, prices each `SubmitBatch` on L1
/// and derives it as a verifier would, checking the verifier agrees.
fn post_all(
    seq: &mut Sequencer,
    derivation: &mut Derivation,
    params: &ChainParams,
    mut height: u64,
) -> Result<Posted> {
    let mut p = Posted {
        batches: 0,
        raw: 0,
        compressed: 0,
        l1_gas: 0,
        derive_s: 0.0,
        height,
    };
    while let Some((batch, data)) =
        seq.next_batch(usize::try_from(params.tx_bytes_max).context("batch size")? - 1_024)
    {
        p.raw += batch.encode_size();
        p.compressed += data.len();
        let submission = derivation
            .submission(derivation.batch_count(), &batch, data)
            .context("the batch does not continue the chain")?;
        p.l1_gas += self::l1_gas(
            Payload::Optimistic(OptimisticOp::Rollup {
                rollup: ROLLUP,
                op: RollupOp::SubmitBatch(Box::new(submission.clone())),
            }),
            10_000_000,
            params,
        );
        let block = L1Block {
            height,
            timestamp_ms: 0,
            txs: vec![
                RollupTx {
                    hash: Hash::from([p.batches as u8; 32]),
                    sender: Address::from_public_key(&account_key(usize::MAX).public_key()),
                    rollup: ROLLUP,
                    op: RollupOp::SubmitBatch(Box::new(submission)),
                    failure: None,
                }
                .finalized(),
            ],
        };
        let t = Instant::now();
        derivation.apply_block(&block).context("derivation")?;
        p.derive_s += t.elapsed().as_secs_f64();
        ensure!(
            derivation.first_invalid().is_none(),
            "the verifier disagrees with the sequencer"
        );
        let pending = derivation.pending().last().context("no batch")?.clone();
        ensure!(seq.landed(&pending), "the batch is not the sequencer's");
        p.batches += 1;
        height += 1;
        p.height = height;
    }
    ensure!(
        derivation.state().accounts() == seq.state().accounts(),
        "derived state differs from the soft state"
    );
    Ok(p)
}

/// Account `i`'s BLS key.
fn account_bls_key(i: usize) -> BlsPrivateKey {
    BlsPrivateKey::from_seed(
        &terrace_primitives::hash_tagged(b"terrace/bench/bls", &[&(i as u64).to_le_bytes()]).0,
    )
}

/// The aggregated pass: BLS accounts opened and posted, then the
/// workload's transfers sent aggregated.
fn run_aggregated(
    cfg: &SequencerBenchConfig,
    txs: &[SignedL2Transaction],
    params: &ChainParams,
    l1_gas_per_l1_transfer: u64,
    progress: &impl Fn(&str),
) -> Result<AggregatedReport> {
    let threads = terrace_primitives::par::Threads::available();
    progress(&format!(
        "aggregated: {} BLS keys with proofs of possession, {} BLS signatures (not timed)",
        cfg.accounts,
        txs.len()
    ));
    let keys = par_map(cfg.accounts, threads.get(), account_bls_key);
    let registrations = par_map(cfg.accounts, threads.get(), |i| BlsRegistration {
        key: keys[i].public_key(),
        possession: keys[i].proof_of_possession(),
    });
    let mut opening = deposits(cfg.accounts);
    for (tx, r) in opening.iter_mut().zip(registrations) {
        if let RollupOp::Deposit(d) = &mut tx.op {
            d.bls = Some(Box::new(r));
        }
    }
    let deposits = deposit_block(opening);
    let signed: Vec<AggregatedL2Transaction> = par_map(txs.len(), threads.get(), |i| {
        txs[i].tx.sign_bls(ROLLUP, &keys[txs[i].tx.from as usize])
    });
    let mut derivation = Derivation::new(ROLLUP, 1);
    derivation.apply_block(&deposits).context("deposits")?;
    let block_bytes = usize::try_from(params.tx_bytes_max / 2).unwrap_or(usize::MAX);
    let mut seq = Sequencer::new(&derivation, CONTEXT, block_bytes);
    seq.take_inbox(derivation.inbox(), cfg.accounts as u64);
    seq.seal(0);
    // The accounts' batch lands first: keys must be on L1 before use.
    let next = post_all(&mut seq, &mut derivation, params, 2)?.height;

    let sample = signed.len().min(500);
    let t = Instant::now();
    for tx in &signed[..sample] {
        tx.verify(ROLLUP, &keys[tx.tx.from as usize].public_key())
            .map_err(|_| super::fail("a workload BLS signature does not verify"))?;
    }
    let bls_verify_per_s = sample as f64 / t.elapsed().as_secs_f64();

    progress(&format!(
        "aggregated: {} per call, BLS signatures checked on {} threads",
        cfg.block_txs,
        threads.get()
    ));
    let mut latencies = Vec::new();
    let start = Instant::now();
    for chunk in signed.chunks(cfg.block_txs.max(1)) {
        let t = Instant::now();
        for (i, r) in seq
            .submit_many_aggregated(chunk.to_vec(), threads)
            .into_iter()
            .enumerate()
        {
            r.map_err(|e| super::fail(format!("aggregated transfer {i} of a call refused: {e}")))?;
        }
        seq.seal(0);
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let per_s = signed.len() as f64 / start.elapsed().as_secs_f64();
    progress("aggregated: batching, deriving (every aggregate checked) and pricing on L1");
    // The fraud proof of a bad aggregate over a full chunk of these
    // transfers (one signature left out), as L1 verifies it.
    let pre = derivation.state().clone();
    let chunk_txs: Vec<L2Transaction> = signed
        .iter()
        .take(terrace_l2::batch::AGGREGATE_CHUNK)
        .map(|t| t.tx)
        .collect();
    let bad = terrace_primitives::BlsSignature::aggregate(
        signed
            .iter()
            .skip(1)
            .take(chunk_txs.len().saturating_sub(1).max(1))
            .map(|t| &t.signature),
    )
    .map_err(|e| super::fail(format!("aggregate: {e}")))?;
    let chunks = vec![terrace_l2::AggregateChunk {
        txs: chunk_txs,
        signature: bad,
    }];
    let proof = terrace_l2::AggregateProof::build(&pre, &chunks, 0).context("aggregate proof")?;
    let disputed = terrace_l2::DisputedChunk {
        rollup: ROLLUP,
        pre_root: terrace_l2::L2State::commitment(&pre).output_root(),
        aggregate_commitment: terrace_l2::batch::aggregate_commitment(&chunks),
        chunk_count: 1,
    };
    let mut aggregate_proof_verify_ms = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        proof
            .verify(&disputed)
            .map_err(|e| super::fail(format!("the aggregate proof does not verify: {e}")))?;
        aggregate_proof_verify_ms = aggregate_proof_verify_ms.min(t.elapsed().as_secs_f64() * 1e3);
    }
    let aggregate_proof_bytes = proof.encode().len();
    let aggregate_proof_gas = self::l1_gas(
        Payload::Optimistic(OptimisticOp::Rollup {
            rollup: ROLLUP,
            op: RollupOp::ProveAggregate {
                batch: 0,
                proof: Box::new(proof),
            },
        }),
        10_000_000,
        params,
    );
    let posted = post_all(&mut seq, &mut derivation, params, next)?;
    let n = signed.len() as f64;
    let l1_gas_per_l2_transfer = posted.l1_gas as f64 / n;
    Ok(AggregatedReport {
        per_s,
        call_latency: Micros::of(latencies),
        bls_verify_per_s,
        batches: posted.batches,
        raw_bytes_per_transfer: signed.iter().map(|t| t.tx.encode_size() + 1).sum::<usize>() as f64
            / n,
        l1_bytes_per_transfer: posted.compressed as f64 / n,
        derive_per_s: n / posted.derive_s.max(f64::MIN_POSITIVE),
        l1_gas_per_l2_transfer,
        l1_fee_ratio: l1_gas_per_l1_transfer as f64 / l1_gas_per_l2_transfer,
        aggregate_proof_bytes,
        aggregate_proof_verify_ms,
        aggregate_proof_gas,
    })
}

/// L1 block 1 carrying `deposits`.
fn deposit_block(deposits: Vec<RollupTx>) -> L1Block {
    L1Block {
        height: 1,
        timestamp_ms: 0,
        txs: deposits.into_iter().map(RollupTx::finalized).collect(),
    }
}

/// A deposit opening an account for each of the first `accounts` keys.
fn deposits(accounts: usize) -> Vec<RollupTx> {
    (0..accounts)
        .map(|i| RollupTx {
            hash: terrace_primitives::hash_tagged(b"bench/deposit", &[&i.to_le_bytes()]),
            sender: Address::from_public_key(&account_key(i).public_key()),
            rollup: ROLLUP,
            op: RollupOp::Deposit(Deposit {
                recipient: account_key(i).public_key(),
                account: None,
                amount: Amount(1_000_000_000_000_000_000_000),
                bls: None,
            }),
            failure: None,
        })
        .collect()
}

const CONTEXT: BlockContext = BlockContext {
    fee_recipient: 0,
    l2_gas_price: 1,
    l1_byte_price: 16,
};

fn workload(cfg: &SequencerBenchConfig) -> Vec<SignedL2Transaction> {
    let mut rng = SplitMix(cfg.seed);
    let zipf = Zipf::new(cfg.accounts, cfg.zipf_exponent);
    let keys: Vec<_> = (0..cfg.accounts).map(account_key).collect();
    let mut nonces = vec![0u64; cfg.accounts];
    (0..cfg.txs)
        .map(|_| {
            let from = zipf.sample(&mut rng);
            let to = (rng.next_u64() % cfg.accounts as u64) as u32;
            let nonce = nonces[from];
            nonces[from] += 1;
            L2Transaction {
                from: from as u32,
                nonce,
                max_fee: Amount(1_000_000_000),
                action: Action::Transfer {
                    to,
                    amount: Amount(u128::from(1 + rng.next_u64() % 1_000_000)),
                },
            }
            .sign(ROLLUP, &keys[from])
        })
        .collect()
}

/// The L1 gas of a signed transaction carrying `payload`, at realistic fee
/// fields (their varints count in the byte charge).
fn l1_gas(payload: Payload, gas_limit: u64, params: &ChainParams) -> u64 {
    let tx = Transaction {
        chain_id: ChainId(1),
        nonce: 0,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 1,
        gas_limit,
        payload,
    };
    let len = tx.clone().sign(&account_key(usize::MAX)).encode().len();
    intrinsic_gas(&tx.payload, len, params).unwrap_or(u64::MAX)
}

/// Runs the benchmark.
pub fn run(cfg: &SequencerBenchConfig, progress: impl Fn(&str)) -> Result<SequencerBenchReport> {
    ensure!(
        cfg.accounts >= 2 && cfg.txs >= 1,
        "need 2+ accounts and 1+ transfers"
    );
    let setup = Instant::now();
    progress(&format!(
        "opening {} accounts and signing {} transfers",
        cfg.accounts, cfg.txs
    ));
    let mut derivation = Derivation::new(ROLLUP, 1);
    derivation
        .apply_block(&deposit_block(deposits(cfg.accounts)))
        .context("deposits")?;
    let params = ChainParams::default();
    let block_bytes = usize::try_from(params.tx_bytes_max / 2).unwrap_or(usize::MAX);
    let mut fresh = Sequencer::new(&derivation, CONTEXT, block_bytes);
    fresh.take_inbox(derivation.inbox(), cfg.accounts as u64);
    fresh.seal(0);
    let txs = workload(cfg);
    let setup_s = setup.elapsed().as_secs_f64();

    // Saturated: back to back.
    progress("saturated: submitting back to back");
    let mut seq = fresh.clone();
    let mut latencies = Vec::with_capacity(txs.len());
    let start = Instant::now();
    for (i, tx) in txs.iter().enumerate() {
        let t = Instant::now();
        seq.submit(tx.clone())
            .map_err(|e| super::fail(format!("transfer {i} refused: {e}")))?;
        if (i + 1) % cfg.block_txs.max(1) == 0 {
            seq.seal(0);
        }
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
    }
    seq.seal(0);
    let saturated_s = start.elapsed().as_secs_f64();
    let saturated_per_s = txs.len() as f64 / saturated_s;

    // Saturated, in calls of `block_txs`: signatures verified together on
    // every core, then executed in order.
    let threads = terrace_primitives::par::Threads::available();
    progress(&format!(
        "saturated, {} per call, signatures verified on {} threads",
        cfg.block_txs,
        threads.get()
    ));
    let mut batched = fresh.clone();
    let mut call_latencies = Vec::new();
    let start = Instant::now();
    for chunk in txs.chunks(cfg.block_txs.max(1)) {
        let t = Instant::now();
        for (i, r) in batched
            .submit_many(chunk.to_vec(), threads)
            .into_iter()
            .enumerate()
        {
            r.map_err(|e| super::fail(format!("transfer {i} of a call refused: {e}")))?;
        }
        batched.seal(0);
        call_latencies.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let batched_per_s = txs.len() as f64 / start.elapsed().as_secs_f64();
    ensure!(
        batched.state().accounts() == seq.state().accounts(),
        "batched submission reached another state"
    );
    drop(batched);

    // Half load: a fixed schedule at half that rate, from the same start.
    let half = saturated_per_s / 2.0;
    progress(&format!("half load: {half:.0} transfers/s on a schedule"));
    let mut paced = fresh.clone();
    let mut half_latencies = Vec::with_capacity(txs.len());
    let start = Instant::now();
    for (i, tx) in txs.iter().enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / half);
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        paced
            .submit(tx.clone())
            .map_err(|e| super::fail(format!("transfer {i} refused: {e}")))?;
        if (i + 1) % cfg.block_txs.max(1) == 0 {
            paced.seal(0);
        }
        half_latencies.push(due.elapsed().as_secs_f64() * 1e6);
    }

    // For scale: one core's raw ed25519 verification rate on these.
    let sample = txs.len().min(5_000);
    let keys: Vec<_> = (0..cfg.accounts)
        .map(|i| account_key(i).public_key())
        .collect();
    let t = Instant::now();
    for tx in &txs[..sample] {
        tx.verify(ROLLUP, &keys[tx.tx.from as usize])
            .map_err(|_| super::fail("a workload signature does not verify"))?;
    }
    let ed25519_verify_per_s = sample as f64 / t.elapsed().as_secs_f64();

    // Batching, derivation, L1 cost.
    progress("batching, deriving and pricing on L1");
    let Posted {
        batches,
        raw,
        compressed,
        l1_gas,
        derive_s,
        ..
    } = post_all(&mut seq, &mut derivation, &params, 2)?;
    let n = txs.len() as f64;
    let l1_gas_per_l2_transfer = l1_gas as f64 / n;
    let l1_gas_per_l1_transfer = self::l1_gas(
        Payload::Transfer {
            to: Address::from_public_key(&account_key(1).public_key()),
            amount: Amount(1_000_000_000_000_000_000),
        },
        30_000,
        &params,
    );
    let aggregated = run_aggregated(cfg, &txs, &params, l1_gas_per_l1_transfer, &progress)?;
    Ok(SequencerBenchReport {
        clock: "wall-clock",
        accounts: cfg.accounts,
        txs: txs.len(),
        block_txs: cfg.block_txs,
        saturated_per_s,
        saturated_latency: Micros::of(latencies),
        batched_per_s,
        threads: threads.get(),
        batched_call_latency: Micros::of(call_latencies),
        half_load_per_s: half,
        half_load_latency: Micros::of(half_latencies),
        ed25519_verify_per_s,
        batches,
        raw_bytes_per_transfer: txs.iter().map(|t| t.encode_size()).sum::<usize>() as f64 / n,
        l1_bytes_per_transfer: compressed as f64 / n,
        compression_ratio: raw as f64 / compressed.max(1) as f64,
        derive_per_s: n / derive_s.max(f64::MIN_POSITIVE),
        l1_gas_per_l2_transfer,
        l1_gas_per_l1_transfer,
        l1_fee_ratio: l1_gas_per_l1_transfer as f64 / l1_gas_per_l2_transfer,
        aggregated,
        peak_rss_bytes: peak_rss_bytes(),
        setup_s,
    })
}
/// A client sending transfers over JSON-RPC to a sequencer.
#[derive(Debug, Clone)]
pub struct RpcSoftConfig {
    /// Funded L2 accounts.
    pub accounts: usize,
    /// Transfers sent.
    pub txs: usize,
    /// Requests per second, one client, one request at a time (a request
    /// still waiting when the next is due delays it).
    pub rate: f64,
    /// BLS-aggregated transfers (`l2_sendRawAggregatedTransaction`)
    /// instead of signed ones (`l2_sendRawTransaction`).
    pub aggregated: bool,
    /// Workload seed.
    pub seed: u64,
}

/// Soft confirmations as a user sees them: from sending the request to
/// holding the answer.
#[derive(Debug, Clone, Serialize)]
pub struct RpcSoft {
    /// Always "wall-clock".
    pub clock: &'static str,
    /// How the requests travelled.
    pub transport: &'static str,
    /// Requests per second offered.
    pub rate: f64,
    /// Requests answered with a soft confirmation.
    pub confirmed: usize,
    /// Send → answer, milliseconds.
    pub latency: Percentiles,
}

/// Runs a sequencer with its `l2_*` JSON-RPC on loopback and a client
/// that sends `cfg.txs` transfers at `cfg.rate`, timing each request.
pub fn rpc_soft_confirmations(cfg: &RpcSoftConfig) -> Result<RpcSoft> {
    ensure!(
        cfg.accounts >= 2 && cfg.txs > 0 && cfg.rate > 0.0,
        "need two accounts, a transfer and a positive rate"
    );
    let workload = workload(&SequencerBenchConfig {
        accounts: cfg.accounts,
        txs: cfg.txs,
        block_txs: 1_000,
        zipf_exponent: 1.0,
        seed: cfg.seed,
    });
    let threads = terrace_primitives::par::Threads::available();
    let mut opening = deposits(cfg.accounts);
    let requests: Vec<String> = if cfg.aggregated {
        let keys = par_map(cfg.accounts, threads.get(), account_bls_key);
        for (i, tx) in opening.iter_mut().enumerate() {
            if let RollupOp::Deposit(d) = &mut tx.op {
                d.bls = Some(Box::new(BlsRegistration {
                    key: keys[i].public_key(),
                    possession: keys[i].proof_of_possession(),
                }));
            }
        }
        par_map(workload.len(), threads.get(), |i| {
            let tx = &workload[i].tx;
            let signed = (*tx).sign_bls(ROLLUP, &keys[tx.from as usize]);
            format!("0x{}", to_hex(&signed.encode()))
        })
    } else {
        workload
            .iter()
            .map(|t| format!("0x{}", to_hex(&t.encode())))
            .collect()
    };
    let mut derivation = Derivation::new(ROLLUP, 1);
    derivation
        .apply_block(&deposit_block(opening))
        .context("deposits")?;
    let params = ChainParams::default();
    let block_bytes = usize::try_from(params.tx_bytes_max / 2).unwrap_or(usize::MAX);
    let mut sequencer = Sequencer::new(&derivation, CONTEXT, block_bytes);
    // The accounts' batch lands first: aggregated senders must be on L1.
    sequencer.take_inbox(derivation.inbox(), cfg.accounts as u64);
    sequencer.seal(0);
    post_all(&mut sequencer, &mut derivation, &params, 2)?;
    let shared = Shared::new(derivation, Some(sequencer));
    let aggregated = cfg.aggregated;
    let rate = cfg.rate;
    let latencies = cw_tokio::Runner::new(cw_tokio::Config::new()).start(|context| async move {
        let (addr, server) =
            terrace_rollup::rpc::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), shared)
                .await
                .context("serving l2_* on loopback")?;
        let client = HttpClientBuilder::default()
            .build(format!("http://{addr}"))
            .context("the JSON-RPC client")?;
        let start = Instant::now();
        let mut latencies = Vec::with_capacity(requests.len());
        for (k, tx) in requests.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(k as f64 / rate);
            let now = Instant::now();
            if due > now {
                context.sleep(due - now).await;
            }
            let sent = Instant::now();
            let answer = if aggregated {
                client.send_raw_aggregated_transaction(tx).await
            } else {
                client.send_raw_transaction(tx).await
            };
            answer.context("a soft confirmation over JSON-RPC")?;
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
        let _ = server.stop();
        Ok::<_, crate::LabError>(latencies)
    })?;
    Ok(RpcSoft {
        clock: "wall-clock",
        transport: "JSON-RPC over HTTP on loopback",
        rate: cfg.rate,
        confirmed: latencies.len(),
        latency: Percentiles::of(latencies),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_agrees_with_the_verifier_and_aggregates_shrink_the_batches() {
        let cfg = SequencerBenchConfig {
            accounts: 40,
            txs: 400,
            block_txs: 100,
            zipf_exponent: 1.0,
            seed: 3,
        };
        let r = run(&cfg, |_| {}).expect("bench run");
        assert_eq!(r.txs, 400);
        assert!(r.batches >= 1 && r.aggregated.batches >= 1);
        // No signatures on L1: a small fraction of the signed batches' bytes.
        assert!(
            r.aggregated.l1_bytes_per_transfer * 3.0 < r.l1_bytes_per_transfer,
            "{} vs {}",
            r.aggregated.l1_bytes_per_transfer,
            r.l1_bytes_per_transfer
        );
        assert!(r.aggregated.l1_fee_ratio > r.l1_fee_ratio);
    }
}
