//! What L1 keeps about payment channels — each channel with its status,
//! the index that numbers them, and the preimage registry — under which
//! keys, and their encodings.

use super::ops::{ChannelState, Side};
use crate::{
    module::Tagged,
    state::{StateReader, Value},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{Address, Amount, Hash, PublicKey};

/// Where a channel record lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChannelKey {
    /// The number of channels ever opened.
    Count,
    /// The id of the `n`th channel opened (so an auditor can list them).
    Index(u64),
    /// A channel, by id.
    Channel(Hash),
    /// The preimage registry: the height a payment hash's preimage was
    /// first revealed at.
    Preimage(Hash),
}

/// A channel record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRecord {
    /// Under [`ChannelKey::Count`].
    Count(u64),
    /// Under [`ChannelKey::Index`].
    Index(Hash),
    /// Under [`ChannelKey::Channel`].
    Channel(Box<Channel>),
    /// Under [`ChannelKey::Preimage`]: the height of its registration.
    Preimage(u64),
}

/// A channel as L1 keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Side A's key (signs states; paid at `Address::from_public_key`).
    pub a: PublicKey,
    /// Side B's key.
    pub b: PublicKey,
    /// A's deposit at open.
    pub deposit_a: Amount,
    /// B's deposit at open.
    pub deposit_b: Amount,
    /// Blocks a unilateral close waits for challenges.
    pub window: u64,
    /// What each side keeps at stake once its balance reaches it (the
    /// peers enforce it on every update: L1 records it for them).
    pub reserve: Amount,
    /// Most HTLCs each side may offer in a state.
    pub max_htlcs: u16,
    /// Its position in the index.
    pub number: u64,
    /// L1 height it opened at.
    pub opened_at: u64,
    /// Where it is in its life.
    pub status: Status,
}

impl Channel {
    /// Funds it was opened with: every state's balances and HTLCs sum to it.
    pub fn capacity(&self) -> Option<Amount> {
        self.deposit_a.checked_add(self.deposit_b)
    }

    /// A side's key.
    pub fn key(&self, side: Side) -> &PublicKey {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }

    /// A side's L1 address.
    pub fn address(&self, side: Side) -> Address {
        Address::from_public_key(self.key(side))
    }

    /// The side whose address is `who`, if either.
    pub fn side_of(&self, who: &Address) -> Option<Side> {
        [Side::A, Side::B]
            .into_iter()
            .find(|s| self.address(*s) == *who)
    }

    /// Funds it holds: the capacity until it settles, then the HTLCs that
    /// wait for a preimage or their expiry.
    pub fn held(&self) -> Option<Amount> {
        match &self.status {
            Status::Open | Status::Closing(_) => self.capacity(),
            Status::Settled { pending, .. } => pending
                .iter()
                .try_fold(Amount::ZERO, |t, h| t.checked_add(h.amount)),
            Status::Closed { .. } => Some(Amount::ZERO),
        }
    }
}

/// A channel's life: open, closing (the window runs), settled with HTLCs
/// still to resolve, closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Both sides update off-chain.
    Open,
    /// A side closed unilaterally; challenges land until the deadline.
    Closing(Box<Closing>),
    /// Paid out; these HTLCs wait for a claim (preimage registered by
    /// their expiry) or a timeout.
    Settled {
        /// Height it settled at.
        height: u64,
        /// HTLCs not yet resolved.
        pending: Vec<PendingHtlc>,
    },
    /// Nothing left in it. The record stays so its id is never reused
    /// (the open's signatures cannot be replayed).
    Closed {
        /// Height it closed at.
        height: u64,
    },
}

/// A unilateral close in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// The newest state posted so far (the close's, or a challenge's).
    pub state: ChannelState,
    /// Who closed.
    pub closer: Side,
    /// The version the closer posted: a revocation of it by the closer
    /// proves the close a theft.
    pub closed_version: u64,
    /// First height at which the channel may settle; challenges land
    /// before it. Fixed at the close, never extended.
    pub deadline: u64,
    /// The side proven to have closed with a revoked state: it forfeits
    /// the whole capacity.
    pub penalized: Option<Side>,
}

