//! The L1 state as typed records under typed keys, read through
//! [`StateReader`] and changed only by returned writes.
//!
//! The node keeps these records in an authenticated store (QMDB) whose root
//! the header commits to; tests and benches use [`MemoryState`]. Keys and
//! values have a canonical encoding, which is what the store holds.

use crate::modules::{
    channels::{ChannelKey, ChannelRecord},
    dispatch,
    optimistic::{OptimisticKey, OptimisticRecord},
    validity::{ValidityKey, ValidityRecord},
};
use crate::modules::{staking::StakingKey, staking::StakingRecord};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use std::collections::BTreeMap;
use terrace_primitives::{Address, Amount, Hash};

/// Where a record lives: the core's accounts and totals, and one arm per
/// settlement module for the records it owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// An account's balance and nonce.
    Account(Address),
    /// Chain-wide totals (minted, burned), written once per block.
    Totals,
    /// A staking record.
    Staking(StakingKey),
    /// An optimistic rollup's record.
    Optimistic(OptimisticKey),
    /// A zk-rollup's record.
    Validity(ValidityKey),
    /// A payment channel's record.
    Channels(ChannelKey),
}

/// The leading byte of [`Key::Account`] and [`Value::Account`].
pub const ACCOUNT_TAG: u8 = 0;
/// The leading byte of [`Key::Totals`] and [`Value::Totals`].
pub const TOTALS_TAG: u8 = 4;

/// An account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Spendable balance.
    pub balance: Amount,
    /// Number of transactions sent; the next must carry this nonce.
    pub nonce: u64,
}

/// Chain-wide totals, for the supply invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Totals {
    /// Genesis supply plus all block rewards.
    pub minted: Amount,
    /// All burned base fees and slashes.
    pub burned: Amount,
}

/// A record: the core's, or one arm per settlement module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Under [`Key::Account`].
    Account(Account),
    /// Under [`Key::Totals`].
    Totals(Totals),
    /// Under [`Key::Staking`].
    Staking(StakingRecord),
    /// Under [`Key::Optimistic`].
    Optimistic(OptimisticRecord),
    /// Under [`Key::Validity`].
    Validity(ValidityRecord),
    /// Under [`Key::Channels`].
    Channels(ChannelRecord),
}

impl Key {
    /// The module whose records live under this key (`None` for the
    /// core's accounts and totals).
    pub fn owner(&self) -> Option<&'static str> {
        dispatch::key_owner(self)
    }
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

    /// Chain totals.
    fn totals(&self) -> Totals {
        match self.get(&Key::Totals) {
            Some(Value::Totals(t)) => t,
            _ => Totals::default(),
        }
    }
}

/// The records that hold funds, as far as the records read so far
/// (`state`) tell: the accounts and totals, and what every module reports
/// ([`crate::module::Module::fund_keys`]). An auditor reads these until
/// none are new, then checks [`MemoryState::circulating`] against the
/// totals.
pub fn fund_keys(state: &(impl StateReader + ?Sized), addresses: &[Address]) -> Vec<Key> {
    let mut keys: Vec<Key> = addresses.iter().map(|a| Key::Account(*a)).collect();
    keys.push(Key::Totals);
    keys.extend(dispatch::fund_keys(state, addresses));
    keys
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

    /// Σ balances + Σ what every module's records hold (stake, escrows,
    /// bonds): must equal minted − burned.
    pub fn circulating(&self) -> Option<Amount> {
        self.records
            .values()
            .try_fold(Amount::ZERO, |total, value| {
                total.checked_add(value.held()?)
            })
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

impl Value {
    /// Funds the record holds: an account's balance, or what its module
    /// reports ([`crate::module::Module::held`]). `None` on overflow.
    pub fn held(&self) -> Option<Amount> {
        match self {
            Value::Account(a) => Some(a.balance),
            Value::Totals(_) => Some(Amount::ZERO),
            module => dispatch::held(module).unwrap_or(Some(Amount::ZERO)),
        }
    }
}

impl Write for Key {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Key::Account(a) => {
                ACCOUNT_TAG.write(buf);
                a.write(buf);
            }
            Key::Totals => TOTALS_TAG.write(buf),
            module => dispatch::write_key(module, buf),
        }
    }
}

impl EncodeSize for Key {
    fn encode_size(&self) -> usize {
        match self {
            Key::Account(_) => 1 + Address::LEN,
            Key::Totals => 1,
            module => dispatch::key_size(module),
        }
    }
}

impl Read for Key {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            ACCOUNT_TAG => Key::Account(Address::read(buf)?),
            TOTALS_TAG => Key::Totals,
            t => dispatch::read_key(t, buf).ok_or(CodecError::InvalidEnum(t))??,
        })
    }
}

impl Write for Value {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Value::Account(a) => {
                ACCOUNT_TAG.write(buf);
                a.balance.write(buf);
                UInt(a.nonce).write(buf);
            }
            Value::Totals(t) => {
                TOTALS_TAG.write(buf);
                t.minted.write(buf);
                t.burned.write(buf);
            }
            module => dispatch::write_value(module, buf),
        }
    }
}

impl EncodeSize for Value {
    fn encode_size(&self) -> usize {
        match self {
            Value::Account(a) => 1 + a.balance.encode_size() + UInt(a.nonce).encode_size(),
            Value::Totals(t) => 1 + t.minted.encode_size() + t.burned.encode_size(),
            module => dispatch::value_size(module),
        }
    }
}

impl Read for Value {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            ACCOUNT_TAG => Value::Account(Account {
                balance: Amount::read(buf)?,
                nonce: UInt::<u64>::read(buf)?.0,
            }),
            TOTALS_TAG => Value::Totals(Totals {
                minted: Amount::read(buf)?,
                burned: Amount::read(buf)?,
            }),
            t => dispatch::read_value(t, buf).ok_or(CodecError::InvalidEnum(t))??,
        })
    }
}
