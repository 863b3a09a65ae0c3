//! Equivocation evidence from the consensus engine, on chain.
//!
//! simplex reports three faults with the ed25519 scheme, each two votes
//! signed by one validator in one round: `ConflictingNotarize`,
//! `ConflictingFinalize` and `NullifyFinalize`. They verify on their own
//! against the committee of their epoch, so they are the `Slash` payload:
//! a tag byte (simplex's activity tag) then the fault's encoding.
//!
//! [`EvidenceReporter`] takes them from the engine; [`start_slasher`] checks
//! each, and sends one `Slash` transaction per offender and epoch, signed
//! by this validator, so that every honest proposer includes it.

use crate::{
    Runtime,
    chain::Chain,
    gossip::{FinalizedState, Gossip},
};
use bytes::{BufMut as _, Bytes, BytesMut};
use commonware_codec::{Copying, DecodeExt as _, Encode as _};
use commonware_consensus::{
    Epochable as _, Reporter, Viewable as _,
    simplex::{
        scheme::ed25519::Scheme,
        types::{
            Activity, Attributable as _, ConflictingFinalize, ConflictingNotarize, NullifyFinalize,
        },
    },
};
use commonware_parallel::Sequential;
use commonware_utils::{
    TryCollect as _,
    ordered::{Quorum as _, Set},
};
use futures::{StreamExt as _, channel::mpsc};
use rand_core::SeedableRng as _;
use std::{
    collections::{BTreeMap, btree_map::Entry},
    sync::Arc,
    time::Duration,
};
use terrace_l1::{
    Key, Payload, Transaction,
    modules::staking::{
        EvidenceError, EvidenceVerifier, Offense, StakingKey, StakingOp, StakingRecords as _,
    },
};
use terrace_primitives::{Address, Hash, PrivateKey, PublicKey, hash_tagged, keys::Signer as _};
use tracing::{debug, info, warn};

const NOTARIZE: u8 = 7;
const FINALIZE: u8 = 8;
const NULLIFY_FINALIZE: u8 = 9;

/// A fault simplex can prove.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Two notarize votes for different proposals in one round.
    ConflictingNotarize(ConflictingNotarize<Scheme, Hash>),
    /// Two finalize votes for different proposals in one round.
    ConflictingFinalize(ConflictingFinalize<Scheme, Hash>),
    /// A nullify and a finalize in one round.
    NullifyFinalize(NullifyFinalize<Scheme, Hash>),
}

impl Fault {
    /// The fault in an engine report, if it is one.
    pub fn from_activity(activity: &Activity<Scheme, Hash>) -> Option<Self> {
        match activity {
            Activity::ConflictingNotarize(f) => Some(Self::ConflictingNotarize(f.clone())),
            Activity::ConflictingFinalize(f) => Some(Self::ConflictingFinalize(f.clone())),
            Activity::NullifyFinalize(f) => Some(Self::NullifyFinalize(f.clone())),
            _ => None,
        }
    }

    /// The `Slash` payload bytes.
    pub fn to_bytes(&self) -> Bytes {
        let (tag, body) = match self {
            Self::ConflictingNotarize(f) => (NOTARIZE, f.encode()),
            Self::ConflictingFinalize(f) => (FINALIZE, f.encode()),
            Self::NullifyFinalize(f) => (NULLIFY_FINALIZE, f.encode()),
        };
        let mut out = BytesMut::with_capacity(1 + body.len());
        out.put_u8(tag);
        out.put_slice(&body);
        out.freeze()
    }

