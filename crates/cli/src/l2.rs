//! `terrace l2 …`: use the devnet's optimistic rollup. Deposits and
//! claims are L1 transactions (over L1 JSON-RPC); transfers and
//! withdrawals are L2 transactions sent to the sequencer (over L2
//! JSON-RPC), confirmed at once. Without `--l2-rpc` the commands find the
//! devnet's endpoints in its `devnet.json`.

use crate::{
    devnet,
    l1::{self, Client, format_tokens, parse_tokens, print_json, rpc},
};
use anyhow::{Context as _, Result, bail};
use commonware_codec::Encode as _;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::time::Duration;
use terrace_l1::{
    Payload,
    modules::optimistic::{OptimisticOp, RollupOp},
};
use terrace_l2::{Action, BlsRegistration, Deposit, L2Transaction};
use terrace_primitives::{
    Address, Amount, BlsPrivateKey, PublicKey,
    codec::{decode_bounded, from_hex, to_hex},
    keys::Signer as _,
};
use terrace_rollup::{
    BatchStatus, WithdrawalStage,
    rpc::{AccountInfo, L2ApiClient as _, StatusInfo, WithdrawalInfo},
};

/// Where the rollup and its L1 are.
#[derive(clap::Args, Debug, Clone)]
pub struct Endpoints {
    /// L2 JSON-RPC URL of the sequencer [default: the local devnet's, else
    /// http://127.0.0.1:9545].
    #[arg(long, env = "TERRACE_L2_RPC")]
    pub l2_rpc: Option<String>,
    /// L1 endpoint, devnet directory and output format.
    #[command(flatten)]
    pub l1: l1::Endpoint,
}

/// `terrace l2` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum L2Command {
    /// Lock L1 funds in the bridge and credit them on L2 (an L1
    /// transaction; the sequencer includes it once L1 finalizes it).
    Deposit {
        /// Depositor: `devN`, or a keystore key (name or address). or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// L2 recipient: `devN` or a 0x public key [default: the depositor].
        #[arg(long)]
        to: Option<String>,
        /// Wait until the sequencer has credited it on L2.
        #[arg(long)]
        wait: bool,
        /// Open (or top up) an account with the depositor's BLS key, whose
        /// transfers can be sent aggregated (`send --aggregated`).
        #[arg(long)]
        bls: bool,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Transfer on L2 (confirmed by the sequencer at once).
    Send {
        /// Sender: `devN`, or a keystore key (name or address).
        #[arg(long)]
        from: String,
        /// Recipient: `devN`, a 0x public key, or an L2 account index.
        #[arg(long)]
        to: String,
        /// Amount in TER.
        #[arg(long)]
        amount: String,
        /// Send from the sender's BLS account, signed with its BLS key: the
        /// batch carries it without a signature, under one aggregate per 32
        /// transfers (about a tenth of the L1 bytes).
        #[arg(long)]
        aggregated: bool,
        #[command(flatten)]
        at: Endpoints,
    },
    /// An L2 account: the sequencer's soft balance, and the balance derived
    /// from L1 by the verifier.
    Balance {
        /// `devN`, a 0x public key, or an L2 account index.
        account: String,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Leave L2: the amount becomes claimable on L1 once its batch is final.
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
        #[command(flatten)]
        at: Endpoints,
    },
    /// Claim a withdrawal on L1 with its Merkle proof against a final
    /// batch; says how long until its window ends if it is not final yet.
    Claim {
        /// The withdrawal's index (printed by `withdraw`).
        index: u64,
        /// Who sends (and pays the L1 fee for) the claim: `devN`. The funds
        /// go to the withdrawal's recipient whoever sends it.
        #[arg(long)]
        from: String,
        /// Wait for the challenge window to end, then claim.
        #[arg(long)]
        wait: bool,
        #[command(flatten)]
        at: Endpoints,
    },
    /// Soft, posted and final heights, the bridge and the parameters.
    Status {
        #[command(flatten)]
        at: Endpoints,
    },
    /// The last batches posted on L1.
    Batches {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u64,
        #[command(flatten)]
        at: Endpoints,
    },
}

struct Rollup {
    l2: HttpClient,
    verifier: Option<HttpClient>,
    l1: Client,
    json: bool,
}

fn http(url: &str) -> Result<HttpClient> {
    HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(url)
        .with_context(|| format!("bad RPC URL {url}"))
}

