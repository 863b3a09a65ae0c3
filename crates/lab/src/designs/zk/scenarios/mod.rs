//! The zk-rollup and the validium under attack: the operator (with a real
//! prover) and a watcher (a full node that freezes a stalled rollup), both
//! real zk-rollup nodes beside validator 0 of a four-validator L1, and for
//! the validium its committee's members with their stores on disk. Proofs
//! are real Groth16 proofs of a small tree (depth 8, two operations per
//! batch), verified by L1.

mod validium;

use crate::designs::zk::run::{member_key, open_committee};
use crate::scenario::{
    Outcome, Scenario, play,
    stage::{Ctx, Role, Stage},
};
use crate::{LabError, design::human_ms};
use commonware_runtime::Handle;
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use terrace_l1::{
    ChainParams, Payload,
    execute::Failure,
    modules::validity::{Committee, UNIT, ValidityOp, ZkExit, ZkOp, ZkRollup},
};
use terrace_primitives::{Amount, keys::Signer as _};
use terrace_zk::{
    Fr,
    babyjubjub::SecretKey,
    fr_from_le,
    ops::{Transfer, code, exit_message},
    prover::ProvingKey,
    state::empty_root,
};
use terrace_zkrollup::{
    Event, Fault, L2Op, NodeConfig, OperatorConfig, Shared, Stage as OpStage, SubmitError,
    dac::{AnyCommittee, LocalCommittee},
    deploy::{self, Deployment, ProverSetup, Settings, Waiting},
};

/// Longest any step may take in virtual time.
const LIMIT: Duration = Duration::from_secs(600);
/// L1 block time of the `terrace` preset.
const BLOCK_MS: u64 = 250;
const DEPTH: u8 = 8;
const SLOTS: usize = 2;
/// Exodus after 10 s without a batch; an inbox entry may wait 5 s.
const EXODUS_AFTER: u64 = 40;
const INBOX_DEADLINE: u64 = 20;

/// One setup for every zk scenario of a process (the slow part).
fn proving_key() -> Arc<ProvingKey> {
    static KEY: OnceLock<Arc<ProvingKey>> = OnceLock::new();
    KEY.get_or_init(|| {
        Arc::new(
            deploy::setup(DEPTH, SLOTS, *b"terrace/lab/zk-scenarios/setup!!")
                .unwrap_or_else(|e| panic!("the lab's zk setup failed: {e}")),
        )
    })
    .clone()
}

/// A role's L2 key.
fn l2_key(role: Role) -> SecretKey {
    SecretKey::from_bytes(format!("terrace/lab/zk/{role:?}").as_bytes())
}

/// The L1, the zk-rollup, its operator and a watcher.
struct ZkStage {
    s: Stage,
    deployment: Deployment,
    operator: Shared,
    operator_task: Handle<()>,
    watcher: Shared,
    watcher_task: Handle<()>,
    domain: Fr,
    /// A validium's committee, and the directory of its members' stores.
    committee: Option<(LocalCommittee, tempfile::TempDir)>,
    /// L1 heights the bridge invariant was compared at.
    bridge_checks: u64,
}

