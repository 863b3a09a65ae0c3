#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The rollup node's pure parts without a network: derivation from L1
//! blocks built by hand, the sequencer's bookkeeping across landed,
//! reverted and foreign batches, and the moves of the bisection game.

use commonware_codec::Encode as _;
use terrace_l1::modules::optimistic::{Challenge, RollupOp};
use terrace_l2::{
    Action, AggregateFault, Batch, BlockContext, BlockTx, DisputedStep, L2Block, L2Transaction,
    batch::aggregate_commitment, stf::Failure,
};
use terrace_primitives::Amount;
use terrace_rollup::{SubmitError, game};

use crate::common;

use common::*;

#[test]
fn soft_confirmations_carry_the_real_outcome() {
    let (_, mut s) = setup();
    let r = s.submit(transfer(1, 0, 0, 1, 500)).unwrap();
    assert_eq!(r.block, 0);
    assert!(r.fee.0 > 0);
    assert_eq!(s.state().account_at(1).unwrap().balance, Amount(1_000_500));
    // Replays, bad nonces, overdrafts and forged signatures are refused and
    // change nothing.
    let before = s.state().clone();
    assert!(matches!(
        s.submit(transfer(1, 0, 0, 1, 500)),
        Err(SubmitError::Duplicate(0))
    ));
    assert!(matches!(
        s.submit(transfer(1, 0, 5, 1, 500)),
        Err(SubmitError::WouldFail(_))
    ));
    assert!(matches!(
        s.submit(transfer(1, 0, 1, 1, 10_000_000_000)),
        Err(SubmitError::WouldFail(_))
    ));
    assert!(matches!(
        s.submit(transfer(2, 0, 1, 1, 5)),
        Err(SubmitError::WouldFail(_))
    ));
    assert_eq!(
        s.state().accounts(),
        before.accounts(),
        "refused transactions changed the state"
    );
}

#[test]
fn landed_and_reverted_batches_keep_the_sequencer_in_step() {
    let (mut d, mut s) = setup();
    s.submit(transfer(1, 0, 0, 1, 500)).unwrap();
    assert!(s.seal(1));
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    assert_eq!(batch.blocks.len(), 1);
    post(&mut d, 1, 0, &batch, false);
    assert!(d.first_invalid().is_none());
    assert!(s.landed(&d.pending()[0]));
    assert_eq!(s.sealed(), 0);
    assert_eq!(d.posted_blocks(), 1);
    // The derived state is the sequencer's soft state.
    assert_eq!(d.state().accounts(), s.state().accounts());

    // A challenge reverts it: its blocks are pending again, unchanged.
    let reverted = d.revert_to(0);
    assert_eq!(reverted.len(), 1);
    assert!(s.reverted(&reverted), "valid data goes back in the queue");
    assert_eq!(s.sealed(), 1);
    assert_eq!(s.next_batch(64 * 1024).unwrap().0, batch);
    assert_eq!(d.posted_blocks(), 0);
    // Back before the batch: the deposits are unconsumed again.
    assert!(d.state().account_at(1).is_none());
}

#[test]
fn a_foreign_batch_makes_the_sequencer_rebase_and_replay() {
    let (mut d, mut s) = setup();
    s.submit(transfer(1, 0, 0, 1, 500)).unwrap();
    s.submit(transfer(1, 0, 1, 1, 500)).unwrap();
    s.seal(1);
    // Someone else posts a batch that spends Alice's nonce 0 differently
    // (her forced transaction through the inbox).
    let forced = transfer(1, 0, 0, 1, 7);
    d.apply_block(&block(
        1,
        vec![tx(
            9,
            1,
            RollupOp::ForceInclude {
                tx: forced.encode().to_vec().into(),
            },
        )],
    ))
    .unwrap();
    let hatch = Batch {
        blocks: vec![L2Block {
            timestamp_ms: 0,
            context: BlockContext::FREE,
            inbox_until: 3,
            txs: vec![],
            aggregates: vec![],
        }],
    };
    post(&mut d, 2, 5, &hatch, false);
    assert!(!s.landed(&d.pending()[0]));
    // Nonce 0 is spent by the forced transfer: Alice's first pending
    // transfer is dropped, her second (nonce 1) replays.
    let dropped = s.rebase(&d);
    assert_eq!(dropped, 1);
    assert_eq!(
        s.state().account_at(1).unwrap().balance,
        Amount(1_000_000 + 7 + 500)
    );
    assert_eq!(s.next_block(), d.posted_blocks());
}

