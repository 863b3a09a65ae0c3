//! The devnet's zk-rollup: its setup run from a public seed, registered
//! on L1 by the `zk-operator` dev key on first start, then run in the
//! devnet's process as the operator (with its prover on a thread of its
//! own) on validator 0 and a watcher — a full node that freezes the rollup
//! if the operator stalls — on another validator, each with `zk_*`
//! JSON-RPC.
//!
//! The setup is deterministic, so a resumed devnet rebuilds the same
//! proving key and checks it against the key on L1. Its seed is public:
//! anyone could forge this rollup's proofs, which is what a devnet may
//! accept and the banner says.

use crate::genesis::dev_operator_key;
use anyhow::{Context as _, Result, bail};
use commonware_runtime::{Supervisor as _, tokio as cw_tokio};
use jsonrpsee::server::ServerHandle;
use std::{net::SocketAddr, path::Path, sync::Arc, time::Duration};
use terrace_l1::modules::validity::UNIT;
use terrace_node::{
    client::{L1, address_of},
    engine::LocalClient,
};
use terrace_primitives::{Amount, hash_tagged};
use terrace_zkrollup::{
    NodeConfig, OperatorConfig,
    deploy::{self, Deployment, ProverSetup, Settings, Waiting},
};

/// Account-tree depth: 65,536 accounts.
pub const DEPTH: u8 = 16;
/// Batch sizes (one proof each): the operator cuts the smallest that holds
/// its queue, so a lone transfer is proven in a batch of 2 (about a
/// second) and a busy rollup fills batches of 8.
pub const SIZES: [usize; 2] = [2, 8];
/// The dev roles of the zk-rollup (funded at genesis).
pub const ROLES: [&str; 2] = ["zk-operator", "zk-watcher"];

/// The public seed of the devnet's setup.
fn setup_seed() -> [u8; 32] {
    hash_tagged(b"terrace/dev/zk-setup", &[b"devnet"]).0
}

/// What the devnet remembers of its zk-rollup (`zkrollup.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Saved {
    id: u64,
    created_at: u64,
}

/// The running zk-rollup nodes' RPC servers.
#[derive(Debug)]
pub struct RunningZk {
    /// Rollup id on L1.
    pub id: u64,
    /// Its settings.
    pub settings: Settings,
    /// L1 block time.
    pub block_time_ms: u64,
    /// The operator's and the watcher's RPC addresses.
    pub rpcs: [SocketAddr; 2],
    /// Their servers.
    pub servers: Vec<ServerHandle>,
    /// Wall-clock seconds the setup took.
    pub setup_secs: f64,
}

impl RunningZk {
    /// Stops the RPC servers.
    pub fn stop(self) {
        for s in self.servers {
            let _ = s.stop();
        }
    }
}

/// Prints where the zk-rollup is.
pub fn print_banner(r: &RunningZk) {
    let secs = |blocks: u64| blocks * r.block_time_ms / 1_000;
    println!();
    println!(
        "L2: zk-rollup {} on this chain (Groth16 on BN254, verified by L1)",
        r.id
    );
    println!(
        "  operator RPC      http://{}  (zk_*: soft confirmations)",
        r.rpcs[0]
    );
    println!(
        "  watcher RPC       http://{}  (rebuilt from L1; freezes a stalled rollup)",
        r.rpcs[1]
    );
    println!(
        "  batches           {} or {} operations, one proof each; final when the proof lands on L1",
        SIZES[0], SIZES[1]
    );
    println!(
        "  exodus            if no batch for {} L1 blocks (~{} s), or an inbox entry waits {} (~{} s)",
        r.settings.exodus_after_blocks,
        secs(r.settings.exodus_after_blocks),
        r.settings.inbox_deadline_blocks,
        secs(r.settings.inbox_deadline_blocks)
    );
    println!(
        "  trusted setup     single-party, from a PUBLIC seed (devnet only: anyone could forge proofs); setup took {:.1} s",
        r.setup_secs
    );
    println!("Try:  terrace zk deposit --from dev0 --amount 10 --wait");
    println!();
}

const WAIT: Waiting = Waiting {
    poll: Duration::from_millis(100),
    limit: Duration::from_secs(120),
};