    /// Decodes `Slash` payload bytes; decoding already refuses two votes
    /// from different signers or rounds, or for the same proposal.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EvidenceError> {
        let malformed = |e: commonware_codec::Error| EvidenceError::Malformed(e.to_string());
        let (tag, body) = bytes
            .split_first()
            .ok_or_else(|| EvidenceError::Malformed("empty evidence".into()))?;
        Ok(match *tag {
            NOTARIZE => Self::ConflictingNotarize(
                ConflictingNotarize::decode(Copying(body)).map_err(malformed)?,
            ),
            FINALIZE => Self::ConflictingFinalize(
                ConflictingFinalize::decode(Copying(body)).map_err(malformed)?,
            ),
            NULLIFY_FINALIZE => {
                Self::NullifyFinalize(NullifyFinalize::decode(Copying(body)).map_err(malformed)?)
            }
            t => return Err(EvidenceError::Malformed(format!("unknown fault tag {t}"))),
        })
    }

    fn epoch(&self) -> u64 {
        match self {
            Self::ConflictingNotarize(f) => f.epoch().get(),
            Self::ConflictingFinalize(f) => f.epoch().get(),
            Self::NullifyFinalize(f) => f.epoch().get(),
        }
    }

    fn signer(&self) -> commonware_utils::Participant {
        match self {
            Self::ConflictingNotarize(f) => f.signer(),
            Self::ConflictingFinalize(f) => f.signer(),
            Self::NullifyFinalize(f) => f.signer(),
        }
    }

    fn view(&self) -> u64 {
        match self {
            Self::ConflictingNotarize(f) => f.view().get(),
            Self::ConflictingFinalize(f) => f.view().get(),
            Self::NullifyFinalize(f) => f.view().get(),
        }
    }

    /// Checks both signatures against `verifier` (ed25519 verification
    /// draws no randomness; the generator only satisfies the signature).
    fn verify(&self, verifier: &Scheme) -> bool {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0);
        match self {
            Self::ConflictingNotarize(f) => f.verify(&mut rng, verifier, &Sequential),
            Self::ConflictingFinalize(f) => f.verify(&mut rng, verifier, &Sequential),
            Self::NullifyFinalize(f) => f.verify(&mut rng, verifier, &Sequential),
        }
    }
}

/// Verifies simplex faults for the L1's `Slash` transactions.
#[derive(Debug, Clone)]
pub struct SimplexEvidence {
    namespace: Vec<u8>,
}

impl SimplexEvidence {
    /// Evidence of votes cast under the consensus `namespace`.
    pub fn new(namespace: Vec<u8>) -> Self {
        Self { namespace }
    }
}

impl EvidenceVerifier for SimplexEvidence {
    fn epoch(&self, evidence: &[u8]) -> Result<u64, EvidenceError> {
        Ok(Fault::from_bytes(evidence)?.epoch())
    }

    fn verify(&self, evidence: &[u8], committee: &[PublicKey]) -> Result<Offense, EvidenceError> {
        let fault = Fault::from_bytes(evidence)?;
        let participants: Set<PublicKey> = committee
            .iter()
            .cloned()
            .try_collect()
            .map_err(|_| EvidenceError::Invalid("the committee lists a key twice"))?;
        let offender = participants
            .key(fault.signer())
            .cloned()
            .ok_or(EvidenceError::Invalid(
                "the signer is not in the epoch's committee",
            ))?;
        if !fault.verify(&Scheme::verifier(&self.namespace, participants)) {
            return Err(EvidenceError::Invalid("a vote signature does not verify"));
        }
        Ok(Offense {
            offender: Address::from_public_key(&offender),
            id: offense_id(&offender, fault.epoch()),
        })
    }
}

/// One offense per validator and epoch: a validator that equivocates in
/// many views of an epoch is slashed once for it, and leaves the committee
/// at the next epoch.
pub fn offense_id(offender: &PublicKey, epoch: u64) -> Hash {
    hash_tagged(
        b"terrace/l1/offense/simplex",
        &[offender.as_ref(), &epoch.to_be_bytes()],
    )
}

/// Forwards the engine's fault reports (every other activity is ignored;
/// marshal's wrapper sees them all).
#[derive(Clone, Debug)]
pub struct EvidenceReporter {
    faults: mpsc::UnboundedSender<Fault>,
}

impl EvidenceReporter {
    /// A reporter and the stream of faults it forwards.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Fault>) {
        let (faults, rx) = mpsc::unbounded();
        (Self { faults }, rx)
    }
}

impl Reporter for EvidenceReporter {
    type Activity = Activity<Scheme, Hash>;

    fn report(&mut self, activity: Self::Activity) -> commonware_actor::Feedback {
        if let Some(fault) = Fault::from_activity(&activity) {
            let _ = self.faults.unbounded_send(fault);
        }
        commonware_actor::Feedback::Ok
    }
}

/// Committees of recent epochs, sorted by key bytes, shared between the
/// epoch orchestrator (which learns them) and the slasher (which checks
/// evidence against them).
pub type Committees = Arc<std::sync::Mutex<std::collections::BTreeMap<u64, Vec<PublicKey>>>>;

