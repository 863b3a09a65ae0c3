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
    chain::{Chain, CurrentEpoch},
    epochs::{EpochChange, EpochSchemes},
    evidence::{self, Committees, EvidenceReporter},
    gossip::{self, FinalizedState},
    state::{self, NoStateSync, StateDb, read_records},
};
use commonware_broadcast::buffered;
use commonware_consensus::{
    Reporters,
    marshal::{
        self,
        core::{Actor as MarshalActor, Mailbox as MarshalMailbox},
        resolver::p2p as marshal_resolver,
        standard::{Deferred, Standard},
    },
    simplex::{self, elector::RoundRobin, scheme::ed25519::Scheme},
    types::Epocher as _,
    types::{Epoch, FixedEpocher, ViewDelta},
};
use commonware_cryptography::{Digestible as _, Sha256};
use commonware_glue::stateful::{
    Config as StatefulConfig, Mailbox as StatefulMailbox, PruneConfig, Stateful, SyncPlan,
    db::SyncEngineConfig,
};
use commonware_p2p::{
    Blocker, Manager, Provider, Receiver, Sender,
    utils::mux::{Builder as _, Muxer},
};
use commonware_parallel::Sequential;
use commonware_runtime::{
    Clock, Handle, Metrics, Quota, Spawner, Storage, buffer::paged::CacheRef,
};
use commonware_storage::{archive::prunable, translator::TwoCap};
use commonware_utils::{
    NZDuration, NZU32, NZU64, NZUsize, TryCollect as _, ordered::Set, vec::NonEmptyVec,
};
use futures::StreamExt as _;
use rand_core::CryptoRng;
use std::{
    num::{NonZeroU64, NonZeroUsize},
    sync::Arc,
    time::Duration,
};
use terrace_l1::{
    Key,
    block::BlockLimits,
    modules::staking::{StakingKey, StakingRecords as _, validator_key},
};
use terrace_primitives::{Address, Amount, PrivateKey, PublicKey, keys::Signer as _};
use tracing::{info, warn};

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

/// Per-peer message quota of every channel.
///
/// The rate is a ceiling honest peers stay far below: a view costs each
/// peer at most three votes, three certificates and one block, and
/// transactions travel in batches. The burst is what matters: the network
/// gives each channel an inbound mailbox (and the router an outbound one)
/// of one burst per peer it may retain, allocated up front. With the rate's
/// default burst (a second's worth) a 4-validator node allocated gigabytes.
/// A send over the burst is dropped for that peer, and every sender here
/// retries (consensus on its timers, backfill by asking again, gossip by the
/// transaction staying in the local pool).
pub fn channel_quota() -> Quota {
    Quota::per_second(NZU32!(1_000)).allow_burst(NZU32!(64))
}

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
    /// How it votes (honestly, except in tests of faults).
    pub behavior: Behavior,
}

impl ValidatorConfig {
    /// An honest validator.
    pub fn new(prefix: impl Into<String>, timeouts: Timeouts) -> Self {
        Self {
            prefix: prefix.into(),
            timeouts,
            behavior: Behavior::Honest,
        }
    }
}

/// How a validator votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behavior {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Signs a conflicting vote beside every vote it sees (commonware's
    /// byzantine mock): equivocation, for tests of slashing.
    #[cfg(feature = "mocks")]
    Conflicter,
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

impl<E: crate::Runtime> Validator<E> {
    /// A cloneable handle on this validator's finalized chain and pool, for
    /// services running beside it in the same process (a rollup node).
    pub fn client(&self) -> LocalClient<E> {
        LocalClient {
            marshal: self.marshal.clone(),
            state: FinalizedState::new(self.chain.clone(), self.stateful.clone()),
            chain: self.chain.clone(),
            gossip: self.gossip.clone(),
        }
    }
}

/// Reads a validator's finalized blocks, receipts and state, and submits
/// transactions to its pool, without going through JSON-RPC.
pub struct LocalClient<E: crate::Runtime> {
    marshal: MarshalMailbox<Scheme, Standard<Block>>,
    state: FinalizedState<E>,
    /// Shared chain state.
    pub chain: Arc<Chain>,
    gossip: gossip::Gossip,
}

impl<E: crate::Runtime> Clone for LocalClient<E> {
    fn clone(&self) -> Self {
        Self {
            marshal: self.marshal.clone(),
            state: self.state.clone(),
            chain: self.chain.clone(),
            gossip: self.gossip.clone(),
        }
    }
}

impl<E: crate::Runtime> std::fmt::Debug for LocalClient<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalClient")
    }
}

