#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The operator and the follower without L1: blocks built by hand, real
//! proofs of a small tree.

use crate::common;

use bytes::Bytes;
use common::*;
use terrace_l1::modules::validity::{
    BatchData, DAC_NAMESPACE, MemberSignature, ZkOp, attestation_message,
};
use terrace_primitives::Address;
use terrace_primitives::{
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};
use terrace_zk::{
    Fr,
    babyjubjub::SecretKey,
    fr_from_le, fr_to_le,
    ops::{self as zkops, Transfer, Withdraw, domain},
    state::StfError,
};
use terrace_zkrollup::dac::{DacError, Member, MemberView, StoreRequest};
use terrace_zkrollup::{FollowError, Follower, L2Op, Operator, Stage, SubmitError};

#[test]
fn a_soft_confirmation_becomes_final_when_its_proof_lands_and_the_follower_agrees() {
    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let b = s.follower.state().find(&s.bob.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 30, 0));
    let w = L2Op::Withdraw(Withdraw::sign(&s.bob, s.domain, b, [9; 20], 20, 0));
    let rt = s.op.submit(&t, 10).unwrap();
    let rw = s.op.submit(&w, 10).unwrap();
    assert_eq!(s.op.stage(&rt.id), Some(Stage::Queued));
    // Soft at once, proven state untouched.
    assert_eq!(s.op.soft().account(b).unwrap().balance, 15);
    assert_eq!(s.follower.state().account(b).unwrap().balance, 5);
    assert!(s.op.due(10, 1_000), "a full batch is due at once");
    assert_eq!(s.op.cut(), Some(1));
    assert_eq!(s.op.stage(&rw.id), Some(Stage::Batched(1)));
    prove_all(&mut s.op);
    s.follower.apply_block(&submit_block(2, &s.op, 1)).unwrap();
    assert_eq!(s.op.landed(&s.follower), 0);
    assert_eq!(s.op.stage(&rt.id), Some(Stage::Final(1)));
    assert_eq!(s.op.stage(&rw.id), Some(Stage::Final(1)));
    assert_eq!(s.follower.state().root(), s.op.soft().root());
    assert_eq!(s.follower.state().account(a).unwrap().balance, 70);
    // The withdrawal's claim proves into the batch's withdrawals root.
    let withdrawal = s.follower.withdrawals()[0];
    assert_eq!((withdrawal.to, withdrawal.amount), (Address([9; 20]), 20));
    let claim = s.follower.claim(1, withdrawal.slot).unwrap();
    let path: Vec<Fr> = claim.path.iter().map(|p| fr_from_le(p).unwrap()).collect();
    let leaf = zkops::withdrawal_leaf(zkops::address_to_fr(&claim.to.0), claim.amount);
    assert_eq!(
        zkops::root_from_path(leaf, u64::from(claim.slot), &path),
        s.follower.batches()[1].statement.withdrawals
    );
}

#[test]
fn bad_operations_are_refused_and_change_nothing() {
    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let root = s.op.soft().root();
    let mallory = SecretKey::from_bytes(b"mallory");
    let forged = L2Op::Transfer(Transfer::sign(
        &mallory,
        s.domain,
        a,
        mallory.public(),
        1,
        0,
    ));
    assert!(matches!(
        s.op.submit(&forged, 0),
        Err(SubmitError::Invalid(StfError::Signature(_)))
    ));
    let too_much = L2Op::Transfer(Transfer::sign(
        &s.alice,
        s.domain,
        a,
        s.bob.public(),
        101,
        0,
    ));
    assert!(matches!(
        s.op.submit(&too_much, 0),
        Err(SubmitError::Invalid(StfError::Insufficient { .. }))
    ));
    let other_domain = L2Op::Transfer(Transfer::sign(
        &s.alice,
        domain(8, ROLLUP),
        a,
        s.bob.public(),
        1,
        0,
    ));
    assert!(s.op.submit(&other_domain, 0).is_err());
    let ok = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 1, 0));
    s.op.submit(&ok, 0).unwrap();
    assert!(matches!(
        s.op.submit(&ok, 0),
        Err(SubmitError::Invalid(StfError::Nonce { .. }))
    ));
    assert_ne!(s.op.soft().root(), root);
    // A full queue refuses with Busy and keeps what it has.
    for n in 1..8 {
        let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 1, n));
        s.op.submit(&t, 0).unwrap();
    }
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 1, 8));
    assert_eq!(s.op.submit(&t, 0), Err(SubmitError::Busy(8)));
    assert_eq!(s.op.queued(), 8);
}

