//! Operations on payment channels, the states and revocations both sides
//! sign, and their encodings and signed messages.

use super::STATE_HTLCS_MAX;
use crate::module::Tagged;
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_primitives::{
    Amount, ChainId, Hash, PrivateKey, PublicKey, Signature, hash_tagged, keys,
};

/// Namespace of an open's signatures.
pub const OPEN_NAMESPACE: &[u8] = b"terrace/chan/open";
/// Namespace of a state's signatures.
pub const STATE_NAMESPACE: &[u8] = b"terrace/chan/state";
/// Namespace of a revocation's signature.
pub const REVOKE_NAMESPACE: &[u8] = b"terrace/chan/revoke";
/// Namespace of a cooperative close's signatures.
pub const CLOSE_NAMESPACE: &[u8] = b"terrace/chan/close";

/// One of a channel's two sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The first key of the open.
    A,
    /// The second.
    B,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// A hash-time-locked payment inside a state: `amount` moves from the
/// offerer to the other side if the preimage of `payment_hash` is known
/// (on L1: registered) by height `expiry`, else returns to the offerer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Htlc {
    /// Its id in the channel (never reused).
    pub id: u64,
    /// Who offered it (pays on success).
    pub offerer: Side,
    /// Amount locked.
    pub amount: Amount,
    /// SHA-256 of the preimage.
    pub payment_hash: Hash,
    /// Last L1 height at which its preimage may be registered.
    pub expiry: u64,
}

/// A channel's state: both sides sign the same bytes. Balances and HTLCs
/// always sum to the channel's capacity; a higher version supersedes.
/// Versions (here and in revocations) are fixed eight bytes, so what a
/// tower stores does not grow with the number of updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelState {
    /// The channel (its id binds the chain and both keys).
    pub channel: Hash,
    /// Its version: each update takes the next.
    pub version: u64,
    /// A's balance.
    pub balance_a: Amount,
    /// B's balance.
    pub balance_b: Amount,
    /// HTLCs in flight.
    pub htlcs: Vec<Htlc>,
}

impl ChannelState {
    /// What both sides sign.
    pub fn message(&self) -> Vec<u8> {
        self.encode().to_vec()
    }

    /// Balances plus HTLCs (`None` on overflow).
    pub fn total(&self) -> Option<Amount> {
        self.htlcs
            .iter()
            .try_fold(self.balance_a.checked_add(self.balance_b)?, |t, h| {
                t.checked_add(h.amount)
            })
    }

    /// Signs the state with `key`.
    pub fn sign(&self, key: &PrivateKey) -> Signature {
        keys::sign(key, STATE_NAMESPACE, &self.message())
    }
}

/// A state with both sides' signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedState {
    /// The state.
    pub state: ChannelState,
    /// A's signature over [`ChannelState::message`].
    pub sig_a: Signature,
    /// B's.
    pub sig_b: Signature,
}

/// "I will never publish a version ≤ `revoked_upto`": a side signs it once
/// it holds a newer state signed by both. Monotonic, so the other side
/// keeps only the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revocation {
    /// The channel.
    pub channel: Hash,
    /// Every version up to this one is revoked.
    pub revoked_upto: u64,
}

impl Revocation {
    /// What the revoker signs.
    pub fn message(&self) -> Vec<u8> {
        self.encode().to_vec()
    }

    /// Signs the revocation with `key`.
    pub fn sign(&self, key: &PrivateKey) -> Signature {
        keys::sign(key, REVOKE_NAMESPACE, &self.message())
    }
}

/// The terms of a channel both sides sign to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenTerms {
    /// Side A's key.
    pub a: PublicKey,
    /// Side B's key.
    pub b: PublicKey,
    /// Taken from A's account.
    pub deposit_a: Amount,
    /// Taken from B's account.
    pub deposit_b: Amount,
    /// Blocks a unilateral close waits for challenges.
    pub window: u64,
    /// What each side keeps at stake.
    pub reserve: Amount,
    /// Most HTLCs each side may offer in a state.
    pub max_htlcs: u16,
    /// Makes the id unique for the same two keys.
    pub nonce: u64,
}

