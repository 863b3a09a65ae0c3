//! The channel state machine between two sides over an in-memory wire:
//! payments, crossing proposals, refused input, a restart that lost an
//! answer, and random interleavings that keep both sides safe.

use super::{CHAIN, key, payment_hash, preimage, terms};
use crate::{Channel, ChannelError, Event, Message, link::Link};
use bytes::Bytes;
use proptest::prelude::*;
use terrace_l1::modules::channels::{Revocation, Side};
use terrace_primitives::{Amount, Hash};

/// Both sides over the in-memory [`Link`], failing the test on any
/// refusal.
pub(super) struct Pair(Link);

impl std::ops::Deref for Pair {
    type Target = Link;
    fn deref(&self) -> &Link {
        &self.0
    }
}

impl std::ops::DerefMut for Pair {
    fn deref_mut(&mut self) -> &mut Link {
        &mut self.0
    }
}

impl Pair {
    pub(super) fn new() -> Self {
        Self(Link::open(&terms(), CHAIN, key(1), key(2)).unwrap())
    }

    pub(super) fn settle_wire(&mut self) {
        self.0.settle_wire().unwrap();
    }

    pub(super) fn commit(&mut self, s: Side) {
        self.0.commit(s).unwrap();
    }

    pub(super) fn quiesce(&mut self) {
        assert!(self.0.quiesce().unwrap(), "the channel never became quiet");
    }

    pub(super) fn pay(&mut self, from: Side, amount: u64, p: u8) -> u64 {
        let (id, m) = self
            .side(from)
            .add_htlc(Amount(amount.into()), payment_hash(p), 1_000, Bytes::new())
            .unwrap();
        self.send(from, m);
        id
    }

    fn assert_safe(&self) {
        for c in &self.sides {
            let s = &c.current().state;
            assert_eq!(s.total(), Some(Amount(1_500)), "capacity is conserved");
            let revoked = c.snapshot().revoked_upto;
            assert!(
                revoked.is_none_or(|r| r < s.version),
                "a side revoked the state it would publish"
            );
        }
    }
}

#[test]
fn a_payment_is_added_fulfilled_and_both_sides_agree() {
    let mut p = Pair::new();
    let id = p.pay(Side::A, 100, 1);
    p.commit(Side::A);
    p.settle_wire();
    p.assert_safe();
    assert_eq!(p.sides[0].current(), p.sides[1].current());
    assert_eq!(p.sides[0].current().state.version, 1);
    // B learns of the HTLC once A revoked version 0.
    assert!(matches!(p.events[1].as_slice(), [Event::Received(h, _)] if h.id == id));
    assert_eq!(
        p.sides[1].peer_revocation().map(|r| r.revoked_upto),
        Some(0)
    );
    assert_eq!(
        p.sides[0].peer_revocation().map(|r| r.revoked_upto),
        Some(0)
    );
    // B claims it with the preimage.
    let m = p.side(Side::B).fulfill_htlc(id, preimage(1)).unwrap();
    p.send(Side::B, m);
    p.quiesce();
    p.assert_safe();
    let s = &p.sides[0].current().state;
    assert_eq!((s.balance_a, s.balance_b), (Amount(900), Amount(600)));
    assert!(s.htlcs.is_empty());
    assert!(p.events[0].iter().any(
        |e| matches!(e, Event::Fulfilled { id: i, preimage: x } if *i == id && *x == preimage(1))
    ));
    // What each side persisted is what it holds.
    assert_eq!(
        p.persisted[0].as_ref().unwrap().current,
        *p.sides[0].current()
    );
    assert_eq!(
        p.persisted[1].as_ref().unwrap().current,
        *p.sides[1].current()
    );
}

#[test]
fn crossing_proposals_resolve_with_a_winning() {
    let mut p = Pair::new();
    let a = p.pay(Side::A, 100, 1);
    let b = p.pay(Side::B, 50, 2);
    // Both propose version 1 before seeing the other's add.
    p.commit(Side::A);
    p.commit(Side::B);
    p.quiesce();
    p.assert_safe();
    assert_eq!(p.sides[0].current(), p.sides[1].current());
    let s = &p.sides[0].current().state;
    let ids: Vec<u64> = s.htlcs.iter().map(|h| h.id).collect();
    assert!(
        ids.contains(&a) && ids.contains(&b),
        "both adds committed: {ids:?}"
    );
    assert_eq!((s.balance_a, s.balance_b), (Amount(900), Amount(450)));
}