#[test]
fn a_batch_that_fails_on_l1_goes_back_to_the_queue_and_is_cut_again() {
    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    let r = s.op.submit(&t, 0).unwrap();
    assert_eq!(s.op.cut(), Some(1));
    prove_all(&mut s.op);
    let first = s.op.submissions(1);
    // L1 refused it (say, the operator's fee ran out): nothing landed.
    let failed = block(
        2,
        vec![(
            ZkOp::SubmitBatch(Box::new(first[0].clone())),
            Some(terrace_l1::Failure::InsufficientFunds),
        )],
    );
    s.follower.apply_block(&failed).unwrap();
    assert_eq!(s.follower.batch_count(), 1);
    assert_eq!(s.op.rebase(&s.follower), 0);
    assert_eq!(s.op.stage(&r.id), Some(Stage::Queued));
    assert_eq!(s.op.pending(), 0);
    assert_eq!(s.op.cut(), Some(1));
    prove_all(&mut s.op);
    let again = s.op.submissions(1);
    assert_eq!(again[0].new_root, first[0].new_root);
    s.follower.apply_block(&submit_block(3, &s.op, 1)).unwrap();
    s.op.landed(&s.follower);
    assert_eq!(s.op.stage(&r.id), Some(Stage::Final(1)));
}

#[test]
fn the_follower_stops_on_a_batch_it_cannot_verify_instead_of_guessing() {
    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    s.op.submit(&t, 0).unwrap();
    s.op.cut();
    prove_all(&mut s.op);
    let mut sub = s.op.submissions(1).remove(0);
    // An L1 node that lies (a batch "accepted" with another proof).
    sub.proof[40] ^= 1;
    let before = s.follower.state().root();
    let err = s
        .follower
        .apply_block(&block(2, vec![(ZkOp::SubmitBatch(Box::new(sub)), None)]))
        .unwrap_err();
    assert!(matches!(err, FollowError::Replay { index: 1, .. }), "{err}");
    assert_eq!(s.follower.state().root(), before);
    assert_eq!(s.follower.batch_count(), 1);
}

/// A validium's batch carries only its commitment: the follower stops
/// before the block until the data is supplied, changing nothing (not even
/// the block's deposit), drops data that misses the commitment, and
/// replays the batch once the right data comes.
#[test]
fn a_validium_follower_waits_for_the_data_and_checks_it_against_the_commitment() {
    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    s.op.submit(&t, 0).unwrap();
    s.op.cut();
    prove_all(&mut s.op);
    let mut sub = s.op.submissions(1).remove(0);
    let BatchData::Posted(data) = sub.data.clone() else {
        panic!("the operator posts data")
    };
    let ops = zkops::PubOp::decode_all(&data, SLOTS, DEPTH).unwrap();
    let commitment = zkops::data_commitment(&ops, SLOTS);
    sub.data = BatchData::Attested {
        commitment: fr_to_le(&commitment),
        signatures: Vec::new(),
    };
    let carol = SecretKey::from_bytes(b"carol");
    let b = block(
        2,
        vec![
            (deposit(&carol, 3), None),
            (ZkOp::SubmitBatch(Box::new(sub)), None),
        ],
    );
    let unavailable = |e: FollowError| matches!(e, FollowError::Unavailable { index: 1, .. });
    let before = (s.follower.state().root(), s.follower.inbox().len());
    assert!(unavailable(s.follower.apply_block(&b).unwrap_err()));
    // Data of another batch, or cut short: dropped, still unavailable.
    let mut wrong = data.to_vec();
    wrong[3] ^= 1;
    for bad in [Bytes::from(wrong), data.slice(..data.len() - 1)] {
        s.follower.supply_data(1, bad);
        assert!(unavailable(s.follower.apply_block(&b).unwrap_err()));
        assert!(!s.follower.has_data(1));
    }
    assert_eq!(
        (s.follower.state().root(), s.follower.inbox().len()),
        before
    );
    assert_eq!(s.follower.next_height(), 2);
    s.follower.supply_data(1, data);
    s.follower.apply_block(&b).unwrap();
    assert_eq!(s.follower.batch_count(), 2);
    assert_eq!(s.follower.state().root(), s.op.soft().root());
    assert_eq!(s.follower.inbox().len(), 3);
    assert!(!s.follower.has_data(1), "replayed data is not kept twice");
}

