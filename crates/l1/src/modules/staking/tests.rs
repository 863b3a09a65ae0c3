//! Staking end to end on the in-memory chain: stake, unstake and release,
//! slashing once and jailing, committees turning over at epoch ends, and
//! evidence that expires or is forged.

#![allow(clippy::unwrap_used)] // tests fail loudly on purpose

use super::*;
use crate::{
    Payload,
    testing::{Chain, ETHER, addr, key, l1_transfer},
};
use terrace_primitives::{Amount, hash, keys::Signer as _};

#[test]
fn stake_unstake_and_release_after_the_unbonding_delay() {
    let mut c = Chain::new(2, 1);
    c.params.modules.staking.unbonding_delay_blocks = 3;
    let v = key(0);
    c.block(vec![c.tx(
        &v,
        Payload::Staking(StakingOp::Stake {
            amount: Amount(50 * ETHER),
        }),
    )])
    .unwrap();
    assert_eq!(c.state.validator(&addr(&v)).unwrap().stake.0, 50 * ETHER);
    let out = c
        .block(vec![c.tx(
            &v,
            Payload::Staking(StakingOp::Unstake {
                amount: Amount(20 * ETHER),
            }),
        )])
        .unwrap();
    assert!(out.receipts[0].success());
    let unstaked_at = c.height;
    let rec = c.state.validator(&addr(&v)).unwrap();
    assert_eq!(rec.stake.0, 30 * ETHER);
    assert_eq!(rec.unbonding[0].release_height, unstaked_at + 3);
    // Over-unstaking is included as a failure and still pays its fee.
    let out = c
        .block(vec![c.tx(
            &v,
            Payload::Staking(StakingOp::Unstake {
                amount: Amount(31 * ETHER),
            }),
        )])
        .unwrap();
    assert_eq!(
        out.receipts[0].failure,
        Some(Failure::Staking(StakingFailure::InsufficientStake))
    );
    assert_eq!(c.state.account(&addr(&v)).nonce, 3);
    let balance_before = c.state.account(&addr(&v)).balance;
    while c.height < unstaked_at + 3 {
        c.block(vec![]).unwrap();
    }
    let rec = c.state.validator(&addr(&v)).unwrap();
    assert!(rec.unbonding.is_empty());
    assert_eq!(
        c.state.account(&addr(&v)).balance.0,
        balance_before.0 + 20 * ETHER
    );
    assert!(
        c.state
            .get(&StakingKey::Unbonding(unstaked_at + 3).into())
            .is_none(),
        "queue record is deleted once served"
    );
    // Unstaking from an account that never staked fails.
    let out = c
        .block(vec![c.tx(
            &key(1),
            Payload::Staking(StakingOp::Unstake { amount: Amount(1) }),
        )])
        .unwrap();
    assert_eq!(
        out.receipts[0].failure,
        Some(Failure::Staking(StakingFailure::NotAValidator))
    );
}

#[test]
fn equivocation_is_slashed_once_and_jails_the_offender() {
    let mut c = Chain::new(2, 2);
    let offender = key(10_001);
    let reporter = key(0);
    let ev = DoubleVote::sign(&offender, 9, hash(&[b"x"]), hash(&[b"y"]));
    let stake = c.state.validator(&addr(&offender)).unwrap().stake;
    let before = c.state.account(&addr(&reporter)).balance;
    let burned_before = c.state.totals().burned;
    let out = c
        .block(vec![c.tx(
            &reporter,
            Payload::Staking(StakingOp::Slash {
                evidence: ev.to_bytes(),
            }),
        )])
        .unwrap();
    let r = &out.receipts[0];
    assert!(r.success(), "{:?}", r.failure);
    let slashed = stake.0 * c.params.modules.staking.slash_fraction_bps as u128 / 10_000;
    let reward = slashed * c.params.modules.staking.slash_reporter_reward_bps as u128 / 10_000;
    let rec = c.state.validator(&addr(&offender)).unwrap();
    assert!(rec.jailed);
    assert_eq!(rec.stake.0, stake.0 - slashed);
    let fee = r.gas_used as u128 * r.effective_gas_price as u128;
    assert_eq!(
        c.state.account(&addr(&reporter)).balance.0,
        before.0 - fee + reward
    );
    let base_burn = r.gas_used as u128 * (r.effective_gas_price as u128 - 1_000);
    assert_eq!(
        c.state.totals().burned.0,
        burned_before.0 + base_burn + slashed - reward
    );
    // The same offense again (other blocks, same view) is refused.
    let ev2 = DoubleVote::sign(&offender, 9, hash(&[b"z"]), hash(&[b"w"]));
    let out = c
        .block(vec![c.tx(
            &reporter,
            Payload::Staking(StakingOp::Slash {
                evidence: ev2.to_bytes(),
            }),
        )])
        .unwrap();
    assert_eq!(
        out.receipts[0].failure,
        Some(Failure::Staking(StakingFailure::AlreadySlashed))
    );
    // A jailed validator cannot stake again.
    let mut c2 = c;
    let fund = c2.tx(&reporter, l1_transfer(addr(&offender), 10 * ETHER));
    c2.block(vec![fund]).unwrap();
    let out = c2
        .block(vec![c2.tx(
            &offender,
            Payload::Staking(StakingOp::Stake {
                amount: Amount(ETHER),
            }),
        )])
        .unwrap();
    assert_eq!(
        out.receipts[0].failure,
        Some(Failure::Staking(StakingFailure::Jailed))
    );
}

