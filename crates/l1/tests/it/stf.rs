//! The L1 state-transition function end to end: each rule, each rejection,
//! the supply invariant over random block sequences, determinism, and the
//! pinned wire format.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use bytes::Bytes;
use commonware_codec::Encode as _;
use std::{cell::RefCell, collections::BTreeSet};
use terrace_l1::{
    BlockError, ChainParams, MemoryState, Payload, StateReader, Transaction, TxError,
    block::{Block, ConsensusRound, Header, StateLog},
    execute::{
        BlockExecutor, block_keys, block_keys_after, check_transactions, execute_block,
        output_digest, touched_keys, touched_keys_after,
    },
    modules::staking::{DoubleVote, DoubleVoteVerifier, StakingOp},
    state::Key,
    testing::*,
    tx::{SignedTransaction, check},
};
use terrace_primitives::{
    Address, Amount, ChainId, codec::to_hex, hash, keys::Signer as _, keys::private_key_from_seed,
};
use terrace_primitives::{keys::KeyCache, par::Threads};

#[test]
fn transfer_moves_value_burns_base_fee_and_tips_the_proposer() {
    let mut c = Chain::new(3, 1);
    let (a, b) = (key(0), key(1));
    let before_a = c.state.account(&addr(&a)).balance;
    let before_p = c.state.account(&c.proposer).balance;
    let base_fee = c.base_fee;
    let out = c
        .block(vec![c.tx(&a, l1_transfer(addr(&b), 5 * ETHER))])
        .unwrap();
    let r = &out.receipts[0];
    assert!(r.success());
    assert_eq!(r.effective_gas_price, base_fee + 1_000);
    let fee = r.gas_used as u128 * r.effective_gas_price as u128;
    assert_eq!(
        c.state.account(&addr(&a)).balance.0,
        before_a.0 - 5 * ETHER - fee
    );
    assert_eq!(c.state.account(&addr(&a)).nonce, 1);
    assert_eq!(c.state.account(&addr(&b)).balance.0, 1_005 * ETHER);
    assert_eq!(out.burned.0, r.gas_used as u128 * base_fee as u128);
    assert_eq!(
        c.state.account(&c.proposer).balance.0,
        before_p.0 + r.gas_used as u128 * 1_000 + c.params.block_reward.0
    );
    // Intrinsic gas: base + per byte of the signed encoding.
    let len = c.tx(&a, l1_transfer(addr(&b), 5 * ETHER)).encode().len() as u64;
    assert_eq!(r.gas_used, 21_000 + 16 * len);
}

#[test]
fn a_transfer_to_oneself_only_costs_the_fee() {
    let mut c = Chain::new(1, 1);
    let a = key(0);
    let out = c
        .block(vec![c.tx(&a, l1_transfer(addr(&a), 7 * ETHER))])
        .unwrap();
    let fee = out.receipts[0].gas_used as u128 * out.receipts[0].effective_gas_price as u128;
    assert_eq!(c.state.account(&addr(&a)).balance.0, 1_000 * ETHER - fee);
}

/// Applies `tx` alone and expects `want`; the executor's state must be unchanged.
fn expect_refused(c: &Chain, tx: SignedTransaction, want: impl Fn(&TxError) -> bool) {
    let err = match check(tx, CHAIN, &c.params) {
        Err(e) => e,
        Ok(checked) => {
            let mut ex = BlockExecutor::new(&c.state, &c.params, c.env(), &DoubleVoteVerifier);
            let err = ex.apply(&checked).expect_err("must be refused");
            assert_eq!(
                ex.state().pending(),
                0,
                "a refused transaction changed state"
            );
            err
        }
    };
    assert!(want(&err), "unexpected error: {err}");
    assert!(!err.to_string().is_empty());
}