impl OpenTerms {
    /// The channel's id: binds chain, keys and nonce.
    pub fn channel_id(&self, chain: ChainId) -> Hash {
        channel_id(chain, &self.a, &self.b, self.nonce)
    }

    /// What both sides sign: the chain and the terms.
    pub fn message(&self, chain: ChainId) -> Vec<u8> {
        let mut m = chain.encode().to_vec();
        m.extend_from_slice(&self.encode());
        m
    }

    /// Signs the terms with `key`.
    pub fn sign(&self, chain: ChainId, key: &PrivateKey) -> Signature {
        keys::sign(key, OPEN_NAMESPACE, &self.message(chain))
    }
}

/// A channel's id.
pub fn channel_id(chain: ChainId, a: &PublicKey, b: &PublicKey, nonce: u64) -> Hash {
    hash_tagged(
        b"terrace/chan/id",
        &[
            &chain.0.to_be_bytes(),
            a.as_ref(),
            b.as_ref(),
            &nonce.to_be_bytes(),
        ],
    )
}

/// What both sides sign to close cooperatively: the final balances.
pub fn close_message(channel: &Hash, balance_a: Amount, balance_b: Amount) -> Vec<u8> {
    let mut m = channel.encode().to_vec();
    m.extend_from_slice(&balance_a.encode());
    m.extend_from_slice(&balance_b.encode());
    m
}

/// Why a challenge overrides a close.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A state of a higher version, signed by both.
    Newer(SignedState),
    /// The closer's revocation of the version it closed with: the closer
    /// forfeits the whole channel.
    Revoked {
        /// The revocation.
        revocation: Revocation,
        /// The closer's signature over it.
        signature: Signature,
    },
}

/// What a transaction asks of the channels module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelOp {
    /// Open a channel: both sides signed the terms; each deposit is taken
    /// from its side's account.
    Open {
        /// The terms.
        terms: Box<OpenTerms>,
        /// A's signature over [`OpenTerms::message`].
        sig_a: Signature,
        /// B's.
        sig_b: Signature,
    },
    /// Close at once with final balances both sides signed (no HTLCs).
    CoopClose {
        /// The channel.
        channel: Hash,
        /// Paid to A.
        balance_a: Amount,
        /// Paid to B.
        balance_b: Amount,
        /// A's signature over [`close_message`].
        sig_a: Signature,
        /// B's.
        sig_b: Signature,
    },
    /// Close unilaterally with a state both signed; the window opens.
    Close(Box<SignedState>),
    /// Override a close within its window (anyone: the peer or a tower).
    Challenge {
        /// The channel.
        channel: Hash,
        /// Why.
        evidence: Box<Evidence>,
    },
    /// Pay out a close whose window has passed.
    Settle {
        /// The channel.
        channel: Hash,
    },
    /// Reveal a preimage: it counts for every HTLC of its hash whose
    /// expiry is at or after this block.
    RegisterPreimage {
        /// The preimage.
        preimage: [u8; 32],
    },
    /// Pay a settled HTLC to its receiver: its preimage was registered by
    /// its expiry, or is given here (and registered) before it.
    ClaimHtlc {
        /// The channel.
        channel: Hash,
        /// The HTLC's id.
        htlc: u64,
        /// The preimage, if not registered yet.
        preimage: Option<[u8; 32]>,
    },
    /// Refund a settled HTLC to its offerer: it expired with no preimage
    /// registered in time.
    TimeoutHtlc {
        /// The channel.
        channel: Hash,
        /// The HTLC's id.
        htlc: u64,
    },
}

// ---- codec -------------------------------------------------------------

/// The payload tag of every channel operation.
const CHANNEL_OP: u8 = 8;

impl Write for Side {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Side::A => 0u8,
            Side::B => 1u8,
        }
        .write(buf);
    }
}

impl EncodeSize for Side {
    fn encode_size(&self) -> usize {
        1
    }
}

impl Read for Side {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            0 => Ok(Side::A),
            1 => Ok(Side::B),
            t => Err(CodecError::InvalidEnum(t)),
        }
    }
}

impl Write for Htlc {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.id).write(buf);
        self.offerer.write(buf);
        self.amount.write(buf);
        self.payment_hash.write(buf);
        UInt(self.expiry).write(buf);
    }
}

