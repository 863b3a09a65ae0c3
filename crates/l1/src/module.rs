//! Settlement modules: how one design's rules plug into the L1.
//!
//! A module is a design's whole L1 side in one folder under
//! [`crate::modules`]: its operations (a kind of [`Payload`]) with their
//! codec and decoding bounds, the records it keeps under its own keys, the
//! keys an operation reads (so a node prefetches them), its gas, its
//! failure codes, the rules, what its records hold in escrow or bonds, and
//! a hook at the end of every block for deadlines.
//!
//! The executor knows none of that. It charges the fee, asks the module
//! for the operation's [`Effects`] — computed from the state before
//! anything is written — and applies them in one place: the debit from
//! the sender, credits to accounts, the burn, and the module's records. A
//! refused operation returns a [`Failure`] and changes nothing but the fee.
//! The supply invariant is a sum over what each module reports it holds
//! ([`Module::held`]), never a hand-written list of record kinds.
//!
//! Encodings are shared: a payload, a key, a record and a failure code
//! each start with one byte, and each module owns a set of those bytes
//! ([`Tagged::TAGS`], [`FailureCode::ALL`]), disjoint from every other
//! module's and from the core's (a test keeps them apart). A module added
//! later takes fresh bytes; the existing encodings never move.
//!
//! [`Payload`]: crate::Payload
//! [`Failure`]: crate::Failure

use crate::{
    BlockEnv, ChainParams, Failure,
    error::BlockError,
    params::ParamsError,
    state::{Key, StateReader, Value},
};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Write};
use terrace_primitives::{Address, Amount, ChainId, Hash, PublicKey};

/// A module's part of a shared encoding (its operations, keys or records):
/// `write` starts with one of [`Self::TAGS`], and [`Self::read_tagged`]
/// reads the rest once the shared decoder has read that tag.
pub trait Tagged: Write + EncodeSize + Sized {
    /// The leading bytes this type's values are encoded under.
    const TAGS: &'static [u8];

    /// Reads a value whose leading byte `tag` (one of [`Self::TAGS`]) was
    /// just read.
    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError>;
}

/// A module's failure codes: the byte a receipt records and the name RPC
/// answers show.
pub trait FailureCode: Copy + std::fmt::Debug + Eq + 'static {
    /// Every failure of the module.
    const ALL: &'static [Self];

    /// The receipt byte (never 0, which means success).
    fn code(self) -> u8;

    /// The name in receipts and RPC answers (snake case).
    fn name(self) -> &'static str;

    /// The failure recorded as `code`, if it is one of this module's.
    fn from_code(code: u8) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.code() == code)
    }
}

/// Declares a module's failure enum with its receipt codes and names.
#[macro_export]
macro_rules! failure_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $code, )*
        }

        impl $crate::module::FailureCode for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),*];

            fn code(self) -> u8 {
                self as u8
            }

            fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }
    };
}

/// What an operation (or a module's end of block) does to the state,
/// computed before anything is written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Effects {
    /// The module's own records written (`None` deletes). Accounts are
    /// never written here: they move through `debit` and `credits`.
    pub writes: Vec<(Key, Option<Value>)>,
    /// Taken from the sender's balance (beyond the fee); if the balance
    /// does not cover it the operation fails with
    /// [`Failure::InsufficientFunds`]. Zero at the end of a block.
    pub debit: Amount,
    /// Taken from other accounts (or the sender's) whose owners signed
    /// for it inside the operation — the module checked those signatures.
    /// If an account does not cover its amount the operation fails with
    /// [`Failure::InsufficientFunds`]. Empty at the end of a block.
    pub taken: Vec<(Address, Amount)>,
    /// Paid to accounts (the sender included).
    pub credits: Vec<(Address, Amount)>,
    /// Burned.
    pub burned: Amount,
}

impl Effects {
    /// Writes `value` under `key`.
    pub fn write(&mut self, key: impl Into<Key>, value: impl Into<Value>) {
        self.writes.push((key.into(), Some(value.into())));
    }

    /// Deletes the record under `key`.
    pub fn delete(&mut self, key: impl Into<Key>) {
        self.writes.push((key.into(), None));
    }

    /// Takes `amount` from `from`, whose owner signed for it.
    pub fn take(&mut self, from: Address, amount: Amount) {
        self.taken.push((from, amount));
    }

    /// Pays `amount` to `to`.
    pub fn credit(&mut self, to: Address, amount: Amount) {
        self.credits.push((to, amount));
    }
}

