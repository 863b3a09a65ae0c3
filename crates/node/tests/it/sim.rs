#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Validators in deterministic simulation: fixed seeds, virtual time,
//! simulated WAN links. Every finalized block is audited (supply
//! invariant) by every validator, and finalized blocks are compared across
//! validators (safety).

use bytes::Bytes;
use commonware_codec::Encode as _;
use commonware_consensus::{marshal::Identifier, types::Height};
use commonware_cryptography::Digestible as _;
use commonware_runtime::{Clock as _, Runner as _, deterministic};
use std::{sync::Arc, time::Duration};
use terrace_l1::{
    ChainParams, Payload, Transaction,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
    modules::staking::{StakingFailure, StakingKey, StakingOp, StakingRecords as _},
};
use terrace_mempool::PoolConfig;
use terrace_node::{
    chain::Chain,
    engine::{Behavior, Timeouts, Validator},
    gossip::FinalizedState,
    sim::{self, Network},
    state::empty_log,
};
use terrace_primitives::{
    Address, Amount, ChainId, Hash, PrivateKey,
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};

const CHAIN: ChainId = ChainId(7);
const ACCOUNTS: u8 = 8;

fn account_key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

fn validator_key(i: u8) -> PrivateKey {
    private_key_from_seed([100 + i; 32])
}

/// Epochs of 8 blocks: every test crosses several committee hand-overs.
const EPOCH_LENGTH: u64 = 8;

fn genesis(validators: u8) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params: ChainParams {
            epoch_length_blocks: EPOCH_LENGTH,
            ..ChainParams::default()
        },
        accounts: (0..ACCOUNTS)
            .map(|i| GenesisAccount {
                address: Address::from_public_key(&account_key(i).public_key()),
                balance: Amount(1_000_000_000_000_000_000_000),
            })
            .collect(),
        validators: (0..validators)
            .map(|i| GenesisValidator {
                public_key: to_hex(&validator_key(i).public_key().encode()),
                stake: Amount(1_000_000_000_000_000_000),
            })
            .collect(),
    }
}

fn all_addresses(validators: u8) -> Vec<Address> {
    (0..ACCOUNTS)
        .map(|i| Address::from_public_key(&account_key(i).public_key()))
        .chain((0..validators).map(|i| Address::from_public_key(&validator_key(i).public_key())))
        .collect()
}

fn transfer(from: u8, to: u8, nonce: u64, amount: u128) -> Bytes {
    Transaction {
        chain_id: CHAIN,
        nonce,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        gas_limit: 30_000,
        payload: Payload::Transfer {
            to: Address::from_public_key(&account_key(to).public_key()),
            amount: Amount(amount),
        },
    }
    .sign(&account_key(from))
    .encode()
}

/// What a run leaves behind, compared across runs of one seed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    /// Per validator: (finalized height, digest of audited records at it).
    tips: Vec<(u64, Hash)>,
    /// Block hashes at heights 1..=common height (equal for all validators).
    blocks: Vec<Hash>,
    /// Virtual time at the end.
    elapsed_ms: u128,
}

struct Net {
    context: deterministic::Context,
    network: Network,
    genesis: Genesis,
    validators: Vec<Validator<deterministic::Context>>,
    incarnations: Vec<u32>,
    behaviors: Vec<Behavior>,
    timeouts: Timeouts,
}

impl Net {
    async fn start(context: deterministic::Context, n: u8, link: sim::Link) -> Self {
        Self::start_with(context, n, link, &[]).await
    }

    /// Starts `n` validators, some with a non-honest `(index, behavior)`.
    async fn start_with(
        context: deterministic::Context,
        n: u8,
        link: sim::Link,
        faulty: &[(u8, Behavior)],
    ) -> Self {
        let genesis = genesis(n);
        let mut behaviors = vec![Behavior::Honest; usize::from(n)];
        for (i, b) in faulty {
            behaviors[usize::from(*i)] = *b;
        }
        let keys: Vec<_> = (0..n).map(|i| validator_key(i).public_key()).collect();
        let probe = new_chain(&genesis, n);
        let network = Network::new(&context, &keys, &probe, link).await;
        let mut net = Self {
            context,
            network,
            genesis,
            validators: Vec::new(),
            incarnations: vec![0; usize::from(n)],
            behaviors,
            timeouts: Timeouts::WAN,
        };
        for i in 0..n {
            let v = net.boot(i).await;
            net.validators.push(v);
        }
        net
    }

