//! Fuzz bytes drive a chain with a rollup through operations of every
//! settlement module, one L1 block each: transfers and staking (stake,
//! unstake, slashes real and forged), and on the optimistic rollup
//! deposits, forced transactions, batches with true or false roots and
//! garbage ones, challenges and every move of the game (honest or not),
//! timeouts, claims true and forged, bonds and unbonds; and on a zk-rollup
//! deposits (valid and not), forced exits signed and forged, batches with
//! garbage proofs, roots and data, forged claims and exits, freezes and
//! refunds.
//!
//! After every block the test chain asserts the supply invariant
//! (minted − burned = balances + what every module holds), and the rollup
//! harness the bridge invariant (escrow = L2 supply + unclaimed
//! withdrawals + unconsumed deposits); the zk-rollup's escrow equals its
//! deposits not refunded (no forged batch ever lands).
#![no_main]

use bytes::Bytes;
use commonware_codec::Encode as _;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use terrace_l1::{
    Payload, StateReader as _,
    modules::{
        optimistic::{BatchSubmission, RollupOp, RollupRecords as _, testing::*},
        staking::{DoubleVote, StakingOp},
    },
    testing::{ETHER, addr, key, l1_transfer},
};
use terrace_l1::{
    Transaction,
    modules::validity::{
        BatchData, DataMode, InboxItem, UNIT, ValidityKey, ValidityOp, Verifier, ZkBatchSubmission,
        ZkClaim, ZkExit, ZkOp, ZkRecords as _, ZkRollupConfig,
    },
};
use terrace_l2::InboxMessage;
use terrace_primitives::{Amount, Hash, PrivateKey, hash};
use terrace_zk::{
    babyjubjub::SecretKey,
    ops::{self as zkops, code},
    prover::{
        self,
        rand::{SeedableRng, rngs::StdRng},
    },
};

/// Reads fuzz bytes; runs dry as zeros.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        let mut v = 0u64;
        for _ in 0..2 {
            v = v << 8 | self.byte() as u64;
        }
        v % n.max(1)
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `who` can pay `amount` besides the gas of a rollup operation
/// (the harness sends those with a generous gas limit): an operation it
/// cannot pay is refused before any block, which the harness does not
/// model.
fn affords(w: &World, who: &terrace_primitives::PrivateKey, amount: u128) -> bool {
    w.c.state.account(&addr(who)).balance.0 >= amount + ETHER
}

/// The users of the rollup: keys 1, 2 and 4 (0 sequences, 3 challenges).
const USERS: [u32; 3] = [1, 2, 4];

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut w = World::new();
    for _ in 0..24 {
        if input.done() {
            break;
        }
        step(&mut w, &mut input);
        w.check_bridge();
    }
});

