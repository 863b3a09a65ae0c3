//! What L1 keeps about each optimistic rollup — its record, batches,
//! inbox, posters' bonds, challenges and claimed withdrawals — under which
//! keys, and their canonical encodings.

use crate::{
    module::Tagged,
    state::{StateReader, Value},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use serde::{Deserialize, Serialize};
use terrace_l2::Commitment;
use terrace_primitives::{Address, Amount, Hash};

/// Where an optimistic rollup's record lives. Ids and indices are encoded
/// fixed-width big-endian, so a rollup's records sit together in the
/// store, in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptimisticKey {
    /// The number of rollups registered (the next rollup id).
    RollupCount,
    /// A rollup's record.
    Rollup(u64),
    /// A rollup's batch, by index.
    Batch(u64, u64),
    /// A rollup's inbox message, by position.
    Inbox(u64, u64),
    /// A poster's bond for a rollup.
    Bond(u64, Address),
    /// A rollup's open challenge, by id.
    Challenge(u64, u64),
    /// A claimed withdrawal of a rollup, by index: the nullifier.
    Claim(u64, u64),
}

/// An optimistic rollup's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptimisticRecord {
    /// Under [`OptimisticKey::RollupCount`].
    RollupCount(u64),
    /// Under [`OptimisticKey::Rollup`].
    Rollup(Box<Rollup>),
    /// Under [`OptimisticKey::Batch`].
    Batch(Box<BatchRecord>),
    /// Under [`OptimisticKey::Inbox`].
    Inbox(InboxRecord),
    /// Under [`OptimisticKey::Bond`].
    Bond(PosterBond),
    /// Under [`OptimisticKey::Challenge`].
    Challenge(Box<Challenge>),
    /// Under [`OptimisticKey::Claim`]: the height it was claimed at.
    Claimed(u64),
}

/// Most batches with open challenges a rollup tracks at once.
pub const DISPUTED_MAX: usize = 1 << 12;

/// A rollup's parameters, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupConfig {
    /// The address that may post batches while it keeps posting.
    pub sequencer: Address,
    /// Bond a poster must hold to post a batch; lost in full when one of its
    /// batches loses a challenge.
    pub poster_bond: Amount,
    /// Bond locked by each challenge; lost when the challenger loses.
    pub challenge_bond: Amount,
    /// L1 blocks a batch may be challenged for; after that (and once its
    /// challenges are over) it is final.
    pub challenge_window_blocks: u64,
    /// L1 blocks an inbox message may wait: a batch that leaves an older one
    /// unconsumed is rejected, and when no batch has been posted for this
    /// long anyone may post.
    pub sequencing_window_blocks: u64,
    /// Most bytes of compressed batch data per batch.
    pub batch_bytes_max: u64,
    /// L1 blocks each side has for each move of a challenge.
    pub move_deadline_blocks: u64,
}

/// What L1 keeps about a rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    /// Its parameters.
    pub config: RollupConfig,
    /// Funds locked for it: deposits not yet claimed back.
    pub escrow: Amount,
    /// Messages appended to its inbox.
    pub inbox_count: u64,
    /// Messages consumed by its accepted batches.
    pub inbox_consumed: u64,
    /// Accepted batches (later ones were reverted or never posted).
    pub batch_count: u64,
    /// Output root after the last accepted batch (genesis before any).
    pub output_root: Hash,
    /// L1 height of the last accepted batch (or of creation, or of the
    /// last revert): the sequencing window runs from here.
    pub last_batch_height: u64,
    /// Challenges ever opened (the next challenge id).
    pub challenge_count: u64,
    /// Batches with open challenges and how many, by batch index. A batch
    /// is final only when no batch at or before it is disputed.
    pub disputed: Vec<(u64, u32)>,
}

/// Share of a loser's bond paid to the winner, in basis points; the rest is
/// burned, so colluding parties cannot recycle a bond through a lost game.
pub const WINNER_SHARE_BPS: u64 = 5_000;

impl Rollup {
    /// A new rollup created at `height`, at the L2 genesis state.
    pub fn new(config: RollupConfig, height: u64) -> Self {
        Self {
            config,
            escrow: Amount::ZERO,
            inbox_count: 0,
            inbox_consumed: 0,
            batch_count: 0,
            output_root: Commitment::genesis().output_root(),
            last_batch_height: height,
            challenge_count: 0,
            disputed: Vec::new(),
        }
    }

    /// Whether accepted batch `index`, posted at `batch_height`, is final at
    /// `height`: its window is over and no batch up to it is disputed.
    pub fn is_final(&self, index: u64, batch_height: u64, height: u64) -> bool {
        index < self.batch_count
            && height >= self.window_end(batch_height)
            && self.disputed.first().is_none_or(|(b, _)| *b > index)
    }