    async fn boot(&mut self, i: u8) -> Validator<deterministic::Context> {
        let n = u8::try_from(self.incarnations.len()).unwrap();
        let chain = Arc::new(new_chain(&self.genesis, n));
        self.network
            .start_validator(
                &self.context,
                &validator_key(i),
                chain,
                self.timeouts,
                self.behaviors[usize::from(i)],
                self.incarnations[usize::from(i)],
            )
            .await
    }

    fn crash(&mut self, i: u8) {
        self.validators[usize::from(i)].engine.abort();
    }

    async fn restart(&mut self, i: u8) {
        self.incarnations[usize::from(i)] += 1;
        let v = self.boot(i).await;
        self.validators[usize::from(i)] = v;
    }

    async fn submit(&self, via: usize, tx: Bytes) {
        let v = &self.validators[via];
        let state = FinalizedState::new(v.chain.clone(), v.stateful.clone());
        v.gossip.submit(&v.chain, &state, tx).await.unwrap();
    }

    fn heights(&self) -> Vec<u64> {
        self.validators
            .iter()
            .map(|v| v.chain.tip().block.header().height)
            .collect()
    }

    /// Waits (in virtual time) until every validator listed has finalized
    /// `height`; panics after `limit`.
    async fn wait_height(&self, who: &[usize], height: u64, limit: Duration) {
        let start = self.context.current();
        loop {
            if who
                .iter()
                .all(|&i| self.validators[i].chain.tip().block.header().height >= height)
            {
                return;
            }
            let waited = self.context.current().duration_since(start).unwrap();
            assert!(
                waited < limit,
                "height {height} not reached in {limit:?}: {:?}",
                self.heights()
            );
            self.context.sleep(Duration::from_millis(100)).await;
        }
    }

    fn honest(&self) -> impl Iterator<Item = (usize, &Validator<deterministic::Context>)> {
        self.validators
            .iter()
            .enumerate()
            .filter(|(i, _)| self.behaviors[*i] == Behavior::Honest)
    }

    /// Checks the audits and safety of the honest validators; returns the
    /// run's summary.
    async fn summary(&self) -> Summary {
        let mut tips = Vec::new();
        for (i, v) in self.honest() {
            let results = v.chain.audit_results();
            for (h, r) in &results {
                assert!(r.is_ok(), "validator {i} height {h}: {r:?}");
            }
            let tip = v.chain.tip().block.header().height;
            let digest = results
                .iter()
                .rev()
                .find(|(h, _)| *h == tip)
                .map(|(_, r)| *r.as_ref().unwrap())
                .unwrap_or(Hash::from([0; 32]));
            tips.push((tip, digest));
        }
        let common = tips.iter().map(|t| t.0).min().unwrap();
        let mut blocks = Vec::new();
        for h in 1..=common {
            let mut seen: Option<Hash> = None;
            for (i, v) in self.honest() {
                let b = v
                    .marshal
                    .get_block(Identifier::Height(Height::new(h)))
                    .await
                    .unwrap_or_else(|| panic!("validator {i} lacks finalized block {h}"));
                let d = b.digest();
                if let Some(s) = seen {
                    assert_eq!(s, d, "validators disagree on finalized height {h}");
                }
                seen = Some(d);
            }
            blocks.push(seen.unwrap());
        }
        // Audited records agree wherever two validators audited one height.
        let mut by_height = std::collections::HashMap::new();
        for (_, v) in self.honest() {
            for (h, r) in v.chain.audit_results() {
                let d = r.unwrap();
                assert_eq!(*by_height.entry(h).or_insert(d), d, "audit differs at {h}");
            }
        }
        Summary {
            tips,
            blocks,
            elapsed_ms: self
                .context
                .current()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
        }
    }
}

fn new_chain(genesis: &Genesis, validators: u8) -> Chain {
    let chain = Chain::new(
        genesis.clone(),
        empty_log::<deterministic::Context>(),
        PoolConfig::default(),
        1,
    )
    .unwrap();
    chain.enable_audit(all_addresses(validators));
    chain
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(3_600))),
    )
}

/// Submits `count` transfers round-robin through the validators `via`.
async fn pay(net: &Net, via: &[usize], count: u64, nonce_base: u64) {
    for k in 0..count {
        let from = u8::try_from(k % u64::from(ACCOUNTS)).unwrap();
        let to = (from + 1) % ACCOUNTS;
        let nonce = nonce_base + k / u64::from(ACCOUNTS);
        let via = via[usize::try_from(k).unwrap() % via.len()];
        net.submit(via, transfer(from, to, nonce, 1_000 + u128::from(k)))
            .await;
    }
}

