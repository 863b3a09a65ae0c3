//! The `terrace` binary: the devnet, L1 commands over JSON-RPC, keys,
//! genesis and benchmarks, and L2 commands over the rollup's JSON-RPC.

mod bench;
mod dac;
mod devnet;
mod genesis;
mod keystore;
mod l1;
mod l2;
mod lab;
mod metrics;
mod node;
mod rollup;
mod scenario;
mod telemetry;
mod zk;
mod zkrollup;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use terrace_lab::wall_clock::{l1 as bench_l1, sequencer, stf};
use terrace_primitives::{codec::to_hex, keys::private_key_seed};

#[derive(Parser, Debug)]
#[command(
    name = "terrace",
    version,
    about = "Terrace: a layered blockchain and a lab for comparing scaling designs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Read keystore passwords from this file (first line) instead of
    /// TERRACE_PASSWORD or a prompt: for `--from` a keystore key, and
    /// `terrace keys`.
    #[arg(long, global = true, env = "TERRACE_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a local network: N validators on 127.0.0.1 with JSON-RPC.
    Devnet(devnet::DevnetArgs),
    /// Run one validator as its own process (see `terrace genesis network`).
    Node(node::NodeArgs),
    /// Talk to an L1 node: balances, transfers, blocks, transactions.
    #[command(subcommand)]
    L1(l1::L1Command),
    /// Use the devnet's optimistic rollup: deposit, transfer, withdraw, claim.
    #[command(subcommand)]
    L2(l2::L2Command),
    /// Use the devnet's zk-rollup or validium (`--rollup`): deposit, send,
    /// withdraw, claim, exit, and export its proofs for snarkjs.
    #[command(subcommand)]
    Zk(zk::ZkCommand),
    /// The validium's data-availability committee: what each member
    /// stores and signed.
    #[command(subcommand)]
    Dac(dac::DacCommand),
    /// Manage encrypted keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Create genesis files.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Measure the real code. Without a subcommand: the lab, every design
    /// on one workload (see the README).
    Bench(BenchArgs),
    /// Play adversarial scenarios in deterministic simulation and judge
    /// each against its design's trust model.
    #[command(subcommand)]
    Scenario(scenario::ScenarioCommand),
}

#[derive(clap::Args, Debug)]
struct KeystoreArgs {
    /// Key directory [default: $TERRACE_KEYSTORE, $TERRACE_HOME/keystore,
    /// or ~/.terrace/keystore].
    #[arg(long)]
    keystore: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Generate a key and store it encrypted.
    New {
        #[command(flatten)]
        store: KeystoreArgs,
        /// A name for `--from` and `--to` (else only its address names it).
        #[arg(long)]
        name: Option<String>,
        /// Cheap key derivation: for throwaway test keys only.
        #[arg(long, hide = true)]
        insecure_fast_kdf: bool,
    },
    /// List stored keys (addresses only).
    List {
        #[command(flatten)]
        store: KeystoreArgs,
    },
    /// Show a stored key's public key; the secret only with --reveal-secret.
    Show {
        /// The key's name or address.
        key: String,
        #[command(flatten)]
        store: KeystoreArgs,
        /// Decrypt and print the secret seed.
        #[arg(long)]
        reveal_secret: bool,
    },
}

