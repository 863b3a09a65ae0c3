//! zk-rollup settlement on L1 with real Groth16 proofs of a real L2 state:
//! deposits, batches final at once, withdrawals claimed once, forced exits,
//! exodus with exact exits and refunds, and forged input refused.
//!
//! Every block checks the supply invariant (in the common chain) and the
//! bridge invariant: escrow = (L2 balances in the last proven root +
//! withdrawals not yet claimed + deposits not yet processed) × UNIT.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use super::*;
use crate::{Payload, Transaction, testing::*};
use bytes::Bytes;
use commonware_codec::{DecodeExt as _, Encode as _, EncodeSize as _};
use std::sync::OnceLock;
use terrace_primitives::PrivateKey;
use terrace_primitives::keys::Signer as _;
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, SecretKey},
    fr_to_le,
    ops::{self, InboxEntry, Transfer, Withdraw, code},
    prover::{
        self, ProvingKey,
        rand::{SeedableRng, rngs::StdRng},
    },
    state::{Batch, BatchBuilder, Op, State},
};

const DEPTH: u8 = 4;
const SLOTS: u32 = 2;
const EXODUS: u64 = 8;
const DEADLINE: u64 = 5;
/// The inbox fee, paid to the operator per deposit and forced exit.
const FEE: u128 = 3 * UNIT;

fn proving_key() -> &'static ProvingKey {
    static KEY: OnceLock<ProvingKey> = OnceLock::new();
    KEY.get_or_init(|| {
        prover::setup(DEPTH, SLOTS as usize, &mut StdRng::seed_from_u64(21)).expect("setup")
    })
}

fn operator() -> PrivateKey {
    key(0)
}

fn l2_key(name: &str) -> SecretKey {
    SecretKey::from_bytes(name.as_bytes())
}

fn config() -> ZkRollupConfig {
    ZkRollupConfig {
        operator: addr(&operator()),
        depth: DEPTH,
        verifiers: vec![Verifier {
            slots: SLOTS,
            key: Bytes::from(proving_key().verifying_key().to_bytes()),
        }],
        batch_bytes_max: 10_000,
        inbox_fee: Amount(FEE),
        exodus_after_blocks: EXODUS,
        inbox_deadline_blocks: DEADLINE,
        data: DataMode::OnChain,
    }
}

/// L1 with one zk-rollup and the operator's L2 state beside it.
struct World {
    c: Chain,
    /// The L2 state of the last proven batch.
    l2: State,
    /// Every inbox entry, by position.
    inbox: Vec<InboxEntry>,
    /// Withdrawals claimed so far, in units.
    claimed: u128,
    /// Withdrawals in proven batches, in units.
    withdrawn: u128,
    /// Proven batches.
    batches: Vec<Batch>,
}

/// The committee of the validium tests: members `key(10 + i)`.
fn member(i: u8) -> PrivateKey {
    key(10 + u32::from(i))
}

/// A validium: the same rollup with its data kept by 2 of 3 members.
fn validium() -> ZkRollupConfig {
    ZkRollupConfig {
        data: DataMode::Committee(Committee {
            members: (0..3).map(|i| member(i).public_key()).collect(),
            threshold: 2,
        }),
        ..config()
    }
}

/// Member `i`'s signature over batch `index`'s attestation.
fn attest(domain: &Felt, i: u8, index: u64, commitment: &Felt) -> MemberSignature {
    MemberSignature {
        member: i,
        signature: terrace_primitives::keys::sign(
            &member(i),
            DAC_NAMESPACE,
            &attestation_message(domain, index, commitment),
        ),
    }
}

impl World {
    fn new() -> Self {
        Self::with(config())
    }

    fn with(config: ZkRollupConfig) -> Self {
        let mut c = Chain::new(5, 1);
        let tx = c.tx(
            &operator(),
            Payload::Validity(ValidityOp::Create(Box::new(config))),
        );
        let out = c.block(vec![big(tx, &c, &operator())]).unwrap();
        assert_eq!(out.receipts[0].failure, None);
        let domain = ops::domain(CHAIN.0, 0);
        Self {
            c,
            l2: State::new(DEPTH, domain),
            inbox: Vec::new(),
            claimed: 0,
            withdrawn: 0,
            batches: Vec::new(),
        }
    }

    fn rollup(&self) -> ZkRollup {
        self.c.state.zk_rollup(0).unwrap()
    }

    fn send(&mut self, from: &PrivateKey, op: ZkOp) -> Option<Failure> {
        let failure = self.send_unchecked(from, op);
        self.check_bridge();
        failure
    }