    /// The L1 height at which a batch posted at `batch_height` stops being
    /// challengeable.
    pub fn window_end(&self, batch_height: u64) -> u64 {
        batch_height.saturating_add(self.config.challenge_window_blocks)
    }
}

/// An accepted batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// The posting transaction's id: tells a batch from a later one posted
    /// at the same index after a revert.
    pub id: Hash,
    /// Who posted it (the defender in its challenges).
    pub poster: Address,
    /// Output root before it.
    pub prev_output_root: Hash,
    /// Output root after it (the claim challenges dispute).
    pub output_root: Hash,
    /// Merkle root of its steps ([`terrace_l2::batch::data_commitment`]).
    pub data_commitment: Hash,
    /// Number of steps.
    pub step_count: u64,
    /// Merkle root of its chunks of aggregated transactions
    /// ([`terrace_l2::batch::aggregate_commitment`]).
    pub aggregate_commitment: Hash,
    /// Number of chunks.
    pub chunk_count: u64,
    /// Inbox position before it.
    pub inbox_start: u64,
    /// Inbox position after it.
    pub inbox_end: u64,
    /// L1 height it was posted at.
    pub height: u64,
}

/// An inbox message as L1 keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxRecord {
    /// [`terrace_l2::InboxMessage::hash`] of the message.
    pub hash: Hash,
    /// L1 height it was appended at.
    pub height: u64,
}

/// A poster's bond for one rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PosterBond {
    /// Bonded amount.
    pub amount: Amount,
    /// The last batch it posted: the bond comes back once that is final.
    pub last_batch: Option<u64>,
}

/// An interactive challenge of one batch: a bisection over its per-step
/// output roots.
///
/// Roots `r_0 … r_n` are the output roots after each of the batch's `n`
/// steps (`r_0` is the root before it). The parties agree on `r_lo` and
/// disagree on `r_hi`; each round the defender reveals `r_mid` and the
/// challenger says which half it disputes, until `hi = lo + 1` and one
/// step remains for a one-step proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The disputed batch's index.
    pub batch: u64,
    /// The disputed batch's id.
    pub batch_id: Hash,
    /// Who opened it.
    pub challenger: Address,
    /// The batch's poster.
    pub defender: Address,
    /// The challenger's bond.
    pub bond: Amount,
    /// Last step count both agree on.
    pub lo: u64,
    /// The agreed root after `lo` steps.
    pub lo_root: Hash,
    /// First step count in dispute.
    pub hi: u64,
    /// The defender's root after `hi` steps.
    pub hi_root: Hash,
    /// The root after `(lo + hi) / 2` steps the defender revealed, awaiting
    /// the challenger's choice.
    pub mid_root: Option<Hash>,
    /// Last L1 height at which the side to move may move.
    pub deadline: u64,
}

/// Whose move a challenge awaits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The defender must reveal the midpoint root.
    Defender,
    /// The challenger must pick the half it disputes.
    Challenger,
    /// One step is left: a one-step proof settles it (the challenger must
    /// bring one, since it claims the step is wrong).
    OneStep,
}

impl Challenge {
    /// Whose move it is.
    pub fn turn(&self) -> Turn {
        if self.hi.saturating_sub(self.lo) <= 1 {
            Turn::OneStep
        } else if self.mid_root.is_none() {
            Turn::Defender
        } else {
            Turn::Challenger
        }
    }

    /// The step count the defender must reveal a root for.
    pub fn mid(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }
}