/// How many of the transfers `pay(_, _, count, nonce_base)` sent `v` finds
/// finalized and successful in its transaction index.
async fn finalized_transfers(
    v: &Validator<deterministic::Context>,
    count: u64,
    nonce_base: u64,
) -> usize {
    let mut found = 0;
    for k in 0..count {
        let from = u8::try_from(k % u64::from(ACCOUNTS)).unwrap();
        let to = (from + 1) % ACCOUNTS;
        let nonce = nonce_base + k / u64::from(ACCOUNTS);
        let tx = transfer(from, to, nonce, 1_000 + u128::from(k));
        if v.chain
            .tx_location(&terrace_l1::tx::tx_id(&tx))
            .await
            .is_some_and(|l| l.receipt.success())
        {
            found += 1;
        }
    }
    found
}

fn four_validators_run(seed: u64) -> Summary {
    runner(seed).start(|context| async move {
        let net = Net::start(context, 4, sim::link(40, 10, 1000)).await;
        net.wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
            .await;
        pay(&net, &[0, 1, 2, 3], 24, 0).await;
        net.wait_height(&[0, 1, 2, 3], 12, Duration::from_secs(120))
            .await;
        // Every transfer is final on every validator.
        for v in &net.validators {
            assert_eq!(finalized_transfers(v, 24, 0).await, 24);
        }
        net.summary().await
    })
}

#[test]
fn four_validators_finalize_transfers_and_keep_supply() {
    let s = four_validators_run(1);
    assert!(s.blocks.len() >= 12, "{s:?}");
}

#[test]
fn an_l2_client_reads_every_finalized_transaction_with_its_receipt() {
    use terrace_node::client::L1 as _;
    runner(5).start(|context| async move {
        let net = Net::start(context, 4, sim::link(40, 10, 1000)).await;
        net.wait_height(&[0, 1, 2, 3], 1, Duration::from_secs(60))
            .await;
        pay(&net, &[0, 1, 2, 3], 8, 0).await;
        // Account 0 never staked: its unstake is included as a failure.
        let unstake = Transaction {
            chain_id: CHAIN,
            nonce: 1,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            gas_limit: 60_000,
            payload: Payload::Staking(StakingOp::Unstake { amount: Amount(1) }),
        }
        .sign(&account_key(0))
        .encode();
        net.submit(0, unstake.clone()).await;
        net.wait_height(&[0], 8, Duration::from_secs(120)).await;
        let client = net.validators[0].client();
        let mut seen = Vec::new();
        for h in 1..=client.finalized_height() {
            seen.extend(client.block(h).await.unwrap().txs);
        }
        let transfers: Vec<_> = seen
            .iter()
            .filter(|t| matches!(t.payload, Payload::Transfer { .. }))
            .collect();
        assert_eq!(transfers.len(), 8, "every transfer, from every validator");
        assert!(transfers.iter().all(|t| t.receipt.success()));
        let failed = seen
            .iter()
            .find(|t| t.hash == terrace_l1::tx::tx_id(&unstake))
            .expect("the failed unstake is in its block");
        assert_eq!(
            failed.sender,
            Address::from_public_key(&account_key(0).public_key())
        );
        assert_eq!(
            failed.receipt.failure,
            Some(terrace_l1::Failure::Staking(StakingFailure::NotAValidator))
        );
    });
}

#[test]
fn epochs_hand_over_to_the_next_committee() {
    runner(3).start(|context| async move {
        let net = Net::start(context, 4, sim::link(40, 10, 1000)).await;
        // Three epochs of 8 blocks, each run by its own engine.
        net.wait_height(
            &[0, 1, 2, 3],
            3 * EPOCH_LENGTH + 2,
            Duration::from_secs(300),
        )
        .await;
        let v = &net.validators[0];
        for h in [
            EPOCH_LENGTH - 1,
            EPOCH_LENGTH,
            2 * EPOCH_LENGTH,
            3 * EPOCH_LENGTH + 1,
        ] {
            let b = v
                .marshal
                .get_block(Identifier::Height(Height::new(h)))
                .await
                .unwrap();
            assert_eq!(
                b.inner().header().round.epoch,
                h / EPOCH_LENGTH,
                "block {h} was agreed in its epoch"
            );
        }
        // The state keeps the current committee and the next one.
        let state = FinalizedState::new(v.chain.clone(), v.stateful.clone());
        let records = state
            .records(&[
                StakingKey::Committee(3).into(),
                StakingKey::Committee(1).into(),
            ])
            .await
            .unwrap();
        let mut keys: Vec<_> = (0..4).map(|i| validator_key(i).public_key()).collect();
        keys.sort_by(|a, b| a.as_ref().cmp(b.as_ref()));
        assert_eq!(records.committee(3), Some(keys));
        assert_eq!(records.committee(1), None);
        net.summary().await;
    });
}

