//! One side of one channel: the pure state machine behind the peer
//! protocol. No I/O, no clock: it takes commands and messages and answers
//! with a [`Step`] — what to persist, what to send, what happened — that
//! the node carries out in that order (persist before send, so a
//! revocation never leaves before the state that replaces it is on disk).
//!
//! # Update protocol (1.5 round trips, as Lightning's)
//!
//! Either side sends updates (add, fulfill, fail HTLC), then proposes the
//! next version with `commitment_signed`, naming how many of each side's
//! pending updates it applies (A's first, then B's). The peer checks the
//! signature over the state it computes the same way, signs it too, and
//! answers `commitment_signed` + `revoke_and_ack` of the version before.
//! The proposer, now holding both signatures, revokes its own. A side
//! revokes a version only once it holds a newer one signed by both, so an
//! honest side can always publish a state it never revoked.
//!
//! When both propose the same version at once, A's proposal wins: B drops
//! its own (its updates stay pending) and answers A's. Fulfills and fails
//! name only HTLCs of the committed state, so the order of the two sides'
//! updates within a version never matters.

use crate::wire::Message;
use bytes::Bytes;
use terrace_l1::modules::channels::{
    ChannelState, Htlc, OpenTerms, Revocation, STATE_NAMESPACE, Side, SignedState, payment_hash,
};
use terrace_primitives::{Amount, ChainId, Hash, PrivateKey, PublicKey, Signature, keys};

/// Why a command or a peer's message was refused (the channel is
/// unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The message is for another channel.
    #[error("message for channel {0}, not this one")]
    WrongChannel(Hash),
    /// A signature does not verify.
    #[error("the peer's signature does not verify")]
    InvalidSignature,
    /// The offerer's balance does not cover the amount and the reserve.
    #[error("insufficient capacity: {available} available after the reserve, {amount} asked")]
    InsufficientCapacity {
        /// What the offerer can send.
        available: Amount,
        /// What was asked.
        amount: Amount,
    },
    /// The offerer's HTLC slots are full.
    #[error("the offerer has its maximum of {0} HTLCs in flight")]
    TooManyHtlcs(u16),
    /// An HTLC locks nothing.
    #[error("an HTLC must lock a positive amount")]
    ZeroAmount,
    /// An HTLC id is not the offerer's next one.
    #[error("HTLC id {got} is not the next one ({expected})")]
    UnexpectedId {
        /// What the message carries.
        got: u64,
        /// What the offerer's sequence gives.
        expected: u64,
    },
    /// No committed HTLC offered to the resolver has this id (or it is
    /// resolved already).
    #[error("no HTLC {0} to resolve")]
    UnknownHtlc(u64),
    /// The preimage does not hash to the HTLC's payment hash.
    #[error("the preimage does not match HTLC {0}'s payment hash")]
    PreimageMismatch(u64),
    /// A commitment for a version other than the next.
    #[error("commitment for version {got}, expected {expected}")]
    UnexpectedVersion {
        /// What the message carries.
        got: u64,
        /// The next version.
        expected: u64,
    },
    /// A commitment counts more updates than were sent.
    #[error("commitment counts updates that were never sent")]
    UnknownUpdates,
    /// A revocation that does not follow the last one or covers the
    /// current version.
    #[error("revocation of version {0} is out of order")]
    BadRevocation(u64),
    /// A state from the peer does not sum to the capacity.
    #[error("state does not sum to the channel's capacity")]
    BalanceMismatch,
    /// An amount overflowed.
    #[error("amount overflow")]
    Overflow,
}

/// An update proposed by one side, not yet in a committed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Offer an HTLC (with its route payload).
    Add(Htlc, Bytes),
    /// Reveal an HTLC's preimage: it pays its receiver.
    Fulfill {
        /// The HTLC.
        id: u64,
        /// Its preimage.
        preimage: [u8; 32],
    },
    /// Give an HTLC back to its offerer.
    Fail {
        /// The HTLC.
        id: u64,
        /// A routing failure code.
        reason: u16,
    },
}

