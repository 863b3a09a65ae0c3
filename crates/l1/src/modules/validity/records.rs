//! What L1 keeps about each zk-rollup — its record, proven batches, inbox
//! and spent nullifiers — under which keys, and their encodings.

use crate::{
    module::Tagged,
    state::{StateReader, Value},
};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{Address, Amount, PublicKey};
use terrace_zk::groth16::VerifyingKey;

/// A field element as L1 stores it: 32 canonical little-endian bytes.
pub type Felt = [u8; 32];

/// Where a zk-rollup's record lives. Ids and indices are big-endian, so a
/// rollup's records sit together in the store, in order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValidityKey {
    /// The number of zk-rollups registered (the next id).
    RollupCount,
    /// A rollup's record.
    Rollup(u64),
    /// A proven batch, by index.
    Batch(u64, u64),
    /// An inbox entry, by position.
    Inbox(u64, u64),
    /// A claimed withdrawal: batch and slot (the nullifier).
    Claim(u64, u64, u32),
    /// An exodus exit of an account (the nullifier).
    Exit(u64, u32),
    /// A refunded deposit, by inbox position.
    Refund(u64, u64),
    /// A forced exit's serial, spent: account and serial.
    Forced(u64, u32, u64),
}

/// A zk-rollup record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidityRecord {
    /// Under [`ValidityKey::RollupCount`].
    RollupCount(u64),
    /// Under [`ValidityKey::Rollup`].
    Rollup(Box<ZkRollup>),
    /// Under [`ValidityKey::Batch`].
    Batch(ZkBatch),
    /// Under [`ValidityKey::Inbox`].
    Inbox(ZkInbox),
    /// Under a nullifier key: the height it was spent at.
    Spent(u64),
}

/// Where a zk-rollup's transaction data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataMode {
    /// On L1, in the batch transaction (a zk-rollup).
    OnChain,
    /// With a data-availability committee (a validium): L1 sees only the
    /// data's commitment and members' signatures that they hold the data.
    Committee(Committee),
}

/// A data-availability committee: any `threshold` of its members vouch
/// for a batch's data.
///
/// Whoever holds the data can rebuild the state and build exit proofs.
/// The proof still decides every state transition, so members cannot
/// steal; but the operator with `n − threshold + 1` members who sign and
/// then withhold can freeze every account whose owner kept no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// The members' Ed25519 keys; a signature names its member by index.
    pub members: Vec<PublicKey>,
    /// Distinct members' signatures a batch needs.
    pub threshold: u8,
}

/// Most members of a committee.
pub const COMMITTEE_MAX: usize = 32;

/// A verification key for one batch size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// Slots per batch (a power of two).
    pub slots: u32,
    /// The Groth16 key ([`VerifyingKey::to_bytes`]).
    pub key: Bytes,
}

/// Most batch sizes a rollup registers.
pub const VERIFIERS_MAX: usize = 4;
/// Largest batch.
pub const SLOTS_MAX: u32 = 1 << 10;
/// Most bytes of one encoded verification key (7 public inputs).
pub const KEY_BYTES_MAX: usize = 32 + 3 * 64 + 2 + 32 * 65;

/// A zk-rollup's parameters, fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRollupConfig {
    /// The only address that posts batches.
    pub operator: Address,
    /// Depth of the account tree.
    pub depth: u8,
    /// The verification keys, one per batch size, from the rollup's setup.
    pub verifiers: Vec<Verifier>,
    /// Most bytes of public data per batch.
    pub batch_bytes_max: u64,
    /// Paid to the operator by every deposit and forced exit: each takes a
    /// slot of its proving, and a free inbox could be flooded until an
    /// entry misses its deadline and the rollup freezes.
    pub inbox_fee: Amount,
    /// When no batch has been proven for this many L1 blocks, anyone may
    /// freeze the rollup (exodus).
    pub exodus_after_blocks: u64,
    /// When an inbox entry has waited this many L1 blocks unconsumed,
    /// anyone may freeze the rollup.
    pub inbox_deadline_blocks: u64,
    /// Where transaction data lives.
    pub data: DataMode,
}

