//! The devnet's optimistic rollup: registered on L1 by the `sequencer` dev
//! key on first start, then run as two rollup nodes in the devnet's
//! process — the sequencer (with its batcher and escape-hatch poster) on
//! validator 0, and an independent verifier/challenger on another
//! validator — each with its `l2_*` JSON-RPC endpoint.
//!
//! The devnet's windows are short so a user sees a withdrawal through in
//! about a minute; mainnet optimistic rollups use a 7-day challenge window
//! (Arbitrum One, OP Mainnet), sized for a censored challenger to get a
//! transaction into L1.

use crate::genesis::dev_operator_key;
use anyhow::{Context as _, Result, bail};
use commonware_runtime::{Clock as _, Supervisor as _, tokio as cw_tokio};
use jsonrpsee::server::ServerHandle;
use std::{net::SocketAddr, path::Path, time::Duration};
use terrace_l1::{
    Key, Payload, StateReader as _,
    modules::optimistic::{OptimisticKey, OptimisticOp, RollupConfig, RollupRecords as _},
};
use terrace_l2::BlockContext;
use terrace_node::{
    client::{L1, address_of},
    engine::LocalClient,
};
use terrace_primitives::{Amount, PrivateKey};
use terrace_rollup::{
    NodeConfig, SequencerConfig,
    deploy::{self, Deployment, Waiting},
};

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// The devnet rollup's parameters, for an L1 with `block_time_ms` blocks
/// and a challenge window of `window_secs`.
pub fn devnet_config(sequencer: &PrivateKey, block_time_ms: u64, window_secs: u64) -> RollupConfig {
    let blocks = |seconds: u64| (seconds * 1_000).div_ceil(block_time_ms.max(1)).max(1);
    RollupConfig {
        sequencer: address_of(sequencer),
        poster_bond: Amount(100 * TOKEN),
        challenge_bond: Amount(10 * TOKEN),
        challenge_window_blocks: blocks(window_secs),
        sequencing_window_blocks: blocks(30),
        batch_bytes_max: 96 * 1024,
        move_deadline_blocks: blocks(10),
    }
}

/// What the devnet remembers of its rollup (`rollup.json`).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Saved {
    id: u64,
    created_at: u64,
}

/// The running rollup nodes' RPC servers.
#[derive(Debug)]
pub struct RunningRollup {
    /// Rollup id on L1.
    pub id: u64,
    /// Its parameters.
    pub config: RollupConfig,
    /// L1 block time.
    pub block_time_ms: u64,
    /// The sequencer's and the verifier's RPC addresses.
    pub rpcs: [SocketAddr; 2],
    /// The sequencer's and the verifier's `l2_*` endpoints.
    pub servers: Vec<ServerHandle>,
}

impl RunningRollup {
    /// Stops the RPC servers (the nodes stop with the runtime).
    pub fn stop(self) {
        for s in self.servers {
            let _ = s.stop();
        }
    }
}

/// Prints where the rollup is and its parameters.
pub fn print_banner(r: &RunningRollup) {
    let c = &r.config;
    let secs = |blocks: u64| blocks * r.block_time_ms / 1_000;
    println!();
    println!("L2: optimistic rollup {} on this chain", r.id);
    println!(
        "  sequencer RPC     http://{}  (l2_*: soft confirmations)",
        r.rpcs[0]
    );
    println!(
        "  verifier RPC      http://{}  (derived from L1 alone; challenges)",
        r.rpcs[1]
    );
    println!(
        "  challenge window  {} L1 blocks (~{} s; mainnet rollups use 7 days)",
        c.challenge_window_blocks,
        secs(c.challenge_window_blocks)
    );
    println!(
        "  sequencing window {} L1 blocks (~{} s): forced inclusion, then anyone posts",
        c.sequencing_window_blocks,
        secs(c.sequencing_window_blocks)
    );
    println!(
        "  move deadline     {} L1 blocks (~{} s) per move of a challenge",
        c.move_deadline_blocks,
        secs(c.move_deadline_blocks)
    );
    println!(
        "  bonds             poster {}, challenge {}",
        c.poster_bond.ter(),
        c.challenge_bond.ter()
    );
    println!("Try:  terrace l2 deposit --from dev0 --amount 10 --wait");
    println!();
}

/// How the devnet waits for its own L1 transactions.
const WAIT: Waiting = Waiting {
    poll: Duration::from_millis(100),
    limit: Duration::from_secs(120),
};