/// The stage: the operator with `fault`, and a watcher that freezes the
/// rollup when it stalls if `watched`; a validium whose data a committee
/// of (members, threshold) keeps if `committee`.
async fn zk_stage(
    name: &'static str,
    context: Ctx,
    fault: Fault,
    watched: bool,
    committee: Option<(u8, u8)>,
) -> Result<ZkStage, LabError> {
    let mut s = Stage::start(name, context, 4, ChainParams::default(), Vec::new()).await?;
    let key = proving_key();
    let settings = Settings {
        operator: Role::Operator.address(),
        batch_bytes_max: 4_096,
        inbox_fee: Amount(UNIT),
        exodus_after_blocks: EXODUS_AFTER,
        inbox_deadline_blocks: INBOX_DEADLINE,
    };
    let config = match committee {
        None => deploy::config(&[&key], settings),
        Some((n, t)) => deploy::validium_config(
            &[&key],
            settings,
            Committee {
                members: (0..n).map(|i| member_key(i).public_key()).collect(),
                threshold: t,
            },
        ),
    };
    let wait = Waiting {
        poll: Duration::from_millis(50),
        limit: LIMIT,
    };
    let deployment = crate::designs::zk::register(&s, &config, wait).await?;
    let committee = match committee {
        None => None,
        Some(_) => Some(open_committee(&s, deployment.rollup).await?),
    };
    let members = |node: NodeConfig| match &committee {
        Some((c, _)) => node.with_committee(AnyCommittee::Local(c.clone())),
        None => node,
    };
    let operator = members(operator_config(deployment).with_fault(fault));
    let prover = ProverSetup::new(vec![key], [1; 32]);
    let (operator_task, operator) = deploy::start(&s.context, s.l1.clone(), operator, Some(prover))
        .await
        .map_err(|e| s.fail(e.to_string()))?;
    let watcher = members(NodeConfig {
        freezer: watched,
        ..NodeConfig::watcher(deployment, Role::Verifier.key())
    });
    let (watcher_task, watcher) = deploy::start(&s.context, s.l1.clone(), watcher, None)
        .await
        .map_err(|e| s.fail(e.to_string()))?;
    let domain = deploy::record(&s.l1, deployment.rollup)
        .await
        .ok()
        .flatten()
        .and_then(|r| fr_from_le(&r.domain))
        .ok_or_else(|| s.fail("no zk-rollup record"))?;
    s.idle(Duration::from_millis(200)).await?;
    Ok(ZkStage {
        s,
        deployment,
        operator,
        operator_task,
        watcher,
        watcher_task,
        domain,
        committee,
        bridge_checks: 0,
    })
}

/// The operator's node on the scenarios' rollup.
fn operator_config(deployment: Deployment) -> NodeConfig {
    NodeConfig::operator(
        deployment,
        Role::Operator.key(),
        OperatorConfig {
            batch_interval: Duration::from_millis(500),
            queue_max: 1_000,
            pipeline: 2,
        },
    )
}

impl ZkStage {
    /// Sends a zk-rollup operation from `from` and waits until final.
    async fn op(&mut self, from: Role, op: ZkOp) -> Result<Option<Failure>, LabError> {
        let payload = Payload::Validity(ValidityOp::Rollup {
            rollup: self.deployment.rollup,
            op,
        });
        self.s.send(from, payload).await
    }

    /// Deposits `units` from `who`'s L1 account to its L2 key.
    async fn deposit(&mut self, who: Role, units: u64) -> Result<(), LabError> {
        match self
            .op(who, deploy::deposit(&l2_key(who).public(), units))
            .await?
        {
            None => Ok(()),
            Some(f) => Err(self.s.fail(format!("deposit failed on L1: {f}"))),
        }
    }

    /// `who`'s account and balance in the state proven on L1, as the
    /// watcher rebuilt it.
    fn proven(&self, who: Role) -> Option<(u32, u64)> {
        self.watcher.with_follower(|f| {
            let i = f.state().find(&l2_key(who).public())?;
            Some((i, f.state().account(i)?.balance))
        })
    }

    async fn until_proven(&mut self, who: Role) -> Result<(u32, u64), LabError> {
        let watcher = self.watcher.clone();
        let key = l2_key(who).public();
        self.s
            .wait("a deposit proven on L1", LIMIT, |_| {
                watcher.with_follower(|f| f.state().find(&key).is_some())
            })
            .await?;
        self.bridge().await?;
        self.proven(who)
            .ok_or_else(|| self.s.fail("proven account vanished"))
    }

