//! The L1 state as typed records under typed keys, read through
//! [`StateReader`] and changed only by returned writes.
//!
//! The node keeps these records in an authenticated store (QMDB) whose root
//! the header commits to; tests and benches use [`MemoryState`]. Keys and
//! values have a canonical encoding, which is what the store holds.

use crate::rollup::{BatchRecord, Challenge, InboxRecord, PosterBond, Rollup};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use std::collections::BTreeMap;
use terrace_primitives::{Address, Amount, Hash, PublicKey};

/// Where a record lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// An account's balance and nonce.
    Account(Address),
    /// A validator's stake and unbonding entries.
    Validator(Address),
    /// The validators whose unbonding entries mature at this height.
    Unbonding(u64),
    /// Marks an offense as punished, so evidence cannot slash twice.
    Slashed(Hash),
    /// Chain-wide totals (minted, burned), written once per block.
    Totals,
    /// Every address that has a validator record: what the committee is
    /// chosen from at an epoch's end.
    Validators,
    /// The committee of an epoch (kept for the current and next epoch, and
    /// the previous one while its evidence is still accepted).
    Committee(u64),
    /// The number of rollups registered (the next rollup id).
    RollupCount,
    /// A rollup's record.
    Rollup(u64),
    /// A rollup's batch, by index.
    RollupBatch(u64, u64),
    /// A rollup's inbox message, by position.
    RollupInbox(u64, u64),
    /// A poster's bond for a rollup.
    RollupBond(u64, Address),
    /// A rollup's open challenge, by id.
    RollupChallenge(u64, u64),
    /// A claimed withdrawal of a rollup, by index: the nullifier.
    RollupClaim(u64, u64),
}

/// An account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Spendable balance.
    pub balance: Amount,
    /// Number of transactions sent; the next must carry this nonce.
    pub nonce: u64,
}

/// Funds leaving a validator's stake, released at `release_height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbondingEntry {
    /// Height at whose end the funds return to the balance.
    pub release_height: u64,
    /// Amount unbonding (slashable until released).
    pub amount: Amount,
}

/// A validator (anyone who staked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validator {
    /// The consensus key; its address owns the record.
    pub public_key: PublicKey,
    /// Bonded stake.
    pub stake: Amount,
    /// Pending unbonding entries, oldest first.
    pub unbonding: Vec<UnbondingEntry>,
    /// Set by a slash: the validator leaves the committee at the next epoch
    /// and cannot stake again.
    pub jailed: bool,
}

/// Chain-wide totals, for the supply invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Genesis supply plus all block rewards.
    pub minted: Amount,
    /// All burned base fees and slashes.
    pub burned: Amount,
}

/// A record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Under [`Key::Account`].
    Account(Account),
    /// Under [`Key::Validator`]; boxed to keep the hot account records small.
    Validator(Box<Validator>),
    /// Under [`Key::Unbonding`]: sorted, without duplicates.
    Unbonding(Vec<Address>),
    /// Under [`Key::Slashed`]: the height the offense was punished at.
    Slashed(u64),
    /// Under [`Key::Totals`].
    Totals(Totals),
    /// Under [`Key::Validators`]: sorted, without duplicates.
    Validators(Vec<Address>),
    /// Under [`Key::Committee`]: consensus keys sorted by their bytes, the
    /// order consensus numbers participants in.
    Committee(Vec<PublicKey>),
    /// Under [`Key::RollupCount`].
    RollupCount(u64),
    /// Under [`Key::Rollup`].
    Rollup(Box<Rollup>),
    /// Under [`Key::RollupBatch`].
    Batch(Box<BatchRecord>),
    /// Under [`Key::RollupInbox`].
    Inbox(InboxRecord),
    /// Under [`Key::RollupBond`].
    Bond(PosterBond),
    /// Under [`Key::RollupChallenge`].
    Challenge(Box<Challenge>),
    /// Under [`Key::RollupClaim`]: the height it was claimed at.
    Claimed(u64),
}

/// Read access to the state as of the parent block.
pub trait StateReader {
    /// The record under `key`, if any.
    fn get(&self, key: &Key) -> Option<Value>;

    /// The account at `address` (an absent account is empty).
    fn account(&self, address: &Address) -> Account {
        match self.get(&Key::Account(*address)) {
            Some(Value::Account(a)) => a,
            _ => Account::default(),
        }
    }