impl<E: crate::Runtime> LocalClient<E> {
    /// The finalized block at `height`, if this validator has it.
    pub async fn finalized_block(&self, height: u64) -> Option<Block> {
        self.marshal
            .get_block(marshal::Identifier::Height(
                commonware_consensus::types::Height::new(height),
            ))
            .await
            .map(|b| b.inner().clone())
    }

    /// Records under `keys` at the finalized tip.
    pub async fn records(&self, keys: &[Key]) -> Result<terrace_l1::MemoryState, String> {
        self.state.records(keys).await
    }

    /// Checks, pools and gossips a transaction.
    pub async fn submit(
        &self,
        tx: bytes::Bytes,
    ) -> Result<terrace_primitives::Hash, gossip::SubmitError> {
        self.gossip.submit(&self.chain, &self.state, tx).await
    }
}

/// The most validators any epoch's committee can have: the genesis
/// committee, or `committee_size_max` once staking has changed it.
pub fn committee_bound(chain: &Chain) -> u32 {
    u32::try_from(chain.committee().len())
        .unwrap_or(u32::MAX)
        .max(chain.params.committee_size_max)
}

/// Largest p2p message on `chain`: a block, a certificate of the largest
/// committee, or a full transaction batch.
pub fn max_message_size(chain: &Chain) -> u32 {
    let n = committee_bound(chain);
    let limits = BlockLimits::from_params(&chain.params);
    commonware_p2p::max_message_size(&[
        simplex::max_payload_size::<Scheme, terrace_primitives::Hash>(n),
        marshal::max_payload_size::<Standard<Block>, Scheme>(n, &limits),
        usize::try_from(chain.params.tx_bytes_max)
            .unwrap_or(usize::MAX)
            .saturating_add(crate::gossip::BATCH_FRAMING_MAX),
    ])
}

/// A prunable archive's configuration under `prefix`-`name`.
pub(crate) fn archive_config<T: commonware_storage::translator::Translator, C>(
    prefix: &str,
    name: &str,
    page_cache: CacheRef,
    translator: T,
    items_per_section: NonZeroU64,
    codec_config: C,
) -> prunable::Config<T, C> {
    prunable::Config {
        translator,
        metadata_partition: format!("{prefix}-{name}-metadata"),
        key_partition: format!("{prefix}-{name}-key"),
        key_page_cache: page_cache,
        value_partition: format!("{prefix}-{name}-value"),
        compression: None,
        codec_config,
        items_per_section,
        key_write_buffer: IO,
        value_write_buffer: IO,
        replay_buffer: IO,
    }
}