impl ZkRollupConfig {
    /// The key for batches of `slots` slots.
    pub fn verifier(&self, slots: u32) -> Option<&Verifier> {
        self.verifiers.iter().find(|v| v.slots == slots)
    }
}

/// What L1 keeps about a zk-rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkRollup {
    /// Its parameters.
    pub config: ZkRollupConfig,
    /// The domain every signature and proof of it is bound to.
    pub domain: Felt,
    /// Funds locked for it: L2 balances, unclaimed withdrawals and
    /// unprocessed deposits.
    pub escrow: Amount,
    /// The account root of the last proven batch.
    pub root: Felt,
    /// Proven batches.
    pub batch_count: u64,
    /// Entries appended to its inbox.
    pub inbox_count: u64,
    /// Entries consumed by proven batches.
    pub inbox_consumed: u64,
    /// L1 height of the last proven batch (or of creation).
    pub last_batch_height: u64,
    /// The height it was frozen at: from then on only exits, refunds and
    /// claims.
    pub frozen_at: Option<u64>,
}

/// A proven batch: final from the block it landed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkBatch {
    /// The account root after it.
    pub root: Felt,
    /// Root of its withdrawals tree (claims prove against it).
    pub withdrawals_root: Felt,
    /// Its data commitment.
    pub data_commitment: Felt,
    /// Its slots.
    pub slots: u32,
    /// Inbox position after it.
    pub inbox_end: u64,
    /// L1 height it was proven at.
    pub height: u64,
}

/// An inbox entry as L1 keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkInbox {
    /// The entry.
    pub entry: InboxItem,
    /// The inbox chain after it.
    pub chain: Felt,
    /// L1 height it was appended at.
    pub height: u64,
}

/// An inbox entry with what only L1 needs (the depositor, for refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxItem {
    /// A deposit.
    Deposit {
        /// The packed L2 key credited.
        key: [u8; 32],
        /// Amount.
        amount: u64,
        /// Who paid it (refunded in exodus if it was never processed).
        depositor: Address,
    },
    /// A forced exit.
    ForcedExit {
        /// Account.
        account: u32,
        /// Its owner's packed key.
        key: [u8; 32],
        /// L1 recipient.
        to: Address,
    },
}

/// Typed reads of zk-rollup records.
pub trait ZkRecords: StateReader {
    /// The number of zk-rollups.
    fn zk_rollup_count(&self) -> u64 {
        match self.get(&ValidityKey::RollupCount.into()) {
            Some(Value::Validity(ValidityRecord::RollupCount(n))) => n,
            _ => 0,
        }
    }
    /// A zk-rollup.
    fn zk_rollup(&self, id: u64) -> Option<ZkRollup> {
        match self.get(&ValidityKey::Rollup(id).into()) {
            Some(Value::Validity(ValidityRecord::Rollup(r))) => Some(*r),
            _ => None,
        }
    }
    /// A proven batch.
    fn zk_batch(&self, id: u64, index: u64) -> Option<ZkBatch> {
        match self.get(&ValidityKey::Batch(id, index).into()) {
            Some(Value::Validity(ValidityRecord::Batch(b))) => Some(b),
            _ => None,
        }
    }
    /// An inbox entry.
    fn zk_inbox(&self, id: u64, position: u64) -> Option<ZkInbox> {
        match self.get(&ValidityKey::Inbox(id, position).into()) {
            Some(Value::Validity(ValidityRecord::Inbox(i))) => Some(i),
            _ => None,
        }
    }
    /// Whether a nullifier is spent.
    fn zk_spent(&self, key: ValidityKey) -> bool {
        self.get(&key.into()).is_some()
    }
}

impl<S: StateReader + ?Sized> ZkRecords for S {}

// ---- codec -------------------------------------------------------------