fn connect(at: &Endpoints) -> Result<Rollup> {
    let info = devnet::read_info(at.l1.data_dir.as_deref()).ok();
    let l2 = match (&at.l2_rpc, &info) {
        (Some(u), _) => u.clone(),
        (None, Some(i)) => i
            .l2_rpc
            .clone()
            .context("this devnet runs without a rollup (it was started with --no-rollup)")?,
        (None, None) => "http://127.0.0.1:9545".into(),
    };
    let verifier = match (&at.l2_rpc, &info) {
        (None, Some(i)) => i.l2_verifier_rpc.as_deref().map(http).transpose()?,
        _ => None,
    };
    Ok(Rollup {
        l2: http(&l2)?,
        verifier,
        l1: l1::connect(&at.l1)?,
        json: at.l1.json,
    })
}

/// Runs an `l2` command.
pub fn run(cmd: L2Command) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(cmd))
}

fn key_hex(key: &PublicKey) -> String {
    format!("0x{}", to_hex(key.as_ref()))
}

/// The BLS key of a dev key's L2 accounts: derived from the same seed (the
/// IETF key generation hashes it, so the two keys are unrelated).
fn bls_key(key: &terrace_primitives::PrivateKey) -> BlsPrivateKey {
    BlsPrivateKey::from_seed(&terrace_primitives::keys::private_key_seed(key).0)
}

fn bls_hex(key: &BlsPrivateKey) -> String {
    format!("0x{}", to_hex(key.public_key().as_bytes()))
}

/// The public key a name refers to: `devN`/`validatorN`, a keystore key,
/// or 0x hex.
fn public_key(name: &str) -> Result<PublicKey> {
    if let Some(hex) = name.strip_prefix("0x") {
        let bytes = from_hex(hex).context("not hex")?;
        return decode_bounded::<PublicKey>(&bytes, 64, &())
            .map_err(|e| anyhow::anyhow!("{name}: not a public key ({e})"));
    }
    l1::public_key_of(name)
}

/// The L2 account a name refers to, as the `l2_getAccount` argument.
fn account_arg(name: &str) -> Result<String> {
    if name.parse::<u32>().is_ok() {
        return Ok(name.to_string());
    }
    Ok(key_hex(&public_key(name)?))
}

async fn account(r: &Rollup, name: &str) -> Result<AccountInfo> {
    r.l2.get_account(account_arg(name)?).await.map_err(|e| {
        let e = rpc(e);
        anyhow::anyhow!("{e}; deposit first: terrace l2 deposit --from {name} --amount 1")
    })
}

/// An unsigned transaction from `sender` for the rollup behind `r`, with
/// its fee capped at twice today's quote (prices follow L1's base fee
/// from one L2 block to the next); also returns the rollup id. `fee`
/// quotes a transaction at a block context.
async fn quoted_tx(
    r: &Rollup,
    sender: &AccountInfo,
    action: Action,
    fee: impl Fn(u64, &terrace_l2::BlockContext, &L2Transaction) -> Option<Amount>,
) -> Result<(u64, L2Transaction)> {
    let status = r.l2.status().await.map_err(rpc)?;
    let fees = status
        .fees
        .context("this endpoint is not a sequencer (it quotes no fees)")?;
    let mut tx = L2Transaction {
        from: sender.index,
        nonce: sender.nonce,
        max_fee: Amount::ZERO,
        action,
    };
    let quote = fee(status.rollup, &fees.into(), &tx).context("fee overflows")?;
    tx.max_fee = quote.checked_mul(2).context("fee overflows")?;
    Ok((status.rollup, tx))
}

/// Sends an L2 transaction from `key`'s account; prints the soft
/// confirmation.
async fn send_l2(
    r: &Rollup,
    from: &str,
    action: Action,
) -> Result<terrace_rollup::rpc::SoftConfirmation> {
    let key = l1::signer(from)?;
    let sender = account(r, from).await?;
    let (rollup, tx) = quoted_tx(r, &sender, action, |rollup, context, tx| {
        terrace_l2::stf::fee(context, &tx.sign(rollup, &key))
    })
    .await?;
    let signed = tx.sign(rollup, &key);
    r.l2.send_raw_transaction(format!("0x{}", to_hex(&signed.encode())))
        .await
        .map_err(rpc)
}

