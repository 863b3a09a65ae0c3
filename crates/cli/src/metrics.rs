//! Terrace's own metrics beside the libraries' on `/metrics`: what an
//! operator's dashboard asks of a chain. Named in the ecosystem's style
//! (`terrace_<subsystem>_<what>_<unit>`), one series per validator
//! (label `validator`), updated from the validator's feed of finalized
//! blocks.

use commonware_runtime::{
    Metrics as _, Spawner as _, Supervisor as _,
    telemetry::metrics::{Counter, Gauge, Registered, raw},
    tokio as cw_tokio,
};
use std::sync::Arc;
use terrace_node::chain::Chain;

/// A gauge of seconds.
type Seconds = raw::Gauge<f64, std::sync::atomic::AtomicU64>;

struct ChainMetrics {
    height: Gauge,
    blocks: Counter,
    transactions: Counter,
    gas: Counter,
    block_gas: Gauge,
    base_fee: Gauge,
    interval: Registered<Seconds>,
    finality: Registered<Seconds>,
    mempool: Gauge,
}

/// Serves the chain metrics of `validator` (its label) from `context` (the
/// root: the names carry no other prefix) until the process ends.
pub fn watch(context: &cw_tokio::Context, validator: impl std::fmt::Display, chain: Arc<Chain>) {
    let m = context
        .child("terrace")
        .with_attribute("validator", validator);
    let chain_ctx = m.child("chain");
    let metrics = ChainMetrics {
        height: chain_ctx.register(
            "finalized_height",
            "Finalized L1 height",
            raw::Gauge::default(),
        ),
        blocks: chain_ctx.register("blocks", "Blocks finalized", raw::Counter::default()),
        transactions: chain_ctx.register(
            "transactions",
            "Transactions in finalized blocks",
            raw::Counter::default(),
        ),
        gas: chain_ctx.register(
            "gas_used",
            "Gas used by finalized blocks",
            raw::Counter::default(),
        ),
        block_gas: chain_ctx.register(
            "block_gas_used",
            "Gas used by the latest finalized block",
            raw::Gauge::default(),
        ),
        base_fee: chain_ctx.register(
            "base_fee_ater_per_gas",
            "Base fee of the latest finalized block (aTER per gas)",
            raw::Gauge::default(),
        ),
        interval: chain_ctx.register(
            "block_interval_seconds",
            "Proposer timestamps of the latest finalized block minus its parent's",
            Seconds::default(),
        ),
        finality: chain_ctx.register(
            "finality_seconds",
            "Wall clock at finalization minus the block's proposer timestamp",
            Seconds::default(),
        ),
        mempool: m.child("mempool").register(
            "transactions",
            "Transactions waiting in the pool",
            raw::Gauge::default(),
        ),
    };
    let mut feed = chain.subscribe();
    context.child("metrics_feed").spawn(move |_| async move {
        let mut last: Option<u64> = None;
        while let Ok(b) = feed.recv().await {
            let gauge = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            metrics.height.set(gauge(b.height));
            metrics.blocks.inc();
            metrics.transactions.inc_by(b.transactions.len() as u64);
            metrics.gas.inc_by(b.gas_used);
            metrics.block_gas.set(gauge(b.gas_used));
            metrics.base_fee.set(gauge(b.base_fee));
            if let Some(parent) = last {
                metrics
                    .interval
                    .set(b.timestamp_ms.saturating_sub(parent) as f64 / 1e3);
            }
            last = Some(b.timestamp_ms);
            let now = crate::devnet::now_ms();
            metrics
                .finality
                .set(now.saturating_sub(b.timestamp_ms) as f64 / 1e3);
            metrics
                .mempool
                .set(i64::try_from(chain.pool_len()).unwrap_or(i64::MAX));
        }
    });
}
