//! A channel side fed whatever a peer may send, after a few honest
//! payments: never a panic, a refused message changes nothing, and the
//! side never holds a state it revoked or one that loses capacity.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use terrace_channels::{Channel, Message, Snapshot, initial_state};
use terrace_l1::modules::channels::{OpenTerms, Side, SignedState};
use terrace_primitives::{Amount, ChainId, PrivateKey, hash, keys::Signer as _, keys::private_key_from_seed};

const CHAIN: ChainId = ChainId(7);

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

fuzz_target!(|data: &[u8]| {
    let terms = OpenTerms {
        a: key(1).public_key(),
        b: key(2).public_key(),
        deposit_a: Amount(1_000),
        deposit_b: Amount(500),
        window: 100,
        reserve: Amount(10),
        max_htlcs: 4,
        nonce: 0,
    };
    let v0 = initial_state(&terms, CHAIN);
    let signed = SignedState {
        sig_a: v0.sign(&key(1)),
        sig_b: v0.sign(&key(2)),
        state: v0,
    };
    let Ok(mut b) = Channel::new(&terms, CHAIN, Side::B, key(2), Snapshot::opening(signed, Side::B)) else {
        return;
    };
    let _ = b.add_htlc(Amount(5), hash(&[&[1u8; 32]]), 50, Bytes::new());
    // Split the input into length-prefixed messages from the peer.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        let Ok(m) = Message::decode(bytes) else { continue };
        let before = b.snapshot();
        if b.receive(&m).is_err() {
            assert_eq!(b.snapshot(), before, "a refused message changed the channel");
        }
        let s = &b.current().state;
        assert_eq!(s.total(), Some(Amount(1_500)));
        assert!(b.snapshot().revoked_upto.is_none_or(|r| r < s.version));
        let _ = b.commit();
    }
});
