//! Aggregated transactions: their steps, their batches, and the fraud proof
//! of a bad aggregate.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use commonware_codec::{DecodeExt as _, Encode as _};
use terrace_l2::{
    Action, AggregateChunk, AggregateFault, AggregateProof, AggregateProofError, Batch, BatchError,
    BlockContext, BlockTx, BlsRegistration, DisputedChunk, Failure, FullState, InboxMessage,
    L2Block, L2State as _, L2Transaction, Step, StepInput,
    aggregate::judge,
    apply_step,
    batch::{AGGREGATE_CHUNK, aggregate_commitment},
    run_steps,
};
use terrace_primitives::{
    Amount, BlsPrivateKey, BlsSignature, keys::Signer as _, keys::private_key_from_seed,
};

const ROLLUP: u64 = 9;
const CONTEXT: BlockContext = BlockContext {
    fee_recipient: 0,
    l2_gas_price: 10,
    l1_byte_price: 100,
};

fn bls(i: u32) -> BlsPrivateKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_be_bytes());
    BlsPrivateKey::from_seed(&seed)
}

/// A state of `n` accounts; even ones have BLS keys (`bls(i)`).
fn state(n: u32) -> FullState {
    let mut state = FullState::new();
    for i in 0..n {
        let key = bls(i);
        let message = InboxMessage::Deposit(terrace_l2::Deposit {
            recipient: private_key_from_seed([i as u8 + 1; 32]).public_key(),
            account: None,
            amount: Amount(1_000_000),
            bls: (i % 2 == 0).then(|| {
                Box::new(BlsRegistration {
                    key: key.public_key(),
                    possession: key.proof_of_possession(),
                })
            }),
        });
        let position = state.commitment().inbox_cursor;
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
    state
}

fn transfer(from: u32, nonce: u64, to: u32, amount: u128) -> L2Transaction {
    L2Transaction {
        from,
        nonce,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to,
            amount: Amount(amount),
        },
    }
}

/// A block of aggregated transactions with honest aggregates.
fn block(txs: &[L2Transaction]) -> L2Block {
    let sigs: Vec<BlsSignature> = txs
        .iter()
        .map(|t| t.sign_bls(ROLLUP, &bls(t.from)).signature)
        .collect();
    L2Block {
        timestamp_ms: 0,
        context: CONTEXT,
        inbox_until: 0,
        txs: txs.iter().copied().map(BlockTx::Aggregated).collect(),
        aggregates: sigs
            .chunks(AGGREGATE_CHUNK)
            .map(|c| BlsSignature::aggregate(c).unwrap())
            .collect(),
    }
}

#[test]
fn aggregated_transfers_run_and_pay_their_share_of_the_aggregate() {
    let mut s = state(4);
    let tx = transfer(2, 0, 1, 50);
    let r = apply_step(
        &mut s,
        ROLLUP,
        StepInput::Aggregated {
            context: &CONTEXT,
            tx: &tx,
        },
    )
    .unwrap();
    assert_eq!(r.failure, None);
    // 2,000 gas × 10 + (encoding + tag + 96/32 bytes) × 100.
    let bytes = tx.encode().len() as u128 + 1 + 3;
    assert_eq!(r.fee, Amount(20_000 + bytes * 100));
    assert_eq!(s.account_at(1).unwrap().balance, Amount(1_000_050));
    // An account without a BLS key cannot send aggregated.
    let r = apply_step(
        &mut s,
        ROLLUP,
        StepInput::Aggregated {
            context: &CONTEXT,
            tx: &transfer(1, 0, 2, 5),
        },
    )
    .unwrap();
    assert_eq!(r.failure, Some(Failure::BadSignature));
}