    /// The validator at `address`, if it ever staked.
    fn validator(&self, address: &Address) -> Option<Validator> {
        match self.get(&Key::Validator(*address)) {
            Some(Value::Validator(v)) => Some(*v),
            _ => None,
        }
    }

    /// Chain totals.
    fn totals(&self) -> Totals {
        match self.get(&Key::Totals) {
            Some(Value::Totals(t)) => t,
            _ => Totals::default(),
        }
    }

    /// Addresses with a validator record.
    fn validators(&self) -> Vec<Address> {
        match self.get(&Key::Validators) {
            Some(Value::Validators(v)) => v,
            _ => Vec::new(),
        }
    }

    /// The committee of `epoch`, if recorded.
    fn committee(&self, epoch: u64) -> Option<Vec<PublicKey>> {
        match self.get(&Key::Committee(epoch)) {
            Some(Value::Committee(c)) => Some(c),
            _ => None,
        }
    }
}

/// Writes a block produces: `None` deletes.
pub type Writes = BTreeMap<Key, Option<Value>>;

/// An in-memory state: the backing for tests, benches and the lab, and the
/// shape of the prefetched view a node executes over.
///
/// A hash map, because execution only ever looks keys up; everything that
/// walks the records ([`MemoryState::iter`], [`MemoryState::digest`]) sorts
/// them first, so no hash order can reach a result.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryState {
    records: std::collections::HashMap<Key, Value, ahash::RandomState>,
}

impl MemoryState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a block's writes, taking them.
    pub fn apply_owned(&mut self, writes: Writes) {
        for (key, value) in writes {
            match value {
                Some(v) => {
                    self.records.insert(key, v);
                }
                None => {
                    self.records.remove(&key);
                }
            }
        }
    }

    /// Applies a block's writes.
    pub fn apply(&mut self, writes: &Writes) {
        for (key, value) in writes {
            match value {
                Some(v) => {
                    self.records.insert(key.clone(), v.clone());
                }
                None => {
                    self.records.remove(key);
                }
            }
        }
    }

    /// All records in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Value)> {
        let mut all: Vec<(&Key, &Value)> = self.records.iter().collect();
        // Sorted: hash order must never reach a result.
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Σ balances + Σ stakes + Σ unbonding + Σ rollup escrows, poster bonds
    /// and challenge bonds: must equal minted − burned.
    pub fn circulating(&self) -> Option<Amount> {
        let mut total = Amount::ZERO;
        for value in self.records.values() {
            match value {
                Value::Account(a) => total = total.checked_add(a.balance)?,
                Value::Validator(v) => {
                    total = total.checked_add(v.stake)?;
                    for e in &v.unbonding {
                        total = total.checked_add(e.amount)?;
                    }
                }
                Value::Rollup(r) => total = total.checked_add(r.escrow)?,
                Value::Bond(b) => total = total.checked_add(b.amount)?,
                Value::Challenge(c) => total = total.checked_add(c.bond)?,
                _ => {}
            }
        }
        Some(total)
    }

    /// A digest of every record, for determinism checks (not the
    /// authenticated state root, which the node's store computes).
    pub fn digest(&self) -> Hash {
        use commonware_codec::Encode as _;
        let mut bytes = Vec::new();
        for (k, v) in self.iter() {
            bytes.extend_from_slice(&k.encode());
            bytes.extend_from_slice(&v.encode());
        }
        terrace_primitives::hash_tagged(b"terrace/l1/memory-state", &[&bytes])
    }
}

impl StateReader for MemoryState {
    fn get(&self, key: &Key) -> Option<Value> {
        self.records.get(key).cloned()
    }
}

/// A view of `base` with pending writes on top.
#[derive(Debug)]
pub struct Overlay<'a, S: StateReader + ?Sized> {
    base: &'a S,
    /// Hashed for fast lookups (aHash, randomly keyed, so crafted keys
    /// cannot collide on purpose); never iterated except to sort into
    /// [`Writes`].
    writes: std::collections::HashMap<Key, Option<Value>, ahash::RandomState>,
}

impl<'a, S: StateReader + ?Sized> Overlay<'a, S> {
    /// An overlay with no writes.
    pub fn new(base: &'a S) -> Self {
        Self {
            base,
            writes: std::collections::HashMap::default(),
        }
    }

    /// Records a write.
    pub fn put(&mut self, key: Key, value: Option<Value>) {
        self.writes.insert(key, value);
    }

    /// Number of keys written so far.
    pub fn pending(&self) -> usize {
        self.writes.len()
    }

