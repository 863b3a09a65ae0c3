//! Optimistic-rollup settlement on L1, played against a real L2 state:
//! deposits, batches, withdrawals, the bisection game with one-step
//! proofs, forced inclusion, the escape hatch, and refused input.
//!
//! Every block checks the supply invariant (in the common chain) and the
//! bridge invariant: escrow = L2 supply + withdrawals not yet claimed.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use super::{testing::*, *};
use crate::{Payload, testing::*};
use commonware_codec::{DecodeExt as _, Encode as _};
use terrace_l2::{
    AggregateProof, Batch, BlockTx, BlsRegistration, InboxMessage, L2Transaction, Step,
    batch::AGGREGATE_CHUNK,
};
use terrace_primitives::{Amount, BlsSignature, Hash, hash, keys::Signer as _};

#[test]
fn deposit_transfer_withdraw_and_claim_after_the_window() {
    let mut w = funded_world();
    let (alice, bob) = (key(1), key(2));
    let batch = w.batch(vec![
        transfer(&alice, 0, 0, 1, 5 * ETHER),
        withdraw(&bob, 1, 0, 20 * ETHER),
    ]);
    assert_eq!(w.post(&sequencer(), &batch, None), None);

    // Not final yet.
    let claim = claim_of(&w, 1, 0);
    assert_eq!(
        w.send(&bob, RollupOp::Claim(Box::new(claim.clone()))),
        Some(Failure::Optimistic(OptimisticFailure::NotFinal))
    );
    w.wait(WINDOW);
    let bob_l1 = w.c.state.account(&addr(&bob)).balance;
    // Anyone may claim for bob; pay from a third party to see bob credited.
    w.claimed = Amount(20 * ETHER);
    assert_eq!(
        w.send(&key(4), RollupOp::Claim(Box::new(claim.clone()))),
        None
    );
    assert_eq!(
        w.c.state.account(&addr(&bob)).balance.0,
        bob_l1.0 + 20 * ETHER
    );
    // A second claim of the same withdrawal.
    assert_eq!(
        w.send(&key(4), RollupOp::Claim(Box::new(claim))),
        Some(Failure::Optimistic(OptimisticFailure::AlreadyClaimed))
    );
}

#[test]
fn forged_and_premature_claims_change_nothing() {
    let mut w = funded_world();
    let bob = key(2);
    let batch = w.batch(vec![withdraw(&bob, 1, 0, 20 * ETHER)]);
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    w.wait(WINDOW);
    let honest = claim_of(&w, 1, 0);
    let escrow = w.rollup().escrow;

    let mut more = honest.clone();
    more.withdrawal.amount = Amount(21 * ETHER);
    let mut thief = honest.clone();
    thief.withdrawal.recipient = addr(&key(4));
    let mut other_state = honest.clone();
    other_state.state.withdrawal_count += 1;
    let mut past_end = honest.clone();
    past_end.index = 1;
    let mut unknown_batch = honest.clone();
    unknown_batch.batch = 5;
    for (claim, want) in [
        (
            more,
            Failure::Optimistic(OptimisticFailure::InvalidWithdrawalProof),
        ),
        (
            thief,
            Failure::Optimistic(OptimisticFailure::InvalidWithdrawalProof),
        ),
        (
            other_state,
            Failure::Optimistic(OptimisticFailure::InvalidWithdrawalProof),
        ),
        (
            past_end,
            Failure::Optimistic(OptimisticFailure::InvalidWithdrawalProof),
        ),
        (
            unknown_batch,
            Failure::Optimistic(OptimisticFailure::NoSuchBatch),
        ),
    ] {
        assert_eq!(
            w.send(&key(4), RollupOp::Claim(Box::new(claim))),
            Some(want)
        );
        assert_eq!(w.rollup().escrow, escrow);
    }
}

