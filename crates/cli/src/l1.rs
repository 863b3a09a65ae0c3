//! `terrace l1 …`: talk to a node over JSON-RPC. Without `--rpc` it finds
//! the local devnet (its `devnet.json`), and `devN` / `validatorN` name the
//! devnet's accounts, so nobody copies a key by hand.

use crate::{
    devnet::{self, DevnetInfo},
    genesis::{dev_account_key, dev_validator_key},
    keystore,
};
use anyhow::{Context as _, Result, bail};
use commonware_codec::Encode as _;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::{path::PathBuf, time::Duration};
use terrace_l1::{Payload, Transaction, modules::staking::StakingOp};
use terrace_node::rpc::{BlockId, L1ApiClient as _, TxInfo};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, PublicKey, amount::per_gas, codec::to_hex,
    keys::Signer as _,
};

/// Where the node is.
#[derive(clap::Args, Debug, Clone)]
pub struct Endpoint {
    /// JSON-RPC URL [default: the local devnet's, else http://127.0.0.1:8545].
    #[arg(long, env = "TERRACE_RPC")]
    pub rpc: Option<String>,
    /// The devnet directory to look for `devnet.json` in.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `terrace l1` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum L1Command {
    /// Chain status: heights, base fee, committee.
    Status {
        #[command(flatten)]
        at: Endpoint,
    },
    /// An account's balance and nonce (finalized).
    Balance {
        /// Address, `devN`, `validatorN`, or a keystore key's name.
        account: String,
        /// Also fetch a Merkle proof against the state root.
        #[arg(long)]
        proof: bool,
        #[command(flatten)]
        at: Endpoint,
    },
    /// Send TER.
    Send {
        /// Sender: `devN`, `validatorN`, or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Recipient: address, `devN`, `validatorN`, or a keystore key's name.
        #[arg(long)]
        to: String,
        /// Amount in TER (decimals allowed, e.g. 0.5).
        #[arg(long)]
        amount: String,
        /// Wait until the transfer is finalized.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        at: Endpoint,
    },
    /// Bond stake (validators).
    Stake {
        /// Validator: `validatorN`.
        #[arg(long)]
        from: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// Wait until finalized.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        at: Endpoint,
    },
    /// Start unbonding stake (validators).
    Unstake {
        /// Validator: `validatorN`.
        #[arg(long)]
        from: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// Wait until finalized.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        at: Endpoint,
    },
    /// A block: height, hash, `latest` or `finalized` (default).
    Block {
        /// Which block.
        #[arg(default_value = "finalized")]
        id: String,
        #[command(flatten)]
        at: Endpoint,
    },
    /// A transaction and its receipt.
    Tx {
        /// Transaction hash.
        hash: String,
        #[command(flatten)]
        at: Endpoint,
    },
}

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// Parses a decimal TER amount into aTER.
pub fn parse_tokens(s: &str) -> Result<Amount> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() && frac.is_empty() || frac.len() > 18 {
        bail!("amount {s:?}: expected TER with at most 18 decimals, e.g. 5 or 0.25");
    }
    let digits = |t: &str| t.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || !digits(frac) {
        bail!("amount {s:?} is not a number");
    }
    let whole: u128 = if whole.is_empty() { 0 } else { whole.parse()? };
    let frac_units: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<18}").parse()?
    };
    whole
        .checked_mul(TOKEN)
        .and_then(|w| w.checked_add(frac_units))
        .map(Amount)
        .context("amount too large")
}

/// An amount in TER, exactly (the one unit vocabulary: see
/// [`terrace_primitives::amount`]).
pub(crate) fn format_tokens(a: Amount) -> String {
    a.ter()
}

fn dev_index(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.parse().ok()
}

/// The devnet key a name refers to (`devN`, `validatorN`).
fn dev_key(name: &str) -> Option<PrivateKey> {
    if let Some(i) = dev_index(name, "dev") {
        return Some(dev_account_key(i));
    }
    dev_index(name, "validator").map(dev_validator_key)
}