/// The transaction around an operation.
#[derive(Clone, Copy)]
pub struct OpEnv<'a> {
    /// Chain parameters.
    pub params: &'a ChainParams,
    /// The block's height.
    pub height: u64,
    /// The chain the transaction was signed for (rollups bind their
    /// proofs and signatures to it).
    pub chain_id: ChainId,
    /// The sender.
    pub sender: Address,
    /// The sender's key.
    pub sender_key: &'a PublicKey,
    /// The transaction's id.
    pub tx_hash: Hash,
    /// Checks consensus evidence (the node's, injected: the engine that
    /// defines the evidence sits above this crate).
    pub evidence: &'a dyn crate::modules::staking::EvidenceVerifier,
}

impl std::fmt::Debug for OpEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpEnv")
            .field("height", &self.height)
            .field("sender", &self.sender)
            .field("tx_hash", &self.tx_hash)
            .finish_non_exhaustive()
    }
}

/// A payload in a word, for explorers and RPC answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSummary {
    /// Snake-case kind, e.g. `stake` or `rollup_deposit`.
    pub kind: &'static str,
    /// The account it pays, if one.
    pub to: Option<Address>,
    /// The amount it moves, if one.
    pub amount: Option<Amount>,
}

/// One design's rules on L1.
///
/// Everything is a pure function of the state as of the operation (or of
/// the block's end) and the environment: no I/O, no clock, no randomness.
pub trait Module {
    /// The module's name (`staking`, `optimistic`): its section in the
    /// chain parameters, and how logs and reports call it.
    const NAME: &'static str;

    /// What a transaction asks of it.
    type Op: Tagged + std::fmt::Debug + Clone + Eq;
    /// Where its records live.
    type Key: Tagged + std::fmt::Debug + Clone + Ord + std::hash::Hash;
    /// Its records.
    type Record: Tagged + std::fmt::Debug + Clone + Eq;
    /// Why one of its operations had no effect.
    type Failure: FailureCode;
    /// Its parameters (a section of [`ChainParams`]).
    type Params: std::fmt::Debug
        + Clone
        + Eq
        + Default
        + serde::Serialize
        + serde::de::DeserializeOwned;

    /// Its parameters within the chain's.
    fn params(chain: &ChainParams) -> &Self::Params;

    /// Checks its parameters (and how they fit the chain's).
    fn validate_params(_chain: &ChainParams) -> Result<(), ParamsError> {
        Ok(())
    }

    /// Funds `op` moves out of the sender beyond fees, as far as is known
    /// without state: the balance check before execution covers it.
    fn value(_op: &Self::Op) -> Amount {
        Amount::ZERO
    }

    /// Gas for the operation's own work, beyond the base and byte charges.
    fn gas(op: &Self::Op, params: &ChainParams) -> u64;

    /// The operation in a word.
    fn summary(op: &Self::Op) -> OpSummary;

