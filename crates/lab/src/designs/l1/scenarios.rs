//! The L1 under attack: four validators over the WAN model, one of them
//! byzantine or crashed.

use crate::LabError;
use crate::scenario::{
    Outcome, Scenario, play,
    stage::{Role, Stage, TER},
};
use std::time::Duration;
use terrace_l1::{
    ChainParams, Key, Payload, StateReader as _,
    modules::staking::{StakingKey, StakingRecords as _, validator_key},
};
use terrace_node::client::sign_l1;
use terrace_node::engine::Behavior;
use terrace_primitives::{Amount, Hash};

/// Epochs of 8 blocks: a slashed validator leaves the committee within
/// seconds of virtual time.
const EPOCH_LENGTH: u64 = 8;
const LIMIT: Duration = Duration::from_secs(600);
const STAKE: u128 = TER;
/// Each transfer of the crash scenario: 1 nTER.
const AMOUNT: u128 = 1_000_000_000;

/// Validator 3 equivocates in every view.
pub fn equivocation(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let params = ChainParams {
            epoch_length_blocks: EPOCH_LENGTH,
            ..ChainParams::default()
        };
        let behaviors = vec![
            Behavior::Honest,
            Behavior::Honest,
            Behavior::Honest,
            Behavior::Conflicter,
        ];
        let mut s = Stage::start("equivocation", context, 4, params, behaviors).await?;
        let offender = s.validator_address(3);
        let validator = |records: &terrace_l1::MemoryState| records.validator(&offender);
        // The honest validators report the equivocation; a Slash lands.
        let mut jailed = None;
        let start = s.now();
        while jailed.is_none() {
            let records =
                s.l1.records(&[validator_key(offender)])
                    .await
                    .map_err(|e| s.fail(e))?;
            if let Some(r) = validator(&records).filter(|r| r.jailed) {
                jailed = Some((r.stake, s.height(), s.now()));
            } else if s.now() - start > LIMIT {
                return Err(s.fail("the equivocator was never slashed"));
            } else {
                s.idle(Duration::from_millis(200)).await?;
            }
        }
        let Some((stake_after, jailed_height, jailed_at)) = jailed else {
            return Err(s.fail("unreachable: loop ends jailed"));
        };
        // From the epoch after next the committee is the three others,
        // and they keep finalizing without it.
        let next_epoch = jailed_height / EPOCH_LENGTH + 1;
        let honest = s.honest();
        s.wait_height(&honest, (next_epoch + 1) * EPOCH_LENGTH + 2, LIMIT)
            .await?;
        let records =
            s.l1.records(&[StakingKey::Committee(next_epoch + 1).into()])
                .await
                .map_err(|e| s.fail(e))?;
        let committee = records.committee(next_epoch + 1).unwrap_or_default();
        let excluded = committee.len() == 3
            && !committee
                .iter()
                .any(|k| terrace_primitives::Address::from_public_key(k) == offender);
        let keys: Vec<Key> = (0..3)
            .map(|i| validator_key(s.validator_address(i)))
            .collect();
        let records = s.l1.records(&keys).await.map_err(|e| s.fail(e))?;
        let honest_stake: u128 = (0..3)
            .filter_map(|i| {
                records
                    .validator(&s.validator_address(i))
                    .map(|r| r.stake.0)
            })
            .sum();
        s.check_l1().await?;
        let slashed = STAKE.saturating_sub(stake_after.0);
        let mut o = Outcome {
            happened: format!(
                "the equivocation was reported and the offender jailed at height {jailed_height} with {:.0}% of its stake slashed; from epoch {} the committee is {} validators {}; the honest three finalized to height {} and agree on every block",
                slashed as f64 * 100.0 / STAKE as f64,
                next_epoch + 1,
                committee.len(),
                if excluded {
                    "without it"
                } else {
                    "STILL WITH it"
                },
                s.heights()[0],
            ),
            funds_lost: (3 * STAKE).saturating_sub(honest_stake),
            resolution: jailed_at,
            resolution_span: "network start → offender jailed",
            ..Outcome::default()
        };
        o.expect(slashed == STAKE / 10, "10% of the stake is slashed, once");
        o.expect(excluded, "the offender leaves the committee");
        o.expect(
            honest_stake == 3 * STAKE,
            "honest validators keep their stake",
        );
        Ok(o)
    })
}

