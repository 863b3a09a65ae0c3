//! Validators on the deterministic runtime over commonware's simulated
//! network (latency, jitter, loss, partitions), for tests and the lab.
//!
//! All of the simulated-network wiring is here, behind [`Network::new`]
//! and [`Network::start_validator`]: that part of commonware changes
//! between versions, and nothing else should depend on its shape.

use crate::{
    chain::Chain,
    engine::{self, Behavior, CHANNELS, Channels, Timeouts, Validator, ValidatorConfig},
};
use commonware_p2p::{Manager as _, simulated};
use commonware_runtime::{Supervisor as _, deterministic};
use commonware_utils::{NZUsize, TryCollect as _, ordered::Set};
use std::{sync::Arc, time::Duration};
use terrace_primitives::{PrivateKey, PublicKey, keys::Signer as _};

pub use simulated::Link;

/// A link with `latency_ms` mean latency, `jitter_ms` deviation, and
/// `delivered_per_mille` of 1,000 messages delivered.
pub fn link(latency_ms: u64, jitter_ms: u64, delivered_per_mille: u64) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::new(delivered_per_mille.min(1000), 1000)
            .expect("a fraction of 1000 is a probability"),
    }
}

/// The simulated network of one committee.
pub struct Network {
    oracle: simulated::Oracle<PublicKey, deterministic::Context>,
    committee: Set<PublicKey>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("validators", &self.committee.len())
            .finish()
    }
}

