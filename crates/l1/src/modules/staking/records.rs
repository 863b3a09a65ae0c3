//! What staking keeps in the state: validator records, unbonding queues,
//! punished offenses, the validator index and the committees — their keys,
//! their records and their canonical encodings.

use crate::{
    module::Tagged,
    state::{Key, StateReader, Value},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{Address, Amount, Hash, PublicKey};

/// Most addresses one unbonding-queue record may list (decoding bound).
pub const UNBONDING_QUEUE_MAX: usize = 1 << 20;
/// Most unbonding entries one validator record may hold (decoding bound).
pub const UNBONDING_ENTRIES_MAX: usize = 1 << 10;
/// Most addresses the validator index may list (decoding bound).
pub const VALIDATORS_MAX: usize = 1 << 20;
/// Most members a committee record may list (decoding bound).
pub const COMMITTEE_MAX: usize = 1 << 16;

/// Where a staking record lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StakingKey {
    /// A validator's stake and unbonding entries.
    Validator(Address),
    /// The validators whose unbonding entries mature at this height.
    Unbonding(u64),
    /// Marks an offense as punished, so evidence cannot slash twice.
    Slashed(Hash),
    /// Every address that has a validator record: what the committee is
    /// chosen from at an epoch's end.
    Validators,
    /// The committee of an epoch (kept for the current and next epoch, and
    /// the previous one while its evidence is still accepted).
    Committee(u64),
}

/// A staking record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StakingRecord {
    /// Under [`StakingKey::Validator`]; boxed to keep records small.
    Validator(Box<Validator>),
    /// Under [`StakingKey::Unbonding`]: sorted, without duplicates.
    Unbonding(Vec<Address>),
    /// Under [`StakingKey::Slashed`]: the height the offense was punished at.
    Slashed(u64),
    /// Under [`StakingKey::Validators`]: sorted, without duplicates.
    Validators(Vec<Address>),
    /// Under [`StakingKey::Committee`]: consensus keys sorted by their
    /// bytes, the order consensus numbers participants in.
    Committee(Vec<PublicKey>),
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

impl Validator {
    /// Bonded plus unbonding stake: what the record holds.
    pub fn held(&self) -> Option<Amount> {
        self.unbonding
            .iter()
            .try_fold(self.stake, |sum, e| sum.checked_add(e.amount))
    }
}

/// Typed reads of the staking records, for the rules and for nodes.
pub trait StakingRecords: StateReader {
    /// The validator at `address`, if it ever staked.
    fn validator(&self, address: &Address) -> Option<Validator> {
        match self.get(&StakingKey::Validator(*address).into()) {
            Some(Value::Staking(StakingRecord::Validator(v))) => Some(*v),
            _ => None,
        }
    }

    /// Addresses with a validator record.
    fn validators(&self) -> Vec<Address> {
        match self.get(&StakingKey::Validators.into()) {
            Some(Value::Staking(StakingRecord::Validators(v))) => v,
            _ => Vec::new(),
        }
    }

    /// The committee of `epoch`, if recorded.
    fn committee(&self, epoch: u64) -> Option<Vec<PublicKey>> {
        match self.get(&StakingKey::Committee(epoch).into()) {
            Some(Value::Staking(StakingRecord::Committee(c))) => Some(c),
            _ => None,
        }
    }

    /// The validators whose unbonding entries mature at `height`.
    fn unbonding_queue(&self, height: u64) -> Option<Vec<Address>> {
        match self.get(&StakingKey::Unbonding(height).into()) {
            Some(Value::Staking(StakingRecord::Unbonding(q))) => Some(q),
            _ => None,
        }
    }

    /// The height offense `id` was punished at, if it was.
    fn slashed(&self, id: &Hash) -> Option<u64> {
        match self.get(&StakingKey::Slashed(*id).into()) {
            Some(Value::Staking(StakingRecord::Slashed(h))) => Some(h),
            _ => None,
        }
    }
}

impl<S: StateReader + ?Sized> StakingRecords for S {}

/// A validator record as a state value.
pub(crate) fn validator_value(v: Validator) -> Value {
    StakingRecord::Validator(Box::new(v)).into()
}

/// The key of `address`'s validator record.
pub fn validator_key(address: Address) -> Key {
    StakingKey::Validator(address).into()
}