#[test]
fn a_failed_htlc_returns_to_its_offerer() {
    let mut p = Pair::new();
    let id = p.pay(Side::A, 100, 1);
    p.quiesce();
    let m = p.side(Side::B).fail_htlc(id, 7).unwrap();
    p.send(Side::B, m);
    p.quiesce();
    let s = &p.sides[0].current().state;
    assert_eq!((s.balance_a, s.balance_b), (Amount(1_000), Amount(500)));
    assert!(
        p.events[0]
            .iter()
            .any(|e| *e == Event::Failed { id, reason: 7 })
    );
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut p = Pair::new();
    let id = p.pay(Side::A, 100, 1);
    p.quiesce();
    let before = p.sides[1].snapshot();
    let channel = *p.sides[1].id();
    let b = p.side(Side::B);
    // Another channel.
    let other = Message::FailHtlc {
        channel: Hash::from([9; 32]),
        id,
        reason: 0,
    };
    assert!(matches!(
        b.receive(&other),
        Err(ChannelError::WrongChannel(_))
    ));
    // A preimage that does not hash.
    assert_eq!(
        b.fulfill_htlc(id, preimage(2)),
        Err(ChannelError::PreimageMismatch(id))
    );
    // More than B has past its reserve.
    assert!(matches!(
        b.add_htlc(Amount(491), payment_hash(3), 1_000, Bytes::new()),
        Err(ChannelError::InsufficientCapacity { .. })
    ));
    // A commitment signed by the wrong key.
    let state = {
        let mut s = b.current().state.clone();
        s.version += 1;
        s
    };
    let forged = Message::CommitmentSigned {
        channel,
        version: state.version,
        senders: 0,
        receivers: 0,
        signature: state.sign(&key(9)),
    };
    assert_eq!(b.receive(&forged), Err(ChannelError::InvalidSignature));
    // Counting updates never sent; an old version.
    let counted = Message::CommitmentSigned {
        channel,
        version: state.version,
        senders: 3,
        receivers: 0,
        signature: state.sign(&key(1)),
    };
    assert_eq!(b.receive(&counted), Err(ChannelError::UnknownUpdates));
    let old = Message::CommitmentSigned {
        channel,
        version: 1,
        senders: 0,
        receivers: 0,
        signature: state.sign(&key(1)),
    };
    assert!(matches!(
        b.receive(&old),
        Err(ChannelError::UnexpectedVersion { got: 1, .. })
    ));
    // A revocation signed by B's own key, and one of the current version.
    let r = Revocation {
        channel,
        revoked_upto: 1,
    };
    let wrong = Message::RevokeAndAck {
        channel,
        revoked_upto: 1,
        signature: r.sign(&key(2)),
    };
    assert!(b.receive(&wrong).is_err());
    // An add reusing an id, and one of B's parity.
    for bad in [id, 1] {
        let add = Message::AddHtlc {
            channel,
            id: bad,
            amount: Amount(5),
            payment_hash: payment_hash(4),
            expiry: 1_000,
            onion: Bytes::new(),
        };
        assert!(matches!(
            b.receive(&add),
            Err(ChannelError::UnexpectedId { .. })
        ));
    }
    assert_eq!(p.sides[1].snapshot(), before);
    assert!(!p.sides[1].wants_commit(), "nothing was queued");
}

#[test]
fn htlc_slots_are_limited() {
    let mut p = Pair::new();
    for i in 0..4 {
        p.pay(Side::A, 1, i);
    }
    assert_eq!(
        p.side(Side::A)
            .add_htlc(Amount(1), payment_hash(9), 1_000, Bytes::new())
            .map(|_| ()),
        Err(ChannelError::TooManyHtlcs(4))
    );
}

#[test]
fn a_restart_that_lost_the_answer_resumes_from_the_peer() {
    let mut p = Pair::new();
    p.pay(Side::A, 100, 1);
    p.quiesce();
    let saved = p.persisted[0].clone().unwrap();
    let id = p.pay(Side::A, 30, 2);
    p.commit(Side::A);
    // B answers (and persists version 2); A dies before reading it.
    p.deliver_one(Side::B).unwrap().unwrap(); // the add
    p.deliver_one(Side::B).unwrap().unwrap(); // the proposal
    assert_eq!(p.sides[1].current().state.version, 2);
    p.wire[0].clear();
    p.sides[0] = Channel::new(&terms(), CHAIN, Side::A, key(1), saved).unwrap();
    assert_eq!(p.sides[0].current().state.version, 1);
    // Reconnect: each sends its reestablish.
    let (ra, rb) = (p.sides[0].reestablish(), p.sides[1].reestablish());
    p.send(Side::A, ra);
    p.send(Side::B, rb);
    p.settle_wire();
    p.assert_safe();
    assert_eq!(p.sides[0].current(), p.sides[1].current());
    assert_eq!(p.sides[0].current().state.version, 2);
    assert!(p.sides[0].current().state.htlcs.iter().any(|h| h.id == id));
    assert_eq!(
        p.sides[1].peer_revocation().map(|r| r.revoked_upto),
        Some(1)
    );
    // And payments go on.
    let m = p.side(Side::B).fulfill_htlc(id, preimage(2)).unwrap();
    p.send(Side::B, m);
    p.quiesce();
    p.assert_safe();
    assert_eq!(p.sides[0].current(), p.sides[1].current());
}