#[test]
fn a_false_root_is_found_and_proven_false_in_one_step() {
    let (mut d, mut s) = setup();
    for n in 0..5 {
        s.submit(transfer(1, 0, n, 1, 100)).unwrap();
    }
    s.seal(1);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    post(&mut d, 1, 0, &batch, true);
    let b = d.first_invalid().expect("the lie is seen").clone();
    assert_ne!(b.claimed_root, b.true_root());
    // Derivation carries on with the true state.
    assert_eq!(d.state().accounts(), s.state().accounts());

    // The game: the defender (poster) bisects with true roots, the honest
    // challenger agrees with them, down to the last step.
    let me = addr(9);
    let mut c = Challenge {
        batch: b.index,
        batch_id: b.id,
        challenger: me,
        defender: addr(0),
        bond: Amount(1),
        lo: 0,
        lo_root: b.prev_output_root,
        hi: b.steps.len() as u64,
        hi_root: b.claimed_root,
        mid_root: None,
        deadline: 100,
    };
    let mut rounds = 0;
    loop {
        match game::next_move(addr(0), 0, &c, &d, 10, false) {
            Some(RollupOp::Bisect { root, .. }) => c.mid_root = Some(root),
            None => break,
            other => panic!("defender: {other:?}"),
        }
        match game::next_move(me, 0, &c, &d, 10, false) {
            Some(RollupOp::Choose { agree, .. }) => {
                assert!(agree, "true roots are agreed");
                (c.lo, c.lo_root) = (c.mid(), c.mid_root.take().unwrap());
            }
            other => panic!("challenger: {other:?}"),
        }
        rounds += 1;
    }
    assert_eq!(c.hi - c.lo, 1);
    assert_eq!(rounds, 3, "7 steps take ⌈log2 7⌉ rounds");
    let Some(RollupOp::ProveStep { proof, .. }) = game::next_move(me, 0, &c, &d, 10, false) else {
        panic!("the challenger proves the last step");
    };
    let post_root = proof
        .verify(
            &DisputedStep {
                rollup: ROLLUP,
                pre_root: c.lo_root,
                data_commitment: terrace_l2::batch::data_commitment(&b.steps),
                step_count: b.steps.len() as u64,
                index: c.lo,
            },
            |_| None,
        )
        .unwrap();
    assert_eq!(post_root, b.true_root());
    assert_ne!(post_root, c.hi_root);
    // Past the deadline the side waiting ends the game instead.
    assert!(game::next_move(me, 0, &c, &d, 100, false).is_none());
    c.mid_root = None;
    c.hi = c.lo + 4;
    assert!(matches!(
        game::next_move(me, 0, &c, &d, 100, false),
        Some(RollupOp::Timeout { .. })
    ));
}

#[test]
fn finality_folds_batches_and_claims_prove_withdrawals() {
    let (mut d, mut s) = setup();
    let w = withdraw(2, 1, 0, 2, 300);
    let index = s.submit(w).unwrap().withdrawal.unwrap();
    s.seal(1);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    post(&mut d, 1, 0, &batch, false);
    let rollup = rollup_record(10, 1);
    d.finalize(&rollup, 5);
    assert_eq!(d.final_count(), 0, "inside the window");
    d.finalize(&rollup, 11);
    assert_eq!(d.final_count(), 1);
    assert_eq!(d.final_blocks(), 1);
    let claim = d.withdrawal_claim(0, index).unwrap();
    assert_eq!(claim.withdrawal.amount, Amount(300));
    assert_eq!(claim.state.output_root(), d.claimed_root());
    claim
        .state
        .verify_withdrawal(claim.index, &claim.withdrawal, &claim.proof)
        .unwrap();
    // No claim of a withdrawal that does not exist.
    assert!(d.withdrawal_claim(0, index + 1).is_none());
}

