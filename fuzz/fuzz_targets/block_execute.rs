//! Fuzz bytes drive blocks of transactions (transfers, stakes, unstakes,
//! slashes, with any nonce, fee and amount) through the block executor over
//! several blocks. After every block: refused transactions changed nothing,
//! a replay gives the same output, and the supply invariant holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use terrace_l1::{
    BlockEnv, BlockExecutor, ChainParams, MemoryState, Payload, StateReader, Transaction,
    execute::{execute_block, output_digest},
    genesis::{Genesis, GenesisAccount, GenesisValidator},
    modules::staking::{DoubleVote, DoubleVoteVerifier},
    tx::check_fields,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, codec::to_hex, hash, keys::Signer as _, keys::private_key_from_seed,
};

const CHAIN: ChainId = ChainId(9);
const KEYS: u8 = 6;

struct Input<'a>(&'a [u8]);
impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u64(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | self.byte()? as u64;
        }
        Some(v)
    }
}

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i + 1; 32])
}

/// Keys, addresses and signed evidence, derived once: the fuzzer's time
/// goes to execution, not to curve arithmetic.
struct Fixture {
    keys: Vec<PrivateKey>,
    addresses: Vec<Address>,
    /// Valid double votes: [offender][view][variant].
    evidence: Vec<Vec<Vec<bytes::Bytes>>>,
    signature: terrace_primitives::Signature,
}

static FIXTURE: std::sync::LazyLock<Fixture> = std::sync::LazyLock::new(|| {
    let keys: Vec<PrivateKey> = (0..KEYS + 2).map(key).collect();
    let addresses = keys.iter().map(|k| Address::from_public_key(&k.public_key())).collect();
    let evidence = (0..2)
        .map(|o| {
            (0..3u64)
                .map(|view| {
                    (0..4u8)
                        .map(|v| DoubleVote::sign(&keys[(KEYS + o) as usize], view, hash(&[b"a"]), hash(&[&[v]])).to_bytes())
                        .collect()
                })
                .collect()
        })
        .collect();
    let signature = keys[0].sign(b"x", b"unchecked");
    Fixture { keys, addresses, evidence, signature }
});

fn addr(i: u8) -> Address {
    FIXTURE.addresses[i as usize]
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut params = ChainParams::default();
    params.unbonding_delay_blocks = 2;
    params.block_gas_limit = 2_000_000;
    params.block_gas_target = 1_000_000;
    let genesis = Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params: params.clone(),
        accounts: (0..KEYS).map(|i| GenesisAccount { address: addr(i), balance: Amount(10u128.pow(20)) }).collect(),
        validators: (0..2)
            .map(|i| GenesisValidator { public_key: to_hex(key(KEYS + i).public_key().as_ref()), stake: Amount(10u128.pow(21)) })
            .collect(),
    };
    let Ok(mut state) = genesis.state() else { return };
    let keys = &FIXTURE.keys;
    let mut base_fee = params.initial_base_fee;
    for height in 1..=4u64 {
        let env = BlockEnv { chain_id: CHAIN, height, proposer: addr(0), base_fee };
        let mut ex = BlockExecutor::new(&state, &params, env.clone(), &DoubleVoteVerifier);
        let mut included = Vec::new();
        let Some(count) = input.byte() else { break };
        for _ in 0..count % 16 {
            let (Some(who), Some(kind), Some(a), Some(b)) = (input.byte(), input.byte(), input.u64(), input.u64()) else {
                break;
            };
            let sender = &keys[(who % (KEYS + 2)) as usize];
            let amount = Amount(a as u128 * (1 + (b as u128 & 0xffff)));
            let payload = match kind % 5 {
                0 | 1 => Payload::Transfer { to: addr(kind / 5 % (KEYS + 2)), amount },
                2 => Payload::Stake { amount },
                3 => Payload::Unstake { amount },
                _ => {
                    let offender = (kind / 5 % 2) as usize;
                    let view = (b % 3) as usize;
                    let mut evidence = FIXTURE.evidence[offender][view][(kind / 10 % 4) as usize].to_vec();
                    // Sometimes corrupt it: forged evidence must slash nobody.
                    if a % 7 == 0 && !evidence.is_empty() {
                        let i = (a as usize / 7) % evidence.len();
                        evidence[i] ^= 1;
                    }
                    Payload::Slash { evidence: evidence.into() }
                }
            };
            let nonce = state.account(&Address::from_public_key(&sender.public_key())).nonce;
            let tx = Transaction {
                chain_id: CHAIN,
                nonce: nonce.wrapping_add((who >> 4) as u64 % 3),
                max_fee_per_gas: base_fee.saturating_add(b >> 40),
                max_priority_fee_per_gas: b >> 48,
                gas_limit: 20_000 + (a >> 44),
                payload,
            };
            // Execution does not depend on the signature: field checks only,
            // to fuzz faster.
            let signed = terrace_l1::SignedTransaction { signature: FIXTURE.signature.clone(), tx, public_key: sender.public_key() };
            let Ok(checked) = check_fields(signed, CHAIN, &params) else { continue };
            let before = ex.state().pending();
            match ex.apply(&checked) {
                Ok(_) => included.push(checked),
                Err(_) => assert_eq!(ex.state().pending(), before, "a refused transaction wrote state"),
            }
        }
        let Ok(out) = ex.finish() else { return };
        let replay = execute_block(&state, &params, env, &DoubleVoteVerifier, &included).expect("a proposed block replays");
        assert_eq!(output_digest(&out), output_digest(&replay));
        state.apply(&out.writes);
        base_fee = out.next_base_fee;
        let totals = state.totals();
        assert_eq!(totals.minted.checked_sub(totals.burned), state.circulating(), "supply invariant broken");
    }
    let _: &MemoryState = &state;
});
