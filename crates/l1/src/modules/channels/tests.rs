//! Payment channels on L1: open with both deposits, cooperative and
//! unilateral closes, challenges with a newer state or the closer's
//! revocation (the whole channel to the victim), HTLCs resolved through
//! the preimage registry, and forged or mistimed input refused with
//! nothing changed.
//!
//! Every block checks the supply invariant (in the common chain): the
//! channels' escrow is part of it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use super::*;
use crate::{Payload, testing::*};
use commonware_codec::{DecodeExt as _, Encode as _};
use terrace_primitives::{Hash, PrivateKey, keys::Signer as _};

const WINDOW: u64 = 50;

fn alice() -> PrivateKey {
    key(1)
}
fn bob() -> PrivateKey {
    key(2)
}
/// Relays transactions (and plays the watchtower): pays the fees, so the
/// parties' balances move only by what the channel pays them.
fn relay() -> PrivateKey {
    key(3)
}

fn ter(n: u128) -> Amount {
    Amount(n * ETHER)
}

fn f(failure: ChannelFailure) -> Option<Failure> {
    Some(Failure::Channels(failure))
}

fn terms(deposit_a: u128, deposit_b: u128, nonce: u64) -> OpenTerms {
    OpenTerms {
        a: alice().public_key(),
        b: bob().public_key(),
        deposit_a: ter(deposit_a),
        deposit_b: ter(deposit_b),
        window: WINDOW,
        reserve: ter(1),
        max_htlcs: 3,
        nonce,
    }
}

fn open_op(t: &OpenTerms) -> ChannelOp {
    ChannelOp::Open {
        terms: Box::new(t.clone()),
        sig_a: t.sign(CHAIN, &alice()),
        sig_b: t.sign(CHAIN, &bob()),
    }
}

fn signed(s: ChannelState) -> SignedState {
    SignedState {
        sig_a: s.sign(&alice()),
        sig_b: s.sign(&bob()),
        state: s,
    }
}

fn htlc(id: u64, offerer: Side, amount: u128, preimage: u8, expiry: u64) -> Htlc {
    Htlc {
        id,
        offerer,
        amount: ter(amount),
        payment_hash: rules::payment_hash(&[preimage; 32]),
        expiry,
    }
}

/// L1 with a channel between Alice (60 TER) and Bob (40 TER).
struct World {
    c: Chain,
    id: Hash,
}

impl World {
    fn new() -> Self {
        let mut c = Chain::new(5, 1);
        let t = terms(60, 40, 0);
        let id = t.channel_id(CHAIN);
        let out = c.block(vec![c.tx(&relay(), open_op(&t).into())]).unwrap();
        assert_eq!(out.receipts[0].failure, None);
        Self { c, id }
    }

    fn send(&mut self, from: &PrivateKey, op: ChannelOp) -> Option<Failure> {
        let tx = self.c.tx(from, Payload::Channels(op));
        self.c.block(vec![tx]).unwrap().receipts[0].failure
    }

    /// Sends `op` and checks that a refusal changed nothing but the
    /// sender's fee and nonce.
    fn refused(&mut self, from: &PrivateKey, op: ChannelOp, why: ChannelFailure) {
        let channel = self.channel();
        let others: Vec<_> = [alice(), bob(), relay()]
            .iter()
            .filter(|k| addr(k) != addr(from))
            .map(|k| (addr(k), self.balance(k)))
            .collect();
        assert_eq!(self.send(from, op), f(why));
        assert_eq!(self.channel(), channel, "{why:?} changed the channel");
        for (a, b) in others {
            assert_eq!(self.c.state.account(&a).balance, b, "{why:?} moved funds");
        }
    }

