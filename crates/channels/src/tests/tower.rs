//! The tower: appointments replaced in place (O(1) per channel over
//! 10,000 payments), and its answer to a close on L1.

use super::{machine::Pair, preimage};
use crate::tower::{Appointment, Tower, TowerError};
use terrace_l1::modules::channels::{ChannelOp, Closing, Evidence, Side};
use terrace_primitives::keys::Signer as _;

fn appointment(p: &Pair, client: Side) -> Appointment {
    let c = &p.sides[match client {
        Side::A => 0,
        Side::B => 1,
    }];
    Appointment {
        client,
        state: c.current().clone(),
        revocation: c.peer_revocation_signed(),
    }
}

/// One payment each way, `n` times; B's tower takes an appointment after
/// each round.
fn run(p: &mut Pair, tower: &mut Tower, rounds: u32) {
    let (a, b) = (super::key(1).public_key(), super::key(2).public_key());
    for i in 0..rounds {
        for from in [Side::A, Side::B] {
            let n = (i % 200) as u8;
            let id = p.pay(from, 7, n);
            p.quiesce();
            let m = p.side(from.other()).fulfill_htlc(id, preimage(n)).unwrap();
            p.send(from.other(), m);
            p.quiesce();
        }
        tower.watch(appointment(p, Side::B), &a, &b).unwrap();
    }
}

#[test]
fn storage_per_channel_does_not_grow_with_payments() {
    let mut p = Pair::new();
    let mut tower = Tower::default();
    let id = *p.sides[0].id();
    run(&mut p, &mut tower, 5);
    let after_10 = tower.stored_bytes(&id);
    run(&mut p, &mut tower, 4_995);
    let after_10k = tower.stored_bytes(&id);
    assert_eq!(p.sides[1].current().state.version, 20_000);
    assert_eq!(
        after_10, after_10k,
        "bytes per channel after 10 and 10,000 payments"
    );
    assert_eq!(tower.len(), 1);
}

#[test]
fn the_tower_answers_a_revoked_close_and_a_stale_one() {
    let (a, b) = (super::key(1).public_key(), super::key(2).public_key());
    let mut p = Pair::new();
    let id = *p.sides[0].id();
    let mut tower = Tower::default();
    // Version 2: A offered B 100; A's version-1 state is revoked.
    let h = p.pay(Side::A, 100, 1);
    p.quiesce();
    let old = p.sides[0].current().clone();
    let m = p.side(Side::B).fulfill_htlc(h, preimage(1)).unwrap();
    p.send(Side::B, m);
    p.quiesce();
    tower.watch(appointment(&p, Side::B), &a, &b).unwrap();
    let closing = |closer, state: &terrace_l1::modules::channels::SignedState| Closing {
        state: state.state.clone(),
        closer,
        closed_version: state.state.version,
        deadline: 100,
        penalized: None,
    };
    // A closes with the revoked version 1: the tower sends A's revocation.
    match tower.respond(&id, &closing(Side::A, &old)) {
        Some(ChannelOp::Challenge { evidence, .. }) => {
            assert!(
                matches!(*evidence, Evidence::Revoked { revocation, .. } if revocation.revoked_upto >= 1)
            );
        }
        other => panic!("no penalty: {other:?}"),
    }
    // A closes with the current version: nothing to answer; nor when B
    // (the client) closed.
    let now = p.sides[0].current().clone();
    assert_eq!(tower.respond(&id, &closing(Side::A, &now)), None);
    assert_eq!(tower.respond(&id, &closing(Side::B, &old)), None);
    // An older appointment, or one with a forged signature, is refused
    // and the one held stays.
    let mut stale = appointment(&p, Side::B);
    stale.state = old.clone();
    assert!(matches!(
        tower.watch(stale, &a, &b),
        Err(TowerError::Stale { .. })
    ));
    let mut forged = appointment(&p, Side::B);
    forged.state.sig_a = forged.state.state.sign(&super::key(9));
    assert_eq!(
        tower.watch(forged, &a, &b),
        Err(TowerError::InvalidSignature)
    );
    let mut wrong = appointment(&p, Side::B);
    if let Some((r, _)) = &mut wrong.revocation {
        r.revoked_upto += 5;
    }
    assert_eq!(
        tower.watch(wrong, &a, &b),
        Err(TowerError::InvalidSignature)
    );
    assert!(
        tower.respond(&id, &closing(Side::A, &old)).is_some(),
        "the held appointment still answers"
    );
}