    /// `from` (account `account`) sends `units` to `to`'s key with
    /// `nonce`, through the operator; waits until its batch is final.
    async fn transfer_final(
        &mut self,
        from: Role,
        account: u32,
        to: Role,
        units: u64,
        nonce: u64,
    ) -> Result<(), LabError> {
        let t = L2Op::Transfer(Transfer::sign(
            &l2_key(from),
            self.domain,
            account,
            l2_key(to).public(),
            units,
            nonce,
        ));
        let receipt = self
            .operator
            .submit(&t, self.s.now().as_millis() as u64)
            .map_err(|e| self.s.fail(e.to_string()))?;
        let operator = self.operator.clone();
        self.s
            .wait("the transfer final", LIMIT, |_| {
                matches!(operator.stage(&receipt.id), Some(OpStage::Final(_)))
            })
            .await
    }

    async fn rollup(&self) -> Result<ZkRollup, LabError> {
        deploy::record(&self.s.l1, self.deployment.rollup)
            .await
            .map_err(|e| self.s.fail(e.to_string()))?
            .ok_or_else(|| self.s.fail("no zk-rollup on L1"))
    }

    /// Waits until the rollup is frozen; returns the height.
    async fn until_frozen(&mut self) -> Result<u64, LabError> {
        let watcher = self.watcher.clone();
        self.s
            .wait("the rollup frozen", LIMIT, |_| {
                watcher.with_follower(|f| f.frozen_at().is_some())
            })
            .await?;
        self.bridge().await?;
        self.watcher
            .with_follower(|f| f.frozen_at())
            .ok_or_else(|| self.s.fail("not frozen"))
    }

    /// `who` exits a frozen rollup with its last proven balance, the
    /// proof built from L1 data alone (the watcher's follower); returns
    /// what L1 paid.
    async fn exit(&mut self, who: Role) -> Result<u128, LabError> {
        let proof = self.exit_proof(&self.watcher, who);
        self.try_exit(who, proof)
            .await?
            .map_err(|why| self.s.fail(format!("exit failed: {why}")))
    }

    /// Sends `exit` (from the watcher's key, so the recipient's balance
    /// moves by the payout alone): what L1 paid `who`, or why no exit
    /// was possible.
    async fn try_exit(
        &mut self,
        who: Role,
        exit: Option<ZkExit>,
    ) -> Result<Result<u128, String>, LabError> {
        let Some(exit) = exit else {
            return Ok(Err(NO_PROOF.into()));
        };
        let before = self.s.l1_balance(who.address()).await?;
        if let Some(f) = self.op(Role::Verifier, ZkOp::Exit(Box::new(exit))).await? {
            return Ok(Err(f.name().to_string()));
        }
        let after = self.s.l1_balance(who.address()).await?;
        Ok(Ok(after.0.saturating_sub(before.0)))
    }

    /// Waits until L1's record says the rollup is frozen (a watcher stuck
    /// at withheld data still freezes it, but never replays the block
    /// that did); returns the height.
    async fn until_frozen_on_l1(&mut self) -> Result<u64, LabError> {
        let start = self.s.now();
        loop {
            if let Some(height) = self.rollup().await?.frozen_at {
                self.bridge().await?;
                return Ok(height);
            }
            if self.s.now() - start > LIMIT {
                return Err(self.s.fail("the rollup is not frozen on L1"));
            }
            self.s.idle(Duration::from_millis(250)).await?;
        }
    }

    /// Waits until the watcher has `who`'s balance proven at `units`.
    async fn until_balance(&mut self, who: Role, units: u64) -> Result<(), LabError> {
        let watcher = self.watcher.clone();
        let key = l2_key(who).public();
        self.s
            .wait("a balance proven", LIMIT, |_| {
                watcher.with_follower(|f| {
                    f.state()
                        .find(&key)
                        .and_then(|i| f.state().account(i))
                        .is_some_and(|acc| acc.balance == units)
                })
            })
            .await
    }

    /// The exit proof for `who`'s account that `node`'s data can build.
    fn exit_proof(&self, node: &Shared, who: Role) -> Option<ZkExit> {
        let key = l2_key(who);
        node.with_follower(|f| {
            let account = f.state().find(&key.public())?;
            f.exit(account, &key, who.address())
        })
    }