/// Something the node acts on, reported once it cannot be undone: the
/// version carrying it is signed by both and the peer revoked the one
/// before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's HTLC is locked to us: settle it (we are the payee) or
    /// forward it.
    Received(Htlc, Bytes),
    /// Our HTLC was fulfilled: the preimage pays upstream.
    Fulfilled {
        /// Its id.
        id: u64,
        /// Its preimage.
        preimage: [u8; 32],
    },
    /// Our HTLC failed.
    Failed {
        /// Its id.
        id: u64,
        /// The peer's reason.
        reason: u16,
    },
    /// Updates no version committed were dropped (a reconnect): our adds
    /// among them never happened.
    Dropped(Vec<Update>),
}

/// What a command or a message asks of the node, in order: persist
/// [`Step::persist`] (if any) durably, then send [`Step::send`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Step {
    /// The channel's durable part changed: write it before sending.
    pub persist: Option<Snapshot>,
    /// Messages to the peer.
    pub send: Vec<Message>,
    /// What happened.
    pub events: Vec<Event>,
}

/// What a side keeps on disk: enough to publish its newest state, prove
/// the peer's theft and resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The newest state signed by both.
    pub current: SignedState,
    /// Every version up to this we revoked (never publish them).
    pub revoked_upto: Option<u64>,
    /// The peer's newest revocation and its signature.
    pub peer_revocation: Option<(u64, Signature)>,
    /// The next id of our own HTLCs.
    pub next_id: u64,
    /// The lowest id the peer's next HTLC may take (above every one of
    /// its HTLCs a committed version carried).
    pub next_peer_id: u64,
}

impl Snapshot {
    /// A channel just opened: version 0 signed by both, nothing revoked.
    pub fn opening(current: SignedState, me: Side) -> Self {
        Self {
            current,
            revoked_upto: None,
            peer_revocation: None,
            next_id: first_id(me),
            next_peer_id: first_id(me.other()),
        }
    }
}

/// A proposal we signed and sent, waiting for the peer's signature.
#[derive(Debug, Clone)]
struct Proposal {
    state: ChannelState,
    signature: Signature,
    ours: usize,
    theirs: usize,
}

/// One side of a channel.
#[derive(Debug)]
pub struct Channel {
    id: Hash,
    me: Side,
    key: PrivateKey,
    a: PublicKey,
    b: PublicKey,
    capacity: Amount,
    reserve: Amount,
    max_htlcs: u16,
    current: SignedState,
    revoked_upto: Option<u64>,
    peer_revocation: Option<(u64, Signature)>,
    /// Our updates since the last committed version, in the order sent.
    ours: Vec<Update>,
    /// The peer's, in the order received.
    theirs: Vec<Update>,
    in_flight: Option<Proposal>,
    /// Events of a version, waiting for the peer's revocation of the
    /// version before it.
    unrevoked: Vec<(u64, Event)>,
    next_id: u64,
    /// The lowest id the peer's next add may take.
    next_peer_id: u64,
    /// The same, counting only committed versions (what a reconnect
    /// resumes from: uncommitted adds are dropped on both sides).
    next_peer_id_committed: u64,
}

/// Version 0: the deposits, no HTLCs.
pub fn initial_state(terms: &OpenTerms, chain: ChainId) -> ChannelState {
    ChannelState {
        channel: terms.channel_id(chain),
        version: 0,
        balance_a: terms.deposit_a,
        balance_b: terms.deposit_b,
        htlcs: Vec::new(),
    }
}

fn balance_mut(s: &mut ChannelState, side: Side) -> &mut Amount {
    match side {
        Side::A => &mut s.balance_a,
        Side::B => &mut s.balance_b,
    }
}

