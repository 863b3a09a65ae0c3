//! Wiring one validator: simplex (votes), marshal (blocks: broadcast,
//! backfill, finalized delivery), the stateful application over the QMDB
//! store, state sync, and transaction gossip.
//!
//! Generic over the runtime and the p2p backend, so the same function runs
//! a validator on the deterministic runtime with a simulated network and on
//! tokio with authenticated TCP.

use crate::{
    app::App,
    block::Block,
    chain::Chain,
    gossip,
    state::{self, NoStateSync, StateDb},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self,
        core::{Actor as MarshalActor, Mailbox as MarshalMailbox},
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex::{self, elector::RoundRobin, scheme::ed25519::Scheme},
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{
    Digestible as _, Sha256,
    certificate::{ConstantProvider, Verifier as _},
};
use commonware_glue::stateful::{
    Config as StatefulConfig, Mailbox as StatefulMailbox, PruneConfig, Stateful, SyncPlan,
    db::SyncEngineConfig,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{NZDuration, NZU64, NZUsize};
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::Duration,
};
use terrace_l1::block::BlockLimits;
use terrace_primitives::PublicKey;

/// One epoch for the chain's life until committee rotation lands.
pub const EPOCH_LENGTH: NonZeroU64 = NZU64!(u64::MAX);
const SYNC_BATCH: NonZeroU64 = NZU64!(256);
const IO: NonZeroUsize = NZUsize!(64 * 1024);

/// The consensus namespace for a chain: votes of one chain never verify on
/// another.
pub fn namespace(chain_id: u64) -> Vec<u8> {
    let mut ns = b"terrace-l1-".to_vec();
    ns.extend_from_slice(&chain_id.to_be_bytes());
    ns
}

/// The p2p channels a validator uses, as (sender, receiver) pairs.
#[derive(Debug)]
pub struct Channels<S, R> {
    /// Simplex votes.
    pub votes: (S, R),
    /// Simplex certificates.
    pub certificates: (S, R),
    /// Simplex's certificate fetcher.
    pub simplex_resolver: (S, R),
    /// Marshal block backfill.
    pub backfill: (S, R),
    /// Block broadcast.
    pub broadcast: (S, R),
    /// Transaction gossip.
    pub transactions: (S, R),
}

/// Channel ids, in [`Channels`] order.
pub const CHANNELS: [u64; 6] = [0, 1, 2, 3, 4, 5];

/// Timeouts of the consensus engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Wait for the leader's proposal.
    pub leader: Duration,
    /// Wait for a certificate once the proposal arrived.
    pub certification: Duration,
    /// Re-broadcast interval while stuck.
    pub retry: Duration,
    /// Skip an unresponsive leader's term after this.
    pub skip: Duration,
}

impl Timeouts {
    /// Loopback / LAN.
    pub const LAN: Self = Self {
        leader: Duration::from_secs(1),
        certification: Duration::from_secs(2),
        retry: Duration::from_millis(500),
        skip: Duration::from_secs(5),
    };
    /// Wide-area links.
    pub const WAN: Self = Self {
        leader: Duration::from_secs(2),
        certification: Duration::from_secs(4),
        retry: Duration::from_secs(2),
        skip: Duration::from_secs(10),
    };
}

/// A validator's settings besides the chain.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    /// Storage partition prefix (unique per validator on shared storage).
    pub prefix: String,
    /// Consensus timeouts.
    pub timeouts: Timeouts,
}

/// A running validator's handles.
pub struct Validator<E: commonware_storage::Context + Spawner> {
    /// The consensus engine (supervises the rest).
    pub engine: Handle<()>,
    /// Marshal: finalized blocks by height or hash.
    pub marshal: MarshalMailbox<Scheme, Standard<Block>>,
    /// The application layer: readers of the finalized state.
    pub stateful: StatefulMailbox<E, App>,
    /// Shared chain state.
    pub chain: Arc<Chain>,
    /// Sends transactions to the other validators.
    pub gossip: gossip::Gossip,
}

impl<E: commonware_storage::Context + Spawner> std::fmt::Debug for Validator<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validator")
    }
}

/// Largest p2p message for a committee of `n`.
pub fn max_message_size(n: u32, chain: &Chain) -> u32 {
    let limits = BlockLimits::from_params(&chain.params);
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<Scheme, terrace_primitives::Hash>(n),
        marshal::max_payload_size::<Standard<Block>, Scheme>(n, &limits),
        usize::try_from(chain.params.tx_bytes_max)
            .unwrap_or(usize::MAX)
            .saturating_add(64),
    ])
}

fn archive_config<C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    codec_config: C,
) -> prunable::Config<TwoCap, C> {
    prunable::Config {
        translator: TwoCap,
        metadata_partition: format!("{prefix}-{name}-metadata"),
        key_partition: format!("{prefix}-{name}-key"),
        key_page_cache: page_cache,
        value_partition: format!("{prefix}-{name}-value"),
        compression: None,
        codec_config,
        items_per_section: NZU64!(4096),
        key_write_buffer: IO,
        value_write_buffer: IO,
        replay_buffer: IO,
    }
}