/// The devnet zk-rollup's settings for an L1 with `block_time_ms` blocks.
fn settings(block_time_ms: u64) -> Settings {
    let blocks = |seconds: u64| (seconds * 1_000).div_ceil(block_time_ms.max(1)).max(1);
    Settings {
        operator: address_of(&dev_operator_key(ROLES[0])),
        batch_bytes_max: 64 * 1024,
        inbox_fee: Amount(UNIT * 1_000),
        exodus_after_blocks: blocks(600),
        inbox_deadline_blocks: blocks(300),
    }
}

/// Runs the setup, registers the rollup on first start (or checks the
/// registered key on a resume), then starts the operator with its prover
/// on `operator_l1` and the watcher on `watcher_l1`, serving `zk_*` on
/// `rpc` and `watcher_rpc`.
pub async fn start(
    context: &cw_tokio::Context,
    dir: &Path,
    operator_l1: LocalClient<cw_tokio::Context>,
    watcher_l1: LocalClient<cw_tokio::Context>,
    rpc: SocketAddr,
    watcher_rpc: SocketAddr,
) -> Result<RunningZk> {
    let operator = dev_operator_key(ROLES[0]);
    let me = address_of(&operator);
    crate::rollup::wait_ready(context, &operator_l1, &operator, "the zk-rollup's operator").await?;
    let started = std::time::Instant::now();
    let keys = SIZES
        .iter()
        .map(|slots| deploy::setup(DEPTH, *slots, setup_seed()).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .context("zk setup")?;
    let setup_secs = started.elapsed().as_secs_f64();
    let block_time_ms = operator_l1.params().block_time_ms;
    let settings = settings(block_time_ms);
    let config = deploy::config(&keys.iter().map(|k| &**k).collect::<Vec<_>>(), settings);
    let saved = dir.join("zkrollup.json");
    let existing = deploy::find(&operator_l1, |r| r.config.operator == me).await?;
    let deployment = match existing {
        Some(d) => {
            let record = deploy::record(&operator_l1, d.rollup)
                .await?
                .context("the zk-rollup's record is gone")?;
            if record.config.verifiers != config.verifiers {
                bail!(
                    "the zk-rollup on this chain has other verification keys (start with --fresh)"
                );
            }
            Deployment {
                created_at: std::fs::read_to_string(&saved)
                    .ok()
                    .and_then(|t| serde_json::from_str::<Saved>(&t).ok())
                    .filter(|s| s.id == d.rollup)
                    .map(|s| s.created_at)
                    .unwrap_or(1),
                ..d
            }
        }
        None => {
            let nonce = deploy::next_nonce(&operator_l1, &operator).await?;
            let d = deploy::register(context, &operator_l1, &operator, nonce, &config, WAIT)
                .await
                .context("registering the zk-rollup")?;
            let record = Saved {
                id: d.rollup,
                created_at: d.created_at,
            };
            std::fs::write(&saved, serde_json::to_string(&record)?)
                .with_context(|| format!("cannot write {}", saved.display()))?;
            d
        }
    };
    let operator_config = NodeConfig::operator(
        deployment,
        operator,
        OperatorConfig {
            batch_interval: Duration::from_secs(2),
            queue_max: 10_000,
            pipeline: 2,
        },
    );
    let prover = ProverSetup::new(keys, hash_tagged(b"terrace/dev/zk-prover", &[b"devnet"]).0);
    let (_, op) = deploy::start(
        &context.child("zk_operator"),
        operator_l1,
        operator_config,
        Some(prover),
    )
    .await?;
    let (_, watcher) = deploy::start(
        &context.child("zk_watcher"),
        watcher_l1,
        NodeConfig::watcher(deployment, dev_operator_key(ROLES[1])),
        None,
    )
    .await?;
    let now = || -> terrace_zkrollup::rpc::Now { Box::new(crate::devnet::now_ms) };
    let (_, op_server) = terrace_zkrollup::rpc::serve(rpc, op, now())
        .await
        .with_context(|| format!("cannot serve zk JSON-RPC on {rpc}"))?;
    let (_, watcher_server) = terrace_zkrollup::rpc::serve(watcher_rpc, watcher, now())
        .await
        .with_context(|| format!("cannot serve zk JSON-RPC on {watcher_rpc}"))?;
    Ok(RunningZk {
        id: deployment.rollup,
        settings,
        block_time_ms,
        rpcs: [rpc, watcher_rpc],
        servers: vec![op_server, watcher_server],
        setup_secs,
    })
}
