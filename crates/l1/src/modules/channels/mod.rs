//! Payment channels on L1: open, close (cooperative or unilateral with a
//! challenge window), the penalty for closing with a revoked state, and
//! HTLCs resolved through a global preimage registry.
//!
//! # Protocol
//!
//! Versioned states with monotonic revocation (`../shared/research/
//! channels.md` §2.1): both sides sign the same [`ChannelState`]; a side
//! that holds a newer state signed by both signs a [`Revocation`] "never a
//! version ≤ n", so each side keeps one revocation per channel, not one
//! per update.
//!
//! - **Open**: both keys sign the [`OpenTerms`] (deposits, window, reserve,
//!   HTLC limit, nonce); each deposit is taken from its side's account.
//!   The id hashes chain, keys and nonce; the record is never deleted, so
//!   the signatures cannot open it twice.
//! - **CoopClose**: both sign final balances; paid at once. The message
//!   names no version, so a node signs it only once no update will follow
//!   (after `shutdown`, as Lightning's `closing_signed`): until the channel
//!   closes, either side could still submit it.
//! - **Close**: a side posts a state both signed; the channel settles once
//!   `window` blocks have passed. The deadline is fixed at the close.
//! - **Challenge** (anyone, before the deadline): a newer state signed by
//!   both replaces the posted one; or the closer's revocation of the
//!   version it closed with proves the close a theft, and the closer
//!   forfeits the whole capacity to the other side (when the chain's
//!   [`Penalty`] is `Full`).
//! - **Settle** (anyone, from the deadline): pays the balances (or
//!   everything to the victim). HTLCs whose preimage was registered by
//!   their expiry pay their receiver, expired ones refund their offerer,
//!   and the rest wait in the record for a claim or a timeout.
//! - **RegisterPreimage**: records the height a payment hash's preimage
//!   was first revealed at. An HTLC is claimable iff that height is at or
//!   before its expiry — one small transaction, not a whole close, is all
//!   a hop needs before its upstream expiry (Sprites).
//!
//! Escrow = the capacity of every open or closing channel + the HTLCs of
//! settled ones not yet resolved, always ([`Channels::held`]).
//!
//! A refused operation changes nothing but the fee (its receipt says why).

mod ops;
mod records;
mod rules;
#[cfg(test)]
mod tests;

pub use ops::{
    CLOSE_NAMESPACE, ChannelOp, ChannelState, Evidence, Htlc, OPEN_NAMESPACE, OpenTerms,
    REVOKE_NAMESPACE, Revocation, STATE_NAMESPACE, Side, SignedState, channel_id, close_message,
};
pub use records::{
    Channel, ChannelKey, ChannelRecord, ChannelRecords, Closing, PendingHtlc, Status,
};
pub use rules::payment_hash;

use crate::{
    ChainParams, Failure,
    module::{Effects, Module, OpEnv, OpSummary},
    params::ParamsError,
    state::{Key, StateReader},
};
use serde::{Deserialize, Serialize};
use terrace_primitives::{Address, Amount};

/// Most HTLCs one side may offer in a state (BOLT 2's 483 per
/// direction): the chain's `htlcs_max` may only lower it.
pub const HTLCS_LIMIT: u16 = 483;
/// Most HTLCs a state carries, both directions (the decoders' bound).
pub const STATE_HTLCS_MAX: usize = 2 * HTLCS_LIMIT as usize;

/// The channels module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Channels;