#[test]
fn every_bad_transaction_gets_a_typed_error_and_changes_nothing() {
    let c = Chain::new(2, 1);
    let (a, b) = (key(0), key(1));
    let ok = c.tx(&a, l1_transfer(addr(&b), 1));

    // Wrong chain.
    let mut tx = ok.tx.clone();
    tx.chain_id = ChainId(1);
    expect_refused(&c, tx.sign(&a), |e| matches!(e, TxError::WrongChain { .. }));
    // Bad signature: signed by someone else.
    let mut forged = ok.clone();
    forged.signature = ok.tx.clone().sign(&b).signature;
    expect_refused(&c, forged, |e| matches!(e, TxError::BadSignature(_)));
    // Nonce too low and too high.
    expect_refused(&c, c.tx_nonce(&a, 5, l1_transfer(addr(&b), 1)), |e| {
        matches!(
            e,
            TxError::NonceTooHigh {
                expected: 0,
                got: 5
            }
        )
    });
    let mut advanced = Chain::new(2, 1);
    advanced
        .block(vec![advanced.tx(&a, l1_transfer(addr(&b), 1))])
        .unwrap();
    expect_refused(
        &advanced,
        advanced.tx_nonce(&a, 0, l1_transfer(addr(&b), 1)),
        |e| {
            matches!(
                e,
                TxError::NonceTooLow {
                    expected: 1,
                    got: 0
                }
            )
        },
    );
    // Fee cap below base fee.
    let mut tx = ok.tx.clone();
    tx.max_fee_per_gas = c.base_fee - 1;
    tx.max_priority_fee_per_gas = 0;
    expect_refused(&c, tx.sign(&a), |e| {
        matches!(e, TxError::FeeCapBelowBaseFee { .. })
    });
    // Tip above fee cap.
    let mut tx = ok.tx.clone();
    tx.max_priority_fee_per_gas = tx.max_fee_per_gas + 1;
    expect_refused(&c, tx.sign(&a), |e| {
        matches!(e, TxError::TipAboveFeeCap { .. })
    });
    // Insufficient balance for gas limit × max fee + value.
    expect_refused(&c, c.tx(&a, l1_transfer(addr(&b), 1_000 * ETHER)), |e| {
        matches!(e, TxError::InsufficientBalance { .. })
    });
    // Gas limit below intrinsic gas, and above the block limit.
    let mut tx = ok.tx.clone();
    tx.gas_limit = 21_000;
    expect_refused(&c, tx.sign(&a), |e| {
        matches!(e, TxError::GasLimitTooLow { .. })
    });
    let mut tx = ok.tx.clone();
    tx.gas_limit = c.params.block_gas_limit + 1;
    expect_refused(&c, tx.sign(&a), |e| {
        matches!(e, TxError::GasLimitAboveBlockLimit { .. })
    });
    // Arithmetic overflow of gas limit × fee cap + value.
    let mut tx = ok.tx.clone();
    tx.payload = l1_transfer(addr(&b), u128::MAX);
    expect_refused(&c, tx.sign(&a), |e| matches!(e, TxError::Overflow));
    // Unknown sender (empty account) cannot pay.
    expect_refused(&c, c.tx(&key(99), l1_transfer(addr(&b), 1)), |e| {
        matches!(e, TxError::InsufficientBalance { .. })
    });
}

#[test]
fn undecodable_and_oversized_bytes_are_refused() {
    let c = Chain::new(1, 1);
    let good = c.tx(&key(0), l1_transfer(addr(&key(0)), 1)).encode();
    for cut in [0, 1, 5, good.len() - 1] {
        let err =
            SignedTransaction::decode_and_check(good.slice(..cut), CHAIN, &c.params).unwrap_err();
        assert!(matches!(err, TxError::Malformed(_)), "{err}");
    }
    let mut extra = good.to_vec();
    extra.push(0);
    assert!(matches!(
        SignedTransaction::decode_and_check(extra.into(), CHAIN, &c.params),
        Err(TxError::Malformed(_))
    ));
    let mut bad_version = good.to_vec();
    bad_version[0] = 9;
    assert!(matches!(
        SignedTransaction::decode_and_check(bad_version.into(), CHAIN, &c.params),
        Err(TxError::Malformed(_))
    ));
    let huge = Bytes::from(vec![0u8; c.params.tx_bytes_max as usize + 1]);
    assert!(matches!(
        SignedTransaction::decode_and_check(huge, CHAIN, &c.params),
        Err(TxError::TooLarge { .. })
    ));
    assert!(SignedTransaction::decode_and_check(good, CHAIN, &c.params).is_ok());
}