/// Typed reads of a rollup's records, for settlement and for rollup nodes.
pub trait RollupRecords: StateReader {
    /// The number of rollups registered.
    fn rollup_count(&self) -> u64 {
        match self.get(&OptimisticKey::RollupCount.into()) {
            Some(Value::Optimistic(OptimisticRecord::RollupCount(n))) => n,
            _ => 0,
        }
    }
    /// The rollup's record.
    fn rollup(&self, id: u64) -> Option<Rollup> {
        match self.get(&OptimisticKey::Rollup(id).into()) {
            Some(Value::Optimistic(OptimisticRecord::Rollup(r))) => Some(*r),
            _ => None,
        }
    }
    /// A standing batch.
    fn batch(&self, id: u64, index: u64) -> Option<BatchRecord> {
        match self.get(&OptimisticKey::Batch(id, index).into()) {
            Some(Value::Optimistic(OptimisticRecord::Batch(b))) => Some(*b),
            _ => None,
        }
    }
    /// An inbox message's record.
    fn inbox(&self, id: u64, position: u64) -> Option<InboxRecord> {
        match self.get(&OptimisticKey::Inbox(id, position).into()) {
            Some(Value::Optimistic(OptimisticRecord::Inbox(i))) => Some(i),
            _ => None,
        }
    }
    /// A poster's bond.
    fn bond(&self, id: u64, poster: Address) -> Option<PosterBond> {
        match self.get(&OptimisticKey::Bond(id, poster).into()) {
            Some(Value::Optimistic(OptimisticRecord::Bond(b))) => Some(b),
            _ => None,
        }
    }
    /// An open challenge.
    fn challenge(&self, id: u64, challenge: u64) -> Option<Challenge> {
        match self.get(&OptimisticKey::Challenge(id, challenge).into()) {
            Some(Value::Optimistic(OptimisticRecord::Challenge(c))) => Some(*c),
            _ => None,
        }
    }
    /// Whether withdrawal `index` has been claimed.
    fn claimed(&self, id: u64, index: u64) -> bool {
        self.get(&OptimisticKey::Claim(id, index).into()).is_some()
    }
}

impl<S: StateReader + ?Sized> RollupRecords for S {}

// ---- codec -------------------------------------------------------------

impl Write for RollupConfig {
    fn write(&self, buf: &mut impl BufMut) {
        self.sequencer.write(buf);
        self.poster_bond.write(buf);
        self.challenge_bond.write(buf);
        UInt(self.challenge_window_blocks).write(buf);
        UInt(self.sequencing_window_blocks).write(buf);
        UInt(self.batch_bytes_max).write(buf);
        UInt(self.move_deadline_blocks).write(buf);
    }
}

impl EncodeSize for RollupConfig {
    fn encode_size(&self) -> usize {
        Address::LEN
            + self.poster_bond.encode_size()
            + self.challenge_bond.encode_size()
            + UInt(self.challenge_window_blocks).encode_size()
            + UInt(self.sequencing_window_blocks).encode_size()
            + UInt(self.batch_bytes_max).encode_size()
            + UInt(self.move_deadline_blocks).encode_size()
    }
}

impl Read for RollupConfig {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            sequencer: Address::read(buf)?,
            poster_bond: Amount::read(buf)?,
            challenge_bond: Amount::read(buf)?,
            challenge_window_blocks: UInt::<u64>::read(buf)?.0,
            sequencing_window_blocks: UInt::<u64>::read(buf)?.0,
            batch_bytes_max: UInt::<u64>::read(buf)?.0,
            move_deadline_blocks: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for Rollup {
    fn write(&self, buf: &mut impl BufMut) {
        self.config.write(buf);
        self.escrow.write(buf);
        UInt(self.inbox_count).write(buf);
        UInt(self.inbox_consumed).write(buf);
        UInt(self.batch_count).write(buf);
        self.output_root.write(buf);
        UInt(self.last_batch_height).write(buf);
        UInt(self.challenge_count).write(buf);
        UInt(self.disputed.len() as u64).write(buf);
        for (batch, open) in &self.disputed {
            UInt(*batch).write(buf);
            UInt(*open).write(buf);
        }
    }
}

impl EncodeSize for Rollup {
    fn encode_size(&self) -> usize {
        self.config.encode_size()
            + self.escrow.encode_size()
            + UInt(self.inbox_count).encode_size()
            + UInt(self.inbox_consumed).encode_size()
            + UInt(self.batch_count).encode_size()
            + 32
            + UInt(self.last_batch_height).encode_size()
            + UInt(self.challenge_count).encode_size()
            + UInt(self.disputed.len() as u64).encode_size()
            + self
                .disputed
                .iter()
                .map(|(b, o)| UInt(*b).encode_size() + UInt(*o).encode_size())
                .sum::<usize>()
    }
}

impl Read for Rollup {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let config = RollupConfig::read(buf)?;
        let escrow = Amount::read(buf)?;
        let inbox_count = UInt::<u64>::read(buf)?.0;
        let inbox_consumed = UInt::<u64>::read(buf)?.0;
        let batch_count = UInt::<u64>::read(buf)?.0;
        let output_root = Hash::read(buf)?;
        let last_batch_height = UInt::<u64>::read(buf)?.0;
        let challenge_count = UInt::<u64>::read(buf)?.0;
        let n = UInt::<u64>::read(buf)?.0;
        if n > DISPUTED_MAX as u64 {
            return Err(CodecError::InvalidLength(n as usize));
        }
        let mut disputed = Vec::with_capacity(n as usize);
        for _ in 0..n {
            disputed.push((UInt::<u64>::read(buf)?.0, UInt::<u32>::read(buf)?.0));
        }
        Ok(Self {
            config,
            escrow,
            inbox_count,
            inbox_consumed,
            batch_count,
            output_root,
            last_batch_height,
            challenge_count,
            disputed,
        })
    }
}