#[test]
fn fee_prices_change_between_blocks_and_the_chain_derives_the_same() {
    let (mut d, mut s) = setup();
    let cheap = s.submit(transfer(1, 0, 0, 1, 5)).unwrap().fee;
    let dearer = BlockContext {
        l1_byte_price: 1_000,
        ..CONTEXT
    };
    s.set_context(dearer);
    assert_eq!(s.context(), CONTEXT, "the open block keeps its prices");
    s.seal(1);
    assert_eq!(s.context(), dearer);
    let dear = s.submit(transfer(1, 0, 1, 1, 5)).unwrap().fee;
    assert!(dear > cheap, "{dear} vs {cheap}");
    s.seal(2);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    assert_eq!(batch.blocks[0].context, CONTEXT);
    assert_eq!(batch.blocks[1].context, dearer);
    post(&mut d, 1, 0, &batch, false);
    assert!(d.first_invalid().is_none());
    assert_eq!(d.state().accounts(), s.state().accounts());
}

#[test]
fn l1_data_is_priced_from_the_base_fee_and_the_compression_ratio() {
    // 7 per gas × 16 gas per byte × half the bytes after compression.
    assert_eq!(terrace_rollup::l1_byte_price(7, 16, 500_000), 56);
    // Rounded up: the sequencer never prices data below its cost.
    assert_eq!(terrace_rollup::l1_byte_price(1, 1, 1), 1);
    assert_eq!(terrace_rollup::l1_byte_price(0, 16, 1_000_000), 0);
    assert_eq!(
        terrace_rollup::l1_byte_price(u64::MAX, u64::MAX, 1_000_000),
        u64::MAX
    );
}

#[test]
fn many_transactions_at_once_run_as_they_would_one_by_one() {
    use terrace_primitives::par::Threads;
    let (_, one) = setup();
    let txs: Vec<_> = (0..300)
        .map(|n| transfer(1, 0, n, 1, 1 + u128::from(n as u32)))
        .collect();
    let mut alone = one.clone();
    let expected: Vec<_> = txs.iter().map(|t| alone.submit(t.clone())).collect();
    let mut many = one.clone();
    assert_eq!(many.submit_many(txs.clone(), Threads::new(2)), expected);
    assert_eq!(many.state().accounts(), alone.state().accounts());

    // One forged signature among them: it alone is refused.
    let mut mixed = txs;
    mixed[150] = transfer(2, 0, 150, 1, 151);
    let results = one.clone().submit_many(mixed, Threads::new(2));
    assert!(matches!(
        results[150],
        Err(SubmitError::WouldFail(terrace_l2::Failure::BadSignature))
    ));
    assert!(results[..150].iter().all(Result::is_ok));
    // The nonces after the refused one no longer line up.
    assert!(results[151..].iter().all(Result::is_err));
}

fn bls_transfer(
    from: u8,
    account: u32,
    nonce: u64,
    to: u32,
    amount: u128,
) -> terrace_l2::AggregatedL2Transaction {
    L2Transaction {
        from: account,
        nonce,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to,
            amount: Amount(amount),
        },
    }
    .sign_bls(ROLLUP, &bls_key(from))
}