    /// Sends without the bridge check (the caller books the effect first).
    fn send_unchecked(&mut self, from: &PrivateKey, op: ZkOp) -> Option<Failure> {
        let payload = Payload::Validity(ValidityOp::Rollup { rollup: 0, op });
        let tx = self.c.tx(from, payload);
        let tx = big(tx, &self.c, from);
        let out = self.c.block(vec![tx]).unwrap();
        out.receipts[0].failure
    }

    fn wait(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.c.block(vec![]).unwrap();
            self.check_bridge();
        }
    }

    fn check_bridge(&self) {
        let r = self.rollup();
        let pending: u128 = self.inbox[r.inbox_consumed as usize..]
            .iter()
            .map(|e| match e {
                InboxEntry::Deposit { amount, .. } => u128::from(*amount),
                InboxEntry::ForcedExit { .. } => 0,
            })
            .sum();
        let exited: u128 = if r.frozen_at.is_some() {
            // Exits and refunds have paid out of escrow what they proved.
            0
        } else {
            self.l2.supply()
        };
        if r.frozen_at.is_none() {
            assert_eq!(
                r.escrow.0,
                (exited + self.withdrawn - self.claimed + pending) * UNIT,
                "bridge invariant at height {}",
                self.c.height
            );
        }
    }

    fn deposit(&mut self, from: &PrivateKey, to: &PublicKey, units: u64) -> Option<Failure> {
        let failure = self.send_unchecked(
            from,
            ZkOp::Deposit {
                key: to.pack(),
                amount: Amount(u128::from(units) * UNIT),
            },
        );
        if failure.is_none() {
            self.inbox.push(InboxEntry::Deposit {
                key: *to,
                amount: units,
            });
        }
        self.check_bridge();
        failure
    }

    /// Builds the next batch from the proven state: `ops` in order (inbox
    /// entries must be the next unconsumed ones), padded.
    fn build(&self, ops: &[Op]) -> (State, Batch) {
        let mut state = self.l2.clone();
        let r = self.rollup();
        let chain = self.inbox[..r.inbox_consumed as usize]
            .iter()
            .fold(Fr::from(0u64), |h, e| e.chain(h));
        let mut b = BatchBuilder::new(&state, SLOTS as usize, chain);
        for op in ops {
            b.push(&mut state, op).unwrap();
        }
        let batch = b.finish(&state).unwrap();
        (state, batch)
    }

    fn submission(&self, batch: &Batch, seed: u64) -> ZkBatchSubmission {
        let proof = prover::prove(proving_key(), batch, &mut StdRng::seed_from_u64(seed)).unwrap();
        let r = self.rollup();
        let data = match &r.config.data {
            DataMode::OnChain => BatchData::Posted(Bytes::from(batch.data.clone())),
            // Members 0 and 1 vouch for it.
            DataMode::Committee(_) => {
                let commitment = fr_to_le(&batch.statement.data);
                BatchData::Attested {
                    commitment,
                    signatures: (0..2)
                        .map(|i| attest(&r.domain, i, r.batch_count, &commitment))
                        .collect(),
                }
            }
        };
        ZkBatchSubmission {
            index: r.batch_count,
            slots: SLOTS,
            new_root: fr_to_le(&batch.statement.new_root),
            withdrawals_root: fr_to_le(&batch.statement.withdrawals),
            inbox_end: r.inbox_consumed + batch.consumed,
            data,
            proof: proof.to_bytes(),
        }
    }

    /// Proves and posts the next batch; keeps the L2 state if it lands.
    fn prove(&mut self, ops: &[Op]) -> Option<Failure> {
        let (state, batch) = self.build(ops);
        let sub = self.submission(&batch, self.batches.len() as u64);
        let failure = self.send_unchecked(&operator(), ZkOp::SubmitBatch(Box::new(sub)));
        if failure.is_none() {
            self.withdrawn += batch
                .witnesses
                .iter()
                .filter(|w| {
                    matches!(
                        w.kind,
                        terrace_zk::state::SlotKind::Withdraw
                            | terrace_zk::state::SlotKind::ForcedExit
                    )
                })
                .map(|w| u128::from(w.amount))
                .sum::<u128>();
            self.l2 = state;
            self.batches.push(batch);
        }
        self.check_bridge();
        failure
    }

    fn transfer(&self, from: &SecretKey, to: &PublicKey, amount: u64) -> Op {
        self.transfer_after(from, to, amount, 0)
    }

    /// A transfer signed after `earlier` others of the sender in the batch.
    fn transfer_after(&self, from: &SecretKey, to: &PublicKey, amount: u64, earlier: u64) -> Op {
        let index = self.l2.find(&from.public()).unwrap();
        let nonce = self.l2.account(index).unwrap().nonce + earlier;
        Op::Transfer(Transfer::sign(
            from,
            self.l2.domain(),
            index,
            *to,
            amount,
            nonce,
        ))
    }

    fn withdraw(&self, from: &SecretKey, to: Address, amount: u64) -> Op {
        let index = self.l2.find(&from.public()).unwrap();
        let nonce = self.l2.account(index).unwrap().nonce;
        Op::Withdraw(Withdraw::sign(
            from,
            self.l2.domain(),
            index,
            to.0,
            amount,
            nonce,
        ))
    }

    /// The claim of slot `slot` of proven batch `b`.
    fn claim_of(&self, b: usize, slot: u32, to: Address, amount: u64) -> ZkClaim {
        let leaves = &self.batches[b].withdrawal_leaves;
        ZkClaim {
            batch: b as u64,
            slot,
            to,
            amount,
            path: ops::withdrawals_path(leaves, slot as usize)
                .iter()
                .map(fr_to_le)
                .collect(),
        }
    }

    fn exit_of(&self, user: &SecretKey, to: Address) -> ZkExit {
        let account = self.l2.find(&user.public()).unwrap();
        let (acc, path) = self.l2.exit_proof(account).unwrap();
        let message = ops::exit_message(self.l2.domain(), code::EXODUS, account, 0, &to.0);
        ZkExit {
            account,
            key: acc.key.pack(),
            balance: acc.balance,
            nonce: acc.nonce,
            path: path.iter().map(fr_to_le).collect(),
            to,
            signature: user.sign(message).pack(),
        }
    }
}

