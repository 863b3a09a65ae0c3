//! The channel rules: what each operation does, as [`Effects`] over the
//! state before it (see the protocol in [`super`]).

use super::{
    ChannelFailure as F, Penalty,
    ops::{
        CLOSE_NAMESPACE, ChannelOp, Evidence, OPEN_NAMESPACE, OpenTerms, REVOKE_NAMESPACE,
        STATE_NAMESPACE, SignedState, close_message,
    },
    params,
    records::{
        Channel, ChannelKey, ChannelRecord, ChannelRecords as _, Closing, PendingHtlc, Status,
    },
};
use crate::{
    Failure,
    module::{Effects, OpEnv},
    state::{Key, StateReader},
};
use terrace_primitives::{Address, Amount, Hash, Signature, hash, keys};

/// The payment hash of a preimage: its SHA-256.
pub fn payment_hash(preimage: &[u8; 32]) -> Hash {
    hash(&[preimage])
}

fn channel_of(op: &ChannelOp) -> Option<Hash> {
    match op {
        ChannelOp::Open { .. } | ChannelOp::RegisterPreimage { .. } => None,
        ChannelOp::Close(s) => Some(s.state.channel),
        ChannelOp::CoopClose { channel, .. }
        | ChannelOp::Challenge { channel, .. }
        | ChannelOp::Settle { channel }
        | ChannelOp::ClaimHtlc { channel, .. }
        | ChannelOp::TimeoutHtlc { channel, .. } => Some(*channel),
    }
}

/// The keys an operation reads from its payload alone.
pub(super) fn keys(op: &ChannelOp, env: &OpEnv<'_>) -> Vec<Key> {
    match op {
        ChannelOp::Open { terms, .. } => vec![
            ChannelKey::Count.into(),
            ChannelKey::Channel(terms.channel_id(env.chain_id)).into(),
            Key::Account(Address::from_public_key(&terms.a)),
            Key::Account(Address::from_public_key(&terms.b)),
        ],
        ChannelOp::RegisterPreimage { preimage } => {
            vec![ChannelKey::Preimage(payment_hash(preimage)).into()]
        }
        op => channel_of(op)
            .map(|id| Key::from(ChannelKey::Channel(id)))
            .into_iter()
            .collect(),
    }
}

/// The accounts paid and the preimages read, known once the channel is.
pub(super) fn keys_after<S: StateReader + ?Sized>(state: &S, op: &ChannelOp) -> Vec<Key> {
    let Some(c) = channel_of(op).and_then(|id| state.channel(&id)) else {
        return Vec::new();
    };
    let mut keys: Vec<Key> = vec![
        Key::Account(Address::from_public_key(&c.a)),
        Key::Account(Address::from_public_key(&c.b)),
    ];
    match (op, &c.status) {
        (ChannelOp::Settle { .. }, Status::Closing(closing)) => keys.extend(
            closing
                .state
                .htlcs
                .iter()
                .map(|h| Key::from(ChannelKey::Preimage(h.payment_hash))),
        ),
        (
            ChannelOp::ClaimHtlc { htlc, .. } | ChannelOp::TimeoutHtlc { htlc, .. },
            Status::Settled { pending, .. },
        ) => keys.extend(
            pending
                .iter()
                .filter(|h| h.id == *htlc)
                .map(|h| Key::from(ChannelKey::Preimage(h.payment_hash))),
        ),
        _ => {}
    }
    keys
}