/// Validator 3 is killed, misses blocks, and restarts from its storage.
pub fn validator_crash(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let mut s = Stage::start(
            "validator-crash",
            context,
            4,
            ChainParams::default(),
            Vec::new(),
        )
        .await?;
        let amount = AMOUNT;
        let bob = Role::Bob.address();
        let bob_before = s.l1_balance(bob).await?.0;
        // Eight transfers final on all four before the crash.
        let before: Vec<Hash> = submit(&s, 0..8).await?;
        let h0 = s.heights()[0] + 4;
        s.wait_height(&[0, 1, 2, 3], h0, LIMIT).await?;
        let final_before = final_count(&s, 3, &before).await;
        s.crash(3);
        let crashed_at = s.now();
        let crashed_height = s.heights()[3];
        let during: Vec<Hash> = submit(&s, 8..16).await?;
        let h1 = s.heights()[0] + 10;
        let live = s
            .until(Duration::from_secs(120), |s| {
                let h = s.heights();
                [0, 1, 2].iter().all(|&i| h[i] >= h1)
            })
            .await?;
        let missed = s.heights()[0].saturating_sub(crashed_height);
        s.restart(3).await?;
        let target = s.heights()[0] + 3;
        s.wait_height(&[0, 1, 2, 3], target, LIMIT).await?;
        let caught_up_at = s.now();
        let all: Vec<Hash> = before.iter().chain(&during).copied().collect();
        let final_on_3 = final_count(&s, 3, &all).await;
        let records = s.validators[3]
            .client()
            .records(&[Key::Account(bob)])
            .await
            .map_err(|e| s.fail(e))?;
        let credited = records.account(&bob).balance.0.saturating_sub(bob_before);
        s.check_l1().await?;
        let total = before.len() + during.len();
        let mut o = Outcome {
            happened: format!(
                "{final_before} of {} transfers final on it before the crash; the other three finalized {missed} blocks while it was down; restarted, it caught up to height {target} and finds {final_on_3} of {total} final, and all four agree on every block",
                before.len(),
            ),
            funds_lost: (amount * total as u128).saturating_sub(credited),
            resolution: caught_up_at - crashed_at,
            resolution_span: "crash → restarted and caught up",
            ..Outcome::default()
        };
        o.expect(live, "the others keep finalizing without it");
        o.expect(
            final_on_3 == total,
            "the restarted validator has every transfer final",
        );
        o.expect(
            credited == amount * total as u128,
            "every transfer credited",
        );
        Ok(o)
    })
}

/// How many of `hashes` validator `i` has final and successful.
async fn final_count(s: &Stage, i: usize, hashes: &[Hash]) -> usize {
    let chain = s.validators[i].chain.clone();
    let mut n = 0;
    for h in hashes {
        if chain
            .tx_location(h)
            .await
            .is_some_and(|l| l.receipt.success())
        {
            n += 1;
        }
    }
    n
}

/// Submits Alice's transfers to Bob with `nonces` through validator 0,
/// without waiting; returns their hashes.
async fn submit(s: &Stage, nonces: std::ops::Range<u64>) -> Result<Vec<Hash>, LabError> {
    let mut hashes = Vec::new();
    for nonce in nonces {
        let bytes = sign_l1(
            &s.l1,
            &Role::Alice.key(),
            nonce,
            Payload::Transfer {
                to: Role::Bob.address(),
                amount: Amount(AMOUNT),
            },
        )
        .map_err(|e| s.fail(e.to_string()))?;
        hashes.push(
            s.l1.submit(bytes)
                .await
                .map_err(|e| s.fail(format!("transfer refused: {e}")))?,
        );
    }
    Ok(hashes)
}

/// The L1's scenarios, in catalog order.
pub fn catalog() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "equivocation",
            design: "l1",
            attack: "a validator signs conflicting votes (equivocates) in every view",
            promise: "safety holds with fewer than a third faulty; the evidence is reported, 10% of its stake is slashed and it leaves the committee at the next epoch; the others keep finalizing",
            seed: 41,
            play: equivocation,
            sabotage: None,
        },
        Scenario {
            name: "validator-crash",
            design: "l1",
            attack: "a validator is killed mid-run and restarted later from its storage",
            promise: "the others keep finalizing without it (one of four is under a third); it catches up from its storage and peers, with every transfer final",
            seed: 11,
            play: validator_crash,
            sabotage: None,
        },
    ]
}
