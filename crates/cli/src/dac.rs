//! `terrace dac …`: the validium's data-availability committee — a
//! member as its own process, and what each member stores and signed,
//! over its `dac_*` JSON-RPC.

use crate::{devnet, l1::print_json};
use anyhow::{Context as _, Result, bail};
use commonware_codec::{DecodeExt as _, Encode as _};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};
use terrace_l1::{
    Key, Value,
    modules::validity::{ValidityKey, ValidityRecord, ZkRollup},
};
use terrace_node::rpc::L1ApiClient as _;
use terrace_primitives::{
    PublicKey,
    codec::{from_hex, to_hex},
    keys::Signer as _,
};
use terrace_zkrollup::dac::{self, Member, MemberStatus, MemberView, rpc::DacApiClient as _};

/// `terrace dac` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DacCommand {
    /// Runs one committee member as its own process: reads its validium's
    /// registration from L1, keeps batches' data in `--store` (checked
    /// against their commitments, synced before it signs) and serves
    /// `dac_*` JSON-RPC.
    Member {
        /// The member's key file (a 32-byte hex seed, as `terrace genesis`
        /// writes validator keys).
        #[arg(long, conflicts_with = "dev_member")]
        key_file: Option<PathBuf>,
        /// Use the devnet's dev key of member N (public: devnets only).
        #[arg(long)]
        dev_member: Option<u8>,
        /// The validium's id [default: the newest validium whose committee
        /// has this key].
        #[arg(long)]
        rollup: Option<u64>,
        /// The L1 JSON-RPC URL it reads the registration from, and trusts
        /// (run it against your own node) [default: the local devnet's].
        #[arg(long)]
        l1_rpc: Option<String>,
        /// Directory of its store (created if missing).
        #[arg(long)]
        store: PathBuf,
        /// Address of its `dac_*` JSON-RPC.
        #[arg(long, default_value = "127.0.0.1:9560")]
        rpc: SocketAddr,
        /// The devnet directory to look for `devnet.json` in.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Each member: its key, batches stored (each signed), bytes, the
    /// latest batch, and the commitments it holds for a batch.
    Status {
        /// A member's `dac_*` URL (repeat, in member order) [default: the
        /// local devnet's committee].
        #[arg(long = "dac-rpc")]
        dac_rpcs: Vec<String>,
        /// Also list the commitments each member holds for this batch.
        #[arg(long)]
        batch: Option<u64>,
        /// The devnet directory to look for `devnet.json` in.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// One member as `status` reports it.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    url: String,
    /// Its status, if it answered.
    status: Option<MemberStatus>,
    /// Why it did not answer.
    error: Option<String>,
    /// The commitments it holds for `--batch`.
    versions: Option<Vec<String>>,
}

/// Runs a `dac` command.
pub fn run(cmd: DacCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

async fn run_async(cmd: DacCommand) -> Result<()> {
    match cmd {
        DacCommand::Member {
            key_file,
            dev_member,
            rollup,
            l1_rpc,
            store,
            rpc,
            data_dir,
        } => {
            let key = match (key_file, dev_member) {
                (Some(path), None) => crate::node::read_key_file(&path)?,
                (None, Some(i)) => crate::zkrollup::member_key(i),
                _ => {
                    bail!("give the member's key: --key-file PATH (or --dev-member N on a devnet)")
                }
            };
            let l1_rpc = match l1_rpc {
                Some(url) => url,
                None => devnet::read_info(data_dir.as_deref())?.rpc,
            };
            member(key, rollup, &l1_rpc, store, rpc).await
        }
        DacCommand::Status {
            dac_rpcs,
            batch,
            data_dir,
            json,
        } => status(dac_rpcs, batch, data_dir, json).await,
    }
}

/// Runs a member until Ctrl-C.
async fn member(
    key: terrace_primitives::PrivateKey,
    rollup: Option<u64>,
    l1_rpc: &str,
    store: PathBuf,
    rpc: SocketAddr,
) -> Result<()> {
    let l1 = HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(10))
        .build(l1_rpc)?;
    let public = key.public_key();
    let (id, record) = match rollup {
        Some(id) => (
            id,
            zk_record(&l1, id)
                .await?
                .with_context(|| format!("L1 has no zk-rollup {id}"))?,
        ),
        None => find_committee(&l1, &public).await?,
    };
    let view =
        MemberView::new(&record, &public).with_context(|| format!("zk-rollup {id} on {l1_rpc}"))?;
    let (index, (members, threshold)) = (view.member, view.committee);
    let member = Member::open(&store, key, view)?;
    let status = member.status();
    let (bound, handle) = dac::rpc::serve(rpc, Arc::new(Mutex::new(member)))
        .await
        .with_context(|| format!("cannot serve dac JSON-RPC on {rpc}"))?;
    println!(
        "member {index} of {members} (threshold {threshold}) of validium {id}, key 0x{}",
        to_hex(public.as_ref())
    );
    println!(
        "store      {} ({} batches, {} bytes{})",
        store.display(),
        status.batches,
        status.bytes,
        if status.set_aside > 0 {
            format!(", {} files set aside", status.set_aside)
        } else {
            String::new()
        }
    );
    println!("dac RPC    http://{bound}");
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
        () = handle.clone().stopped() => bail!("the dac JSON-RPC server stopped"),
    }
    let _ = handle.stop();
    Ok(())
}

