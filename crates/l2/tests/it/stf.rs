//! The L2 transition function, its one-step proofs and its batches.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use commonware_codec::{DecodeExt as _, Encode as _};
use proptest::prelude::*;
use terrace_l2::{
    Action, Batch, BatchError, BlockContext, BlockTx, Commitment, DisputedStep, Failure, FullState,
    InboxMessage, L2Block, L2State, L2Transaction, OneStepProof, SignedL2Transaction, Step,
    StepProofError, Witness, WitnessError, batch::data_commitment, run_steps,
};
use terrace_primitives::{
    Address, Amount, Hash, PrivateKey,
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};

const ROLLUP: u64 = 7;

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i + 1; 32])
}

fn deposit(i: u8, account: Option<u32>, amount: u128) -> InboxMessage {
    InboxMessage::Deposit(terrace_l2::Deposit {
        recipient: key(i).public_key(),
        account,
        amount: Amount(amount),
        bls: None,
    })
}

fn transfer(from: u8, index: u32, nonce: u64, to: u32, amount: u128) -> SignedL2Transaction {
    L2Transaction {
        from: index,
        nonce,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to,
            amount: Amount(amount),
        },
    }
    .sign(ROLLUP, &key(from))
}

const CONTEXT: BlockContext = BlockContext {
    fee_recipient: 0,
    l2_gas_price: 10,
    l1_byte_price: 100,
};

/// Runs `steps` on `state` with `inbox`, returning the receipts' failures.
fn run(state: &mut FullState, steps: &[Step], inbox: &[InboxMessage]) -> Vec<Option<Failure>> {
    run_steps(state, ROLLUP, steps, |p| inbox.get(p as usize).cloned())
        .unwrap()
        .into_iter()
        .map(|(r, _)| r.failure)
        .collect()
}

fn tx_step(tx: SignedL2Transaction) -> Step {
    Step::Tx {
        context: CONTEXT,
        tx,
    }
}

/// Three funded accounts: 0 (the fee recipient, key 0), 1 (key 1), 2 (key 2).
fn funded() -> (FullState, Vec<InboxMessage>) {
    let inbox = vec![
        deposit(0, None, 1_000_000),
        deposit(1, None, 1_000_000),
        deposit(2, None, 1_000_000),
    ];
    let mut state = FullState::new();
    let steps: Vec<Step> = (0..3).map(|position| Step::Inbox { position }).collect();
    assert_eq!(run(&mut state, &steps, &inbox), vec![None; 3]);
    (state, inbox)
}

fn conserved(state: &FullState, deposited: u128) {
    let supply = state.supply().unwrap().0 + state.withdrawn().unwrap().0;
    assert_eq!(supply, deposited, "Σ balances + Σ withdrawals = Σ deposits");
}

#[test]
fn deposits_open_accounts_or_credit_the_named_one() {
    let (mut state, mut inbox) = funded();
    assert_eq!(state.accounts().len(), 3);
    // Credit account 1 by its index.
    inbox.push(deposit(1, Some(1), 5));
    // Account 2 belongs to key 2: a deposit for key 1 naming it opens a new one.
    inbox.push(deposit(1, Some(2), 7));
    // An index past the end also opens a new one.
    inbox.push(deposit(3, Some(99), 9));
    let steps: Vec<Step> = (3..6).map(|position| Step::Inbox { position }).collect();
    assert_eq!(run(&mut state, &steps, &inbox), vec![None; 3]);
    assert_eq!(state.account_at(1).unwrap().balance, Amount(1_000_005));
    assert_eq!(state.account_at(2).unwrap().balance, Amount(1_000_000));
    assert_eq!(state.account_at(3).unwrap().key, key(1).public_key());
    assert_eq!(state.account_at(4).unwrap().key, key(3).public_key());
    assert_eq!(state.commitment().inbox_cursor, 6);
    conserved(&state, 3_000_021);
}

