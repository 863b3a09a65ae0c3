//! zstd or brotli for batch data: bytes per transfer and time, measured on
//! our own batches, signed one by one (ed25519) and aggregated (BLS).
//!
//! `cargo bench -p terrace-l2 --features brotli --bench compression`
//!
//! Workload: blocks of 250 signed transfers among 10,000 funded accounts,
//! random senders and recipients, amounts drawn from a few magnitudes, each
//! sender's nonces counting up, one block context per block. The aggregated
//! batches carry the same transfers with one real BLS aggregate per 32 of
//! them instead of 64-byte signatures. Prints, per
//! compressor and level, the posted bytes per transfer and the time to
//! compress and to decompress one batch (best of 5).

#![allow(clippy::unwrap_used)] // benchmark set-up fails loudly on purpose

use commonware_codec::Encode as _;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng as _};
use std::time::{Duration, Instant};
use terrace_l2::{
    Action, Batch, BlockContext, BlockTx, L2Block, L2Transaction, batch::AGGREGATE_CHUNK,
};
use terrace_primitives::{Amount, BlsPrivateKey, BlsSignature, keys::private_key_from_seed};

const ACCOUNTS: u32 = 10_000;
const BLOCK_TXS: usize = 250;

fn batch(txs: usize, seed: u64, aggregated: bool) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys: Vec<_> = (0..64u8).map(|i| private_key_from_seed([i; 32])).collect();
    let bls: Vec<_> = (0..64u8)
        .map(|i| BlsPrivateKey::from_seed(&[i; 32]))
        .collect();
    let mut nonces = vec![0u64; ACCOUNTS as usize];
    let blocks = (0..txs.div_ceil(BLOCK_TXS))
        .map(|b| L2Block {
            timestamp_ms: 1_700_000_000_000 + b as u64 * 250,
            context: BlockContext {
                fee_recipient: 0,
                l2_gas_price: 1_000,
                l1_byte_price: 40_000,
            },
            inbox_until: 0,
            txs: Vec::new(),
            aggregates: Vec::new(),
        })
        .collect::<Vec<_>>();
    let mut blocks = blocks;
    for (b, block) in blocks.iter_mut().enumerate() {
        let mut sigs = Vec::new();
        block.txs = (0..BLOCK_TXS.min(txs - b * BLOCK_TXS))
            .map(|_| {
                let from = rng.next_u32() % ACCOUNTS;
                let to = rng.next_u32() % ACCOUNTS;
                let magnitude = 10u128.pow(6 + rng.next_u32() % 10);
                let amount = Amount(magnitude * (1 + rng.next_u32() as u128 % 999));
                let nonce = nonces[from as usize];
                nonces[from as usize] += 1;
                let tx = L2Transaction {
                    from,
                    nonce,
                    max_fee: Amount(10_000_000_000),
                    action: Action::Transfer { to, amount },
                };
                if aggregated {
                    sigs.push(tx.sign_bls(1, &bls[from as usize % bls.len()]).signature);
                    BlockTx::Aggregated(tx)
                } else {
                    BlockTx::Signed(tx.sign(1, &keys[from as usize % keys.len()]))
                }
            })
            .collect();
        block.aggregates = sigs
            .chunks(AGGREGATE_CHUNK)
            .map(|c| BlsSignature::aggregate(c).unwrap())
            .collect();
    }
    Batch { blocks }
}

fn best_of(runs: usize, mut f: impl FnMut() -> usize) -> (usize, Duration) {
    let mut best = Duration::MAX;
    let mut size = 0;
    for _ in 0..runs {
        let start = Instant::now();
        size = f();
        best = best.min(start.elapsed());
    }
    (size, best)
}

fn main() {
    for (txs, aggregated) in [(1_000usize, false), (5_000, false), (5_000, true)] {
        let raw = batch(txs, 42, aggregated).encode();
        let kind = if aggregated { "aggregated" } else { "signed" };
        println!(
            "batch of {txs} {kind} transfers: {} bytes encoded, {:.1} B/transfer",
            raw.len(),
            raw.len() as f64 / txs as f64
        );
        println!(
            "  {:<12} {:>10} {:>8} {:>12} {:>12}",
            "compressor", "bytes", "B/tx", "compress", "decompress"
        );
        for level in [3, 9, 19] {
            let (size, c) = best_of(5, || zstd::bulk::compress(&raw, level).unwrap().len());
            let packed = zstd::bulk::compress(&raw, level).unwrap();
            let (_, d) = best_of(5, || {
                zstd::bulk::decompress(&packed, raw.len()).unwrap().len()
            });
            row(&format!("zstd -{level}"), size, txs, c, d);
        }
        for quality in [5u32, 9, 11] {
            let params = brotli::enc::BrotliEncoderParams {
                quality: quality as i32,
                lgwin: 22,
                ..Default::default()
            };
            let compress = || {
                let mut out = Vec::new();
                brotli::BrotliCompress(&mut &raw[..], &mut out, &params).unwrap();
                out
            };
            let (size, c) = best_of(5, || compress().len());
            let packed = compress();
            let (_, d) = best_of(5, || {
                let mut out = Vec::new();
                brotli::BrotliDecompress(&mut &packed[..], &mut out).unwrap();
                out.len()
            });
            row(&format!("brotli -{quality}"), size, txs, c, d);
        }
    }
}

fn row(name: &str, size: usize, txs: usize, c: Duration, d: Duration) {
    println!(
        "  {:<12} {:>10} {:>8.1} {:>10.2}ms {:>10.3}ms",
        name,
        size,
        size as f64 / txs as f64,
        c.as_secs_f64() * 1e3,
        d.as_secs_f64() * 1e3
    );
}
