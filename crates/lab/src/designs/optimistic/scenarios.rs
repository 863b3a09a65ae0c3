//! The optimistic rollup under attack: a sequencer, an honest verifier
//! (challenger and fallback poster) and sometimes a malicious challenger,
//! all real rollup nodes beside validator 0 of a four-validator L1.

use crate::scenario::{
    Outcome, Scenario, play,
    stage::{ROLLUP, Role, Stage, TER},
};
use crate::{LabError, design::human_ms};
use bytes::Bytes;
use commonware_codec::Encode as _;
use std::time::Duration;
use terrace_l1::{
    ChainParams, StateReader as _,
    execute::Failure,
    modules::optimistic::{
        OptimisticFailure, OptimisticKey, RollupConfig, RollupOp, RollupRecords as _,
    },
};
use terrace_l2::{Action, BlockContext, Deposit, L2Transaction, SignedL2Transaction};
use terrace_primitives::{Amount, keys::Signer as _};
use terrace_rollup::{Event, Fault, NodeConfig, SequencerConfig, Shared};

/// Longest any step may take in virtual time.
const LIMIT: Duration = Duration::from_secs(600);
/// L1 block time of the `terrace` preset.
const BLOCK_MS: u64 = 250;

/// Devnet-like windows, in L1 blocks of 250 ms: a 10 s challenge window
/// keeps every scenario short in virtual time; the mechanics do not
/// depend on its length.
fn rollup_config() -> RollupConfig {
    RollupConfig {
        challenge_window_blocks: 40,
        batch_bytes_max: 64 * 1024,
        ..super::lab_rollup(Role::Sequencer.address())
    }
}

fn sequencer_config(s: &Stage, fault: Fault) -> NodeConfig {
    NodeConfig::sequencer(
        s.deployment(),
        Role::Sequencer.key(),
        SequencerConfig {
            context: BlockContext {
                fee_recipient: 0,
                l2_gas_price: 1_000,
                l1_byte_price: 10_000,
            },
            block_time: Duration::from_millis(200),
            batch_interval: Duration::from_millis(1_000),
            track_l1_fee: false,
        },
        false,
    )
    .with_fault(fault)
}

fn verifier_config(s: &Stage, who: Role, fault: Fault) -> NodeConfig {
    NodeConfig::verifier(s.deployment(), who.key()).with_fault(fault)
}

fn l2_tx(from: Role, account: u32, nonce: u64, action: Action) -> SignedL2Transaction {
    L2Transaction {
        from: account,
        nonce,
        max_fee: Amount(TER / 100),
        action,
    }
    .sign(ROLLUP, &from.key())
}

fn transfer(from: Role, account: u32, nonce: u64, to: u32, amount: u128) -> SignedL2Transaction {
    l2_tx(
        from,
        account,
        nonce,
        Action::Transfer {
            to,
            amount: Amount(amount),
        },
    )
}

/// L2 accounts in the order [`open_accounts`] opens them.
const SEQ_ACCOUNT: u32 = 0;
const ALICE: u32 = 1;
const BOB: u32 = 2;

/// A stage with the rollup created, an honest verifier (node 0) and a
/// sequencer with `fault` (node 1).
async fn rollup_stage(
    name: &'static str,
    context: crate::scenario::stage::Ctx,
    fault: Fault,
) -> Result<(Stage, Shared, Shared), LabError> {
    let mut s = Stage::start(name, context, 4, ChainParams::default(), Vec::new()).await?;
    s.create_rollup(rollup_config()).await?;
    let verifier = s.spawn(verifier_config(&s, Role::Verifier, Fault::None));
    let seq = s.spawn(sequencer_config(&s, fault));
    let (v, q) = (s.node(verifier), s.node(seq));
    Ok((s, v, q))
}

async fn deposit(
    s: &mut Stage,
    from: Role,
    to: Role,
    amount: u128,
    bls: bool,
) -> Result<(), LabError> {
    let registration = bls.then(|| {
        let key = to.bls();
        Box::new(terrace_l2::BlsRegistration {
            key: key.public_key(),
            possession: key.proof_of_possession(),
        })
    });
    let failure = s
        .op(
            from,
            RollupOp::Deposit(Deposit {
                recipient: to.key().public_key(),
                account: None,
                amount: Amount(amount),
                bls: registration,
            }),
        )
        .await?;
    match failure {
        None => Ok(()),
        Some(f) => Err(s.fail(format!("deposit failed on L1: {f}"))),
    }
}