/// An HTLC left after settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingHtlc {
    /// Its id in the channel.
    pub id: u64,
    /// Paid to on a claim.
    pub receiver: Address,
    /// Refunded on a timeout.
    pub offerer: Address,
    /// Amount.
    pub amount: Amount,
    /// SHA-256 of the preimage that claims it.
    pub payment_hash: Hash,
    /// Last L1 height at which its preimage may be registered.
    pub expiry: u64,
}

/// Typed reads of channel records.
pub trait ChannelRecords: StateReader {
    /// The number of channels ever opened.
    fn channel_count(&self) -> u64 {
        match self.get(&ChannelKey::Count.into()) {
            Some(Value::Channels(ChannelRecord::Count(n))) => n,
            _ => 0,
        }
    }
    /// The id of the `n`th channel.
    fn channel_id(&self, n: u64) -> Option<Hash> {
        match self.get(&ChannelKey::Index(n).into()) {
            Some(Value::Channels(ChannelRecord::Index(id))) => Some(id),
            _ => None,
        }
    }
    /// A channel.
    fn channel(&self, id: &Hash) -> Option<Channel> {
        match self.get(&ChannelKey::Channel(*id).into()) {
            Some(Value::Channels(ChannelRecord::Channel(c))) => Some(*c),
            _ => None,
        }
    }
    /// The height a payment hash's preimage was registered at.
    fn preimage_height(&self, payment_hash: &Hash) -> Option<u64> {
        match self.get(&ChannelKey::Preimage(*payment_hash).into()) {
            Some(Value::Channels(ChannelRecord::Preimage(h))) => Some(h),
            _ => None,
        }
    }
}

impl<S: StateReader + ?Sized> ChannelRecords for S {}

// ---- codec -------------------------------------------------------------

const COUNT: u8 = 22;
const INDEX: u8 = 23;
const CHANNEL: u8 = 24;
const PREIMAGE: u8 = 25;

impl Write for PendingHtlc {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.id).write(buf);
        self.receiver.write(buf);
        self.offerer.write(buf);
        self.amount.write(buf);
        self.payment_hash.write(buf);
        UInt(self.expiry).write(buf);
    }
}

impl EncodeSize for PendingHtlc {
    fn encode_size(&self) -> usize {
        UInt(self.id).encode_size()
            + 2 * Address::LEN
            + self.amount.encode_size()
            + 32
            + UInt(self.expiry).encode_size()
    }
}

impl Read for PendingHtlc {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            id: UInt::<u64>::read(buf)?.0,
            receiver: Address::read(buf)?,
            offerer: Address::read(buf)?,
            amount: Amount::read(buf)?,
            payment_hash: Hash::read(buf)?,
            expiry: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for Status {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Status::Open => 0u8.write(buf),
            Status::Closing(c) => {
                1u8.write(buf);
                c.state.write(buf);
                c.closer.write(buf);
                UInt(c.closed_version).write(buf);
                UInt(c.deadline).write(buf);
                c.penalized.write(buf);
            }
            Status::Settled { height, pending } => {
                2u8.write(buf);
                UInt(*height).write(buf);
                pending.write(buf);
            }
            Status::Closed { height } => {
                3u8.write(buf);
                UInt(*height).write(buf);
            }
        }
    }
}

impl EncodeSize for Status {
    fn encode_size(&self) -> usize {
        1 + match self {
            Status::Open => 0,
            Status::Closing(c) => {
                c.state.encode_size()
                    + 1
                    + UInt(c.closed_version).encode_size()
                    + UInt(c.deadline).encode_size()
                    + c.penalized.encode_size()
            }
            Status::Settled { height, pending } => {
                UInt(*height).encode_size() + pending.encode_size()
            }
            Status::Closed { height } => UInt(*height).encode_size(),
        }
    }
}