fn read_u64_be(buf: &mut impl Buf) -> Result<u64, CodecError> {
    Ok(u64::from_be_bytes(<[u8; 8]>::read(buf)?))
}

fn read_u32_be(buf: &mut impl Buf) -> Result<u32, CodecError> {
    Ok(u32::from_be_bytes(<[u8; 4]>::read(buf)?))
}

impl Write for Verifier {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.slots).write(buf);
        self.key.write(buf);
    }
}

impl EncodeSize for Verifier {
    fn encode_size(&self) -> usize {
        UInt(self.slots).encode_size() + self.key.encode_size()
    }
}

impl Read for Verifier {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            slots: UInt::<u32>::read(buf)?.0,
            key: Bytes::read_cfg(buf, &RangeCfg::new(0..=KEY_BYTES_MAX))?,
        })
    }
}

impl Write for ZkRollupConfig {
    fn write(&self, buf: &mut impl BufMut) {
        self.operator.write(buf);
        self.depth.write(buf);
        self.verifiers.write(buf);
        UInt(self.batch_bytes_max).write(buf);
        self.inbox_fee.write(buf);
        UInt(self.exodus_after_blocks).write(buf);
        UInt(self.inbox_deadline_blocks).write(buf);
        self.data.write(buf);
    }
}

impl EncodeSize for ZkRollupConfig {
    fn encode_size(&self) -> usize {
        Address::LEN
            + 1
            + self.verifiers.encode_size()
            + UInt(self.batch_bytes_max).encode_size()
            + self.inbox_fee.encode_size()
            + UInt(self.exodus_after_blocks).encode_size()
            + UInt(self.inbox_deadline_blocks).encode_size()
            + self.data.encode_size()
    }
}

impl Read for ZkRollupConfig {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            operator: Address::read(buf)?,
            depth: u8::read(buf)?,
            verifiers: Vec::<Verifier>::read_cfg(buf, &(RangeCfg::new(0..=VERIFIERS_MAX), ()))?,
            batch_bytes_max: UInt::<u64>::read(buf)?.0,
            inbox_fee: Amount::read(buf)?,
            exodus_after_blocks: UInt::<u64>::read(buf)?.0,
            inbox_deadline_blocks: UInt::<u64>::read(buf)?.0,
            data: DataMode::read(buf)?,
        })
    }
}

impl Write for DataMode {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            DataMode::OnChain => 0u8.write(buf),
            DataMode::Committee(c) => {
                1u8.write(buf);
                c.members.write(buf);
                c.threshold.write(buf);
            }
        }
    }
}

impl EncodeSize for DataMode {
    fn encode_size(&self) -> usize {
        1 + match self {
            DataMode::OnChain => 0,
            DataMode::Committee(c) => c.members.encode_size() + 1,
        }
    }
}

impl Read for DataMode {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => DataMode::OnChain,
            1 => DataMode::Committee(Committee {
                members: Vec::<PublicKey>::read_cfg(buf, &(RangeCfg::new(0..=COMMITTEE_MAX), ()))?,
                threshold: u8::read(buf)?,
            }),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ZkRollup {
    fn write(&self, buf: &mut impl BufMut) {
        self.config.write(buf);
        self.domain.write(buf);
        self.escrow.write(buf);
        self.root.write(buf);
        UInt(self.batch_count).write(buf);
        UInt(self.inbox_count).write(buf);
        UInt(self.inbox_consumed).write(buf);
        UInt(self.last_batch_height).write(buf);
        self.frozen_at.map(UInt).write(buf);
    }
}

impl EncodeSize for ZkRollup {
    fn encode_size(&self) -> usize {
        self.config.encode_size()
            + 64
            + self.escrow.encode_size()
            + UInt(self.batch_count).encode_size()
            + UInt(self.inbox_count).encode_size()
            + UInt(self.inbox_consumed).encode_size()
            + UInt(self.last_batch_height).encode_size()
            + self.frozen_at.map(UInt).encode_size()
    }
}

impl Read for ZkRollup {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            config: ZkRollupConfig::read(buf)?,
            domain: Felt::read(buf)?,
            escrow: Amount::read(buf)?,
            root: Felt::read(buf)?,
            batch_count: UInt::<u64>::read(buf)?.0,
            inbox_count: UInt::<u64>::read(buf)?.0,
            inbox_consumed: UInt::<u64>::read(buf)?.0,
            last_batch_height: UInt::<u64>::read(buf)?.0,
            frozen_at: Option::<UInt<u64>>::read(buf)?.map(|h| h.0),
        })
    }
}