/// A transaction re-signed with room for a proof's gas.
fn big(
    tx: crate::tx::SignedTransaction,
    c: &Chain,
    from: &PrivateKey,
) -> crate::tx::SignedTransaction {
    let t = tx.tx.clone();
    Transaction {
        gas_limit: 2_000_000,
        max_fee_per_gas: c.base_fee * 2,
        ..t
    }
    .sign(from)
}

fn f(failure: ValidityFailure) -> Option<Failure> {
    Some(Failure::Validity(failure))
}

/// Alice and Bob deposited and their deposits are proven.
fn funded() -> World {
    funded_with(config())
}

/// As [`funded`], for a rollup of `config`.
fn funded_with(config: ZkRollupConfig) -> World {
    let mut w = World::with(config);
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    assert_eq!(w.deposit(&key(1), &alice.public(), 1_000), None);
    assert_eq!(w.deposit(&key(2), &bob.public(), 500), None);
    let entries = [Op::Inbox(w.inbox[0]), Op::Inbox(w.inbox[1])];
    assert_eq!(w.prove(&entries), None);
    w
}

#[test]
fn deposit_transfer_withdraw_claim_final_at_once() {
    let mut w = funded();
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let carol = l2_key("carol");
    // A transfer to an existing account and one that creates carol's.
    let ops = [
        w.transfer(&alice, &bob.public(), 100),
        w.transfer_after(&alice, &carol.public(), 50, 1),
    ];
    assert_eq!(w.prove(&ops), None);
    let to = addr(&key(3));
    let ops = [
        w.withdraw(&bob, to, 200),
        w.transfer(&carol, &alice.public(), 5),
    ];
    assert_eq!(w.prove(&ops), None);
    assert_eq!(w.rollup().batch_count, 3);
    let balances: Vec<u64> = w.l2.accounts().map(|(_, a)| a.balance).collect();
    assert_eq!(balances, [855, 400, 45]);

    // Final at once: the claim lands in the very next block, paid by anyone.
    let before = w.c.state.account(&to).balance;
    let claim = w.claim_of(2, 0, to, 200);
    w.claimed += 200;
    assert_eq!(w.send(&key(4), ZkOp::Claim(Box::new(claim.clone()))), None);
    assert_eq!(w.c.state.account(&to).balance.0, before.0 + 200 * UNIT);
    assert_eq!(
        w.send(&key(4), ZkOp::Claim(Box::new(claim))),
        f(ValidityFailure::AlreadyClaimed)
    );
}