fn step(w: &mut World, input: &mut Input<'_>) {
    let user = key(USERS[input.below(USERS.len() as u64) as usize]);
    match input.byte() % 20 {
        16..=19 => zk_step(w, input, &user),
        0 => {
            let to = addr(&key(input.below(6) as u32));
            let tx =
                w.c.tx(&user, l1_transfer(to, input.below(50) as u128 * ETHER));
            let _ = w.c.block(vec![tx]);
        }
        1 => {
            let op = StakingOp::Stake {
                amount: Amount(input.below(100) as u128 * ETHER),
            };
            let tx = w.c.tx(&user, Payload::Staking(op));
            let _ = w.c.block(vec![tx]);
        }
        2 => {
            let op = StakingOp::Unstake {
                amount: Amount(input.below(100) as u128 * ETHER),
            };
            let tx = w.c.tx(&user, Payload::Staking(op));
            let _ = w.c.block(vec![tx]);
        }
        3 => {
            // Real evidence against the genesis validator, sometimes forged.
            let mut evidence =
                DoubleVote::sign(&key(10_000), input.below(4), hash(&[b"a"]), hash(&[b"b"]))
                    .to_bytes()
                    .to_vec();
            if input.byte() % 3 == 0 {
                let i = input.below(evidence.len() as u64) as usize;
                evidence[i] ^= 1;
            }
            let op = StakingOp::Slash {
                evidence: Bytes::from(evidence),
            };
            let tx = w.c.tx(&user, Payload::Staking(op));
            let _ = w.c.block(vec![tx]);
        }
        4 | 5 => {
            let amount = input.below(60) as u128 * ETHER;
            if affords(w, &user, amount) {
                let _ = w.deposit_with(&user, amount, None);
            }
        }
        6 => {
            // A forced transaction: a real L2 transfer, or garbage.
            let tx = if input.byte() % 2 == 0 {
                let from = w.account_of(&user).unwrap_or(0);
                let nonce = w.l2.account_at(from).map_or(0, |a| a.nonce);
                transfer(
                    &user,
                    from,
                    nonce,
                    input.below(3) as u32,
                    input.below(5) as u128 * ETHER,
                )
                .encode()
                .to_vec()
            } else {
                vec![input.byte(); input.below(64) as usize]
            };
            if w.send(
                &user,
                RollupOp::ForceInclude {
                    tx: Bytes::from(tx.clone()),
                },
            )
            .is_none()
            {
                w.inbox.push(InboxMessage::Forced {
                    tx: Bytes::from(tx),
                });
            }
        }
        7 | 8 => {
            // A batch of L2 transfers and withdrawals, its root true or not.
            let mut txs = Vec::new();
            for _ in 0..input.below(4) {
                let sender = key(USERS[input.below(USERS.len() as u64) as usize]);
                let Some(from) = w.account_of(&sender) else {
                    continue;
                };
                let nonce = w.l2.account_at(from).map_or(0, |a| a.nonce)
                    + txs
                        .iter()
                        .filter(|t: &&terrace_l2::SignedL2Transaction| t.tx.from == from)
                        .count() as u64;
                let amount = input.below(8) as u128 * ETHER;
                txs.push(if input.byte() % 3 == 0 {
                    withdraw(&sender, from, nonce, amount)
                } else {
                    transfer(&sender, from, nonce, input.below(3) as u32, amount)
                });
            }
            let batch = w.batch(txs);
            if batch.steps(w.rollup().inbox_consumed).is_err() {
                // Nothing to post: no transaction and the inbox consumed.
                w.wait(1);
                return;
            }
            let lie = (input.byte() % 4 == 0).then(|| hash(&[&[input.byte()]]));
            let poster = if input.byte() % 5 == 0 {
                key(3)
            } else {
                sequencer()
            };
            let _ = w.post(&poster, &batch, lie);
        }
        9 => {
            // Garbage batch data: refused, and changes nothing.
            let rollup = w.rollup();
            let op = RollupOp::SubmitBatch(Box::new(BatchSubmission {
                index: rollup.batch_count,
                prev_output_root: rollup.output_root,
                output_root: Hash::from([input.byte(); 32]),
                step_count: input.below(8),
                inbox_end: input.below(8),
                data: Bytes::from(vec![input.byte(); input.below(200) as usize]),
            }));
            let _ = w.send(&sequencer(), op);
        }
        10 => {
            let batch = input.below(w.rollup().batch_count + 1);
            let _ = w.send(&challenger(), RollupOp::Challenge { batch });
        }
        11 => {
            // A move in an open challenge: the defender's honest or false
            // midpoint root, or the challenger's choice.
            let id = input.below(w.rollup().challenge_count.max(1));
            let Some(ch) = w.challenge(id) else {
                return;
            };
            let b = ch.batch as usize;
            let op = match ch.turn() {
                terrace_l1::modules::optimistic::Turn::Defender => {
                    let root = if input.byte() % 3 == 0 || b >= w.posted.len() {
                        Hash::from([input.byte(); 32])
                    } else {
                        w.honest_root(b, ch.mid())
                    };
                    RollupOp::Bisect {
                        challenge: id,
                        root,
                    }
                }
                terrace_l1::modules::optimistic::Turn::Challenger => {
                    let agree = match (ch.mid_root, b < w.posted.len()) {
                        (Some(r), true) if input.byte() % 4 != 0 => r == w.honest_root(b, ch.mid()),
                        _ => input.byte() % 2 == 0,
                    };
                    RollupOp::Choose {
                        challenge: id,
                        agree,
                    }
                }
                terrace_l1::modules::optimistic::Turn::OneStep => {
                    if b >= w.posted.len() || ch.lo as usize >= w.posted[b].1.len() {
                        RollupOp::Timeout { challenge: id }
                    } else {
                        RollupOp::ProveStep {
                            challenge: id,
                            proof: Box::new(w.one_step_proof(b, ch.lo)),
                        }
                    }
                }
            };
            let from = if matches!(op, RollupOp::Bisect { .. }) {
                sequencer()
            } else {
                challenger()
            };
            let _ = w.send(&from, op);
        }
        12 => {
            let id = input.below(w.rollup().challenge_count.max(1));
            let _ = w.send(&user, RollupOp::Timeout { challenge: id });
        }
        13 => {
            // A claim of a withdrawal in the newest accepted batch, true or
            // with its amount inflated.
            let rollup = w.rollup();
            let withdrawals = w.l2.withdrawals().len() as u64;
            if rollup.batch_count == 0 || withdrawals == 0 {
                w.wait(1);
                return;
            }
            let mut claim = claim_of(w, rollup.batch_count - 1, input.below(withdrawals));
            if input.byte() % 4 == 0 {
                claim.withdrawal.amount = Amount(claim.withdrawal.amount.0 * 10 + 1);
            }
            let paid = claim.withdrawal.amount;
            let recipient = key(0);
            // Recorded before the bridge is checked (after the step).
            if w.send_unchecked(&recipient, RollupOp::Claim(Box::new(claim)))
                .is_none()
            {
                w.claimed = Amount(w.claimed.0 + paid.0);
            }
        }
        14 => {
            let amount = input.below(20) as u128 * ETHER;
            let op = if input.byte() % 2 == 0 {
                RollupOp::Bond {
                    amount: Amount(amount),
                }
            } else {
                RollupOp::Unbond
            };
            if affords(w, &sequencer(), amount) {
                let _ = w.send(&sequencer(), op);
            }
        }
        _ => w.wait(1 + input.below(4)),
    }
    // A revert takes the harness's honest chain back with L1's.
    let standing = w.rollup().batch_count as usize;
    if standing < w.posted.len() {
        w.revert_to(standing);
    }
    assert!(w.c.state.rollup(w.id).is_some());
}