    /// The keys `op` reads, from its payload alone (the sender's account
    /// is always read): what a node prefetches.
    fn keys(op: &Self::Op, env: &OpEnv<'_>) -> Vec<Key>;

    /// Keys `op` reads that are known only once [`Self::keys`] are read
    /// (a node fetches them in a second step).
    fn keys_after<S: StateReader + ?Sized>(
        _op: &Self::Op,
        _state: &S,
        _env: &OpEnv<'_>,
    ) -> Vec<Key> {
        Vec::new()
    }

    /// The effects of `op`, or why it has none.
    fn apply<S: StateReader + ?Sized>(
        state: &S,
        env: &OpEnv<'_>,
        op: &Self::Op,
    ) -> Result<Effects, Failure>;

    /// Funds a record holds (escrows, bonds, stake): part of the supply.
    fn held(_record: &Self::Record) -> Option<Amount> {
        Some(Amount::ZERO)
    }

    /// Records that may hold funds, given the records read so far and the
    /// accounts audited: an auditor reads these until none are new, then
    /// sums [`Self::held`] over them.
    fn fund_keys<S: StateReader + ?Sized>(_state: &S, _addresses: &[Address]) -> Vec<Key> {
        Vec::new()
    }

    /// Keys the end of block `env.height` reads, known from the height.
    fn end_block_keys(_env: &BlockEnv, _params: &ChainParams) -> Vec<Key> {
        Vec::new()
    }

    /// Keys the end of the block reads that are known only once
    /// [`Self::end_block_keys`] are read.
    fn end_block_keys_after<S: StateReader + ?Sized>(
        _state: &S,
        _env: &BlockEnv,
        _params: &ChainParams,
    ) -> Vec<Key> {
        Vec::new()
    }

    /// Deadlines due at the end of the block: releases, expiries, the next
    /// committee. No debit; credits, burns and the module's records only.
    fn end_block<S: StateReader + ?Sized>(
        _state: &S,
        _env: &BlockEnv,
        _params: &ChainParams,
    ) -> Result<Effects, BlockError> {
        Ok(Effects::default())
    }
}

/// Where modules' end-of-block effects land: the executor's state.
pub(crate) trait EndBlockHost {
    /// The state as of the effects applied so far.
    fn state(&self) -> &dyn StateReader;
    /// Applies one module's effects.
    fn apply(&mut self, module: &'static str, effects: Effects) -> Result<(), BlockError>;
}

/// Registers the settlement modules. One line per module,
/// `field: Variant(path::Type)`: `field` is its section of the chain
/// parameters (`[params.modules.field]`), `Variant` the arm it has in
/// [`crate::Payload`], [`crate::Key`], [`crate::Value`] and
/// [`crate::Failure`] (one each).
///
/// It generates the parameters' section, the conversions into those enums
/// and the dispatch from them to the module, so the core names no module.
macro_rules! registry {
    ($( $(#[$meta:meta])* $field:ident: $variant:ident($module:ty) ),* $(,)?) => {
        /// Every module's parameters, one section each.
        #[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct ModuleParams {
            $(
                $(#[$meta])*
                pub $field: <$module as $crate::module::Module>::Params,
            )*
        }

        $(
            impl From<<$module as $crate::module::Module>::Op> for $crate::Payload {
                fn from(op: <$module as $crate::module::Module>::Op) -> Self {
                    Self::$variant(op)
                }
            }

            impl From<<$module as $crate::module::Module>::Key> for $crate::Key {
                fn from(key: <$module as $crate::module::Module>::Key) -> Self {
                    Self::$variant(key)
                }
            }

            impl From<<$module as $crate::module::Module>::Record> for $crate::Value {
                fn from(record: <$module as $crate::module::Module>::Record) -> Self {
                    Self::$variant(record)
                }
            }

            impl From<<$module as $crate::module::Module>::Failure> for $crate::Failure {
                fn from(failure: <$module as $crate::module::Module>::Failure) -> Self {
                    Self::$variant(failure)
                }
            }
        )*

        /// The registered modules' names, in registry order.
        pub const NAMES: &[&str] = &[$(<$module as $crate::module::Module>::NAME),*];

        /// Every registered module's payload, key and record tags and
        /// failure codes, by name (for the disjointness test).
        pub fn tag_sets() -> Vec<(&'static str, [&'static [u8]; 3], Vec<u8>)> {
            use $crate::module::{FailureCode as _, Module, Tagged as _};
            vec![$((
                <$module as Module>::NAME,
                [
                    <<$module as Module>::Op>::TAGS,
                    <<$module as Module>::Key>::TAGS,
                    <<$module as Module>::Record>::TAGS,
                ],
                <<$module as Module>::Failure>::ALL.iter().map(|f| f.code()).collect(),
            )),*]
        }

        /// Dispatch from the shared enums to the modules. Each function
        /// answers `None` for the core's own variants.
        pub(crate) mod dispatch {
            #[allow(unused_imports)]
            use super::*;
            use $crate::{
                BlockEnv, ChainParams, Failure, Key, Payload, Value,
                error::BlockError,
                module::{Effects, FailureCode as _, Module, OpEnv, OpSummary, Tagged as _},
                params::ParamsError,
                state::StateReader,
            };
            use bytes::BufMut;
            use commonware_codec::{Buf, EncodeSize as _, Error as CodecError, Write as _};
            use terrace_primitives::{Address, Amount};

            pub(crate) fn write_op(p: &Payload, buf: &mut impl BufMut) {
                match p {
                    $(Payload::$variant(op) => op.write(buf),)*
                    _ => {}
                }
            }

            pub(crate) fn op_size(p: &Payload) -> usize {
                match p {
                    $(Payload::$variant(op) => op.encode_size(),)*
                    _ => 0,
                }
            }

            pub(crate) fn read_op(tag: u8, buf: &mut impl Buf) -> Option<Result<Payload, CodecError>> {
                $(
                    if <<$module as Module>::Op>::TAGS.contains(&tag) {
                        return Some(<<$module as Module>::Op>::read_tagged(tag, buf).map(Payload::$variant));
                    }
                )*
                None
            }

            pub(crate) fn write_key(k: &Key, buf: &mut impl BufMut) {
                match k {
                    $(Key::$variant(key) => key.write(buf),)*
                    _ => {}
                }
            }

            pub(crate) fn key_size(k: &Key) -> usize {
                match k {
                    $(Key::$variant(key) => key.encode_size(),)*
                    _ => 0,
                }
            }

            pub(crate) fn read_key(tag: u8, buf: &mut impl Buf) -> Option<Result<Key, CodecError>> {
                $(
                    if <<$module as Module>::Key>::TAGS.contains(&tag) {
                        return Some(<<$module as Module>::Key>::read_tagged(tag, buf).map(Key::$variant));
                    }
                )*
                None
            }

            pub(crate) fn key_owner(k: &Key) -> Option<&'static str> {
                match k {
                    $(Key::$variant(_) => Some(<$module as Module>::NAME),)*
                    _ => None,
                }
            }

            pub(crate) fn write_value(v: &Value, buf: &mut impl BufMut) {
                match v {
                    $(Value::$variant(record) => record.write(buf),)*
                    _ => {}
                }
            }

            pub(crate) fn value_size(v: &Value) -> usize {
                match v {
                    $(Value::$variant(record) => record.encode_size(),)*
                    _ => 0,
                }
            }

            pub(crate) fn read_value(tag: u8, buf: &mut impl Buf) -> Option<Result<Value, CodecError>> {
                $(
                    if <<$module as Module>::Record>::TAGS.contains(&tag) {
                        return Some(<<$module as Module>::Record>::read_tagged(tag, buf).map(Value::$variant));
                    }
                )*
                None
            }

            pub(crate) fn held(v: &Value) -> Option<Option<Amount>> {
                match v {
                    $(Value::$variant(record) => Some(<$module as Module>::held(record)),)*
                    _ => None,
                }
            }

            pub(crate) fn failure_code(f: Failure) -> Option<u8> {
                match f {
                    $(Failure::$variant(f) => Some(f.code()),)*
                    _ => None,
                }
            }

            pub(crate) fn failure_name(f: Failure) -> Option<&'static str> {
                match f {
                    $(Failure::$variant(f) => Some(f.name()),)*
                    _ => None,
                }
            }

            pub(crate) fn failure_from_code(code: u8) -> Option<Failure> {
                $(
                    if let Some(f) = <<$module as Module>::Failure>::from_code(code) {
                        return Some(Failure::$variant(f));
                    }
                )*
                None
            }

            pub(crate) fn value_of(p: &Payload) -> Option<Amount> {
                match p {
                    $(Payload::$variant(op) => Some(<$module as Module>::value(op)),)*
                    _ => None,
                }
            }

            pub(crate) fn gas(p: &Payload, params: &ChainParams) -> Option<u64> {
                match p {
                    $(Payload::$variant(op) => Some(<$module as Module>::gas(op, params)),)*
                    _ => None,
                }
            }

            pub(crate) fn summary(p: &Payload) -> Option<OpSummary> {
                match p {
                    $(Payload::$variant(op) => Some(<$module as Module>::summary(op)),)*
                    _ => None,
                }
            }

            pub(crate) fn keys(p: &Payload, env: &OpEnv<'_>) -> Option<Vec<Key>> {
                match p {
                    $(Payload::$variant(op) => Some(<$module as Module>::keys(op, env)),)*
                    _ => None,
                }
            }

            pub(crate) fn keys_after<S: StateReader + ?Sized>(
                p: &Payload,
                state: &S,
                env: &OpEnv<'_>,
            ) -> Option<Vec<Key>> {
                match p {
                    $(Payload::$variant(op) => Some(<$module as Module>::keys_after(op, state, env)),)*
                    _ => None,
                }
            }

            /// The operation's effects, and the name of the module whose
            /// records it may write.
            pub(crate) fn apply<S: StateReader + ?Sized>(
                p: &Payload,
                state: &S,
                env: &OpEnv<'_>,
            ) -> Option<(&'static str, Result<Effects, Failure>)> {
                match p {
                    $(Payload::$variant(op) => Some((
                        <$module as Module>::NAME,
                        <$module as Module>::apply(state, env, op),
                    )),)*
                    _ => None,
                }
            }

            pub(crate) fn validate_params(params: &ChainParams) -> Result<(), ParamsError> {
                $(<$module as Module>::validate_params(params)?;)*
                Ok(())
            }

            pub(crate) fn fund_keys<S: StateReader + ?Sized>(state: &S, addresses: &[Address]) -> Vec<Key> {
                let mut keys = Vec::new();
                $(keys.extend(<$module as Module>::fund_keys(state, addresses));)*
                keys
            }

            pub(crate) fn end_block_keys(env: &BlockEnv, params: &ChainParams) -> Vec<Key> {
                let mut keys = Vec::new();
                $(keys.extend(<$module as Module>::end_block_keys(env, params));)*
                keys
            }

            pub(crate) fn end_block_keys_after<S: StateReader + ?Sized>(
                state: &S,
                env: &BlockEnv,
                params: &ChainParams,
            ) -> Vec<Key> {
                let mut keys = Vec::new();
                $(keys.extend(<$module as Module>::end_block_keys_after(state, env, params));)*
                keys
            }

            /// Runs each module's end of block in registry order, each
            /// over the state as the ones before it left it.
            pub(crate) fn end_block(
                host: &mut impl $crate::module::EndBlockHost,
                env: &BlockEnv,
                params: &ChainParams,
            ) -> Result<(), BlockError> {
                $(
                    let effects = <$module as Module>::end_block(host.state(), env, params)?;
                    host.apply(<$module as Module>::NAME, effects)?;
                )*
                Ok(())
            }
        }
    };
}

pub(crate) use registry;