impl EncodeSize for Htlc {
    fn encode_size(&self) -> usize {
        UInt(self.id).encode_size()
            + 1
            + self.amount.encode_size()
            + 32
            + UInt(self.expiry).encode_size()
    }
}

impl Read for Htlc {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            id: UInt::<u64>::read(buf)?.0,
            offerer: Side::read(buf)?,
            amount: Amount::read(buf)?,
            payment_hash: Hash::read(buf)?,
            expiry: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for ChannelState {
    fn write(&self, buf: &mut impl BufMut) {
        self.channel.write(buf);
        self.version.write(buf);
        self.balance_a.write(buf);
        self.balance_b.write(buf);
        self.htlcs.write(buf);
    }
}

impl EncodeSize for ChannelState {
    fn encode_size(&self) -> usize {
        32 + 8
            + self.balance_a.encode_size()
            + self.balance_b.encode_size()
            + self.htlcs.encode_size()
    }
}

impl Read for ChannelState {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            channel: Hash::read(buf)?,
            version: u64::read(buf)?,
            balance_a: Amount::read(buf)?,
            balance_b: Amount::read(buf)?,
            htlcs: Vec::<Htlc>::read_cfg(buf, &(RangeCfg::new(0..=STATE_HTLCS_MAX), ()))?,
        })
    }
}

impl Write for SignedState {
    fn write(&self, buf: &mut impl BufMut) {
        self.state.write(buf);
        self.sig_a.write(buf);
        self.sig_b.write(buf);
    }
}

impl EncodeSize for SignedState {
    fn encode_size(&self) -> usize {
        self.state.encode_size() + self.sig_a.encode_size() + self.sig_b.encode_size()
    }
}

impl Read for SignedState {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            state: ChannelState::read(buf)?,
            sig_a: Signature::read(buf)?,
            sig_b: Signature::read(buf)?,
        })
    }
}

impl Write for Revocation {
    fn write(&self, buf: &mut impl BufMut) {
        self.channel.write(buf);
        self.revoked_upto.write(buf);
    }
}

impl EncodeSize for Revocation {
    fn encode_size(&self) -> usize {
        32 + 8
    }
}

impl Read for Revocation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            channel: Hash::read(buf)?,
            revoked_upto: u64::read(buf)?,
        })
    }
}

impl Write for OpenTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.a.write(buf);
        self.b.write(buf);
        self.deposit_a.write(buf);
        self.deposit_b.write(buf);
        UInt(self.window).write(buf);
        self.reserve.write(buf);
        UInt(self.max_htlcs).write(buf);
        UInt(self.nonce).write(buf);
    }
}

impl EncodeSize for OpenTerms {
    fn encode_size(&self) -> usize {
        self.a.encode_size()
            + self.b.encode_size()
            + self.deposit_a.encode_size()
            + self.deposit_b.encode_size()
            + UInt(self.window).encode_size()
            + self.reserve.encode_size()
            + UInt(self.max_htlcs).encode_size()
            + UInt(self.nonce).encode_size()
    }
}

impl Read for OpenTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            a: PublicKey::read(buf)?,
            b: PublicKey::read(buf)?,
            deposit_a: Amount::read(buf)?,
            deposit_b: Amount::read(buf)?,
            window: UInt::<u64>::read(buf)?.0,
            reserve: Amount::read(buf)?,
            max_htlcs: UInt::<u16>::read(buf)?.0,
            nonce: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for Evidence {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Evidence::Newer(s) => {
                0u8.write(buf);
                s.write(buf);
            }
            Evidence::Revoked {
                revocation,
                signature,
            } => {
                1u8.write(buf);
                revocation.write(buf);
                signature.write(buf);
            }
        }
    }
}

impl EncodeSize for Evidence {
    fn encode_size(&self) -> usize {
        1 + match self {
            Evidence::Newer(s) => s.encode_size(),
            Evidence::Revoked {
                revocation,
                signature,
            } => revocation.encode_size() + signature.encode_size(),
        }
    }
}