/// Checks that `key`'s dev account (the service `who`) was funded at
/// genesis — a chain that predates the service was not — and waits for the
/// chain's first finalized block (records are read at the finalized tip).
pub async fn wait_ready(
    context: &cw_tokio::Context,
    l1: &LocalClient<cw_tokio::Context>,
    key: &PrivateKey,
    who: &str,
) -> Result<()> {
    let me = address_of(key);
    if l1
        .records(&[Key::Account(me)])
        .await
        .map_err(anyhow::Error::msg)?
        .account(&me)
        .balance
        .is_zero()
    {
        bail!(
            "{who}'s dev account holds nothing: this chain predates it (start the devnet with --fresh)"
        );
    }
    while l1.finalized_height() == 0 {
        context.sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Registers the rollup on first start (and gives the sequencer L2 account
/// 0, which its blocks' fees are paid to), then starts the sequencer on
/// `sequencer_l1` and the verifier on `verifier_l1`, serving `l2_*` on
/// `rpc` (sequencer) and `verifier_rpc`.
pub async fn start(
    context: &cw_tokio::Context,
    dir: &Path,
    window_secs: u64,
    sequencer_l1: LocalClient<cw_tokio::Context>,
    verifier_l1: LocalClient<cw_tokio::Context>,
    rpc: SocketAddr,
    verifier_rpc: SocketAddr,
) -> Result<RunningRollup> {
    let sequencer = dev_operator_key("sequencer");
    let challenger = dev_operator_key("challenger");
    let me = address_of(&sequencer);
    wait_ready(context, &sequencer_l1, &sequencer, "the rollup's sequencer").await?;
    // The creation height is kept beside the chain so a resumed devnet
    // derives from there, not from genesis.
    let saved = dir.join("rollup.json");
    let existing = deploy::find(&sequencer_l1, |r| r.config.sequencer == me).await?;
    let deployment = match existing {
        Some(d) => Deployment {
            created_at: std::fs::read_to_string(&saved)
                .ok()
                .and_then(|t| serde_json::from_str::<Saved>(&t).ok())
                .filter(|s| s.id == d.rollup)
                .map(|s| s.created_at)
                .unwrap_or(1),
            ..d
        },
        None => {
            let config =
                devnet_config(&sequencer, sequencer_l1.params().block_time_ms, window_secs);
            let nonce = deploy::next_nonce(&sequencer_l1, &sequencer).await?;
            let d = deploy::register(context, &sequencer_l1, &sequencer, nonce, &config, WAIT)
                .await
                .context("registering the rollup")?;
            let saved_record = Saved {
                id: d.rollup,
                created_at: d.created_at,
            };
            std::fs::write(&saved, serde_json::to_string(&saved_record)?)
                .with_context(|| format!("cannot write {}", saved.display()))?;
            let open = Payload::Optimistic(OptimisticOp::Rollup {
                rollup: d.rollup,
                op: deploy::deposit(&sequencer, Amount(TOKEN)),
            });
            let failure = deploy::send_and_wait(
                context,
                &sequencer_l1,
                &sequencer,
                nonce + 1,
                open,
                "opening the sequencer's L2 account",
                WAIT,
            )
            .await?;
            if let Some(f) = failure {
                bail!("opening the sequencer's L2 account failed on L1: {f}");
            }
            d
        }
    };
    let min_price = sequencer_l1.params().min_base_fee;
    let block_time_ms = sequencer_l1.params().block_time_ms;
    let config = sequencer_l1
        .records(&[OptimisticKey::Rollup(deployment.rollup).into()])
        .await
        .map_err(anyhow::Error::msg)?
        .rollup(deployment.rollup)
        .context("the rollup's record is gone")?
        .config;
    let sequencer_config = NodeConfig::sequencer(
        deployment,
        sequencer,
        SequencerConfig {
            context: BlockContext {
                fee_recipient: 0,
                l2_gas_price: min_price,
                l1_byte_price: min_price,
            },
            block_time: Duration::from_millis(250),
            batch_interval: Duration::from_secs(2),
            track_l1_fee: true,
        },
        true,
    );
    let (_, seq) = deploy::start(
        &context.child("rollup_sequencer"),
        sequencer_l1,
        sequencer_config,
    );
    let (_, verifier) = deploy::start(
        &context.child("rollup_verifier"),
        verifier_l1,
        NodeConfig::verifier(deployment, challenger),
    );
    let (_, seq_server) = terrace_rollup::rpc::serve(rpc, seq)
        .await
        .with_context(|| format!("cannot serve L2 JSON-RPC on {rpc}"))?;
    let (_, verifier_server) = terrace_rollup::rpc::serve(verifier_rpc, verifier)
        .await
        .with_context(|| format!("cannot serve L2 JSON-RPC on {verifier_rpc}"))?;
    Ok(RunningRollup {
        id: deployment.rollup,
        config,
        block_time_ms,
        rpcs: [rpc, verifier_rpc],
        servers: vec![seq_server, verifier_server],
    })
}