    fn wait(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.c.block(vec![]).unwrap();
        }
    }

    fn channel(&self) -> Channel {
        self.c.state.channel(&self.id).unwrap()
    }

    fn balance(&self, k: &PrivateKey) -> Amount {
        self.c.state.account(&addr(k)).balance
    }

    fn state(&self, version: u64, a: u128, b: u128, htlcs: Vec<Htlc>) -> ChannelState {
        ChannelState {
            channel: self.id,
            version,
            balance_a: ter(a),
            balance_b: ter(b),
            htlcs,
        }
    }

    fn closing(&self) -> Closing {
        match self.channel().status {
            Status::Closing(c) => *c,
            s => panic!("not closing: {s:?}"),
        }
    }

    /// Closes (sent by Bob, so Alice's balance moves only by the payout)
    /// and waits out the window.
    fn close_and_settle(&mut self, s: ChannelState) {
        assert_eq!(
            self.send(&bob(), ChannelOp::Close(Box::new(signed(s)))),
            None
        );
        self.wait(WINDOW);
        let id = self.id;
        assert_eq!(self.send(&relay(), ChannelOp::Settle { channel: id }), None);
    }
}

#[test]
fn open_takes_both_deposits_into_escrow() {
    let mut c = Chain::new(5, 1);
    let (a0, b0) = (
        c.state.account(&addr(&alice())).balance,
        c.state.account(&addr(&bob())).balance,
    );
    let t = terms(60, 40, 7);
    let out = c.block(vec![c.tx(&relay(), open_op(&t).into())]).unwrap();
    assert_eq!(out.receipts[0].failure, None);
    assert_eq!(
        c.state.account(&addr(&alice())).balance,
        a0.checked_sub(ter(60)).unwrap()
    );
    assert_eq!(
        c.state.account(&addr(&bob())).balance,
        b0.checked_sub(ter(40)).unwrap()
    );
    let ch = c.state.channel(&t.channel_id(CHAIN)).unwrap();
    assert_eq!(ch.status, Status::Open);
    assert_eq!(ch.held(), Some(ter(100)));
    assert_eq!(c.state.channel_count(), 1);
    assert_eq!(c.state.channel_id(0), Some(t.channel_id(CHAIN)));
    // The auditor's walk finds the channel (and so its escrow).
    let keys = <Channels as crate::module::Module>::fund_keys(&c.state, &[]);
    assert!(keys.contains(&ChannelKey::Channel(t.channel_id(CHAIN)).into()));
}

#[test]
fn a_side_may_send_its_own_open() {
    let mut c = Chain::new(5, 1);
    let (a0, b0) = (
        c.state.account(&addr(&alice())).balance,
        c.state.account(&addr(&bob())).balance,
    );
    let t = terms(60, 40, 9);
    let out = c.block(vec![c.tx(&alice(), open_op(&t).into())]).unwrap();
    let r = &out.receipts[0];
    assert_eq!(r.failure, None);
    let fee = Amount(u128::from(r.gas_used) * u128::from(r.effective_gas_price));
    let spent = ter(60).checked_add(fee).unwrap();
    assert_eq!(
        c.state.account(&addr(&alice())).balance,
        a0.checked_sub(spent).unwrap()
    );
    assert_eq!(
        c.state.account(&addr(&bob())).balance,
        b0.checked_sub(ter(40)).unwrap()
    );
    // Alice's own deposit beyond what she has left: refused, only the fee
    // is taken, Bob keeps his.
    let a1 = c.state.account(&addr(&alice())).balance;
    let b1 = c.state.account(&addr(&bob())).balance;
    let mut t = terms(5_000, 40, 10);
    t.reserve = ter(60);
    let out = c.block(vec![c.tx(&alice(), open_op(&t).into())]).unwrap();
    let r = &out.receipts[0];
    assert_eq!(r.failure, Some(Failure::InsufficientFunds));
    let fee = Amount(u128::from(r.gas_used) * u128::from(r.effective_gas_price));
    assert_eq!(
        c.state.account(&addr(&alice())).balance,
        a1.checked_sub(fee).unwrap()
    );
    assert_eq!(c.state.account(&addr(&bob())).balance, b1);
    assert_eq!(c.state.channel_count(), 1);
}