/// The keystore key `name` (a key's name or address), if there is one.
fn stored(name: &str) -> Result<Option<keystore::KeyFile>> {
    let dir = keystore::default_dir()?;
    keystore::find(&dir, name).with_context(|| format!("reading the keystore {}", dir.display()))
}

fn unknown(name: &str) -> anyhow::Error {
    let dir = keystore::default_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "the keystore".into());
    anyhow::anyhow!(
        "{name:?} is neither a devnet key (devN, validatorN) nor a key in {dir} \
         (`terrace keys new --name NAME` makes one)"
    )
}

/// The key `name` signs with: a devnet key (`devN`, `validatorN`), or a
/// keystore key by name or address, unlocked with the password
/// (`--password-file`, `TERRACE_PASSWORD`, or a prompt).
pub(crate) fn signer(name: &str) -> Result<PrivateKey> {
    if let Some(k) = dev_key(name) {
        return Ok(k);
    }
    let file = stored(name)?.ok_or_else(|| unknown(name))?;
    file.open(&keystore::password(false)?)
        .with_context(|| format!("cannot unlock {}", file.address))
}

/// The public key `name` refers to: a devnet key or a keystore key (no
/// password needed).
pub(crate) fn public_key_of(name: &str) -> Result<PublicKey> {
    if let Some(k) = dev_key(name) {
        return Ok(k.public_key());
    }
    stored(name)?.ok_or_else(|| unknown(name))?.public_key()
}

/// The address `name` refers to: `0x…`, a devnet key, or a keystore key.
pub(crate) fn resolve(name: &str) -> Result<Address> {
    if name.starts_with("0x") {
        return name.parse().map_err(Into::into);
    }
    Ok(Address::from_public_key(&public_key_of(name)?))
}

pub(crate) struct Client {
    pub(crate) http: HttpClient,
    pub(crate) json: bool,
}

pub(crate) fn connect(at: &Endpoint) -> Result<Client> {
    let url = match &at.rpc {
        Some(u) => u.clone(),
        None => devnet::read_info(at.data_dir.as_deref())
            .map(|i: DevnetInfo| i.rpc)
            .unwrap_or_else(|_| "http://127.0.0.1:8545".into()),
    };
    let http = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(&url)
        .with_context(|| format!("bad RPC URL {url}"))?;
    Ok(Client {
        http,
        json: at.json,
    })
}

