//! `terrace zk …`: use the devnet's zk-rollup. Deposits, forced exits,
//! claims, freezes and exodus exits are L1 transactions (over L1
//! JSON-RPC); transfers and withdrawals are signed with the account's Baby
//! Jubjub key and sent to the operator (over `zk_*` JSON-RPC), confirmed
//! at once and final when their batch's proof lands on L1.
//!
//! A dev account's L2 key is derived from its L1 seed; `--l2-secret` takes
//! any other (a circomlibjs private key works as is).

use crate::{
    devnet,
    l1::{self, Client, format_tokens, parse_tokens, print_json, rpc},
};
use anyhow::{Context as _, Result, bail};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::{path::PathBuf, time::Duration};
use terrace_l1::{
    Payload,
    modules::validity::{UNIT, ValidityOp, ZkExit, ZkOp},
};
use terrace_primitives::{
    Address, Amount,
    codec::{decode_bounded, from_hex, to_hex},
    hash_tagged,
    keys::private_key_seed,
};
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, SecretKey},
    fr_from_le,
    ops::{Transfer, Withdraw, code, exit_message},
};
use terrace_zkrollup::rpc::{
    AccountInfo, ExitProofInfo, StatusInfo, TransferRequest, WithdrawRequest, ZkApiClient as _,
};

/// Where the zk-rollup and its L1 are.
#[derive(clap::Args, Debug, Clone)]
pub struct Endpoints {
    /// Which of the devnet's rollups: `zk` (data on L1) or `validium`
    /// (data with its committee).
    #[arg(long, env = "TERRACE_ZK_ROLLUP", default_value = "zk")]
    pub rollup: String,
    /// `zk_*` JSON-RPC URL of the operator [default: the local devnet's
    /// for `--rollup`, else http://127.0.0.1:9547, or :9549 for the
    /// validium].
    #[arg(long, env = "TERRACE_ZK_RPC")]
    pub zk_rpc: Option<String>,
    /// L1 endpoint, devnet directory and output format.
    #[command(flatten)]
    pub l1: l1::Endpoint,
}

/// Whose L2 key signs.
#[derive(clap::Args, Debug, Clone)]
pub struct L2Key {
    /// The L2 secret (0x hex, any length; e.g. a circomlibjs private key)
    /// instead of the one derived from the `--from` dev key.
    #[arg(long, env = "TERRACE_ZK_SECRET")]
    pub l2_secret: Option<String>,
}

