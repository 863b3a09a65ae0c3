//! `terrace dac …`: the validium's data-availability committee — what
//! each member stores and signed, over its `dac_*` JSON-RPC.

use crate::{devnet, l1::print_json};
use anyhow::{Result, bail};
use jsonrpsee::http_client::HttpClientBuilder;
use std::{path::PathBuf, time::Duration};
use terrace_zkrollup::dac::{MemberStatus, rpc::DacApiClient as _};

/// `terrace dac` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DacCommand {
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
    /// Its status, or why it did not answer.
    status: Result<MemberStatus, String>,
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
    let DacCommand::Status {
        dac_rpcs,
        batch,
        data_dir,
        json,
    } = cmd;
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
        reports.push(Report {
            url,
            status,
            versions,
        });
    }
    if json {
        return print_json(&reports);
    }
    for r in &reports {
        match &r.status {
            Ok(s) => {
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
            Err(e) => println!("member at {}: unavailable ({e})", r.url),
        }
    }
    Ok(())
}