#[test]
fn forged_claims_change_nothing() {
    let mut w = funded();
    let bob = l2_key("bob");
    let to = addr(&key(3));
    let ops = [w.withdraw(&bob, to, 200)];
    assert_eq!(w.prove(&ops), None);
    let honest = w.claim_of(1, 0, to, 200);
    let escrow = w.rollup().escrow;
    let mut more = honest.clone();
    more.amount = 201;
    let mut thief = honest.clone();
    thief.to = addr(&key(4));
    let mut other_slot = honest.clone();
    other_slot.slot = 1;
    let mut short = honest.clone();
    short.path.pop();
    let mut non_canonical = honest.clone();
    non_canonical.path[0] = [0xff; 32];
    let mut unknown = honest.clone();
    unknown.batch = 9;
    for (claim, want) in [
        (more, ValidityFailure::InvalidWithdrawalProof),
        (thief, ValidityFailure::InvalidWithdrawalProof),
        (other_slot, ValidityFailure::InvalidWithdrawalProof),
        (short, ValidityFailure::InvalidWithdrawalProof),
        (non_canonical, ValidityFailure::NonCanonical),
        (unknown, ValidityFailure::NoSuchBatch),
    ] {
        assert_eq!(w.send(&key(4), ZkOp::Claim(Box::new(claim))), f(want));
        assert_eq!(w.rollup().escrow, escrow);
    }
}

#[test]
fn forged_proofs_and_statements_are_refused() {
    let mut w = funded();
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let (_, honest) = w.build(&[w.transfer(&alice, &bob.public(), 100)]);
    let good = w.submission(&honest, 77);
    let before = w.rollup();

    // A false new root, with the proof of the honest statement.
    let mut false_root = good.clone();
    false_root.new_root = fr_to_le(&(honest.statement.new_root + Fr::from(1u64)));
    // A proof made for another statement (a different transfer).
    let (_, other) = w.build(&[w.transfer(&alice, &bob.public(), 99)]);
    let mut other_proof = good.clone();
    other_proof.proof = w.submission(&other, 78).proof;
    // The honest proof with altered withdrawals root or data.
    let mut altered_withdrawals = good.clone();
    altered_withdrawals.withdrawals_root = fr_to_le(&Fr::from(5u64));
    let mut altered_data = good.clone();
    let BatchData::Posted(posted) = &good.data else {
        panic!("a zk-rollup posts its data")
    };
    let mut data = posted.to_vec();
    data[11] ^= 1; // the amount's low byte
    altered_data.data = BatchData::Posted(Bytes::from(data));
    // A replayed proof: batch 0's, for batch 1.
    let mut replayed = good.clone();
    replayed.proof = w.submission(&w.batches[0], 79).proof;
    // Garbage, a non-canonical root, an unknown size, too many inbox ops.
    let mut garbage = good.clone();
    garbage.proof = [0x42; 128];
    let mut non_canonical = good.clone();
    non_canonical.new_root = [0xff; 32];
    let mut unknown_size = good.clone();
    unknown_size.slots = 8;
    let mut inbox_mismatch = good.clone();
    inbox_mismatch.inbox_end = 1;
    let mut bad_data = good.clone();
    bad_data.data = BatchData::Posted(Bytes::from_static(&[9, 9, 9]));
    for (sub, want) in [
        (false_root, ValidityFailure::InvalidProof),
        (other_proof, ValidityFailure::InvalidProof),
        (altered_withdrawals, ValidityFailure::InvalidProof),
        (altered_data, ValidityFailure::InvalidProof),
        (replayed, ValidityFailure::InvalidProof),
        (garbage, ValidityFailure::InvalidProof),
        (non_canonical, ValidityFailure::NonCanonical),
        (unknown_size, ValidityFailure::UnknownBatchSize),
        (inbox_mismatch, ValidityFailure::InboxBeyondEnd),
        (bad_data, ValidityFailure::BadBatchData),
    ] {
        assert_eq!(
            w.send(&operator(), ZkOp::SubmitBatch(Box::new(sub))),
            f(want)
        );
        assert_eq!(w.rollup(), before, "a refused batch changes nothing");
    }
    // The honest batch from someone else than the operator.
    assert_eq!(
        w.send(&key(4), ZkOp::SubmitBatch(Box::new(good.clone()))),
        f(ValidityFailure::NotOperator)
    );
    // And from the operator it lands; posting it again cannot land twice.
    assert_eq!(
        w.send(&operator(), ZkOp::SubmitBatch(Box::new(good.clone()))),
        None
    );
    assert_eq!(
        w.send(&operator(), ZkOp::SubmitBatch(Box::new(good))),
        f(ValidityFailure::WrongBatchIndex)
    );
}