#[test]
fn bad_opens_are_refused_and_take_nothing() {
    let mut c = Chain::new(5, 1);
    let before = (
        c.state.account(&addr(&alice())).balance,
        c.state.account(&addr(&bob())).balance,
    );
    let mut cases: Vec<(ChannelOp, ChannelFailure)> = Vec::new();
    let mut t = terms(60, 40, 1);
    t.b = t.a.clone();
    cases.push((open_op(&t), ChannelFailure::InvalidParties));
    cases.push((open_op(&terms(0, 0, 1)), ChannelFailure::EmptyChannel));
    let mut t = terms(60, 40, 1);
    t.window = 1;
    cases.push((open_op(&t), ChannelFailure::WindowOutOfBounds));
    let mut t = terms(60, 40, 1);
    t.max_htlcs = 0;
    cases.push((open_op(&t), ChannelFailure::HtlcLimitOutOfBounds));
    let mut t = terms(60, 40, 1);
    t.max_htlcs = HTLCS_LIMIT + 1;
    cases.push((open_op(&t), ChannelFailure::HtlcLimitOutOfBounds));
    let mut t = terms(60, 40, 1);
    t.reserve = Amount(ter(1).0 / 2); // below 1 % of 100 TER
    cases.push((open_op(&t), ChannelFailure::InvalidReserve));
    let mut t = terms(60, 40, 1);
    t.reserve = ter(51);
    cases.push((open_op(&t), ChannelFailure::InvalidReserve));
    // Bob's signature over other terms (a larger deposit of Alice's).
    let t = terms(60, 40, 1);
    let mut other = t.clone();
    other.deposit_a = ter(1);
    cases.push((
        ChannelOp::Open {
            terms: Box::new(t.clone()),
            sig_a: t.sign(CHAIN, &alice()),
            sig_b: other.sign(CHAIN, &bob()),
        },
        ChannelFailure::InvalidSignature,
    ));
    // Signed for another chain.
    cases.push((
        ChannelOp::Open {
            terms: Box::new(t.clone()),
            sig_a: t.sign(terrace_primitives::ChainId(CHAIN.0 + 1), &alice()),
            sig_b: t.sign(CHAIN, &bob()),
        },
        ChannelFailure::InvalidSignature,
    ));
    for (op, why) in cases {
        let out = c.block(vec![c.tx(&relay(), op.into())]).unwrap();
        assert_eq!(out.receipts[0].failure, f(why));
    }
    // More than Bob has.
    let mut t = terms(1, 5_000, 1);
    t.reserve = ter(60);
    let out = c.block(vec![c.tx(&relay(), open_op(&t).into())]).unwrap();
    assert_eq!(out.receipts[0].failure, Some(Failure::InsufficientFunds));
    assert_eq!(
        (
            c.state.account(&addr(&alice())).balance,
            c.state.account(&addr(&bob())).balance,
        ),
        before
    );
    assert_eq!(c.state.channel_count(), 0);
    // The same signatures a second time: the id exists, nothing is taken.
    let op = open_op(&terms(60, 40, 1));
    let out = c.block(vec![c.tx(&relay(), op.clone().into())]).unwrap();
    assert_eq!(out.receipts[0].failure, None);
    let bob_after = c.state.account(&addr(&bob())).balance;
    let out = c.block(vec![c.tx(&relay(), op.into())]).unwrap();
    assert_eq!(out.receipts[0].failure, f(ChannelFailure::ChannelExists));
    assert_eq!(c.state.account(&addr(&bob())).balance, bob_after);
}