impl Read for Status {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Status::Open,
            1 => Status::Closing(Box::new(Closing {
                state: ChannelState::read(buf)?,
                closer: Side::read(buf)?,
                closed_version: UInt::<u64>::read(buf)?.0,
                deadline: UInt::<u64>::read(buf)?.0,
                penalized: Option::<Side>::read(buf)?,
            })),
            2 => Status::Settled {
                height: UInt::<u64>::read(buf)?.0,
                pending: Vec::<PendingHtlc>::read_cfg(
                    buf,
                    &(
                        commonware_codec::RangeCfg::new(0..=super::STATE_HTLCS_MAX),
                        (),
                    ),
                )?,
            },
            3 => Status::Closed {
                height: UInt::<u64>::read(buf)?.0,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for Channel {
    fn write(&self, buf: &mut impl BufMut) {
        self.a.write(buf);
        self.b.write(buf);
        self.deposit_a.write(buf);
        self.deposit_b.write(buf);
        UInt(self.window).write(buf);
        self.reserve.write(buf);
        UInt(self.max_htlcs).write(buf);
        UInt(self.number).write(buf);
        UInt(self.opened_at).write(buf);
        self.status.write(buf);
    }
}

impl EncodeSize for Channel {
    fn encode_size(&self) -> usize {
        self.a.encode_size()
            + self.b.encode_size()
            + self.deposit_a.encode_size()
            + self.deposit_b.encode_size()
            + UInt(self.window).encode_size()
            + self.reserve.encode_size()
            + UInt(self.max_htlcs).encode_size()
            + UInt(self.number).encode_size()
            + UInt(self.opened_at).encode_size()
            + self.status.encode_size()
    }
}

impl Read for Channel {
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
            number: UInt::<u64>::read(buf)?.0,
            opened_at: UInt::<u64>::read(buf)?.0,
            status: Status::read(buf)?,
        })
    }
}

impl Write for ChannelKey {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ChannelKey::Count => COUNT.write(buf),
            ChannelKey::Index(n) => {
                INDEX.write(buf);
                buf.put_u64(*n);
            }
            ChannelKey::Channel(id) => {
                CHANNEL.write(buf);
                id.write(buf);
            }
            ChannelKey::Preimage(h) => {
                PREIMAGE.write(buf);
                h.write(buf);
            }
        }
    }
}

impl EncodeSize for ChannelKey {
    fn encode_size(&self) -> usize {
        1 + match self {
            ChannelKey::Count => 0,
            ChannelKey::Index(_) => 8,
            ChannelKey::Channel(_) | ChannelKey::Preimage(_) => 32,
        }
    }
}

impl Tagged for ChannelKey {
    const TAGS: &'static [u8] = &[COUNT, INDEX, CHANNEL, PREIMAGE];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            COUNT => ChannelKey::Count,
            INDEX => ChannelKey::Index(u64::from_be_bytes(<[u8; 8]>::read(buf)?)),
            CHANNEL => ChannelKey::Channel(Hash::read(buf)?),
            PREIMAGE => ChannelKey::Preimage(Hash::read(buf)?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ChannelRecord {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ChannelRecord::Count(n) => {
                COUNT.write(buf);
                UInt(*n).write(buf);
            }
            ChannelRecord::Index(id) => {
                INDEX.write(buf);
                id.write(buf);
            }
            ChannelRecord::Channel(c) => {
                CHANNEL.write(buf);
                c.write(buf);
            }
            ChannelRecord::Preimage(h) => {
                PREIMAGE.write(buf);
                UInt(*h).write(buf);
            }
        }
    }
}

impl EncodeSize for ChannelRecord {
    fn encode_size(&self) -> usize {
        1 + match self {
            ChannelRecord::Count(n) | ChannelRecord::Preimage(n) => UInt(*n).encode_size(),
            ChannelRecord::Index(_) => 32,
            ChannelRecord::Channel(c) => c.encode_size(),
        }
    }
}

impl Tagged for ChannelRecord {
    const TAGS: &'static [u8] = &[COUNT, INDEX, CHANNEL, PREIMAGE];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            COUNT => ChannelRecord::Count(UInt::<u64>::read(buf)?.0),
            INDEX => ChannelRecord::Index(Hash::read(buf)?),
            CHANNEL => ChannelRecord::Channel(Box::new(Channel::read(buf)?)),
            PREIMAGE => ChannelRecord::Preimage(UInt::<u64>::read(buf)?.0),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