#[test]
fn a_transfer_moves_funds_and_pays_the_fee_recipient() {
    let (mut state, inbox) = funded();
    let tx = transfer(1, 1, 0, 2, 500);
    let fee = terrace_l2::stf::fee(&CONTEXT, &tx).unwrap();
    // 73 bytes: 9 of body (a 3-byte max_fee) and the signature.
    assert_eq!(tx.encode().len(), 73);
    assert_eq!(fee, Amount(2_000 * 10 + 73 * 100));
    assert_eq!(run(&mut state, &[tx_step(tx)], &inbox), vec![None]);
    assert_eq!(
        state.account_at(1).unwrap().balance.0,
        1_000_000 - 500 - fee.0
    );
    assert_eq!(state.account_at(1).unwrap().nonce, 1);
    assert_eq!(state.account_at(2).unwrap().balance, Amount(1_000_500));
    assert_eq!(state.account_at(0).unwrap().balance.0, 1_000_000 + fee.0);
    conserved(&state, 3_000_000);
}

#[test]
fn failing_transactions_change_nothing() {
    let (mut state, inbox) = funded();
    let before = state.commitment();
    let mut bad_sig = transfer(1, 1, 0, 2, 5);
    bad_sig.signature = transfer(2, 1, 0, 2, 5).signature;
    let mut capped = transfer(1, 1, 0, 2, 5).tx;
    capped.max_fee = Amount(1);
    let cases = [
        (transfer(9, 9, 0, 2, 5), Failure::UnknownSender),
        (bad_sig, Failure::BadSignature),
        (transfer(1, 1, 1, 2, 5), Failure::WrongNonce),
        (capped.sign(ROLLUP, &key(1)), Failure::FeeAboveMax),
        (
            transfer(1, 1, 0, 2, 2_000_000),
            Failure::InsufficientBalance,
        ),
        (transfer(1, 1, 0, 9, 5), Failure::UnknownRecipient),
        // Signed for another rollup.
        (
            transfer(1, 1, 0, 2, 5).tx.sign(ROLLUP + 1, &key(1)),
            Failure::BadSignature,
        ),
    ];
    for (tx, failure) in cases {
        assert_eq!(run(&mut state, &[tx_step(tx)], &inbox), vec![Some(failure)]);
        assert_eq!(state.commitment(), before, "{failure:?} changed the state");
    }
}

#[test]
fn forced_transactions_run_free_and_garbage_is_consumed() {
    let (mut state, mut inbox) = funded();
    let tx = transfer(1, 1, 0, 2, 10);
    inbox.push(InboxMessage::Forced { tx: tx.encode() });
    inbox.push(InboxMessage::Forced {
        tx: vec![0xff; 5].into(),
    });
    let steps = [Step::Inbox { position: 3 }, Step::Inbox { position: 4 }];
    assert_eq!(
        run(&mut state, &steps, &inbox),
        vec![None, Some(Failure::Undecodable)]
    );
    assert_eq!(state.account_at(1).unwrap().balance, Amount(999_990));
    assert_eq!(state.commitment().inbox_cursor, 5);
}

#[test]
fn withdrawals_are_provable_against_the_output_commitment() {
    let (mut state, inbox) = funded();
    let recipient = Address([9; 20]);
    let tx = L2Transaction {
        from: 2,
        nonce: 0,
        max_fee: Amount(1_000_000),
        action: Action::Withdraw {
            recipient,
            amount: Amount(300),
        },
    }
    .sign(ROLLUP, &key(2));
    assert_eq!(run(&mut state, &[tx_step(tx)], &inbox), vec![None]);
    let c = state.commitment();
    let w = state.withdrawals()[0];
    assert_eq!(w.recipient, recipient);
    let proof = state.withdrawal_proof(0).unwrap();
    assert_eq!(c.verify_withdrawal(0, &w, &proof), Ok(()));
    let mut forged = w;
    forged.amount = Amount(301);
    assert!(c.verify_withdrawal(0, &forged, &proof).is_err());
    assert!(c.verify_withdrawal(1, &w, &proof).is_err());
    conserved(&state, 3_000_000);
}