// ---- codec -------------------------------------------------------------

const VALIDATOR: u8 = 1;
const UNBONDING: u8 = 2;
const SLASHED: u8 = 3;
const VALIDATORS: u8 = 5;
const COMMITTEE: u8 = 6;

impl Write for StakingKey {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            StakingKey::Validator(a) => {
                VALIDATOR.write(buf);
                a.write(buf);
            }
            StakingKey::Unbonding(h) => {
                UNBONDING.write(buf);
                // Fixed-width big-endian so the store orders queues by height.
                buf.put_u64(*h);
            }
            StakingKey::Slashed(id) => {
                SLASHED.write(buf);
                id.write(buf);
            }
            StakingKey::Validators => VALIDATORS.write(buf),
            StakingKey::Committee(epoch) => {
                COMMITTEE.write(buf);
                buf.put_u64(*epoch);
            }
        }
    }
}

impl EncodeSize for StakingKey {
    fn encode_size(&self) -> usize {
        1 + match self {
            StakingKey::Validator(_) => Address::LEN,
            StakingKey::Unbonding(_) | StakingKey::Committee(_) => 8,
            StakingKey::Slashed(_) => 32,
            StakingKey::Validators => 0,
        }
    }
}

impl Tagged for StakingKey {
    const TAGS: &'static [u8] = &[VALIDATOR, UNBONDING, SLASHED, VALIDATORS, COMMITTEE];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            VALIDATOR => StakingKey::Validator(Address::read(buf)?),
            UNBONDING => StakingKey::Unbonding(u64::from_be_bytes(<[u8; 8]>::read(buf)?)),
            SLASHED => StakingKey::Slashed(Hash::read(buf)?),
            VALIDATORS => StakingKey::Validators,
            COMMITTEE => StakingKey::Committee(u64::from_be_bytes(<[u8; 8]>::read(buf)?)),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
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

impl Write for StakingRecord {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            StakingRecord::Validator(v) => {
                VALIDATOR.write(buf);
                v.public_key.write(buf);
                v.stake.write(buf);
                v.unbonding.write(buf);
                v.jailed.write(buf);
            }
            StakingRecord::Unbonding(list) => {
                UNBONDING.write(buf);
                list.write(buf);
            }
            StakingRecord::Slashed(h) => {
                SLASHED.write(buf);
                UInt(*h).write(buf);
            }
            StakingRecord::Validators(list) => {
                VALIDATORS.write(buf);
                list.write(buf);
            }
            StakingRecord::Committee(keys) => {
                COMMITTEE.write(buf);
                keys.write(buf);
            }
        }
    }
}

impl EncodeSize for StakingRecord {
    fn encode_size(&self) -> usize {
        1 + match self {
            StakingRecord::Validator(v) => {
                v.public_key.encode_size() + v.stake.encode_size() + v.unbonding.encode_size() + 1
            }
            StakingRecord::Unbonding(list) | StakingRecord::Validators(list) => list.encode_size(),
            StakingRecord::Slashed(h) => UInt(*h).encode_size(),
            StakingRecord::Committee(keys) => keys.encode_size(),
        }
    }
}

impl Tagged for StakingRecord {
    const TAGS: &'static [u8] = &[VALIDATOR, UNBONDING, SLASHED, VALIDATORS, COMMITTEE];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            VALIDATOR => StakingRecord::Validator(Box::new(Validator {
                public_key: PublicKey::read(buf)?,
                stake: Amount::read(buf)?,
                unbonding: Vec::read_cfg(buf, &(RangeCfg::new(0..=UNBONDING_ENTRIES_MAX), ()))?,
                jailed: bool::read(buf)?,
            })),
            UNBONDING => StakingRecord::Unbonding(Vec::read_cfg(
                buf,
                &(RangeCfg::new(0..=UNBONDING_QUEUE_MAX), ()),
            )?),
            SLASHED => StakingRecord::Slashed(UInt::<u64>::read(buf)?.0),
            VALIDATORS => StakingRecord::Validators(Vec::read_cfg(
                buf,
                &(RangeCfg::new(0..=VALIDATORS_MAX), ()),
            )?),
            COMMITTEE => StakingRecord::Committee(Vec::read_cfg(
                buf,
                &(RangeCfg::new(0..=COMMITTEE_MAX), ()),
            )?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