/// Opens the sequencer's fee account (0), Alice's (1) and Bob's (2),
/// waiting until the sequencer `seq` has consumed the deposits.
async fn open_accounts(s: &mut Stage, seq: &Shared) -> Result<(), LabError> {
    // The operator funds the sequencer's fee account from another key
    // (the sequencer's own L1 nonces belong to its node).
    deposit(s, Role::Operator, Role::Sequencer, TER, false).await?;
    deposit(s, Role::Alice, Role::Alice, 100 * TER, false).await?;
    deposit(s, Role::Bob, Role::Bob, TER, false).await?;
    s.wait("deposits on L2", LIMIT, |_| seq.account(BOB).is_some())
        .await?;
    if seq.find_account(&Role::Alice.key().public_key()) != Some(ALICE)
        || seq.find_account(&Role::Bob.key().public_key()) != Some(BOB)
    {
        return Err(s.fail("accounts opened out of order"));
    }
    Ok(())
}

/// An account's balance in the sequencer's soft state (what it confirmed).
fn soft_balance(seq: &Shared, account: u32) -> u128 {
    seq.account(account).map_or(0, |a| a.balance.0)
}

/// An account's balance in a node's state derived from L1 alone.
fn derived_balance(node: &Shared, account: u32) -> u128 {
    node.with_derivation(|d| d.state().account_at(account).map_or(0, |a| a.balance.0))
}

/// What the derived state owes `promised` (account, confirmed balance):
/// the sum of the shortfalls.
fn shortfall(node: &Shared, promised: &[(u32, u128)]) -> u128 {
    promised
        .iter()
        .map(|&(a, want)| want.saturating_sub(derived_balance(node, a)))
        .sum()
}

fn sent(e: &Event, prefix: &str) -> bool {
    matches!(e, Event::Sent(op) if op.starts_with(prefix))
}

/// A claim's result on L1 in words.
fn failed(failure: Option<Failure>) -> String {
    match failure {
        None => "paid".into(),
        Some(f) => format!("failed on L1 ({f})"),
    }
}

/// aTER as TER, signed.
fn ether(ater: i128) -> String {
    format!("{:.3} TER", ater as f64 / 1e18)
}

/// The sequencer lies about batch 1's output root; with
/// `restart_challenger`, the challenger is killed and restarted from L1
/// mid-game.
pub fn invalid_root(seed: u64, restart_challenger: bool) -> Result<Outcome, LabError> {
    invalid_root_with(seed, restart_challenger, true)
}

/// [`invalid_root`] with the honest verifier switched off: nobody
/// challenges, and the verdict must break (a test of the judge).
pub fn invalid_root_unwatched(seed: u64) -> Result<Outcome, LabError> {
    invalid_root_with(seed, false, false)
}

/// The sequencer's L1 balance plus its poster bond on L1.
async fn sequencer_funds(s: &Stage) -> Result<u128, LabError> {
    let who = Role::Sequencer.address();
    let records =
        s.l1.records(&[
            terrace_l1::Key::Account(who),
            OptimisticKey::Bond(ROLLUP, who).into(),
        ])
        .await
        .map_err(|e| s.fail(e))?;
    let bond = records.bond(ROLLUP, who).map_or(0, |b| b.amount.0);
    Ok(records.account(&who).balance.0 + bond)
}

