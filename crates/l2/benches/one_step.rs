//! What a fraud proof costs L1 (a one-step proof, and the proof of a bad
//! aggregate over a full chunk of 32 transfers), and what a transfer costs
//! the sequencer's transition function, on a state of 100,000 accounts.
//!
//! `cargo bench -p terrace-l2 --bench one_step`

#![allow(clippy::unwrap_used)] // benchmark set-up fails loudly on purpose

use commonware_codec::Encode as _;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use terrace_l2::{
    Action, AggregateChunk, AggregateFault, AggregateProof, BlockContext, BlsRegistration,
    DisputedChunk, DisputedStep, FullState, InboxMessage, L2State, L2Transaction, OneStepProof,
    Step, StepInput, apply_step,
    batch::{AGGREGATE_CHUNK, aggregate_commitment, data_commitment},
};
use terrace_primitives::{
    Amount, BlsPrivateKey, BlsSignature, keys::Signer as _, keys::private_key_from_seed,
};

const ACCOUNTS: u32 = 100_000;
const ROLLUP: u64 = 1;

fn bench(c: &mut Criterion) {
    let key = private_key_from_seed([7; 32]);
    let bls = BlsPrivateKey::from_seed(&[7; 32]);
    let registration = BlsRegistration {
        key: bls.public_key(),
        possession: bls.proof_of_possession(),
    };
    let mut state = FullState::new();
    for position in 0..ACCOUNTS as u64 {
        let message = InboxMessage::Deposit(terrace_l2::Deposit {
            recipient: key.public_key(),
            account: None,
            amount: Amount(1_000_000_000),
            bls: Some(Box::new(registration)),
        });
        apply_step(
            &mut state,
            ROLLUP,
            StepInput::Inbox {
                position,
                message: &message,
            },
        )
        .unwrap();
    }
    let context = BlockContext {
        fee_recipient: 0,
        l2_gas_price: 1,
        l1_byte_price: 1,
    };
    let tx = L2Transaction {
        from: 12_345,
        nonce: 0,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to: 98_765,
            amount: Amount(10),
        },
    }
    .sign(ROLLUP, &key);
    let steps = vec![Step::Tx {
        context,
        tx: tx.clone(),
    }];
    let proof = OneStepProof::build(&state, ROLLUP, &steps, 0, None).unwrap();
    println!(
        "one-step proof of a transfer: {} bytes",
        proof.encode().len()
    );
    let disputed = DisputedStep {
        rollup: ROLLUP,
        pre_root: state.commitment().output_root(),
        data_commitment: data_commitment(&steps),
        step_count: 1,
        index: 0,
    };
    c.bench_function("one-step proof: verify a transfer", |b| {
        b.iter(|| black_box(proof.verify(&disputed, |_| None).unwrap()))
    });

    // A full chunk from 32 senders whose aggregate misses one signature.
    let txs: Vec<L2Transaction> = (0..AGGREGATE_CHUNK as u32)
        .map(|i| L2Transaction {
            from: i * 3_001,
            nonce: 0,
            max_fee: Amount(1_000_000),
            action: Action::Transfer {
                to: i,
                amount: Amount(10),
            },
        })
        .collect();
    let sigs: Vec<BlsSignature> = txs
        .iter()
        .skip(1)
        .map(|t| t.sign_bls(ROLLUP, &bls).signature)
        .collect();
    let chunks = vec![AggregateChunk {
        txs,
        signature: BlsSignature::aggregate(&sigs).unwrap(),
    }];
    let proof = AggregateProof::build(&state, &chunks, 0).unwrap();
    println!(
        "aggregate proof of a {AGGREGATE_CHUNK}-transfer chunk: {} bytes",
        proof.encode().len()
    );
    let disputed = DisputedChunk {
        rollup: ROLLUP,
        pre_root: state.commitment().output_root(),
        aggregate_commitment: aggregate_commitment(&chunks),
        chunk_count: 1,
    };
    assert_eq!(proof.verify(&disputed), Ok(AggregateFault::BadSignature));
    c.bench_function("aggregate proof: verify a bad 32-transfer aggregate", |b| {
        b.iter(|| black_box(proof.verify(&disputed).unwrap()))
    });
    let one = chunks[0].txs[1].sign_bls(ROLLUP, &bls);
    let bls_key = bls.public_key();
    c.bench_function("sequencer: verify one BLS signature", |b| {
        b.iter(|| black_box(one.verify(ROLLUP, &bls_key).is_ok()))
    });
    c.bench_function(
        "sequencer: apply a transfer and take the output root",
        |b| {
            b.iter_batched(
                || state.clone(),
                |mut s| {
                    apply_step(
                        &mut s,
                        ROLLUP,
                        StepInput::Tx {
                            context: &context,
                            tx: &tx,
                        },
                    )
                    .unwrap();
                    black_box(s.commitment().output_root())
                },
                criterion::BatchSize::LargeInput,
            )
        },
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