#[test]
fn exodus_every_user_exits_with_their_last_proven_balance() {
    let mut w = funded();
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let ops = [w.transfer(&alice, &bob.public(), 300)];
    assert_eq!(w.prove(&ops), None);
    // Carol deposits; the operator stops before processing it.
    let carol = l2_key("carol");
    assert_eq!(w.deposit(&key(3), &carol.public(), 70), None);
    let exit = w.exit_of(&alice, addr(&key(1)));
    assert_eq!(
        w.send(&key(4), ZkOp::Exit(Box::new(exit))),
        f(ValidityFailure::NotFrozen)
    );
    assert_eq!(
        w.send(&key(4), ZkOp::Freeze),
        f(ValidityFailure::NotStalled)
    );
    w.wait(EXODUS);
    assert_eq!(w.send(&key(4), ZkOp::Freeze), None);
    assert!(w.rollup().frozen_at.is_some());
    // No batch lands on a frozen rollup.
    let (_, late) = w.build(&[Op::Inbox(w.inbox[2])]);
    let sub = w.submission(&late, 5);
    assert_eq!(
        w.send(&operator(), ZkOp::SubmitBatch(Box::new(sub))),
        f(ValidityFailure::Frozen)
    );

    let escrow = w.rollup().escrow;
    let (a1, a2) = (addr(&key(1)), addr(&key(2)));
    let (b1, b2) = (
        w.c.state.account(&a1).balance,
        w.c.state.account(&a2).balance,
    );
    // An inflated balance, a stranger's signature, then the honest exits.
    let mut inflated = w.exit_of(&alice, a1);
    inflated.balance += 1;
    assert_eq!(
        w.send(&key(4), ZkOp::Exit(Box::new(inflated))),
        f(ValidityFailure::InvalidExitProof)
    );
    let mut stolen = w.exit_of(&alice, a1);
    stolen.to = addr(&key(4));
    assert_eq!(
        w.send(&key(4), ZkOp::Exit(Box::new(stolen))),
        f(ValidityFailure::InvalidSignature)
    );
    let exit = w.exit_of(&alice, a1);
    assert_eq!(w.send(&key(4), ZkOp::Exit(Box::new(exit.clone()))), None);
    assert_eq!(
        w.send(&key(4), ZkOp::Exit(Box::new(exit))),
        f(ValidityFailure::AlreadyExited)
    );
    assert_eq!(
        w.send(&key(4), ZkOp::Exit(Box::new(w.exit_of(&bob, a2)))),
        None
    );
    assert_eq!(w.c.state.account(&a1).balance.0, b1.0 + 700 * UNIT);
    assert_eq!(w.c.state.account(&a2).balance.0, b2.0 + 800 * UNIT);
    // Carol's unprocessed deposit goes back to its depositor, once.
    let depositor = w.c.state.account(&addr(&key(3))).balance;
    assert_eq!(w.send(&key(4), ZkOp::Refund { position: 2 }), None);
    assert_eq!(
        w.send(&key(4), ZkOp::Refund { position: 2 }),
        f(ValidityFailure::NotRefundable)
    );
    assert_eq!(
        w.send(&key(4), ZkOp::Refund { position: 0 }),
        f(ValidityFailure::NotRefundable)
    );
    assert_eq!(
        w.c.state.account(&addr(&key(3))).balance.0,
        depositor.0 + 70 * UNIT
    );
    // Funds lost: none. The escrow paid out exactly what it held.
    assert_eq!(escrow.0, (700 + 800 + 70) * UNIT);
    assert_eq!(w.rollup().escrow, Amount::ZERO);
}

#[test]
fn an_ignored_forced_exit_freezes_the_rollup_past_its_deadline() {
    let mut w = funded();
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let to = addr(&key(2));
    let message = ops::exit_message(w.l2.domain(), code::FORCED_EXIT, 1, 0, &to.0);
    let forced = |signature: [u8; 64]| ZkOp::ForcedExit {
        account: 1,
        serial: 0,
        key: bob.public().pack(),
        to,
        signature,
    };
    // Signed by someone else, or out of range: refused.
    assert_eq!(
        w.send(&key(2), forced(alice.sign(message).pack())),
        f(ValidityFailure::InvalidSignature)
    );
    let mut out_of_range = forced(bob.sign(message).pack());
    if let ZkOp::ForcedExit { account, .. } = &mut out_of_range {
        *account = 1 << DEPTH;
    }
    assert_eq!(
        w.send(&key(2), out_of_range),
        f(ValidityFailure::AccountOutOfRange)
    );
    assert_eq!(w.send(&key(2), forced(bob.sign(message).pack())), None);
    w.inbox.push(InboxEntry::ForcedExit {
        account: 1,
        key: bob.public(),
        to: to.0,
    });
    // The operator keeps proving batches but never consumes the exit.
    for _ in 0..3 {
        let ops = [w.transfer(&alice, &bob.public(), 1)];
        assert_eq!(w.prove(&ops), None);
        if w.send(&key(4), ZkOp::Freeze).is_none() {
            break;
        }
    }
    assert!(w.rollup().frozen_at.is_some(), "frozen past the deadline");
    let before = w.c.state.account(&to).balance;
    let exit = w.exit_of(&bob, to);
    assert_eq!(exit.balance, 503);
    assert_eq!(w.send(&key(4), ZkOp::Exit(Box::new(exit))), None);
    assert_eq!(w.c.state.account(&to).balance.0, before.0 + 503 * UNIT);
}

