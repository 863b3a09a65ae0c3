//! L1's side of a batch: Groth16 verification, the data commitment over a
//! batch's posted bytes, and the natively checked signatures and Poseidon
//! (a withdrawals-path level, an account-tree level).

use ark_std::rand::{SeedableRng, rngs::StdRng};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use terrace_zk::{
    Fr,
    babyjubjub::SecretKey,
    ops::{self, InboxEntry, PubOp},
    poseidon, prover,
    state::{BatchBuilder, Op, State},
};

fn bench(c: &mut Criterion) {
    let depth = 8;
    let slots = 2;
    let mut state = State::new(depth, ops::domain(1, 1));
    let mut b = BatchBuilder::new(&state, slots, Fr::from(0u64));
    let key = SecretKey::from_bytes(b"bench");
    let entry = InboxEntry::Deposit {
        key: key.public(),
        amount: 5,
    };
    b.push(&mut state, &Op::Inbox(entry)).expect("deposit");
    let batch = b.finish(&state).expect("batch");
    let mut rng = StdRng::seed_from_u64(9);
    let pk = prover::setup(depth, slots, &mut rng).expect("setup");
    let vk = pk.verifying_key();
    let proof = prover::prove(&pk, &batch, &mut rng).expect("prove");
    let inputs = batch.statement.inputs();
    c.bench_function("groth16_verify_7_inputs", |b| {
        b.iter(|| vk.verify(black_box(&proof), black_box(&inputs)))
    });

    let ops: Vec<PubOp> = (0..64)
        .map(|i| PubOp::Transfer {
            from: i,
            to: i + 1,
            amount: 1_000,
        })
        .collect();
    let data = PubOp::encode_all(&ops).expect("encode");
    c.bench_function("data_commitment_64_transfers", |b| {
        b.iter(|| {
            let ops = PubOp::decode_all(black_box(&data), 64, 20).expect("decode");
            ops::data_commitment(&ops, 64)
        })
    });
    c.bench_function("poseidon2", |b| {
        b.iter(|| poseidon::hash2(black_box(Fr::from(1u64)), black_box(Fr::from(2u64))))
    });
    // An account-tree level: L1 prices it as three path elements.
    c.bench_function("poseidon4_account_level", |b| {
        b.iter(|| ops::account_node(black_box([1u64, 2, 3, 4].map(Fr::from))))
    });
    let sig = key.sign(Fr::from(77u64));
    let pk = key.public();
    c.bench_function("eddsa_poseidon_verify", |b| {
        b.iter(|| pk.verify(black_box(Fr::from(77u64)), black_box(&sig)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
