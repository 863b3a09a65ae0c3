//! Pool rules: ordering, replacement, gaps, limits, eviction,
//! re-validation and block building.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use commonware_codec::Encode as _;
use terrace_l1::{
    BlockEnv, BlockExecutor, ChainParams, MemoryState, Payload, StateReader, Transaction, TxError,
    genesis::{Genesis, GenesisAccount},
    modules::staking::DoubleVoteVerifier,
    tx::{CheckedTransaction, check},
};
use terrace_mempool::{Inserted, Mempool, PoolConfig, Rejection};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, keys::Signer as _, keys::private_key_from_seed,
};

const CHAIN: ChainId = ChainId(7);
const BASE_FEE: u64 = 1_000;

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

fn addr(i: u8) -> Address {
    Address::from_public_key(&key(i).public_key())
}

fn setup(n: u8, balance: u128) -> (MemoryState, ChainParams) {
    let genesis = Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params: ChainParams {
            initial_base_fee: BASE_FEE,
            ..ChainParams::default()
        },
        accounts: (0..n)
            .map(|i| GenesisAccount {
                address: addr(i),
                balance: Amount(balance),
            })
            .collect(),
        validators: vec![],
    };
    (genesis.state().unwrap(), genesis.params)
}

fn tx(from: u8, nonce: u64, fee_cap: u64, tip: u64) -> CheckedTransaction {
    let signed = Transaction {
        chain_id: CHAIN,
        nonce,
        max_fee_per_gas: fee_cap,
        max_priority_fee_per_gas: tip,
        gas_limit: 30_000,
        payload: Payload::Transfer {
            to: addr(200),
            amount: Amount(1),
        },
    }
    .sign(&key(from));
    check(signed, CHAIN, &ChainParams::default()).unwrap()
}

fn env(height: u64) -> BlockEnv {
    BlockEnv {
        chain_id: CHAIN,
        height,
        proposer: addr(250),
        base_fee: BASE_FEE,
    }
}

fn build(pool: &Mempool, state: &MemoryState, params: &ChainParams) -> Vec<(Address, u64)> {
    let mut ex = BlockExecutor::new(state, params, env(1), &DoubleVoteVerifier);
    pool.build(&mut ex)
        .iter()
        .map(|t| (t.sender(), t.tx().nonce))
        .collect()
}

#[test]
fn builds_by_effective_tip_across_senders_and_by_nonce_within_one() {
    let (state, params) = setup(3, 10u128.pow(20));
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    // Sender 0 tips little then a lot; sender 1 tips in between; sender 2's
    // high tip is capped by its fee cap (effective tip = 1_500 − 1_000).
    for t in [
        tx(0, 0, 5_000, 10),
        tx(0, 1, 5_000, 900),
        tx(1, 0, 5_000, 100),
        tx(2, 0, 1_500, 1_200),
    ] {
        assert_eq!(pool.insert(t, &state), Ok(Inserted::Added));
    }
    let order = build(&pool, &state, &params);
    assert_eq!(
        order,
        vec![(addr(2), 0), (addr(1), 0), (addr(0), 0), (addr(0), 1)]
    );
}

#[test]
fn replacement_needs_a_ten_percent_bump_on_both_caps() {
    let (state, _) = setup(1, 10u128.pow(20));
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    let first = tx(0, 0, 2_000, 100);
    let first_hash = first.hash();
    pool.insert(first, &state).unwrap();
    assert_eq!(
        pool.insert(tx(0, 0, 2_199, 110), &state),
        Err(Rejection::ReplacementUnderpriced {
            min_fee_cap: 2_200,
            min_tip: 110
        })
    );
    assert!(matches!(
        pool.insert(tx(0, 0, 2_200, 109), &state),
        Err(Rejection::ReplacementUnderpriced { .. })
    ));
    assert_eq!(
        pool.insert(tx(0, 0, 2_200, 110), &state),
        Ok(Inserted::Replaced(first_hash))
    );
    assert_eq!(pool.len(), 1);
    assert!(!pool.contains(&first_hash));
}