#[test]
fn cooperative_close_pays_out_at_once() {
    let mut w = World::new();
    let (a0, b0) = (w.balance(&alice()), w.balance(&bob()));
    let id = w.id;
    let msg = close_message(&id, ter(25), ter(75));
    let op = |sig_b| ChannelOp::CoopClose {
        channel: id,
        balance_a: ter(25),
        balance_b: ter(75),
        sig_a: terrace_primitives::keys::sign(&alice(), CLOSE_NAMESPACE, &msg),
        sig_b,
    };
    // Bob's signature over the state namespace does not pass for a close.
    let wrong = terrace_primitives::keys::sign(&bob(), STATE_NAMESPACE, &msg);
    w.refused(&relay(), op(wrong), ChannelFailure::InvalidSignature);
    let mismatch = ChannelOp::CoopClose {
        channel: id,
        balance_a: ter(25),
        balance_b: ter(76),
        sig_a: terrace_primitives::keys::sign(&alice(), CLOSE_NAMESPACE, &msg),
        sig_b: terrace_primitives::keys::sign(&bob(), CLOSE_NAMESPACE, &msg),
    };
    w.refused(&relay(), mismatch, ChannelFailure::BalanceMismatch);
    let good = op(terrace_primitives::keys::sign(
        &bob(),
        CLOSE_NAMESPACE,
        &msg,
    ));
    assert_eq!(w.send(&relay(), good.clone()), None);
    assert_eq!(w.balance(&alice()), a0.checked_add(ter(25)).unwrap());
    assert_eq!(w.balance(&bob()), b0.checked_add(ter(75)).unwrap());
    assert!(matches!(w.channel().status, Status::Closed { .. }));
    assert_eq!(w.channel().held(), Some(Amount::ZERO));
    w.refused(&relay(), good, ChannelFailure::NotOpen);
}

#[test]
fn unilateral_close_settles_after_the_window_and_a_newer_state_wins() {
    let mut w = World::new();
    let a0 = w.balance(&alice());
    let v3 = w.state(3, 50, 50, vec![]);
    let v5 = w.state(5, 30, 70, vec![]);
    // Only a side closes.
    w.refused(
        &relay(),
        ChannelOp::Close(Box::new(signed(v3.clone()))),
        ChannelFailure::NotAParty,
    );
    assert_eq!(
        w.send(&alice(), ChannelOp::Close(Box::new(signed(v3.clone())))),
        None
    );
    let a_after_close = w.balance(&alice());
    let closing = w.closing();
    assert_eq!((closing.closer, closing.closed_version), (Side::A, 3));
    let id = w.id;
    w.refused(
        &relay(),
        ChannelOp::Settle { channel: id },
        ChannelFailure::WindowOpen,
    );
    // Bob's tower answers with version 5; an older or equal one is refused.
    let challenge = |s: ChannelState| ChannelOp::Challenge {
        channel: id,
        evidence: Box::new(Evidence::Newer(signed(s))),
    };
    w.refused(
        &relay(),
        challenge(w.state(3, 40, 60, vec![])),
        ChannelFailure::NotNewer,
    );
    assert_eq!(w.send(&relay(), challenge(v5.clone())), None);
    assert_eq!(w.closing().state, v5);
    assert_eq!(
        w.closing().deadline,
        closing.deadline,
        "the window is never extended"
    );
    w.wait(closing.deadline - w.c.height - 1);
    assert_eq!(w.c.height + 1, closing.deadline);
    // At the deadline: no more challenges; settlement pays version 5.
    w.refused(
        &relay(),
        challenge(w.state(6, 29, 71, vec![])),
        ChannelFailure::WindowClosed,
    );
    let b0 = w.balance(&bob());
    assert_eq!(w.send(&relay(), ChannelOp::Settle { channel: id }), None);
    assert_eq!(
        w.balance(&alice()),
        a_after_close.checked_add(ter(30)).unwrap()
    );
    assert_eq!(w.balance(&bob()), b0.checked_add(ter(70)).unwrap());
    assert!(a_after_close < a0, "the closer paid its fee");
    assert!(matches!(w.channel().status, Status::Closed { .. }));
    w.refused(
        &relay(),
        ChannelOp::Settle { channel: id },
        ChannelFailure::NotClosing,
    );
}

