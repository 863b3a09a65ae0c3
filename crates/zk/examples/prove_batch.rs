//! Measures the batch circuit on this machine: constraints, setup, proving
//! and verification time, key size, for one shape.
//!
//! `cargo run --release -p terrace-zk --example prove_batch -- [DEPTH] [SLOTS]`
//! (defaults 20 and 8). Wall-clock figures from one run; the batch is full
//! of transfers between existing accounts, the common case.

use ark_std::rand::{SeedableRng, rngs::StdRng};
use std::time::Instant;
use terrace_zk::{prover, state};

fn main() {
    let mut args = std::env::args().skip(1);
    let depth: u8 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let slots: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let batch = state::sample_transfer_batch(depth, slots).expect("a batch of transfers");

    let t = Instant::now();
    let constraints = prover::constraint_count(depth, slots).expect("count");
    let count_time = t.elapsed();
    let mut rng = StdRng::seed_from_u64(42);
    let t = Instant::now();
    let pk = prover::setup(depth, slots, &mut rng).expect("setup");
    let setup = t.elapsed();
    let vk = pk.verifying_key();
    let t = Instant::now();
    let proof = prover::prove(&pk, &batch, &mut rng).expect("prove");
    let prove = t.elapsed();
    let inputs = batch.statement.inputs();
    let t = Instant::now();
    let runs = 20;
    for _ in 0..runs {
        vk.verify(&proof, &inputs).expect("verifies");
    }
    let verify = t.elapsed() / runs;
    let data = batch.data.len();
    println!("shape: depth {depth}, {slots} slots (all transfers)");
    println!(
        "constraints: {constraints} ({} per slot; counted in {count_time:.2?})",
        constraints / slots
    );
    println!("setup: {setup:.2?} (wall clock)");
    println!(
        "prove: {prove:.2?} (wall clock) = {:.3} s per transfer, {:.2} transfers/s",
        prove.as_secs_f64() / slots as f64,
        slots as f64 / prove.as_secs_f64()
    );
    println!("verify: {verify:.2?} (wall clock, mean of {runs})");
    println!(
        "proving key: {:.1} MB (compressed points)",
        pk.size_bytes() as f64 / 1e6
    );
    println!(
        "proof: {} bytes; public data: {data} bytes = {:.1} per transfer",
        proof.to_bytes().len(),
        data as f64 / slots as f64
    );
}