/// Builds and verifies the proof of every step of `steps` run from `state`.
fn prove_every_step(mut state: FullState, steps: &[Step], inbox: &[InboxMessage]) {
    let commitment = data_commitment(steps);
    for (k, step) in steps.iter().enumerate() {
        let pre_root = state.commitment().output_root();
        let message = match step {
            Step::Inbox { position } => Some(inbox[*position as usize].clone()),
            Step::Tx { .. } | Step::Aggregated { .. } => None,
        };
        let proof = OneStepProof::build(&state, ROLLUP, steps, k as u64, message).unwrap();
        let roots = run_steps(&mut state, ROLLUP, &steps[k..=k], |p| {
            inbox.get(p as usize).cloned()
        })
        .unwrap();
        let disputed = DisputedStep {
            rollup: ROLLUP,
            pre_root,
            data_commitment: commitment,
            step_count: steps.len() as u64,
            index: k as u64,
        };
        // Round-trip the proof through its encoding, as L1 receives it.
        let proof = OneStepProof::decode(proof.encode()).unwrap();
        let post = proof
            .verify(&disputed, |p| inbox.get(p as usize).map(|m| m.hash()))
            .unwrap();
        assert_eq!(post, roots[0].1, "step {k}");
    }
}

#[test]
fn one_step_proofs_reproduce_every_kind_of_step() {
    let (state, mut inbox) = funded();
    inbox.push(deposit(1, Some(1), 5));
    inbox.push(deposit(4, None, 5));
    inbox.push(InboxMessage::Forced {
        tx: transfer(2, 2, 0, 1, 1).encode(),
    });
    let withdraw = L2Transaction {
        from: 1,
        nonce: 1,
        max_fee: Amount(1_000_000),
        action: Action::Withdraw {
            recipient: Address([1; 20]),
            amount: Amount(7),
        },
    }
    .sign(ROLLUP, &key(1));
    let steps = vec![
        Step::Inbox { position: 3 },
        Step::Inbox { position: 4 },
        tx_step(transfer(1, 1, 0, 2, 10)),
        // To the fee recipient, from the fee recipient, to oneself.
        tx_step(transfer(2, 2, 0, 0, 10)),
        tx_step(transfer(0, 0, 0, 1, 10)),
        tx_step(transfer(0, 0, 1, 0, 10)),
        tx_step(withdraw),
        // Failures are steps too.
        tx_step(transfer(1, 1, 9, 2, 10)),
        tx_step(transfer(1, 1, 2, 99, 10)),
        Step::Inbox { position: 5 },
    ];
    prove_every_step(state, &steps, &inbox);
}

fn honest_proof() -> (OneStepProof, DisputedStep, Vec<InboxMessage>) {
    let (state, inbox) = funded();
    let steps = vec![tx_step(transfer(1, 1, 0, 2, 10))];
    let proof = OneStepProof::build(&state, ROLLUP, &steps, 0, None).unwrap();
    let disputed = DisputedStep {
        rollup: ROLLUP,
        pre_root: state.commitment().output_root(),
        data_commitment: data_commitment(&steps),
        step_count: 1,
        index: 0,
    };
    (proof, disputed, inbox)
}

#[test]
fn forged_one_step_proofs_are_refused() {
    let (proof, disputed, inbox) = honest_proof();
    let hashes = |p: u64| inbox.get(p as usize).map(|m| m.hash());
    assert!(proof.verify(&disputed, hashes).is_ok());

    let mut p = proof.clone();
    p.pre.inbox_cursor += 1;
    assert_eq!(
        p.verify(&disputed, hashes),
        Err(StepProofError::PreStateMismatch)
    );

    let mut p = proof.clone();
    p.step = tx_step(transfer(1, 1, 0, 2, 11));
    assert!(matches!(
        p.verify(&disputed, hashes),
        Err(StepProofError::StepNotInBatch { .. })
    ));

    // A witness claiming a richer sender.
    let mut p = proof.clone();
    if let Witness::Account {
        account: Some(a), ..
    } = &mut p.witnesses[0]
    {
        a.balance = Amount(10_000_000);
    }
    assert!(matches!(
        p.verify(&disputed, hashes),
        Err(StepProofError::Witness(WitnessError::Invalid(_)))
    ));

    // Witnesses out of order, missing, or extra.
    let mut p = proof.clone();
    p.witnesses.swap(0, 1);
    assert!(matches!(
        p.verify(&disputed, hashes),
        Err(StepProofError::Witness(WitnessError::WrongSlot { .. }))
    ));
    let mut p = proof.clone();
    p.witnesses.pop();
    assert_eq!(
        p.verify(&disputed, hashes),
        Err(StepProofError::Witness(WitnessError::Missing))
    );
    let mut p = proof.clone();
    p.witnesses.push(p.witnesses[0].clone());
    assert_eq!(
        p.verify(&disputed, hashes),
        Err(StepProofError::Witness(WitnessError::Unused(1)))
    );

    // A transaction step with a message attached.
    let mut p = proof.clone();
    p.message = Some(inbox[0].clone());
    assert_eq!(
        p.verify(&disputed, hashes),
        Err(StepProofError::UnexpectedMessage)
    );
}