/// Starts a validator. Storage lives under `config.prefix` in the
/// runtime's storage; restarting with the same storage resumes from the
/// last finalized block.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, P, B, S, R>(
    context: E,
    config: ValidatorConfig,
    chain: Arc<Chain>,
    scheme: Scheme,
    me: PublicKey,
    peer_provider: P,
    blocker: B,
    channels: Channels<S, R>,
) -> Validator<E>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng + commonware_storage::Context,
    P: Provider<PublicKey = PublicKey> + Clone,
    B: Blocker<PublicKey = PublicKey> + Clone,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let prefix = config.prefix.clone();
    let page_cache = state::page_cache();
    let genesis = chain.genesis_block().clone();
    let block_limits = BlockLimits::from_params(&chain.params);
    let timeouts = config.timeouts;

    let resolver = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: me.clone(),
            peer_provider: peer_provider.clone(),
            blocker: blocker.clone(),
            mailbox_size: NZUsize!(1024),
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_millis(100),
            priority_requests: false,
            priority_responses: false,
        },
        channels.backfill,
    );

    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: me.clone(),
            mailbox_size: NZUsize!(1024),
            deque_size: 10,
            priority: false,
            codec_config: block_limits,
            peer_provider: peer_provider.clone(),
            strategy: Sequential,
        },
    );
    broadcast_engine.start(channels.broadcast);

    let finalizations_by_height = prunable::Archive::init(
        context.child("finalizations_by_height"),
        archive_config(
            &prefix,
            "finalizations",
            page_cache.clone(),
            scheme.certificate_codec_config(),
        ),
    )
    .await
    .expect("finalizations archive must open");
    let finalized_blocks = prunable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(&prefix, "blocks", page_cache.clone(), block_limits),
    )
    .await
    .expect("blocks archive must open");

    // State sync (fetching the store from peers) needs fixed-size store
    // operations in this commonware version; a node that was down catches
    // up by marshal backfill and replay instead, so the plan never syncs.
    let plan = SyncPlan::init(context.child("plan"), prefix.clone()).await;
    let provider = ConstantProvider::new(scheme.clone());

    let (marshal_actor, marshal_mailbox, floor) =
        MarshalActor::<_, Standard<Block>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations_by_height,
            finalized_blocks,
            marshal::Config {
                provider,
                epocher: FixedEpocher::new(EPOCH_LENGTH),
                start: plan.marshal_start(commonware_cryptography::Digested::precomputed(
                    genesis.clone(),
                    genesis.digest(),
                )),
                partition_prefix: format!("{prefix}-marshal"),
                mailbox_size: NZUsize!(1024),
                view_retention: ViewDelta::new(256),
                prunable_items_per_section: NZU64!(4096),
                page_cache: page_cache.clone(),
                replay_buffer: IO,
                key_write_buffer: IO,
                value_write_buffer: IO,
                block_codec_config: block_limits,
                max_repair: NZUsize!(16),
                max_pending_acks: NZUsize!(8),
                strategy: Sequential,
            },
        )
        .await;

    let app = App::new(chain.clone());
    let (stateful, stateful_mailbox) = Stateful::new(
        context.child("stateful"),
        StatefulConfig {
            application: app,
            db_config: state::config(&prefix, page_cache.clone()),
            provider: (),
            marshal: (marshal_mailbox.clone(), floor),
            mailbox_size: NZUsize!(1024),
            plan,
            resolvers: NoStateSync::<StateDb<E>>::default(),
            sync_config: SyncEngineConfig {
                fetch_batch_size: SYNC_BATCH,
                apply_batch_size: NZU64!(1024),
                max_outstanding_requests: NZUsize!(8),
            },
            // Keep every block (the RPC serves history); prune nothing yet.
            prune_config: None::<PruneConfig>,
            strategy: Sequential,
        },
    );

    let deferred = Deferred::new(
        context.child("deferred"),
        stateful_mailbox.clone(),
        marshal_mailbox.clone(),
        FixedEpocher::new(EPOCH_LENGTH),
    );
    marshal_actor.start(stateful_mailbox.clone(), buffer, resolver);
    stateful.start();

    let gossip = gossip::start(
        context.child("gossip"),
        chain.clone(),
        stateful_mailbox.clone(),
        channels.transactions,
    );

    let engine = simplex::Engine::new(
        context,
        simplex::Config {
            scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker,
            automaton: deferred.clone(),
            relay: deferred.clone(),
            reporter: deferred,
            strategy: Sequential,
            partition: format!("{prefix}-simplex"),
            mailbox_size: NZUsize!(1024),
            epoch: Epoch::zero(),
            floor: simplex::Floor::Genesis(genesis.digest()),
            replay_buffer: IO,
            write_buffer: IO,
            page_cache,
            leader_timeout: timeouts.leader,
            certification_timeout: timeouts.certification,
            timeout_retry: timeouts.retry,
            view_retention: ViewDelta::new(256),
            skip: simplex::SkipPolicy::Enabled {
                timeout: timeouts.skip,
                budget: simplex::SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_secs(2)),
            fetch_retry_delay: Duration::from_secs(1),
            forward: simplex::ForwardPolicy::Disabled,
            track_historical_votes: true,
        },
    );
    let engine = engine.start(
        channels.votes,
        channels.certificates,
        channels.simplex_resolver,
    );

    Validator {
        engine,
        marshal: marshal_mailbox,
        stateful: stateful_mailbox,
        chain,
        gossip,
    }
}