#[test]
fn a_nonce_gap_holds_later_transactions_back_until_it_fills() {
    let (state, params) = setup(1, 10u128.pow(20));
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    pool.insert(tx(0, 1, 2_000, 10), &state).unwrap();
    pool.insert(tx(0, 2, 2_000, 10), &state).unwrap();
    assert!(
        build(&pool, &state, &params).is_empty(),
        "nonce 0 missing: nothing is ready"
    );
    pool.insert(tx(0, 0, 2_000, 10), &state).unwrap();
    assert_eq!(build(&pool, &state, &params).len(), 3);
    let err = pool.insert(tx(0, 100, 2_000, 10), &state).unwrap_err();
    assert_eq!(
        err,
        Rejection::NonceGapTooLarge {
            next: 0,
            got: 100,
            max_gap: 64
        }
    );
}

#[test]
fn typed_rejections_for_bad_transactions() {
    let (mut state, _) = setup(2, 10u128.pow(20));
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    let t = tx(0, 0, 2_000, 10);
    pool.insert(t.clone(), &state).unwrap();
    assert_eq!(
        pool.insert(t.clone(), &state),
        Err(Rejection::AlreadyKnown(t.hash()))
    );
    assert!(matches!(
        pool.insert(tx(1, 0, 999, 0), &state),
        Err(Rejection::Invalid(TxError::FeeCapBelowBaseFee {
            fee_cap: 999,
            base_fee: BASE_FEE
        }))
    ));
    assert!(matches!(
        pool.insert(tx(9, 0, 2_000, 10), &state),
        Err(Rejection::Invalid(TxError::InsufficientBalance { .. }))
    ));
    // Sender 1 has already used nonce 0.
    let mut acct = state.account(&addr(1));
    acct.nonce = 1;
    let mut w = terrace_l1::state::Writes::new();
    w.insert(
        terrace_l1::Key::Account(addr(1)),
        Some(terrace_l1::Value::Account(acct)),
    );
    state.apply(&w);
    assert!(matches!(
        pool.insert(tx(1, 0, 2_000, 10), &state),
        Err(Rejection::Invalid(TxError::NonceTooLow {
            expected: 1,
            got: 0
        }))
    ));
    for e in [
        Rejection::AlreadyKnown(t.hash()),
        Rejection::PoolFull { min_tip: 3 },
        Rejection::SenderFull { limit: 2 },
    ] {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn limits_per_sender_and_in_total_evict_the_cheapest() {
    let (state, _) = setup(10, 10u128.pow(20));
    let config = PoolConfig {
        max_txs: 4,
        max_per_sender: 2,
        ..PoolConfig::default()
    };
    let mut pool = Mempool::new(config, BASE_FEE);
    pool.insert(tx(0, 0, 5_000, 50), &state).unwrap();
    pool.insert(tx(0, 1, 5_000, 5), &state).unwrap();
    assert_eq!(
        pool.insert(tx(0, 2, 5_000, 500), &state),
        Err(Rejection::SenderFull { limit: 2 })
    );
    pool.insert(tx(1, 0, 5_000, 20), &state).unwrap();
    pool.insert(tx(2, 0, 5_000, 30), &state).unwrap();
    // Full: a newcomer tipping no more than the cheapest (5) is refused.
    assert_eq!(
        pool.insert(tx(3, 0, 5_000, 5), &state),
        Err(Rejection::PoolFull { min_tip: 5 })
    );
    // One tipping more evicts the cheapest (sender 0, nonce 1).
    let cheap = tx(0, 1, 5_000, 5).hash();
    assert_eq!(
        pool.insert(tx(3, 0, 5_000, 40), &state),
        Ok(Inserted::Added)
    );
    assert_eq!(pool.len(), 4);
    assert!(!pool.contains(&cheap));
}

#[test]
fn evicting_a_transaction_also_drops_its_senders_later_nonces() {
    let (state, _) = setup(10, 10u128.pow(20));
    let config = PoolConfig {
        max_txs: 3,
        ..PoolConfig::default()
    };
    let mut pool = Mempool::new(config, BASE_FEE);
    pool.insert(tx(0, 0, 5_000, 1), &state).unwrap();
    pool.insert(tx(0, 1, 5_000, 100), &state).unwrap();
    pool.insert(tx(1, 0, 5_000, 50), &state).unwrap();
    pool.insert(tx(2, 0, 5_000, 60), &state).unwrap();
    assert_eq!(
        pool.len(),
        2,
        "sender 0's nonce 1 cannot be mined without nonce 0"
    );
}

#[test]
fn after_a_block_mined_and_unpayable_transactions_are_dropped() {
    let (state, params) = setup(2, 10u128.pow(20));
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    for n in 0..3 {
        pool.insert(tx(0, n, 2_000, 10), &state).unwrap();
    }
    pool.insert(tx(1, 0, 2_000, 10), &state).unwrap();
    // Mine sender 0's first two.
    let mut ex = BlockExecutor::new(&state, &params, env(1), &DoubleVoteVerifier);
    for n in 0..2 {
        ex.apply(&tx(0, n, 2_000, 10)).unwrap();
    }
    let out = ex.finish().unwrap();
    let mut next = state.clone();
    next.apply(&out.writes);
    // Drain sender 1's balance outside the pool's view.
    let mut drained = next.account(&addr(1));
    drained.balance = Amount(1);
    let mut w = terrace_l1::state::Writes::new();
    w.insert(
        terrace_l1::Key::Account(addr(1)),
        Some(terrace_l1::Value::Account(drained)),
    );
    next.apply(&w);
    pool.on_block(&next, out.next_base_fee);
    assert_eq!(pool.len(), 1);
    assert!(pool.contains(&tx(0, 2, 2_000, 10).hash()));
    assert_eq!(pool.base_fee(), out.next_base_fee);
    let _ = params;
}

#[test]
fn a_built_block_stays_under_the_gas_and_byte_limits() {
    let (state, mut params) = setup(50, 10u128.pow(20));
    let one = tx(0, 0, 2_000, 10);
    let per_tx_bytes = one.signed().encode().len() as u64;
    params.block_bytes_max = per_tx_bytes * 7 + 3;
    params.tx_bytes_max = params.block_bytes_max;
    let mut pool = Mempool::new(PoolConfig::default(), BASE_FEE);
    for s in 0..50 {
        pool.insert(tx(s, 0, 2_000, 10 + s as u64), &state).unwrap();
    }
    let built = build(&pool, &state, &params);
    assert_eq!(built.len(), 7);
    // The seven best tippers: senders 49 down to 43.
    assert_eq!(built[0], (addr(49), 0));
    params.block_bytes_max = 1 << 20;
    params.block_gas_limit = 30_000 * 5;
    params.block_gas_target = 30_000;
    assert_eq!(
        build(&pool, &state, &params).len(),
        5 + (30_000 * 5 - 5 * one.intrinsic_gas()) as usize / 30_000
    );
}

/// Random inserts, blocks and re-validations keep the pool's promises:
/// bounded, no mined nonce survives a block, every built block executes,
/// and each sender's transactions leave in nonce order.
#[test]
fn random_operations_keep_the_pool_consistent() {
    let (mut state, params) = setup(8, 10u128.pow(19));
    let config = PoolConfig {
        max_txs: 40,
        max_per_sender: 8,
        max_nonce_gap: 6,
        replacement_bump_pct: 10,
    };
    let mut pool = Mempool::new(config.clone(), BASE_FEE);
    let mut seed = 0x5eed_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut mined = 0;
    for height in 1..=60u64 {
        for _ in 0..(next() % 25) {
            let from = (next() % 8) as u8;
            let nonce = state.account(&addr(from)).nonce + next() % 8;
            let fee_cap = BASE_FEE + next() % 3_000;
            let tip = next() % (fee_cap - BASE_FEE + 1);
            let _ = pool.insert(tx(from, nonce, fee_cap, tip), &state);
            assert!(pool.len() <= config.max_txs);
        }
        let env = BlockEnv {
            chain_id: CHAIN,
            height,
            proposer: addr(250),
            base_fee: pool.base_fee(),
        };
        let mut ex = BlockExecutor::new(&state, &params, env, &DoubleVoteVerifier);
        let built = pool.build(&mut ex);
        mined += built.len();
        let mut last_nonce: std::collections::BTreeMap<Address, u64> = Default::default();
        for t in &built {
            if let Some(prev) = last_nonce.insert(t.sender(), t.tx().nonce) {
                assert_eq!(t.tx().nonce, prev + 1, "nonce order within a sender");
            }
        }
        let out = ex.finish().unwrap();
        state.apply(&out.writes);
        pool.on_block(&state, out.next_base_fee);
        for t in &built {
            assert!(
                !pool.contains(&t.hash()),
                "a mined transaction stayed in the pool"
            );
        }
    }
    assert!(mined > 100, "the pool mined only {mined} transactions");
}