#[test]
fn a_block_with_one_bad_signature_is_invalid_and_names_it() {
    let c = Chain::new(4, 1);
    let mut txs: Vec<SignedTransaction> = (0..4)
        .map(|i| c.tx(&key(i), l1_transfer(addr(&key(0)), 1)))
        .collect();
    txs[2].signature = txs[1].signature.clone();
    let raw: Vec<Bytes> = txs.iter().map(|t| t.encode()).collect();
    let err = check_transactions(
        &raw,
        CHAIN,
        &c.params,
        &KeyCache::default(),
        Threads::new(2),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            BlockError::Transaction {
                index: 2,
                error: TxError::BadSignature(_)
            }
        ),
        "{err}"
    );
}

#[test]
fn a_block_that_replays_a_transaction_is_invalid() {
    let mut c = Chain::new(2, 1);
    let tx = c.tx(&key(0), l1_transfer(addr(&key(1)), 1));
    let before = c.state.clone();
    let err = c.block(vec![tx.clone(), tx]).unwrap_err();
    assert!(matches!(
        err,
        BlockError::Transaction {
            index: 1,
            error: TxError::NonceTooLow { .. }
        }
    ));
    assert_eq!(c.state, before);
}

#[test]
fn block_gas_and_byte_limits_hold() {
    let mut c = Chain::new(3, 1);
    // Each transaction declares 200k gas and uses ~23k: the third no longer
    // fits in what the first two left (Ethereum's rule: gas limit ≤ gas left).
    c.params.block_gas_limit = 240_000;
    c.params.block_gas_target = 120_000;
    let txs: Vec<SignedTransaction> = (0..3)
        .map(|i| c.tx(&key(i), l1_transfer(addr(&key(0)), 1)))
        .collect();
    let err = c.block(txs.clone()).unwrap_err();
    assert!(
        matches!(
            err,
            BlockError::Transaction {
                index: 2,
                error: TxError::BlockGasExhausted { .. }
            }
        ),
        "{err}"
    );
    let mut c = Chain::new(3, 1);
    c.params.block_bytes_max = 2 * txs[0].encode().len() as u64 + 10;
    c.params.tx_bytes_max = c.params.block_bytes_max;
    let err = c.block(txs).unwrap_err();
    assert!(
        matches!(
            err,
            BlockError::Transaction {
                index: 2,
                error: TxError::BlockBytesExhausted { .. }
            }
        ),
        "{err}"
    );
}

/// Records every key execution reads.
struct Recording<'a> {
    inner: &'a MemoryState,
    reads: RefCell<BTreeSet<Key>>,
}

impl StateReader for Recording<'_> {
    fn get(&self, key: &Key) -> Option<terrace_l1::Value> {
        self.reads.borrow_mut().insert(key.clone());
        self.inner.get(key)
    }
}