#[test]
fn a_processed_forced_exit_is_claimed() {
    let mut w = funded();
    let bob = l2_key("bob");
    let to = addr(&key(2));
    let message = ops::exit_message(w.l2.domain(), code::FORCED_EXIT, 1, 0, &to.0);
    let op = ZkOp::ForcedExit {
        account: 1,
        serial: 0,
        key: bob.public().pack(),
        to,
        signature: bob.sign(message).pack(),
    };
    let operator_before = w.c.state.account(&addr(&operator())).balance;
    assert_eq!(w.send(&key(2), op.clone()), None);
    // The operator earned the inbox fee; the same signature cannot queue
    // a second exit.
    assert_eq!(
        w.c.state.account(&addr(&operator())).balance.0,
        operator_before.0 + FEE
    );
    assert_eq!(w.send(&key(4), op), f(ValidityFailure::SerialUsed));
    w.inbox.push(InboxEntry::ForcedExit {
        account: 1,
        key: bob.public(),
        to: to.0,
    });
    assert_eq!(w.prove(&[Op::Inbox(w.inbox[2])]), None);
    assert_eq!(w.l2.account(1).unwrap().balance, 0);
    let claim = w.claim_of(1, 0, to, 500);
    w.claimed += 500;
    assert_eq!(w.send(&key(4), ZkOp::Claim(Box::new(claim))), None);
}

#[test]
fn bad_deposits_and_configs_are_refused() {
    let mut w = World::new();
    let alice = l2_key("alice").public();
    let bad_key = ZkOp::Deposit {
        key: [0xff; 32],
        amount: Amount(UNIT),
    };
    assert_eq!(w.send(&key(1), bad_key), f(ValidityFailure::InvalidKey));
    let fraction = ZkOp::Deposit {
        key: alice.pack(),
        amount: Amount(UNIT + 1),
    };
    assert_eq!(w.send(&key(1), fraction), f(ValidityFailure::NotInUnits));
    let zero = ZkOp::Deposit {
        key: alice.pack(),
        amount: Amount::ZERO,
    };
    assert_eq!(w.send(&key(1), zero), Some(Failure::ZeroAmount));
    assert_eq!(
        w.send(&key(1), ZkOp::Refund { position: 0 }),
        f(ValidityFailure::NotFrozen)
    );
    assert_eq!(w.rollup().inbox_count, 0);

    for broken in [
        ZkRollupConfig {
            depth: 25,
            ..config()
        },
        // The account tree takes two index bits per level.
        ZkRollupConfig {
            depth: 5,
            ..config()
        },
        ZkRollupConfig {
            verifiers: vec![],
            ..config()
        },
        ZkRollupConfig {
            verifiers: vec![Verifier {
                slots: 3,
                key: config().verifiers[0].key.clone(),
            }],
            ..config()
        },
        ZkRollupConfig {
            verifiers: vec![Verifier {
                slots: 2,
                key: Bytes::from_static(&[1, 2, 3]),
            }],
            ..config()
        },
        ZkRollupConfig {
            exodus_after_blocks: 0,
            ..config()
        },
    ] {
        let tx = w.c.tx(
            &key(1),
            Payload::Validity(ValidityOp::Create(Box::new(broken))),
        );
        let tx = big(tx, &w.c, &key(1));
        let out = w.c.block(vec![tx]).unwrap();
        assert_eq!(out.receipts[0].failure, f(ValidityFailure::InvalidConfig));
    }
}

