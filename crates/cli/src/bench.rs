//! Printing the wall-clock benchmarks (`terrace bench stf|l1|sequencer`);
//! the measurements are the lab's ([`terrace_lab::wall_clock`]).

use terrace_lab::wall_clock::{l1, sequencer, stf};

fn print_latency(label: &str, l: &l1::Latency) {
    println!(
        "  {label:<22}p50 {:>7.1} ms   p95 {:>7.1} ms   p99 {:>7.1} ms   max {:>7.1} ms   ({} samples)",
        l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.samples
    );
}

/// Prints `terrace bench l1`'s report as a table.
pub fn print_l1(r: &l1::L1BenchReport) {
    if let Some(l) = &r.loopback {
        println!(
            "terrace bench l1: loopback ({} clock), {} validators in one process, {} cores",
            l.clock, l.validators, l.cores
        );
        println!(
            "  block time {} ms; transfer {} bytes; parameters allow {:.0} transfers/s",
            l.block_time_ms, l.tx_bytes, l.params_bound_per_s
        );
        for p in &l.phases {
            println!();
            if p.offered_per_s > 0.0 {
                println!("  {} at {:.0} transfers/s", p.phase, p.offered_per_s);
            } else {
                println!("  {} (as fast as the pools accept)", p.phase);
            }
            println!(
                "  finalized             {} of {} submitted ({} pool-full retries)",
                p.finalized, p.submitted, p.retries
            );
            println!("  finalized/s           {:.0}", p.finalized_per_s);
            print_latency("submit → final", &p.submit_to_final);
            print_latency("proposal → final", &p.propose_to_final);
            println!(
                "  blocks                {} (mean interval {:.0} ms, largest {} transfers)",
                p.blocks, p.block_interval_ms, p.max_block_txs
            );
            println!(
                "  CPU                   {:.2} cores busy, {:.0} µs per finalized transfer",
                p.cpu_cores_busy, p.cpu_us_per_tx
            );
        }
        println!(
            "  peak RSS              {:.1} MiB",
            l.peak_rss_bytes as f64 / (1024.0 * 1024.0)
        );
        println!();
    }
    for w in &r.wan {
        let placement = match w.uniform_one_way_ms {
            Some(ms) => format!("links of {ms} ms one way"),
            None => w
                .regions
                .iter()
                .zip(&w.per_region)
                .map(|(r, n)| format!("{r}×{n}"))
                .collect::<Vec<_>>()
                .join(" "),
        };
        println!(
            "terrace bench l1: simulated WAN ({} clock), {} validators over {placement}",
            w.clock, w.validators,
        );
        println!(
            "  mean one-way delay {:.1} ms; {} blocks, mean interval {:.0} ms; {} µs per scheduler turn; {:.1} s of wall clock",
            w.mean_one_way_ms, w.blocks, w.block_interval_ms, w.cycle_us, w.wall_s
        );
        print_latency("proposal → final", &w.measured);
        print_latency("3-hop model", &w.three_hop_model);
        print_latency("measured − model", &w.excess);
        println!(
            "  target (p50 ≤ model p50 + 20 ms): {}",
            if w.within_target { "met" } else { "NOT met" }
        );
        println!();
    }
}

/// Prints `terrace bench stf`'s report as a table.
pub fn print_stf(r: &stf::StfBenchReport) {
    println!("terrace bench stf ({} clock)", r.clock);
    println!(
        "  workload            {} blocks × {} transfers, {} accounts, {} distinct senders (Zipf), best of {}",
        r.blocks, r.block_txs, r.accounts, r.distinct_senders, r.repeat
    );
    println!("  threads             {}", r.threads);
    println!("  transfers/s         {:.0}", r.transfers_per_s);
    println!(
        "  ed25519 batch/s     {:.0}   (raw verification, same signatures and threads)",
        r.ed25519_batch_verify_per_s
    );
    println!("  ratio               {:.2}", r.ratio);
    println!(
        "  time split          decode+fields {:.3} s, signatures ∥ execution {:.3} s, apply {:.3} s",
        r.decode_check_s, r.verify_execute_s, r.apply_s
    );
    println!(
        "  transfer            {:.0} bytes, {} gas",
        r.tx_bytes, r.gas_per_transfer
    );
    println!(
        "  peak RSS            {:.1} MiB",
        r.peak_rss_bytes as f64 / (1024.0 * 1024.0)
    );
}

