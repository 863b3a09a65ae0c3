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
    /// Balance of each dev account, in whole tokens (10^18 base units).
    #[arg(long, default_value_t = 10_000)]
    pub balance: u64,
    /// Stake of each validator, in whole tokens.
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
        println!("  ({i}) {}  {} tokens", a.address, args.balance);
    }
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