/// Plays challenge `id` of batch `b` to its one-step stage: the defender
/// reveals `defender_root(k)`, the challenger compares with the honest
/// root. Returns the number of moves each side made.
fn bisect(w: &mut World, id: u64, b: usize, defender_root: impl Fn(&World, u64) -> Hash) -> u64 {
    let mut rounds = 0;
    while let Some(ch) = w.challenge(id) {
        match ch.turn() {
            Turn::Defender => {
                let root = defender_root(w, ch.mid());
                let op = RollupOp::Bisect {
                    challenge: id,
                    root,
                };
                assert_eq!(w.send(&sequencer(), op), None);
            }
            Turn::Challenger => {
                let agree = ch.mid_root == Some(w.honest_root(b, ch.mid()));
                let op = RollupOp::Choose {
                    challenge: id,
                    agree,
                };
                assert_eq!(w.send(&challenger(), op), None);
                rounds += 1;
            }
            Turn::OneStep => break,
        }
    }
    rounds
}

/// A batch of `n` transfers from alice to bob.
fn transfers(w: &World, n: u64) -> Batch {
    let alice = key(1);
    w.batch((0..n).map(|i| transfer(&alice, 0, i, 1, ETHER)).collect())
}

#[test]
fn a_wrong_root_is_bisected_proven_reverted_and_the_sequencer_slashed() {
    let mut w = funded_world();
    let batch = transfers(&w, 16);
    // The sequencer claims a root where step 11 went wrong: its per-step
    // roots are honest up to 10 and garbage after.
    let lie = hash(&[b"stolen funds"]);
    assert_eq!(w.post(&sequencer(), &batch, Some(lie)), None);
    let lying = |w: &World, k: u64| {
        if k <= 10 {
            w.honest_root(1, k)
        } else {
            hash(&[b"lie", &k.to_be_bytes()])
        }
    };
    let ch_l1 = w.c.state.account(&addr(&challenger())).balance;
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 1 }),
        None
    );
    // Batch 0 is final once its window ends; batch 1 is not while disputed.
    let rounds = bisect(&mut w, 0, 1, lying);
    assert_eq!(rounds, 4, "log2(16) choices");
    let ch = w.challenge(0).unwrap();
    assert_eq!((ch.lo, ch.hi), (10, 11));
    // A proof with a doctored witness is refused and changes nothing.
    let mut bad = w.one_step_proof(1, ch.lo);
    if let terrace_l2::Witness::Account {
        account: Some(a), ..
    } = &mut bad.witnesses[0]
    {
        a.balance = Amount(1);
    }
    let op = RollupOp::ProveStep {
        challenge: 0,
        proof: Box::new(bad),
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::InvalidProof))
    );
    assert!(w.challenge(0).is_some());
    // The honest proof wins.
    let proof = w.one_step_proof(1, ch.lo);
    let op = RollupOp::ProveStep {
        challenge: 0,
        proof: Box::new(proof),
    };
    let burned_before = w.c.state.totals().burned;
    assert_eq!(w.send(&challenger(), op), None);
    assert!(w.challenge(0).is_none());
    w.revert_to(1);
    let rollup = w.rollup();
    assert_eq!(rollup.batch_count, 1);
    assert_eq!(rollup.output_root, w.honest_root(0, 2));
    // Half the 10-ether bond to the challenger, half burned; the challenge
    // bond came back. The challenger paid fees for its moves.
    let ch_now = w.c.state.account(&addr(&challenger())).balance.0;
    assert!(ch_now > ch_l1.0 + 5 * ETHER - ETHER / 10 && ch_now < ch_l1.0 + 5 * ETHER);
    assert!(w.c.state.totals().burned.0 >= burned_before.0 + 5 * ETHER);
    match w.c.state.bond(0, addr(&sequencer())) {
        Some(b) => assert!(b.amount.is_zero()),
        other => panic!("bond record: {other:?}"),
    }
    // Slashed, the sequencer cannot post; after the window anyone can,
    // with a bond.
    let batch = transfers(&w, 16);
    assert_eq!(
        w.post(&sequencer(), &batch, None),
        Some(Failure::Optimistic(OptimisticFailure::BondTooLow))
    );
    let rescuer = key(4);
    assert_eq!(
        w.send(
            &rescuer,
            RollupOp::Bond {
                amount: Amount(10 * ETHER)
            }
        ),
        None
    );
    assert_eq!(
        w.post(&rescuer, &batch, None),
        Some(Failure::Optimistic(OptimisticFailure::NotSequencer))
    );
    w.wait(SEQUENCING);
    assert_eq!(w.post(&rescuer, &batch, None), None);
    assert_eq!(w.rollup().output_root, *w.posted[1].2.last().unwrap());
}