#[test]
fn the_same_seed_gives_the_same_chain() {
    assert_eq!(four_validators_run(5), four_validators_run(5));
}

// The equivocation and crash-restart scenarios live in the lab
// (`terrace scenario run equivocation|validator-crash`, crates/lab/tests).

#[test]
fn a_partition_stalls_finality_and_healing_resumes_it() {
    runner(21).start(|context| async move {
        let link = sim::link(40, 10, 1000);
        let net = Net::start(context, 4, link.clone()).await;
        net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(60))
            .await;
        let side: Vec<_> = (0..2).map(|i| validator_key(i).public_key()).collect();
        net.network.partition(&side).await;
        // Give in-flight messages time to land, then no side has a quorum.
        net.context.sleep(Duration::from_secs(5)).await;
        let stalled = net.heights();
        net.context.sleep(Duration::from_secs(30)).await;
        assert_eq!(net.heights(), stalled, "finality without a quorum");
        net.network.heal(link).await;
        let target = stalled.iter().max().unwrap() + 5;
        net.wait_height(&[0, 1, 2, 3], target, Duration::from_secs(180))
            .await;
        net.summary().await;
    });
}

#[test]
fn seven_validators_with_message_loss_stay_safe_and_live() {
    let s = runner(31).start(|context| async move {
        let net = Net::start(context, 7, sim::link(60, 20, 950)).await;
        net.wait_height(&[0, 1, 2, 3, 4, 5, 6], 1, Duration::from_secs(120))
            .await;
        pay(&net, &[0, 1, 2, 3, 4, 5, 6], 14, 0).await;
        net.wait_height(&[0, 1, 2, 3, 4, 5, 6], 10, Duration::from_secs(300))
            .await;
        net.summary().await
    });
    assert!(s.blocks.len() >= 10);
}

/// One run with faults drawn from `seed`: link latency 20–200 ms with
/// jitter, 0–5 % loss, and one validator crashed for a while and
/// restarted. Checks liveness after the faults, the audits and safety.
fn faulty_run(seed: u64) -> Summary {
    // SplitMix64: the fault plan is a pure function of the seed.
    let mut x = seed;
    let mut next = move || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let latency = 20 + next() % 180;
    let jitter = next() % (latency / 4 + 1);
    let delivered = 950 + next() % 51;
    let victim = u8::try_from(next() % 4).unwrap();
    let down_ms = 1_000 + next() % 20_000;
    runner(seed).start(|context| async move {
        let mut net = Net::start(context, 4, sim::link(latency, jitter, delivered)).await;
        net.wait_height(&[0, 1, 2, 3], 2, Duration::from_secs(300))
            .await;
        let live: Vec<usize> = (0..4).filter(|i| *i != usize::from(victim)).collect();
        net.crash(victim);
        pay(&net, &live, 6, 0).await;
        net.context.sleep(Duration::from_millis(down_ms)).await;
        net.restart(victim).await;
        let target = net.heights().iter().max().unwrap() + 3;
        net.wait_height(&[0, 1, 2, 3], target, Duration::from_secs(600))
            .await;
        net.summary().await
    })
}

#[test]
fn a_few_seeds_with_random_faults() {
    for seed in [1, 2, 3] {
        faulty_run(seed);
    }
}

/// The many-seed sweep: `TERRACE_SWEEP_SEEDS` seeds (default 1,000).
/// Run with `make test-slow`.
#[test]
#[ignore = "slow: 1,000 simulated runs (about 4 minutes on 2 cores); run with `make test-slow`"]
fn many_seeds_with_random_faults() {
    let seeds: u64 = std::env::var("TERRACE_SWEEP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    for seed in 0..seeds {
        let s = faulty_run(1_000 + seed);
        assert!(!s.blocks.is_empty(), "seed {seed}");
    }
}
