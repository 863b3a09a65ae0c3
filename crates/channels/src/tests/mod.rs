//! The crate's tests: the state machine between two sides over an
//! in-memory wire, routing over a graph, invoices, and the tower.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod journal;
mod machine;
mod routing;
mod tower;

use terrace_l1::modules::channels::OpenTerms;
use terrace_primitives::{
    Amount, ChainId, Hash, PrivateKey, hash, keys::Signer as _, keys::private_key_from_seed,
};

const CHAIN: ChainId = ChainId(7);

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

fn terms() -> OpenTerms {
    OpenTerms {
        a: key(1).public_key(),
        b: key(2).public_key(),
        deposit_a: Amount(1_000),
        deposit_b: Amount(500),
        window: 100,
        reserve: Amount(10),
        max_htlcs: 4,
        nonce: 0,
    }
}

fn preimage(i: u8) -> [u8; 32] {
    [i; 32]
}

fn payment_hash(i: u8) -> Hash {
    hash(&[&preimage(i)])
}
