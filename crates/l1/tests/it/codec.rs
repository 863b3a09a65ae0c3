//! Property tests of the transaction and block encodings: every value
//! round-trips, the encoding is canonical, and no byte string panics the
//! decoders.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use bytes::Bytes;
use commonware_codec::Encode as _;
use proptest::prelude::*;
use terrace_l1::{
    ChainParams, Payload, SignedTransaction, Transaction,
    block::{Block, ConsensusRound, Header, StateLog},
    modules::channels::{ChannelOp, ChannelState, Htlc, Side, SignedState},
    modules::optimistic::{OptimisticKey, OptimisticRecord},
    modules::staking::{StakingKey, StakingOp, StakingRecord, UnbondingEntry, Validator},
    state::{Account, Key, Value},
};
use terrace_primitives::{
    Address, Amount, ChainId, codec::decode_bounded, hash, keys::Signer as _,
    keys::private_key_from_seed,
};

fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        (any::<[u8; 20]>(), any::<u128>()).prop_map(|(to, a)| Payload::Transfer {
            to: Address(to),
            amount: Amount(a)
        }),
        any::<u128>().prop_map(|a| Payload::Staking(StakingOp::Stake { amount: Amount(a) })),
        any::<u128>().prop_map(|a| Payload::Staking(StakingOp::Unstake { amount: Amount(a) })),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|e| Payload::Staking(
            StakingOp::Slash {
                evidence: Bytes::from(e)
            }
        )),
        any::<[u8; 32]>()
            .prop_map(|preimage| Payload::Channels(ChannelOp::RegisterPreimage { preimage })),
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            proptest::option::of(any::<[u8; 32]>())
        )
            .prop_map(
                |(c, htlc, preimage)| Payload::Channels(ChannelOp::ClaimHtlc {
                    channel: c.into(),
                    htlc,
                    preimage,
                })
            ),
        channel_close(),
    ]
}

/// A unilateral close with up to four HTLCs, signed by real keys.
fn channel_close() -> impl Strategy<Value = Payload> {
    let htlc = (
        any::<u64>(),
        any::<bool>(),
        any::<u128>(),
        any::<[u8; 32]>(),
        any::<u64>(),
    )
        .prop_map(|(id, a, amount, h, expiry)| Htlc {
            id,
            offerer: if a { Side::A } else { Side::B },
            amount: Amount(amount),
            payment_hash: h.into(),
            expiry,
        });
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<u128>(),
        any::<u128>(),
        proptest::collection::vec(htlc, 0..4),
        any::<[u8; 32]>(),
    )
        .prop_map(|(channel, version, a, b, htlcs, seed)| {
            let state = ChannelState {
                channel: channel.into(),
                version,
                balance_a: Amount(a),
                balance_b: Amount(b),
                htlcs,
            };
            let key = private_key_from_seed(seed);
            Payload::Channels(ChannelOp::Close(Box::new(SignedState {
                sig_a: state.sign(&key),
                sig_b: state.sign(&key),
                state,
            })))
        })
}

fn transaction() -> impl Strategy<Value = Transaction> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        payload(),
    )
        .prop_map(|(chain, nonce, fee, tip, gas, payload)| Transaction {
            chain_id: ChainId(chain),
            nonce,
            max_fee_per_gas: fee,
            max_priority_fee_per_gas: tip,
            gas_limit: gas,
            payload,
        })
}

proptest! {
    #[test]
    fn signed_transactions_roundtrip_canonically(tx in transaction(), seed in any::<[u8; 32]>()) {
        let signed = tx.sign(&private_key_from_seed(seed));
        let bytes = signed.encode();
        let decoded = SignedTransaction::decode_bounded(&bytes, &ChainParams::default()).unwrap();
        prop_assert_eq!(&decoded, &signed);
        prop_assert_eq!(decoded.encode(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let params = ChainParams::default();
        if let Ok(tx) = SignedTransaction::decode_bounded(&bytes, &params) {
            prop_assert_eq!(tx.encode().to_vec(), bytes.clone());
        }
        if let Ok(block) = Block::decode_bounded(&bytes, &params) {
            prop_assert_eq!(block.encode().to_vec(), bytes.clone());
        }
        let _ = decode_bounded::<Key>(&bytes, 64, &());
        let _ = decode_bounded::<Value>(&bytes, 4096, &());
    }

    #[test]
    fn a_flipped_bit_never_decodes_to_the_same_transaction(tx in transaction(), bit in any::<usize>()) {
        let signed = tx.sign(&private_key_from_seed([3; 32]));
        let mut bytes = signed.encode().to_vec();
        let i = bit % (bytes.len() * 8);
        bytes[i / 8] ^= 1 << (i % 8);
        if let Ok(other) = SignedTransaction::decode_bounded(&bytes, &ChainParams::default()) {
            prop_assert_ne!(other, signed);
        }
    }

    #[test]
    fn state_records_roundtrip(balance in any::<u128>(), nonce in any::<u64>(), h in any::<u64>(), a in any::<[u8; 20]>()) {
        let key = private_key_from_seed([9; 32]);
        let values = [
            Value::Account(Account { balance: Amount(balance), nonce }),
            Value::Staking(StakingRecord::Validator(Box::new(Validator {
                public_key: key.public_key(),
                stake: Amount(balance),
                unbonding: vec![UnbondingEntry { release_height: h, amount: Amount(balance / 3) }],
                jailed: nonce % 2 == 0,
            }))),
            Value::Staking(StakingRecord::Unbonding(vec![Address(a)])),
            Value::Staking(StakingRecord::Slashed(h)),
            Value::Optimistic(OptimisticRecord::RollupCount(h)),
            Value::Optimistic(OptimisticRecord::Claimed(nonce)),
        ];
        for v in values {
            prop_assert_eq!(decode_bounded::<Value>(&v.encode(), 4096, &()).unwrap(), v);
        }
        let keys = [
            Key::Account(Address(a)),
            Key::Totals,
            StakingKey::Validator(Address(a)).into(),
            StakingKey::Unbonding(h).into(),
            StakingKey::Slashed(hash(&[&a])).into(),
            OptimisticKey::Bond(h, Address(a)).into(),
            OptimisticKey::Claim(h, nonce).into(),
        ];
        for k in keys {
            prop_assert_eq!(decode_bounded::<Key>(&k.encode(), 64, &()).unwrap(), k);
        }
    }
}

#[test]
fn unbonding_keys_order_by_height_in_the_store() {
    // Big-endian heights: byte order equals numeric order.
    let a = Key::from(StakingKey::Unbonding(255)).encode();
    let b = Key::from(StakingKey::Unbonding(256)).encode();
    assert!(a < b);
}

#[test]
fn a_block_with_too_many_transactions_is_refused_before_decoding_them() {
    let params = ChainParams {
        block_bytes_max: 1_000,
        ..ChainParams::default()
    };
    let header = Header {
        chain_id: ChainId(1),
        height: 1,
        parent: hash(&[b"p"]),
        timestamp_ms: 0,
        round: ConsensusRound::default(),
        proposer: private_key_from_seed([0; 32]).public_key(),
        tx_root: hash(&[b"t"]),
        receipts_root: hash(&[b"r"]),
        state_root: hash(&[b"s"]),
        state_log: StateLog {
            root: hash(&[b"l"]),
            start: 0,
            end: 1,
        },
        base_fee: 1,
        gas_used: 0,
    };
    let block = Block {
        header,
        transactions: vec![Bytes::from_static(&[1u8]); 11],
    };
    assert!(
        Block::decode_bounded(&block.encode(), &params).is_err(),
        "1000 bytes allow at most 10 transactions"
    );
}
