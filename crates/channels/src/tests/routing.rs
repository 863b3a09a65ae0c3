//! Routing over a small graph, invoices, and the per-hop payload.

use super::key;
use crate::{
    invoice::{Invoice, InvoiceError},
    routing::{ChannelUpdate, Graph, RouteError, RouteRequest, onion, peel},
};
use std::collections::BTreeSet;
use terrace_primitives::{Amount, Hash, PublicKey, keys::Signer as _};

fn id(i: u8) -> Hash {
    Hash::from([i; 32])
}

fn pk(i: u8) -> PublicKey {
    key(i).public_key()
}

/// `node` forwards over `channel` for `base` + `ppm`, with `delta`.
fn update(
    channel: u8,
    node: u8,
    base: u128,
    ppm: u32,
    delta: u64,
    ts: u64,
) -> crate::routing::SignedUpdate {
    ChannelUpdate {
        channel: id(channel),
        node: pk(node),
        fee_base: Amount(base),
        fee_ppm: ppm,
        expiry_delta: delta,
        htlc_min: Amount(1),
        htlc_max: Amount(1_000_000),
        timestamp: ts,
    }
    .sign(&key(node))
}

/// P(1) – X(2) – T(4) at fee 5 + 1 ‰ over X, and P – Y(3) – T at fee 20
/// over Y; every channel of capacity 100,000.
fn graph() -> Graph {
    let mut g = Graph::default();
    for (c, a, b) in [(12, 1, 2), (24, 2, 4), (13, 1, 3), (34, 3, 4)] {
        g.add_channel(id(c), pk(a), pk(b), Amount(100_000));
    }
    for u in [
        update(24, 2, 5, 1_000, 10, 1),
        update(34, 3, 20, 0, 6, 1),
        update(24, 4, 0, 0, 10, 1),
        update(34, 4, 0, 0, 10, 1),
    ] {
        g.apply(&u).unwrap();
    }
    g
}

fn request<'a>(
    from: &'a PublicKey,
    to: &'a PublicKey,
    amount: u128,
    avoid: &'a BTreeSet<Hash>,
) -> RouteRequest<'a> {
    RouteRequest {
        from,
        to,
        amount: Amount(amount),
        height: 100,
        final_delta: 12,
        max_expiry_delta: 1_000,
        avoid,
        lock_price_ppm: 0,
    }
}

#[test]
fn the_cheapest_path_is_taken_with_fees_and_deltas_per_hop() {
    let g = graph();
    let (p, t, none) = (pk(1), pk(4), BTreeSet::new());
    let route = g.route(&request(&p, &t, 10_000, &none)).unwrap();
    // Over X: 5 + 10 (1 ‰ of 10,000) = 15 < 20 over Y.
    assert_eq!(route.hops.len(), 2);
    assert_eq!(
        (route.hops[0].channel, route.hops[0].node.clone()),
        (id(12), pk(2))
    );
    assert_eq!(
        (route.hops[0].amount, route.hops[0].expiry),
        (Amount(10_015), 100 + 12 + 10)
    );
    assert_eq!(
        (route.hops[1].amount, route.hops[1].expiry),
        (Amount(10_000), 100 + 12)
    );
    assert_eq!(route.fees(), Amount(15));
    // At 100,000 the per-mille fee makes Y cheaper (105 > 20) — but the
    // capacity allows at most 100,000 on the first hop, which X's fee
    // would exceed anyway.
    let route = g.route(&request(&p, &t, 99_000, &none)).unwrap();
    assert_eq!(route.hops[0].channel, id(13));
    assert_eq!(route.fees(), Amount(20));
}

#[test]
fn a_failed_channel_is_avoided_and_missing_routes_say_why() {
    let g = graph();
    let (p, t) = (pk(1), pk(4));
    let avoid: BTreeSet<Hash> = [id(24)].into();
    let route = g.route(&request(&p, &t, 10_000, &avoid)).unwrap();
    assert_eq!(route.hops[0].channel, id(13));
    let both: BTreeSet<Hash> = [id(24), id(34)].into();
    assert_eq!(
        g.route(&request(&p, &t, 10_000, &both)),
        Err(RouteError::NoRoute {
            amount: Amount(10_000)
        })
    );
    let none = BTreeSet::new();
    assert!(matches!(
        g.route(&request(&p, &t, 200_000, &none)),
        Err(RouteError::NoRoute { .. })
    ));
    let mut short = request(&p, &t, 10_000, &none);
    short.max_expiry_delta = 15;
    assert!(matches!(g.route(&short), Err(RouteError::TooLong { .. })));
    // The price of lock-up moves the choice to the shorter delta (Y: 6).
    let mut slow = request(&p, &t, 10_000, &none);
    slow.lock_price_ppm = 1_000;
    assert_eq!(g.route(&slow).unwrap().hops[0].channel, id(13));
}

#[test]
fn updates_are_signed_newest_first_and_by_a_side() {
    let mut g = graph();
    assert_eq!(g.apply(&update(24, 2, 5, 0, 10, 1)), Err(RouteError::Stale));
    let mut forged = update(24, 2, 0, 0, 1, 9);
    forged.update.fee_base = Amount(1);
    assert_eq!(g.apply(&forged), Err(RouteError::InvalidSignature));
    assert_eq!(
        g.apply(&update(24, 3, 0, 0, 1, 9)),
        Err(RouteError::NotAParty)
    );
    assert_eq!(
        g.apply(&update(99, 2, 0, 0, 1, 9)),
        Err(RouteError::UnknownChannel(id(99)))
    );
    g.apply(&update(24, 2, 0, 0, 1, 9)).unwrap();
    g.remove_channel(&id(24));
    assert_eq!(g.len(), 3);
}

#[test]
fn each_hop_peels_its_instruction() {
    let g = graph();
    let (p, t, none) = (pk(1), pk(4), BTreeSet::new());
    let route = g.route(&request(&p, &t, 10_000, &none)).unwrap();
    let payload = onion(&route);
    let (at_x, rest) = peel(&payload).unwrap();
    assert_eq!(at_x.channel, Some(id(24)));
    assert_eq!((at_x.amount, at_x.expiry), (Amount(10_000), 112));
    let (at_t, _) = peel(&rest).unwrap();
    assert_eq!(at_t.channel, None);
    assert_eq!(at_t.amount, Amount(10_000));
    assert!(peel(&[]).is_err());
    assert!(peel(&[0xff; 8]).is_err());
}

#[test]
fn invoices_are_signed_and_expire() {
    let inv = Invoice {
        payee: pk(4),
        payment_hash: id(7),
        amount: Amount(10_000),
        expires_at: 500,
        final_delta: 12,
        memo: "coffee".into(),
    };
    let text = inv.to_text(&key(4));
    assert!(text.starts_with("tinv1"));
    assert_eq!(Invoice::from_text(&text, 400).unwrap(), inv);
    assert_eq!(
        Invoice::from_text(&text, 501),
        Err(InvoiceError::Expired(500))
    );
    assert_eq!(
        Invoice::from_text("lnbc1xyz", 0),
        Err(InvoiceError::BadPrefix)
    );
    assert_eq!(Invoice::from_text("tinv1zz", 0), Err(InvoiceError::BadHex));
    // Signed by someone else than the payee it names.
    let forged = inv.to_text(&key(5));
    assert_eq!(
        Invoice::from_text(&forged, 0),
        Err(InvoiceError::InvalidSignature)
    );
    assert!(matches!(
        Invoice::from_text(&text[..text.len() - 2], 0),
        Err(InvoiceError::Decode(_))
    ));
}
