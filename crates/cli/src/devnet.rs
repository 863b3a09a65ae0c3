//! `terrace devnet`: N validators in one process, each on its own
//! 127.0.0.1 port over the real authenticated p2p, with a JSON-RPC
//! endpoint each. Running it again resumes the same chain from its data
//! directory; `--fresh` starts over.

use crate::{
    genesis::{InitArgs, dev_account_key, dev_operator_key, dev_validator_key},
    node::{self, NodeSpec},
};
use anyhow::{Context as _, Result, bail};
use commonware_runtime::{Runner as _, Spawner as _, Supervisor as _, tokio as cw_tokio};
use serde::{Deserialize, Serialize};
use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
};
use terrace_l1::genesis::Genesis;
use terrace_node::{
    engine::Timeouts,
    net::{Endpoint, Peer},
};
use terrace_primitives::{Address, codec::to_hex, keys::Signer as _, keys::private_key_seed};

/// Options of `terrace devnet`.
#[derive(clap::Args, Debug)]
pub struct DevnetArgs {
    /// Validators.
    #[arg(long, default_value_t = 4)]
    pub validators: u32,
    /// Funded dev accounts (on first start).
    #[arg(long, default_value_t = 10)]
    pub accounts: u32,
    /// Chain id (on first start).
    #[arg(long, default_value_t = 1337)]
    pub chain_id: u64,
    /// Where the chain lives [default: $TERRACE_HOME/devnet, or ~/.terrace/devnet].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Delete the data directory and start a new chain.
    #[arg(long)]
    pub fresh: bool,
    /// JSON-RPC port of validator 0 (validator i listens on port + i).
    #[arg(long, default_value_t = 8545)]
    pub rpc_port: u16,
    /// P2P port of validator 0 (validator i listens on port + i).
    #[arg(long, default_value_t = 30300)]
    pub p2p_port: u16,
    /// Prometheus metrics port (all validators, labelled by validator).
    #[arg(long, default_value_t = 9090)]
    pub metrics_port: u16,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, default_value = "warn")]
    pub log_level: String,
    /// L2 JSON-RPC port of the rollup's sequencer (its verifier listens on
    /// port + 1).
    #[arg(long, default_value_t = 9545)]
    pub l2_rpc_port: u16,
    /// The rollup's challenge window in seconds (on first start; mainnet
    /// rollups use 7 days).
    #[arg(long, default_value_t = 60)]
    pub l2_challenge_window: u64,
    /// Run the L1 only, without the optimistic rollup.
    #[arg(long)]
    pub no_rollup: bool,
    /// `zk_*` JSON-RPC port of the zk-rollup's operator (its watcher
    /// listens on port + 1, the validium's operator and watcher on + 2 and
    /// + 3, its committee members' `dac_*` on + 4, + 5 and + 6).
    #[arg(long, default_value_t = 9547)]
    pub zk_rpc_port: u16,
    /// Run without the zk-rollup and the validium (their setup takes
    /// several seconds at start).
    #[arg(long)]
    pub no_zk: bool,
}

/// Every dev service key funded at genesis (they pay L1 gas and bonds).
fn operator_roles() -> impl Iterator<Item = &'static str> {
    ["sequencer", "challenger"]
        .into_iter()
        .chain(crate::zkrollup::ROLES)
}

/// What the CLI needs to find a running devnet; written to
/// `<data dir>/devnet.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetInfo {
    /// Chain id.
    pub chain_id: u64,
    /// JSON-RPC URL of validator 0.
    pub rpc: String,
    /// Every validator's JSON-RPC URL.
    pub rpcs: Vec<String>,
    /// Dev accounts (`devN`).
    pub accounts: Vec<Address>,
    /// Validators (`validatorN`).
    pub validators: Vec<Address>,
    /// L2 JSON-RPC URL of the rollup's sequencer.
    #[serde(default)]
    pub l2_rpc: Option<String>,
    /// L2 JSON-RPC URL of the rollup's verifier.
    #[serde(default)]
    pub l2_verifier_rpc: Option<String>,
    /// `zk_*` JSON-RPC URL of the zk-rollup's operator.
    #[serde(default)]
    pub zk_rpc: Option<String>,
    /// `zk_*` JSON-RPC URL of the zk-rollup's watcher.
    #[serde(default)]
    pub zk_watcher_rpc: Option<String>,
    /// `zk_*` JSON-RPC URL of the validium's operator.
    #[serde(default)]
    pub validium_rpc: Option<String>,
    /// `zk_*` JSON-RPC URL of the validium's watcher.
    #[serde(default)]
    pub validium_watcher_rpc: Option<String>,
    /// `dac_*` JSON-RPC URLs of the validium's committee members, in
    /// member order.
    #[serde(default)]
    pub dac_rpcs: Vec<String>,
}

/// The default devnet directory.
pub fn default_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("TERRACE_HOME") {
        return Ok(PathBuf::from(home).join("devnet"));
    }
    let home =
        std::env::var_os("HOME").context("neither --data-dir, TERRACE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".terrace").join("devnet"))
}

