//! Validators on the real network: tokio runtime, commonware's
//! authenticated p2p over TCP (encrypted, each peer identified by its
//! consensus key), every committee member a bootstrapper.

use crate::{
    chain::Chain,
    engine::{self, Channels, Validator, ValidatorConfig},
};
use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{Manager as _, authenticated::discovery};
use commonware_runtime::{Supervisor as _, tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZUsize, TryCollect as _, ordered::Set};
use std::{net::SocketAddr, num::NonZeroUsize, sync::Arc, time::Duration};
use terrace_primitives::{PrivateKey, PublicKey, keys::Signer as _};

/// A committee member and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Consensus (and p2p identity) key.
    pub key: PublicKey,
    /// Its p2p address.
    pub addr: SocketAddr,
}

/// Why a validator could not start on the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The key is not in the committee.
    #[error("this validator's key is not in the committee")]
    NotInCommittee,
    /// Two committee members share a key.
    #[error("duplicate key in the committee")]
    DuplicateKey,
    /// A configured peer's key is not in the committee.
    #[error("the peer at {0} is not in the committee")]
    UnknownPeer(SocketAddr),
}

/// Where a validator listens and how others reach it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// Local socket to bind.
    pub listen: SocketAddr,
    /// The address other validators dial (differs from `listen` behind NAT
    /// or when binding 0.0.0.0).
    pub dialable: SocketAddr,
    /// Accept private and loopback addresses (local and LAN networks).
    pub allow_private: bool,
}

/// Starts a validator at `endpoint`. The committee is the chain's
/// genesis committee; `peers` are the members whose addresses are known
/// up front (bootstrappers) — discovery learns the rest from them.
pub async fn start_validator(
    context: &tokio::Context,
    key: &PrivateKey,
    endpoint: Endpoint,
    peers: &[Peer],
    chain: Arc<Chain>,
    config: ValidatorConfig,
) -> Result<Validator<tokio::Context>, NetError> {
    let me = key.public_key();
    let committee: Set<PublicKey> = chain
        .committee()
        .iter()
        .cloned()
        .try_collect()
        .map_err(|_| NetError::DuplicateKey)?;
    if let Some(stranger) = peers
        .iter()
        .find(|p| !committee.iter().any(|k| k == &p.key))
    {
        return Err(NetError::UnknownPeer(stranger.addr));
    }
    if !committee.iter().any(|k| k == &me) {
        return Err(NetError::NotInCommittee);
    }
    let context = context
        .child("validator")
        .with_attribute("prefix", &config.prefix);
    let bootstrappers = peers
        .iter()
        .filter(|p| p.key != me)
        .map(|p| (p.key.clone(), p.addr.into()))
        .collect();
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let namespace = engine::namespace(chain.chain_id().0);
    let max_message = engine::max_message_size(&chain);
    let mailbox = NZUsize!(1024);
    // A tracked set is an epoch's committee with the previous one's, so at
    // most twice the largest committee: anyone can stake into the committee,
    // and the tracker panics on a set over this bound. The previous epoch is
    // already in each set, so two sets are retained, not the default four.
    // Each channel's mailboxes hold one quota burst per retained peer,
    // allocated up front: this is what a node's idle memory mostly is.
    let peers_per_set = NonZeroUsize::new(
        usize::try_from(engine::committee_bound(&chain))
            .unwrap_or(usize::MAX)
            .saturating_mul(2),
    )
    .unwrap_or(NZUsize!(1));
    let network_config = if endpoint.allow_private {
        discovery::Config::local
    } else {
        discovery::Config::recommended
    };
    let mut network_config = network_config(
        handshake,
        &namespace,
        endpoint.listen,
        endpoint.dialable,
        bootstrappers,
        peers_per_set,
        max_message,
        mailbox,
    );
    network_config.tracked_peer_sets = NZUsize!(2);
    let (mut network, mut oracle) =
        discovery::Network::new(context.child("network"), network_config);
    oracle.track(0, committee.clone());
    let quota = engine::channel_quota();
    let channels = Channels {
        votes: network.register(0, quota),
        certificates: network.register(1, quota),
        simplex_resolver: network.register(2, quota),
        backfill: network.register(3, quota),
        broadcast: network.register(4, quota),
        transactions: network.register(5, quota),
    };
    network.start();
    Ok(engine::start(
        context,
        config,
        chain,
        key.clone(),
        oracle.clone(),
        oracle.clone(),
        oracle,
        channels,
    )
    .await)
}

/// What a validator needs to start on the network with its JSON-RPC.
#[derive(Debug)]
pub struct NodeSpec<'a> {
    /// Consensus and p2p key.
    pub key: &'a PrivateKey,
    /// Where it listens.
    pub endpoint: Endpoint,
    /// Committee members to dial first.
    pub peers: &'a [Peer],
    /// JSON-RPC address.
    pub rpc: SocketAddr,
    /// Storage prefix (unique per validator sharing a store).
    pub prefix: String,
    /// Consensus timeouts.
    pub timeouts: crate::engine::Timeouts,
}

/// A validator started on the network, with its JSON-RPC server.
pub struct Running {
    /// Shared chain state.
    pub chain: Arc<Chain>,
    /// The consensus engine.
    pub engine: commonware_runtime::Handle<()>,
    /// The JSON-RPC server.
    pub rpc: jsonrpsee::server::ServerHandle,
    /// Submits transactions in-process (benchmarks).
    pub gossip: crate::gossip::Gossip,
    /// The finalized state (benchmarks).
    pub state: crate::gossip::FinalizedState<tokio::Context>,
    /// In-process reads of finalized blocks and records, and submission
    /// (the devnet's rollup nodes).
    pub client: crate::engine::LocalClient<tokio::Context>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Running")
    }
}

impl Running {
    /// Stops the RPC server and the engine.
    pub fn stop(self) {
        let _ = self.rpc.stop();
        self.engine.abort();
    }
}

/// Why a validator with its JSON-RPC could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The genesis does not make a chain.
    #[error(transparent)]
    Genesis(#[from] terrace_l1::genesis::GenesisError),
    /// The network refused it.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The JSON-RPC address cannot be served.
    #[error("cannot serve JSON-RPC on {addr}: {error}")]
    Rpc {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

/// Starts a validator on the network and its JSON-RPC server.
pub async fn start_node(
    context: &tokio::Context,
    genesis: &terrace_l1::genesis::Genesis,
    spec: NodeSpec<'_>,
) -> Result<Running, StartError> {
    let chain = Arc::new(Chain::new(
        genesis.clone(),
        crate::state::empty_log::<tokio::Context>(),
        terrace_mempool::PoolConfig::default(),
        2,
    )?);
    let validator = start_validator(
        context,
        spec.key,
        spec.endpoint,
        spec.peers,
        chain.clone(),
        ValidatorConfig::new(spec.prefix, spec.timeouts),
    )
    .await?;
    let backend = Arc::new(crate::rpc::backend::NodeBackend::new(
        chain.clone(),
        validator.stateful.clone(),
        validator.gossip.clone(),
        validator.marshal.clone(),
    ));
    let (_, rpc) = crate::rpc::serve(spec.rpc, backend)
        .await
        .map_err(|error| StartError::Rpc {
            addr: spec.rpc,
            error,
        })?;
    Ok(Running {
        client: validator.client(),
        state: crate::gossip::FinalizedState::new(chain.clone(), validator.stateful.clone()),
        chain,
        engine: validator.engine,
        rpc,
        gossip: validator.gossip.clone(),
    })
}