crate::failure_codes! {
    /// Why a channel operation had no effect.
    pub enum ChannelFailure {
        /// No channel has this id.
        UnknownChannel = 69 => "chan_unknown_channel",
        /// A channel with this id (keys and nonce) was opened already.
        ChannelExists = 70 => "chan_exists",
        /// The two keys are the same, or one is not a valid key.
        InvalidParties = 71 => "chan_invalid_parties",
        /// Both deposits are zero.
        EmptyChannel = 72 => "chan_empty",
        /// The window is outside the chain's bounds.
        WindowOutOfBounds = 73 => "chan_window_out_of_bounds",
        /// The HTLC limit is zero or above the chain's.
        HtlcLimitOutOfBounds = 74 => "chan_htlc_limit_out_of_bounds",
        /// The reserve is below the chain's minimum share of the capacity,
        /// or above half of it.
        InvalidReserve = 75 => "chan_invalid_reserve",
        /// A signature does not verify (open terms, state, close,
        /// revocation).
        InvalidSignature = 76 => "chan_invalid_signature",
        /// The channel is not open (closing, settled or closed).
        NotOpen = 77 => "chan_not_open",
        /// The channel is not closing.
        NotClosing = 78 => "chan_not_closing",
        /// Only the channel's two sides close it unilaterally.
        NotAParty = 79 => "chan_not_a_party",
        /// The state or revocation is for another channel.
        WrongChannel = 80 => "chan_wrong_channel",
        /// Balances and HTLCs do not sum to the capacity.
        BalanceMismatch = 81 => "chan_balance_mismatch",
        /// A side offers more HTLCs in the state than the channel allows.
        TooManyHtlcs = 82 => "chan_too_many_htlcs",
        /// An HTLC of the state repeats an id or locks nothing.
        InvalidHtlc = 83 => "chan_invalid_htlc",
        /// The challenge's state is not newer than the one posted.
        NotNewer = 84 => "chan_not_newer",
        /// The challenge came at or after the deadline.
        WindowClosed = 85 => "chan_window_closed",
        /// Settling waits for the deadline.
        WindowOpen = 86 => "chan_window_open",
        /// The revocation does not cover the version the closer posted.
        NotRevoked = 87 => "chan_not_revoked",
        /// The chain runs without the penalty: revocations prove nothing.
        PenaltyDisabled = 88 => "chan_penalty_disabled",
        /// The closer was penalized already.
        AlreadyPenalized = 89 => "chan_already_penalized",
        /// HTLCs are claimed or timed out once the channel has settled.
        NotSettled = 90 => "chan_not_settled",
        /// No pending HTLC has this id.
        UnknownHtlc = 91 => "chan_unknown_htlc",
        /// The HTLC's preimage was not registered by its expiry.
        PreimageNotRegistered = 92 => "chan_preimage_not_registered",
        /// The HTLC has not expired yet.
        NotExpired = 93 => "chan_htlc_not_expired",
        /// The HTLC's preimage was registered in time: it pays its receiver.
        PreimageRegistered = 94 => "chan_preimage_registered",
        /// This preimage is registered already.
        PreimageKnown = 95 => "chan_preimage_known",
        /// The preimage does not hash to the HTLC's payment hash.
        PreimageMismatch = 96 => "chan_preimage_mismatch",
        /// The HTLC expired before this block: its preimage comes too late.
        HtlcExpired = 97 => "chan_htlc_expired",
    }
}

/// Whether closing with a revoked state forfeits the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// The closer's revocation hands the whole capacity to the other side.
    #[default]
    Full,
    /// Only a newer state overrides a close: cheating costs the fee (the
    /// lab runs this to measure the free option).
    None,
}

/// The channels module's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelParams {
    /// Shortest challenge window a channel may choose, in blocks.
    pub window_min_blocks: u64,
    /// Longest.
    pub window_max_blocks: u64,
    /// Most HTLCs a channel may let each side offer in one state
    /// (≤ [`HTLCS_LIMIT`]).
    pub htlcs_max: u16,
    /// Least reserve a channel may choose, in basis points of its
    /// capacity.
    pub reserve_min_bps: u32,
    /// Whether a revoked close forfeits the channel.
    pub penalty: Penalty,
    /// Gas of its operations.
    pub gas: ChannelGas,
}

impl Default for ChannelParams {
    fn default() -> Self {
        Self {
            // 10 s at the default 250 ms blocks: enough to land one
            // transaction; a channel chooses more (an hour is 14,400).
            window_min_blocks: 40,
            // 30 days at 250 ms.
            window_max_blocks: 10_368_000,
            htlcs_max: HTLCS_LIMIT,
            // LDK's default reserve: 1 %.
            reserve_min_bps: 100,
            penalty: Penalty::Full,
            gas: ChannelGas::default(),
        }
    }
}

/// Gas of channel operations, beyond the base and byte charges. A
/// signature check is priced as a validium member's (an Ed25519
/// verification, 35.7 µs, `cargo bench -p terrace-l1 --bench stf --
/// validium_member`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelGas {
    /// An operation's record reads and writes.
    pub op: u64,
    /// One Ed25519 signature check.
    pub signature: u64,
    /// Per HTLC of a posted state (checked now, resolved at settlement).
    pub htlc: u64,
}

impl Default for ChannelGas {
    fn default() -> Self {
        Self {
            op: 20_000,
            signature: 3_100,
            htlc: 2_000,
        }
    }
}