    /// Takes the pending writes, in key order.
    pub fn into_writes(self) -> Writes {
        let mut sorted: Vec<(Key, Option<Value>)> = self.writes.into_iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        // Already sorted and unique: the map is built in one pass.
        sorted.into_iter().collect()
    }
}

impl<S: StateReader + ?Sized> StateReader for Overlay<'_, S> {
    fn get(&self, key: &Key) -> Option<Value> {
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.base.get(key),
        }
    }
}

// ---- codec -------------------------------------------------------------

/// Most addresses one unbonding-queue record may list (decoding bound).
pub const UNBONDING_QUEUE_MAX: usize = 1 << 20;
/// Most unbonding entries one validator record may hold (decoding bound).
pub const UNBONDING_ENTRIES_MAX: usize = 1 << 10;
/// Most addresses the validator index may list (decoding bound).
pub const VALIDATORS_MAX: usize = 1 << 20;
/// Most members a committee record may list (decoding bound).
pub const COMMITTEE_MAX: usize = 1 << 16;

impl Write for Key {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Key::Account(a) => {
                0u8.write(buf);
                a.write(buf);
            }
            Key::Validator(a) => {
                1u8.write(buf);
                a.write(buf);
            }
            Key::Unbonding(h) => {
                2u8.write(buf);
                // Fixed-width big-endian so the store orders queues by height.
                buf.put_u64(*h);
            }
            Key::Slashed(id) => {
                3u8.write(buf);
                id.write(buf);
            }
            Key::Totals => 4u8.write(buf),
            Key::Validators => 5u8.write(buf),
            Key::Committee(epoch) => {
                6u8.write(buf);
                buf.put_u64(*epoch);
            }
            // Fixed-width big-endian ids and indices, so a rollup's records
            // sit together in the store, in order.
            Key::RollupCount => 7u8.write(buf),
            Key::Rollup(id) => {
                8u8.write(buf);
                buf.put_u64(*id);
            }
            Key::RollupBatch(id, i) => {
                9u8.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            Key::RollupInbox(id, i) => {
                10u8.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            Key::RollupBond(id, a) => {
                11u8.write(buf);
                buf.put_u64(*id);
                a.write(buf);
            }
            Key::RollupChallenge(id, i) => {
                12u8.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
            Key::RollupClaim(id, i) => {
                13u8.write(buf);
                buf.put_u64(*id);
                buf.put_u64(*i);
            }
        }
    }
}

impl EncodeSize for Key {
    fn encode_size(&self) -> usize {
        1 + match self {
            Key::Account(_) | Key::Validator(_) => Address::LEN,
            Key::Unbonding(_) => 8,
            Key::Slashed(_) => 32,
            Key::Totals | Key::Validators => 0,
            Key::Committee(_) => 8,
            Key::RollupCount => 0,
            Key::Rollup(_) => 8,
            Key::RollupBatch(..)
            | Key::RollupInbox(..)
            | Key::RollupChallenge(..)
            | Key::RollupClaim(..) => 16,
            Key::RollupBond(..) => 8 + Address::LEN,
        }
    }
}

impl Read for Key {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Key::Account(Address::read(buf)?),
            1 => Key::Validator(Address::read(buf)?),
            2 => Key::Unbonding(u64::from_be_bytes(<[u8; 8]>::read(buf)?)),
            3 => Key::Slashed(Hash::read(buf)?),
            4 => Key::Totals,
            5 => Key::Validators,
            6 => Key::Committee(u64::from_be_bytes(<[u8; 8]>::read(buf)?)),
            7 => Key::RollupCount,
            8 => Key::Rollup(read_u64_be(buf)?),
            9 => Key::RollupBatch(read_u64_be(buf)?, read_u64_be(buf)?),
            10 => Key::RollupInbox(read_u64_be(buf)?, read_u64_be(buf)?),
            11 => Key::RollupBond(read_u64_be(buf)?, Address::read(buf)?),
            12 => Key::RollupChallenge(read_u64_be(buf)?, read_u64_be(buf)?),
            13 => Key::RollupClaim(read_u64_be(buf)?, read_u64_be(buf)?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

fn read_u64_be(buf: &mut impl Buf) -> Result<u64, CodecError> {
    Ok(u64::from_be_bytes(<[u8; 8]>::read(buf)?))
}

impl Write for UnbondingEntry {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.release_height).write(buf);
        self.amount.write(buf);
    }
}

impl EncodeSize for UnbondingEntry {
    fn encode_size(&self) -> usize {
        UInt(self.release_height).encode_size() + self.amount.encode_size()
    }
}

impl Read for UnbondingEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            release_height: UInt::<u64>::read(buf)?.0,
            amount: Amount::read(buf)?,
        })
    }
}