fn first_id(side: Side) -> u64 {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

impl Channel {
    /// A side of the channel opened with `terms`, from `current` (version
    /// 0 or a restored snapshot's state) signed by both.
    pub fn new(
        terms: &OpenTerms,
        chain: ChainId,
        me: Side,
        key: PrivateKey,
        snapshot: Snapshot,
    ) -> Result<Self, ChannelError> {
        let capacity = terms
            .deposit_a
            .checked_add(terms.deposit_b)
            .ok_or(ChannelError::Overflow)?;
        let mut channel = Self {
            id: terms.channel_id(chain),
            me,
            key,
            a: terms.a.clone(),
            b: terms.b.clone(),
            capacity,
            reserve: terms.reserve,
            max_htlcs: terms.max_htlcs,
            current: snapshot.current.clone(),
            revoked_upto: snapshot.revoked_upto,
            peer_revocation: snapshot.peer_revocation,
            ours: Vec::new(),
            theirs: Vec::new(),
            in_flight: None,
            unrevoked: Vec::new(),
            next_id: snapshot.next_id,
            next_peer_id: snapshot.next_peer_id,
            next_peer_id_committed: snapshot.next_peer_id,
        };
        channel.check_signed(&snapshot.current)?;
        channel.bump_ids();
        Ok(channel)
    }

    /// The channel's id.
    pub fn id(&self) -> &Hash {
        &self.id
    }

    /// Our side.
    pub fn side(&self) -> Side {
        self.me
    }

    /// The newest state signed by both: the one to publish in a
    /// unilateral close (we never revoked it).
    pub fn current(&self) -> &SignedState {
        &self.current
    }

    /// The peer's newest revocation: evidence if it closes with a state
    /// of that version or older.
    pub fn peer_revocation(&self) -> Option<Revocation> {
        self.peer_revocation.as_ref().map(|(upto, _)| Revocation {
            channel: self.id,
            revoked_upto: *upto,
        })
    }

    /// The peer's newest revocation with its signature.
    pub fn peer_revocation_signed(&self) -> Option<(Revocation, Signature)> {
        self.peer_revocation.as_ref().map(|(upto, sig)| {
            (
                Revocation {
                    channel: self.id,
                    revoked_upto: *upto,
                },
                sig.clone(),
            )
        })
    }

    /// What to keep on disk.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            current: self.current.clone(),
            revoked_upto: self.revoked_upto,
            peer_revocation: self.peer_revocation.clone(),
            next_id: self.next_id,
            next_peer_id: self.next_peer_id_committed,
        }
    }

    /// Our balance in the committed state.
    pub fn balance(&self) -> Amount {
        match self.me {
            Side::A => self.current.state.balance_a,
            Side::B => self.current.state.balance_b,
        }
    }

    /// Whether updates wait for a commitment (and none is in flight).
    pub fn wants_commit(&self) -> bool {
        self.in_flight.is_none() && !(self.ours.is_empty() && self.theirs.is_empty())
    }

    fn key_of(&self, side: Side) -> &PublicKey {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    fn check_signed(&self, s: &SignedState) -> Result<(), ChannelError> {
        if s.state.channel != self.id {
            return Err(ChannelError::WrongChannel(s.state.channel));
        }
        if s.state.total() != Some(self.capacity) {
            return Err(ChannelError::BalanceMismatch);
        }
        let m = s.state.message();
        for (side, sig) in [(Side::A, &s.sig_a), (Side::B, &s.sig_b)] {
            keys::verify(self.key_of(side), STATE_NAMESPACE, &m, sig)
                .map_err(|_| ChannelError::InvalidSignature)?;
        }
        Ok(())
    }

    /// Moves both id sequences above every id of the committed state.
    fn bump_ids(&mut self) {
        for h in &self.current.state.htlcs {
            let next = h.id.saturating_add(2);
            if h.offerer == self.me {
                self.next_id = self.next_id.max(next);
            } else {
                self.next_peer_id_committed = self.next_peer_id_committed.max(next);
                self.next_peer_id = self.next_peer_id.max(next);
            }
        }
    }

    /// The next version: `base` with A's updates, then B's, applied.
    fn apply(
        &self,
        base: &ChannelState,
        ours: &[Update],
        theirs: &[Update],
    ) -> Result<ChannelState, ChannelError> {
        let mut next = base.clone();
        next.version += 1;
        let (a, b) = match self.me {
            Side::A => (ours, theirs),
            Side::B => (theirs, ours),
        };
        for (side, updates) in [(Side::A, a), (Side::B, b)] {
            for u in updates {
                self.apply_one(base, &mut next, side, u)?;
            }
        }
        Ok(next)
    }

    fn apply_one(
        &self,
        base: &ChannelState,
        next: &mut ChannelState,
        by: Side,
        update: &Update,
    ) -> Result<(), ChannelError> {
        match update {
            Update::Add(h, _) => {
                if h.amount.is_zero() {
                    return Err(ChannelError::ZeroAmount);
                }
                let offered = next.htlcs.iter().filter(|x| x.offerer == by).count();
                if offered >= usize::from(self.max_htlcs) {
                    return Err(ChannelError::TooManyHtlcs(self.max_htlcs));
                }
                let balance = balance_mut(next, by);
                let available = balance.checked_sub(self.reserve).unwrap_or(Amount::ZERO);
                if h.amount > available {
                    return Err(ChannelError::InsufficientCapacity {
                        available,
                        amount: h.amount,
                    });
                }
                *balance = balance
                    .checked_sub(h.amount)
                    .ok_or(ChannelError::Overflow)?;
                next.htlcs.push(*h);
            }
            Update::Fulfill { id, preimage } => {
                let h = Self::committed(base, next, by, *id)?;
                if payment_hash(preimage) != h.payment_hash {
                    return Err(ChannelError::PreimageMismatch(*id));
                }
                next.htlcs.retain(|x| x.id != *id);
                let balance = balance_mut(next, by);
                *balance = balance
                    .checked_add(h.amount)
                    .ok_or(ChannelError::Overflow)?;
            }
            Update::Fail { id, .. } => {
                let h = Self::committed(base, next, by, *id)?;
                next.htlcs.retain(|x| x.id != *id);
                let balance = balance_mut(next, h.offerer);
                *balance = balance
                    .checked_add(h.amount)
                    .ok_or(ChannelError::Overflow)?;
            }
        }
        Ok(())
    }

    /// An HTLC offered to `resolver`, committed in `base` and not yet
    /// resolved in `next`.
    fn committed(
        base: &ChannelState,
        next: &ChannelState,
        resolver: Side,
        id: u64,
    ) -> Result<Htlc, ChannelError> {
        let in_base = base
            .htlcs
            .iter()
            .any(|h| h.id == id && h.offerer == resolver.other());
        next.htlcs
            .iter()
            .find(|h| h.id == id && in_base)
            .copied()
            .ok_or(ChannelError::UnknownHtlc(id))
    }

    /// Queues our update after checking it applies on top of everything
    /// pending.
    fn push_ours(&mut self, update: Update) -> Result<(), ChannelError> {
        let mut ours = self.ours.clone();
        ours.push(update);
        self.apply(&self.current.state, &ours, &self.theirs)?;
        self.ours = ours;
        Ok(())
    }

    /// Offers an HTLC to the peer.
    pub fn add_htlc(
        &mut self,
        amount: Amount,
        payment_hash: Hash,
        expiry: u64,
        onion: Bytes,
    ) -> Result<(u64, Message), ChannelError> {
        let htlc = Htlc {
            id: self.next_id,
            offerer: self.me,
            amount,
            payment_hash,
            expiry,
        };
        self.push_ours(Update::Add(htlc, onion.clone()))?;
        self.next_id += 2;
        Ok((
            htlc.id,
            Message::AddHtlc {
                channel: self.id,
                id: htlc.id,
                amount,
                payment_hash,
                expiry,
                onion,
            },
        ))
    }

    /// Claims the peer's HTLC `id` with its preimage.
    pub fn fulfill_htlc(&mut self, id: u64, preimage: [u8; 32]) -> Result<Message, ChannelError> {
        self.push_ours(Update::Fulfill { id, preimage })?;
        Ok(Message::FulfillHtlc {
            channel: self.id,
            id,
            preimage,
        })
    }

    /// Gives the peer's HTLC `id` back.
    pub fn fail_htlc(&mut self, id: u64, reason: u16) -> Result<Message, ChannelError> {
        self.push_ours(Update::Fail { id, reason })?;
        Ok(Message::FailHtlc {
            channel: self.id,
            id,
            reason,
        })
    }

    /// Proposes the next version with every pending update, if any and
    /// none is in flight.
    pub fn commit(&mut self) -> Result<Option<Message>, ChannelError> {
        if !self.wants_commit() {
            return Ok(None);
        }
        let state = self.apply(&self.current.state, &self.ours, &self.theirs)?;
        let signature = state.sign(&self.key);
        let message = Message::CommitmentSigned {
            channel: self.id,
            version: state.version,
            senders: u32::try_from(self.ours.len()).map_err(|_| ChannelError::Overflow)?,
            receivers: u32::try_from(self.theirs.len()).map_err(|_| ChannelError::Overflow)?,
            signature: signature.clone(),
        };
        self.in_flight = Some(Proposal {
            state,
            signature,
            ours: self.ours.len(),
            theirs: self.theirs.len(),
        });
        Ok(Some(message))
    }

    /// Handles a message from the peer.
    pub fn receive(&mut self, message: &Message) -> Result<Step, ChannelError> {
        if *message.channel() != self.id {
            return Err(ChannelError::WrongChannel(*message.channel()));
        }
        match message {
            Message::AddHtlc {
                id,
                amount,
                payment_hash,
                expiry,
                onion,
                ..
            } => {
                if *id < self.next_peer_id || id % 2 != self.next_peer_id % 2 {
                    return Err(ChannelError::UnexpectedId {
                        got: *id,
                        expected: self.next_peer_id,
                    });
                }
                let htlc = Htlc {
                    id: *id,
                    offerer: self.me.other(),
                    amount: *amount,
                    payment_hash: *payment_hash,
                    expiry: *expiry,
                };
                self.push_theirs(Update::Add(htlc, onion.clone()))?;
                self.next_peer_id = id.saturating_add(2);
                Ok(Step::default())
            }
            Message::FulfillHtlc { id, preimage, .. } => {
                self.push_theirs(Update::Fulfill {
                    id: *id,
                    preimage: *preimage,
                })?;
                Ok(Step::default())
            }
            Message::FailHtlc { id, reason, .. } => {
                self.push_theirs(Update::Fail {
                    id: *id,
                    reason: *reason,
                })?;
                Ok(Step::default())
            }
            Message::CommitmentSigned {
                version,
                senders,
                receivers,
                signature,
                ..
            } => self.on_commitment(*version, *senders, *receivers, signature),
            Message::RevokeAndAck {
                revoked_upto,
                signature,
                ..
            } => self.on_revocation(*revoked_upto, signature),
            Message::Reestablish {
                state, revocation, ..
            } => self.on_reestablish(state, revocation.as_ref()),
        }
    }

    fn push_theirs(&mut self, update: Update) -> Result<(), ChannelError> {
        let mut theirs = self.theirs.clone();
        theirs.push(update);
        self.apply(&self.current.state, &self.ours, &theirs)?;
        self.theirs = theirs;
        Ok(())
    }

    fn on_commitment(
        &mut self,
        version: u64,
        senders: u32,
        receivers: u32,
        signature: &Signature,
    ) -> Result<Step, ChannelError> {
        let expected = self.current.state.version + 1;
        if version != expected {
            return Err(ChannelError::UnexpectedVersion {
                got: version,
                expected,
            });
        }
        let (theirs, ours) = (senders as usize, receivers as usize);
        if theirs > self.theirs.len() || ours > self.ours.len() {
            return Err(ChannelError::UnknownUpdates);
        }
        let state = self.apply(
            &self.current.state,
            &self.ours[..ours],
            &self.theirs[..theirs],
        )?;
        keys::verify(
            self.key_of(self.me.other()),
            STATE_NAMESPACE,
            &state.message(),
            signature,
        )
        .map_err(|_| ChannelError::InvalidSignature)?;
        let mut step = Step::default();
        if let Some(p) = &self.in_flight {
            if p.state == state {
                // The peer's answer to our proposal: revoke the version
                // before, now that both signed this one.
                let (sig, ours, theirs) = (p.signature.clone(), p.ours, p.theirs);
                self.in_flight = None;
                self.advance(state, sig, signature.clone(), ours, theirs, &mut step);
                return Ok(step);
            }
            if self.me == Side::A {
                // The peer proposed at the same time: A's proposal wins,
                // the peer will answer ours.
                return Ok(step);
            }
            // We are B: drop ours (its updates stay pending), answer A's.
            self.in_flight = None;
        }
        let mine = state.sign(&self.key);
        step.send.push(Message::CommitmentSigned {
            channel: self.id,
            version,
            senders: receivers,
            receivers: senders,
            signature: mine.clone(),
        });
        self.advance(state, mine, signature.clone(), ours, theirs, &mut step);
        Ok(step)
    }

    /// Makes `state` (signed by both) current, drops the updates it
    /// applied, revokes the version before and asks to persist first.
    fn advance(
        &mut self,
        state: ChannelState,
        mine: Signature,
        peer: Signature,
        ours: usize,
        theirs: usize,
        step: &mut Step,
    ) {
        let (sig_a, sig_b) = match self.me {
            Side::A => (mine, peer),
            Side::B => (peer, mine),
        };
        let old = self.current.state.version;
        self.current = SignedState {
            state,
            sig_a,
            sig_b,
        };
        self.ours.drain(..ours);
        for u in self.theirs.drain(..theirs) {
            self.unrevoked.push((
                self.current.state.version,
                match u {
                    Update::Add(h, onion) => Event::Received(h, onion),
                    Update::Fulfill { id, preimage } => Event::Fulfilled { id, preimage },
                    Update::Fail { id, reason } => Event::Failed { id, reason },
                },
            ));
        }
        self.bump_ids();
        self.revoked_upto = Some(old);
        let revocation = Revocation {
            channel: self.id,
            revoked_upto: old,
        };
        step.persist = Some(self.snapshot());
        step.send.push(Message::RevokeAndAck {
            channel: self.id,
            revoked_upto: old,
            signature: revocation.sign(&self.key),
        });
    }

    fn on_revocation(
        &mut self,
        revoked_upto: u64,
        signature: &Signature,
    ) -> Result<Step, ChannelError> {
        let after_last = self
            .peer_revocation
            .as_ref()
            .is_none_or(|(v, _)| revoked_upto > *v);
        if revoked_upto >= self.current.state.version || !after_last {
            return Err(ChannelError::BadRevocation(revoked_upto));
        }
        let revocation = Revocation {
            channel: self.id,
            revoked_upto,
        };
        keys::verify(
            self.key_of(self.me.other()),
            terrace_l1::modules::channels::REVOKE_NAMESPACE,
            &revocation.message(),
            signature,
        )
        .map_err(|_| ChannelError::InvalidSignature)?;
        self.peer_revocation = Some((revoked_upto, signature.clone()));
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unrevoked)
            .into_iter()
            .partition(|(v, _)| *v <= revoked_upto + 1);
        self.unrevoked = waiting;
        Ok(Step {
            persist: Some(self.snapshot()),
            send: Vec::new(),
            events: ready.into_iter().map(|(_, e)| e).collect(),
        })
    }

    fn on_reestablish(
        &mut self,
        state: &SignedState,
        revocation: Option<&(u64, Signature)>,
    ) -> Result<Step, ChannelError> {
        let mut step = Step::default();
        let mut dropped: Vec<Update> = std::mem::take(&mut self.ours);
        dropped.append(&mut self.theirs);
        self.in_flight = None;
        self.next_peer_id = self.next_peer_id_committed;
        if state.state.version > self.current.state.version {
            self.check_signed(state)?;
            // We signed it too, before a restart lost it: adopt it and
            // revoke what we held.
            let old = self.current.state.version;
            self.current = state.clone();
            self.revoked_upto = Some(old);
            let r = Revocation {
                channel: self.id,
                revoked_upto: old,
            };
            step.send.push(Message::RevokeAndAck {
                channel: self.id,
                revoked_upto: old,
                signature: r.sign(&self.key),
            });
            self.bump_ids();
            step.persist = Some(self.snapshot());
        }
        if let Some((upto, sig)) = revocation {
            let newer = self.peer_revocation.as_ref().is_none_or(|(v, _)| upto > v);
            if newer && *upto < self.current.state.version {
                let mut s = self.on_revocation(*upto, sig)?;
                step.persist = s.persist.take();
                step.events.append(&mut s.events);
            }
        }
        if !dropped.is_empty() {
            step.events.push(Event::Dropped(dropped));
        }
        Ok(step)
    }

    /// The message that resumes the channel after a reconnect.
    pub fn reestablish(&self) -> Message {
        Message::Reestablish {
            channel: self.id,
            state: Box::new(self.current.clone()),
            revocation: self.revoked_upto.map(|upto| {
                let r = Revocation {
                    channel: self.id,
                    revoked_upto: upto,
                };
                (upto, r.sign(&self.key))
            }),
        }
    }
}