/// Starts a validator. Storage lives under `config.prefix` in the
/// runtime's storage; restarting with the same storage resumes from the
/// last finalized block, in its epoch.
///
/// `manager` tracks each epoch's committee as a p2p peer set. A `key`
/// outside an epoch's committee follows that epoch without voting.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, P, M, B, S, R>(
    context: E,
    config: ValidatorConfig,
    chain: Arc<Chain>,
    key: PrivateKey,
    peer_provider: P,
    mut manager: M,
    blocker: B,
    channels: Channels<S, R>,
) -> Validator<E>
where
    E: Spawner + Clock + Metrics + Storage + CryptoRng + commonware_storage::Context,
    P: Provider<PublicKey = PublicKey> + Clone,
    M: Manager<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey> + Clone,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let me = key.public_key();
    let prefix = config.prefix.clone();
    let page_cache = state::page_cache();
    let genesis = chain.genesis_block().clone();
    let block_limits = BlockLimits::from_params(&chain.params);
    let timeouts = config.timeouts;
    let namespace = namespace(chain.chain_id().0);
    let epoch_length = NonZeroU64::new(chain.params.epoch_length_blocks).unwrap_or(NZU64!(2));
    let epocher = FixedEpocher::new(epoch_length);
    let schemes = EpochSchemes::default();
    let committees: Committees = Default::default();
    let max_committee = u32::try_from(
        chain
            .committee()
            .len()
            .max(chain.params.committee_size_max as usize),
    )
    .unwrap_or(u32::MAX);

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
            TwoCap,
            NZU64!(4096),
            max_committee as usize,
        ),
    )
    .await
    .expect("finalizations archive must open");
    let finalized_blocks = prunable::Archive::init(
        context.child("finalized_blocks"),
        archive_config(
            &prefix,
            "blocks",
            page_cache.clone(),
            TwoCap,
            NZU64!(4096),
            block_limits,
        ),
    )
    .await
    .expect("blocks archive must open");

    // State sync (fetching the store from peers) needs fixed-size store
    // operations in this commonware version; a node that was down catches
    // up by marshal backfill and replay instead, so the plan never syncs.
    let plan = SyncPlan::init(context.child("plan"), prefix.clone()).await;

    let (marshal_actor, marshal_mailbox, floor) =
        MarshalActor::<_, Standard<Block>, _, _, _, _, _>::init(
            context.child("marshal"),
            finalizations_by_height,
            finalized_blocks,
            marshal::Config {
                provider: schemes.clone(),
                epocher: epocher.clone(),
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
    // What this node's own store holds, before consensus runs or any
    // peer is heard: a restart shows it resumed from its data, not from
    // its peers.
    if let Some(processed) = floor.processed() {
        let height = processed.height().get();
        chain.set_restored(height);
        info!(height, "reopened the store at its finalized height");
    }

    let (epoch_changes, mut epoch_rx) = futures::channel::mpsc::unbounded();
    let app = App::new(chain.clone(), epoch_changes);
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
        epocher.clone(),
    );
    marshal_actor.start(stateful_mailbox.clone(), buffer, resolver);
    stateful.start();

    let gossip = gossip::start(
        context.child("gossip"),
        chain.clone(),
        stateful_mailbox.clone(),
        channels.transactions,
    );

    let (evidence_reporter, faults) = EvidenceReporter::new();
    let finalized_state = FinalizedState::new(chain.clone(), stateful_mailbox.clone());
    evidence::start_slasher(
        context.child("slasher"),
        chain.clone(),
        key.clone(),
        committees.clone(),
        finalized_state.clone(),
        gossip.clone(),
        faults,
    );

    // Per-epoch subchannels: an engine only ever sees its own epoch's
    // messages. Votes and certificates from later epochs land in the backup
    // queues: a hint that this node is behind.
    let (mux, mut votes, mut vote_backup) = Muxer::builder(
        context.child("vote_mux"),
        channels.votes.0,
        channels.votes.1,
    )
    .with_backup()
    .build();
    mux.start();
    let (mux, mut certificates, mut certificate_backup) = Muxer::builder(
        context.child("certificate_mux"),
        channels.certificates.0,
        channels.certificates.1,
    )
    .with_backup()
    .build();
    mux.start();
    let (mux, mut simplex_resolver) = Muxer::new(
        context.child("simplex_resolver_mux"),
        channels.simplex_resolver.0,
        channels.simplex_resolver.1,
    );
    mux.start();

    let marshal = marshal_mailbox.clone();
    let orchestrator_chain = chain.clone();
    let behavior = config.behavior;
    let index_prefix = prefix.clone();
    let engine = context.child("epochs").spawn(move |context| async move {
        let chain = orchestrator_chain;
        // A child of this task: stopping the engine closes the index.
        chain.set_tx_index(
            crate::receipts::TxIndex::start(
                context.child("tx_index"),
                &index_prefix,
                page_cache.clone(),
            )
            .await,
        );
        let Some(start) = resolve_start(&chain, &marshal, &finalized_state, &epocher).await else {
            warn!("cannot resolve the starting epoch; consensus does not start");
            return;
        };
        let mut next = Some(start);
        let mut active: Option<(u64, Handle<()>)> = None;
        let mut previous_committee: Vec<PublicKey> = Vec::new();
        loop {
            if let Some(change) = next.take() {
                let epoch = change.epoch;
                let Some(scheme) = schemes.register(&namespace, epoch, &change.committee, &key)
                else {
                    warn!(epoch, "the committee lists a key twice; consensus stops");
                    return;
                };
                {
                    let mut known = committees.lock().unwrap_or_else(|e| e.into_inner());
                    known.insert(epoch, change.committee.clone());
                    known.retain(|e, _| e.saturating_add(2) > epoch);
                }
                // Peers of this epoch and the last, so a leaving validator
                // can still serve the blocks it has.
                let peers: Result<Set<PublicKey>, _> = change
                    .committee
                    .iter()
                    .chain(previous_committee.iter())
                    .cloned()
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .try_collect();
                if let Ok(peers) = peers {
                    let _ = manager.track(epoch, peers);
                }
                previous_committee = change.committee.clone();
                let (Ok(vote), Ok(certificate), Ok(resolver)) = (
                    votes.register(epoch).await,
                    certificates.register(epoch).await,
                    simplex_resolver.register(epoch).await,
                ) else {
                    warn!(epoch, "p2p multiplexer closed; consensus stops");
                    return;
                };
                let engine_context = context.child("simplex").with_attribute("epoch", epoch);
                let handle = match behavior {
                    Behavior::Honest => simplex::Engine::new(
                        engine_context,
                        simplex::Config {
                            scheme: scheme.as_ref().clone(),
                            elector: RoundRobin::<Sha256>::default(),
                            blocker: blocker.clone(),
                            automaton: crate::pacing::Paced::new(
                                context.child("pacing"),
                                chain.clone(),
                                deferred.clone(),
                            ),
                            relay: deferred.clone(),
                            reporter: Reporters::from((
                                deferred.clone(),
                                evidence_reporter.clone(),
                            )),
                            strategy: Sequential,
                            partition: format!("{prefix}-simplex-{epoch}"),
                            mailbox_size: NZUsize!(1024),
                            epoch: Epoch::new(epoch),
                            floor: simplex::Floor::Genesis(change.boundary),
                            replay_buffer: IO,
                            write_buffer: IO,
                            page_cache: page_cache.clone(),
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
                    )
                    .start(vote, certificate, resolver),
                    #[cfg(feature = "mocks")]
                    Behavior::Conflicter => {
                        use commonware_consensus::simplex::mocks::conflicter;
                        drop((certificate, resolver));
                        conflicter::Conflicter::<_, _, Sha256>::new(
                            engine_context,
                            conflicter::Config {
                                scheme: scheme.as_ref().clone(),
                            },
                        )
                        .start(vote)
                    }
                };
                if let Some((_, old)) = active.replace((epoch, handle)) {
                    old.abort();
                }
                info!(epoch, members = change.committee.len(), "entered epoch");
                let stakes = finalized_state
                    .records(
                        &change
                            .committee
                            .iter()
                            .map(|k| validator_key(Address::from_public_key(k)))
                            .collect::<Vec<_>>(),
                    )
                    .await
                    .unwrap_or_default();
                chain.enter_epoch(CurrentEpoch {
                    epoch,
                    members: change
                        .committee
                        .iter()
                        .map(|k| {
                            let stake = stakes
                                .validator(&Address::from_public_key(k))
                                .map_or(Amount::ZERO, |v| v.stake);
                            (k.clone(), stake)
                        })
                        .collect(),
                });
            }
            let current = active.as_ref().map_or(0, |(e, _)| *e);
            tokio::select! {
                biased;
                change = epoch_rx.next() => match change {
                    Some(change) if change.epoch > current => next = Some(change),
                    Some(_) => {}
                    None => return,
                },
                Some((epoch, (from, _))) = vote_backup.recv() => {
                    hint_behind(&marshal, &epocher, current, epoch, from);
                }
                Some((epoch, (from, _))) = certificate_backup.recv() => {
                    hint_behind(&marshal, &epocher, current, epoch, from);
                }
                else => return,
            }
        }
    });

    Validator {
        engine,
        marshal: marshal_mailbox,
        stateful: stateful_mailbox,
        chain,
        gossip,
    }
}

/// A message from a later epoch: ask its sender for the finalization of
/// our epoch's last block, which moves this node into the next epoch.
fn hint_behind(
    marshal: &MarshalMailbox<Scheme, Standard<Block>>,
    epocher: &FixedEpocher,
    current: u64,
    their_epoch: u64,
    from: PublicKey,
) {
    if their_epoch <= current {
        return;
    }
    if let Some(last) = epocher.last(Epoch::new(current)) {
        marshal.hint_finalized(last, NonEmptyVec::new(from));
    }
}

/// The epoch to start in: the one after the last processed block, with its
/// committee from the finalized state and the previous epoch's last block
/// as the engine's genesis.
async fn resolve_start<E: crate::Runtime>(
    chain: &Chain,
    marshal: &MarshalMailbox<Scheme, Standard<Block>>,
    state: &FinalizedState<E>,
    epocher: &FixedEpocher,
) -> Option<EpochChange> {
    let processed = marshal
        .get_processed()
        .await
        .map_or(0, |p| p.height().get());
    let params = &chain.params;
    let epoch = if processed > 0 && params.is_epoch_end(processed) {
        params.epoch_of(processed).saturating_add(1)
    } else {
        params.epoch_of(processed)
    };
    if epoch == 0 {
        return Some(EpochChange {
            epoch,
            committee: chain.committee().to_vec(),
            boundary: chain.genesis_block().digest(),
        });
    }
    let boundary_height = epocher.last(Epoch::new(epoch - 1))?;
    let boundary = marshal.get_block(boundary_height).await?;
    let dbs = state.databases().await;
    let committee = {
        let guard = dbs.read().await;
        read_records(&guard, [StakingKey::Committee(epoch).into()])
            .await
            .ok()?
    };
    Some(EpochChange {
        epoch,
        committee: committee.committee(epoch)?,
        boundary: boundary.digest(),
    })
}