    /// The bridge invariant at the watcher's height: the escrow holds the
    /// proven balances, the unclaimed withdrawals and the unconsumed
    /// deposits, less what exodus has paid out.
    async fn bridge(&mut self) -> Result<(), LabError> {
        let r = self.rollup().await?;
        let height = self.s.height();
        let expected = self.watcher.with_follower(|f| {
            if f.next_height() != height + 1 {
                return None;
            }
            let mut units: u128 = f
                .state()
                .accounts()
                .filter(|(i, _)| !f.exited(*i))
                .map(|(_, a)| u128::from(a.balance))
                .sum();
            units += f
                .withdrawals()
                .iter()
                .filter(|w| !w.claimed)
                .map(|w| u128::from(w.amount))
                .sum::<u128>();
            for (p, q) in f.inbox().iter().enumerate().skip(f.consumed() as usize) {
                if let terrace_zk::ops::InboxEntry::Deposit { amount, .. } = q.entry
                    && !f.refunded(p as u64)
                {
                    units += u128::from(amount);
                }
            }
            Some(units * UNIT)
        });
        if let Some(expected) = expected {
            if r.escrow.0 != expected {
                return Err(self.s.fail(format!(
                    "bridge invariant broken at L1 height {height}: escrow {} ≠ {expected}",
                    r.escrow.0
                )));
            }
            self.bridge_checks += 1;
        }
        Ok(())
    }

    /// Records that the bridge invariant was compared during the run.
    fn judge_bridge(&self, o: &mut Outcome) {
        o.happened.push_str(&format!(
            "; the zk bridge invariant held at all {} L1 heights compared, and every validator's supply audit passed",
            self.bridge_checks
        ));
        o.expect(
            self.bridge_checks > 0,
            "the bridge invariant is compared during the run",
        );
    }
}

fn ter(ater: u128) -> String {
    Amount(ater).ter()
}

/// Why an exit was not even sent.
const NO_PROOF: &str = "no exit proof could be built";

/// One TER in L2 units (nano-TER).
const TER_UNITS: u64 = 1_000_000_000;