/// With keys for batches of 1 and 2, the operator cuts the smallest size
/// that holds its queue: a lone transfer goes in a batch of 1, a pair in a
/// batch of 2, three operations in a 2 and a 1; the follower checks each
/// proof under its own size's key.
#[test]
fn the_operator_cuts_the_smallest_registered_size_that_holds_its_queue() {
    let (alice, bob) = (
        SecretKey::from_bytes(b"alice"),
        SecretKey::from_bytes(b"bob"),
    );
    let record = record_with(&[small_key(), key()]);
    let mut follower = Follower::new(ROLLUP, &record, 0);
    follower
        .apply_block(&block(
            0,
            vec![(deposit(&alice, 100), None), (deposit(&bob, 5), None)],
        ))
        .unwrap();
    let mut op = Operator::new(&follower, &[2, 1, 2], 8);
    assert_eq!(op.sizes(), &[1, 2]);
    assert_eq!((op.size_for(1), op.size_for(2), op.size_for(9)), (1, 2, 2));
    op.take_inbox(follower.inbox(), 2, 0).unwrap();
    assert_eq!(op.cut(), Some(0));
    let d = domain(7, ROLLUP);
    let a = 0;
    let transfer =
        |nonce, amount| L2Op::Transfer(Transfer::sign(&alice, d, a, bob.public(), amount, nonce));
    op.submit(&transfer(0, 1), 10).unwrap();
    assert_eq!(op.cut(), Some(1));
    for nonce in 1..4 {
        op.submit(&transfer(nonce, 1), 20).unwrap();
    }
    assert_eq!(op.cut(), Some(2));
    assert_eq!(op.cut(), Some(3));
    assert_eq!(op.cut(), None);
    prove_all(&mut op);
    let sizes: Vec<u32> = op.submissions(0).iter().map(|s| s.slots).collect();
    assert_eq!(sizes, [2, 1, 2, 1]);
    follower.apply_block(&submit_block(1, &op, 0)).unwrap();
    assert_eq!(op.landed(&follower), 0);
    assert_eq!(follower.batch_count(), 4);
    assert_eq!(follower.state().account(a).unwrap().balance, 96);
    assert_eq!(follower.state().root(), op.soft().root());
}

/// A prover must hold, for every size the rollup registered, a key of that
/// very setup: another size or another setup of the same size is refused
/// before the node starts (its proofs would fail on L1).
#[test]
fn a_prover_without_the_rollups_keys_is_refused_at_start() {
    use std::sync::Arc;
    use terrace_zkrollup::deploy::{self, DeployError};
    let record = record();
    let ours = Arc::new(key().clone());
    assert!(deploy::check_keys(&record, std::slice::from_ref(&ours)).is_ok());
    let other_size = Arc::new(small_key().clone());
    let other_setup = Arc::new(deploy::setup(DEPTH, SLOTS, [5; 32]).unwrap());
    for keys in [vec![], vec![other_size], vec![other_setup]] {
        assert!(matches!(
            deploy::check_keys(&record, &keys),
            Err(DeployError::KeyMismatch { slots: 2 })
        ));
    }
    let both = record_with(&[small_key(), key()]);
    assert!(matches!(
        deploy::check_keys(&both, &[ours]),
        Err(DeployError::KeyMismatch { slots: 1 })
    ));
}

/// A batch of the validium with a transfer, cut and proven: its index,
/// slots and data.
fn validium_batch(s: &mut Setup) -> (u64, u32, Bytes) {
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    s.op.submit(&t, 0).unwrap();
    let index = s.op.cut().unwrap();
    let u = &s.op.unattested();
    assert!(u.is_empty(), "a zk-rollup's operator needs no signatures");
    let sub = {
        prove_all(&mut s.op);
        s.op.submissions(index).remove(0)
    };
    let BatchData::Posted(data) = sub.data else {
        panic!("posted")
    };
    (index, sub.slots, data)
}

