//! `terrace node --config FILE`: one validator as its own process, for
//! networks of separate processes or machines. `terrace genesis network`
//! writes these files; `terrace devnet` runs the same start-up path for
//! several validators in one process.

use anyhow::{Context as _, Result, bail};
use commonware_codec::DecodeExt as _;
use commonware_runtime::{Runner as _, tokio as cw_tokio};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};
use terrace_l1::genesis::Genesis;
use terrace_node::{
    engine::Timeouts,
    net::{Endpoint, Peer},
};
use terrace_primitives::{
    PrivateKey, PublicKey,
    codec::{from_hex, to_hex},
    keys::{Signer as _, check_public_key, private_key_from_seed, private_key_seed},
};

/// Options of `terrace node`.
#[derive(clap::Args, Debug)]
pub struct NodeArgs {
    /// The node's configuration file (written by `terrace genesis network`).
    #[arg(long)]
    pub config: PathBuf,
    /// Override the configured log level.
    #[arg(long)]
    pub log_level: Option<String>,
}

/// Consensus timing profile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// One machine or a LAN.
    #[default]
    Lan,
    /// Validators across regions.
    Wan,
}

impl Profile {
    fn timeouts(self) -> Timeouts {
        match self {
            Profile::Lan => Timeouts::LAN,
            Profile::Wan => Timeouts::WAN,
        }
    }
}

/// A known committee member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// Its consensus public key (hex).
    pub key: String,
    /// Its p2p address.
    pub address: SocketAddr,
}

/// The node configuration file. Relative paths are relative to the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The chain's genesis file.
    pub genesis: PathBuf,
    /// Where the node keeps its state, blocks and consensus journal.
    pub data_dir: PathBuf,
    /// The validator's secret key: 32-byte seed in hex on one line, or
    /// encrypted in the keystore format (unlocked with the password).
    pub key_file: PathBuf,
    /// P2P listen address.
    pub p2p: SocketAddr,
    /// The address other validators dial [default: `p2p`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2p_external: Option<SocketAddr>,
    /// Accept peers on private and loopback addresses.
    #[serde(default = "yes")]
    pub allow_private_addresses: bool,
    /// JSON-RPC listen address (HTTP and WebSocket).
    pub rpc: SocketAddr,
    /// Prometheus metrics listen address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
    /// error, warn, info, debug or trace.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Consensus timing: `lan` or `wan`.
    #[serde(default)]
    pub profile: Profile,
    /// Committee members to dial first; discovery learns the others.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

fn yes() -> bool {
    true
}

fn default_log_level() -> String {
    "info".into()
}

impl NodeConfig {
    /// Reads a configuration and makes its paths absolute.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut config: NodeConfig = toml::from_str(&text)
            .with_context(|| format!("{} is not a node configuration", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut config.genesis,
            &mut config.data_dir,
            &mut config.key_file,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(config)
    }

    /// The configuration as TOML.
    pub fn to_toml(&self) -> Result<String> {
        Ok(toml::to_string(self)?)
    }
}

/// Writes a key file readable by its owner only.
pub fn write_key_file(path: &Path, key: &PrivateKey) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", to_hex(&private_key_seed(key).0))?;
    Ok(())
}

/// Reads a key file: the hex seed [`write_key_file`] writes, or an
/// encrypted one in the keystore format (`genesis network
/// --encrypt-keys`), unlocked with the password (`--password-file`,
/// TERRACE_PASSWORD, or a prompt).
pub fn read_key_file(path: &Path) -> Result<PrivateKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if text.trim_start().starts_with('{') {
        let file = crate::keystore::KeyFile::read(path)?;
        return file
            .open(&crate::keystore::password(false)?)
            .with_context(|| format!("cannot unlock {}", path.display()));
    }
    let seed: [u8; 32] = from_hex(text.trim())
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{}: expected a 32-byte hex seed", path.display()))?;
    Ok(private_key_from_seed(seed))
}

fn parse_key(hex: &str) -> Result<PublicKey> {
    let bytes = from_hex(hex).with_context(|| format!("{hex:?} is not hex"))?;
    let key = PublicKey::decode(commonware_codec::Copying(&bytes))
        .with_context(|| format!("{hex:?} is not an ed25519 public key"))?;
    check_public_key(&key).with_context(|| format!("{hex:?}"))?;
    Ok(key)
}

/// Parses a log level name.
pub fn log_level(name: &str) -> Result<tracing::Level> {
    name.parse().map_err(|_| {
        anyhow::anyhow!("log level {name:?}: expected error, warn, info, debug or trace")
    })
}

pub use terrace_node::net::{NodeSpec, Running};