#[test]
fn an_inbox_step_needs_the_recorded_message() {
    let (_, inbox) = funded();
    let state = FullState::new();
    let steps = vec![Step::Inbox { position: 0 }];
    let disputed = DisputedStep {
        rollup: ROLLUP,
        pre_root: state.commitment().output_root(),
        data_commitment: data_commitment(&steps),
        step_count: 1,
        index: 0,
    };
    let hashes = |p: u64| inbox.get(p as usize).map(|m| m.hash());
    let forged = OneStepProof::build(&state, ROLLUP, &steps, 0, Some(deposit(0, None, 9))).unwrap();
    assert_eq!(
        forged.verify(&disputed, hashes),
        Err(StepProofError::MessageMismatch(0))
    );
    let mut missing = forged.clone();
    missing.message = None;
    assert_eq!(
        missing.verify(&disputed, hashes),
        Err(StepProofError::MissingMessage)
    );
    let honest = OneStepProof::build(&state, ROLLUP, &steps, 0, Some(inbox[0].clone())).unwrap();
    assert!(honest.verify(&disputed, hashes).is_ok());
}

fn sample_batch() -> Batch {
    Batch {
        blocks: vec![
            L2Block {
                timestamp_ms: 1,
                context: CONTEXT,
                inbox_until: 2,
                txs: vec![BlockTx::Signed(transfer(1, 1, 0, 2, 10))],
                aggregates: vec![],
            },
            L2Block {
                timestamp_ms: 2,
                context: CONTEXT,
                inbox_until: 3,
                txs: vec![
                    BlockTx::Signed(transfer(1, 1, 1, 2, 10)),
                    BlockTx::Signed(transfer(2, 2, 0, 1, 3)),
                ],
                aggregates: vec![],
            },
        ],
    }
}

#[test]
fn batches_roundtrip_compressed_and_flatten_to_steps() {
    let batch = sample_batch();
    let data = batch.compress();
    assert_eq!(Batch::decompress(&data).unwrap(), batch);
    let (steps, end) = batch.steps(1).unwrap();
    assert_eq!(end, 3);
    assert_eq!(steps.len(), 5);
    assert_eq!(steps[0], Step::Inbox { position: 1 });
    assert_eq!(steps[2], Step::Inbox { position: 2 });
    assert_eq!(
        batch.steps(3).unwrap_err(),
        BatchError::InboxBackwards {
            block: 0,
            until: 2,
            cursor: 3
        }
    );
    assert_eq!(Batch::default().steps(0).unwrap_err(), BatchError::Empty);
}

#[test]
fn bad_batch_data_is_refused() {
    assert_eq!(Batch::decompress(&[]), Err(BatchError::Version));
    // Version 1 (batches before aggregates) is no longer accepted.
    assert_eq!(Batch::decompress(&[1, 0, 0]), Err(BatchError::Version));
    assert!(matches!(
        Batch::decompress(&[2, 0, 1, 2, 3]),
        Err(BatchError::Decompress { .. })
    ));
    // A bomb: a megabyte of zeros compresses to a few dozen bytes.
    let bomb = zstd::bulk::compress(&vec![0u8; 1 << 20], 19).unwrap();
    let mut data = vec![2];
    data.extend(bomb);
    assert!(matches!(
        Batch::decompress(&data),
        Err(BatchError::Decompress { .. })
    ));
    // Valid zstd around bytes that are not a batch.
    let mut data = vec![2];
    data.extend(zstd::bulk::compress(&[2, 5, 5, 5], 1).unwrap());
    assert!(matches!(
        Batch::decompress(&data),
        Err(BatchError::Malformed(_))
    ));
}