/// A JSON-RPC failure as one line: the server's message and code, or why
/// the node could not be reached.
pub(crate) fn rpc(e: jsonrpsee::core::ClientError) -> anyhow::Error {
    match e {
        jsonrpsee::core::ClientError::Call(obj) => {
            anyhow::anyhow!("{} (JSON-RPC error {})", obj.message(), obj.code())
        }
        other => anyhow::anyhow!("cannot reach the node: {other}"),
    }
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Runs an `l1` command.
pub fn run(cmd: L1Command) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

/// Gas for `payload`: exact under the default gas schedule (a fixed point:
/// the gas limit's varint is part of the length charged), plus a quarter
/// for a chain with a dearer one. Only the gas used is charged.
fn gas_limit(tx: &Transaction, key: &PrivateKey) -> u64 {
    let params = terrace_l1::ChainParams::default();
    let mut t = tx.clone();
    for _ in 0..4 {
        let len = t.clone().sign(key).encode().len();
        let gas = terrace_l1::tx::intrinsic_gas(&t.payload, len, &params).unwrap_or(u64::MAX / 2);
        if gas == t.gas_limit {
            break;
        }
        t.gas_limit = gas;
    }
    t.gas_limit.saturating_add(t.gas_limit / 4)
}

/// Signs `payload` from `key` with the node's fee suggestion and sends it;
/// returns its id.
pub(crate) async fn submit(c: &Client, key: &PrivateKey, payload: Payload) -> Result<String> {
    let from = Address::from_public_key(&key.public_key());
    let info = c.http.chain_info().await.map_err(rpc)?;
    let account = c
        .http
        .get_account(from.to_string(), None)
        .await
        .map_err(rpc)?;
    let fee = c.http.estimate_fee().await.map_err(rpc)?;
    let mut tx = Transaction {
        chain_id: ChainId(info.chain_id),
        nonce: account.nonce,
        max_fee_per_gas: fee.max_fee_per_gas,
        max_priority_fee_per_gas: fee.max_priority_fee_per_gas,
        gas_limit: 0,
        payload,
    };
    tx.gas_limit = gas_limit(&tx, key);
    let tx = tx.sign(key);
    c.http
        .send_raw_transaction(format!("0x{}", to_hex(&tx.encode())))
        .await
        .map_err(rpc)
}

/// Waits until transaction `hash` is finalized; fails if L1 did not
/// execute it successfully.
pub(crate) async fn wait_finalized(c: &Client, hash: &str) -> Result<TxInfo> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match c.http.get_transaction(hash.to_string()).await {
            Ok(t) if t.receipt.is_some() => return Ok(t),
            _ if std::time::Instant::now() > deadline => {
                bail!("{hash} not finalized within 60 s")
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The chain's block time.
pub(crate) async fn block_time_ms(c: &Client) -> Result<u64> {
    Ok(c.http.chain_info().await.map_err(rpc)?.block_time_ms)
}

/// The receipt's status line: `success` or L1's reason.
pub(crate) fn outcome(t: &TxInfo) -> String {
    t.receipt
        .as_ref()
        .map(|r| r.status.clone())
        .unwrap_or_default()
}

async fn send(c: &Client, key: &PrivateKey, payload: Payload, wait: bool) -> Result<()> {
    let hash = submit(c, key, payload).await?;
    if !wait {
        if c.json {
            print_json(&serde_json::json!({ "hash": hash }))?;
        } else {
            println!("sent {hash}");
        }
        return Ok(());
    }
    let t = wait_finalized(c, &hash).await?;
    if c.json {
        print_json(&t)?;
    } else {
        println!(
            "finalized {hash} in block {} ({}), fee {}",
            t.block_height.unwrap_or(0),
            outcome(&t),
            t.receipt
                .as_ref()
                .map(|r| r.fee)
                .unwrap_or(Amount::ZERO)
                .ter()
        );
    }
    Ok(())
}

async fn run_async(cmd: L1Command) -> Result<()> {
    match cmd {
        L1Command::Status { at } => {
            let c = connect(&at)?;
            let i = c.http.chain_info().await.map_err(rpc)?;
            if c.json {
                return print_json(&i);
            }
            println!("chain id          {}", i.chain_id);
            println!("height            {}", i.height);
            println!(
                "finalized height  {}  {}",
                i.finalized_height, i.finalized_hash
            );
            println!("base fee          {}", per_gas(i.base_fee));
            println!("block time        {} ms", i.block_time_ms);
            println!("epoch             {}", i.epoch);
            println!("pending txs       {}", i.pending_transactions);
            if let Some(h) = i.restored_height {
                println!("restored          from its own store at finalized height {h}");
            }
            println!("committee         {} validators", i.committee.len());
            for m in &i.committee {
                println!("  {}  stake {}", m.address, format_tokens(m.stake));
            }
        }
        L1Command::Balance { account, proof, at } => {
            let c = connect(&at)?;
            let a = c
                .http
                .get_account(resolve(&account)?.to_string(), Some(proof))
                .await
                .map_err(rpc)?;
            if c.json {
                return print_json(&a);
            }
            println!("address   {}", a.address);
            println!(
                "balance   {} ({} aTER)",
                format_tokens(a.balance),
                a.balance
            );
            println!("nonce     {}", a.nonce);
            if let Some(s) = a.stake {
                println!("stake     {}", format_tokens(s));
            }
            println!("at block  {} (state root {})", a.height, a.state_root);
            if let Some(p) = a.proof {
                println!("proof     {p}");
            }
        }
        L1Command::Send {
            from,
            to,
            amount,
            wait,
            at,
        } => {
            let payload = Payload::Transfer {
                to: resolve(&to)?,
                amount: parse_tokens(&amount)?,
            };
            send(&connect(&at)?, &signer(&from)?, payload, wait).await?;
        }
        L1Command::Stake {
            from,
            amount,
            wait,
            at,
        } => {
            let amount = parse_tokens(&amount)?;
            send(
                &connect(&at)?,
                &signer(&from)?,
                Payload::Staking(StakingOp::Stake { amount }),
                wait,
            )
            .await?;
        }
        L1Command::Unstake {
            from,
            amount,
            wait,
            at,
        } => {
            let amount = parse_tokens(&amount)?;
            send(
                &connect(&at)?,
                &signer(&from)?,
                Payload::Staking(StakingOp::Unstake { amount }),
                wait,
            )
            .await?;
        }
        L1Command::Block { id, at } => {
            let c = connect(&at)?;
            let id: BlockId = serde_json::from_value(match id.parse::<u64>() {
                Ok(h) => serde_json::json!(h),
                Err(_) => serde_json::json!(id),
            })
            .context("expected a height, a 0x hash, latest or finalized")?;
            let b = c.http.get_block(id).await.map_err(rpc)?;
            if c.json {
                return print_json(&b);
            }
            println!("block {}  {}", b.height, b.hash);
            println!("  parent      {}", b.parent);
            println!("  time        {} ms", b.timestamp_ms);
            println!("  round       epoch {} view {}", b.epoch, b.view);
            println!("  proposer    {}", b.proposer);
            println!("  state root  {}", b.state_root);
            println!("  base fee    {}", b.base_fee);
            println!("  gas used    {}", b.gas_used);
            println!("  finalized   {}", b.finalized);
            println!("  txs         {}", b.transactions.len());
            for t in &b.transactions {
                println!("    {t}");
            }
        }
        L1Command::Tx { hash, at } => {
            let c = connect(&at)?;
            let t = c.http.get_transaction(hash).await.map_err(rpc)?;
            if c.json {
                return print_json(&t);
            }
            println!("tx {}  ({})", t.hash, t.status);
            println!("  from     {}", t.from);
            println!("  kind     {}", t.kind);
            if let Some(to) = t.to {
                println!("  to       {to}");
            }
            if let Some(a) = t.amount {
                println!("  amount   {}", format_tokens(a));
            }
            println!("  nonce    {}", t.nonce);
            if let (Some(h), Some(r)) = (t.block_height, &t.receipt) {
                println!("  block    {h}");
                println!("  status   {}", r.status);
                println!(
                    "  gas      {} at {}, fee {}",
                    r.gas_used,
                    per_gas(r.effective_gas_price),
                    r.fee.ter()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts_parse_exactly() {
        assert_eq!(parse_tokens("5").unwrap(), Amount(5 * TOKEN));
        assert_eq!(parse_tokens("0.25").unwrap(), Amount(TOKEN / 4));
        assert_eq!(
            parse_tokens("1.000000000000000001").unwrap(),
            Amount(TOKEN + 1)
        );
        assert!(parse_tokens("1.0000000000000000001").is_err());
        assert!(parse_tokens("-1").is_err());
        assert!(parse_tokens("1e3").is_err());
        assert!(parse_tokens("").is_err());
        assert_eq!(format_tokens(Amount(TOKEN / 4)), "0.25 TER");
    }

    #[test]
    fn dev_names_resolve_to_devnet_keys() {
        assert_eq!(
            resolve("dev3").unwrap(),
            Address::from_public_key(&dev_account_key(3).public_key())
        );
        assert!(dev_key("0x00").is_none());
        assert!(dev_key("devx").is_none());
    }
}