#[test]
fn operations_and_records_round_trip() {
    let w = funded();
    let sub = w.submission(&w.batches[0], 1);
    let ops = [
        ValidityOp::Create(Box::new(config())),
        ValidityOp::Rollup {
            rollup: 3,
            op: ZkOp::SubmitBatch(Box::new(sub)),
        },
        ValidityOp::Rollup {
            rollup: 0,
            op: ZkOp::Exit(Box::new(w.exit_of(&l2_key("bob"), addr(&key(2))))),
        },
        ValidityOp::Rollup {
            rollup: 0,
            op: ZkOp::Freeze,
        },
    ];
    for op in ops {
        let payload = Payload::Validity(op);
        let bytes = payload.encode();
        assert_eq!(Payload::decode(bytes.clone()).unwrap(), payload);
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Payload::decode(bytes.slice(..cut)).is_err());
        }
    }
    let record = crate::Value::Validity(ValidityRecord::Rollup(Box::new(w.rollup())));
    assert_eq!(crate::Value::decode(record.encode()).unwrap(), record);
}

#[test]
fn a_validium_lands_batches_on_its_committees_word_and_pays_out() {
    let mut w = funded_with(validium());
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let to = addr(&key(3));
    let ops = [
        w.transfer(&alice, &bob.public(), 100),
        w.withdraw(&bob, to, 50),
    ];
    let (_, batch) = w.build(&ops);
    let sub = w.submission(&batch, 9);
    // No data on L1: the commitment, two signatures and the proof.
    let op = ZkOp::SubmitBatch(Box::new(sub.clone()));
    assert_eq!(sub.data.posted_len(), 0);
    assert!(op.encode_size() < 400, "{} bytes", op.encode_size());
    assert_eq!(w.prove(&ops), None);
    let batch = w.c.state.zk_batch(0, 1).unwrap();
    assert_eq!(
        batch.data_commitment,
        fr_to_le(&w.batches[1].statement.data)
    );
    // Final at once, as a zk-rollup's: the withdrawal is claimed.
    let before = w.c.state.account(&to).balance;
    let claim = w.claim_of(1, 1, to, 50);
    w.claimed += 50;
    assert_eq!(w.send(&key(4), ZkOp::Claim(Box::new(claim))), None);
    assert_eq!(w.c.state.account(&to).balance.0, before.0 + 50 * UNIT);
    // Gas: the members' signatures instead of the data chain.
    let gas = ValidityGas::default();
    assert_eq!(
        batch_gas(&gas, &sub),
        batch_gas(
            &gas,
            &ZkBatchSubmission {
                data: BatchData::Posted(Bytes::new()),
                ..sub
            }
        ) - gas.data_slot * u64::from(SLOTS)
            + 2 * gas.member_signature
    );
}