#[derive(Subcommand, Debug)]
enum GenesisCommand {
    /// Write a devnet genesis with funded dev accounts and validators.
    Init(genesis::InitArgs),
    /// Write the genesis and node configurations of an N-validator network
    /// of separate `terrace node` processes.
    Network(genesis::NetworkArgs),
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchArgs {
    #[command(subcommand)]
    command: Option<BenchCommand>,
    #[command(flatten)]
    lab: lab::LabArgs,
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// The L1 state-transition function on blocks of signed transfers (wall clock).
    Stf {
        /// Funded accounts.
        #[arg(long, default_value_t = 100_000)]
        accounts: usize,
        /// Transfers per block.
        #[arg(long, default_value_t = 10_000)]
        block_txs: usize,
        /// Blocks to execute.
        #[arg(long, default_value_t = 5)]
        blocks: usize,
        /// Worker threads [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// Zipf exponent of the sender distribution.
        #[arg(long, default_value_t = 1.0)]
        zipf: f64,
        /// Workload seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timed repetitions from genesis; the best is reported.
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The optimistic rollup's sequencer and batcher: soft-confirmation
    /// throughput and latency, L1 bytes and gas per transfer (wall clock).
    Sequencer {
        /// L2 accounts.
        #[arg(long, default_value_t = 10_000)]
        accounts: usize,
        /// Signed transfers.
        #[arg(long, default_value_t = 50_000)]
        txs: usize,
        /// Transfers per L2 block.
        #[arg(long, default_value_t = 1_000)]
        block_txs: usize,
        /// Zipf exponent of the sender distribution.
        #[arg(long, default_value_t = 1.0)]
        zipf: f64,
        /// Workload seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The whole node: loopback throughput and finality (wall clock) and
    /// finality in a simulated WAN (virtual clock).
    L1 {
        /// Validators on loopback.
        #[arg(long, default_value_t = 4)]
        validators: u32,
        /// Funded sender accounts.
        #[arg(long, default_value_t = 4_000)]
        accounts: usize,
        /// Transfers in the saturated phase (0 skips it).
        #[arg(long, default_value_t = 60_000)]
        txs: usize,
        /// Transfers per second in the paced phase.
        #[arg(long, default_value_t = 200)]
        paced_rate: u64,
        /// Seconds of the paced phase (0 skips it).
        #[arg(long, default_value_t = 10)]
        paced_seconds: u64,
        /// Block time in ms [default: the chain's, 250].
        #[arg(long)]
        block_time_ms: Option<u64>,
        /// Committee sizes for the simulated-WAN run, comma-separated
        /// (empty skips it).
        #[arg(long, value_delimiter = ',', default_value = "4,16,50")]
        wan_validators: Vec<u32>,
        /// Blocks measured per simulated-WAN run.
        #[arg(long, default_value_t = 20)]
        wan_blocks: u64,
        /// Give every simulated link this one-way delay (ms) instead of
        /// the five-region model.
        #[arg(long)]
        wan_one_way_ms: Option<u64>,
        /// Virtual time of one simulator scheduler turn, in µs. Each
        /// hand-off between tasks costs a turn; the simulator's default of
        /// 1000 adds tens of ms of artificial processing to every block.
        #[arg(long, default_value_t = 10)]
        wan_cycle_us: u64,
        /// Only the simulated WAN.
        #[arg(long)]
        skip_loopback: bool,
        /// Simulation seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON document instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn keystore_dir(arg: &Option<PathBuf>) -> Result<PathBuf> {
    match arg {
        Some(p) => Ok(p.clone()),
        None => keystore::default_dir(),
    }
}

/// Errors print as one line with their causes (`error: …: …`), not as a
/// backtrace, and exit with status 1.
fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    if let Some(path) = cli.password_file {
        keystore::set_password_file(path);
    }
    match cli.command {
        Command::Devnet(args) => devnet::run(args)?,
        Command::Node(args) => node::run(args)?,
        Command::Genesis(GenesisCommand::Network(args)) => genesis::network_command(&args)?,
        Command::L1(cmd) => l1::run(cmd)?,
        Command::L2(cmd) => l2::run(cmd)?,
        Command::Zk(cmd) => zk::run(cmd)?,
        Command::Dac(cmd) => dac::run(cmd)?,
        Command::Keys(KeysCommand::New {
            store,
            name,
            insecure_fast_kdf,
        }) => {
            let dir = keystore_dir(&store.keystore)?;
            if let Some(n) = &name {
                keystore::check_name(n)?;
                if keystore::find(&dir, n)?.is_some() {
                    bail!("a key named {n:?} is already in {}", dir.display());
                }
            }
            let pw = keystore::password(true)?;
            let cost = if insecure_fast_kdf {
                keystore::KdfCost::fast()
            } else {
                keystore::KdfCost::STANDARD
            };
            let key = keystore::generate()?;
            let mut file = keystore::KeyFile::seal(&key, &pw, cost)?;
            file.name = name;
            let path = file.write_to(&dir)?;
            println!("address: {}", file.address);
            println!("file:    {}", path.display());
        }
        Command::Keys(KeysCommand::List { store }) => {
            let dir = keystore_dir(&store.keystore)?;
            let keys = keystore::list(&dir)?;
            if keys.is_empty() {
                eprintln!("no keys in {}", dir.display());
            }
            for (path, k) in keys {
                let name = k.name.as_deref().unwrap_or("-");
                println!("{}  {name:<16}  {}", k.address, path.display());
            }
        }
        Command::Keys(KeysCommand::Show {
            key,
            store,
            reveal_secret,
        }) => {
            let dir = keystore_dir(&store.keystore)?;
            let file = keystore::find(&dir, &key)?
                .with_context(|| format!("no key {key:?} in {}", dir.display()))?;
            println!("address:    {}", file.address);
            if let Some(n) = &file.name {
                println!("name:       {n}");
            }
            println!("public key: {}", file.public_key);
            if reveal_secret {
                let key = file.open(&keystore::password(false)?)?;
                println!("secret:     {}", to_hex(&private_key_seed(&key).0));
            }
        }
        Command::Genesis(GenesisCommand::Init(args)) => genesis::init(&args)?,
        Command::Bench(BenchArgs {
            command: None,
            lab: args,
        }) => lab::bench(&args)?,
        Command::Scenario(command) => scenario::run(&command)?,
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::Stf {
                    accounts,
                    block_txs,
                    blocks,
                    threads,
                    zipf,
                    seed,
                    repeat,
                    json,
                }),
            ..
        }) => {
            let threads = threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let cfg = stf::StfBenchConfig {
                accounts,
                block_txs,
                blocks,
                threads,
                zipf_exponent: zipf,
                seed,
                repeat,
            };
            run_bench(json, |progress| stf::run(&cfg, progress), bench::print_stf)?;
        }
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::Sequencer {
                    accounts,
                    txs,
                    block_txs,
                    zipf,
                    seed,
                    json,
                }),
            ..
        }) => {
            let cfg = sequencer::SequencerBenchConfig {
                accounts,
                txs,
                block_txs,
                zipf_exponent: zipf,
                seed,
            };
            run_bench(
                json,
                |progress| sequencer::run(&cfg, progress),
                bench::print_sequencer,
            )?;
        }
        Command::Bench(BenchArgs {
            command:
                Some(BenchCommand::L1 {
                    validators,
                    accounts,
                    txs,
                    paced_rate,
                    paced_seconds,
                    block_time_ms,
                    wan_validators,
                    wan_blocks,
                    wan_one_way_ms,
                    wan_cycle_us,
                    skip_loopback,
                    seed,
                    json,
                }),
            ..
        }) => {
            let cfg = bench_l1::L1BenchConfig {
                validators,
                accounts,
                saturated_txs: txs,
                paced_rate,
                paced_seconds,
                block_time_ms,
                wan_validators: wan_validators.into_iter().filter(|n| *n > 0).collect(),
                wan_blocks,
                wan_one_way_ms,
                wan_cycle_us,
                skip_loopback,
                seed,
            };
            run_bench(
                json,
                |progress| bench_l1::run(&cfg, progress),
                bench::print_l1,
            )?;
        }
    }
    Ok(())
}

/// Runs a benchmark, with progress on stderr unless `json`, and prints its
/// report as one JSON document or as a table.
fn run_bench<R: serde::Serialize>(
    json: bool,
    run: impl FnOnce(&dyn Fn(&str)) -> Result<R, terrace_lab::LabError>,
    print: impl FnOnce(&R),
) -> Result<()> {
    let progress = |msg: &str| {
        if !json {
            eprintln!("… {msg}");
        }
    };
    let report = run(&progress)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    Ok(())
}