/// A committee member signs only data it holds in full and matching the
/// commitment, stored before it signs; every bad request changes nothing;
/// after a crash it reopens its store, drops an unfinished write and sets
/// aside a rotten file.
#[test]
fn a_member_signs_only_data_it_holds_and_keeps_it_across_a_restart() {
    let mut s = setup();
    let (index, slots, data) = validium_batch(&mut s);
    let record = validium_record();
    let view = MemberView::new(&record, &member_key(1).public_key()).unwrap();
    assert_eq!((view.member, view.committee), (1, (3, 2)));
    assert!(matches!(
        MemberView::new(&record, &member_key(7).public_key()),
        Err(DacError::NotAMember(_))
    ));
    assert_eq!(
        MemberView::new(&common::record(), &member_key(1).public_key()),
        Err(DacError::NoCommittee)
    );
    let dir = tempfile::tempdir().unwrap();
    let mut m = Member::open(dir.path(), member_key(1), view.clone()).unwrap();
    let good = StoreRequest::new(&operator_key(), DEPTH, index, slots, data.clone()).unwrap();
    let commitment = good.commitment;

    let stranger = private_key_from_seed([9; 32]);
    let mut other_index = good.clone();
    other_index.index += 1;
    let mut short = good.clone();
    short.data = data.slice(..4); // inside the transfer
    let mut wrong = data.to_vec();
    wrong[3] ^= 1;
    let mut large = good.clone();
    large.data = Bytes::from(vec![0; 5_000]);
    let refusals = [
        (
            StoreRequest::new(&stranger, DEPTH, index, slots, data.clone()).unwrap(),
            "NotOperator",
        ),
        (other_index, "NotOperator"),
        (
            StoreRequest::signed(&operator_key(), index, slots, short.data, commitment),
            "BadData",
        ),
        (
            // Nothing at all: an empty batch, with another commitment.
            StoreRequest::signed(&operator_key(), index, slots, Bytes::new(), commitment),
            "CommitmentMismatch",
        ),
        (
            StoreRequest::signed(
                &operator_key(),
                index,
                slots,
                Bytes::from(wrong),
                commitment,
            ),
            "CommitmentMismatch",
        ),
        (
            StoreRequest::signed(&operator_key(), index, 4, data.clone(), commitment),
            "UnknownBatchSize",
        ),
        (
            StoreRequest::signed(&operator_key(), index, slots, large.data, commitment),
            "TooLarge",
        ),
    ];
    for (req, want) in refusals {
        let err = m.store(&req).unwrap_err();
        assert!(format!("{err:?}").starts_with(want), "{want}: {err:?}");
        assert_eq!(m.status().batches, 0, "{want} stored nothing");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let sig = m.store(&good).unwrap();
    assert_eq!(sig.member, 1);
    let message = attestation_message(&record.domain, index, &commitment);
    terrace_primitives::keys::verify(
        &member_key(1).public_key(),
        DAC_NAMESPACE,
        &message,
        &sig.signature,
    )
    .unwrap();
    // Again: the same signature, stored once.
    assert_eq!(m.store(&good).unwrap(), sig);
    assert_eq!(m.status().batches, 1);
    assert_eq!(m.status().bytes, data.len() as u64);
    assert_eq!(m.get(index, &commitment).unwrap().data, data);
    assert_eq!(m.versions(index), vec![commitment]);
    assert!(m.get(index, &[0; 32]).is_none());

    // A crash: an unfinished write and a rotten file beside the good one.
    drop(m);
    std::fs::write(dir.path().join("junk.batch.tmp"), b"half").unwrap();
    let rotten = format!("{:020}-{}.batch", index + 1, to_hex(&commitment));
    std::fs::write(dir.path().join(&rotten), b"\x02\0\0\0garbage").unwrap();
    let m = Member::open(dir.path(), member_key(1), view).unwrap();
    let status = m.status();
    assert_eq!((status.batches, status.set_aside), (1, 1));
    assert_eq!(m.get(index, &commitment).unwrap().data, data);
    assert!(m.get(index + 1, &commitment).is_none());
    assert!(!dir.path().join("junk.batch.tmp").exists());
}

/// A validium's operator posts a batch only once the threshold of members
/// signed for it, and then posts the commitment and signatures, no data.
#[test]
fn a_validium_operator_posts_attested_batches_only() {
    let mut s = setup();
    s.op = Operator::new(&s.follower, &[SLOTS], 8).with_committee(2);
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    s.op.submit(&t, 0).unwrap();
    let index = s.op.cut().unwrap();
    prove_all(&mut s.op);
    assert!(s.op.submissions(index).is_empty(), "proven, not attested");
    let u = s.op.unattested().remove(0);
    assert_eq!((u.index, u.signed.len()), (index, 0));
    let sign = |i: u8| MemberSignature {
        member: i,
        signature: terrace_primitives::keys::sign(
            &member_key(i),
            DAC_NAMESPACE,
            &attestation_message(&validium_record().domain, index, &u.commitment),
        ),
    };
    assert!(s.op.attest(index, &u.commitment, sign(2)));
    assert!(
        !s.op.attest(index, &u.commitment, sign(2)),
        "once per member"
    );
    assert!(!s.op.attest(index, &[1; 32], sign(0)), "another commitment");
    assert!(s.op.submissions(index).is_empty());
    assert!(s.op.attest(index, &u.commitment, sign(0)));
    assert!(s.op.unattested().is_empty());
    // A third signature is kept but not posted: the threshold suffices.
    assert!(s.op.attest(index, &u.commitment, sign(1)));
    let sub = s.op.submissions(index).remove(0);
    assert_eq!(sub.data.posted_len(), 0);
    assert_eq!(
        sub.data,
        BatchData::Attested {
            commitment: u.commitment,
            signatures: vec![sign(2), sign(0)],
        }
    );
    assert_eq!(s.op.batch_data(index, &u.commitment), Some(u.data));
}