fn invalid_root_with(
    seed: u64,
    restart_challenger: bool,
    watched: bool,
) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut s = Stage::start(
            "invalid-root",
            context,
            4,
            ChainParams::default(),
            Vec::new(),
        )
        .await?;
        s.create_rollup(rollup_config()).await?;
        let verifier = if watched {
            verifier_config(&s, Role::Verifier, Fault::None)
        } else {
            // A node that follows L1 but never challenges nor posts.
            NodeConfig {
                challenger: false,
                fallback_poster: false,
                ..verifier_config(&s, Role::Verifier, Fault::None)
            }
        };
        let v = s.spawn(verifier);
        let q = s.spawn(sequencer_config(&s, Fault::WrongRoot { batch: 1 }));
        let (v, seq) = (s.node(v), s.node(q));
        open_accounts(&mut s, &seq).await?;
        let verifier_before = s.l1_balance(Role::Verifier.address()).await?;
        s.wait("batch 0 stands", LIMIT, |_| v.status().batches >= 1)
            .await?;
        for n in 0..6 {
            seq.submit(transfer(Role::Alice, ALICE, n, BOB, TER))
                .map_err(|e| s.fail(format!("transfer refused: {e}")))?;
        }
        let promised = [
            (ALICE, soft_balance(&seq, ALICE)),
            (BOB, soft_balance(&seq, BOB)),
        ];
        s.wait("the false batch posted", LIMIT, |s| {
            s.saw(1, |e| matches!(e, Event::Posted { honest: false, .. }))
        })
        .await?;
        let (posted_at, posted_height) = (s.now(), s.height());
        let seq_before = sequencer_funds(&s).await?;
        let config = rollup_config();
        // Past the window, an unchallenged batch is final.
        let window = Duration::from_millis((config.challenge_window_blocks + 8) * BLOCK_MS);
        let challenged = s
            .until(window, |s| {
                s.saw(
                    0,
                    |e| matches!(e, Event::Sent(op) if op == "challenge batch 1"),
                )
            })
            .await?;
        let opened_height = s.height();
        // What the game bisects: the false batch's steps, read while it
        // still stands.
        let disputed_steps = v.with_derivation(|d| d.batch(1).map_or(0, |b| b.steps.len()));
        if restart_challenger {
            s.idle(Duration::from_millis(600)).await?;
            s.restart_node(0);
        }
        let reverted = challenged
            && s.until(LIMIT, |s| {
                let v = s.node(0);
                s.saw(0, |e| matches!(e, Event::Reverted(1)))
                    && v.with_derivation(|d| d.batch_count() >= 2 && d.first_invalid().is_none())
            })
            .await?;
        let (resolved_at, resolved_height) = (s.now(), s.height());
        let v = s.node(0);
        let reposted = reverted && s.until(LIMIT, |_| shortfall(&v, &promised) == 0).await?;
        let slashed = seq_before.saturating_sub(sequencer_funds(&s).await?);
        let gained =
            s.l1_balance(Role::Verifier.address()).await?.0 as i128 - verifier_before.0 as i128;
        s.check_l1().await?;
        let lost = shortfall(&v, &promised);
        let mut o = Outcome {
            happened: if challenged {
                format!(
                    "the false batch 1 ({disputed_steps} steps in dispute) was challenged {} L1 blocks after it landed{}, {} {} blocks after the challenge opened; the sequencer's L1 funds and bond fell by {} (its bond of {} slashed: {}), the challenger's L1 balance changed by {}; {} confirmed transfers re-posted",
                    opened_height - posted_height,
                    if restart_challenger {
                        " (challenger restarted mid-game)"
                    } else {
                        ""
                    },
                    if reverted { "reverted" } else { "NOT reverted" },
                    resolved_height - opened_height,
                    ether(slashed as i128),
                    ether(config.poster_bond.0 as i128),
                    if slashed >= config.poster_bond.0 {
                        "yes"
                    } else {
                        "no"
                    },
                    ether(gained),
                    if reposted { "all" } else { "NOT all" },
                )
            } else {
                format!(
                    "nobody challenged the false batch 1 within its window of {} L1 blocks: it stands with its false root; the sequencer's L1 funds and bond fell by {}",
                    config.challenge_window_blocks,
                    ether(slashed as i128)
                )
            },
            funds_lost: lost,
            resolution: resolved_at - posted_at,
            resolution_span: "false batch posted → reverted (or its window over)",
            ..Outcome::default()
        };
        o.expect(
            challenged && opened_height - posted_height <= config.challenge_window_blocks,
            "the challenge opens inside the challenge window",
        );
        o.expect(reverted, "the false batch and those after it are reverted");
        o.expect(
            slashed >= config.poster_bond.0,
            "the lying poster's bond is slashed (its L1 funds and bond fall by at least the bond)",
        );
        o.expect(
            gained > config.challenge_bond.0 as i128,
            "the challenger recovers its bond and a share of the slashed one",
        );
        o.expect(
            reposted && lost == 0,
            "every confirmed transfer is re-posted",
        );
        s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// A challenger disputes honest batches; with `restart_defender`, the