/// Reads `devnet.json` from `dir` (or the default directory).
pub fn read_info(dir: Option<&Path>) -> Result<DevnetInfo> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => default_dir()?,
    };
    let path = dir.join("devnet.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no devnet at {} (start one with `terrace devnet`)",
            path.display()
        )
    })?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a devnet file", path.display()))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Loads the devnet's genesis, creating it on first start.
fn load_or_create_genesis(args: &DevnetArgs, dir: &Path) -> Result<Genesis> {
    let path = dir.join("genesis.toml");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        let genesis = Genesis::from_toml(&text)
            .with_context(|| format!("{} is not a valid genesis", path.display()))?;
        if genesis.validators.len() != args.validators as usize {
            bail!(
                "the chain in {} has {} validators, not {}; pass --fresh to start a new chain",
                dir.display(),
                genesis.validators.len(),
                args.validators
            );
        }
        return Ok(genesis);
    }
    let mut genesis = crate::genesis::devnet(&InitArgs {
        out: path.clone(),
        chain_id: args.chain_id,
        accounts: args.accounts,
        validators: args.validators,
        balance: 10_000,
        stake: 1_000,
        force: true,
    })?;
    genesis.timestamp_ms = now_ms();
    // The rollups' operators: they pay L1 gas and bonds.
    for role in operator_roles() {
        genesis.accounts.push(terrace_l1::genesis::GenesisAccount {
            address: Address::from_public_key(&dev_operator_key(role).public_key()),
            balance: terrace_primitives::Amount(10_000 * 1_000_000_000_000_000_000),
        });
    }
    genesis.validate()?;
    std::fs::write(&path, genesis.to_toml())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(genesis)
}