const ZK_DEPTH: u8 = 4;

/// The zk-rollup's verification key (one setup per fuzz process).
fn zk_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let pk = prover::setup(ZK_DEPTH, 2, &mut StdRng::seed_from_u64(5)).expect("setup");
        pk.verifying_key().to_bytes()
    })
}

fn zk_send(w: &mut World, from: &PrivateKey, payload: Payload) {
    let tx = Transaction {
        gas_limit: 2_000_000,
        ..w.c.tx(from, payload).tx
    }
    .sign(from);
    let _ = w.c.block(vec![tx]);
}

fn bytes32(input: &mut Input<'_>) -> [u8; 32] {
    std::array::from_fn(|_| input.byte())
}

/// One operation on the zk-rollup (created on first use), then its bridge:
/// with no batch ever proven, escrow = deposits not refunded.
fn zk_step(w: &mut World, input: &mut Input<'_>, user: &PrivateKey) {
    if w.c.state.zk_rollup_count() == 0 {
        let config = ZkRollupConfig {
            operator: addr(&sequencer()),
            depth: ZK_DEPTH,
            verifiers: vec![Verifier {
                slots: 2,
                key: Bytes::from(zk_key().to_vec()),
            }],
            batch_bytes_max: 1_000,
            inbox_fee: Amount(UNIT),
            exodus_after_blocks: 6,
            inbox_deadline_blocks: 4,
            data: DataMode::OnChain,
        };
        zk_send(
            w,
            &sequencer(),
            Payload::Validity(ValidityOp::Create(Box::new(config))),
        );
    }
    let l2 = SecretKey::from_bytes(&[input.byte() % 4]);
    let domain = zkops::domain(terrace_l1::testing::CHAIN.0, 0);
    let to = addr(&key(input.below(6) as u32));
    let op = match input.byte() % 7 {
        0 => {
            let key = if input.byte() % 5 == 0 {
                bytes32(input)
            } else {
                l2.public().pack()
            };
            let units = input.below(50) as u128;
            let amount = Amount(units * UNIT + u128::from(input.byte() % 7 == 0));
            if !affords(w, user, amount.0) {
                return;
            }
            ZkOp::Deposit { key, amount }
        }
        1 => {
            let account = input.below(20) as u32;
            let serial = input.below(3);
            let message = zkops::exit_message(domain, code::FORCED_EXIT, account, serial, &to.0);
            let mut signature = l2.sign(message).pack();
            if input.byte() % 3 == 0 {
                signature[input.below(64) as usize] ^= 1;
            }
            ZkOp::ForcedExit {
                account,
                serial,
                key: l2.public().pack(),
                to,
                signature,
            }
        }
        2 => {
            let len = input.below(40) as usize;
            ZkOp::SubmitBatch(Box::new(ZkBatchSubmission {
                index: input.below(3),
                slots: if input.byte() % 2 == 0 { 2 } else { 4 },
                new_root: bytes32(input),
                withdrawals_root: bytes32(input),
                inbox_end: input.below(3),
                data: if input.byte() % 4 == 0 {
                    // Attested data on a zk-rollup: refused.
                    BatchData::Attested {
                        commitment: bytes32(input),
                        signatures: Vec::new(),
                    }
                } else {
                    BatchData::Posted(Bytes::from(
                        (0..len).map(|_| input.byte() % 8).collect::<Vec<u8>>(),
                    ))
                },
                proof: std::array::from_fn(|_| input.byte()),
            }))
        }
        3 => ZkOp::Claim(Box::new(ZkClaim {
            batch: input.below(2),
            slot: input.below(3) as u32,
            to,
            amount: input.below(100),
            path: vec![bytes32(input)],
        })),
        4 => ZkOp::Freeze,
        5 => {
            let account = input.below(4) as u32;
            let message = zkops::exit_message(domain, code::EXODUS, account, 0, &to.0);
            ZkOp::Exit(Box::new(ZkExit {
                account,
                key: l2.public().pack(),
                balance: input.below(100),
                nonce: 0,
                path: (0..ZK_DEPTH).map(|_| bytes32(input)).collect(),
                to,
                signature: l2.sign(message).pack(),
            }))
        }
        _ => ZkOp::Refund {
            position: input.below(4),
        },
    };
    zk_send(
        w,
        user,
        Payload::Validity(ValidityOp::Rollup { rollup: 0, op }),
    );

    let state = &w.c.state;
    let rollup = state.zk_rollup(0).expect("created");
    assert_eq!(rollup.batch_count, 0, "a forged batch landed");
    let pending: u128 = (0..rollup.inbox_count)
        .filter(|p| !state.zk_spent(ValidityKey::Refund(0, *p)))
        .filter_map(|p| match state.zk_inbox(0, p).map(|e| e.entry) {
            Some(InboxItem::Deposit { amount, .. }) => Some(u128::from(amount) * UNIT),
            _ => None,
        })
        .sum();
    assert_eq!(rollup.escrow.0, pending, "zk bridge invariant");
}
