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
use commonware_runtime::{Quota, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, ordered::Set};
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
        let n = u32::try_from(committee.len()).unwrap_or(u32::MAX);
        let (network, oracle) = simulated::Network::<_, PublicKey>::new(
            context.child("network"),
            simulated::Config {
                max_size: engine::max_message_size(n, chain),
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
        let quota = Quota::per_second(NZU32!(100_000));
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