/// sequencer defending them is restarted mid-game.
pub fn malicious_challenger(seed: u64, restart_defender: bool) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let (mut s, v, seq) = rollup_stage("malicious-challenger", context, Fault::None).await?;
        open_accounts(&mut s, &seq).await?;
        let mallory_before = s.l1_balance(Role::Mallory.address()).await?;
        let mallory = s.spawn(verifier_config(&s, Role::Mallory, Fault::DisputeValid));
        for n in 0..4 {
            seq.submit(transfer(Role::Alice, ALICE, n, BOB, TER))
                .map_err(|e| s.fail(format!("transfer refused: {e}")))?;
        }
        let promised = [
            (ALICE, soft_balance(&seq, ALICE)),
            (BOB, soft_balance(&seq, BOB)),
        ];
        s.wait("the false challenge", LIMIT, |s| {
            s.saw(mallory, |e| sent(e, "challenge"))
        })
        .await?;
        let challenged_at = s.now();
        if restart_defender {
            s.idle(Duration::from_millis(500)).await?;
            s.restart_node(1);
        }
        s.wait("the challenged batches final", LIMIT, |_| {
            let st = v.status();
            st.final_batches >= 1 && st.final_batches == st.batches
        })
        .await?;
        let settled_at = s.now();
        let delivered = s.until(LIMIT, |_| shortfall(&v, &promised) == 0).await?;
        let rollup = s.rollup().await?;
        let challenges = s
            .node(mallory)
            .events()
            .iter()
            .filter(|e| sent(e, "challenge"))
            .count();
        let reverted = s.saw(0, |e| matches!(e, Event::Reverted(_)));
        let paid =
            mallory_before.0 as i128 - s.l1_balance(Role::Mallory.address()).await?.0 as i128;
        s.check_l1().await?;
        let lost = shortfall(&v, &promised);
        let bond = rollup_config().challenge_bond.0 as i128;
        let mut o = Outcome {
            happened: format!(
                "{challenges} false challenge(s); {} reverted; the challenger lost {} on L1; the disputed batches became final {} after the first challenge; the confirmed transfers {}",
                if reverted {
                    "a batch WAS"
                } else {
                    "nothing was"
                },
                ether(paid),
                human_ms((settled_at - challenged_at).as_millis() as u64),
                if delivered {
                    "stand"
                } else {
                    "do NOT all stand"
                },
            ),
            funds_lost: lost,
            resolution: settled_at - challenged_at,
            resolution_span: "first false challenge → batches final",
            ..Outcome::default()
        };
        o.expect(
            !reverted && rollup.disputed.is_empty(),
            "a false challenge reverts nothing",
        );
        o.expect(paid >= bond, "the false challenger loses its bond");
        o.expect(lost == 0, "no confirmed transfer is lost");
        s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The sequencer censors Alice; she forces her transfer through L1.
