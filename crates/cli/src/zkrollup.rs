//! The devnet's zk-rollup and validium: one setup run from a public seed,
//! each registered on L1 by its own operator's dev key on first start,
//! then run in the devnet's process as an operator (with its prover on a
//! thread of its own) on validator 0 and a watcher — a full node that
//! freezes the rollup if the operator stalls — on another validator, each
//! with `zk_*` JSON-RPC. The validium's data is kept by a committee of
//! three members (two must sign each batch), each a task with its own
//! store under the data directory and its own `dac_*` JSON-RPC, reached by
//! the operator and the watcher over HTTP as a remote committee would be.
//!
//! The setup is deterministic, so a resumed devnet rebuilds the same
//! proving key and checks it against the key on L1. Its seed is public:
//! anyone could forge this rollup's proofs, which is what a devnet may
//! accept and the banner says.

use crate::genesis::dev_operator_key;
use anyhow::{Context as _, Result, bail};
use commonware_runtime::{Supervisor as _, tokio as cw_tokio};
use jsonrpsee::server::ServerHandle;
use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};
use terrace_l1::modules::validity::{Committee, UNIT, ZkRollupConfig};
use terrace_node::{
    client::{L1, address_of},
    engine::LocalClient,
};
use terrace_primitives::{Amount, hash_tagged, keys::Signer as _};
use terrace_zk::prover::ProvingKey;
use terrace_zkrollup::{
    NodeConfig, OperatorConfig,
    dac::{self, AnyCommittee, HttpCommittee, Member, MemberView},
    deploy::{self, Deployment, ProverSetup, Settings, Waiting},
};

/// Account-tree depth: 65,536 accounts.
pub const DEPTH: u8 = 16;
/// Batch sizes (one proof each): the operator cuts the smallest that holds
/// its queue, so a lone transfer is proven in a batch of 2 (about a
/// second) and a busy rollup fills batches of 8.
pub const SIZES: [usize; 2] = [2, 8];
/// The dev roles of the zk-rollup and the validium (funded at genesis).
pub const ROLES: [&str; 4] = [
    "zk-operator",
    "zk-watcher",
    "validium-operator",
    "validium-watcher",
];
/// The validium's committee: members, and signatures a batch needs.
pub const COMMITTEE: (u8, u8) = (3, 2);

/// The dev key of committee member `i`.
pub fn member_key(i: u8) -> terrace_primitives::PrivateKey {
    dev_operator_key(&format!("dac-member-{i}"))
}

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

/// One of the devnet's rollups with validity proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Data on L1.
    ZkRollup,
    /// Data with the committee.
    Validium,
}

impl Flavour {
    /// Its name (what `terrace zk --rollup` takes).
    pub fn name(self) -> &'static str {
        match self {
            Flavour::ZkRollup => "zk",
            Flavour::Validium => "validium",
        }
    }

    fn roles(self) -> [&'static str; 2] {
        match self {
            Flavour::ZkRollup => [ROLES[0], ROLES[1]],
            Flavour::Validium => [ROLES[2], ROLES[3]],
        }
    }

    /// Its nodes' task labels.
    fn labels(self) -> [&'static str; 2] {
        match self {
            Flavour::ZkRollup => ["zk_operator", "zk_watcher"],
            Flavour::Validium => ["validium_operator", "validium_watcher"],
        }
    }

    /// Where the devnet remembers it.
    fn saved(self) -> &'static str {
        match self {
            Flavour::ZkRollup => "zkrollup.json",
            Flavour::Validium => "validium.json",
        }
    }
}

/// One running rollup.
#[derive(Debug)]
pub struct RunningRollup {
    /// Which.
    pub flavour: Flavour,
    /// Rollup id on L1.
    pub id: u64,
    /// The operator's and the watcher's RPC addresses.
    pub rpcs: [SocketAddr; 2],
}