#[test]
fn aggregated_batches_roundtrip_count_their_aggregates_and_shrink() {
    let txs: Vec<_> = (0..70)
        .map(|k| transfer(2 * (k % 5), k as u64 / 5, 1, 1))
        .collect();
    let batch = Batch {
        blocks: vec![block(&txs)],
    };
    assert_eq!(batch.blocks[0].aggregates.len(), 3);
    assert_eq!(Batch::decompress(&batch.compress()).unwrap(), batch);
    let (steps, _) = batch.steps(0).unwrap();
    assert!(matches!(steps[0], Step::Aggregated { .. }));
    let chunks = batch.chunks();
    assert_eq!(
        chunks.iter().map(|c| c.txs.len()).collect::<Vec<_>>(),
        [32, 32, 6]
    );
    let pre = state(10);
    for c in &chunks {
        assert_eq!(judge(ROLLUP, c, |i| pre.account_at(i)), Ok(()));
    }
    let mut after = pre.clone();
    let receipts = run_steps(&mut after, ROLLUP, &steps, |_| None).unwrap();
    assert!(receipts.iter().all(|(r, _)| r.failure.is_none()));

    // A missing or extra aggregate is refused at decoding into steps.
    let mut short = batch.clone();
    short.blocks[0].aggregates.pop();
    assert_eq!(
        short.steps(0).unwrap_err(),
        BatchError::AggregateCount {
            block: 0,
            expected: 3,
            got: 2
        }
    );

    // The same transfers signed one by one take far more room.
    let signed = Batch {
        blocks: vec![L2Block {
            txs: txs
                .iter()
                .map(|t| BlockTx::Signed(t.sign(ROLLUP, &private_key_from_seed([1; 32]))))
                .collect(),
            aggregates: vec![],
            ..batch.blocks[0].clone()
        }],
    };
    assert!(batch.compress().len() * 3 < signed.compress().len());
}

fn disputed(pre: &FullState, chunks: &[AggregateChunk]) -> DisputedChunk {
    DisputedChunk {
        rollup: ROLLUP,
        pre_root: pre.commitment().output_root(),
        aggregate_commitment: aggregate_commitment(chunks),
        chunk_count: chunks.len() as u64,
    }
}

#[test]
fn a_forged_transaction_is_proven_and_an_honest_chunk_is_not() {
    let pre = state(10);
    let honest: Vec<_> = (0..5).map(|k| transfer(2 * k, 0, 1, 7)).collect();
    let mut forged_block = block(&honest);
    // The sequencer slips in a transfer from account 4 that 4 never signed.
    forged_block
        .txs
        .push(BlockTx::Aggregated(transfer(4, 1, 0, 900_000)));
    let chunks = vec![
        block(&honest).chunks().remove(0),
        forged_block.chunks().remove(0),
    ];
    let d = disputed(&pre, &chunks);

    let good = AggregateProof::build(&pre, &chunks, 0).unwrap();
    assert_eq!(good.verify(&d), Err(AggregateProofError::AggregateValid));
    let bad = AggregateProof::build(&pre, &chunks, 1).unwrap();
    assert_eq!(bad.verify(&d), Ok(AggregateFault::BadSignature));
    // Five distinct senders: account 4 appears twice, witnessed once.
    assert_eq!(bad.senders.len(), 5);
    let decoded = AggregateProof::decode(bad.encode()).unwrap();
    assert_eq!(decoded, bad);

    // Tampering with the proof gets it refused, never a verdict.
    let mut p = bad.clone();
    p.senders.pop();
    assert!(matches!(
        p.verify(&d),
        Err(AggregateProofError::WrongSenders { .. })
    ));
    let mut p = bad.clone();
    p.senders[1].account.balance = Amount(1);
    assert!(matches!(
        p.verify(&d),
        Err(AggregateProofError::BadWitness { index: 2, .. })
    ));
    let mut p = bad.clone();
    p.senders[1].account.bls = None;
    assert!(matches!(
        p.verify(&d),
        Err(AggregateProofError::BadWitness { .. })
    ));
    let mut p = bad.clone();
    p.chunk.txs[0].nonce += 1;
    assert!(matches!(
        p.verify(&d),
        Err(AggregateProofError::ChunkNotInBatch { .. })
    ));
    let mut p = bad.clone();
    p.pre.inbox_cursor += 1;
    assert_eq!(p.verify(&d), Err(AggregateProofError::PreStateMismatch));
    let mut wrong_count = d;
    wrong_count.chunk_count = 3;
    assert!(matches!(
        bad.verify(&wrong_count),
        Err(AggregateProofError::ChunkNotInBatch { .. })
    ));
}

#[test]
fn senders_without_a_key_before_the_batch_make_the_aggregate_bad() {
    let pre = state(6);
    // Account 7 does not exist before the batch; account 3 has no BLS key.
    for (tx, fault) in [
        (transfer(7, 0, 1, 1), AggregateFault::UnknownSender(7)),
        (transfer(3, 0, 1, 1), AggregateFault::NoBlsKey(3)),
    ] {
        let mut b = block(&[transfer(0, 0, 1, 1)]);
        b.txs.push(BlockTx::Aggregated(tx));
        let chunks = b.chunks();
        let proof = AggregateProof::build(&pre, &chunks, 0).unwrap();
        assert_eq!(proof.verify(&disputed(&pre, &chunks)), Ok(fault));
        assert_eq!(judge(ROLLUP, &chunks[0], |i| pre.account_at(i)), Err(fault));
    }
}