pub fn censorship(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let (mut s, v, seq) =
            rollup_stage("censorship", context, Fault::Censor { account: ALICE }).await?;
        open_accounts(&mut s, &seq).await?;
        // Every L2 transfer here moves value among these three accounts
        // (fees go to the sequencer's): their sum, derived from L1, must
        // not fall.
        let held = |v: &Shared| {
            [SEQ_ACCOUNT, ALICE, BOB]
                .iter()
                .map(|a| derived_balance(v, *a))
                .sum::<u128>()
        };
        let held_before = held(&v);
        let bob_before = derived_balance(&v, BOB);
        let amount = 3 * TER;
        let tx = transfer(Role::Alice, ALICE, 0, BOB, amount);
        let refused_at_door = seq.submit(tx.clone()).is_err();
        let failure = s
            .op(
                Role::Alice,
                RollupOp::ForceInclude {
                    tx: Bytes::from(tx.encode().to_vec()),
                },
            )
            .await?;
        if let Some(f) = failure {
            return Err(s.fail(format!("the forced transaction failed on L1: {f}")));
        }
        let (forced_at, forced_height) = (s.now(), s.height());
        // Bob keeps transacting, so the censor keeps posting batches that
        // leave the forced transaction out.
        let mut bob_nonce = 0;
        let window = rollup_config().sequencing_window_blocks;
        let deadline = forced_height + 10 * window;
        let executed = loop {
            // Her only transaction: its nonce says it executed.
            if v.with_derivation(|d| d.state().account_at(ALICE).is_some_and(|a| a.nonce > 0)) {
                break true;
            }
            if s.height() >= deadline {
                break false;
            }
            if seq
                .submit(transfer(Role::Bob, BOB, bob_nonce, SEQ_ACCOUNT, 1_000))
                .is_ok()
            {
                bob_nonce += 1;
            }
            let next = s.height() + 1;
            s.wait_l1(next).await?;
        };
        let (done_at, done_height) = (s.now(), s.height());
        let alice = derived_balance(&v, ALICE);
        // Lost: value that left the three accounts, and her transfer to
        // Bob if it never arrived.
        let vanished = held_before.saturating_sub(held(&v));
        let undelivered = if executed { 0 } else { amount };
        let bob_after = derived_balance(&v, BOB);
        let refused_batches = seq
            .events()
            .iter()
            .filter(|e| matches!(e, Event::Failed { op, failure: "inbox_skipped" } if op.starts_with("submit_batch")))
            .count();
        let fallback = s.saw(0, |e| sent(e, "submit_batch"));
        s.check_l1().await?;
        let blocks = done_height - forced_height;
        let mut o = Outcome {
            happened: format!(
                "{}; the forced transfer {} {blocks} L1 blocks ({}) after it landed in the inbox; {refused_batches} censoring batch(es) refused by L1 for skipping it; the verifier {} through the escape hatch; Bob's derived balance moved by {} (his own transfers and fees included), and the three accounts' sum fell by {}",
                if refused_at_door {
                    "the sequencer refused her transfer"
                } else {
                    "the sequencer accepted, then dropped, her transfer"
                },
                if executed {
                    "executed"
                } else {
                    "had NOT executed"
                },
                human_ms(blocks * BLOCK_MS),
                if fallback { "posted" } else { "did not post" },
                ether(bob_after as i128 - bob_before as i128),
                ether(vanished as i128),
            ),
            funds_lost: vanished + undelivered,
            resolution: done_at - forced_at,
            resolution_span: "forced into the inbox → executed on L2",
            ..Outcome::default()
        };
        o.expect(
            executed && alice <= 100 * TER - amount,
            "the forced transaction executes",
        );
        o.expect(
            blocks <= 3 * window,
            format!(
                "it executes within three sequencing windows ({} L1 blocks)",
                3 * window
            ),
        );
        o.expect(
            refused_batches > 0,
            "L1 refuses the censoring batches that skip it past the sequencing window",
        );
        o.expect(fallback, "someone else posts it through the escape hatch");
        s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The sequencer produces and posts nothing; a deposit must still land.
pub fn silent_sequencer(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let (mut s, v, _seq) = rollup_stage("silent-sequencer", context, Fault::Silent).await?;
        let amount = 5 * TER;
        deposit(&mut s, Role::Alice, Role::Alice, amount, false).await?;
        let (deposited_at, deposited_height) = (s.now(), s.height());
        let credited = s.until(LIMIT, |_| derived_balance(&v, 0) == amount).await?;
        let (done_at, done_height) = (s.now(), s.height());
        let rollup = s.rollup().await?;
        let poster = v.with_derivation(|d| d.pending().first().map(|b| b.poster));
        s.check_l1().await?;
        let window = rollup_config().sequencing_window_blocks;
        let blocks = done_height - deposited_height;
        let mut o = Outcome {
            happened: format!(
                "the deposit {} on L2 {blocks} L1 blocks ({}) after it was final on L1; {} batch(es) on L1, the first posted by the {}",
                if credited {
                    "was credited"
                } else {
                    "was NOT credited"
                },
                human_ms(blocks * BLOCK_MS),
                rollup.batch_count,
                if poster == Some(Role::Verifier.address()) {
                    "verifier (fallback poster)"
                } else {
                    "sequencer or nobody"
                },
            ),
            funds_lost: amount.saturating_sub(derived_balance(&v, 0)),
            resolution: done_at - deposited_at,
            resolution_span: "deposit final on L1 → credited on L2",
            ..Outcome::default()
        };
        o.expect(credited, "the deposit reaches L2");
        o.expect(
            poster == Some(Role::Verifier.address()),
            "someone other than the sequencer posts",
        );
        o.expect(
            blocks <= 2 * window,
            format!("within two sequencing windows ({} L1 blocks)", 2 * window),
        );
        s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// Bob's 0.5 TER withdrawal, posted: the stage, the verifier, the
/// withdrawal's index, the transaction's hash and when it was posted.
struct Withdrawn {
    s: Stage,
    v: Shared,
    seq: Shared,
    index: u64,
    hash: terrace_primitives::Hash,
    amount: u128,
}

async fn withdrawn(
    name: &'static str,
    context: crate::scenario::stage::Ctx,
) -> Result<Withdrawn, LabError> {
    let (mut s, v, seq) = rollup_stage(name, context, Fault::None).await?;
    open_accounts(&mut s, &seq).await?;
    let amount = TER / 2;
    let withdraw = l2_tx(
        Role::Bob,
        BOB,
        0,
        Action::Withdraw {
            recipient: Role::Bob.address(),
            amount: Amount(amount),
        },
    );
    let hash = withdraw.hash();
    let index = seq
        .submit(withdraw)
        .map_err(|e| s.fail(format!("withdrawal refused: {e}")))?
        .withdrawal
        .ok_or_else(|| s.fail("the withdrawal made no withdrawal"))?;
    s.wait("withdrawal posted", LIMIT, |_| {
        seq.receipt(&hash).is_some_and(|r| r.posted)
    })
    .await?;
    Ok(Withdrawn {
        s,
        v,
        seq,
        index,
        hash,
        amount,
    })
}

impl Withdrawn {
    /// The claim of the withdrawal against the newest standing (`final_
    /// only`: final) batch, as the verifier derives it.
    fn claim(
        &self,
        final_only: bool,
    ) -> Result<terrace_l1::modules::optimistic::WithdrawalClaim, LabError> {
        self.v
            .with_derivation(|d| {
                let count = if final_only {
                    d.final_count()
                } else {
                    d.batch_count()
                };
                d.withdrawal_claim(count.checked_sub(1)?, self.index)
            })
            .ok_or_else(|| self.s.fail("no claim derivable"))
    }

    async fn wait_final(&mut self) -> Result<(), LabError> {
        let (seq, hash) = (self.seq.clone(), self.hash);
        self.s
            .wait("withdrawal final", LIMIT, |_| {
                seq.receipt(&hash).is_some_and(|r| r.finalized)
            })
            .await
    }

    async fn escrow(&self) -> Result<u128, LabError> {
        Ok(self.s.rollup().await?.escrow.0)
    }

    async fn claim_op(
        &mut self,
        from: Role,
        claim: terrace_l1::modules::optimistic::WithdrawalClaim,
    ) -> Result<Option<Failure>, LabError> {
        self.s.op(from, RollupOp::Claim(Box::new(claim))).await
    }
}

/// Claims before the challenge window is over, then after.
pub fn early_claim(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut w = withdrawn("early-claim", context).await?;
        let posted_at = w.s.now();
        let escrow = w.escrow().await?;
        let early = w.claim(false)?;
        let refused = w.claim_op(Role::Bob, early).await?;
        let early_drop = escrow.saturating_sub(w.escrow().await?);
        w.wait_final().await?;
        let claim = w.claim(true)?;
        let escrow = w.escrow().await?;
        let paid = w.claim_op(Role::Bob, claim).await?;
        let paid_at = w.s.now();
        let drop = escrow.saturating_sub(w.escrow().await?);
        w.s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "the early claim {}; the escrow fell by {} aTER; after the window the claim {} and the escrow fell by {}",
                failed(refused),
                early_drop,
                if paid.is_none() { "paid" } else { "FAILED" },
                ether(drop as i128),
            ),
            funds_lost: early_drop + w.amount.saturating_sub(drop),
            resolution: paid_at - posted_at,
            resolution_span: "withdrawal posted → claim paid",
            ..Outcome::default()
        };
        o.expect(
            refused == Some(Failure::Optimistic(OptimisticFailure::NotFinal)),
            "the early claim is refused as not final",
        );
        o.expect(early_drop == 0, "the early claim moves nothing");
        o.expect(
            paid.is_none() && drop == w.amount,
            "the claim pays exactly the amount once the batch is final",
        );
        w.s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// Forged claims (amount, recipient) after the window, then the true one.
pub fn forged_withdrawal(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut w = withdrawn("forged-withdrawal", context).await?;
        w.wait_final().await?;
        let claim = w.claim(true)?;
        let escrow = w.escrow().await?;
        let mallory_before = w.s.l1_balance(Role::Mallory.address()).await?;
        let sent_at = w.s.now();
        let mut inflated = claim.clone();
        inflated.withdrawal.amount = Amount(10 * w.amount);
        let inflated = w.claim_op(Role::Bob, inflated).await?;
        let mut stolen = claim.clone();
        stolen.withdrawal.recipient = Role::Mallory.address();
        let stolen = w.claim_op(Role::Mallory, stolen).await?;
        let refused_at = w.s.now();
        let forged_drop = escrow.saturating_sub(w.escrow().await?);
        let mallory_gain =
            w.s.l1_balance(Role::Mallory.address())
                .await?
                .0
                .saturating_sub(mallory_before.0);
        let paid = w.claim_op(Role::Bob, claim).await?;
        let drop = escrow.saturating_sub(w.escrow().await?);
        w.s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "the inflated claim {}, the redirected claim {}; the escrow fell by {forged_drop} aTER under them and the thief gained {mallory_gain} aTER; the true claim {} ({} paid)",
                failed(inflated),
                failed(stolen),
                if paid.is_none() { "paid" } else { "FAILED" },
                ether(drop as i128),
            ),
            funds_lost: forged_drop.max(mallory_gain),
            resolution: refused_at - sent_at,
            resolution_span: "forged claims sent → both refused on L1",
            ..Outcome::default()
        };
        o.expect(
            inflated
                == Some(Failure::Optimistic(
                    OptimisticFailure::InvalidWithdrawalProof,
                ))
                && stolen
                    == Some(Failure::Optimistic(
                        OptimisticFailure::InvalidWithdrawalProof,
                    )),
            "both forged claims fail their Merkle proof",
        );
        o.expect(
            forged_drop == 0 && mallory_gain == 0,
            "forged claims move nothing",
        );
        o.expect(
            paid.is_none() && drop == w.amount,
            "the true claim pays the amount",
        );
        w.s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The same claim twice.