#[test]
fn a_false_challenge_loses_its_bond_and_the_batch_finalizes() {
    let mut w = funded_world();
    let batch = transfers(&w, 8);
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 1 }),
        None
    );
    // The defender is honest; the challenger disputes whatever it hears.
    let mut rounds = 0;
    while let Some(ch) = w.challenge(0) {
        match ch.turn() {
            Turn::Defender => {
                let root = w.honest_root(1, ch.mid());
                let op = RollupOp::Bisect { challenge: 0, root };
                assert_eq!(w.send(&sequencer(), op), None);
            }
            Turn::Challenger => {
                let op = RollupOp::Choose {
                    challenge: 0,
                    agree: false,
                };
                assert_eq!(w.send(&challenger(), op), None);
                rounds += 1;
            }
            Turn::OneStep => break,
        }
    }
    assert_eq!(rounds, 3, "log2(8) choices");
    let ch = w.challenge(0).unwrap();
    assert_eq!((ch.lo, ch.hi), (0, 1));
    // The truth agrees with the defender, whoever brings the proof.
    let proof = w.one_step_proof(1, 0);
    let seq_l1 = w.c.state.account(&addr(&sequencer())).balance.0;
    let op = RollupOp::ProveStep {
        challenge: 0,
        proof: Box::new(proof),
    };
    assert_eq!(w.send(&sequencer(), op), None);
    assert!(w.challenge(0).is_none());
    let seq_now = w.c.state.account(&addr(&sequencer())).balance.0;
    assert!(
        seq_now > seq_l1 + ETHER / 2,
        "defender got half the 2-ether bond"
    );
    assert_eq!(w.rollup().batch_count, 2);
    assert!(w.rollup().disputed.is_empty());
    // The window runs out and the batch is final.
    w.wait(WINDOW);
    let rollup = w.rollup();
    let Some(record) = w.c.state.batch(0, 1) else {
        panic!("batch 1 is recorded");
    };
    assert!(w.c.height >= record.height + WINDOW);
    assert!(!rollup.is_final(1, record.height, record.height + WINDOW - 1));
    assert!(rollup.is_final(1, record.height, record.height + WINDOW));
}

#[test]
fn a_silent_defender_loses_on_timeout() {
    let mut w = funded_world();
    let batch = transfers(&w, 4);
    assert_eq!(w.post(&sequencer(), &batch, Some(hash(&[b"x"]))), None);
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 1 }),
        None
    );
    assert_eq!(
        w.send(&key(4), RollupOp::Timeout { challenge: 0 }),
        Some(Failure::Optimistic(OptimisticFailure::DeadlineNotPassed))
    );
    // Only the defender may bisect; only the challenger may choose.
    let op = RollupOp::Bisect {
        challenge: 0,
        root: hash(&[b"y"]),
    };
    assert_eq!(
        w.send(&key(4), op),
        Some(Failure::Optimistic(OptimisticFailure::NotYourTurn))
    );
    let op = RollupOp::Choose {
        challenge: 0,
        agree: true,
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::NotYourTurn))
    );
    w.wait(DEADLINE);
    let op = RollupOp::Bisect {
        challenge: 0,
        root: hash(&[b"y"]),
    };
    assert_eq!(
        w.send(&sequencer(), op),
        Some(Failure::Optimistic(OptimisticFailure::DeadlinePassed))
    );
    assert_eq!(w.send(&key(4), RollupOp::Timeout { challenge: 0 }), None);
    w.revert_to(1);
    assert_eq!(w.rollup().batch_count, 1);
}

