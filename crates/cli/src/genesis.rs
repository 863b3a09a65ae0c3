//! `terrace genesis init`: a devnet genesis with dev accounts and validators
//! whose keys are derived from public seeds — like anvil's dev accounts,
//! they are for local networks only and must never hold real value.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use terrace_l1::{
    ChainParams,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey,
    codec::to_hex,
    hash_tagged,
    keys::{Signer as _, private_key_from_seed},
};

/// Options of `terrace genesis init`.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Where to write the genesis.
    #[arg(long, default_value = "genesis.toml")]
    pub out: PathBuf,
    /// Chain id.
    #[arg(long, default_value_t = 1337)]
    pub chain_id: u64,
    /// Funded dev accounts.
    #[arg(long, default_value_t = 10)]
    pub accounts: u32,
    /// Genesis validators.
    #[arg(long, default_value_t = 4)]
    pub validators: u32,
    /// Balance of each dev account, in whole TER (10^18 aTER).
    #[arg(long, default_value_t = 10_000)]
    pub balance: u64,
    /// Stake of each validator, in whole TER.
    #[arg(long, default_value_t = 1_000)]
    pub stake: u64,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The i-th dev account key (public: for devnets only).
pub fn dev_account_key(i: u32) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/dev/account", &[&i.to_le_bytes()]).0)
}

/// A devnet service's key by role (`sequencer`, `challenger`; public:
/// for devnets only).
pub fn dev_operator_key(role: &str) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/dev/operator", &[role.as_bytes()]).0)
}

/// The i-th dev validator key (public: for devnets only).
pub fn dev_validator_key(i: u32) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/dev/validator", &[&i.to_le_bytes()]).0)
}

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// Builds the devnet genesis.
pub fn devnet(args: &InitArgs) -> Result<Genesis> {
    if args.validators == 0 {
        bail!("a chain needs at least one validator");
    }
    let genesis = Genesis {
        chain_id: ChainId(args.chain_id),
        timestamp_ms: 0,
        params: ChainParams::default(),
        accounts: (0..args.accounts)
            .map(|i| GenesisAccount {
                address: Address::from_public_key(&dev_account_key(i).public_key()),
                balance: Amount(args.balance as u128 * TOKEN),
            })
            .collect(),
        validators: (0..args.validators)
            .map(|i| GenesisValidator {
                public_key: to_hex(dev_validator_key(i).public_key().as_ref()),
                stake: Amount(args.stake as u128 * TOKEN),
            })
            .collect(),
    };
    genesis.validate()?;
    Ok(genesis)
}

/// Writes the genesis and lists the dev accounts.
pub fn init(args: &InitArgs) -> Result<()> {
    if args.out.exists() && !args.force {
        bail!("{} exists; pass --force to overwrite", args.out.display());
    }
    let genesis = devnet(args)?;
    std::fs::write(&args.out, genesis.to_toml())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!(
        "wrote {} (chain id {})",
        args.out.display(),
        genesis.chain_id
    );
    println!("dev accounts (keys derived from public seeds: devnet only):");
    for (i, a) in genesis.accounts.iter().enumerate() {
        println!("  ({i}) {}  {} TER", a.address, args.balance);
    }
    Ok(())
}

/// Options of `terrace genesis network`.
#[derive(clap::Args, Debug)]
pub struct NetworkArgs {
    /// Directory to write the genesis and one sub-directory per node into.
    #[arg(long, default_value = "terrace-network")]
    pub out: PathBuf,
    /// Validators (one `terrace node` process each).
    #[arg(long, default_value_t = 4)]
    pub validators: u32,
    /// Funded dev accounts (keys from public seeds, as in the devnet).
    #[arg(long, default_value_t = 10)]
    pub accounts: u32,
    /// Chain id.
    #[arg(long, default_value_t = 1337)]
    pub chain_id: u64,
    /// Host the nodes listen on and dial each other at.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// P2P port of node 0 (node i uses port + i).
    #[arg(long, default_value_t = 30400)]
    pub p2p_port: u16,
    /// JSON-RPC port of node 0 (node i uses port + i).
    #[arg(long, default_value_t = 8645)]
    pub rpc_port: u16,
    /// Consensus timing: lan or wan.
    #[arg(long, value_enum, default_value = "lan")]
    pub profile: ProfileArg,
    /// Derive the validator keys from public seeds (`validatorN` in `terrace
    /// l1`), as the devnet does, instead of generating secret ones.
    #[arg(long)]
    pub dev_keys: bool,
    /// Write each validator key encrypted (`validator.json`, the keystore
    /// format) under one password (`--password-file`, TERRACE_PASSWORD, or
    /// a prompt); `terrace node` asks for it the same way.
    #[arg(long, conflicts_with = "dev_keys")]
    pub encrypt_keys: bool,
    /// Cheap key derivation for --encrypt-keys: for throwaway test keys only.
    #[arg(long, hide = true)]
    pub insecure_fast_kdf: bool,
    /// Replace an existing directory.
    #[arg(long)]
    pub force: bool,
}