impl Write for BatchRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.poster.write(buf);
        self.prev_output_root.write(buf);
        self.output_root.write(buf);
        self.data_commitment.write(buf);
        UInt(self.step_count).write(buf);
        self.aggregate_commitment.write(buf);
        UInt(self.chunk_count).write(buf);
        UInt(self.inbox_start).write(buf);
        UInt(self.inbox_end).write(buf);
        UInt(self.height).write(buf);
    }
}

impl EncodeSize for BatchRecord {
    fn encode_size(&self) -> usize {
        32 * 5
            + Address::LEN
            + UInt(self.step_count).encode_size()
            + UInt(self.chunk_count).encode_size()
            + UInt(self.inbox_start).encode_size()
            + UInt(self.inbox_end).encode_size()
            + UInt(self.height).encode_size()
    }
}

impl Read for BatchRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            id: Hash::read(buf)?,
            poster: Address::read(buf)?,
            prev_output_root: Hash::read(buf)?,
            output_root: Hash::read(buf)?,
            data_commitment: Hash::read(buf)?,
            step_count: UInt::<u64>::read(buf)?.0,
            aggregate_commitment: Hash::read(buf)?,
            chunk_count: UInt::<u64>::read(buf)?.0,
            inbox_start: UInt::<u64>::read(buf)?.0,
            inbox_end: UInt::<u64>::read(buf)?.0,
            height: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for InboxRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.hash.write(buf);
        UInt(self.height).write(buf);
    }
}

impl EncodeSize for InboxRecord {
    fn encode_size(&self) -> usize {
        32 + UInt(self.height).encode_size()
    }
}

impl Read for InboxRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            hash: Hash::read(buf)?,
            height: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for PosterBond {
    fn write(&self, buf: &mut impl BufMut) {
        self.amount.write(buf);
        self.last_batch.map(UInt).write(buf);
    }
}

impl EncodeSize for PosterBond {
    fn encode_size(&self) -> usize {
        self.amount.encode_size() + self.last_batch.map(UInt).encode_size()
    }
}

impl Read for PosterBond {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            amount: Amount::read(buf)?,
            last_batch: Option::<UInt<u64>>::read(buf)?.map(|u| u.0),
        })
    }
}

impl Write for Challenge {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.batch).write(buf);
        self.batch_id.write(buf);
        self.challenger.write(buf);
        self.defender.write(buf);
        self.bond.write(buf);
        UInt(self.lo).write(buf);
        self.lo_root.write(buf);
        UInt(self.hi).write(buf);
        self.hi_root.write(buf);
        self.mid_root.write(buf);
        UInt(self.deadline).write(buf);
    }
}

impl EncodeSize for Challenge {
    fn encode_size(&self) -> usize {
        UInt(self.batch).encode_size()
            + 32
            + 2 * Address::LEN
            + self.bond.encode_size()
            + UInt(self.lo).encode_size()
            + 32
            + UInt(self.hi).encode_size()
            + 32
            + self.mid_root.encode_size()
            + UInt(self.deadline).encode_size()
    }
}

impl Read for Challenge {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            batch: UInt::<u64>::read(buf)?.0,
            batch_id: Hash::read(buf)?,
            challenger: Address::read(buf)?,
            defender: Address::read(buf)?,
            bond: Amount::read(buf)?,
            lo: UInt::<u64>::read(buf)?.0,
            lo_root: Hash::read(buf)?,
            hi: UInt::<u64>::read(buf)?.0,
            hi_root: Hash::read(buf)?,
            mid_root: Option::<Hash>::read(buf)?,
            deadline: UInt::<u64>::read(buf)?.0,
        })
    }
}

const ROLLUP_COUNT: u8 = 7;
const ROLLUP: u8 = 8;
const BATCH: u8 = 9;
const INBOX: u8 = 10;
const BOND: u8 = 11;
const CHALLENGE: u8 = 12;
const CLAIM: u8 = 13;

/// Writes a tag and two big-endian numbers.
fn pair(buf: &mut impl BufMut, tag: u8, id: u64, index: u64) {
    tag.write(buf);
    buf.put_u64(id);
    buf.put_u64(index);
}

fn read_u64_be(buf: &mut impl Buf) -> Result<u64, CodecError> {
    Ok(u64::from_be_bytes(<[u8; 8]>::read(buf)?))
}