#[test]
fn forced_transactions_must_be_included_within_the_sequencing_window() {
    let mut w = funded_world();
    let alice = key(1);
    // Alice forces a transfer through L1.
    let forced = transfer(&alice, 0, 0, 1, 3 * ETHER);
    let op = RollupOp::ForceInclude {
        tx: forced.encode(),
    };
    assert_eq!(w.send(&alice, op), None);
    w.inbox.push(InboxMessage::Forced {
        tx: forced.encode(),
    });
    // A censoring batch that skips it is fine inside the window...
    let mut censoring = w.batch(vec![]);
    censoring.blocks[0].inbox_until = 2;
    censoring.blocks[0].txs = vec![BlockTx::Signed(transfer(&key(2), 1, 0, 0, ETHER))];
    assert_eq!(w.post(&sequencer(), &censoring, None), None);
    // ...and refused once the message is older than the window.
    w.wait(SEQUENCING);
    let mut censoring = w.batch(vec![]);
    censoring.blocks[0].inbox_until = 2;
    censoring.blocks[0].txs = vec![BlockTx::Signed(transfer(&key(2), 1, 1, 0, ETHER))];
    assert_eq!(
        w.post(&sequencer(), &censoring, None),
        Some(Failure::Optimistic(OptimisticFailure::InboxSkipped))
    );
    // Including it is the only way forward; it executes on L2.
    let honest = w.batch(vec![]);
    assert_eq!(w.post(&sequencer(), &honest, None), None);
    assert_eq!(w.l2.account_at(0).unwrap().nonce, 1);
    let (_, steps, _) = &w.posted[1];
    let Step::Tx { context, tx } = &steps[0] else {
        panic!("the censoring batch's transfer");
    };
    let fee = terrace_l2::stf::fee(context, tx).unwrap().0;
    assert_eq!(
        w.l2.account_at(1).unwrap().balance.0,
        50 * ETHER + 3 * ETHER - ETHER - fee
    );
}

#[test]
fn bad_batches_are_refused_and_change_nothing() {
    let mut w = funded_world();
    let batch = transfers(&w, 2);
    let rollup = w.rollup();
    let (steps, end) = batch.steps(rollup.inbox_consumed).unwrap();
    let good = BatchSubmission {
        index: rollup.batch_count,
        prev_output_root: rollup.output_root,
        output_root: hash(&[b"whatever"]),
        step_count: steps.len() as u64,
        inbox_end: end,
        data: batch.compress().into(),
    };
    // Someone else posting while the sequencer is live.
    let op = RollupOp::SubmitBatch(Box::new(good.clone()));
    assert_eq!(
        w.send(&key(4), op),
        Some(Failure::Optimistic(OptimisticFailure::NotSequencer))
    );
    let variants = [
        (
            BatchSubmission {
                index: 5,
                ..good.clone()
            },
            Failure::Optimistic(OptimisticFailure::WrongBatchIndex),
        ),
        (
            BatchSubmission {
                prev_output_root: hash(&[b"elsewhere"]),
                ..good.clone()
            },
            Failure::Optimistic(OptimisticFailure::BatchDoesNotContinue),
        ),
        (
            BatchSubmission {
                data: vec![1, 2, 3].into(),
                ..good.clone()
            },
            Failure::Optimistic(OptimisticFailure::BadBatchData),
        ),
        (
            BatchSubmission {
                step_count: 3,
                ..good.clone()
            },
            Failure::Optimistic(OptimisticFailure::StepCountMismatch),
        ),
        (
            BatchSubmission {
                inbox_end: 3,
                ..good.clone()
            },
            Failure::Optimistic(OptimisticFailure::InboxBeyondEnd),
        ),
    ];
    for (submission, want) in variants {
        let op = RollupOp::SubmitBatch(Box::new(submission));
        assert_eq!(w.send(&sequencer(), op), Some(want));
        assert_eq!(w.rollup(), rollup);
    }
    // A batch consuming an inbox message that does not exist.
    let mut ahead = w.batch(vec![]);
    ahead.blocks[0].inbox_until = 9;
    ahead.blocks[0].txs = batch.blocks[0].txs.clone();
    let (steps, _) = ahead.steps(rollup.inbox_consumed).unwrap();
    let op = RollupOp::SubmitBatch(Box::new(BatchSubmission {
        step_count: steps.len() as u64,
        inbox_end: 9,
        data: ahead.compress().into(),
        ..good.clone()
    }));
    assert_eq!(
        w.send(&sequencer(), op),
        Some(Failure::Optimistic(OptimisticFailure::InboxBeyondEnd))
    );
    assert_eq!(w.rollup(), rollup);
}