/// Runs the devnet until Ctrl-C.
pub fn run(args: DevnetArgs) -> Result<()> {
    if args.validators == 0 {
        bail!("a devnet needs at least one validator");
    }
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => default_dir()?,
    };
    if args.fresh && dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let resumed = dir.join("store").exists();
    let genesis = load_or_create_genesis(&args, &dir)?;
    let n = args.validators;
    let localhost = |base: u16, i: u32| -> Result<SocketAddr> {
        Ok(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            crate::genesis::port(base, i)?,
        )))
    };
    let peers = (0..n)
        .map(|i| {
            Ok(Peer {
                key: dev_validator_key(i).public_key(),
                addr: localhost(args.p2p_port, i)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let rpc_addrs = (0..n)
        .map(|i| localhost(args.rpc_port, i))
        .collect::<Result<Vec<_>>>()?;
    let l2_addrs = [
        localhost(args.l2_rpc_port, 0)?,
        localhost(args.l2_rpc_port, 1)?,
    ];
    let zk_addrs = crate::zkrollup::Addresses {
        zk: [
            localhost(args.zk_rpc_port, 0)?,
            localhost(args.zk_rpc_port, 1)?,
        ],
        validium: [
            localhost(args.zk_rpc_port, 2)?,
            localhost(args.zk_rpc_port, 3)?,
        ],
        members: (0..crate::zkrollup::COMMITTEE.0)
            .map(|i| localhost(args.zk_rpc_port, 4 + u32::from(i)))
            .collect::<Result<_>>()?,
    };
    let info = DevnetInfo {
        chain_id: genesis.chain_id.0,
        rpc: format!("http://{}", rpc_addrs[0]),
        rpcs: rpc_addrs.iter().map(|a| format!("http://{a}")).collect(),
        accounts: {
            let operators: Vec<Address> = operator_roles()
                .map(|r| Address::from_public_key(&dev_operator_key(r).public_key()))
                .collect();
            genesis
                .accounts
                .iter()
                .map(|a| a.address)
                .filter(|a| !operators.contains(a))
                .collect()
        },
        validators: peers
            .iter()
            .map(|p| Address::from_public_key(&p.key))
            .collect(),
        l2_rpc: (!args.no_rollup).then(|| format!("http://{}", l2_addrs[0])),
        l2_verifier_rpc: (!args.no_rollup).then(|| format!("http://{}", l2_addrs[1])),
        zk_rpc: (!args.no_zk).then(|| format!("http://{}", zk_addrs.zk[0])),
        zk_watcher_rpc: (!args.no_zk).then(|| format!("http://{}", zk_addrs.zk[1])),
        validium_rpc: (!args.no_zk).then(|| format!("http://{}", zk_addrs.validium[0])),
        validium_watcher_rpc: (!args.no_zk).then(|| format!("http://{}", zk_addrs.validium[1])),
        dac_rpcs: if args.no_zk {
            Vec::new()
        } else {
            zk_addrs
                .members
                .iter()
                .map(|a| format!("http://{a}"))
                .collect()
        },
    };
    std::fs::write(
        dir.join("devnet.json"),
        serde_json::to_string_pretty(&info)?,
    )?;
    print_banner(&genesis, &info, &dir, resumed);

    let config = cw_tokio::Config::new()
        .with_worker_threads(4)
        .with_storage_directory(dir.join("store"))
        .with_catch_panics(false);
    let level = node::log_level(&args.log_level)?;
    let metrics = localhost(args.metrics_port, 0)?;
    println!("metrics       http://{metrics}/metrics  (Prometheus)");
    println!();
    let result: Result<()> = cw_tokio::Runner::new(config).start(|context| async move {
        crate::telemetry::init(&context, level, &dir, Some(metrics)).await?;
        let mut nodes = Vec::new();
        for i in 0..n {
            let running = node::start(
                &context,
                &genesis,
                NodeSpec {
                    key: &dev_validator_key(i),
                    endpoint: Endpoint {
                        listen: peers[i as usize].addr,
                        dialable: peers[i as usize].addr,
                        allow_private: true,
                    },
                    peers: &peers,
                    rpc: rpc_addrs[i as usize],
                    prefix: format!("validator-{i}"),
                    timeouts: Timeouts::LAN,
                },
            )
            .await?;
            crate::metrics::watch(&context, i, running.chain.clone());
            if i == 0 {
                let mut feed = running.chain.subscribe();
                context.child("log").spawn(move |_| async move {
                    while let Ok(b) = feed.recv().await {
                        if !b.transactions.is_empty() {
                            println!(
                                "block {:>6}  {} tx  gas {}  base fee {}  {}",
                                b.height,
                                b.transactions.len(),
                                b.gas_used,
                                b.base_fee,
                                b.hash
                            );
                        }
                    }
                });
            }
            nodes.push(running);
        }
        if !args.no_rollup {
            let sequencer_l1 = nodes[0].client.clone();
            let verifier_l1 = nodes[nodes.len().min(2) - 1].client.clone();
            let dir = dir.clone();
            let window = args.l2_challenge_window;
            context.child("rollup").spawn(move |context| async move {
                match crate::rollup::start(
                    &context,
                    &dir,
                    window,
                    sequencer_l1,
                    verifier_l1,
                    l2_addrs[0],
                    l2_addrs[1],
                )
                .await
                {
                    Ok(running) => {
                        crate::rollup::print_banner(&running);
                        // The servers run while their handles live.
                        futures::future::pending::<()>().await;
                        running.stop();
                    }
                    Err(e) => eprintln!("the rollup did not start: {e:#}"),
                }
            });
        }
        if !args.no_zk {
            let operator_l1 = nodes[0].client.clone();
            let watcher_l1 = nodes[nodes.len().min(2) - 1].client.clone();
            let dir = dir.clone();
            // The setup holds a thread for seconds: give it its own.
            context
                .child("zkrollup")
                .dedicated()
                .spawn(move |context| async move {
                    match crate::zkrollup::start(&context, &dir, operator_l1, watcher_l1, zk_addrs)
                        .await
                    {
                        Ok(running) => {
                            crate::zkrollup::print_banner(&running);
                            futures::future::pending::<()>().await;
                            running.stop();
                        }
                        Err(e) => eprintln!("the zk-rollup did not start: {e:#}"),
                    }
                });
        }
        println!("running; Ctrl-C stops (the chain resumes on the next start)");
        node::shutdown_signal().await?;
        println!("stopping");
        for running in nodes {
            running.stop();
        }
        Ok(())
    });
    result
}

fn print_banner(genesis: &Genesis, info: &DevnetInfo, dir: &Path, resumed: bool) {
    println!(
        "Terrace devnet ({})",
        if resumed { "resuming" } else { "new chain" }
    );
    println!();
    println!("chain id      {}", genesis.chain_id);
    println!("validators    {}", info.validators.len());
    println!("block time    {} ms", genesis.params.block_time_ms);
    println!("JSON-RPC      {}  (HTTP and WebSocket)", info.rpc);
    for (i, url) in info.rpcs.iter().enumerate().skip(1) {
        println!("              {url}  (validator {i})");
    }
    println!("data dir      {}", dir.display());
    println!();
    println!("Dev accounts (10,000 TER each; use them as --from devN):");
    for (i, a) in info.accounts.iter().enumerate() {
        println!("  dev{i:<3} {a}");
    }
    println!();
    println!(
        "Dev account secret keys. DEVNET ONLY: derived from public seeds, never hold real value:"
    );
    for i in 0..info.accounts.len() {
        let seed = private_key_seed(&dev_account_key(u32::try_from(i).unwrap_or(u32::MAX)));
        println!("  dev{i:<3} 0x{}", to_hex(&seed.0));
    }
    println!();
    println!("Try:  terrace l1 send --from dev0 --to dev1 --amount 5 --wait");
    if let Some(l2) = &info.l2_rpc {
        println!("L2:   an optimistic rollup starts on this chain; its sequencer will serve {l2}");
    }
    if let Some(zk) = &info.zk_rpc {
        println!(
            "L2:   a zk-rollup starts on this chain after its setup; its operator will serve {zk}"
        );
    }
    if let Some(validium) = &info.validium_rpc {
        println!("      and a validium with its committee; its operator will serve {validium}");
    }
    println!();
}