pub fn double_claim(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut w = withdrawn("double-claim", context).await?;
        w.wait_final().await?;
        let claim = w.claim(true)?;
        let escrow = w.escrow().await?;
        let first = w.claim_op(Role::Bob, claim.clone()).await?;
        let second_at = w.s.now();
        let second = w.claim_op(Role::Bob, claim).await?;
        let refused_at = w.s.now();
        let drop = escrow.saturating_sub(w.escrow().await?);
        w.s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "the first claim {}, the second {}; the escrow fell by {} in all",
                failed(first),
                failed(second),
                ether(drop as i128),
            ),
            funds_lost: drop.saturating_sub(w.amount),
            resolution: refused_at - second_at,
            resolution_span: "second claim sent → refused on L1",
            ..Outcome::default()
        };
        o.expect(first.is_none(), "the first claim pays");
        o.expect(
            second == Some(Failure::Optimistic(OptimisticFailure::AlreadyClaimed)),
            "the second claim fails as already claimed",
        );
        o.expect(drop == w.amount, "the escrow pays the amount once");
        w.s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The sequencer forges an aggregated transfer out of Carol's BLS account
/// (Mallory plays Carol, the victim, here: her key is the one robbed).
pub fn forged_aggregate(seed: u64) -> Result<Outcome, LabError> {
    const CAROL: u32 = 3;
    play(seed, |context| async move {
        let (mut s, v, seq) = rollup_stage(
            "forged-aggregate",
            context,
            Fault::ForgeAggregate {
                from: CAROL,
                to: SEQ_ACCOUNT,
            },
        )
        .await?;
        open_accounts(&mut s, &seq).await?;
        let carol = Role::Mallory;
        deposit(&mut s, carol, carol, 10 * TER, true).await?;
        let prover_before = s.l1_balance(Role::Verifier.address()).await?;
        let honest = L2Transaction {
            from: CAROL,
            nonce: 0,
            max_fee: Amount(TER / 100),
            action: Action::Transfer {
                to: BOB,
                amount: Amount(TER),
            },
        }
        .sign_bls(ROLLUP, &carol.bls());
        // Her key must be on L1 (in a landed batch) before she sends.
        let mut fee = None;
        s.wait("Carol's aggregated transfer accepted", LIMIT, |_| {
            if let Ok(r) = seq.submit_aggregated(honest.clone()) {
                fee = Some(r.fee.0);
            }
            fee.is_some()
        })
        .await?;
        let fee = fee.unwrap_or_default();
        let sent_at = s.now();
        s.wait("the bad aggregate proven", LIMIT, |s| {
            s.saw(0, |e| sent(e, "prove_aggregate"))
        })
        .await?;
        s.wait("the honest chain re-posted", LIMIT, |s| {
            s.saw(0, |e| matches!(e, Event::Reverted(_)))
                && v.with_derivation(|d| d.first_invalid().is_none())
                && derived_balance(&v, BOB) == 2 * TER
        })
        .await?;
        let resolved_at = s.now();
        let carol_now = derived_balance(&v, CAROL);
        let expected = 9 * TER - fee;
        let beneficiary = derived_balance(&v, SEQ_ACCOUNT);
        let rebased = s.saw(1, |e| matches!(e, Event::Rebased(_)));
        let gained =
            s.l1_balance(Role::Verifier.address()).await?.0 as i128 - prover_before.0 as i128;
        s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "the verifier proved the aggregate wrong in one L1 transaction; the batch was reverted and the sequencer {}; Carol holds {} (her transfer and its fee out, nothing else), the sequencer's fee account {}; the prover's L1 balance changed by {}",
                if rebased {
                    "rebased past its forged block"
                } else {
                    "did NOT rebase"
                },
                ether(carol_now as i128),
                ether(beneficiary as i128),
                ether(gained),
            ),
            funds_lost: expected.saturating_sub(carol_now),
            resolution: resolved_at - sent_at,
            resolution_span: "forged block made → reverted and re-posted",
            ..Outcome::default()
        };
        o.expect(
            carol_now == expected,
            "the victim keeps everything but her own transfer and fee",
        );
        o.expect(
            beneficiary < 2 * TER,
            "the beneficiary keeps nothing stolen",
        );
        o.expect(
            gained > rollup_config().challenge_bond.0 as i128,
            "the prover takes a share of the slashed bond",
        );
        s.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The optimistic rollup's scenarios, in catalog order.
pub fn catalog() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "invalid-root",
            design: "optimistic",
            attack: "the sequencer posts a batch with a false output root",
            promise: "one honest verifier wins the bisection game inside the challenge window: the batch and those after it are reverted, the poster's bond is slashed, the honest chain is re-posted with every confirmed transfer",
            seed: 21,
            play: |seed| invalid_root(seed, false),
            sabotage: Some(invalid_root_unwatched),
        },
        Scenario {
            name: "malicious-challenger",
            design: "optimistic",
            attack: "a challenger disputes every honest batch and disagrees with every root",
            promise: "a false challenge reverts nothing: the defender wins on the one-step proof or the move deadline, the challenger loses its bond, the batches become final",
            seed: 31,
            play: |seed| malicious_challenger(seed, false),
            sabotage: None,
        },
        Scenario {
            name: "censorship",
            design: "optimistic",
            attack: "the sequencer refuses a user's transactions and leaves her forced transaction out of its batches",
            promise: "a transaction forced through the L1 inbox executes: batches that skip it past the sequencing window are refused, and anyone may post it after that",
            seed: 41,
            play: censorship,
            sabotage: None,
        },
        Scenario {
            name: "silent-sequencer",
            design: "optimistic",
            attack: "the sequencer goes silent: it produces and posts nothing",
            promise: "after a sequencing window without a batch anyone may post: a deposit still reaches L2",
            seed: 51,
            play: silent_sequencer,
            sabotage: None,
        },
        Scenario {
            name: "forged-withdrawal",
            design: "optimistic",
            attack: "a user claims ten times his withdrawal, and a thief claims it to her own address, with altered Merkle proofs",
            promise: "L1 pays only withdrawals whose Merkle path leads to a final output root: forged claims fail and the escrow is untouched; the true claim pays",
            seed: 71,
            play: forged_withdrawal,
            sabotage: None,
        },
        Scenario {
            name: "double-claim",
            design: "optimistic",
            attack: "a user claims the same withdrawal twice",
            promise: "each withdrawal pays once: the second claim fails and the escrow falls by the amount once",
            seed: 72,
            play: double_claim,
            sabotage: None,
        },
        Scenario {
            name: "early-claim",
            design: "optimistic",
            attack: "a user claims a withdrawal before its batch's challenge window is over",
            promise: "nothing is paid before the window ends; the same claim pays once the batch is final",
            seed: 73,
            play: early_claim,
            sabotage: None,
        },
        Scenario {
            name: "forged-aggregate",
            design: "optimistic",
            attack: "the sequencer slips an unsigned transfer out of a BLS account into a block beside its owner's aggregated transfer, with every root true to the data",
            promise: "one L1 transaction proves the aggregate wrong: the batch falls, the sequencer is slashed, the owner's own transfer is re-posted and the forged one never returns",
            seed: 61,
            play: forged_aggregate,
            sabotage: None,
        },
    ]
}