#[test]
fn challenges_after_the_window_or_of_unknown_batches_are_refused() {
    let mut w = funded_world();
    assert_eq!(
        w.send(&sequencer(), RollupOp::Unbond),
        Some(Failure::Optimistic(OptimisticFailure::BondLocked))
    );
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 3 }),
        Some(Failure::Optimistic(OptimisticFailure::NoSuchBatch))
    );
    w.wait(WINDOW);
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 0 }),
        Some(Failure::Optimistic(OptimisticFailure::WindowClosed))
    );
    // The bond can come back once the last batch is final.
    let before = w.c.state.account(&addr(&sequencer())).balance.0;
    assert_eq!(w.send(&sequencer(), RollupOp::Unbond), None);
    assert!(w.c.state.account(&addr(&sequencer())).balance.0 > before + 9 * ETHER);
}

#[test]
fn settlement_payloads_roundtrip_through_the_codec() {
    let w = funded_world();
    let ops = vec![
        RollupOp::Bond { amount: Amount(5) },
        RollupOp::Unbond,
        RollupOp::Deposit(terrace_l2::Deposit {
            recipient: key(1).public_key(),
            account: Some(3),
            amount: Amount(9),
            bls: Some(Box::new(BlsRegistration {
                key: bls_key(&key(1)).public_key(),
                possession: bls_key(&key(1)).proof_of_possession(),
            })),
        }),
        RollupOp::ForceInclude {
            tx: transfer(&key(1), 0, 0, 1, 1).encode(),
        },
        RollupOp::Challenge { batch: 2 },
        RollupOp::Bisect {
            challenge: 1,
            root: hash(&[b"r"]),
        },
        RollupOp::Choose {
            challenge: 1,
            agree: true,
        },
        RollupOp::ProveStep {
            challenge: 1,
            proof: Box::new(w.one_step_proof(0, 0)),
        },
        RollupOp::Timeout { challenge: 4 },
        RollupOp::ProveAggregate {
            batch: 2,
            proof: Box::new({
                let tx = unsigned_transfer(0, 0, 1, 1);
                let sig = tx.sign_bls(0, &bls_key(&key(1))).signature;
                let chunk = terrace_l2::AggregateChunk {
                    txs: vec![tx],
                    signature: sig,
                };
                AggregateProof::build(&w.l2, &[chunk], 0).unwrap()
            }),
        },
    ];
    for op in ops {
        let p = Payload::Optimistic(OptimisticOp::Rollup { rollup: 3, op });
        assert_eq!(Payload::decode(p.encode()).unwrap(), p);
    }
    let p = Payload::Optimistic(OptimisticOp::Create(config(&key(0))));
    assert_eq!(Payload::decode(p.encode()).unwrap(), p);
}

