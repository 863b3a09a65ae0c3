//! The validium under attack: its committee withholds, forges, crashes.
//! The same stage as the zk-rollup's scenarios, with the rollup's data
//! kept by a committee of [`COMMITTEE`] members instead of L1.

use super::{
    LIMIT, NO_PROOF, TER_UNITS, ZkStage, l2_key, operator_config, proving_key, ter, zk_stage,
};
use crate::{
    LabError,
    designs::zk::{COMMITTEE, run::member_key},
    scenario::{Outcome, play, stage::Role},
};
use std::time::Duration;
use terrace_l1::modules::validity::{
    BatchData, DAC_NAMESPACE, MemberSignature, UNIT, ZkBatchSubmission, ZkOp, attestation_message,
};
use terrace_node::client::L1 as _;
use terrace_primitives::keys;
use terrace_zk::{
    fr_to_le,
    ops::{Transfer, Withdraw},
};
use terrace_zkrollup::{
    Fault, L2Op, Stage as OpStage,
    dac::{AnyCommittee, Committee as _, Conduct, LocalCommittee},
    deploy::{self, ProverSetup},
    l1::ZkTx,
};

/// aTER of `units` L2 units.
fn ater(units: u64) -> u128 {
    u128::from(units) * UNIT
}

impl ZkStage {
    /// The validium's committee.
    fn members(&self) -> Result<LocalCommittee, LabError> {
        self.committee
            .as_ref()
            .map(|(c, _)| c.clone())
            .ok_or_else(|| self.s.fail("not a validium"))
    }

    /// Members that serve batch `index` with data matching `commitment`.
    fn holders(&self, index: u64, commitment: &[u8; 32]) -> Result<usize, LabError> {
        let c = self.members()?;
        Ok((0..c.members() as u8)
            .filter(|m| {
                c.with_member(*m, |m| m.get(index, commitment).is_some())
                    .unwrap_or(false)
            })
            .count())
    }
}

/// What an exit attempt came to, for the report.
fn said(r: &Result<u128, String>) -> String {
    match r {
        Ok(paid) => format!("paid {}", ter(*paid)),
        Err(why) => format!("refused ({why})"),
    }
}

/// `validium-withholding`: see [`withholding`].
pub fn validium_withholding(seed: u64) -> Result<Outcome, LabError> {
    withholding(seed, true)
}

/// `zk-withholding`: the same attack on the zk-rollup.
pub fn zk_withholding(seed: u64) -> Result<Outcome, LabError> {
    withholding(seed, false)
}