impl Write for ZkBatch {
    fn write(&self, buf: &mut impl BufMut) {
        self.root.write(buf);
        self.withdrawals_root.write(buf);
        self.data_commitment.write(buf);
        UInt(self.slots).write(buf);
        UInt(self.inbox_end).write(buf);
        UInt(self.height).write(buf);
    }
}

impl EncodeSize for ZkBatch {
    fn encode_size(&self) -> usize {
        96 + UInt(self.slots).encode_size()
            + UInt(self.inbox_end).encode_size()
            + UInt(self.height).encode_size()
    }
}

impl Read for ZkBatch {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            root: Felt::read(buf)?,
            withdrawals_root: Felt::read(buf)?,
            data_commitment: Felt::read(buf)?,
            slots: UInt::<u32>::read(buf)?.0,
            inbox_end: UInt::<u64>::read(buf)?.0,
            height: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for InboxItem {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            InboxItem::Deposit {
                key,
                amount,
                depositor,
            } => {
                0u8.write(buf);
                key.write(buf);
                UInt(*amount).write(buf);
                depositor.write(buf);
            }
            InboxItem::ForcedExit { account, key, to } => {
                1u8.write(buf);
                UInt(*account).write(buf);
                key.write(buf);
                to.write(buf);
            }
        }
    }
}

impl EncodeSize for InboxItem {
    fn encode_size(&self) -> usize {
        1 + match self {
            InboxItem::Deposit { amount, .. } => 32 + UInt(*amount).encode_size() + Address::LEN,
            InboxItem::ForcedExit { account, .. } => {
                UInt(*account).encode_size() + 32 + Address::LEN
            }
        }
    }
}

impl Read for InboxItem {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => InboxItem::Deposit {
                key: <[u8; 32]>::read(buf)?,
                amount: UInt::<u64>::read(buf)?.0,
                depositor: Address::read(buf)?,
            },
            1 => InboxItem::ForcedExit {
                account: UInt::<u32>::read(buf)?.0,
                key: <[u8; 32]>::read(buf)?,
                to: Address::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ZkInbox {
    fn write(&self, buf: &mut impl BufMut) {
        self.entry.write(buf);
        self.chain.write(buf);
        UInt(self.height).write(buf);
    }
}

impl EncodeSize for ZkInbox {
    fn encode_size(&self) -> usize {
        self.entry.encode_size() + 32 + UInt(self.height).encode_size()
    }
}

impl Read for ZkInbox {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            entry: InboxItem::read(buf)?,
            chain: Felt::read(buf)?,
            height: UInt::<u64>::read(buf)?.0,
        })
    }
}

const ROLLUP_COUNT: u8 = 14;
const ROLLUP: u8 = 15;
const BATCH: u8 = 16;
const INBOX: u8 = 17;
const CLAIM: u8 = 18;
const EXIT: u8 = 19;
const REFUND: u8 = 20;
const FORCED: u8 = 21;
/// The record under every nullifier key.
const SPENT: u8 = 18;

