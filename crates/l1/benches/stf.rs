//! Criterion benchmarks of the L1 state-transition function: decoding and
//! field checks, batched signature verification, block execution, and the
//! whole pipeline, on a block of 2,000 signed transfers among 20,000
//! accounts; and one validium committee member's signature check. `terrace bench stf` runs the full-size figure (10,000-transfer
//! blocks, 100,000 accounts).

#![allow(clippy::unwrap_used)] // benchmark set-up fails loudly on purpose

use bytes::Bytes;
use commonware_codec::Encode as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use terrace_l1::{
    BlockEnv, ChainParams, MemoryState, Payload, Transaction,
    execute::{check_transaction_fields, execute_block, verify_and_execute},
    modules::staking::DoubleVoteVerifier,
    state::{Account, Key, Totals, Value, Writes},
    tx::check_signatures,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, hash_tagged,
    keys::{KeyCache, Signer as _, private_key_from_seed},
    par::Threads,
};

const ACCOUNTS: u64 = 20_000;
const SENDERS: u64 = 2_000;
const BLOCK_TXS: u64 = 2_000;
const CHAIN: ChainId = ChainId(5);

fn key(i: u64) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"bench", &[&i.to_le_bytes()]).0)
}

struct Fixture {
    params: ChainParams,
    state: MemoryState,
    raw: Vec<Bytes>,
    env: BlockEnv,
}

fn fixture() -> Fixture {
    let params = ChainParams::default();
    let senders: Vec<PrivateKey> = (0..SENDERS).map(key).collect();
    let mut writes = Writes::new();
    let balance = Amount(10u128.pow(24));
    for i in 0..ACCOUNTS {
        let address = if i < SENDERS {
            Address::from_public_key(&senders[i as usize].public_key())
        } else {
            let mut a = [0u8; 20];
            a[..8].copy_from_slice(&i.to_le_bytes());
            Address(a)
        };
        writes.insert(
            Key::Account(address),
            Some(Value::Account(Account { balance, nonce: 0 })),
        );
    }
    writes.insert(
        Key::Totals,
        Some(Value::Totals(Totals {
            minted: balance.checked_mul(ACCOUNTS as u128).unwrap(),
            burned: Amount::ZERO,
        })),
    );
    let mut state = MemoryState::new();
    state.apply(&writes);
    let raw = (0..BLOCK_TXS)
        .map(|i| {
            let mut to = [0u8; 20];
            to[..8].copy_from_slice(&((i * 7919) % ACCOUNTS).to_le_bytes());
            Transaction {
                chain_id: CHAIN,
                nonce: i / SENDERS,
                max_fee_per_gas: params.initial_base_fee * 2,
                max_priority_fee_per_gas: 1,
                gas_limit: 30_000,
                payload: Payload::Transfer {
                    to: Address(to),
                    amount: Amount(1),
                },
            }
            .sign(&senders[(i % SENDERS) as usize])
            .encode()
        })
        .collect();
    let env = BlockEnv {
        chain_id: CHAIN,
        height: 1,
        proposer: Address([1; 20]),
        base_fee: params.initial_base_fee,
    };
    Fixture {
        params,
        state,
        raw,
        env,
    }
}

fn bench_stf(c: &mut Criterion) {
    let f = fixture();
    let threads = Threads::available();
    let keys = KeyCache::default();
    let checked = check_transaction_fields(&f.raw, CHAIN, &f.params, &keys, threads).unwrap();

    let mut g = c.benchmark_group("l1_block_2000_transfers");
    g.throughput(Throughput::Elements(BLOCK_TXS));
    g.sample_size(20);
    g.bench_function("decode_and_field_checks_warm_key_cache", |b| {
        b.iter(|| check_transaction_fields(&f.raw, CHAIN, &f.params, &keys, threads).unwrap())
    });
    g.bench_function("decode_and_field_checks_cold_key_cache", |b| {
        b.iter(|| {
            check_transaction_fields(&f.raw, CHAIN, &f.params, &KeyCache::default(), threads)
                .unwrap()
        })
    });
    g.bench_function("ed25519_batch_verify", |b| {
        b.iter(|| check_signatures(&checked, threads).unwrap())
    });
    g.bench_function("execute", |b| {
        b.iter(|| {
            execute_block(
                &f.state,
                &f.params,
                f.env.clone(),
                &DoubleVoteVerifier,
                &checked,
            )
            .unwrap()
        })
    });
    g.bench_function("whole_pipeline_warm_key_cache", |b| {
        b.iter(|| {
            let checked =
                check_transaction_fields(&f.raw, CHAIN, &f.params, &keys, threads).unwrap();
            verify_and_execute(
                &checked,
                &f.state,
                &f.params,
                f.env.clone(),
                &DoubleVoteVerifier,
                threads,
            )
            .unwrap()
        })
    });
    g.finish();
}

/// One committee member's signature check, as the validity module runs it
/// per signature of a validium batch (priced as `member_signature`).
fn bench_member_signature(c: &mut Criterion) {
    use terrace_l1::modules::validity::{DAC_NAMESPACE, attestation_message};
    let member = key(7);
    let message = attestation_message(&[1; 32], 42, &[2; 32]);
    let signature = terrace_primitives::keys::sign(&member, DAC_NAMESPACE, &message);
    let public = member.public_key();
    c.bench_function("validium_member_signature_verify", |b| {
        b.iter(|| {
            terrace_primitives::keys::verify(&public, DAC_NAMESPACE, &message, &signature).unwrap()
        })
    });
}

criterion_group!(benches, bench_stf, bench_member_signature);
criterion_main!(benches);