impl Write for OptimisticKey {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            OptimisticKey::RollupCount => ROLLUP_COUNT.write(buf),
            OptimisticKey::Rollup(id) => {
                ROLLUP.write(buf);
                buf.put_u64(*id);
            }
            OptimisticKey::Batch(id, i) => pair(buf, BATCH, *id, *i),
            OptimisticKey::Inbox(id, i) => pair(buf, INBOX, *id, *i),
            OptimisticKey::Bond(id, a) => {
                BOND.write(buf);
                buf.put_u64(*id);
                a.write(buf);
            }
            OptimisticKey::Challenge(id, i) => pair(buf, CHALLENGE, *id, *i),
            OptimisticKey::Claim(id, i) => pair(buf, CLAIM, *id, *i),
        }
    }
}

impl EncodeSize for OptimisticKey {
    fn encode_size(&self) -> usize {
        1 + match self {
            OptimisticKey::RollupCount => 0,
            OptimisticKey::Rollup(_) => 8,
            OptimisticKey::Batch(..)
            | OptimisticKey::Inbox(..)
            | OptimisticKey::Challenge(..)
            | OptimisticKey::Claim(..) => 16,
            OptimisticKey::Bond(..) => 8 + Address::LEN,
        }
    }
}

impl Tagged for OptimisticKey {
    const TAGS: &'static [u8] = &[ROLLUP_COUNT, ROLLUP, BATCH, INBOX, BOND, CHALLENGE, CLAIM];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            ROLLUP_COUNT => OptimisticKey::RollupCount,
            ROLLUP => OptimisticKey::Rollup(read_u64_be(buf)?),
            BATCH => OptimisticKey::Batch(read_u64_be(buf)?, read_u64_be(buf)?),
            INBOX => OptimisticKey::Inbox(read_u64_be(buf)?, read_u64_be(buf)?),
            BOND => OptimisticKey::Bond(read_u64_be(buf)?, Address::read(buf)?),
            CHALLENGE => OptimisticKey::Challenge(read_u64_be(buf)?, read_u64_be(buf)?),
            CLAIM => OptimisticKey::Claim(read_u64_be(buf)?, read_u64_be(buf)?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for OptimisticRecord {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            OptimisticRecord::RollupCount(n) => {
                ROLLUP_COUNT.write(buf);
                UInt(*n).write(buf);
            }
            OptimisticRecord::Rollup(r) => {
                ROLLUP.write(buf);
                r.write(buf);
            }
            OptimisticRecord::Batch(b) => {
                BATCH.write(buf);
                b.write(buf);
            }
            OptimisticRecord::Inbox(i) => {
                INBOX.write(buf);
                i.write(buf);
            }
            OptimisticRecord::Bond(b) => {
                BOND.write(buf);
                b.write(buf);
            }
            OptimisticRecord::Challenge(c) => {
                CHALLENGE.write(buf);
                c.write(buf);
            }
            OptimisticRecord::Claimed(h) => {
                CLAIM.write(buf);
                UInt(*h).write(buf);
            }
        }
    }
}

impl EncodeSize for OptimisticRecord {
    fn encode_size(&self) -> usize {
        1 + match self {
            OptimisticRecord::RollupCount(n) | OptimisticRecord::Claimed(n) => {
                UInt(*n).encode_size()
            }
            OptimisticRecord::Rollup(r) => r.encode_size(),
            OptimisticRecord::Batch(b) => b.encode_size(),
            OptimisticRecord::Inbox(i) => i.encode_size(),
            OptimisticRecord::Bond(b) => b.encode_size(),
            OptimisticRecord::Challenge(c) => c.encode_size(),
        }
    }
}

impl Tagged for OptimisticRecord {
    const TAGS: &'static [u8] = &[ROLLUP_COUNT, ROLLUP, BATCH, INBOX, BOND, CHALLENGE, CLAIM];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            ROLLUP_COUNT => OptimisticRecord::RollupCount(UInt::<u64>::read(buf)?.0),
            ROLLUP => OptimisticRecord::Rollup(Box::new(Rollup::read(buf)?)),
            BATCH => OptimisticRecord::Batch(Box::new(BatchRecord::read(buf)?)),
            INBOX => OptimisticRecord::Inbox(InboxRecord::read(buf)?),
            BOND => OptimisticRecord::Bond(PosterBond::read(buf)?),
            CHALLENGE => OptimisticRecord::Challenge(Box::new(Challenge::read(buf)?)),
            CLAIM => OptimisticRecord::Claimed(UInt::<u64>::read(buf)?.0),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