#[test]
fn a_revoked_close_forfeits_the_whole_channel() {
    let mut w = World::new();
    let id = w.id;
    // Alice held 90 at version 1, revoked it when version 2 (10/90) was
    // signed, and closes with version 1 anyway.
    let v1 = w.state(1, 90, 10, vec![]);
    let revocation = Revocation {
        channel: id,
        revoked_upto: 1,
    };
    assert_eq!(
        w.send(&alice(), ChannelOp::Close(Box::new(signed(v1)))),
        None
    );
    let revoke = |by: &PrivateKey, r: Revocation| ChannelOp::Challenge {
        channel: id,
        evidence: Box::new(Evidence::Revoked {
            revocation: r,
            signature: r.sign(by),
        }),
    };
    // Bob's own revocation proves nothing about Alice's close.
    w.refused(
        &relay(),
        revoke(&bob(), revocation),
        ChannelFailure::InvalidSignature,
    );
    // A revocation of an older version does not cover version 1.
    let older = Revocation {
        revoked_upto: 0,
        ..revocation
    };
    w.refused(
        &relay(),
        revoke(&alice(), older),
        ChannelFailure::NotRevoked,
    );
    let other = Revocation {
        channel: Hash::from([7u8; 32]),
        ..revocation
    };
    w.refused(
        &relay(),
        revoke(&alice(), other),
        ChannelFailure::WrongChannel,
    );
    // The tower (the relay) challenges with Alice's revocation.
    assert_eq!(w.send(&relay(), revoke(&alice(), revocation)), None);
    assert_eq!(w.closing().penalized, Some(Side::A));
    w.refused(
        &relay(),
        revoke(&alice(), revocation),
        ChannelFailure::AlreadyPenalized,
    );
    w.wait(WINDOW);
    let (a0, b0) = (w.balance(&alice()), w.balance(&bob()));
    assert_eq!(w.send(&relay(), ChannelOp::Settle { channel: id }), None);
    assert_eq!(w.balance(&alice()), a0, "the cheater gets nothing");
    assert_eq!(w.balance(&bob()), b0.checked_add(ter(100)).unwrap());
}

#[test]
fn without_the_penalty_a_revocation_proves_nothing() {
    let mut c = Chain::new(5, 1);
    c.params.modules.channels.penalty = Penalty::None;
    let t = terms(60, 40, 0);
    c.block(vec![c.tx(&relay(), open_op(&t).into())]).unwrap();
    let mut w = World {
        c,
        id: t.channel_id(CHAIN),
    };
    let v1 = w.state(1, 90, 10, vec![]);
    assert_eq!(
        w.send(&alice(), ChannelOp::Close(Box::new(signed(v1)))),
        None
    );
    let r = Revocation {
        channel: w.id,
        revoked_upto: 1,
    };
    let op = ChannelOp::Challenge {
        channel: w.id,
        evidence: Box::new(Evidence::Revoked {
            revocation: r,
            signature: r.sign(&alice()),
        }),
    };
    w.refused(&relay(), op, ChannelFailure::PenaltyDisabled);
}