/// `terrace zk` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ZkCommand {
    /// The rollup: proven root and batches, the inbox, the escrow.
    Status {
        #[command(flatten)]
        at: Endpoints,
    },
    /// A dev account's L2 public key (what others send to).
    Key {
        /// `devN`.
        name: String,
        #[command(flatten)]
        key: L2Key,
    },
    /// Lock L1 funds for an L2 key (an L1 transaction; the operator
    /// credits it in its next batch).
    Deposit {
        /// Depositor: `devN`, or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Amount in TER (whole nano-TER).
        #[arg(long)]
        amount: String,
        /// L2 recipient: `devN` or a 0x packed key [default: the depositor's].
        #[arg(long)]
        to: Option<String>,
        /// Wait until the operator has credited it.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Transfer on L2 to anyone's key (their account, or a new one).
    Send {
        /// Sender: `devN`, or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Recipient: `devN` or a 0x packed key.
        #[arg(long)]
        to: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// Wait until its batch's proof is on L1 (final).
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// An account: the operator's soft balance and the proven one.
    Balance {
        /// `devN`, a 0x packed key, or an account index.
        account: String,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Leave L2: claimable on L1 as soon as its batch's proof lands.
    Withdraw {
        /// Sender: `devN`, or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// L1 recipient: `devN` or an address [default: the sender's].
        #[arg(long)]
        to: Option<String>,
        /// Wait until its batch is proven, then claim it.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Claim every unclaimed withdrawal to an L1 address.
    Claim {
        /// Who sends (and pays the L1 fee for) the claims: `devN`.
        #[arg(long)]
        from: String,
        /// The recipient whose withdrawals to claim [default: `--from`'s].
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Ask L1 to make the operator withdraw an account's whole balance: if
    /// it does not within the inbox deadline, anyone may freeze the rollup.
    ForcedExit {
        /// The account's owner: `devN` (sends the L1 transaction).
        #[arg(long)]
        from: String,
        /// L1 recipient [default: the sender's].
        #[arg(long)]
        to: Option<String>,
        /// A number never used for this account's forced exits.
        #[arg(long, default_value_t = 1)]
        serial: u64,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Freeze a stalled rollup (no batch for its exodus delay, or an inbox
    /// entry past its deadline): then everyone exits with a Merkle proof.
    Freeze {
        /// Who sends it: `devN`.
        #[arg(long)]
        from: String,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Exodus: take an account's last proven balance out of a frozen
    /// rollup, with its Merkle proof, signed by its key.
    Exit {
        /// The account's owner: `devN`.
        #[arg(long)]
        from: String,
        /// L1 recipient [default: the sender's].
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        key: L2Key,
        #[command(flatten)]
        at: Endpoints,
    },
    /// The last proven batches.
    Batches {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Write the verification key registered on L1 as snarkjs's
    /// `verification_key.json`.
    ExportVk {
        /// Batch size [default: the rollup's first].
        #[arg(long)]
        slots: Option<u32>,
        /// Output file.
        #[arg(long, default_value = "verification_key.json")]
        out: PathBuf,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Write a proven batch's proof and public signals as snarkjs's
    /// `proof.json` and `public.json` (with `verification_key.json`), so
    /// `snarkjs groth16 verify verification_key.json public.json
    /// proof.json` checks what L1 checked.
    Proof {
        /// Batch index.
        batch: u64,
        /// Output directory.
        #[arg(long, default_value = ".")]
        out: PathBuf,
        #[command(flatten)]
        at: Endpoints,
    },
}

struct Zk {
    zk: HttpClient,
    l1: Client,
    json: bool,
}

fn connect(at: &Endpoints) -> Result<Zk> {
    let (from_info, fallback): (fn(devnet::DevnetInfo) -> Option<String>, &str) =
        match at.rollup.as_str() {
            "zk" => (|i| i.zk_rpc, "http://127.0.0.1:9547"),
            "validium" => (|i| i.validium_rpc, "http://127.0.0.1:9549"),
            other => bail!("no rollup named {other:?}: the devnet runs `zk` and `validium`"),
        };
    let url = match &at.zk_rpc {
        Some(u) => u.clone(),
        None => match devnet::read_info(at.l1.data_dir.as_deref()) {
            Ok(i) => from_info(i).with_context(|| {
                format!(
                    "this devnet runs no {} (started with --no-zk, or before it existed: start with --fresh)",
                    at.rollup
                )
            })?,
            Err(_) => fallback.into(),
        },
    };
    Ok(Zk {
        zk: HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(&url)
            .with_context(|| format!("bad RPC URL {url}"))?,
        l1: l1::connect(&at.l1)?,
        json: at.l1.json,
    })
}

/// Runs a `zk` command.
pub fn run(cmd: ZkCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

/// The L2 secret of `name` (a dev key) or the one given.
fn secret(name: &str, key: &L2Key) -> Result<SecretKey> {
    if let Some(s) = &key.l2_secret {
        let bytes = from_hex(s).context("--l2-secret: not hex")?;
        if bytes.is_empty() {
            bail!("--l2-secret is empty");
        }
        return Ok(SecretKey::from_bytes(&bytes));
    }
    let seed = private_key_seed(&l1::signer(name)?);
    Ok(SecretKey::from_bytes(
        &hash_tagged(b"terrace/dev/zk-key", &[&seed.0]).0,
    ))
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", to_hex(bytes))
}

/// The packed key a name refers to: `devN` or 0x hex.
fn public_key(name: &str) -> Result<PublicKey> {
    if name.starts_with("0x") {
        let bytes: [u8; 32] = from_hex(name)
            .and_then(|b| b.try_into().ok())
            .context("a packed key is 0x and 32 bytes")?;
        return PublicKey::unpack(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"));
    }
    Ok(secret(name, &L2Key { l2_secret: None })?.public())
}

/// TER as whole L2 units (nano-TER).
fn units(amount: &str) -> Result<u64> {
    let a = parse_tokens(amount)?;
    if !a.0.is_multiple_of(UNIT) {
        bail!("{amount} TER is not a whole number of nano-TER (the zk-rollup's unit)");
    }
    u64::try_from(a.0 / UNIT).context("amount too large for the zk-rollup")
}

fn ter(units: u64) -> String {
    format_tokens(Amount(u128::from(units) * UNIT))
}

fn parse_units(s: &str) -> u64 {
    s.parse().unwrap_or_default()
}

async fn status(z: &Zk) -> Result<StatusInfo> {
    z.zk.status().await.map_err(rpc)
}

fn domain(s: &StatusInfo) -> Result<Fr> {
    from_hex(&s.domain)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| fr_from_le(&b))
        .context("the node's domain is not a field element")
}

async fn account_of(z: &Zk, key: &PublicKey, who: &str) -> Result<AccountInfo> {
    z.zk.get_account(hex(&key.pack())).await.map_err(|e| {
        let e = rpc(e);
        anyhow::anyhow!("{e}; deposit first: terrace zk deposit --from {who} --amount 1 --wait")
    })
}

/// Where the CLI keeps the user's own copy of the exit proof of the
/// account with packed key `key` (`0x` hex) on zk-rollup `rollup`:
/// `<data dir>/zk-copies/<rollup>/<key>.json`.
fn copy_path(at: &Endpoints, rollup: u64, key: &str) -> Result<PathBuf> {
    let dir = match &at.l1.data_dir {
        Some(d) => d.clone(),
        None => devnet::default_dir()?,
    };
    let key = key.strip_prefix("0x").unwrap_or(key).to_ascii_lowercase();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("not a packed key: {key:?}");
    }
    Ok(dir
        .join("zk-copies")
        .join(rollup.to_string())
        .join(format!("{key}.json")))
}

/// The user's copy at `path`, if kept.
fn read_copy(path: &std::path::Path) -> Result<Option<ExitProofInfo>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{}: not an exit proof", path.display())
            })?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// L1's last proven root of zk-rollup `rollup` (`0x` hex, as the zk
/// JSON-RPC writes roots).
async fn root_on_l1(z: &Zk, rollup: u64) -> Result<String> {
    let record = crate::dac::zk_record(&z.l1.http, rollup)
        .await?
        .with_context(|| format!("L1 has no zk-rollup {rollup}"))?;
    Ok(hex(&record.root))
}

/// Keeps the user's own copy of `account`'s exit proof, when the node's
/// is against L1's last proven root (a lagging node never replaces a good
/// copy), so that `terrace zk exit` works even if nobody serves the
/// rollup's data any more (a validium whose committee lost it). A copy
/// helps only while its root is L1's last: a batch landed after it, whose
/// data nobody serves, leaves it behind. Best effort: a failure is a
/// warning, never the command's.
async fn keep_copy(z: &Zk, at: &Endpoints, rollup: u64, account: u32) {
    let kept = async {
        let p = z.zk.get_exit_proof(account).await.map_err(rpc)?;
        if !p.root.eq_ignore_ascii_case(&root_on_l1(z, rollup).await?) {
            return anyhow::Ok(());
        }
        let path = copy_path(at, rollup, &p.public_key)?;
        let dir = path.parent().context("a copy's path has a directory")?;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(&p)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    };
    if let Err(e) = kept.await {
        eprintln!("warning: your copy of account {account}'s exit proof was not updated: {e:#}");
    }
}

/// The exit proof of `account` (packed key `key`) against L1's last
/// proven root: the node's if it is against that root, else the user's
/// own copy if that is; an error naming the roots when neither is.
async fn exit_proof(
    z: &Zk,
    at: &Endpoints,
    rollup: u64,
    account: u32,
    key: &str,
) -> Result<ExitProofInfo> {
    let on_l1 = root_on_l1(z, rollup).await?;
    let same = |root: &str| root.eq_ignore_ascii_case(&on_l1);
    let node = z.zk.get_exit_proof(account).await.map_err(rpc);
    if let Ok(p) = &node
        && same(&p.root)
    {
        return Ok(p.clone());
    }
    let path = copy_path(at, rollup, key)?;
    let copy = read_copy(&path)?;
    if let Some(c) = copy
        .as_ref()
        .filter(|c| same(&c.root) && c.account == account)
    {
        eprintln!(
            "the node has no proof against L1's root {on_l1}; exiting with your own copy ({})",
            path.display()
        );
        return Ok(c.clone());
    }
    bail!(
        "no exit proof of account {account} against L1's last proven root {on_l1}: the node's is {}, your copy ({}) is {} — the data behind that root is not available to you",
        match &node {
            Ok(p) => format!("against {}", p.root),
            Err(e) => format!("unavailable ({e})"),
        },
        path.display(),
        copy.map_or("absent".into(), |c| format!("against {}", c.root)),
    )
}

async fn send_l1(z: &Zk, from: &str, rollup: u64, op: ZkOp) -> Result<(String, u64)> {
    let key = l1::signer(from)?;
    let hash = l1::submit(
        &z.l1,
        &key,
        Payload::Validity(ValidityOp::Rollup { rollup, op }),
    )
    .await?;
    let t = l1::wait_finalized(&z.l1, &hash).await?;
    let outcome = l1::outcome(&t);
    if outcome != "success" {
        bail!("L1 refused {hash}: {outcome}");
    }
    Ok((hash, t.block_height.unwrap_or_default()))
}

/// Waits until operation `id` is final; prints its stages.
async fn wait_final(z: &Zk, id: &str) -> Result<u64> {
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let mut said = String::new();
    loop {
        let r = z.zk.get_receipt(id.to_string()).await.map_err(rpc)?;
        match r.stage.as_str() {
            "final" => return Ok(r.batch.unwrap_or_default()),
            "dropped" => bail!("operation {id} was dropped: its batch failed on L1"),
            _ => {}
        }
        if std::time::Instant::now() > deadline {
            bail!("operation {id} not final within 10 minutes");
        }
        if !z.json && r.stage != said {
            said = r.stage.clone();
            match r.batch {
                Some(b) => println!("{id}: in batch {b}, being proven and posted"),
                None => println!("{id}: queued for the next batch"),
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Claims every unclaimed withdrawal to `to`; returns how many.
async fn claim_all(z: &Zk, from: &str, to: Address, rollup: u64) -> Result<usize> {
    let list = z.zk.get_withdrawals(to).await.map_err(rpc)?;
    let mut claimed = 0;
    for w in list.iter().filter(|w| !w.claimed) {
        let bytes = from_hex(&w.claim_op).context("claim not hex")?;
        let op: ZkOp =
            decode_bounded(&bytes, 64 * 1024, &()).context("the node's claim does not decode")?;
        let (hash, height) = send_l1(z, from, rollup, op).await?;
        claimed += 1;
        wait_seen_claimed(z, to, w.batch, w.slot).await?;
        if !z.json {
            println!(
                "claimed {} to {to} (batch {} slot {}): {hash}, L1 block {height}",
                ter(parse_units(&w.amount)),
                w.batch,
                w.slot
            );
        }
    }
    Ok(claimed)
}

/// Waits until the node has followed the L1 block that paid a claim, so
/// that what it says next (`zk claim`, `zk_getWithdrawals`) agrees with L1:
/// it follows finalized blocks a poll behind the L1 node.
async fn wait_seen_claimed(z: &Zk, to: Address, batch: u64, slot: u32) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = z.zk.get_withdrawals(to).await.map_err(rpc)?;
        if list
            .iter()
            .any(|w| w.batch == batch && w.slot == slot && w.claimed)
        {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            bail!(
                "the claim of batch {batch} slot {slot} paid on L1, but the node has not seen it within a minute"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn address(name: Option<&str>, default: &str) -> Result<Address> {
    l1::resolve(name.unwrap_or(default))
}

async fn run_async(cmd: ZkCommand) -> Result<()> {
    match cmd {
        ZkCommand::Status { at } => {
            let z = connect(&at)?;
            let s = status(&z).await?;
            if z.json {
                return print_json(&s);
            }
            println!("zk-rollup {}  (operator {})", s.rollup, s.operator);
            println!("  proven root    {}", s.root);
            println!(
                "  batches        {} proven, {} in flight, {} operations queued",
                s.batches, s.pending_batches, s.queued
            );
            println!(
                "  inbox          {} entries, {} consumed",
                s.inbox, s.inbox_consumed
            );
            println!(
                "  escrow         {}",
                format_tokens(Amount(s.escrow.parse().unwrap_or_default()))
            );
            println!(
                "  tree           depth {} ({} accounts proven); batch sizes {:?}",
                s.depth, s.accounts, s.batch_sizes
            );
            match s.frozen_at {
                Some(h) => println!("  FROZEN at L1 block {h}: exit with `terrace zk exit`"),
                None => println!(
                    "  exodus         if no batch lands for {} L1 blocks (last at {})",
                    s.exodus_after_blocks, s.last_batch_height
                ),
            }
        }
        ZkCommand::Key { name, key } => {
            let pk = secret(&name, &key)?.public();
            println!("{}", hex(&pk.pack()));
        }
        ZkCommand::Deposit {
            from,
            amount,
            to,
            wait,
            key,
            at,
        } => {
            let z = connect(&at)?;
            let recipient = match &to {
                Some(t) => public_key(t)?,
                None => secret(&from, &key)?.public(),
            };
            let units = units(&amount)?;
            let s = status(&z).await?;
            let before =
                z.zk.get_account(hex(&recipient.pack()))
                    .await
                    .map(|a| parse_units(&a.balance))
                    .unwrap_or(0);
            let op = ZkOp::Deposit {
                key: recipient.pack(),
                amount: Amount(u128::from(units) * UNIT),
            };
            let (hash, height) = send_l1(&z, &from, s.rollup, op).await?;
            if !wait {
                if z.json {
                    return print_json(&serde_json::json!({ "l1Tx": hash }));
                }
                println!(
                    "deposited {} in L1 block {height} ({hash}); the operator credits it in its next batch",
                    ter(units)
                );
                return Ok(());
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            let credited = loop {
                if let Ok(a) = z.zk.get_account(hex(&recipient.pack())).await
                    && parse_units(&a.balance) >= before + units
                {
                    break a;
                }
                if std::time::Instant::now() > deadline {
                    bail!("deposit {hash} is on L1 but not credited on L2 within 2 minutes");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            if credited.proven_balance.is_some() {
                keep_copy(&z, &at, s.rollup, credited.index).await;
            }
            if z.json {
                return print_json(&serde_json::json!({ "l1Tx": hash, "account": credited }));
            }
            println!(
                "deposited {}: L1 block {height}, L2 account {} now holds {} (soft)",
                ter(units),
                credited.index,
                ter(parse_units(&credited.balance))
            );
        }
        ZkCommand::Send {
            from,
            to,
            amount,
            wait,
            key,
            at,
        } => {
            let z = connect(&at)?;
            let sk = secret(&from, &key)?;
            let s = status(&z).await?;
            let sender = account_of(&z, &sk.public(), &from).await?;
            let t = Transfer::sign(
                &sk,
                domain(&s)?,
                sender.index,
                public_key(&to)?,
                units(&amount)?,
                sender.nonce,
            );
            let soft =
                z.zk.send_transfer(TransferRequest::new(&t))
                    .await
                    .map_err(rpc)?;
            if !wait {
                if z.json {
                    return print_json(&soft);
                }
                println!(
                    "confirmed (soft) {}: account {} nonce {}",
                    soft.id, soft.account, soft.nonce
                );
                return Ok(());
            }
            let batch = wait_final(&z, &soft.id).await?;
            keep_copy(&z, &at, s.rollup, sender.index).await;
            if z.json {
                return print_json(&serde_json::json!({ "id": soft.id, "batch": batch }));
            }
            println!("final: {} is in batch {batch}, proven on L1", soft.id);
        }
        ZkCommand::Balance { account, key, at } => {
            let z = connect(&at)?;
            let arg = if account.parse::<u32>().is_ok() || account.starts_with("0x") {
                account.clone()
            } else {
                hex(&secret(&account, &key)?.public().pack())
            };
            let a = z.zk.get_account(arg).await.map_err(rpc)?;
            if a.proven_balance.is_some() {
                let s = status(&z).await?;
                keep_copy(&z, &at, s.rollup, a.index).await;
            }
            if z.json {
                return print_json(&a);
            }
            println!(
                "account {}: {} ({}), nonce {}; proven on L1: {}",
                a.index,
                ter(parse_units(&a.balance)),
                a.view,
                a.nonce,
                a.proven_balance
                    .as_deref()
                    .map_or("not yet".into(), |b| ter(parse_units(b)))
            );
        }
        ZkCommand::Withdraw {
            from,
            amount,
            to,
            wait,
            key,
            at,
        } => {
            let z = connect(&at)?;
            let sk = secret(&from, &key)?;
            let s = status(&z).await?;
            let sender = account_of(&z, &sk.public(), &from).await?;
            let recipient = address(to.as_deref(), &from)?;
            let w = Withdraw::sign(
                &sk,
                domain(&s)?,
                sender.index,
                recipient.0,
                units(&amount)?,
                sender.nonce,
            );
            let soft =
                z.zk.send_withdrawal(WithdrawRequest::new(&w))
                    .await
                    .map_err(rpc)?;
            if !wait {
                if z.json {
                    return print_json(&soft);
                }
                println!(
                    "confirmed (soft) {}; claim it once its batch is proven: terrace zk claim --from {from}",
                    soft.id
                );
                return Ok(());
            }
            wait_final(&z, &soft.id).await?;
            keep_copy(&z, &at, s.rollup, sender.index).await;
            let n = claim_all(&z, &from, recipient, s.rollup).await?;
            if z.json {
                return print_json(&serde_json::json!({ "id": soft.id, "claimed": n }));
            }
        }
        ZkCommand::Claim { from, to, at } => {
            let z = connect(&at)?;
            let s = status(&z).await?;
            let to = address(to.as_deref(), &from)?;
            let n = claim_all(&z, &from, to, s.rollup).await?;
            if z.json {
                return print_json(&serde_json::json!({ "claimed": n }));
            }
            if n == 0 {
                println!(
                    "nothing to claim for {to} (withdrawals are claimable once their batch is proven)"
                );
            }
        }
        ZkCommand::ForcedExit {
            from,
            to,
            serial,
            key,
            at,
        } => {
            let z = connect(&at)?;
            let sk = secret(&from, &key)?;
            let s = status(&z).await?;
            let acc = account_of(&z, &sk.public(), &from).await?;
            let to = address(to.as_deref(), &from)?;
            let message = exit_message(domain(&s)?, code::FORCED_EXIT, acc.index, serial, &to.0);
            let op = ZkOp::ForcedExit {
                account: acc.index,
                serial,
                key: sk.public().pack(),
                to,
                signature: sk.sign(message).pack(),
            };
            let (hash, height) = send_l1(&z, &from, s.rollup, op).await?;
            if z.json {
                return print_json(&serde_json::json!({ "l1Tx": hash }));
            }
            println!(
                "forced exit of account {} queued in L1 block {height} ({hash}); claim it once proven, or freeze the rollup if it is not",
                acc.index
            );
        }
        ZkCommand::Freeze { from, at } => {
            let z = connect(&at)?;
            let s = status(&z).await?;
            let (hash, height) = send_l1(&z, &from, s.rollup, ZkOp::Freeze).await?;
            if z.json {
                return print_json(&serde_json::json!({ "l1Tx": hash }));
            }
            println!("frozen at L1 block {height} ({hash}): accounts exit with `terrace zk exit`");
        }
        ZkCommand::Exit { from, to, key, at } => {
            let z = connect(&at)?;
            let sk = secret(&from, &key)?;
            let s = status(&z).await?;
            let key = hex(&sk.public().pack());
            // The node may not know the account (a validium whose data it
            // never got): the user's own copy names it.
            let index = match account_of(&z, &sk.public(), &from).await {
                Ok(a) => a.index,
                Err(e) => read_copy(&copy_path(&at, s.rollup, &key)?)?
                    .map(|c| c.account)
                    .ok_or(e)?,
            };
            let to = address(to.as_deref(), &from)?;
            let p = exit_proof(&z, &at, s.rollup, index, &key).await?;
            let felt = |h: &String| -> Result<[u8; 32]> {
                from_hex(h)
                    .and_then(|b| b.try_into().ok())
                    .context("exit proof: bad sibling")
            };
            let message = exit_message(domain(&s)?, code::EXODUS, index, 0, &to.0);
            let exit = ZkExit {
                account: index,
                key: sk.public().pack(),
                balance: p.balance.parse().context("exit proof: bad balance")?,
                nonce: p.nonce,
                path: p.path.iter().map(felt).collect::<Result<_>>()?,
                to,
                signature: sk.sign(message).pack(),
            };
            let balance = exit.balance;
            let (hash, height) = send_l1(&z, &from, s.rollup, ZkOp::Exit(Box::new(exit))).await?;
            if z.json {
                return print_json(&serde_json::json!({ "l1Tx": hash }));
            }
            println!(
                "exited account {} with {} to {to}: L1 block {height} ({hash})",
                index,
                ter(balance)
            );
        }
        ZkCommand::Batches { limit, at } => {
            let z = connect(&at)?;
            let list = z.zk.get_batches(Some(limit)).await.map_err(rpc)?;
            if z.json {
                return print_json(&list);
            }
            println!(
                "{:>6}  {:>5}  {:>4}  {:>6}  {:>8}  {:>9}  root",
                "batch", "slots", "ops", "bytes", "on L1", "L1 block"
            );
            for b in list {
                println!(
                    "{:>6}  {:>5}  {:>4}  {:>6}  {:>8}  {:>9}  {}",
                    b.index, b.slots, b.ops, b.data_bytes, b.posted_bytes, b.l1_height, b.root
                );
            }
        }
        ZkCommand::ExportVk { slots, out, at } => {
            let z = connect(&at)?;
            let slots = match slots {
                Some(s) => s,
                None => *status(&z).await?.batch_sizes.first().context("no keys")?,
            };
            let vk = z.zk.get_verification_key(slots).await.map_err(rpc)?;
            std::fs::write(&out, serde_json::to_string_pretty(&vk)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("wrote {} (batches of {slots})", out.display());
        }
        ZkCommand::Proof { batch, out, at } => {
            let z = connect(&at)?;
            let p = z.zk.get_proof(batch).await.map_err(rpc)?;
            let vk = z.zk.get_verification_key(p.slots).await.map_err(rpc)?;
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            for (name, v) in [
                ("proof.json", &p.proof),
                ("public.json", &p.public_signals),
                ("verification_key.json", &vk),
            ] {
                let path = out.join(name);
                std::fs::write(&path, serde_json::to_string_pretty(v)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!(
                "wrote proof.json, public.json and verification_key.json of batch {batch} to {}\ncheck: snarkjs groth16 verify {0}/verification_key.json {0}/public.json {0}/proof.json",
                out.display()
            );
        }
    }
    Ok(())
}