#[test]
fn aggregated_transactions_wait_for_their_key_on_l1_then_batch_under_aggregates() {
    let mut d = terrace_rollup::Derivation::new(ROLLUP, 0);
    d.apply_block(&block(
        0,
        vec![deposit(1, 1, 1_000_000_000), deposit_bls(2, 4, 1_000_000)],
    ))
    .unwrap();
    let mut s = terrace_rollup::Sequencer::new(&d, CONTEXT, 16 * 1024);
    s.take_inbox(d.inbox(), 2);
    // Carol (account 1) has her BLS key in the soft state only: not yet.
    assert!(matches!(
        s.submit_aggregated(bls_transfer(4, 1, 0, 0, 5)),
        Err(SubmitError::KeyNotPosted(1))
    ));
    // Alice has no BLS key at all.
    assert!(matches!(
        s.submit_aggregated(bls_transfer(1, 0, 0, 1, 5)),
        Err(SubmitError::WouldFail(Failure::BadSignature))
    ));
    s.seal(1);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    post(&mut d, 1, 0, &batch, false);
    assert!(s.landed(&d.pending()[0]));
    assert_eq!(s.base_accounts(), 2);

    // Once the batch that opened it landed, Carol sends aggregated; a
    // signature by another key is refused, in a batch call too.
    let many: Vec<_> = (0..40).map(|n| bls_transfer(4, 1, n, 0, 5)).collect();
    let mut forged = bls_transfer(4, 1, 40, 0, 5);
    forged.signature = bls_transfer(1, 1, 40, 0, 5).signature;
    let mut all = many.clone();
    all.push(forged);
    let results = s.submit_many_aggregated(all, terrace_primitives::par::Threads::new(2));
    assert!(results[..40].iter().all(Result::is_ok));
    assert!(matches!(
        results[40],
        Err(SubmitError::WouldFail(Failure::BadSignature))
    ));
    assert!(s.seal(2));
    let (batch, data) = s.next_batch(64 * 1024).unwrap();
    assert_eq!(batch.blocks[0].aggregates.len(), 2);
    assert!(
        batch.blocks[0]
            .txs
            .iter()
            .all(|t| matches!(t, BlockTx::Aggregated(_)))
    );
    post(&mut d, 2, 0, &batch, false);
    let derived = &d.pending()[1];
    assert_eq!(derived.aggregate_fault, None);
    assert!(derived.is_valid());
    assert!(s.landed(derived));
    assert_eq!(d.state().account_at(1).unwrap().nonce, 40);
    // Forty transfers in a few bytes each (plus the batch's framing).
    assert!(data.len() < 40 * 20 + 300, "{} bytes", data.len());
}

#[test]
fn a_forged_aggregated_transaction_makes_the_batch_provably_false() {
    let mut d = terrace_rollup::Derivation::new(ROLLUP, 0);
    d.apply_block(&block(
        0,
        vec![deposit(1, 1, 1_000_000_000), deposit_bls(2, 4, 1_000_000)],
    ))
    .unwrap();
    let mut s = terrace_rollup::Sequencer::new(&d, CONTEXT, 16 * 1024);
    s.take_inbox(d.inbox(), 2);
    s.seal(1);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    post(&mut d, 1, 0, &batch, false);
    assert!(s.landed(&d.pending()[0]));
    s.submit_aggregated(bls_transfer(4, 1, 0, 0, 5)).unwrap();
    // The sequencer moves Carol's funds without her signature.
    s.forge_aggregated(L2Transaction {
        from: 1,
        nonce: 1,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to: 0,
            amount: Amount(500_000),
        },
    })
    .unwrap();
    s.seal(2);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    // Its roots are the true result of the data: only the aggregate lies.
    post(&mut d, 2, 0, &batch, false);
    let derived = d.pending()[1].clone();
    assert_eq!(derived.claimed_root, derived.true_root());
    assert_eq!(
        derived.aggregate_fault,
        Some((0, AggregateFault::BadSignature))
    );
    assert_eq!(d.first_invalid().map(|b| b.index), Some(1));
    let proof = derived.aggregate_proof().unwrap();
    let disputed = terrace_l2::DisputedChunk {
        rollup: ROLLUP,
        pre_root: derived.prev_output_root,
        aggregate_commitment: aggregate_commitment(&batch.chunks()),
        chunk_count: 1,
    };
    assert_eq!(proof.verify(&disputed), Ok(AggregateFault::BadSignature));

    // Reverted, its blocks are not valid data: the sequencer rebases,
    // keeping Carol's own transfer and dropping the forgery.
    assert!(s.landed(&derived));
    let reverted = d.revert_to(1);
    assert!(!s.reverted(&reverted));
    assert_eq!(s.rebase(&d), 1);
    assert_eq!(s.state().account_at(1).unwrap().nonce, 1);
    assert!(s.state().account_at(1).unwrap().balance.0 > 900_000);
}