#[test]
fn bad_states_are_refused() {
    let mut w = World::new();
    let id = w.id;
    let close = |s: SignedState| ChannelOp::Close(Box::new(s));
    // Sums to 101.
    w.refused(
        &alice(),
        close(signed(w.state(1, 61, 40, vec![]))),
        ChannelFailure::BalanceMismatch,
    );
    // Alice offers four HTLCs where the channel allows three per side.
    let four = (0..4).map(|i| htlc(i, Side::A, 1, 1, 100)).collect();
    w.refused(
        &alice(),
        close(signed(w.state(1, 56, 40, four))),
        ChannelFailure::TooManyHtlcs,
    );
    // The same HTLC id twice.
    let twice = vec![htlc(0, Side::A, 1, 1, 100), htlc(0, Side::A, 1, 2, 100)];
    w.refused(
        &alice(),
        close(signed(w.state(1, 58, 40, twice))),
        ChannelFailure::InvalidHtlc,
    );
    let empty = vec![htlc(0, Side::A, 0, 1, 100)];
    w.refused(
        &alice(),
        close(signed(w.state(1, 60, 40, empty))),
        ChannelFailure::InvalidHtlc,
    );
    // A state naming an unknown channel.
    let mut s = signed(w.state(1, 60, 40, vec![]));
    s.state.channel = Hash::from([9u8; 32]);
    w.refused(&alice(), close(s), ChannelFailure::UnknownChannel);
    // Bob's signature over another version.
    let mut s = signed(w.state(2, 60, 40, vec![]));
    s.sig_b = w.state(3, 60, 40, vec![]).sign(&bob());
    w.refused(&alice(), close(s), ChannelFailure::InvalidSignature);
    // A challenge with a state of another channel, while closing.
    assert_eq!(
        w.send(&alice(), close(signed(w.state(1, 60, 40, vec![])))),
        None
    );
    let mut wrong = w.state(2, 60, 40, vec![]);
    wrong.channel = Hash::from([9u8; 32]);
    let op = ChannelOp::Challenge {
        channel: id,
        evidence: Box::new(Evidence::Newer(signed(wrong))),
    };
    w.refused(&relay(), op, ChannelFailure::WrongChannel);
    // Closing twice.
    w.refused(
        &bob(),
        close(signed(w.state(2, 60, 40, vec![]))),
        ChannelFailure::NotOpen,
    );
}

#[test]
fn htlcs_settle_through_the_preimage_registry() {
    let mut w = World::new();
    let id = w.id;
    let h = w.c.height;
    // Alice offers Bob 5 (preimage 1) and 7 (preimage 2); Bob offers 3
    // (preimage 3), all expiring well after the window.
    let expiry = h + WINDOW + 20;
    let htlcs = vec![
        htlc(10, Side::A, 5, 1, expiry),
        htlc(11, Side::A, 7, 2, expiry),
        htlc(12, Side::B, 3, 3, expiry),
    ];
    // Preimage 1 is revealed on L1 before the settlement.
    assert_eq!(
        w.send(&relay(), ChannelOp::RegisterPreimage { preimage: [1; 32] }),
        None
    );
    w.refused(
        &relay(),
        ChannelOp::RegisterPreimage { preimage: [1; 32] },
        ChannelFailure::PreimageKnown,
    );
    let (a0, b0) = (w.balance(&alice()), w.balance(&bob()));
    w.close_and_settle(w.state(4, 40, 45, htlcs));
    let bob_fees = b0
        .checked_add(ter(45 + 5))
        .unwrap()
        .checked_sub(w.balance(&bob()))
        .unwrap();
    assert!(bob_fees < ter(1), "Bob got 45 and the revealed HTLC's 5");
    assert_eq!(w.balance(&alice()), a0.checked_add(ter(40)).unwrap());
    assert_eq!(w.channel().held(), Some(ter(10)), "two HTLCs wait");
    let claim = |htlc, preimage| ChannelOp::ClaimHtlc {
        channel: id,
        htlc,
        preimage,
    };
    let timeout = |htlc| ChannelOp::TimeoutHtlc { channel: id, htlc };
    w.refused(
        &relay(),
        claim(11, None),
        ChannelFailure::PreimageNotRegistered,
    );
    w.refused(
        &relay(),
        claim(11, Some([9; 32])),
        ChannelFailure::PreimageMismatch,
    );
    w.refused(
        &relay(),
        claim(10, Some([1; 32])),
        ChannelFailure::UnknownHtlc,
    );
    w.refused(&relay(), timeout(11), ChannelFailure::NotExpired);
    let b1 = w.balance(&bob());
    assert_eq!(w.send(&relay(), claim(11, Some([2; 32]))), None);
    assert_eq!(w.balance(&bob()), b1.checked_add(ter(7)).unwrap());
    assert_eq!(
        w.c.state.preimage_height(&rules::payment_hash(&[2; 32])),
        Some(w.c.height),
        "a claim with its preimage registers it"
    );
    // HTLC 12 expires unclaimed: Bob gets his 3 back; a late preimage is refused.
    w.wait(expiry - w.c.height);
    w.refused(
        &relay(),
        claim(12, Some([3; 32])),
        ChannelFailure::HtlcExpired,
    );
    let b2 = w.balance(&bob());
    assert_eq!(w.send(&relay(), timeout(12)), None);
    assert_eq!(w.balance(&bob()), b2.checked_add(ter(3)).unwrap());
    assert!(matches!(w.channel().status, Status::Closed { .. }));
    assert_eq!(w.channel().held(), Some(Amount::ZERO));
}