/// Applies a channel operation.
pub(super) fn apply<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    op: &ChannelOp,
) -> Result<Effects, Failure> {
    let id = match op {
        ChannelOp::Open {
            terms,
            sig_a,
            sig_b,
        } => return open(state, env, terms, sig_a, sig_b),
        ChannelOp::RegisterPreimage { preimage } => {
            let hash = payment_hash(preimage);
            if state.preimage_height(&hash).is_some() {
                return Err(F::PreimageKnown.into());
            }
            let mut effects = Effects::default();
            effects.write(
                ChannelKey::Preimage(hash),
                ChannelRecord::Preimage(env.height),
            );
            return Ok(effects);
        }
        op => channel_of(op).unwrap_or_else(|| unreachable!("every other op names a channel")),
    };
    let c = state.channel(&id).ok_or(F::UnknownChannel)?;
    let mut run = Run {
        state,
        env,
        id,
        c,
        effects: Effects::default(),
    };
    match op {
        ChannelOp::CoopClose {
            balance_a,
            balance_b,
            sig_a,
            sig_b,
            ..
        } => run.coop_close(*balance_a, *balance_b, sig_a, sig_b)?,
        ChannelOp::Close(signed) => run.close(signed)?,
        ChannelOp::Challenge { evidence, .. } => run.challenge(evidence)?,
        ChannelOp::Settle { .. } => run.settle()?,
        ChannelOp::ClaimHtlc { htlc, preimage, .. } => run.claim(*htlc, preimage.as_ref())?,
        ChannelOp::TimeoutHtlc { htlc, .. } => run.timeout(*htlc)?,
        ChannelOp::Open { .. } | ChannelOp::RegisterPreimage { .. } => {
            unreachable!("handled above")
        }
    }
    let Run {
        id, c, mut effects, ..
    } = run;
    effects.write(ChannelKey::Channel(id), ChannelRecord::Channel(Box::new(c)));
    Ok(effects)
}

/// The least reserve the chain allows for `capacity` (rounded down).
fn reserve_min(capacity: Amount, bps: u32) -> Amount {
    let bps = u128::from(bps);
    Amount((capacity.0 / 10_000) * bps + (capacity.0 % 10_000) * bps / 10_000)
}

fn open<S: StateReader + ?Sized>(
    state: &S,
    env: &OpEnv<'_>,
    terms: &OpenTerms,
    sig_a: &Signature,
    sig_b: &Signature,
) -> Result<Effects, Failure> {
    let p = params(env.params);
    if terms.a == terms.b
        || keys::check_public_key(&terms.a).is_err()
        || keys::check_public_key(&terms.b).is_err()
    {
        return Err(F::InvalidParties.into());
    }
    let capacity = terms
        .deposit_a
        .checked_add(terms.deposit_b)
        .ok_or(Failure::Overflow)?;
    if capacity.is_zero() {
        return Err(F::EmptyChannel.into());
    }
    if !(p.window_min_blocks..=p.window_max_blocks).contains(&terms.window) {
        return Err(F::WindowOutOfBounds.into());
    }
    if terms.max_htlcs == 0 || terms.max_htlcs > p.htlcs_max {
        return Err(F::HtlcLimitOutOfBounds.into());
    }
    if terms.reserve < reserve_min(capacity, p.reserve_min_bps) || terms.reserve.0 > capacity.0 / 2
    {
        return Err(F::InvalidReserve.into());
    }
    let id = terms.channel_id(env.chain_id);
    if state.channel(&id).is_some() {
        return Err(F::ChannelExists.into());
    }
    let message = terms.message(env.chain_id);
    for (key, sig) in [(&terms.a, sig_a), (&terms.b, sig_b)] {
        keys::verify(key, OPEN_NAMESPACE, &message, sig).map_err(|_| F::InvalidSignature)?;
    }
    let number = state.channel_count();
    let mut effects = Effects::default();
    for (key, deposit) in [(&terms.a, terms.deposit_a), (&terms.b, terms.deposit_b)] {
        if !deposit.is_zero() {
            effects.take(Address::from_public_key(key), deposit);
        }
    }
    effects.write(
        ChannelKey::Count,
        ChannelRecord::Count(number.checked_add(1).ok_or(Failure::Overflow)?),
    );
    effects.write(ChannelKey::Index(number), ChannelRecord::Index(id));
    effects.write(
        ChannelKey::Channel(id),
        ChannelRecord::Channel(Box::new(Channel {
            a: terms.a.clone(),
            b: terms.b.clone(),
            deposit_a: terms.deposit_a,
            deposit_b: terms.deposit_b,
            window: terms.window,
            reserve: terms.reserve,
            max_htlcs: terms.max_htlcs,
            number,
            opened_at: env.height,
            status: Status::Open,
        })),
    );
    Ok(effects)
}