/// `--profile` values.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum ProfileArg {
    /// One machine or a LAN.
    Lan,
    /// Validators across regions.
    Wan,
}

/// Port `base + i`, or an error past 65535.
pub fn port(base: u16, i: u32) -> Result<u16> {
    u32::from(base)
        .checked_add(i)
        .and_then(|p| u16::try_from(p).ok())
        .context("port out of range")
}

/// Writes `genesis.toml`, `node-i/{node.toml, validator.key}` for each
/// validator (`validator.json`, encrypted, with `--encrypt-keys`) and
/// `devnet.json` (so `terrace l1 --data-dir DIR` finds the network).
/// Returns the node configuration paths.
pub fn network(args: &NetworkArgs) -> Result<Vec<PathBuf>> {
    use crate::node::{NodeConfig, PeerConfig, Profile, write_key_file};
    if args.validators == 0 {
        bail!("a chain needs at least one validator");
    }
    if args.out.exists() {
        if !args.force {
            bail!("{} exists; pass --force to replace it", args.out.display());
        }
        std::fs::remove_dir_all(&args.out)
            .with_context(|| format!("cannot remove {}", args.out.display()))?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let keys = (0..args.validators)
        .map(|i| {
            if args.dev_keys {
                Ok(dev_validator_key(i))
            } else {
                crate::keystore::generate()
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let mut genesis = devnet(&InitArgs {
        out: PathBuf::new(),
        chain_id: args.chain_id,
        accounts: args.accounts,
        validators: args.validators,
        balance: 10_000,
        stake: 1_000,
        force: true,
    })?;
    for (v, key) in genesis.validators.iter_mut().zip(&keys) {
        v.public_key = to_hex(key.public_key().as_ref());
    }
    genesis.timestamp_ms = crate::devnet::now_ms();
    genesis.validate()?;
    std::fs::write(args.out.join("genesis.toml"), genesis.to_toml())?;
    let peers = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Ok(PeerConfig {
                key: to_hex(k.public_key().as_ref()),
                address: (args.host, port(args.p2p_port, i as u32)?).into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let password = if args.encrypt_keys {
        Some(crate::keystore::password(true)?)
    } else {
        None
    };
    let cost = if args.insecure_fast_kdf {
        crate::keystore::KdfCost::fast()
    } else {
        crate::keystore::KdfCost::STANDARD
    };
    let mut paths = Vec::new();
    let mut rpcs = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let dir = args.out.join(format!("node-{i}"));
        std::fs::create_dir_all(&dir)?;
        let key_file = match &password {
            Some(pw) => {
                let sealed = crate::keystore::KeyFile::seal(key, pw, cost)?;
                sealed.write_as(&dir.join("validator.json"))?;
                "validator.json"
            }
            None => {
                write_key_file(&dir.join("validator.key"), key)?;
                "validator.key"
            }
        };
        let rpc = std::net::SocketAddr::from((args.host, port(args.rpc_port, i as u32)?));
        rpcs.push(format!("http://{rpc}"));
        let config = NodeConfig {
            genesis: "../genesis.toml".into(),
            data_dir: "data".into(),
            key_file: key_file.into(),
            p2p: peers[i].address,
            p2p_external: None,
            allow_private_addresses: true,
            rpc,
            metrics: None,
            log_level: "info".into(),
            profile: match args.profile {
                ProfileArg::Lan => Profile::Lan,
                ProfileArg::Wan => Profile::Wan,
            },
            peers: peers
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| p.clone())
                .collect(),
        };
        let path = dir.join("node.toml");
        std::fs::write(&path, config.to_toml()?)?;
        paths.push(path);
    }
    let info = crate::devnet::DevnetInfo {
        chain_id: args.chain_id,
        rpc: rpcs[0].clone(),
        rpcs,
        accounts: genesis.accounts.iter().map(|a| a.address).collect(),
        validators: keys
            .iter()
            .map(|k| Address::from_public_key(&k.public_key()))
            .collect(),
        l2_rpc: None,
        l2_verifier_rpc: None,
        zk_rpc: None,
        zk_watcher_rpc: None,
        validium_rpc: None,
        validium_watcher_rpc: None,
        dac_rpcs: Vec::new(),
    };
    std::fs::write(
        args.out.join("devnet.json"),
        serde_json::to_string_pretty(&info)?,
    )?;
    Ok(paths)
}

/// `terrace genesis network`: writes the files and says how to start.
pub fn network_command(args: &NetworkArgs) -> Result<()> {
    let paths = network(args)?;
    println!(
        "wrote {} validators' configurations under {} (chain id {})",
        paths.len(),
        args.out.display(),
        args.chain_id
    );
    println!("start each node in its own terminal (or machine):");
    for p in &paths {
        println!("  terrace node --config {}", p.display());
    }
    println!("then: terrace l1 status --data-dir {}", args.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_genesis_roundtrips_and_funds_dev_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let args = InitArgs {
            out: dir.path().join("g.toml"),
            chain_id: 99,
            accounts: 3,
            validators: 2,
            balance: 5,
            stake: 7,
            force: false,
        };
        init(&args).unwrap();
        assert!(init(&args).is_err(), "refuses to overwrite without --force");
        let text = std::fs::read_to_string(&args.out).unwrap();
        let g = Genesis::from_toml(&text).unwrap();
        assert_eq!(g.chain_id, ChainId(99));
        assert_eq!(g.accounts.len(), 3);
        assert_eq!(
            g.accounts[1].address,
            Address::from_public_key(&dev_account_key(1).public_key())
        );
        let state = g.state().unwrap();
        assert_eq!(
            state.circulating(),
            Some(Amount(3 * 5 * TOKEN + 2 * 7 * TOKEN))
        );
    }

    #[test]
    fn network_writes_a_consistent_genesis_and_node_configs() {
        let dir = tempfile::tempdir().unwrap();
        let args = NetworkArgs {
            out: dir.path().join("net"),
            validators: 3,
            accounts: 2,
            chain_id: 5,
            host: [127, 0, 0, 1].into(),
            p2p_port: 40000,
            rpc_port: 41000,
            profile: ProfileArg::Lan,
            dev_keys: false,
            encrypt_keys: false,
            insecure_fast_kdf: false,
            force: false,
        };
        let paths = network(&args).unwrap();
        assert_eq!(paths.len(), 3);
        assert!(
            network(&args).is_err(),
            "refuses to replace without --force"
        );
        let genesis =
            Genesis::from_toml(&std::fs::read_to_string(args.out.join("genesis.toml")).unwrap())
                .unwrap();
        for (i, path) in paths.iter().enumerate() {
            let config = crate::node::NodeConfig::load(path).unwrap();
            let key = crate::node::read_key_file(&config.key_file).unwrap();
            assert_eq!(
                genesis.validators[i].public_key,
                to_hex(key.public_key().as_ref()),
                "node {i} holds the key of genesis validator {i}"
            );
            assert_eq!(config.p2p.port(), 40000 + i as u16);
            assert_eq!(config.rpc.port(), 41000 + i as u16);
            assert_eq!(config.peers.len(), 2, "every other validator is a peer");
            assert!(config.peers.iter().all(|p| p.address != config.p2p));
        }
        let info = crate::devnet::read_info(Some(&args.out)).unwrap();
        assert_eq!(info.rpc, "http://127.0.0.1:41000");
    }

    #[test]
    fn bad_genesis_files_get_clear_errors() {
        assert!(
            Genesis::from_toml("chain_id = 0")
                .unwrap_err()
                .to_string()
                .contains("non-zero")
        );
        assert!(Genesis::from_toml("chain_id = \"x\"").is_err());
        let dup = "chain_id = 1\n[[accounts]]\naddress = \"0x0101010101010101010101010101010101010101\"\nbalance = \"1\"\n[[accounts]]\naddress = \"0x0101010101010101010101010101010101010101\"\nbalance = \"2\"\n";
        assert!(
            Genesis::from_toml(dup)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
        let bad_param = "chain_id = 1\n[params]\nblock_gas_target = 0\n";
        assert!(
            Genesis::from_toml(bad_param)
                .unwrap_err()
                .to_string()
                .contains("block_gas_target")
        );
        let unknown = "chain_id = 1\nsurprise = 3\n";
        assert!(Genesis::from_toml(unknown).is_err());
    }
}