#[test]
fn a_second_challenge_runs_alongside_and_is_refunded_when_the_batch_falls() {
    let mut w = funded_world();
    let batch = transfers(&w, 2);
    assert_eq!(w.post(&sequencer(), &batch, Some(hash(&[b"lie"]))), None);
    // Two challengers; the second may be colluding and would lose on purpose,
    // but it cannot stop the first.
    let second = key(4);
    assert_eq!(
        w.send(&challenger(), RollupOp::Challenge { batch: 1 }),
        None
    );
    assert_eq!(w.send(&second, RollupOp::Challenge { batch: 1 }), None);
    assert_eq!(w.rollup().disputed, vec![(1, 2)]);
    let second_l1 = w.c.state.account(&addr(&second)).balance.0;
    // Challenge 0: the defender reveals the honest midpoint, the challenger
    // agrees, and the last step is proven wrong.
    let root = w.honest_root(1, 1);
    let op = RollupOp::Bisect { challenge: 0, root };
    assert_eq!(w.send(&sequencer(), op), None);
    let op = RollupOp::Choose {
        challenge: 0,
        agree: true,
    };
    assert_eq!(w.send(&challenger(), op), None);
    let op = RollupOp::ProveStep {
        challenge: 0,
        proof: Box::new(w.one_step_proof(1, 1)),
    };
    assert_eq!(w.send(&challenger(), op), None);
    w.revert_to(1);
    assert!(w.rollup().disputed.is_empty());
    // Challenge 1 is stale: moves on it are refused, a timeout refunds it at once.
    let op = RollupOp::Bisect {
        challenge: 1,
        root: hash(&[b"r"]),
    };
    assert_eq!(
        w.send(&sequencer(), op),
        Some(Failure::Optimistic(OptimisticFailure::NoSuchBatch))
    );
    assert_eq!(w.send(&key(2), RollupOp::Timeout { challenge: 1 }), None);
    assert!(w.challenge(1).is_none());
    assert_eq!(
        w.c.state.account(&addr(&second)).balance.0,
        second_l1 + 2 * ETHER
    );
}

/// Users 1, 2 and 4 hold BLS accounts 0, 1 and 2 (posted in batch 0).
fn bls_world() -> World {
    let mut w = World::new();
    for user in [1, 2, 4] {
        w.deposit_bls(&key(user), 50 * ETHER);
    }
    let batch = w.batch(vec![]);
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    w
}

#[test]
fn deposits_with_a_bls_key_need_its_proof_of_possession() {
    let mut w = World::new();
    let user = key(1);
    let bls = bls_key(&user);
    // A possession proof of another key (a rogue key's usual lack).
    let op = RollupOp::Deposit(terrace_l2::Deposit {
        recipient: user.public_key(),
        account: None,
        amount: Amount(ETHER),
        bls: Some(Box::new(BlsRegistration {
            key: bls.public_key(),
            possession: bls_key(&key(2)).proof_of_possession(),
        })),
    });
    assert_eq!(
        w.send(&user, op),
        Some(Failure::Optimistic(OptimisticFailure::InvalidPossession))
    );
    assert_eq!(w.rollup().inbox_count, 0);
    assert!(w.rollup().escrow.is_zero());
    w.deposit_bls(&user, ETHER);
    assert_eq!(w.rollup().inbox_count, 1);
}