impl Network {
    /// Starts a network for `committee`, every pair joined by `link`.
    pub async fn new(
        context: &deterministic::Context,
        committee: &[PublicKey],
        chain: &Chain,
        link: Link,
    ) -> Self {
        let committee: Set<PublicKey> = committee
            .iter()
            .cloned()
            .try_collect()
            .expect("committee keys are distinct");
        let (network, oracle) = simulated::Network::<_, PublicKey>::new(
            context.child("network"),
            simulated::Config {
                max_size: engine::max_message_size(chain),
                max_peers_per_set: NZUsize!(committee.len().max(1)),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
        );
        network.start();
        oracle.manager().track(0, committee.clone());
        let net = Self { oracle, committee };
        net.heal(link).await;
        net
    }

    /// Sets the link from `from` to `to`.
    pub async fn set_link(&self, from: &PublicKey, to: &PublicKey, link: Option<Link>) {
        let _ = self.oracle.remove_link(from.clone(), to.clone()).await;
        if let Some(link) = link {
            let _ = self.oracle.add_link(from.clone(), to.clone(), link).await;
        }
    }

    /// Joins every pair with `link`.
    pub async fn heal(&self, link: Link) {
        for a in self.committee.iter() {
            for b in self.committee.iter() {
                if a != b {
                    self.set_link(a, b, Some(link.clone())).await;
                }
            }
        }
    }

    /// Cuts every link between `side` and the rest, both ways.
    pub async fn partition(&self, side: &[PublicKey]) {
        for a in self.committee.iter() {
            for b in self.committee.iter() {
                if a != b && (side.contains(a) != side.contains(b)) {
                    self.set_link(a, b, None).await;
                }
            }
        }
    }

    /// Starts (or restarts, over the same storage) the validator with
    /// `key`; `incarnation` distinguishes restarts in metrics.
    pub async fn start_validator(
        &self,
        context: &deterministic::Context,
        key: &PrivateKey,
        chain: Arc<Chain>,
        timeouts: Timeouts,
        behavior: Behavior,
        incarnation: u32,
    ) -> Validator<deterministic::Context> {
        let me = key.public_key();
        let index = self
            .committee
            .iter()
            .position(|p| p == &me)
            .expect("validator is in the committee");
        let control = self.oracle.control(me.clone());
        let quota = engine::channel_quota();
        let mut registered = Vec::new();
        for channel in CHANNELS {
            registered.push(
                control
                    .register(channel, quota)
                    .await
                    .expect("channel registers"),
            );
        }
        let mut it = registered.into_iter();
        let mut next = || it.next().expect("one pair per channel");
        let channels = Channels {
            votes: next(),
            certificates: next(),
            simplex_resolver: next(),
            backfill: next(),
            broadcast: next(),
            transactions: next(),
        };
        let context = context
            .child("validator")
            .with_attribute("index", index)
            .with_attribute("incarnation", incarnation);
        engine::start(
            context,
            ValidatorConfig {
                prefix: format!("validator-{index}"),
                timeouts,
                behavior,
            },
            chain,
            key.clone(),
            self.oracle.manager(),
            self.oracle.manager(),
            self.oracle.control(me),
            channels,
        )
        .await
    }
}

/// Regions of the WAN model, in the order of [`REGION_RTT_MS`].
pub const REGIONS: [&str; 5] = [
    "us-east",
    "us-west",
    "eu-west",
    "ap-northeast",
    "ap-southeast",
];

/// Round-trip times between [`REGIONS`] in milliseconds: rounded,
/// typical public-cloud inter-region figures (Virginia, Oregon, Ireland,
/// Tokyo, Singapore). Within a region (across zones) the round trip is
/// 2 ms. A model, not a measurement of ours.
pub const REGION_RTT_MS: [[u64; 5]; 5] = [
    [2, 64, 68, 146, 214],
    [64, 2, 128, 100, 166],
    [68, 128, 2, 212, 160],
    [146, 100, 212, 2, 70],
    [214, 166, 160, 70, 2],
];

/// The region of validator `i` when validators are spread round-robin.
pub fn region_of(i: usize) -> usize {
    i % REGIONS.len()
}

/// Mean one-way delay between regions `a` and `b`, in milliseconds (half
/// the round trip).
pub fn one_way_ms(a: usize, b: usize) -> u64 {
    REGION_RTT_MS[a % REGIONS.len()][b % REGIONS.len()] / 2
}

/// The link between regions `a` and `b`: half the round trip, a jitter of
/// a tenth of it, nothing lost.
pub fn region_link(a: usize, b: usize) -> Link {
    let ms = one_way_ms(a, b);
    link(ms, ms / 10, 1000)
}

impl Network {
    /// Places the committee's members in `regions` (by committee order)
    /// and sets every pair's link from the region model.
    pub async fn place(&self, regions: &[usize]) {
        let members: Vec<PublicKey> = self.committee.iter().cloned().collect();
        for (i, a) in members.iter().enumerate() {
            for (j, b) in members.iter().enumerate() {
                if i != j {
                    let link = region_link(
                        regions.get(i).copied().unwrap_or(0),
                        regions.get(j).copied().unwrap_or(0),
                    );
                    self.set_link(a, b, Some(link)).await;
                }
            }
        }
    }
}

/// When each validator would see a block finalized, in milliseconds after
/// `leader` proposed it, if simplex took exactly its three network hops
/// (proposal, notarize votes, finalize votes) over mean one-way `delay`s,
/// with certificates forwarded as soon as formed and no processing time.
///
/// A validator notarizes once it holds notarize votes from a quorum
/// (`n - (n-1)/3`, the leader's proposal counting as its vote), or an
/// earlier-formed notarization forwarded to it; finalization likewise
/// from finalize votes.
pub fn three_hop_finality_ms(delay: &[Vec<u64>], leader: usize) -> Vec<u64> {
    let n = delay.len();
    if n == 0 {
        return Vec::new();
    }
    let quorum = n - (n - 1) / 3;
    let d = |a: usize, b: usize| if a == b { 0 } else { delay[a][b] };
    let arrive: Vec<u64> = (0..n).map(|u| d(leader, u)).collect();
    let round = |sent: &[u64]| -> Vec<u64> {
        let mut at: Vec<u64> = (0..n)
            .map(|u| {
                let mut heard: Vec<u64> = (0..n).map(|w| sent[w] + d(w, u)).collect();
                heard.sort_unstable();
                heard[quorum - 1]
            })
            .collect();
        // Forwarded certificates: relax until nothing improves.
        loop {
            let mut changed = false;
            for u in 0..n {
                for w in 0..n {
                    if at[w] + d(w, u) < at[u] {
                        at[u] = at[w] + d(w, u);
                        changed = true;
                    }
                }
            }
            if !changed {
                return at;
            }
        }
    };
    let notarized = round(&arrive);
    round(&notarized)
}