impl Read for Evidence {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Evidence::Newer(SignedState::read(buf)?),
            1 => Evidence::Revoked {
                revocation: Revocation::read(buf)?,
                signature: Signature::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ChannelOp {
    fn write(&self, buf: &mut impl BufMut) {
        CHANNEL_OP.write(buf);
        match self {
            ChannelOp::Open {
                terms,
                sig_a,
                sig_b,
            } => {
                0u8.write(buf);
                terms.write(buf);
                sig_a.write(buf);
                sig_b.write(buf);
            }
            ChannelOp::CoopClose {
                channel,
                balance_a,
                balance_b,
                sig_a,
                sig_b,
            } => {
                1u8.write(buf);
                channel.write(buf);
                balance_a.write(buf);
                balance_b.write(buf);
                sig_a.write(buf);
                sig_b.write(buf);
            }
            ChannelOp::Close(s) => {
                2u8.write(buf);
                s.write(buf);
            }
            ChannelOp::Challenge { channel, evidence } => {
                3u8.write(buf);
                channel.write(buf);
                evidence.write(buf);
            }
            ChannelOp::Settle { channel } => {
                4u8.write(buf);
                channel.write(buf);
            }
            ChannelOp::RegisterPreimage { preimage } => {
                5u8.write(buf);
                preimage.write(buf);
            }
            ChannelOp::ClaimHtlc {
                channel,
                htlc,
                preimage,
            } => {
                6u8.write(buf);
                channel.write(buf);
                UInt(*htlc).write(buf);
                preimage.write(buf);
            }
            ChannelOp::TimeoutHtlc { channel, htlc } => {
                7u8.write(buf);
                channel.write(buf);
                UInt(*htlc).write(buf);
            }
        }
    }
}

impl EncodeSize for ChannelOp {
    fn encode_size(&self) -> usize {
        2 + match self {
            ChannelOp::Open {
                terms,
                sig_a,
                sig_b,
            } => terms.encode_size() + sig_a.encode_size() + sig_b.encode_size(),
            ChannelOp::CoopClose {
                channel,
                balance_a,
                balance_b,
                sig_a,
                sig_b,
            } => {
                channel.encode_size()
                    + balance_a.encode_size()
                    + balance_b.encode_size()
                    + sig_a.encode_size()
                    + sig_b.encode_size()
            }
            ChannelOp::Close(s) => s.encode_size(),
            ChannelOp::Challenge { channel, evidence } => {
                channel.encode_size() + evidence.encode_size()
            }
            ChannelOp::Settle { channel } => channel.encode_size(),
            ChannelOp::RegisterPreimage { preimage } => preimage.encode_size(),
            ChannelOp::ClaimHtlc {
                channel,
                htlc,
                preimage,
            } => channel.encode_size() + UInt(*htlc).encode_size() + preimage.encode_size(),
            ChannelOp::TimeoutHtlc { channel, htlc } => {
                channel.encode_size() + UInt(*htlc).encode_size()
            }
        }
    }
}

impl Tagged for ChannelOp {
    const TAGS: &'static [u8] = &[CHANNEL_OP];

    fn read_tagged(_tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => ChannelOp::Open {
                terms: Box::new(OpenTerms::read(buf)?),
                sig_a: Signature::read(buf)?,
                sig_b: Signature::read(buf)?,
            },
            1 => ChannelOp::CoopClose {
                channel: Hash::read(buf)?,
                balance_a: Amount::read(buf)?,
                balance_b: Amount::read(buf)?,
                sig_a: Signature::read(buf)?,
                sig_b: Signature::read(buf)?,
            },
            2 => ChannelOp::Close(Box::new(SignedState::read(buf)?)),
            3 => ChannelOp::Challenge {
                channel: Hash::read(buf)?,
                evidence: Box::new(Evidence::read(buf)?),
            },
            4 => ChannelOp::Settle {
                channel: Hash::read(buf)?,
            },
            5 => ChannelOp::RegisterPreimage {
                preimage: <[u8; 32]>::read(buf)?,
            },
            6 => ChannelOp::ClaimHtlc {
                channel: Hash::read(buf)?,
                htlc: UInt::<u64>::read(buf)?.0,
                preimage: Option::<[u8; 32]>::read(buf)?,
            },
            7 => ChannelOp::TimeoutHtlc {
                channel: Hash::read(buf)?,
                htlc: UInt::<u64>::read(buf)?.0,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
