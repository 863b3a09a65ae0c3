#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
//! Hand-built L1 blocks, a small proving key, and a rollup with Alice and
//! Bob proven in batch 0, shared by the pure and RPC tests.

use std::sync::OnceLock;
use terrace_l1::modules::validity::{Committee, DataMode, UNIT, ZkOp, ZkRollup};
use terrace_primitives::{
    Address, Amount, Hash,
    keys::{Signer as _, private_key_from_seed},
};
use terrace_zk::{
    Fr,
    babyjubjub::SecretKey,
    fr_to_le,
    ops::domain,
    prover::{
        ProvingKey,
        rand::{SeedableRng as _, rngs::StdRng},
    },
    state::empty_root,
};
use terrace_zkrollup::{
    Follower, Operator,
    deploy::{self, Settings},
    l1::{L1Block, ZkTx},
};

pub const ROLLUP: u64 = 0;
pub const DEPTH: u8 = 4;
pub const SLOTS: usize = 2;

pub fn key() -> &'static ProvingKey {
    static KEY: OnceLock<ProvingKey> = OnceLock::new();
    KEY.get_or_init(|| deploy::setup(DEPTH, SLOTS, [3; 32]).unwrap())
}

/// The key of single-slot batches, for a rollup with two sizes.
pub fn small_key() -> &'static ProvingKey {
    static KEY: OnceLock<ProvingKey> = OnceLock::new();
    KEY.get_or_init(|| deploy::setup(DEPTH, 1, [4; 32]).unwrap())
}

pub fn operator_addr() -> Address {
    Address::from_public_key(&private_key_from_seed([1; 32]).public_key())
}

pub fn record() -> ZkRollup {
    record_with(&[key()])
}

/// The rollup with `keys`, one per batch size.
pub fn record_with(keys: &[&ProvingKey]) -> ZkRollup {
    ZkRollup {
        config: deploy::config(
            keys,
            Settings {
                operator: operator_addr(),
                batch_bytes_max: 4_096,
                inbox_fee: Amount::ZERO,
                exodus_after_blocks: 100,
                inbox_deadline_blocks: 50,
            },
        ),
        domain: fr_to_le(&domain(7, ROLLUP)),
        escrow: Amount::ZERO,
        root: fr_to_le(&empty_root(DEPTH)),
        batch_count: 0,
        inbox_count: 0,
        inbox_consumed: 0,
        last_batch_height: 0,
        frozen_at: None,
    }
}

/// Member `i` of the validium's committee.
pub fn member_key(i: u8) -> terrace_primitives::PrivateKey {
    private_key_from_seed([40 + i; 32])
}

/// The same rollup as a validium: its data kept by 2 of 3 members.
pub fn validium_record() -> ZkRollup {
    let mut r = record();
    r.config.data = DataMode::Committee(Committee {
        members: (0..3).map(|i| member_key(i).public_key()).collect(),
        threshold: 2,
    });
    r
}

/// The operator's L1 key (its address is [`operator_addr`]).
pub fn operator_key() -> terrace_primitives::PrivateKey {
    private_key_from_seed([1; 32])
}

pub fn block(height: u64, ops: Vec<(ZkOp, Option<terrace_l1::Failure>)>) -> L1Block {
    L1Block {
        height,
        timestamp_ms: height * 250,
        txs: ops
            .into_iter()
            .enumerate()
            .map(|(i, (op, failure))| {
                ZkTx {
                    hash: Hash::from([height as u8 ^ (i as u8) << 4; 32]),
                    sender: operator_addr(),
                    rollup: ROLLUP,
                    op,
                    failure,
                }
                .finalized()
            })
            .collect(),
    }
}

pub fn deposit(key: &SecretKey, units: u64) -> ZkOp {
    ZkOp::Deposit {
        key: key.public().pack(),
        amount: Amount(u128::from(units) * UNIT),
    }
}

/// Proves every batch the operator has cut, in order, with the key of its
/// size.
pub fn prove_all(op: &mut Operator) {
    let mut rng = StdRng::seed_from_u64(5);
    while let Some((index, batch)) = op.unproven() {
        let key = if batch.witnesses.len() == 1 {
            small_key()
        } else {
            key()
        };
        let proof = terrace_zk::prover::prove(key, &batch, &mut rng).unwrap();
        assert!(op.set_proof(index, &batch.statement, proof));
    }
}

pub fn submit_block(height: u64, op: &Operator, from: u64) -> L1Block {
    block(
        height,
        op.submissions(from)
            .into_iter()
            .map(|s| (ZkOp::SubmitBatch(Box::new(s)), None))
            .collect(),
    )
}

pub struct Setup {
    pub follower: Follower,
    pub op: Operator,
    pub alice: SecretKey,
    pub bob: SecretKey,
    pub domain: Fr,
}

/// Alice (100) and Bob (5) deposited and proven in batch 0.
pub fn setup() -> Setup {
    let (alice, bob) = (
        SecretKey::from_bytes(b"alice"),
        SecretKey::from_bytes(b"bob"),
    );
    let mut follower = Follower::new(ROLLUP, &record(), 0);
    follower
        .apply_block(&block(
            0,
            vec![(deposit(&alice, 100), None), (deposit(&bob, 5), None)],
        ))
        .unwrap();
    let mut op = Operator::new(&follower, &[SLOTS], 8);
    op.take_inbox(follower.inbox(), 2, 0).unwrap();
    assert_eq!(op.cut(), Some(0));
    prove_all(&mut op);
    follower.apply_block(&submit_block(1, &op, 0)).unwrap();
    assert_eq!(op.landed(&follower), 0);
    assert_eq!(follower.batch_count(), 1);
    Setup {
        follower,
        op,
        alice,
        bob,
        domain: domain(7, ROLLUP),
    }
}