/// Sends an aggregated L2 transaction from `from`'s BLS account.
async fn send_aggregated(
    r: &Rollup,
    from: &str,
    action: Action,
) -> Result<terrace_rollup::rpc::SoftConfirmation> {
    let bls = bls_key(&l1::signer(from)?);
    let sender = r.l2.get_account(bls_hex(&bls)).await.map_err(|e| {
        let e = rpc(e);
        anyhow::anyhow!("{e}; open a BLS account first: terrace l2 deposit --from {from} --amount 1 --bls --wait")
    })?;
    let (rollup, tx) = quoted_tx(r, &sender, action, |_, context, tx| {
        terrace_l2::stf::aggregated_fee(context, tx)
    })
    .await?;
    let raw = format!("0x{}", to_hex(&tx.sign_bls(rollup, &bls).encode()));
    // Right after the account's batch lands, the sequencer may not have
    // derived it yet: retry that one refusal for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match r.l2.send_raw_aggregated_transaction(raw.clone()).await {
            Err(e)
                if e.to_string().contains("once it lands")
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            other => return other.map_err(rpc),
        }
    }
}

fn seconds(blocks: u64, block_time_ms: u64) -> u64 {
    (blocks * block_time_ms).div_ceil(1_000)
}

async fn block_time_ms(r: &Rollup) -> u64 {
    l1::block_time_ms(&r.l1).await.unwrap_or(250)
}