/// Starts a validator and its JSON-RPC server.
pub async fn start(
    context: &cw_tokio::Context,
    genesis: &Genesis,
    spec: NodeSpec<'_>,
) -> Result<Running> {
    Ok(terrace_node::net::start_node(context, genesis, spec).await?)
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
    }
}

/// Runs `terrace node` until Ctrl-C or SIGTERM.
pub fn run(args: NodeArgs) -> Result<()> {
    let config = NodeConfig::load(&args.config)?;
    let text = std::fs::read_to_string(&config.genesis)
        .with_context(|| format!("cannot read {}", config.genesis.display()))?;
    let genesis = Genesis::from_toml(&text)
        .with_context(|| format!("{} is not a valid genesis", config.genesis.display()))?;
    let key = read_key_file(&config.key_file)?;
    let peers = config
        .peers
        .iter()
        .map(|p| {
            Ok(Peer {
                key: parse_key(&p.key).context("in [[peers]]")?,
                addr: p.address,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let level = log_level(args.log_level.as_deref().unwrap_or(&config.log_level))?;
    let resumed = config.data_dir.exists();
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let runtime = cw_tokio::Config::new()
        .with_worker_threads(2)
        .with_storage_directory(&config.data_dir)
        .with_catch_panics(false);
    let me = terrace_primitives::Address::from_public_key(&key.public_key());
    if peers.is_empty() && genesis.validators.len() > 1 {
        bail!("no [[peers]] configured: this node could never reach the committee");
    }
    cw_tokio::Runner::new(runtime).start(|context| async move {
        crate::telemetry::init(&context, level, &config.data_dir, config.metrics).await?;
        let running = start(
            &context,
            &genesis,
            NodeSpec {
                key: &key,
                endpoint: Endpoint {
                    listen: config.p2p,
                    dialable: config.p2p_external.unwrap_or(config.p2p),
                    allow_private: config.allow_private_addresses,
                },
                peers: &peers,
                rpc: config.rpc,
                prefix: "node".into(),
                timeouts: config.profile.timeouts(),
            },
        )
        .await?;
        crate::metrics::watch(&context, me, running.chain.clone());
        println!(
            "terrace node {me} (chain {}, {}): p2p {}, JSON-RPC http://{}, data {}",
            genesis.chain_id,
            if resumed { "resuming" } else { "new" },
            config.p2p,
            config.rpc,
            config.data_dir.display()
        );
        shutdown_signal().await?;
        println!("stopping");
        running.stop();
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_roundtrips_and_resolves_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig {
            genesis: "../genesis.toml".into(),
            data_dir: "data".into(),
            key_file: "validator.key".into(),
            p2p: "127.0.0.1:30300".parse().unwrap(),
            p2p_external: None,
            allow_private_addresses: true,
            rpc: "127.0.0.1:8545".parse().unwrap(),
            metrics: None,
            log_level: "info".into(),
            profile: Profile::Lan,
            peers: vec![PeerConfig {
                key: "00".repeat(32),
                address: "127.0.0.1:30301".parse().unwrap(),
            }],
        };
        let path = dir.path().join("node.toml");
        std::fs::write(&path, config.to_toml().unwrap()).unwrap();
        let loaded = NodeConfig::load(&path).unwrap();
        assert_eq!(loaded.data_dir, dir.path().join("data"));
        assert_eq!(loaded.genesis, dir.path().join("../genesis.toml"));
        assert_eq!(loaded.peers, config.peers);
        assert_eq!(loaded.profile, Profile::Lan);
    }

    #[test]
    fn bad_configs_and_keys_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "genesis = 3\n").unwrap();
        assert!(NodeConfig::load(&path).is_err());
        std::fs::write(
            &path,
            "genesis='g'\ndata_dir='d'\nkey_file='k'\np2p='127.0.0.1:1'\nrpc='127.0.0.1:2'\nsurprise=1\n",
        )
        .unwrap();
        assert!(NodeConfig::load(&path).is_err(), "unknown fields refused");

        let key_path = dir.path().join("k");
        let key = private_key_from_seed([7; 32]);
        write_key_file(&key_path, &key).unwrap();
        assert_eq!(
            read_key_file(&key_path).unwrap().public_key(),
            key.public_key()
        );
        assert!(
            write_key_file(&key_path, &key).is_err(),
            "never overwrites a key"
        );
        std::fs::write(dir.path().join("short"), "abcd\n").unwrap();
        assert!(read_key_file(&dir.path().join("short")).is_err());
        assert!(parse_key("zz").is_err());
        assert!(parse_key(&"00".repeat(31)).is_err());
    }
}