/// Formats are frozen on purpose: these hashes change only with a
/// deliberate format change.
#[test]
fn encodings_are_pinned() {
    let tx = transfer(1, 1, 0, 2, 10);
    let pinned = |bytes: &[u8]| to_hex(terrace_primitives::hash(&[bytes]).as_ref());
    let batch = sample_batch().encode();
    let genesis = Commitment::genesis().output_root();
    let got = [
        pinned(&tx.encode()),
        pinned(&batch),
        pinned(&deposit(1, Some(3), 5).encode()),
        to_hex(genesis.as_ref()),
    ];
    let expected = [
        "68da9dbd09140c59",
        "8e3599bbbbaa3642",
        "7d7177316b98357d",
        "a9355b346b73bcf1",
    ];
    assert_eq!(got.map(|s| s[..16].to_string()), expected.map(String::from));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random transfers among a few accounts, with random fee recipients:
    /// every step's proof reproduces its root, and funds are conserved.
    #[test]
    fn random_batches_are_provable_step_by_step(
        ops in proptest::collection::vec((0u8..4, 0u32..5, 0u128..400_000, 0u32..4), 1..12)
    ) {
        let (mut state, inbox) = funded();
        // A fourth account for key 3, to vary aliasing.
        let mut inbox = inbox;
        inbox.push(deposit(3, None, 1_000_000));
        run(&mut state, &[Step::Inbox { position: 3 }], &inbox);
        let mut nonces = [0u64; 4];
        let steps: Vec<Step> = ops
            .iter()
            .map(|&(from, to, amount, recipient)| {
                let tx = transfer(from, from as u32, nonces[from as usize], to, amount);
                nonces[from as usize] += 1;
                Step::Tx { context: BlockContext { fee_recipient: recipient, ..CONTEXT }, tx }
            })
            .collect();
        let mut copy = state.clone();
        run(&mut copy, &steps, &inbox);
        conserved(&copy, 4_000_000);
        prove_every_step(state, &steps, &inbox);
    }
}

#[test]
fn leaves_roundtrip_and_cannot_pass_for_each_other() {
    let w = terrace_l2::Withdrawal {
        recipient: Address::from_public_key(&key(1).public_key()),
        amount: Amount(5),
    };
    let a = terrace_l2::Account {
        key: key(1).public_key(),
        bls: Some(terrace_primitives::BlsPrivateKey::from_seed(&[1; 32]).public_key()),
        balance: Amount(5),
        nonce: 2,
    };
    assert_eq!(terrace_l2::Withdrawal::decode(w.encode()).unwrap(), w);
    assert_eq!(terrace_l2::Account::decode(a.encode()).unwrap(), a);
    assert!(terrace_l2::Withdrawal::decode(a.encode()).is_err());
    assert!(terrace_l2::Account::decode(w.encode()).is_err());
    let _: Hash = w.leaf_hash();
    assert_ne!(w.leaf_hash(), a.leaf_hash());
}

#[test]
fn a_pre_checked_signature_is_trusted_only_for_the_senders_own_key() {
    use terrace_l2::{StepInput, apply_step};
    let (state, _) = funded();
    // Signed by key 2 for account 1 (key 1): forged.
    let forged = transfer(2, 1, 0, 2, 5);
    let claimed = key(2).public_key();
    let mut s = state.clone();
    let r = apply_step(
        &mut s,
        ROLLUP,
        StepInput::CheckedTx {
            context: &CONTEXT,
            tx: &forged,
            key: &claimed,
        },
    )
    .unwrap();
    assert_eq!(r.failure, Some(Failure::BadSignature));
    assert_eq!(s.accounts(), state.accounts());
    // A genuine one runs exactly as an unchecked step does.
    let good = transfer(1, 1, 0, 2, 5);
    let (mut a, mut b) = (state.clone(), state);
    let checked = apply_step(
        &mut a,
        ROLLUP,
        StepInput::CheckedTx {
            context: &CONTEXT,
            tx: &good,
            key: &key(1).public_key(),
        },
    )
    .unwrap();
    let plain = apply_step(
        &mut b,
        ROLLUP,
        StepInput::Tx {
            context: &CONTEXT,
            tx: &good,
        },
    )
    .unwrap();
    assert_eq!(checked, plain);
    assert_eq!(a.commitment(), b.commitment());
}