/// The operator posts batches whose proof is for another root.
pub fn forged_proof(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut z = zk_stage("forged-proof", context, Fault::ForgeProof, true, None).await?;
        let before = z.rollup().await?;
        z.deposit(Role::Alice, 50 * TER_UNITS).await?;
        let attack_at = z.s.now();
        let operator = z.operator.clone();
        let refused = |op: &Shared| {
            op.events()
                .iter()
                .filter(|e| matches!(e, Event::Failed { failure, .. } if *failure == "zk_invalid_proof"))
                .count()
        };
        z.s.wait("three forged batches refused", LIMIT, |_| {
            refused(&operator) >= 3
        })
        .await?;
        z.bridge().await?;
        let during = z.rollup().await?;
        // Nothing was accepted: a claim against a batch fails too.
        let claim = ZkOp::Claim(Box::new(terrace_l1::modules::validity::ZkClaim {
            batch: 0,
            slot: 0,
            to: Role::Mallory.address(),
            amount: 50 * TER_UNITS,
            path: vec![[0; 32]],
        }));
        let claim_failure = z.op(Role::Mallory, claim).await?;
        // The operator never proves honestly: the rollup stalls, the
        // watcher freezes it, and Alice's deposit comes back.
        z.until_frozen().await?;
        let alice_before = z.s.l1_balance(Role::Alice.address()).await?;
        let position = during.inbox_count - 1;
        let refund = z.op(Role::Verifier, ZkOp::Refund { position }).await?;
        let alice_after = z.s.l1_balance(Role::Alice.address()).await?;
        let refunded = alice_after.0.saturating_sub(alice_before.0);
        let done_at = z.s.now();
        z.bridge().await?;
        z.s.check_l1().await?;
        let deposit = u128::from(50 * TER_UNITS) * UNIT;
        let mut o = Outcome {
            happened: format!(
                "L1 refused {} forged batches (zk_invalid_proof); the root stayed the empty tree's and the escrow at {} while they were refused; a claim against batch 0 failed ({}); the rollup froze with no batch proven and Alice's {} deposit was refunded ({})",
                refused(&z.operator),
                ter(during.escrow.0),
                claim_failure.map_or("accepted!".into(), |f| f.name().to_string()),
                ter(deposit),
                refund.map_or("paid".into(), |f| format!("failed: {}", f.name())),
            ),
            funds_lost: deposit.saturating_sub(refunded),
            resolution: done_at - attack_at,
            resolution_span: "deposit final on L1 → refunded after the freeze",
            ..Outcome::default()
        };
        o.expect(
            during.batch_count == 0 && during.root == before.root,
            "no batch with a forged proof is accepted: the root does not move",
        );
        o.expect(
            fr_from_le(&during.root) == Some(empty_root(DEPTH)),
            "the root is still the empty tree's",
        );
        o.expect(during.escrow.0 == deposit, "the escrow is untouched");
        o.expect(
            claim_failure.is_some(),
            "nothing is claimable from a forged batch",
        );
        o.expect(
            refunded == deposit,
            "the deposit is refunded after the freeze",
        );
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The operator vanishes: it proves and posts nothing more.
pub fn exodus(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut z = zk_stage("zk-exodus", context, Fault::None, true, None).await?;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        let (a, _) = z.until_proven(Role::Alice).await?;
        z.until_proven(Role::Bob).await?;
        z.transfer_final(Role::Alice, a, Role::Bob, 30 * TER_UNITS, 0)
            .await?;
        // The operator vanishes; a deposit after that is never processed.
        z.operator_task.abort();
        let vanished_at = z.s.now();
        z.deposit(Role::Bob, 5 * TER_UNITS).await?;
        let frozen = z.until_frozen().await?;
        let alice = z.exit(Role::Alice).await?;
        let bob = z.exit(Role::Bob).await?;
        let r = z.rollup().await?;
        let bob_before = z.s.l1_balance(Role::Bob.address()).await?;
        let refund = z
            .op(
                Role::Verifier,
                ZkOp::Refund {
                    position: r.inbox_count - 1,
                },
            )
            .await?;
        let refunded =
            z.s.l1_balance(Role::Bob.address())
                .await?
                .0
                .saturating_sub(bob_before.0);
        let done_at = z.s.now();
        z.bridge().await?;
        z.s.check_l1().await?;
        let escrow_left = z.rollup().await?.escrow;
        let ater = |units: u64| u128::from(units * TER_UNITS) * UNIT;
        let (want_alice, want_bob, want_refund) = (ater(70), ater(40), ater(5));
        let mut o = Outcome {
            happened: format!(
                "the operator stopped; the watcher froze the rollup at L1 block {frozen}; Alice exited with {} and Bob with {} (proofs built from L1 data alone), Bob's unprocessed {} deposit was refunded ({}); {} left in escrow",
                ter(alice),
                ter(bob),
                ter(want_refund),
                refund.map_or("paid".into(), |f| format!("failed: {}", f.name())),
                ter(escrow_left.0)
            ),
            funds_lost: want_alice.saturating_sub(alice)
                + want_bob.saturating_sub(bob)
                + want_refund.saturating_sub(refunded),
            resolution: done_at - vanished_at,
            resolution_span: "operator stops → every balance back on L1",
            ..Outcome::default()
        };
        o.expect(alice == want_alice, "Alice exits with her proven balance");
        o.expect(bob == want_bob, "Bob exits with his proven balance");
        o.expect(
            refunded == want_refund,
            "the unprocessed deposit is refunded",
        );
        o.expect(escrow_left.is_zero(), "the escrow is emptied");
        let waited = (done_at - vanished_at).as_millis() as u64;
        o.expect(
            waited <= (EXODUS_AFTER + 40) * BLOCK_MS,
            format!(
                "within the exodus delay and 40 blocks ({})",
                human_ms((EXODUS_AFTER + 40) * BLOCK_MS)
            ),
        );
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The operator refuses Alice's operations and stalls at her forced exit.
pub fn censorship(seed: u64) -> Result<Outcome, LabError> {
    censorship_with(seed, true)
}

/// The same attack with nobody to freeze the rollup and Alice not
/// exiting: her funds stay locked (the judge must see the loss).
fn censorship_unwatched(seed: u64) -> Result<Outcome, LabError> {
    censorship_with(seed, false)
}

fn censorship_with(seed: u64, defended: bool) -> Result<Outcome, LabError> {
    play(seed, move |context| async move {
        // Alice's deposit is the first: account 0.
        let mut z = zk_stage("zk-censorship", context, Fault::Censor(0), defended, None).await?;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        let (a, _) = z.until_proven(Role::Alice).await?;
        if a != 0 {
            return Err(z.s.fail("Alice's account is not 0"));
        }
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        let (b, _) = z.until_proven(Role::Bob).await?;
        let alice = l2_key(Role::Alice);
        let t = L2Op::Transfer(Transfer::sign(
            &alice,
            z.domain,
            a,
            l2_key(Role::Bob).public(),
            TER_UNITS,
            0,
        ));
        let refused = matches!(
            z.operator.submit(&t, z.s.now().as_millis() as u64),
            Err(SubmitError::Refused)
        );
        // Alice forces her exit through L1.
        let serial = 1;
        let message = exit_message(
            z.domain,
            code::FORCED_EXIT,
            a,
            serial,
            &Role::Alice.address().0,
        );
        let forced = ZkOp::ForcedExit {
            account: a,
            serial,
            key: alice.public().pack(),
            to: Role::Alice.address(),
            signature: alice.sign(message).pack(),
        };
        if let Some(f) = z.op(Role::Alice, forced).await? {
            return Err(z.s.fail(format!("forced exit refused: {f}")));
        }
        let forced_at = z.s.now();
        // Bob keeps using the rollup: batches keep landing without her exit.
        for nonce in 0..2 {
            let t = L2Op::Transfer(Transfer::sign(
                &l2_key(Role::Bob),
                z.domain,
                b,
                l2_key(Role::Mallory).public(),
                TER_UNITS,
                nonce,
            ));
            z.operator
                .submit(&t, z.s.now().as_millis() as u64)
                .map_err(|e| z.s.fail(format!("Bob's transfer refused: {e}")))?;
        }
        let batches_before = z.rollup().await?.batch_count;
        z.s.idle(Duration::from_secs(3)).await?;
        let batches_during = z.rollup().await?.batch_count - batches_before;
        let (received, frozen) = if defended {
            let frozen = z.until_frozen().await?;
            (z.exit(Role::Alice).await?, Some(frozen))
        } else {
            z.s.idle(Duration::from_millis(
                (INBOX_DEADLINE + EXODUS_AFTER) * BLOCK_MS,
            ))
            .await?;
            (0, None)
        };
        let done_at = z.s.now();
        z.bridge().await?;
        z.s.check_l1().await?;
        let want = u128::from(100 * TER_UNITS) * UNIT;
        let mut o = Outcome {
            happened: format!(
                "the operator refused Alice's transfer ({}) and left her forced exit unprocessed while {batches_during} batch(es) of Bob's landed; {}; Alice received {} on L1",
                if refused { "refused" } else { "NOT refused" },
                match frozen {
                    Some(h) => format!(
                        "past the inbox deadline the watcher froze the rollup at L1 block {h} and she exited with a Merkle proof"
                    ),
                    None => "nobody froze the rollup (sabotaged: no watcher, no exit)".into(),
                },
                ter(received)
            ),
            funds_lost: want.saturating_sub(received),
            resolution: done_at - forced_at,
            resolution_span: "forced exit final on L1 → Alice's balance on L1",
            ..Outcome::default()
        };
        o.expect(
            received == want,
            "the censored user gets her whole balance out",
        );
        let waited = (done_at - forced_at).as_millis() as u64;
        o.expect(
            waited <= (INBOX_DEADLINE + 40) * BLOCK_MS,
            format!(
                "within the inbox deadline and 40 blocks ({})",
                human_ms((INBOX_DEADLINE + 40) * BLOCK_MS)
            ),
        );
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The zk-rollup's scenarios.
pub fn catalog() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "forged-proof",
            design: "zk-rollup",
            attack: "the operator posts batches whose validity proof is for another state root",
            promise: "L1 accepts no batch whose proof does not verify: the root and the escrow do not move, nothing is claimable from a forged batch, and once the rollup stalls it freezes and every deposit is refunded",
            seed: 81,
            play: forged_proof,
            sabotage: None,
        },
        Scenario {
            name: "zk-exodus",
            design: "zk-rollup",
            attack: "the operator vanishes: it proves and posts nothing more",
            promise: "after the exodus delay anyone freezes the rollup; every account exits with its last proven balance (its Merkle proof built from L1 data alone) and every unprocessed deposit is refunded: nobody loses anything",
            seed: 82,
            play: exodus,
            sabotage: None,
        },
        Scenario {
            name: "zk-censorship",
            design: "zk-rollup",
            attack: "the operator refuses a user's operations and never processes her forced exit, while it keeps proving others' batches",
            promise: "past the inbox deadline anyone freezes the rollup and the censored user exits with her whole balance",
            seed: 83,
            play: censorship,
            sabotage: Some(censorship_unwatched),
        },
        Scenario {
            name: "validium-withholding",
            design: "validium",
            attack: "the operator and t = 2 of the 3 committee members sign a batch and give its data to nobody, then the operator stops",
            promise: "nobody can steal — L1 still verifies the batch's proof — but every honest balance freezes in escrow: without the data no exit proof against the last root can be built (what a validium's users trust the committee for)",
            seed: 84,
            play: validium::validium_withholding,
            sabotage: None,
        },
        Scenario {
            name: "zk-withholding",
            design: "zk-rollup",
            attack: "the same attack on the zk-rollup: the operator shares a batch's data with nobody but L1 (which takes no batch without it), then stops",
            promise: "the data is in the batch's L1 transaction: a full node replays it, and after the freeze every balance exits — nothing is frozen",
            seed: 85,
            play: validium::zk_withholding,
            sabotage: None,
        },
        Scenario {
            name: "dac-forgery",
            design: "validium",
            attack: "the operator, with one colluding member, sends a batch on forged attestations: too few signatures, one replayed from the previous batch, one by a key outside the committee, one under an index beyond it, one member twice",
            promise: "L1 accepts a batch only on t distinct members' signatures over this batch's commitment: each forgery is refused with its reason and changes nothing, and honest batches land after",
            seed: 86,
            play: validium::dac_forgery,
            sabotage: None,
        },
        Scenario {
            name: "dac-member-crash",
            design: "validium",
            attack: "n − t committee members crash while users transfer and withdraw, then restart from their stores, one after another",
            promise: "batches keep landing on the other members' signatures, every batch stays held by at least t members, a full node rebuilds L1's root from their data and the withdrawal is paid: nothing is lost",
            seed: 87,
            play: validium::dac_member_crash,
            sabotage: Some(validium::dac_too_many_down),
        },
        Scenario {
            name: "validium-data-loss",
            design: "validium",
            attack: "after the data was served, every committee member loses its store, the operator stops, and no full node kept the data",
            promise: "a user who kept a copy of her own account's exit proof after the last batch (what `terrace zk` keeps by default) exits with her balance; a user who kept none is frozen, as the trust model says: nobody takes anything",
            seed: 88,
            play: validium::data_loss,
            sabotage: None,
        },
    ]
}