#[test]
fn committees_turn_over_at_epoch_ends_and_evidence_expires() {
    let mut c = Chain::new(2, 3);
    c.params.epoch_length_blocks = 4;
    c.params.committee_size_max = 3;
    let sorted = |mut v: Vec<terrace_primitives::PublicKey>| {
        v.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        v
    };
    let validator = |i: u32| key(10_000 + i).public_key();
    assert_eq!(
        c.state.committee(0),
        Some(sorted((0..3).map(validator).collect())),
        "genesis records epoch 0's committee"
    );
    // Block 1: account 0 stakes more than any validator; validator 1 is
    // slashed for an equivocation in epoch 0.
    let stake = c.tx(
        &key(0),
        Payload::Staking(StakingOp::Stake {
            amount: Amount(500 * ETHER),
        }),
    );
    let ev = DoubleVote::sign_in(&key(10_001), 0, 2, hash(&[b"a"]), hash(&[b"b"]));
    let slash = c.tx_nonce(
        &key(0),
        1,
        Payload::Staking(StakingOp::Slash {
            evidence: ev.to_bytes(),
        }),
    );
    let out = c.block(vec![stake, slash]).unwrap();
    assert!(out.receipts.iter().all(|r| r.success()));
    assert_eq!(c.state.validators().len(), 4, "the new staker is indexed");
    // Block 3 is epoch 0's last: it fixes epoch 1's committee. The jailed
    // validator is out; the new staker is in, and the committee is capped.
    while c.height < 2 {
        c.block(vec![]).unwrap();
    }
    assert_eq!(c.state.committee(1), None, "not before the epoch's end");
    c.block(vec![]).unwrap();
    assert_eq!(
        c.state.committee(1),
        Some(sorted(vec![
            key(0).public_key(),
            validator(0),
            validator(2)
        ]))
    );
    assert!(
        c.state.committee(0).is_some(),
        "kept while its evidence counts"
    );
    // Through epoch 1's end: epoch 0's committee is forgotten.
    while c.height < 7 {
        c.block(vec![]).unwrap();
    }
    assert!(c.state.committee(0).is_none());
    assert!(c.state.committee(2).is_some());
    // In epoch 2, evidence from epoch 0 has expired; from epoch 1 it names
    // a committee member or nobody.
    let old = DoubleVote::sign_in(&key(10_002), 0, 5, hash(&[b"a"]), hash(&[b"b"]));
    let outsider = DoubleVote::sign_in(&key(10_001), 1, 5, hash(&[b"a"]), hash(&[b"b"]));
    let future = DoubleVote::sign_in(&key(10_002), 3, 5, hash(&[b"a"]), hash(&[b"b"]));
    let stake_before = c.state.validator(&addr(&key(10_002))).unwrap().stake;
    let txs = [old, outsider, future]
        .iter()
        .enumerate()
        .map(|(i, ev)| {
            c.tx_nonce(
                &key(1),
                i as u64,
                Payload::Staking(StakingOp::Slash {
                    evidence: ev.to_bytes(),
                }),
            )
        })
        .collect();
    let out = c.block(txs).unwrap();
    let failures: Vec<_> = out.receipts.iter().map(|r| r.failure).collect();
    assert_eq!(
        failures,
        vec![
            Some(Failure::Staking(StakingFailure::EvidenceExpired)),
            Some(Failure::Staking(StakingFailure::InvalidEvidence)),
            Some(Failure::Staking(StakingFailure::EvidenceExpired))
        ]
    );
    assert_eq!(
        c.state.validator(&addr(&key(10_002))).unwrap().stake,
        stake_before
    );
}

#[test]
fn forged_evidence_pays_its_fee_and_slashes_nobody() {
    let mut c = Chain::new(1, 1);
    let victim = key(10_000);
    let mut ev = DoubleVote::sign(&victim, 1, hash(&[b"a"]), hash(&[b"b"]));
    ev.signature_b = key(5).sign(VOTE_NAMESPACE, b"whatever");
    let stake = c.state.validator(&addr(&victim)).unwrap().stake;
    let out = c
        .block(vec![c.tx(
            &key(0),
            Payload::Staking(StakingOp::Slash {
                evidence: ev.to_bytes(),
            }),
        )])
        .unwrap();
    assert_eq!(
        out.receipts[0].failure,
        Some(Failure::Staking(StakingFailure::InvalidEvidence))
    );
    assert_eq!(c.state.validator(&addr(&victim)).unwrap().stake, stake);
}

#[test]
fn unbonding_stake_stays_slashable() {
    let mut c = Chain::new(1, 1);
    let v = key(10_000);
    let fund = c.tx(&key(0), l1_transfer(addr(&v), 10 * ETHER));
    c.block(vec![fund]).unwrap();
    c.block(vec![c.tx(
        &v,
        Payload::Staking(StakingOp::Unstake {
            amount: Amount(100 * ETHER),
        }),
    )])
    .unwrap();
    let ev = DoubleVote::sign(&v, 3, hash(&[b"a"]), hash(&[b"b"]));
    c.block(vec![c.tx(
        &key(0),
        Payload::Staking(StakingOp::Slash {
            evidence: ev.to_bytes(),
        }),
    )])
    .unwrap();
    let rec = c.state.validator(&addr(&v)).unwrap();
    assert_eq!(rec.unbonding[0].amount.0, 90 * ETHER);
}