/// Waits until withdrawal `index` is final; prints progress.
async fn wait_final(r: &Rollup, index: u64) -> Result<WithdrawalInfo> {
    let block_ms = block_time_ms(r).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(3_600);
    let mut said = None;
    loop {
        let w = r.l2.get_withdrawal(index).await.map_err(rpc)?;
        if w.stage == WithdrawalStage::Final {
            return Ok(w);
        }
        if std::time::Instant::now() > deadline {
            bail!("withdrawal {index} not final within an hour");
        }
        if !r.json && said != Some(w.stage) {
            said = Some(w.stage);
            println!("{}", not_final_yet(&w, block_ms));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn not_final_yet(w: &WithdrawalInfo, block_ms: u64) -> String {
    match (w.stage, w.window_end) {
        (WithdrawalStage::Soft, _) => format!(
            "withdrawal {} is confirmed by the sequencer, not yet in a batch on L1",
            w.index
        ),
        (_, Some(end)) => {
            let left = end.saturating_sub(w.l1_height);
            format!(
                "withdrawal {} is in batch {} on L1; its challenge window ends at L1 block {end}, \
                 {left} blocks (~{} s) from now",
                w.index,
                w.batch.unwrap_or_default(),
                seconds(left, block_ms)
            )
        }
        _ => format!("withdrawal {} is in a batch on L1, not final yet", w.index),
    }
}

async fn run_async(cmd: L2Command) -> Result<()> {
    match cmd {
        L2Command::Deposit {
            from,
            amount,
            to,
            wait,
            bls,
            at,
        } => {
            let r = connect(&at)?;
            let key = l1::signer(&from)?;
            let recipient = match &to {
                Some(t) => public_key(t)?,
                None => key.public_key(),
            };
            if bls && to.is_some() {
                bail!("--bls registers the depositor's own BLS key: leave out --to");
            }
            let amount = parse_tokens(&amount)?;
            let status = r.l2.status().await.map_err(rpc)?;
            // Credit the recipient's existing account rather than open
            // another (with --bls, its account with that BLS key).
            let bls_key = bls.then(|| bls_key(&key));
            let lookup = match &bls_key {
                Some(k) => bls_hex(k),
                None => key_hex(&recipient),
            };
            let existing = r.l2.get_account(lookup.clone()).await.ok();
            let before = existing.as_ref().map(|a| a.balance).unwrap_or(Amount::ZERO);
            let payload = Payload::Optimistic(OptimisticOp::Rollup {
                rollup: status.rollup,
                op: RollupOp::Deposit(Deposit {
                    recipient: recipient.clone(),
                    account: existing.as_ref().map(|a| a.index),
                    amount,
                    bls: bls_key.map(|k| {
                        Box::new(BlsRegistration {
                            key: k.public_key(),
                            possession: k.proof_of_possession(),
                        })
                    }),
                }),
            });
            let hash = l1::submit(&r.l1, &key, payload).await?;
            if !wait {
                if r.json {
                    return print_json(&serde_json::json!({ "l1Tx": hash }));
                }
                println!("sent deposit {hash} (L1); the sequencer credits it once L1 finalizes it");
                return Ok(());
            }
            let t = l1::wait_finalized(&r.l1, &hash).await?;
            if l1::outcome(&t) != "success" {
                bail!("L1 refused the deposit {hash}: {}", l1::outcome(&t));
            }
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            let credited = loop {
                if let Ok(a) = r.l2.get_account(lookup.clone()).await
                    && a.balance >= before.checked_add(amount).unwrap_or(Amount(u128::MAX))
                {
                    break a;
                }
                if std::time::Instant::now() > deadline {
                    bail!("deposit {hash} finalized on L1 but not credited on L2 within 2 minutes");
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            // A BLS account sends aggregated once a batch holding it is on
            // L1: wait for the verifier (deriving from L1) to see it.
            if bls && let Some(v) = &r.verifier {
                loop {
                    if v.get_account(credited.index.to_string()).await.is_ok() {
                        break;
                    }
                    if std::time::Instant::now() > deadline {
                        bail!("deposit {hash} credited but not posted on L1 within 2 minutes");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            if r.json {
                return print_json(&serde_json::json!({ "l1Tx": hash, "account": credited }));
            }
            println!(
                "deposited {}: L1 block {}, L2 account {} now holds {}",
                format_tokens(amount),
                t.block_height.unwrap_or_default(),
                credited.index,
                format_tokens(credited.balance)
            );
        }
        L2Command::Send {
            from,
            to,
            amount,
            aggregated,
            at,
        } => {
            let r = connect(&at)?;
            let to = account(&r, &to).await?.index;
            let amount = parse_tokens(&amount)?;
            let action = Action::Transfer { to, amount };
            let soft = if aggregated {
                send_aggregated(&r, &from, action).await?
            } else {
                send_l2(&r, &from, action).await?
            };
            if r.json {
                return print_json(&soft);
            }
            println!(
                "confirmed (soft) {}: L2 block {}, position {}, fee {}",
                soft.hash,
                soft.block,
                soft.index,
                soft.fee.ter()
            );
        }
        L2Command::Balance { account: name, at } => {
            let r = connect(&at)?;
            let soft = account(&r, &name).await?;
            let posted = match &r.verifier {
                Some(v) => v.get_account(soft.index.to_string()).await.ok(),
                None => None,
            };
            if r.json {
                return print_json(&serde_json::json!({ "soft": soft, "posted": posted }));
            }
            println!("L2 account {}  key {}", soft.index, soft.public_key);
            println!(
                "balance   {} (soft: confirmed by the sequencer)",
                format_tokens(soft.balance)
            );
            match (&r.verifier, posted) {
                (_, Some(p)) => println!(
                    "          {} (posted: derived from L1 batches alone)",
                    format_tokens(p.balance)
                ),
                (Some(_), None) => {
                    println!("          (posted: the account is not in a batch on L1 yet)")
                }
                (None, None) => {}
            }
            println!("nonce     {}", soft.nonce);
        }
        L2Command::Withdraw {
            from,
            amount,
            to,
            at,
        } => {
            let r = connect(&at)?;
            let recipient: Address = match &to {
                Some(t) => l1::resolve(t)?,
                None => l1::resolve(&from)?,
            };
            let amount = parse_tokens(&amount)?;
            let soft = send_l2(&r, &from, Action::Withdraw { recipient, amount }).await?;
            if r.json {
                return print_json(&soft);
            }
            let index = soft.withdrawal.unwrap_or_default();
            println!(
                "withdrawal {index} confirmed (soft) {}: L2 block {}, fee {}",
                soft.hash,
                soft.block,
                soft.fee.ter()
            );
            println!(
                "claim it on L1 once its batch is final: terrace l2 claim {index} --from {from} --wait"
            );
        }
        L2Command::Claim {
            index,
            from,
            wait,
            at,
        } => {
            let r = connect(&at)?;
            let key = l1::signer(&from)?;
            let mut w = r.l2.get_withdrawal(index).await.map_err(rpc)?;
            if w.claimed {
                bail!("withdrawal {index} was already claimed on L1");
            }
            if w.stage != WithdrawalStage::Final {
                if !wait {
                    bail!(
                        "{}; pass --wait to claim when it is final",
                        not_final_yet(&w, block_time_ms(&r).await)
                    );
                }
                w = wait_final(&r, index).await?;
            }
            let op = w
                .claim_op
                .as_deref()
                .and_then(|h| from_hex(h.strip_prefix("0x")?))
                .context("the node sent no claim for a final withdrawal")?;
            let op = decode_bounded::<RollupOp>(&op, 1 << 20, &())
                .map_err(|e| anyhow::anyhow!("the node's claim does not decode: {e}"))?;
            let status = r.l2.status().await.map_err(rpc)?;
            let hash = l1::submit(
                &r.l1,
                &key,
                Payload::Optimistic(OptimisticOp::Rollup {
                    rollup: status.rollup,
                    op,
                }),
            )
            .await?;
            let t = l1::wait_finalized(&r.l1, &hash).await?;
            let outcome = l1::outcome(&t);
            if outcome != "success" {
                bail!("L1 refused the claim {hash}: {outcome}");
            }
            if r.json {
                return print_json(&serde_json::json!({ "l1Tx": t, "withdrawal": w }));
            }
            println!(
                "claimed withdrawal {index}: {} paid to {} on L1 (block {}, tx {hash})",
                format_tokens(w.amount),
                w.recipient,
                t.block_height.unwrap_or_default()
            );
        }
        L2Command::Status { at } => {
            let r = connect(&at)?;
            let s = r.l2.status().await.map_err(rpc)?;
            if r.json {
                return print_json(&s);
            }
            print_status(&s, block_time_ms(&r).await);
        }
        L2Command::Batches { limit, at } => {
            let r = connect(&at)?;
            let batches = r.l2.get_batches(Some(limit)).await.map_err(rpc)?;
            if r.json {
                return print_json(&batches);
            }
            if batches.is_empty() {
                println!("no batches on L1 yet");
            }
            println!(
                "{:>6} {:>9} {:>10} {:>7} {:>4} {:>6} {:>8}  status",
                "batch", "L1 block", "window end", "blocks", "txs", "steps", "bytes"
            );
            for b in batches {
                let status = match b.status {
                    BatchStatus::Pending => "pending",
                    BatchStatus::Final => "final",
                    BatchStatus::Reverted => "reverted",
                };
                println!(
                    "{:>6} {:>9} {:>10} {:>7} {:>4} {:>6} {:>8}  {status}{}",
                    b.index,
                    b.l1_height,
                    b.window_end.map(|e| e.to_string()).unwrap_or_default(),
                    b.blocks,
                    b.transactions,
                    b.steps,
                    b.data_bytes,
                    if b.valid { "" } else { "  (false root!)" }
                );
            }
        }
    }
    Ok(())
}

fn print_status(s: &StatusInfo, block_ms: u64) {
    println!("rollup            {}", s.rollup);
    println!(
        "L2 blocks         {} soft, {} posted, {} final",
        s.soft, s.posted, s.finalized
    );
    println!(
        "batches           {} on L1, {} final",
        s.batches, s.final_batches
    );
    println!("L1 height         {} (finalized, derived)", s.l1_height);
    if let Some(e) = s.escrow {
        println!("bridge escrow     {}", format_tokens(e));
    }
    if let Some((count, consumed)) = s.inbox {
        println!("inbox             {count} messages, {consumed} consumed by batches");
    }
    if let Some(f) = &s.fees {
        println!(
            "fees              {} per L2 gas, {} per byte of L1 data",
            f.l2_gas_price, f.l1_byte_price
        );
    }
    if let Some(c) = &s.config {
        println!("sequencer         {}", c.sequencer);
        println!(
            "challenge window  {} L1 blocks (~{} s; mainnet rollups: 7 days)",
            c.challenge_window_blocks,
            seconds(c.challenge_window_blocks, block_ms)
        );
        println!(
            "sequencing window {} L1 blocks (~{} s)",
            c.sequencing_window_blocks,
            seconds(c.sequencing_window_blocks, block_ms)
        );
        println!(
            "move deadline     {} L1 blocks (~{} s)",
            c.move_deadline_blocks,
            seconds(c.move_deadline_blocks, block_ms)
        );
        println!(
            "bonds             poster {}, challenge {}",
            format_tokens(c.poster_bond),
            format_tokens(c.challenge_bond)
        );
    }
}