#[test]
fn a_forged_aggregate_is_proven_in_one_transaction_and_the_batch_reverted() {
    let mut w = bls_world();
    let users = [key(1), key(2), key(4)];
    // 40 honest aggregated transfers (two chunks) ...
    let mut txs: Vec<L2Transaction> = (0..40u64)
        .map(|i| unsigned_transfer((i % 3) as u32, i / 3, ((i + 1) % 3) as u32, ETHER / 10))
        .collect();
    let mut sigs: Vec<BlsSignature> = txs
        .iter()
        .map(|t| {
            t.sign_bls(w.id, &bls_key(&users[t.from as usize]))
                .signature
        })
        .collect();
    // ... and the sequencer's own addition: 30 ether from account 2 to
    // account 0, which user 4 never signed. The step function runs it like
    // any other, so every posted root is "true".
    let theft = unsigned_transfer(2, 13, 0, 30 * ETHER);
    txs.push(theft);
    sigs.push(bls_key(&users[0]).sign(b"anything", b"at all"));
    let aggregates: Vec<BlsSignature> = sigs
        .chunks(AGGREGATE_CHUNK)
        .map(|c| BlsSignature::aggregate(c).unwrap())
        .collect();
    let batch = w.block_batch(
        txs.iter().copied().map(BlockTx::Aggregated).collect(),
        aggregates,
    );
    let pre = w.l2.clone();
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    assert!(
        w.l2.account_at(2).unwrap().balance.0 < 20 * ETHER,
        "the theft ran"
    );
    let chunks = batch.chunks();
    assert_eq!(chunks.len(), 2);

    // The honest first chunk cannot be "proven" bad: the sender pays gas,
    // nothing else changes.
    let honest = AggregateProof::build(&pre, &chunks, 0).unwrap();
    let op = RollupOp::ProveAggregate {
        batch: 1,
        proof: Box::new(honest),
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::AggregateValid))
    );
    assert_eq!(w.rollup().batch_count, 2);
    // A doctored proof of the bad chunk is refused as a proof.
    let mut doctored = AggregateProof::build(&pre, &chunks, 1).unwrap();
    doctored.senders[0].account.balance = Amount(1);
    let op = RollupOp::ProveAggregate {
        batch: 1,
        proof: Box::new(doctored),
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::InvalidProof))
    );

    // The real proof reverts the batch and pays half the bond.
    let before = w.c.state.account(&addr(&challenger())).balance.0;
    let proof = AggregateProof::build(&pre, &chunks, 1).unwrap();
    let bytes = proof.encode().len();
    assert!(bytes < 40_000, "proof of {bytes} bytes");
    let op = RollupOp::ProveAggregate {
        batch: 1,
        proof: Box::new(proof.clone()),
    };
    assert_eq!(w.send_unchecked(&challenger(), op), None);
    w.revert_to(1);
    w.check_bridge();
    let rollup = w.rollup();
    assert_eq!(rollup.batch_count, 1);
    assert_eq!(rollup.output_root, w.honest_root(0, 3));
    assert_eq!(w.l2.account_at(2).unwrap().balance.0, 50 * ETHER);
    let after = w.c.state.account(&addr(&challenger())).balance.0;
    assert!(after > before + 5 * ETHER - ETHER / 10 && after < before + 5 * ETHER);
    match w.c.state.bond(0, addr(&sequencer())) {
        Some(b) => assert!(b.amount.is_zero()),
        other => panic!("bond record: {other:?}"),
    }
    // Proving again, or after the batch is gone, changes nothing.
    let op = RollupOp::ProveAggregate {
        batch: 1,
        proof: Box::new(proof),
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::NoSuchBatch))
    );
}

#[test]
fn an_aggregate_cannot_be_disputed_after_the_window() {
    let mut w = bls_world();
    let user = key(1);
    let tx = unsigned_transfer(0, 0, 1, ETHER);
    let sig = tx.sign_bls(w.id, &bls_key(&user)).signature;
    // A bad aggregate nobody proves in time stands.
    let forged = bls_key(&key(2)).sign(b"x", b"y");
    let batch = w.block_batch(vec![BlockTx::Aggregated(tx)], vec![forged]);
    let pre = w.l2.clone();
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    w.wait(WINDOW);
    let proof = AggregateProof::build(&pre, &batch.chunks(), 0).unwrap();
    let op = RollupOp::ProveAggregate {
        batch: 1,
        proof: Box::new(proof),
    };
    assert_eq!(
        w.send(&challenger(), op),
        Some(Failure::Optimistic(OptimisticFailure::WindowClosed))
    );
    assert_eq!(w.rollup().batch_count, 2);
    // The honest signature would have made it valid.
    let honest = w.block_batch(vec![BlockTx::Aggregated(tx)], vec![sig]);
    assert_eq!(honest.chunks()[0].signature, sig);
}