/// Turns verified faults into `Slash` transactions signed by `key`, one per
/// offender and epoch, through this validator's pool and gossip.
///
/// A fault is kept until the finalized state records its offense as
/// punished (by anyone's transaction) or its evidence expires; while
/// neither, a transaction for it is re-sent whenever none is pending. The
/// engine reports a fault once (the offender's messages are then blocked),
/// and this validator may not afford the fee yet, so one attempt is not
/// enough.
pub fn start_slasher<E: Runtime>(
    context: E,
    chain: Arc<Chain>,
    key: PrivateKey,
    committees: Committees,
    state: FinalizedState<E>,
    gossip: Gossip,
    mut faults: mpsc::UnboundedReceiver<Fault>,
) {
    context.spawn(move |context| async move {
        let verifier = SimplexEvidence::new(crate::engine::namespace(chain.chain_id().0));
        let me = Address::from_public_key(&key.public_key());
        let mut pending: BTreeMap<Hash, Pending> = BTreeMap::new();
        loop {
            let fault = tokio::select! {
                biased;
                fault = faults.next() => match fault {
                    Some(fault) => Some(fault),
                    None => return,
                },
                _ = context.sleep(RETRY) => None,
            };
            if let Some(fault) = fault {
                let bytes = fault.to_bytes();
                let committee = committees
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&fault.epoch())
                    .cloned();
                let Some(committee) = committee else {
                    continue;
                };
                match verifier.verify(&bytes, &committee) {
                    Ok(offense) if offense.offender != me => {
                        if let Entry::Vacant(slot) = pending.entry(offense.id) {
                            info!(
                                offender = %offense.offender,
                                epoch = fault.epoch(),
                                view = fault.view(),
                                "equivocation detected"
                            );
                            slot.insert(Pending {
                                offender: offense.offender,
                                epoch: fault.epoch(),
                                evidence: bytes,
                                sent: None,
                            });
                        }
                    }
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "engine reported evidence that does not verify"),
                }
                continue;
            }
            if pending.is_empty() {
                continue;
            }
            let tip = chain.tip().block.header().height;
            let current = chain.params.epoch_of(tip.saturating_add(1));
            let ids: Vec<Key> = pending
                .keys()
                .map(|id| StakingKey::Slashed(*id).into())
                .collect();
            let Ok(records) = state.records(&ids).await else {
                continue;
            };
            pending.retain(|id, p| {
                records.slashed(id).is_none() && p.epoch.saturating_add(1) >= current
            });
            for p in pending.values_mut() {
                let in_flight = match p.sent {
                    Some(h) => chain.pooled(&h).is_some() || chain.tx_location(&h).await.is_some(),
                    None => false,
                };
                if in_flight {
                    continue;
                }
                match submit_slash(&chain, &key, me, &state, &gossip, p.evidence.clone()).await {
                    Ok(hash) => {
                        info!(offender = %p.offender, epoch = p.epoch, tx = %hash, "sent a slash");
                        p.sent = Some(hash);
                    }
                    Err(e) => debug!(offender = %p.offender, error = %e, "cannot send a slash yet"),
                }
            }
        }
    });
}

/// How often pending evidence is looked at.
const RETRY: Duration = Duration::from_secs(1);

/// A fault waiting to be punished on chain.
struct Pending {
    offender: Address,
    epoch: u64,
    evidence: Bytes,
    /// This validator's last `Slash` for it.
    sent: Option<Hash>,
}

async fn submit_slash<E: Runtime>(
    chain: &Chain,
    key: &PrivateKey,
    me: Address,
    state: &FinalizedState<E>,
    gossip: &Gossip,
    evidence: Bytes,
) -> Result<Hash, String> {
    let account = state.account(me).await?;
    let nonce = chain.pool_next_nonce(&me).unwrap_or(account.nonce);
    let params = &chain.params;
    let base_fee = chain.tip().next_base_fee;
    let payload = Payload::Staking(StakingOp::Slash { evidence });
    // Gas: the intrinsic cost of this payload at a generous encoding size.
    let gas_limit = terrace_l1::tx::intrinsic_gas(&payload, 1_024, params)
        .ok_or("gas overflows")?
        .saturating_add(params.gas.per_byte.saturating_mul(1_024));
    let tx = Transaction {
        chain_id: chain.chain_id(),
        nonce,
        max_fee_per_gas: base_fee.saturating_mul(2).max(params.min_base_fee),
        max_priority_fee_per_gas: 1,
        gas_limit,
        payload,
    }
    .sign(key);
    gossip
        .submit(chain, state, tx.encode())
        .await
        .map_err(|e| e.to_string())
}