#[test]
fn dac_forgery_is_refused_and_changes_nothing() {
    let mut w = funded_with(validium());
    let (alice, bob) = (l2_key("alice"), l2_key("bob"));
    let (_, honest) = w.build(&[w.transfer(&alice, &bob.public(), 100)]);
    let good = w.submission(&honest, 31);
    let r = w.rollup();
    let commitment = fr_to_le(&honest.statement.data);
    let with = |signatures: Vec<MemberSignature>| ZkBatchSubmission {
        data: BatchData::Attested {
            commitment,
            signatures,
        },
        ..good.clone()
    };
    let sig = |i: u8| attest(&r.domain, i, 1, &commitment);
    // A signature by a key outside the committee, under a member's index.
    let stranger = MemberSignature {
        member: 2,
        signature: terrace_primitives::keys::sign(
            &key(4),
            DAC_NAMESPACE,
            &attestation_message(&r.domain, 1, &commitment),
        ),
    };
    // Member 1's signature of batch 0, replayed; its signature for this
    // commitment under batch index 0; and one over another commitment.
    let BatchData::Attested {
        signatures: batch0, ..
    } = w.submission(&w.batches[0], 1).data
    else {
        panic!("a validium attests its data")
    };
    let replayed = batch0[1].clone();
    let other_index = attest(&r.domain, 1, 0, &commitment);
    let other_commitment = attest(&r.domain, 1, 1, &fr_to_le(&Fr::from(7u64)));
    // The signatures of a commitment the proof does not take.
    let wrong = fr_to_le(&(honest.statement.data + Fr::from(1u64)));
    let wrong_commitment = ZkBatchSubmission {
        data: BatchData::Attested {
            commitment: wrong,
            signatures: vec![
                attest(&r.domain, 0, 1, &wrong),
                attest(&r.domain, 1, 1, &wrong),
            ],
        },
        ..good.clone()
    };
    let posted = ZkBatchSubmission {
        data: BatchData::Posted(Bytes::from(honest.data.clone())),
        ..good.clone()
    };
    let non_canonical = ZkBatchSubmission {
        data: BatchData::Attested {
            commitment: [0xff; 32],
            signatures: vec![sig(0), sig(1)],
        },
        ..good.clone()
    };
    for (sub, want) in [
        (with(vec![sig(0)]), ValidityFailure::TooFewAttestations),
        (with(vec![]), ValidityFailure::TooFewAttestations),
        (with(vec![sig(0), sig(0)]), ValidityFailure::DuplicateSigner),
        (
            with(vec![sig(0), stranger]),
            ValidityFailure::InvalidAttestation,
        ),
        (
            with(vec![sig(0), replayed]),
            ValidityFailure::InvalidAttestation,
        ),
        (
            with(vec![sig(0), other_index]),
            ValidityFailure::InvalidAttestation,
        ),
        (
            with(vec![sig(0), other_commitment]),
            ValidityFailure::InvalidAttestation,
        ),
        (
            with(vec![
                sig(0),
                MemberSignature {
                    member: 3,
                    ..sig(1)
                },
            ]),
            ValidityFailure::UnknownMember,
        ),
        (wrong_commitment, ValidityFailure::InvalidProof),
        (posted, ValidityFailure::WrongDataMode),
        (non_canonical, ValidityFailure::NonCanonical),
    ] {
        assert_eq!(
            w.send(&operator(), ZkOp::SubmitBatch(Box::new(sub))),
            f(want)
        );
        assert_eq!(w.rollup(), r, "a refused batch changes nothing");
    }
    // Any two members will do, in any order; all three too.
    let landed = with(vec![sig(2), sig(0), sig(1)]);
    assert_eq!(
        w.send(&operator(), ZkOp::SubmitBatch(Box::new(landed))),
        None
    );
    assert_eq!(w.rollup().batch_count, 2);

    // And a zk-rollup refuses attested data: its data must be on L1.
    let mut z = funded();
    let (_, batch) = z.build(&[z.transfer(&alice, &bob.public(), 1)]);
    let sub = ZkBatchSubmission {
        data: BatchData::Attested {
            commitment: fr_to_le(&batch.statement.data),
            signatures: vec![],
        },
        ..z.submission(&batch, 3)
    };
    assert_eq!(
        z.send(&operator(), ZkOp::SubmitBatch(Box::new(sub))),
        f(ValidityFailure::WrongDataMode)
    );
}

#[test]
fn committees_that_cannot_work_are_refused() {
    let committee = |members: Vec<terrace_primitives::PublicKey>, threshold| ZkRollupConfig {
        data: DataMode::Committee(Committee { members, threshold }),
        ..config()
    };
    let keys = |n: u8| (0..n).map(|i| member(i).public_key()).collect::<Vec<_>>();
    let mut w = World::new();
    for (broken, why) in [
        (committee(vec![], 0), "no members"),
        (committee(keys(3), 0), "threshold 0"),
        (committee(keys(3), 4), "threshold above the members"),
        (
            committee(vec![member(0).public_key(), member(0).public_key()], 1),
            "a member twice",
        ),
    ] {
        let tx = w.c.tx(
            &key(1),
            Payload::Validity(ValidityOp::Create(Box::new(broken))),
        );
        let tx = big(tx, &w.c, &key(1));
        let out = w.c.block(vec![tx]).unwrap();
        assert_eq!(
            out.receipts[0].failure,
            f(ValidityFailure::InvalidConfig),
            "{why}"
        );
    }
    // More than COMMITTEE_MAX members do not even decode.
    let tx = w.c.tx(
        &key(1),
        Payload::Validity(ValidityOp::Create(Box::new(committee(keys(33), 2)))),
    );
    let tx = big(tx, &w.c, &key(1));
    assert!(w.c.block(vec![tx]).is_err());
    assert_eq!(w.c.state.zk_rollup_count(), 1);
}

#[test]
fn validium_operations_and_records_round_trip() {
    let w = funded_with(validium());
    let sub = w.submission(&w.batches[0], 1);
    let payload = Payload::Validity(ValidityOp::Rollup {
        rollup: 0,
        op: ZkOp::SubmitBatch(Box::new(sub)),
    });
    let create = Payload::Validity(ValidityOp::Create(Box::new(validium())));
    for p in [payload, create] {
        let bytes = p.encode();
        assert_eq!(Payload::decode(bytes.clone()).unwrap(), p);
        for cut in [1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Payload::decode(bytes.slice(..cut)).is_err());
        }
    }
    let record = crate::Value::Validity(ValidityRecord::Rollup(Box::new(w.rollup())));
    assert_eq!(crate::Value::decode(record.encode()).unwrap(), record);
}