#[derive(Debug, Clone)]
enum Op {
    Pay(bool, u16),
    Resolve(bool, bool),
    Commit(bool),
    Deliver(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 1u16..200).prop_map(|(a, n)| Op::Pay(a, n)),
        (any::<bool>(), any::<bool>()).prop_map(|(a, ok)| Op::Resolve(a, ok)),
        any::<bool>().prop_map(Op::Commit),
        any::<bool>().prop_map(Op::Deliver),
        any::<bool>().prop_map(Op::Deliver),
    ]
}

fn side(a: bool) -> Side {
    if a { Side::A } else { Side::B }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any interleaving of payments, resolutions, proposals and
    /// deliveries: capacity is conserved, no side ever revokes the state
    /// it holds, and once quiet both hold the same state.
    #[test]
    fn random_interleavings_stay_safe_and_converge(ops in proptest::collection::vec(op(), 1..60)) {
        let mut p = Pair::new();
        let mut n = 0u8;
        for op in ops {
            match op {
                Op::Pay(a, amount) => {
                    n = n.wrapping_add(1);
                    if let Ok((_, m)) = p.side(side(a)).add_htlc(
                        Amount(amount.into()), payment_hash(n), 1_000, Bytes::new()) {
                        p.send(side(a), m);
                    }
                }
                Op::Resolve(a, ok) => {
                    let s = side(a);
                    let htlc = p.side(s).current().state.htlcs.iter()
                        .find(|h| h.offerer != s).copied();
                    if let Some(h) = htlc {
                        let i = (0..=255u8).find(|i| payment_hash(*i) == h.payment_hash).unwrap();
                        let m = if ok {
                            p.side(s).fulfill_htlc(h.id, preimage(i))
                        } else {
                            p.side(s).fail_htlc(h.id, 1)
                        };
                        if let Ok(m) = m {
                            p.send(s, m);
                        }
                    }
                }
                Op::Commit(a) => p.commit(side(a)),
                Op::Deliver(a) => {
                    if let Some(r) = p.deliver_one(side(a)) {
                        r.unwrap();
                    }
                }
            }
            p.assert_safe();
        }
        p.quiesce();
        p.assert_safe();
        prop_assert_eq!(p.sides[0].current(), p.sides[1].current());
    }
}

fn message() -> impl Strategy<Value = Message> {
    let channel = any::<[u8; 32]>().prop_map(Hash::from);
    prop_oneof![
        (
            channel.clone(),
            any::<u64>(),
            any::<u128>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64)
        )
            .prop_map(|(channel, id, a, h, expiry, onion)| Message::AddHtlc {
                channel,
                id,
                amount: Amount(a),
                payment_hash: Hash::from(h),
                expiry,
                onion: Bytes::from(onion),
            }),
        (channel.clone(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(channel, id, preimage)| {
            Message::FulfillHtlc {
                channel,
                id,
                preimage,
            }
        }),
        (channel.clone(), any::<u64>(), any::<u16>()).prop_map(|(channel, id, reason)| {
            Message::FailHtlc {
                channel,
                id,
                reason,
            }
        }),
        (
            channel.clone(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>()
        )
            .prop_map(|(channel, version, senders, receivers, k)| {
                Message::CommitmentSigned {
                    channel,
                    version,
                    senders,
                    receivers,
                    signature: Revocation {
                        channel,
                        revoked_upto: version,
                    }
                    .sign(&key(k)),
                }
            }),
        (channel, any::<u64>(), any::<u8>()).prop_map(|(channel, revoked_upto, k)| {
            Message::RevokeAndAck {
                channel,
                revoked_upto,
                signature: Revocation {
                    channel,
                    revoked_upto,
                }
                .sign(&key(k)),
            }
        }),
    ]
}

proptest! {
    /// Every message round-trips; a truncated one is refused.
    #[test]
    fn messages_round_trip(m in message()) {
        use commonware_codec::Encode as _;
        let bytes = m.encode();
        prop_assert_eq!(Message::decode(&bytes).unwrap(), m);
        prop_assert!(Message::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    /// No byte string panics the decoder.
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Message::decode(&bytes);
    }
}

#[test]
fn oversized_messages_are_refused_before_parsing() {
    let big = vec![0u8; crate::wire::MESSAGE_BYTES_MAX + 1];
    assert!(matches!(
        Message::decode(&big),
        Err(terrace_primitives::codec::DecodeError::TooLarge { .. })
    ));
}