/// The module's parameters within the chain's.
pub fn params(chain: &ChainParams) -> &ChannelParams {
    &chain.modules.channels
}

fn signatures(op: &ChannelOp) -> u64 {
    match op {
        ChannelOp::Open { .. } | ChannelOp::CoopClose { .. } | ChannelOp::Close(_) => 2,
        ChannelOp::Challenge { evidence, .. } => match **evidence {
            Evidence::Newer(_) => 2,
            Evidence::Revoked { .. } => 1,
        },
        _ => 0,
    }
}

fn htlcs(op: &ChannelOp) -> u64 {
    match op {
        ChannelOp::Close(s) => s.state.htlcs.len() as u64,
        ChannelOp::Challenge { evidence, .. } => match &**evidence {
            Evidence::Newer(s) => s.state.htlcs.len() as u64,
            Evidence::Revoked { .. } => 0,
        },
        // A settlement's HTLCs were paid for when the state carrying
        // them was posted (its gas must be known before the record is).
        _ => 0,
    }
}

impl Module for Channels {
    const NAME: &'static str = "channels";
    type Op = ChannelOp;
    type Key = ChannelKey;
    type Record = ChannelRecord;
    type Failure = ChannelFailure;
    type Params = ChannelParams;

    fn params(chain: &ChainParams) -> &ChannelParams {
        params(chain)
    }

    fn validate_params(chain: &ChainParams) -> Result<(), ParamsError> {
        let p = params(chain);
        let bad = |name, why| Err(ParamsError::Invalid { name, why });
        if p.window_min_blocks == 0 || p.window_min_blocks > p.window_max_blocks {
            return bad(
                "channels.window_min_blocks",
                "must be in 1..=window_max_blocks",
            );
        }
        if p.htlcs_max == 0 || p.htlcs_max > HTLCS_LIMIT {
            return bad("channels.htlcs_max", "must be in 1..=483");
        }
        if p.reserve_min_bps > 5_000 {
            return bad(
                "channels.reserve_min_bps",
                "at most 5000: a reserve over half the capacity leaves nothing to spend",
            );
        }
        Ok(())
    }

    fn gas(op: &ChannelOp, chain: &ChainParams) -> u64 {
        let gas = &params(chain).gas;
        gas.op
            .saturating_add(gas.signature.saturating_mul(signatures(op)))
            .saturating_add(gas.htlc.saturating_mul(htlcs(op)))
    }

    fn summary(op: &ChannelOp) -> OpSummary {
        let summary = |kind, amount| OpSummary {
            kind,
            to: None,
            amount,
        };
        match op {
            ChannelOp::Open { terms, .. } => {
                summary("channel_open", terms.deposit_a.checked_add(terms.deposit_b))
            }
            ChannelOp::CoopClose { .. } => summary("channel_coop_close", None),
            ChannelOp::Close(_) => summary("channel_close", None),
            ChannelOp::Challenge { .. } => summary("channel_challenge", None),
            ChannelOp::Settle { .. } => summary("channel_settle", None),
            ChannelOp::RegisterPreimage { .. } => summary("preimage_register", None),
            ChannelOp::ClaimHtlc { .. } => summary("htlc_claim", None),
            ChannelOp::TimeoutHtlc { .. } => summary("htlc_timeout", None),
        }
    }

    fn keys(op: &ChannelOp, env: &OpEnv<'_>) -> Vec<Key> {
        rules::keys(op, env)
    }

    fn keys_after<S: StateReader + ?Sized>(
        op: &ChannelOp,
        state: &S,
        _env: &OpEnv<'_>,
    ) -> Vec<Key> {
        rules::keys_after(state, op)
    }

    fn apply<S: StateReader + ?Sized>(
        state: &S,
        env: &OpEnv<'_>,
        op: &ChannelOp,
    ) -> Result<Effects, Failure> {
        rules::apply(state, env, op)
    }

    fn held(record: &ChannelRecord) -> Option<Amount> {
        match record {
            ChannelRecord::Channel(c) => c.held(),
            _ => Some(Amount::ZERO),
        }
    }

    /// Every channel ever opened, through the index.
    fn fund_keys<S: StateReader + ?Sized>(state: &S, _addresses: &[Address]) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![ChannelKey::Count.into()];
        for n in 0..state.channel_count() {
            keys.push(ChannelKey::Index(n).into());
            if let Some(id) = state.channel_id(n) {
                keys.push(ChannelKey::Channel(id).into());
            }
        }
        keys
    }
}
