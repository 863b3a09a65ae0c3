//! Validators on the real network: tokio runtime, commonware's
//! authenticated p2p over TCP (encrypted, each peer identified by its
//! consensus key), every committee member a bootstrapper.

use crate::{
    chain::Chain,
    engine::{self, Channels, Timeouts, Validator, ValidatorConfig},
};
use commonware_consensus::simplex::scheme::ed25519::Scheme;
use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{Manager as _, authenticated::discovery};
use commonware_runtime::{Quota, Supervisor as _, tokio};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, TryCollect as _, ordered::Set};
use std::{net::SocketAddr, sync::Arc, time::Duration};
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
}

/// Starts a validator listening on `listen`, dialing the other `peers`.
/// `local` allows private and loopback addresses (devnets).
#[allow(clippy::too_many_arguments)]
pub async fn start_validator(
    context: &tokio::Context,
    key: &PrivateKey,
    listen: SocketAddr,
    peers: &[Peer],
    chain: Arc<Chain>,
    prefix: String,
    timeouts: Timeouts,
    local: bool,
) -> Result<Validator<tokio::Context>, NetError> {
    let me = key.public_key();
    let committee: Set<PublicKey> = peers
        .iter()
        .map(|p| p.key.clone())
        .try_collect()
        .map_err(|_| NetError::DuplicateKey)?;
    if !committee.iter().any(|k| k == &me) {
        return Err(NetError::NotInCommittee);
    }
    let n = u32::try_from(committee.len()).unwrap_or(u32::MAX);
    let context = context.child("validator").with_attribute("prefix", &prefix);
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
    let max_message = engine::max_message_size(n, &chain);
    let mailbox = NZUsize!(1024);
    let peers_per_set = NZUsize!(committee.len().max(1));
    let config = if local {
        discovery::Config::local
    } else {
        discovery::Config::recommended
    };
    let config = config(
        handshake,
        &namespace,
        listen,
        listen,
        bootstrappers,
        peers_per_set,
        max_message,
        mailbox,
    );
    let (mut network, mut oracle) = discovery::Network::new(context.child("network"), config);
    oracle.track(0, committee.clone());
    // Per-peer message rates. The inbound mailbox of each channel holds one
    // burst per peer, so these also bound memory.
    let quota = Quota::per_second(NZU32!(10_000));
    let channels = Channels {
        votes: network.register(0, quota),
        certificates: network.register(1, quota),
        simplex_resolver: network.register(2, quota),
        backfill: network.register(3, quota),
        broadcast: network.register(4, quota),
        transactions: network.register(5, quota),
    };
    network.start();
    let scheme =
        Scheme::signer(&namespace, committee, key.clone()).ok_or(NetError::NotInCommittee)?;
    Ok(engine::start(
        context,
        ValidatorConfig { prefix, timeouts },
        chain,
        scheme,
        me,
        oracle.clone(),
        oracle,
        channels,
    )
    .await)
}