/// A deterministic generator for the randomized tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random blocks of transfers, stakes, unstakes and slashes; some
/// transactions are invalid and must be refused by the proposer's executor.
fn random_chain(seed: u64, blocks: usize) -> (Chain, Vec<terrace_primitives::Hash>) {
    let mut rng = Rng(seed);
    let mut c = Chain::new(12, 3);
    c.params.modules.staking.unbonding_delay_blocks = 4;
    // Short epochs: committees turn over, evidence expires.
    c.params.epoch_length_blocks = 3;
    let mut digests = Vec::new();
    let mut nonces: Vec<u64> = vec![0; 12];
    for _ in 0..blocks {
        let mut ex = BlockExecutor::new(&c.state, &c.params, c.env(), &DoubleVoteVerifier);
        let mut included = Vec::new();
        for _ in 0..rng.below(30) {
            let s = rng.below(12) as usize;
            let from = key(s as u32);
            let payload = match rng.below(10) {
                0 => Payload::Staking(StakingOp::Stake {
                    amount: Amount(rng.below(50) as u128 * ETHER),
                }),
                1 => Payload::Staking(StakingOp::Unstake {
                    amount: Amount(rng.below(60) as u128 * ETHER),
                }),
                2 => {
                    let v = key(10_000 + rng.below(3) as u32);
                    let view = rng.below(4);
                    let epoch = c.params.epoch_of(c.height).saturating_sub(rng.below(3));
                    Payload::Staking(StakingOp::Slash {
                        evidence: DoubleVote::sign_in(
                            &v,
                            epoch,
                            view,
                            hash(&[b"a"]),
                            hash(&[b"b"]),
                        )
                        .to_bytes(),
                    })
                }
                _ => l1_transfer(
                    addr(&key(rng.below(14) as u32)),
                    rng.below(400) as u128 * ETHER,
                ),
            };
            // Sometimes a stale or future nonce.
            let nonce = match rng.below(20) {
                0 => nonces[s].saturating_sub(1),
                1 => nonces[s] + 1,
                _ => nonces[s],
            };
            let signed = c.tx_nonce(&from, nonce, payload);
            let Ok(checked) = check(signed, CHAIN, &c.params) else {
                continue;
            };
            if ex.apply(&checked).is_ok() {
                nonces[s] += 1;
                included.push(checked);
            }
        }
        let proposed = ex.finish().unwrap();
        // A validator replaying the same transactions gets the same output,
        // reading only the keys the block and its transactions declare.
        let recording = Recording {
            inner: &c.state,
            reads: Default::default(),
        };
        let replayed = execute_block(
            &recording,
            &c.params,
            c.env(),
            &DoubleVoteVerifier,
            &included,
        )
        .unwrap();
        let mut declared: BTreeSet<Key> = block_keys(&c.env(), &c.params).into_iter().collect();
        declared.extend(block_keys_after(&c.state, &c.env(), &c.params));
        for tx in &included {
            declared.extend(touched_keys(
                tx,
                c.env().height,
                &c.params,
                &DoubleVoteVerifier,
            ));
            declared.extend(touched_keys_after(
                tx,
                &c.state,
                c.env().height,
                &c.params,
                &DoubleVoteVerifier,
            ));
        }
        let undeclared: Vec<Key> = recording
            .reads
            .borrow()
            .difference(&declared)
            .cloned()
            .collect();
        assert!(
            undeclared.is_empty(),
            "execution read undeclared keys: {undeclared:?}"
        );
        assert_eq!(output_digest(&proposed), output_digest(&replayed));
        digests.push(output_digest(&replayed));
        c.state.apply(&replayed.writes);
        c.height += 1;
        c.base_fee = replayed.next_base_fee;
        c.assert_supply();
    }
    (c, digests)
}

#[test]
fn supply_is_conserved_after_every_block_of_random_sequences() {
    for seed in [1, 2, 3, 42, 1337] {
        random_chain(seed, 40);
    }
}

#[test]
fn execution_is_deterministic() {
    let (a, da) = random_chain(7, 30);
    let (b, db) = random_chain(7, 30);
    assert_eq!(
        da, db,
        "same inputs must give byte-identical writes and receipts"
    );
    assert_eq!(a.state.digest(), b.state.digest());
}

#[test]
fn the_wire_format_is_pinned() {
    // Changing any encoding is a visible decision: update these on purpose.
    let k = private_key_from_seed([1; 32]);
    let tx = Transaction {
        chain_id: CHAIN,
        nonce: 7,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000,
        gas_limit: 30_000,
        payload: l1_transfer(Address([0x11; 20]), 12_345_678_901_234_567_890),
    };
    let signed = tx.clone().sign(&k);
    let header = Header {
        chain_id: CHAIN,
        height: 5,
        parent: hash(&[b"parent"]),
        timestamp_ms: 1_700_000_000_000,
        round: ConsensusRound {
            epoch: 1,
            view: 9,
            parent_view: 7,
        },
        proposer: key(0x22).public_key(),
        tx_root: hash(&[b"tx"]),
        receipts_root: hash(&[b"receipts"]),
        state_root: hash(&[b"state"]),
        state_log: StateLog {
            root: hash(&[b"log"]),
            start: 3,
            end: 17,
        },
        base_fee: 875_000_000,
        gas_used: 123_456,
    };
    let block = Block {
        header: header.clone(),
        transactions: vec![signed.encode()],
    };
    let digest = |b: &[u8]| to_hex(hash(&[b]).as_ref());
    assert_eq!(
        to_hex(&tx.encode()),
        "01b90a0780a8d6b907c0843db0ea01001111111111111111111111111111111111111111d295fcd8ceb1aaaaab01"
    );
    assert_eq!(signed.encode().len(), 46 + 96);
    assert_eq!(digest(&signed.encode()), PINNED_SIGNED_TX);
    assert_eq!(digest(&header.encode()), PINNED_HEADER);
    assert_eq!(digest(&block.encode()), PINNED_BLOCK);
    assert_eq!(
        Block::decode_bounded(&block.encode(), &ChainParams::default()).unwrap(),
        block
    );
}