struct Run<'a, S: ?Sized> {
    state: &'a S,
    env: &'a OpEnv<'a>,
    id: Hash,
    c: Channel,
    effects: Effects,
}

impl<S: StateReader + ?Sized> Run<'_, S> {
    fn capacity(&self) -> Result<Amount, Failure> {
        self.c.capacity().ok_or(Failure::Overflow)
    }

    /// Checks a state both sides signed for this channel.
    fn check_state(&self, signed: &SignedState) -> Result<(), Failure> {
        let s = &signed.state;
        if s.channel != self.id {
            return Err(F::WrongChannel.into());
        }
        for side in [super::Side::A, super::Side::B] {
            if s.htlcs.iter().filter(|h| h.offerer == side).count() > usize::from(self.c.max_htlcs)
            {
                return Err(F::TooManyHtlcs.into());
            }
        }
        let mut ids: Vec<u64> = s.htlcs.iter().map(|h| h.id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != s.htlcs.len() || s.htlcs.iter().any(|h| h.amount.is_zero()) {
            return Err(F::InvalidHtlc.into());
        }
        if s.total() != Some(self.capacity()?) {
            return Err(F::BalanceMismatch.into());
        }
        let message = s.message();
        for (key, sig) in [(&self.c.a, &signed.sig_a), (&self.c.b, &signed.sig_b)] {
            keys::verify(key, STATE_NAMESPACE, &message, sig).map_err(|_| F::InvalidSignature)?;
        }
        Ok(())
    }

    fn pay(&mut self, to: Address, amount: Amount) {
        if !amount.is_zero() {
            self.effects.credit(to, amount);
        }
    }

    fn coop_close(
        &mut self,
        balance_a: Amount,
        balance_b: Amount,
        sig_a: &Signature,
        sig_b: &Signature,
    ) -> Result<(), Failure> {
        if self.c.status != Status::Open {
            return Err(F::NotOpen.into());
        }
        if balance_a.checked_add(balance_b) != Some(self.capacity()?) {
            return Err(F::BalanceMismatch.into());
        }
        let message = close_message(&self.id, balance_a, balance_b);
        for (key, sig) in [(&self.c.a, sig_a), (&self.c.b, sig_b)] {
            keys::verify(key, CLOSE_NAMESPACE, &message, sig).map_err(|_| F::InvalidSignature)?;
        }
        self.pay(self.c.address(super::Side::A), balance_a);
        self.pay(self.c.address(super::Side::B), balance_b);
        self.c.status = Status::Closed {
            height: self.env.height,
        };
        Ok(())
    }

    fn close(&mut self, signed: &SignedState) -> Result<(), Failure> {
        if self.c.status != Status::Open {
            return Err(F::NotOpen.into());
        }
        let closer = self.c.side_of(&self.env.sender).ok_or(F::NotAParty)?;
        self.check_state(signed)?;
        let deadline = self
            .env
            .height
            .checked_add(self.c.window)
            .ok_or(Failure::Overflow)?;
        self.c.status = Status::Closing(Box::new(Closing {
            state: signed.state.clone(),
            closer,
            closed_version: signed.state.version,
            deadline,
            penalized: None,
        }));
        Ok(())
    }

    fn challenge(&mut self, evidence: &Evidence) -> Result<(), Failure> {
        let Status::Closing(closing) = &self.c.status else {
            return Err(F::NotClosing.into());
        };
        if self.env.height >= closing.deadline {
            return Err(F::WindowClosed.into());
        }
        let mut closing = closing.clone();
        match evidence {
            Evidence::Newer(signed) => {
                self.check_state(signed)?;
                if signed.state.version <= closing.state.version {
                    return Err(F::NotNewer.into());
                }
                closing.state = signed.state.clone();
            }
            Evidence::Revoked {
                revocation,
                signature,
            } => {
                if params(self.env.params).penalty == Penalty::None {
                    return Err(F::PenaltyDisabled.into());
                }
                if revocation.channel != self.id {
                    return Err(F::WrongChannel.into());
                }
                if closing.penalized.is_some() {
                    return Err(F::AlreadyPenalized.into());
                }
                if revocation.revoked_upto < closing.closed_version {
                    return Err(F::NotRevoked.into());
                }
                keys::verify(
                    self.c.key(closing.closer),
                    REVOKE_NAMESPACE,
                    &revocation.message(),
                    signature,
                )
                .map_err(|_| F::InvalidSignature)?;
                closing.penalized = Some(closing.closer);
            }
        }
        self.c.status = Status::Closing(closing);
        Ok(())
    }

    fn settle(&mut self) -> Result<(), Failure> {
        let Status::Closing(closing) = &self.c.status else {
            return Err(F::NotClosing.into());
        };
        if self.env.height < closing.deadline {
            return Err(F::WindowOpen.into());
        }
        let closing = closing.clone();
        let height = self.env.height;
        if let Some(cheater) = closing.penalized {
            let all = self.capacity()?;
            self.pay(self.c.address(cheater.other()), all);
            self.c.status = Status::Closed { height };
            return Ok(());
        }
        let s = &closing.state;
        self.pay(self.c.address(super::Side::A), s.balance_a);
        self.pay(self.c.address(super::Side::B), s.balance_b);
        let mut pending = Vec::new();
        for h in &s.htlcs {
            let receiver = self.c.address(h.offerer.other());
            let offerer = self.c.address(h.offerer);
            if self.revealed_by(&h.payment_hash, h.expiry) {
                self.pay(receiver, h.amount);
            } else if height > h.expiry {
                self.pay(offerer, h.amount);
            } else {
                pending.push(PendingHtlc {
                    id: h.id,
                    receiver,
                    offerer,
                    amount: h.amount,
                    payment_hash: h.payment_hash,
                    expiry: h.expiry,
                });
            }
        }
        self.c.status = if pending.is_empty() {
            Status::Closed { height }
        } else {
            Status::Settled { height, pending }
        };
        Ok(())
    }

    /// Whether `payment_hash`'s preimage was registered at or before
    /// `expiry`.
    fn revealed_by(&self, payment_hash: &Hash, expiry: u64) -> bool {
        self.state
            .preimage_height(payment_hash)
            .is_some_and(|h| h <= expiry)
    }

    /// Takes pending HTLC `id` out of a settled channel.
    fn take_pending(&mut self, id: u64) -> Result<PendingHtlc, Failure> {
        let Status::Settled { pending, .. } = &mut self.c.status else {
            return Err(F::NotSettled.into());
        };
        let i = pending
            .iter()
            .position(|h| h.id == id)
            .ok_or(F::UnknownHtlc)?;
        Ok(pending.remove(i))
    }

    /// Marks the channel closed once nothing is pending.
    fn close_if_empty(&mut self) {
        if let Status::Settled { pending, .. } = &self.c.status
            && pending.is_empty()
        {
            self.c.status = Status::Closed {
                height: self.env.height,
            };
        }
    }

    fn claim(&mut self, id: u64, preimage: Option<&[u8; 32]>) -> Result<(), Failure> {
        let h = self.take_pending(id)?;
        if !self.revealed_by(&h.payment_hash, h.expiry) {
            let Some(preimage) = preimage else {
                return Err(F::PreimageNotRegistered.into());
            };
            if payment_hash(preimage) != h.payment_hash {
                return Err(F::PreimageMismatch.into());
            }
            if self.env.height > h.expiry {
                return Err(F::HtlcExpired.into());
            }
            // Registered now: it counts for every HTLC of this hash.
            if self.state.preimage_height(&h.payment_hash).is_none() {
                self.effects.write(
                    ChannelKey::Preimage(h.payment_hash),
                    ChannelRecord::Preimage(self.env.height),
                );
            }
        }
        self.pay(h.receiver, h.amount);
        self.close_if_empty();
        Ok(())
    }

    fn timeout(&mut self, id: u64) -> Result<(), Failure> {
        let h = self.take_pending(id)?;
        if self.env.height <= h.expiry {
            return Err(F::NotExpired.into());
        }
        if self.revealed_by(&h.payment_hash, h.expiry) {
            return Err(F::PreimageRegistered.into());
        }
        self.pay(h.offerer, h.amount);
        self.close_if_empty();
        Ok(())
    }
}
