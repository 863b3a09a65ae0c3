//! What a fraud proof costs L1, and what a transfer costs the sequencer's
//! transition function, on a state of 100,000 accounts.
//!
//! `cargo bench -p terrace-l2 --bench one_step`

#![allow(clippy::unwrap_used)] // benchmark set-up fails loudly on purpose

use commonware_codec::Encode as _;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use terrace_l2::{
    Action, BlockContext, DisputedStep, FullState, InboxMessage, L2State, L2Transaction,
    OneStepProof, Step, StepInput, apply_step, batch::data_commitment,
};
use terrace_primitives::{Amount, keys::Signer as _, keys::private_key_from_seed};

const ACCOUNTS: u32 = 100_000;
const ROLLUP: u64 = 1;

fn bench(c: &mut Criterion) {
    let key = private_key_from_seed([7; 32]);
    let mut state = FullState::new();
    for position in 0..ACCOUNTS as u64 {
        let message = InboxMessage::Deposit(terrace_l2::Deposit {
            recipient: key.public_key(),
            account: None,
            amount: Amount(1_000_000_000),
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