impl Write for ValidityKey {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ValidityKey::RollupCount => ROLLUP_COUNT.write(buf),
            ValidityKey::Rollup(id) => {
                ROLLUP.write(buf);
                buf.put_u64(*id);
            }
            ValidityKey::Batch(id, i) => {
                BATCH.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            ValidityKey::Inbox(id, i) => {
                INBOX.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            ValidityKey::Claim(id, b, s) => {
                CLAIM.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*b);
                buf.put_u32(*s);
            }
            ValidityKey::Exit(id, a) => {
                EXIT.write(buf);
                buf.put_u64(*id);
                buf.put_u32(*a);
            }
            ValidityKey::Refund(id, i) => {
                REFUND.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            ValidityKey::Forced(id, a, s) => {
                FORCED.write(buf);
                buf.put_u64(*id);
                buf.put_u32(*a);
                buf.put_u64(*s);
            }
        }
    }
}

impl EncodeSize for ValidityKey {
    fn encode_size(&self) -> usize {
        1 + match self {
            ValidityKey::RollupCount => 0,
            ValidityKey::Rollup(_) => 8,
            ValidityKey::Batch(..) | ValidityKey::Inbox(..) | ValidityKey::Refund(..) => 16,
            ValidityKey::Claim(..) | ValidityKey::Forced(..) => 20,
            ValidityKey::Exit(..) => 12,
        }
    }
}

impl Tagged for ValidityKey {
    const TAGS: &'static [u8] = &[
        ROLLUP_COUNT,
        ROLLUP,
        BATCH,
        INBOX,
        CLAIM,
        EXIT,
        REFUND,
        FORCED,
    ];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            ROLLUP_COUNT => ValidityKey::RollupCount,
            ROLLUP => ValidityKey::Rollup(read_u64_be(buf)?),
            BATCH => ValidityKey::Batch(read_u64_be(buf)?, read_u64_be(buf)?),
            INBOX => ValidityKey::Inbox(read_u64_be(buf)?, read_u64_be(buf)?),
            CLAIM => ValidityKey::Claim(read_u64_be(buf)?, read_u64_be(buf)?, read_u32_be(buf)?),
            EXIT => ValidityKey::Exit(read_u64_be(buf)?, read_u32_be(buf)?),
            REFUND => ValidityKey::Refund(read_u64_be(buf)?, read_u64_be(buf)?),
            FORCED => ValidityKey::Forced(read_u64_be(buf)?, read_u32_be(buf)?, read_u64_be(buf)?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ValidityRecord {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ValidityRecord::RollupCount(n) => {
                ROLLUP_COUNT.write(buf);
                UInt(*n).write(buf);
            }
            ValidityRecord::Rollup(r) => {
                ROLLUP.write(buf);
                r.write(buf);
            }
            ValidityRecord::Batch(b) => {
                BATCH.write(buf);
                b.write(buf);
            }
            ValidityRecord::Inbox(i) => {
                INBOX.write(buf);
                i.write(buf);
            }
            ValidityRecord::Spent(h) => {
                SPENT.write(buf);
                UInt(*h).write(buf);
            }
        }
    }
}

impl EncodeSize for ValidityRecord {
    fn encode_size(&self) -> usize {
        1 + match self {
            ValidityRecord::RollupCount(n) | ValidityRecord::Spent(n) => UInt(*n).encode_size(),
            ValidityRecord::Rollup(r) => r.encode_size(),
            ValidityRecord::Batch(b) => b.encode_size(),
            ValidityRecord::Inbox(i) => i.encode_size(),
        }
    }
}

impl Tagged for ValidityRecord {
    const TAGS: &'static [u8] = &[ROLLUP_COUNT, ROLLUP, BATCH, INBOX, SPENT];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            ROLLUP_COUNT => ValidityRecord::RollupCount(UInt::<u64>::read(buf)?.0),
            ROLLUP => ValidityRecord::Rollup(Box::new(ZkRollup::read(buf)?)),
            BATCH => ValidityRecord::Batch(ZkBatch::read(buf)?),
            INBOX => ValidityRecord::Inbox(ZkInbox::read(buf)?),
            SPENT => ValidityRecord::Spent(UInt::<u64>::read(buf)?.0),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

/// Decodes a registered key (checked at creation, so this only fails on a
/// corrupt record).
pub fn verifying_key(v: &Verifier) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&v.key).ok()
}