impl Write for Value {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Value::Account(a) => {
                0u8.write(buf);
                a.balance.write(buf);
                UInt(a.nonce).write(buf);
            }
            Value::Validator(v) => {
                1u8.write(buf);
                v.public_key.write(buf);
                v.stake.write(buf);
                v.unbonding.write(buf);
                v.jailed.write(buf);
            }
            Value::Unbonding(list) => {
                2u8.write(buf);
                list.write(buf);
            }
            Value::Slashed(h) => {
                3u8.write(buf);
                UInt(*h).write(buf);
            }
            Value::Totals(t) => {
                4u8.write(buf);
                t.minted.write(buf);
                t.burned.write(buf);
            }
            Value::Validators(list) => {
                5u8.write(buf);
                list.write(buf);
            }
            Value::Committee(keys) => {
                6u8.write(buf);
                keys.write(buf);
            }
            Value::RollupCount(n) => {
                7u8.write(buf);
                UInt(*n).write(buf);
            }
            Value::Rollup(r) => {
                8u8.write(buf);
                r.write(buf);
            }
            Value::Batch(b) => {
                9u8.write(buf);
                b.write(buf);
            }
            Value::Inbox(i) => {
                10u8.write(buf);
                i.write(buf);
            }
            Value::Bond(b) => {
                11u8.write(buf);
                b.write(buf);
            }
            Value::Challenge(c) => {
                12u8.write(buf);
                c.write(buf);
            }
            Value::Claimed(h) => {
                13u8.write(buf);
                UInt(*h).write(buf);
            }
        }
    }
}

impl EncodeSize for Value {
    fn encode_size(&self) -> usize {
        1 + match self {
            Value::Account(a) => a.balance.encode_size() + UInt(a.nonce).encode_size(),
            Value::Validator(v) => {
                v.public_key.encode_size() + v.stake.encode_size() + v.unbonding.encode_size() + 1
            }
            Value::Unbonding(list) => list.encode_size(),
            Value::Slashed(h) => UInt(*h).encode_size(),
            Value::Totals(t) => t.minted.encode_size() + t.burned.encode_size(),
            Value::Validators(list) => list.encode_size(),
            Value::Committee(keys) => keys.encode_size(),
            Value::RollupCount(n) | Value::Claimed(n) => UInt(*n).encode_size(),
            Value::Rollup(r) => r.encode_size(),
            Value::Batch(b) => b.encode_size(),
            Value::Inbox(i) => i.encode_size(),
            Value::Bond(b) => b.encode_size(),
            Value::Challenge(c) => c.encode_size(),
        }
    }
}

impl Read for Value {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Value::Account(Account {
                balance: Amount::read(buf)?,
                nonce: UInt::<u64>::read(buf)?.0,
            }),
            1 => Value::Validator(Box::new(Validator {
                public_key: PublicKey::read(buf)?,
                stake: Amount::read(buf)?,
                unbonding: Vec::read_cfg(buf, &(RangeCfg::new(0..=UNBONDING_ENTRIES_MAX), ()))?,
                jailed: bool::read(buf)?,
            })),
            2 => Value::Unbonding(Vec::read_cfg(
                buf,
                &(RangeCfg::new(0..=UNBONDING_QUEUE_MAX), ()),
            )?),
            3 => Value::Slashed(UInt::<u64>::read(buf)?.0),
            4 => Value::Totals(Totals {
                minted: Amount::read(buf)?,
                burned: Amount::read(buf)?,
            }),
            5 => Value::Validators(Vec::read_cfg(
                buf,
                &(RangeCfg::new(0..=VALIDATORS_MAX), ()),
            )?),
            6 => Value::Committee(Vec::read_cfg(buf, &(RangeCfg::new(0..=COMMITTEE_MAX), ()))?),
            7 => Value::RollupCount(UInt::<u64>::read(buf)?.0),
            8 => Value::Rollup(Box::new(Rollup::read(buf)?)),
            9 => Value::Batch(Box::new(BatchRecord::read(buf)?)),
            10 => Value::Inbox(InboxRecord::read(buf)?),
            11 => Value::Bond(PosterBond::read(buf)?),
            12 => Value::Challenge(Box::new(Challenge::read(buf)?)),
            13 => Value::Claimed(UInt::<u64>::read(buf)?.0),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