#[test]
fn a_timeout_is_refused_when_the_preimage_came_in_time() {
    let mut w = World::new();
    let id = w.id;
    let expiry = w.c.height + WINDOW + 5;
    w.close_and_settle(w.state(2, 55, 40, vec![htlc(1, Side::A, 5, 4, expiry)]));
    assert_eq!(
        w.send(&relay(), ChannelOp::RegisterPreimage { preimage: [4; 32] }),
        None
    );
    w.wait(10);
    let timeout = ChannelOp::TimeoutHtlc {
        channel: id,
        htlc: 1,
    };
    w.refused(&relay(), timeout, ChannelFailure::PreimageRegistered);
    let b0 = w.balance(&bob());
    let claim = ChannelOp::ClaimHtlc {
        channel: id,
        htlc: 1,
        preimage: None,
    };
    assert_eq!(w.send(&relay(), claim), None);
    assert_eq!(w.balance(&bob()), b0.checked_add(ter(5)).unwrap());
}

#[test]
fn operations_and_records_round_trip() {
    let w = World::new();
    let s = signed(w.state(9, 50, 45, vec![htlc(3, Side::B, 5, 1, 77)]));
    let r = Revocation {
        channel: w.id,
        revoked_upto: 8,
    };
    let ops = [
        open_op(&terms(60, 40, 3)),
        ChannelOp::Close(Box::new(s.clone())),
        ChannelOp::Challenge {
            channel: w.id,
            evidence: Box::new(Evidence::Newer(s.clone())),
        },
        ChannelOp::Challenge {
            channel: w.id,
            evidence: Box::new(Evidence::Revoked {
                revocation: r,
                signature: r.sign(&alice()),
            }),
        },
        ChannelOp::Settle { channel: w.id },
        ChannelOp::RegisterPreimage { preimage: [5; 32] },
        ChannelOp::ClaimHtlc {
            channel: w.id,
            htlc: 3,
            preimage: Some([5; 32]),
        },
        ChannelOp::TimeoutHtlc {
            channel: w.id,
            htlc: 3,
        },
    ];
    for op in ops {
        let payload = Payload::Channels(op);
        let bytes = payload.encode();
        assert_eq!(Payload::decode(bytes.clone()).unwrap(), payload);
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Payload::decode(bytes.slice(..cut)).is_err());
        }
    }
    let mut ch = w.channel();
    ch.status = Status::Closing(Box::new(Closing {
        state: s.state.clone(),
        closer: Side::B,
        closed_version: 9,
        deadline: 100,
        penalized: Some(Side::B),
    }));
    for record in [
        ChannelRecord::Channel(Box::new(w.channel())),
        ChannelRecord::Channel(Box::new(ch)),
        ChannelRecord::Preimage(4),
        ChannelRecord::Index(w.id),
        ChannelRecord::Count(2),
    ] {
        let value = crate::Value::Channels(record);
        assert_eq!(crate::Value::decode(value.encode()).unwrap(), value);
    }
    for key in [
        ChannelKey::Count,
        ChannelKey::Index(3),
        ChannelKey::Channel(w.id),
        ChannelKey::Preimage(w.id),
    ] {
        let key = crate::Key::Channels(key);
        assert_eq!(crate::Key::decode(key.encode()).unwrap(), key);
    }
}