/// Prints `terrace bench sequencer`'s report as a table.
pub fn print_sequencer(r: &sequencer::SequencerBenchReport) {
    println!(
        "terrace bench sequencer ({}): {} transfers among {} L2 accounts, {} per block",
        r.clock, r.txs, r.accounts, r.block_txs
    );
    println!(
        "  soft confirmations    {:.0} transfers/s saturated (one core; raw ed25519 verify: {:.0}/s)",
        r.saturated_per_s, r.ed25519_verify_per_s
    );
    println!(
        "  latency, saturated    p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs",
        r.saturated_latency.p50_us, r.saturated_latency.p99_us, r.saturated_latency.max_us
    );
    println!(
        "  in calls of {:<5}     {:.0} transfers/s (signatures verified together on {} threads); a call takes p50 {:.1} ms, p99 {:.1} ms",
        r.block_txs,
        r.batched_per_s,
        r.threads,
        r.batched_call_latency.p50_us / 1e3,
        r.batched_call_latency.p99_us / 1e3
    );
    println!(
        "  latency, half load    p50 {:.1} µs  p99 {:.1} µs  max {:.1} µs  (at {:.0}/s, arrival → confirmation)",
        r.half_load_latency.p50_us,
        r.half_load_latency.p99_us,
        r.half_load_latency.max_us,
        r.half_load_per_s
    );
    println!(
        "  L1 bytes per transfer {:.1} (zstd; {:.1} raw, ratio {:.2}) in {} batches",
        r.l1_bytes_per_transfer, r.raw_bytes_per_transfer, r.compression_ratio, r.batches
    );
    println!("  verifier derivation   {:.0} transfers/s", r.derive_per_s);
    println!(
        "  L1 gas per transfer   {:.0} on L2 (its batch share) vs {} on L1: {:.1}× less fee",
        r.l1_gas_per_l2_transfer, r.l1_gas_per_l1_transfer, r.l1_fee_ratio
    );
    let a = &r.aggregated;
    println!(
        "  aggregated (BLS)      {:.0} transfers/s in calls of {} (one BLS verify: {:.0}/s per core); a call takes p50 {:.1} ms, p99 {:.1} ms",
        a.per_s,
        r.block_txs,
        a.bls_verify_per_s,
        a.call_latency.p50_us / 1e3,
        a.call_latency.p99_us / 1e3
    );
    println!(
        "    L1 bytes/transfer   {:.1} (zstd, aggregates included; {:.1} raw without them) in {} batches",
        a.l1_bytes_per_transfer, a.raw_bytes_per_transfer, a.batches
    );
    println!(
        "    derivation          {:.0} transfers/s (every aggregate checked)",
        a.derive_per_s
    );
    println!(
        "    L1 gas/transfer     {:.0} vs {} on L1: {:.1}× less fee",
        a.l1_gas_per_l2_transfer, r.l1_gas_per_l1_transfer, a.l1_fee_ratio
    );
    println!(
        "    bad-aggregate proof {} bytes, verified on L1 in {:.1} ms, {} gas",
        a.aggregate_proof_bytes, a.aggregate_proof_verify_ms, a.aggregate_proof_gas
    );
    println!(
        "  peak RSS              {:.1} MiB; setup {:.1} s (not timed)",
        r.peak_rss_bytes as f64 / (1024.0 * 1024.0),
        r.setup_s
    );
}