/// Zk-rollup `id`'s record on L1, read with `l1_getRecord`.
pub(crate) async fn zk_record(l1: &HttpClient, id: u64) -> Result<Option<ZkRollup>> {
    match record(l1, ValidityKey::Rollup(id).into()).await? {
        None => Ok(None),
        Some(Value::Validity(ValidityRecord::Rollup(r))) => Ok(Some(*r)),
        Some(_) => bail!("L1 answered zk-rollup {id} with another kind of record"),
    }
}

/// The record under `key` at L1's finalized tip.
async fn record(l1: &HttpClient, key: Key) -> Result<Option<Value>> {
    let info = l1
        .get_record(format!("0x{}", to_hex(&key.encode())), None)
        .await
        .context("reading L1 state (l1_getRecord)")?;
    let Some(hex) = info.value else {
        return Ok(None);
    };
    let bytes = from_hex(&hex).context("L1 sent a record that is not hex")?;
    Ok(Some(
        Value::decode(commonware_codec::Copying(&bytes))
            .context("L1 sent a record that does not decode")?,
    ))
}

/// The newest validium whose committee has `key`.
async fn find_committee(l1: &HttpClient, key: &PublicKey) -> Result<(u64, ZkRollup)> {
    let count = match record(l1, ValidityKey::RollupCount.into()).await? {
        Some(Value::Validity(ValidityRecord::RollupCount(n))) => n,
        None => 0,
        Some(_) => bail!("L1 answered the zk-rollup count with another kind of record"),
    };
    for id in (0..count).rev() {
        if let Some(r) = zk_record(l1, id).await?
            && MemberView::new(&r, key).is_ok()
        {
            return Ok((id, r));
        }
    }
    bail!(
        "no validium on L1 has 0x{} in its committee ({count} zk-rollups registered)",
        to_hex(key.as_ref())
    )
}

async fn status(
    dac_rpcs: Vec<String>,
    batch: Option<u64>,
    data_dir: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let urls = if dac_rpcs.is_empty() {
        devnet::read_info(data_dir.as_deref())?.dac_rpcs
    } else {
        dac_rpcs
    };
    if urls.is_empty() {
        bail!(
            "no committee: this devnet runs no validium (start it with --fresh), or pass --dac-rpc"
        );
    }
    let mut reports = Vec::new();
    for url in urls {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(&url)?;
        let status = client.status().await.map_err(|e| e.to_string());
        let versions = match batch {
            Some(b) if status.is_ok() => client.versions(b).await.ok(),
            _ => None,
        };
        let (status, error) = match status {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e)),
        };
        reports.push(Report {
            url,
            status,
            error,
            versions,
        });
    }
    if json {
        return print_json(&reports);
    }
    for r in &reports {
        match &r.status {
            Some(s) => {
                println!(
                    "member {} of {} (threshold {})  {}",
                    s.member, s.members, s.threshold, r.url
                );
                println!("  key         {}", s.key);
                println!(
                    "  stored      {} batches, {} bytes, each signed (latest batch {})",
                    s.batches,
                    s.bytes,
                    s.latest.map_or("none".into(), |l| l.to_string())
                );
                if s.set_aside > 0 {
                    println!(
                        "  set aside   {} files that did not match their commitment",
                        s.set_aside
                    );
                }
                if let (Some(b), Some(v)) = (batch, &r.versions) {
                    if v.is_empty() {
                        println!("  batch {b}     not held");
                    }
                    for c in v {
                        println!("  batch {b}     commitment {c}");
                    }
                }
            }
            None => println!(
                "member at {}: unavailable ({})",
                r.url,
                r.error.as_deref().unwrap_or("no answer")
            ),
        }
    }
    Ok(())
}
