//! Epochs: the committee changes every `epoch_length_blocks` blocks.
//!
//! simplex counts validators, not stake, and runs one committee per engine,
//! so a node runs one engine per epoch. The last block of epoch e records
//! epoch e + 1's committee in the state (see `terrace_l1::modules::staking`); when
//! that block is finalized the application reports an [`EpochChange`], and
//! the node's orchestrator (in [`crate::engine`]) starts the next engine on
//! fresh per-epoch p2p subchannels and stops the old one.

use commonware_consensus::{simplex::scheme::ed25519::Scheme, types::Epoch};
use commonware_cryptography::certificate::{Provider, Scoped};
use commonware_utils::{TryCollect as _, ordered::Set};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};
use terrace_primitives::{Hash, PrivateKey, PublicKey, keys::Signer as _};

/// The next epoch, learned from a finalized boundary block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochChange {
    /// The epoch starting.
    pub epoch: u64,
    /// Its committee, sorted by key bytes.
    pub committee: Vec<PublicKey>,
    /// The digest of the previous epoch's last block: the new engine's
    /// genesis.
    pub boundary: Hash,
}

/// Signing schemes by epoch, for marshal (which verifies each finalization
/// with its epoch's committee) and the engines.
#[derive(Clone, Default, Debug)]
pub struct EpochSchemes {
    schemes: Arc<Mutex<BTreeMap<Epoch, Arc<Scheme>>>>,
}

/// Epochs whose schemes stay known below the current one: marshal may still
/// verify their finalizations while a peer catches up.
const RETAINED_EPOCHS: u64 = 4;

impl EpochSchemes {
    /// Registers `epoch`'s committee: a signer if `key` is a member, a
    /// verifier (observer) otherwise. Forgets epochs long past. Returns
    /// `None` if the committee lists a key twice.
    pub fn register(
        &self,
        namespace: &[u8],
        epoch: u64,
        committee: &[PublicKey],
        key: &PrivateKey,
    ) -> Option<Arc<Scheme>> {
        let participants: Set<PublicKey> = committee.iter().cloned().try_collect().ok()?;
        let scheme = if participants.iter().any(|k| k == &key.public_key()) {
            Scheme::signer(namespace, participants, key.clone())?
        } else {
            Scheme::verifier(namespace, participants)
        };
        let scheme = Arc::new(scheme);
        let mut schemes = self.schemes.lock().unwrap_or_else(|e| e.into_inner());
        schemes.insert(Epoch::new(epoch), scheme.clone());
        let keep = Epoch::new(epoch.saturating_sub(RETAINED_EPOCHS));
        schemes.retain(|e, _| *e >= keep);
        Some(scheme)
    }
}

impl Provider for EpochSchemes {
    type Scope = Epoch;
    type Scheme = Scheme;

    fn scoped(&self, epoch: Epoch) -> Option<Scoped<Scheme>> {
        self.schemes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&epoch)
            .cloned()
            .map(Scoped::scheme)
    }
}