/// The operator, with t members colluding on a validium, lands a
/// batch whose data it gives nobody, then stops. Alice and Bob, who kept
/// no data but Alice's copy of her own last exit proof, try to exit once
/// the rollup is frozen; Mallory (the attacker's account) exits with the
/// data the operator kept.
fn withholding(seed: u64, validium: bool) -> Result<Outcome, LabError> {
    play(seed, move |context| async move {
        let (name, committee) = if validium {
            ("validium-withholding", Some(COMMITTEE))
        } else {
            ("zk-withholding", None)
        };
        let mut z = zk_stage(name, context, Fault::None, true, committee).await?;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        let (a, _) = z.until_proven(Role::Alice).await?;
        z.until_proven(Role::Bob).await?;
        z.transfer_final(Role::Alice, a, Role::Bob, 30 * TER_UNITS, 0)
            .await?;
        z.until_balance(Role::Bob, 40 * TER_UNITS).await?;
        // Alice's own copy: her exit proof against the last root she saw
        // proven (what a careful user keeps).
        let copy = z.exit_proof(&z.watcher, Role::Alice);
        let want_alice = ater(70 * TER_UNITS);
        let want_bob = ater(40 * TER_UNITS);

        // The attack: the honest operator gives way to one that
        // withholds, with t members colluding on a validium: the honest
        // ones sign nothing they did not receive.
        z.operator_task.abort();
        let mut attacker = operator_config(z.deployment).with_fault(Fault::Withhold);
        if validium {
            let c = z.members()?;
            for m in 0..COMMITTEE.1 {
                c.set_conduct(m, Conduct::Withhold)
                    .map_err(|e| z.s.fail(e.to_string()))?;
            }
            attacker = attacker.with_committee(AnyCommittee::Local(c));
        }
        let (task, op) = deploy::start(
            &z.s.context,
            z.s.l1.clone(),
            attacker,
            Some(ProverSetup::new(vec![proving_key()], [9; 32])),
        )
        .await
        .map_err(|e| z.s.fail(e.to_string()))?;
        let before = z.rollup().await?.batch_count;
        let attack_at = z.s.now();
        // Mallory's deposit: the withheld batch must take it from the inbox.
        let mallory_deposit = TER_UNITS;
        z.deposit(Role::Mallory, mallory_deposit).await?;
        let landed = op.clone();
        z.s.wait("the attacker's batch lands", LIMIT, |_| {
            landed.with_follower(|f| f.batch_count()) > before
        })
        .await?;
        task.abort();
        let r = z.rollup().await?;
        let index = before;
        let commitment = op.with_follower(|f| {
            f.batches()
                .get(index as usize)
                .map(|b| fr_to_le(&b.statement.data))
        });
        let commitment = commitment.ok_or_else(|| z.s.fail("the attacker's batch is unknown"))?;
        let (holders, honest_versions) = if validium {
            let c = z.members()?;
            let versions: usize = (COMMITTEE.1..COMMITTEE.0)
                .map(|honest| {
                    c.with_member(honest, |m| m.versions(index).len())
                        .unwrap_or(0)
                })
                .sum();
            (z.holders(index, &commitment)?, versions)
        } else {
            (0, 0)
        };
        let frozen_at = z.until_frozen_on_l1().await?;
        let replayed = z.watcher.with_follower(|f| f.batch_count());

        // Everyone tries to get out, with the data they can get.
        let alice_exit = z.exit_proof(&z.watcher, Role::Alice);
        let alice = z.try_exit(Role::Alice, alice_exit).await?;
        let bob_exit = z.exit_proof(&z.watcher, Role::Bob);
        let bob = z.try_exit(Role::Bob, bob_exit).await?;
        let had_copy = copy.is_some();
        let alice_copy = if alice.is_ok() {
            None
        } else {
            Some(z.try_exit(Role::Alice, copy).await?)
        };
        let mallory_exit = z.exit_proof(&op, Role::Mallory);
        let mallory = z.try_exit(Role::Mallory, mallory_exit).await?;
        let done_at = z.s.now();
        z.bridge().await?;
        z.s.check_l1().await?;
        let escrow_left = z.rollup().await?.escrow.0;

        let paid = |r: &Result<u128, String>| *r.as_ref().unwrap_or(&0);
        let alice_paid = paid(&alice) + alice_copy.as_ref().map_or(0, paid);
        let frozen_alice = want_alice.saturating_sub(alice_paid);
        let frozen_bob = want_bob.saturating_sub(paid(&bob));
        let frozen = frozen_alice + frozen_bob;
        // The attacker may take its own deposit back, never more.
        let taken = paid(&mallory).saturating_sub(ater(mallory_deposit));
        let mut o = Outcome {
            happened: format!(
                "{}; batch {index} landed (L1 batch count {}); {}; the watcher froze the rollup at L1 block {frozen_at} having replayed {replayed} of {} batches; Alice's exit {}, Bob's {}{}; Mallory's exit, built from the attacker's own data, {}. Frozen for good: Alice {}, Bob {}; {} left in escrow",
                if validium {
                    format!(
                        "the operator and {} of {} members signed batch {index} and gave its data to nobody",
                        COMMITTEE.1, COMMITTEE.0
                    )
                } else {
                    format!(
                        "the operator shared batch {index}'s data with nobody but L1, which takes no batch without it"
                    )
                },
                r.batch_count,
                if validium {
                    format!(
                        "{holders} members serve its data; the honest member(s) hold {honest_versions} version(s) of it (they refused to sign data they never received)"
                    )
                } else {
                    "its data is on L1 for anyone".into()
                },
                r.batch_count,
                said(&alice),
                said(&bob),
                alice_copy
                    .as_ref()
                    .map(|c| format!(
                        "; Alice's own copy of her exit proof from before the attack was {} (it proves her balance under a root that is no longer the last)",
                        said(c)
                    ))
                    .unwrap_or_default(),
                said(&mallory),
                ter(frozen_alice),
                ter(frozen_bob),
                ter(escrow_left),
            ),
            funds_lost: taken,
            funds_frozen: frozen,
            resolution: done_at - attack_at,
            resolution_span: "the withheld batch's deposit → frozen, every exit tried",
            ..Outcome::default()
        };
        o.expect(
            r.batch_count == index + 1,
            "the attacker's batch lands: its proof is valid",
        );
        o.expect(
            taken == 0,
            "nobody takes what is not theirs: the proof still holds",
        );
        o.expect(
            escrow_left == frozen,
            "what honest users cannot exit stays in escrow",
        );
        if validium {
            o.expect(
                honest_versions == 0,
                "an honest member signs nothing it did not receive",
            );
            o.expect(holders == 0, "nobody serves the withheld data");
            o.expect(
                replayed == index,
                "a full node cannot replay past the withheld batch",
            );
            let refused =
                |r: &Result<u128, String>| matches!(r, Err(why) if why == "zk_invalid_exit_proof");
            o.expect(
                frozen == want_alice + want_bob && refused(&alice) && refused(&bob),
                "every honest balance is frozen: L1 refuses every exit proof the data anyone honest holds can build (zk_invalid_exit_proof)",
            );
            o.expect(
                had_copy && alice_copy.as_ref().is_some_and(refused),
                "a copy of one's own account from before the withheld batch does not prove against the last root",
            );
        } else {
            o.expect(
                replayed == index + 1,
                "a full node replays the batch from its data on L1",
            );
            o.expect(
                frozen == 0 && alice.is_ok() && bob.is_ok(),
                "nothing is frozen: every balance exits with a proof built from L1 data",
            );
        }
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The rogue operator's batch signatures: each forgery with the failure
/// L1 must answer it with.
type Forgery = (&'static str, Vec<MemberSignature>, &'static str);

/// `dac-forgery`: the operator, colluding with one member (fewer than the
/// threshold), tries to land a batch on signatures the committee did not
/// give: too few, one replayed from the previous batch (read from L1), one
/// by a key outside the committee under a member's index, one under an
/// index beyond the committee, one member twice. Each is refused and
/// changes nothing; the honest operator then carries on.
pub fn dac_forgery(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut z = zk_stage("dac-forgery", context, Fault::None, false, Some(COMMITTEE)).await?;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        z.until_proven(Role::Alice).await?;
        // The operator goes rogue: its node stops, it signs batches itself.
        z.operator_task.abort();
        z.s.idle(Duration::from_secs(1)).await?;
        let before = z.rollup().await?;
        let index = before.batch_count;
        let previous = landed_submission(&z, index - 1).await?;
        let BatchData::Attested {
            commitment,
            signatures,
        } = &previous.data
        else {
            return Err(z.s.fail("the previous batch carries no attestation"));
        };
        let colluder = 0u8;
        let sign = |key: &terrace_primitives::PrivateKey, member: u8| MemberSignature {
            member,
            signature: keys::sign(
                key,
                DAC_NAMESPACE,
                &attestation_message(&before.domain, index, commitment),
            ),
        };
        let own = sign(&member_key(colluder), colluder);
        let replayed = signatures
            .iter()
            .find(|s| s.member != colluder)
            .cloned()
            .ok_or_else(|| {
                z.s.fail("the previous batch has no other member's signature")
            })?;
        let outsider = Role::Mallory.key();
        let forgeries: Vec<Forgery> = vec![
            (
                "one member's signature where 2 are needed",
                vec![own.clone()],
                "zk_too_few_attestations",
            ),
            (
                "a member's signature replayed from the previous batch",
                vec![own.clone(), replayed],
                "zk_invalid_attestation",
            ),
            (
                "a key outside the committee signing as member 1",
                vec![own.clone(), sign(&outsider, 1)],
                "zk_invalid_attestation",
            ),
            (
                "a signature under member index 3 of a committee of 3",
                vec![own.clone(), sign(&outsider, COMMITTEE.0)],
                "zk_unknown_member",
            ),
            (
                "the colluding member's signature twice",
                vec![own.clone(), own],
                "zk_duplicate_signer",
            ),
        ];
        let attack_at = z.s.now();
        let mut answers = Vec::new();
        let mut unchanged = true;
        for (what, signatures, want) in &forgeries {
            let forged = ZkBatchSubmission {
                index,
                data: BatchData::Attested {
                    commitment: *commitment,
                    signatures: signatures.clone(),
                },
                ..previous.clone()
            };
            let failure = z
                .op(Role::Operator, ZkOp::SubmitBatch(Box::new(forged)))
                .await?;
            let got = failure.map(|f| f.name());
            let after = z.rollup().await?;
            unchanged &= after.batch_count == before.batch_count
                && after.root == before.root
                && after.escrow == before.escrow;
            answers.push((what, got, want));
        }
        // The honest operator carries on: a deposit after the forgeries
        // is proven on the committee's word.
        let (task, operator) = deploy::start(
            &z.s.context,
            z.s.l1.clone(),
            operator_config(z.deployment).with_committee(AnyCommittee::Local(z.members()?)),
            Some(ProverSetup::new(vec![proving_key()], [2; 32])),
        )
        .await
        .map_err(|e| z.s.fail(e.to_string()))?;
        z.operator_task = task;
        z.operator = operator;
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        let (_, bob) = z.until_proven(Role::Bob).await?;
        let done_at = z.s.now();
        let (_, alice) = z
            .proven(Role::Alice)
            .ok_or_else(|| z.s.fail("Alice's account vanished"))?;
        let after = z.rollup().await?;
        z.bridge().await?;
        z.s.check_l1().await?;
        let refused = answers
            .iter()
            .filter(|(_, got, want)| *got == Some(**want))
            .count();
        let mut o = Outcome {
            happened: format!(
                "the operator, colluding with member {colluder}, sent batch {index} {} times on forged signatures: {}; L1's record (batch count, root, escrow) {} after each; the honest operator then resumed and Bob's deposit was proven in batch {} (Alice {}, Bob {} proven)",
                forgeries.len(),
                answers
                    .iter()
                    .map(|(what, got, _)| format!(
                        "{what} → {}",
                        got.map_or("ACCEPTED".into(), |g| g.to_string())
                    ))
                    .collect::<Vec<_>>()
                    .join("; "),
                if unchanged { "unchanged" } else { "CHANGED" },
                after.batch_count.saturating_sub(1),
                ter(ater(alice)),
                ter(ater(bob)),
            ),
            funds_lost: ater(100 * TER_UNITS).saturating_sub(ater(alice))
                + ater(10 * TER_UNITS).saturating_sub(ater(bob)),
            resolution: done_at - attack_at,
            resolution_span: "first forged batch sent → the honest operator's next batch proven",
            ..Outcome::default()
        };
        o.expect(
            refused == forgeries.len(),
            "L1 refuses each forgery with its reason",
        );
        o.expect(unchanged, "a refused batch changes nothing on L1");
        o.expect(
            after.batch_count > index,
            "honest batches land after the forgeries",
        );
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// The batch submission L1 accepted as batch `index`, read from the block
/// that proved it (what anyone can see).
async fn landed_submission(z: &ZkStage, index: u64) -> Result<ZkBatchSubmission, LabError> {
    for height in 1..=z.s.height() {
        let block =
            z.s.l1
                .block(height)
                .await
                .map_err(|e| z.s.fail(e.to_string()))?;
        for tx in ZkTx::of_block(&block) {
            if let ZkOp::SubmitBatch(b) = tx.op
                && tx.rollup == z.deployment.rollup
                && tx.failure.is_none()
                && b.index == index
            {
                return Ok(*b);
            }
        }
    }
    Err(z.s.fail(format!("batch {index} is not on L1")))
}

/// `dac-member-crash`: see [`member_crash`].
pub fn dac_member_crash(seed: u64) -> Result<Outcome, LabError> {
    member_crash(seed, &[2])
}

/// The same with more members down at once than the committee tolerates
/// (n − t + 1): batches stop landing while they are down (the judge must
/// see it).
pub(super) fn dac_too_many_down(seed: u64) -> Result<Outcome, LabError> {
    member_crash(seed, &[1, 2])
}

/// Members `down` crash while users transfer and withdraw, then restart
/// from their stores; then member 0 crashes for the next batch. Batches
/// land while at least t members are up, every batch ends up held by at
/// least t members, a full node rebuilds L1's root from their data, and
/// the withdrawal is paid.
fn member_crash(seed: u64, down: &'static [u8]) -> Result<Outcome, LabError> {
    play(seed, move |context| async move {
        let mut z = zk_stage(
            "dac-member-crash",
            context,
            Fault::None,
            false,
            Some(COMMITTEE),
        )
        .await?;
        let c = z.members()?;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        let (a, _) = z.until_proven(Role::Alice).await?;
        let (b, _) = z.until_proven(Role::Bob).await?;
        let (alice, bob) = (l2_key(Role::Alice), l2_key(Role::Bob));
        let crash_at = z.s.now();
        for m in down {
            c.crash(*m).map_err(|e| z.s.fail(e.to_string()))?;
        }
        let ops = [
            L2Op::Transfer(Transfer::sign(
                &alice,
                z.domain,
                a,
                bob.public(),
                30 * TER_UNITS,
                0,
            )),
            L2Op::Withdraw(Withdraw::sign(
                &bob,
                z.domain,
                b,
                Role::Bob.address().0,
                5 * TER_UNITS,
                0,
            )),
        ];
        let mut ids = Vec::new();
        for op in &ops {
            let r = z
                .operator
                .submit(op, z.s.now().as_millis() as u64)
                .map_err(|e| z.s.fail(e.to_string()))?;
            ids.push(r.id);
        }
        let operator = z.operator.clone();
        let all_final = move || {
            ids.iter()
                .all(|id| matches!(operator.stage(id), Some(OpStage::Final(_))))
        };
        let check = all_final.clone();
        let while_down = z.s.until(Duration::from_secs(60), |_| check()).await?;
        let first_final = z.s.now();
        for m in down {
            c.restart(*m).map_err(|e| z.s.fail(e.to_string()))?;
        }
        z.s.wait("the transfers final with every member back", LIMIT, |_| {
            all_final()
        })
        .await?;
        c.crash(0).map_err(|e| z.s.fail(e.to_string()))?;
        let t = L2Op::Transfer(Transfer::sign(
            &alice,
            z.domain,
            a,
            bob.public(),
            TER_UNITS,
            1,
        ));
        let id = z
            .operator
            .submit(&t, z.s.now().as_millis() as u64)
            .map_err(|e| z.s.fail(e.to_string()))?
            .id;
        let operator = z.operator.clone();
        let second =
            z.s.until(Duration::from_secs(60), |_| {
                matches!(operator.stage(&id), Some(OpStage::Final(_)))
            })
            .await?;
        c.restart(0).map_err(|e| z.s.fail(e.to_string()))?;
        z.until_balance(Role::Bob, 36 * TER_UNITS).await?;
        let r = z.rollup().await?;
        let rebuilt = z
            .watcher
            .with_follower(|f| fr_to_le(&f.state().root()) == r.root);
        let mut least_held = usize::MAX;
        for index in 0..r.batch_count {
            let commitment = z.watcher.with_follower(|f| {
                f.batches()
                    .get(index as usize)
                    .map(|b| fr_to_le(&b.statement.data))
            });
            let commitment =
                commitment.ok_or_else(|| z.s.fail(format!("batch {index} not replayed")))?;
            least_held = least_held.min(z.holders(index, &commitment)?);
        }
        // Bob claims his withdrawal, final at once.
        let withdrawal = z
            .watcher
            .with_follower(|f| {
                f.withdrawals()
                    .iter()
                    .find(|w| w.to == Role::Bob.address())
                    .copied()
            })
            .ok_or_else(|| z.s.fail("Bob's withdrawal not proven"))?;
        let claim = z
            .watcher
            .with_follower(|f| f.claim(withdrawal.batch, withdrawal.slot))
            .ok_or_else(|| z.s.fail("no claim proof"))?;
        let before = z.s.l1_balance(Role::Bob.address()).await?;
        let claimed = z.op(Role::Verifier, ZkOp::Claim(Box::new(claim))).await?;
        let received =
            z.s.l1_balance(Role::Bob.address())
                .await?
                .0
                .saturating_sub(before.0);
        let done_at = z.s.now();
        let (_, alice_now) = z
            .proven(Role::Alice)
            .ok_or_else(|| z.s.fail("Alice's account vanished"))?;
        z.bridge().await?;
        z.s.check_l1().await?;
        let want_withdrawal = ater(5 * TER_UNITS);
        let mut o = Outcome {
            happened: format!(
                "member(s) {down:?} of {} crashed: the transfer and the withdrawal were {} ({}); with them restarted from disk and member 0 down, the next transfer {}; {} batches landed, each held by at least {least_held} members; the watcher {} L1's root from the members' data; Bob's {} withdrawal was claimed ({}): {} paid; Alice {} proven",
                COMMITTEE.0,
                if while_down {
                    "final while they were down"
                } else {
                    "NOT final while they were down (60 s)"
                },
                crate::design::human_ms((first_final - crash_at).as_millis() as u64),
                if second {
                    "was final"
                } else {
                    "was NOT final within 60 s"
                },
                r.batch_count,
                if rebuilt {
                    "rebuilt"
                } else {
                    "did NOT rebuild"
                },
                ter(want_withdrawal),
                claimed.map_or("paid".into(), |f| format!("failed: {}", f.name())),
                ter(received),
                ter(ater(alice_now)),
            ),
            funds_lost: want_withdrawal.saturating_sub(received)
                + ater(69 * TER_UNITS).saturating_sub(ater(alice_now)),
            resolution: done_at - crash_at,
            resolution_span: "first member down → the withdrawal paid on L1",
            ..Outcome::default()
        };
        o.expect(
            while_down && second,
            format!(
                "batches keep landing with member(s) {down:?} down (the committee tolerates n − t = {})",
                COMMITTEE.0 - COMMITTEE.1
            ),
        );
        o.expect(
            least_held >= usize::from(COMMITTEE.1),
            "every batch is held by at least t members",
        );
        o.expect(
            rebuilt,
            "a full node rebuilds L1's root from the members' data",
        );
        o.expect(received == want_withdrawal, "the withdrawal is paid");
        z.judge_bridge(&mut o);
        Ok(o)
    })
}

/// `validium-data-loss`: the data was served, then every member loses its
/// store, the operator stops, and no full node kept the data (the watcher
/// is replaced by a fresh one that must rebuild from the committee).
/// Alice and Bob kept their own exit proofs after the last batch, Carol
/// (the sequencer role's key, a third user here) kept none.
pub fn data_loss(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut z = zk_stage(
            "validium-data-loss",
            context,
            Fault::None,
            true,
            Some(COMMITTEE),
        )
        .await?;
        let carol = Role::Sequencer;
        z.deposit(Role::Alice, 100 * TER_UNITS).await?;
        z.deposit(Role::Bob, 10 * TER_UNITS).await?;
        z.deposit(carol, 20 * TER_UNITS).await?;
        let (a, _) = z.until_proven(Role::Alice).await?;
        z.until_proven(Role::Bob).await?;
        z.until_proven(carol).await?;
        z.transfer_final(Role::Alice, a, Role::Bob, 30 * TER_UNITS, 0)
            .await?;
        let watcher = z.watcher.clone();
        let last = z.rollup().await?.batch_count;
        z.s.wait("the watcher at the last batch", LIMIT, |_| {
            watcher.with_follower(|f| f.batch_count()) == last
        })
        .await?;
        // The copies, made after the last batch.
        let copies = [
            (Role::Alice, z.exit_proof(&z.watcher, Role::Alice)),
            (Role::Bob, z.exit_proof(&z.watcher, Role::Bob)),
        ];
        let want = [
            (Role::Alice, ater(70 * TER_UNITS)),
            (Role::Bob, ater(40 * TER_UNITS)),
            (carol, ater(20 * TER_UNITS)),
        ];

        // The data is lost everywhere.
        let loss_at = z.s.now();
        z.operator_task.abort();
        z.watcher_task.abort();
        let c = z.members()?;
        let stores = z
            .committee
            .as_ref()
            .map(|(_, dir)| dir.path().to_path_buf())
            .ok_or_else(|| z.s.fail("not a validium"))?;
        for m in 0..c.members() as u8 {
            c.crash(m).map_err(|e| z.s.fail(e.to_string()))?;
            let dir = stores.join(format!("member{m}"));
            std::fs::remove_dir_all(&dir)
                .map_err(|e| z.s.fail(format!("{}: {e}", dir.display())))?;
            c.restart(m).map_err(|e| z.s.fail(e.to_string()))?;
        }
        let fresh = terrace_zkrollup::NodeConfig {
            freezer: true,
            ..terrace_zkrollup::NodeConfig::watcher(z.deployment, Role::Verifier.key())
        }
        .with_committee(AnyCommittee::Local(c.clone()));
        let (task, watcher) = deploy::start(&z.s.context, z.s.l1.clone(), fresh, None)
            .await
            .map_err(|e| z.s.fail(e.to_string()))?;
        z.watcher_task = task;
        z.watcher = watcher;
        let frozen_at = z.until_frozen_on_l1().await?;
        let replayed = z.watcher.with_follower(|f| f.batch_count());

        let mut results = Vec::new();
        for (who, _) in want {
            let copy = copies
                .iter()
                .find(|(w, _)| *w == who)
                .and_then(|(_, c)| c.clone());
            let kept = copy.is_some();
            let exit = match copy {
                Some(copy) => Some(copy),
                None => z.exit_proof(&z.watcher, who),
            };
            results.push((who, kept, z.try_exit(who, exit).await?));
        }
        let done_at = z.s.now();
        z.s.check_l1().await?;
        let escrow_left = z.rollup().await?.escrow.0;
        let paid = |r: &Result<u128, String>| *r.as_ref().unwrap_or(&0);
        let mut frozen = 0;
        let mut taken = 0;
        let mut saved = 0;
        let mut lines = Vec::new();
        for ((who, kept, r), (_, owed)) in results.iter().zip(want) {
            frozen += owed.saturating_sub(paid(r));
            taken += paid(r).saturating_sub(owed);
            saved += usize::from(*kept && paid(r) == owed);
            lines.push(format!(
                "{} ({}): {}",
                match who {
                    Role::Alice => "Alice",
                    Role::Bob => "Bob",
                    _ => "Carol",
                },
                if *kept { "kept a copy" } else { "kept nothing" },
                said(r)
            ));
        }
        let kept = copies.iter().filter(|(_, c)| c.is_some()).count();
        let mut o = Outcome {
            happened: format!(
                "after {last} batches, every member lost its store and the operator stopped; a fresh full node replayed {replayed} of {last} batches from the committee and froze the rollup at L1 block {frozen_at}; {}. Saved by their own copy: {saved} of {kept} users who kept one; frozen: {}; {} left in escrow",
                lines.join("; "),
                ter(frozen),
                ter(escrow_left)
            ),
            funds_lost: taken,
            funds_frozen: frozen,
            resolution: done_at - loss_at,
            resolution_span: "the data lost → frozen, every exit tried",
            ..Outcome::default()
        };
        o.expect(replayed < last, "no full node can rebuild the state");
        o.expect(
            saved == kept && kept == 2,
            "every user who kept her copy exits with her whole balance",
        );
        let carol_refused = results
            .iter()
            .any(|(who, _, r)| *who == carol && matches!(r, Err(why) if why == NO_PROOF));
        o.expect(
            frozen == ater(20 * TER_UNITS) && carol_refused,
            "the user who kept nothing is frozen: nobody can build her exit proof",
        );
        o.expect(taken == 0, "nobody takes what is not theirs");
        o.expect(escrow_left == frozen, "what is frozen stays in escrow");
        z.judge_bridge(&mut o);
        Ok(o)
    })
}