/// The running zk-rollup nodes' and committee members' RPC servers.
#[derive(Debug)]
pub struct RunningZk {
    /// The rollups.
    pub rollups: Vec<RunningRollup>,
    /// The committee members' `dac_*` addresses.
    pub members: Vec<SocketAddr>,
    /// Their settings.
    pub settings: Settings,
    /// L1 block time.
    pub block_time_ms: u64,
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

/// Prints where the rollups are.
pub fn print_banner(r: &RunningZk) {
    let secs = |blocks: u64| blocks * r.block_time_ms / 1_000;
    for rollup in &r.rollups {
        println!();
        match rollup.flavour {
            Flavour::ZkRollup => println!(
                "L2: zk-rollup {} on this chain (Groth16 on BN254, verified by L1; data on L1)",
                rollup.id
            ),
            Flavour::Validium => println!(
                "L2: validium {} on this chain (the same proofs; data kept by a committee, {} of {} sign each batch)",
                rollup.id, COMMITTEE.1, COMMITTEE.0
            ),
        }
        println!(
            "  operator RPC      http://{}  (zk_*: soft confirmations)",
            rollup.rpcs[0]
        );
        println!(
            "  watcher RPC       http://{}  (rebuilt from {}; freezes a stalled rollup)",
            rollup.rpcs[1],
            match rollup.flavour {
                Flavour::ZkRollup => "L1",
                Flavour::Validium => "the committee's data",
            }
        );
        if rollup.flavour == Flavour::Validium {
            let members: Vec<String> = r.members.iter().map(|a| format!("http://{a}")).collect();
            println!("  committee         {}  (dac_*)", members.join(" "));
            println!(
                "  trust             {} members withholding with the operator can freeze funds; colluders cannot steal (the proof holds)",
                COMMITTEE.0 - COMMITTEE.1 + 1
            );
        }
    }
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
    println!("      terrace zk deposit --rollup validium --from dev0 --amount 10 --wait");
    println!("      terrace dac status");
    println!();
}

const WAIT: Waiting = Waiting {
    poll: Duration::from_millis(100),
    limit: Duration::from_secs(120),
};

/// The devnet rollups' settings for an L1 with `block_time_ms` blocks.
fn settings(block_time_ms: u64, operator: &str) -> Settings {
    let blocks = |seconds: u64| (seconds * 1_000).div_ceil(block_time_ms.max(1)).max(1);
    Settings {
        operator: address_of(&dev_operator_key(operator)),
        batch_bytes_max: 64 * 1024,
        inbox_fee: Amount(UNIT * 1_000),
        exodus_after_blocks: blocks(600),
        inbox_deadline_blocks: blocks(300),
    }
}

/// The devnet validium's committee.
fn committee() -> Committee {
    Committee {
        members: (0..COMMITTEE.0)
            .map(|i| member_key(i).public_key())
            .collect(),
        threshold: COMMITTEE.1,
    }
}

/// Where the devnet serves its rollups: each operator and watcher, and the
/// committee's members.
#[derive(Debug, Clone)]
pub struct Addresses {
    /// The zk-rollup's operator and watcher.
    pub zk: [SocketAddr; 2],
    /// The validium's operator and watcher.
    pub validium: [SocketAddr; 2],
    /// The committee's members.
    pub members: Vec<SocketAddr>,
}

/// Runs the setup once, then registers (on first start) and starts the
/// zk-rollup and the validium with its committee: operators on
/// `operator_l1`, watchers on `watcher_l1`.
pub async fn start(
    context: &cw_tokio::Context,
    dir: &Path,
    operator_l1: LocalClient<cw_tokio::Context>,
    watcher_l1: LocalClient<cw_tokio::Context>,
    addrs: Addresses,
) -> Result<RunningZk> {
    for role in ROLES.iter().step_by(2) {
        crate::rollup::wait_ready(context, &operator_l1, &dev_operator_key(role), role).await?;
    }
    let started = std::time::Instant::now();
    let keys = SIZES
        .iter()
        .map(|slots| deploy::setup(DEPTH, *slots, setup_seed()).map(Arc::new))
        .collect::<Result<Vec<_>, _>>()
        .context("zk setup")?;
    let setup_secs = started.elapsed().as_secs_f64();
    let block_time_ms = operator_l1.params().block_time_ms;
    let mut servers = Vec::new();
    let mut rollups = Vec::new();

    let zk = Flavour::ZkRollup;
    let zk_settings = settings(block_time_ms, zk.roles()[0]);
    let config = deploy::config(&keys.iter().map(|k| &**k).collect::<Vec<_>>(), zk_settings);
    let deployment = find_or_register(context, dir, &operator_l1, zk, &config).await?;
    let (id, handles) = run_rollup(
        context,
        &operator_l1,
        &watcher_l1,
        zk,
        deployment,
        &keys,
        None,
        addrs.zk,
    )
    .await?;
    servers.extend(handles);
    rollups.push(RunningRollup {
        flavour: zk,
        id,
        rpcs: addrs.zk,
    });

    let validium = Flavour::Validium;
    let config = deploy::validium_config(
        &keys.iter().map(|k| &**k).collect::<Vec<_>>(),
        settings(block_time_ms, validium.roles()[0]),
        committee(),
    );
    let deployment = find_or_register(context, dir, &operator_l1, validium, &config).await?;
    let record = deploy::record(&operator_l1, deployment.rollup)
        .await?
        .context("the validium's record is gone")?;
    let mut urls = Vec::new();
    for (i, addr) in addrs.members.iter().enumerate() {
        let i = u8::try_from(i).context("too many members")?;
        let key = member_key(i);
        let view = MemberView::new(&record, &key.public_key())?;
        let member = Member::open(dir.join("dac").join(format!("member{i}")), key, view)?;
        let (bound, handle) = dac::rpc::serve(*addr, Arc::new(Mutex::new(member)))
            .await
            .with_context(|| format!("cannot serve dac JSON-RPC on {addr}"))?;
        urls.push(format!("http://{bound}"));
        servers.push(handle);
    }
    let members = HttpCommittee::new(&urls, Duration::from_secs(10))?;
    let (id, handles) = run_rollup(
        context,
        &operator_l1,
        &watcher_l1,
        validium,
        deployment,
        &keys,
        Some(AnyCommittee::Http(members)),
        addrs.validium,
    )
    .await?;
    servers.extend(handles);
    rollups.push(RunningRollup {
        flavour: validium,
        id,
        rpcs: addrs.validium,
    });
    Ok(RunningZk {
        rollups,
        members: addrs.members,
        settings: zk_settings,
        block_time_ms,
        servers,
        setup_secs,
    })
}

/// Finds the rollup of `flavour` on L1 (checking its keys) or registers it.
async fn find_or_register(
    context: &cw_tokio::Context,
    dir: &Path,
    l1: &LocalClient<cw_tokio::Context>,
    flavour: Flavour,
    config: &ZkRollupConfig,
) -> Result<Deployment> {
    let operator = dev_operator_key(flavour.roles()[0]);
    let me = address_of(&operator);
    let saved = dir.join(flavour.saved());
    let existing = deploy::find(l1, |r| r.config.operator == me).await?;
    Ok(match existing {
        Some(d) => {
            let record = deploy::record(l1, d.rollup)
                .await?
                .context("the rollup's record is gone")?;
            if record.config.verifiers != config.verifiers || record.config.data != config.data {
                bail!(
                    "the {} on this chain has other verification keys or another committee (start with --fresh)",
                    flavour.name()
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
            let nonce = deploy::next_nonce(l1, &operator).await?;
            let d = deploy::register(context, l1, &operator, nonce, config, WAIT)
                .await
                .with_context(|| format!("registering the {}", flavour.name()))?;
            let record = Saved {
                id: d.rollup,
                created_at: d.created_at,
            };
            std::fs::write(&saved, serde_json::to_string(&record)?)
                .with_context(|| format!("cannot write {}", saved.display()))?;
            d
        }
    })
}

/// Starts a rollup's operator (with its prover) and watcher, serving
/// `zk_*` on `rpcs`.
#[allow(clippy::too_many_arguments)] // one call per flavour, all distinct
async fn run_rollup(
    context: &cw_tokio::Context,
    operator_l1: &LocalClient<cw_tokio::Context>,
    watcher_l1: &LocalClient<cw_tokio::Context>,
    flavour: Flavour,
    deployment: Deployment,
    keys: &[Arc<ProvingKey>],
    committee: Option<AnyCommittee>,
    rpcs: [SocketAddr; 2],
) -> Result<(u64, Vec<ServerHandle>)> {
    let [operator_role, watcher_role] = flavour.roles();
    let with_committee = |config: NodeConfig| match &committee {
        Some(c) => config.with_committee(c.clone()),
        None => config,
    };
    let operator_config = with_committee(NodeConfig::operator(
        deployment,
        dev_operator_key(operator_role),
        OperatorConfig {
            batch_interval: Duration::from_secs(2),
            queue_max: 10_000,
            pipeline: 2,
        },
    ));
    let prover = ProverSetup::new(
        keys.to_vec(),
        hash_tagged(b"terrace/dev/zk-prover", &[flavour.name().as_bytes()]).0,
    );
    let [operator_label, watcher_label] = flavour.labels();
    let (_, op) = deploy::start(
        &context.child(operator_label),
        operator_l1.clone(),
        operator_config,
        Some(prover),
    )
    .await?;
    let (_, watcher) = deploy::start(
        &context.child(watcher_label),
        watcher_l1.clone(),
        with_committee(NodeConfig::watcher(
            deployment,
            dev_operator_key(watcher_role),
        )),
        None,
    )
    .await?;
    let now = || -> terrace_zkrollup::rpc::Now { Box::new(crate::devnet::now_ms) };
    let (_, op_server) = terrace_zkrollup::rpc::serve(rpcs[0], op, now())
        .await
        .with_context(|| format!("cannot serve zk JSON-RPC on {}", rpcs[0]))?;
    let (_, watcher_server) = terrace_zkrollup::rpc::serve(rpcs[1], watcher, now())
        .await
        .with_context(|| format!("cannot serve zk JSON-RPC on {}", rpcs[1]))?;
    Ok((deployment.rollup, vec![op_server, watcher_server]))
}