const PINNED_SIGNED_TX: &str = "f1d67b387d3488a9d2bcbacac839702adad6439e3890e71fd42b1659ae46a72e";
const PINNED_HEADER: &str = "4f5c160f08c6d092e10140e67deb2d304c0d15ce2c8faf4033523085f3ed07ba";
const PINNED_BLOCK: &str = "397c105a8ead7b342e7edebe91b02c9cab7fd7b900ec7b5107580f4a9575eedb";

#[test]
fn a_header_must_follow_its_parent_and_commit_to_its_execution() {
    let mut c = Chain::new(2, 1);
    let log = StateLog {
        root: hash(&[b"l"]),
        start: 0,
        end: 1,
    };
    let parent = Header {
        chain_id: CHAIN,
        height: 0,
        parent: hash(&[b"genesis"]),
        timestamp_ms: 1_000,
        round: ConsensusRound::default(),
        proposer: key(10_000).public_key(),
        tx_root: hash(&[b"t"]),
        receipts_root: hash(&[b"r"]),
        state_root: hash(&[b"s"]),
        state_log: log,
        base_fee: c.base_fee,
        gas_used: c.params.block_gas_limit,
    };
    let out = c
        .block(vec![c.tx(&key(0), l1_transfer(addr(&key(1)), 1))])
        .unwrap();
    let child = Header {
        chain_id: CHAIN,
        height: 1,
        parent: parent.hash(),
        timestamp_ms: 1_000 + c.params.block_time_ms,
        round: ConsensusRound {
            epoch: 0,
            view: 1,
            parent_view: 0,
        },
        proposer: key(10_000).public_key(),
        tx_root: out.tx_root,
        receipts_root: out.receipts_root,
        state_root: hash(&[b"s1"]),
        state_log: log,
        // A full parent raises the base fee by 1/8.
        base_fee: parent.base_fee + parent.base_fee / 8,
        gas_used: out.gas_used,
    };
    assert_eq!(child.check_child_of(&parent, &c.params), Ok(()));
    assert_eq!(child.check_output(&out), Ok(()));
    let bad = |f: &dyn Fn(&mut Header)| {
        let mut h = child.clone();
        f(&mut h);
        h
    };
    assert!(matches!(
        bad(&|h| h.base_fee += 1).check_child_of(&parent, &c.params),
        Err(BlockError::WrongBaseFee { .. })
    ));
    for (field, h) in [
        ("height", bad(&|h| h.height = 5)),
        ("parent", bad(&|h| h.parent = hash(&[b"x"]))),
        ("timestamp_ms", bad(&|h| h.timestamp_ms = 1_001)),
        ("chain_id", bad(&|h| h.chain_id = ChainId(1))),
    ] {
        let err = h.check_child_of(&parent, &c.params).unwrap_err();
        assert!(
            matches!(err, BlockError::HeaderMismatch { field: f, .. } if f == field),
            "{err}"
        );
    }
    for (field, h) in [
        ("tx_root", bad(&|h| h.tx_root = hash(&[b"x"]))),
        ("receipts_root", bad(&|h| h.receipts_root = hash(&[b"x"]))),
        ("gas_used", bad(&|h| h.gas_used += 1)),
    ] {
        let err = h.check_output(&out).unwrap_err();
        assert!(
            matches!(err, BlockError::HeaderMismatch { field: f, .. } if f == field),
            "{err}"
        );
    }
}
