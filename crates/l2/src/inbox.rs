//! Inbox messages: what L1 asks an L2 to process, in order.
//!
//! L1 appends one for every deposit and every forced transaction, numbers
//! it and records its hash and L1 height ([`InboxMessage::hash`]). The
//! sequencer must consume them in order within the sequencing window; a
//! batch names how far it consumes, never their content, which L1 already
//! holds.

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_primitives::{
    Amount, BlsPublicKey, BlsSignature, Hash, PublicKey, codec::read_version, hash_tagged,
};

/// Encoding version of [`InboxMessage`].
pub const INBOX_VERSION: u8 = 1;
/// Most bytes a forced transaction may have (decoding bound): a signed L2
/// transaction is under 120 bytes.
pub const FORCED_TX_BYTES_MAX: usize = 512;

/// Funds locked in the L1 escrow, credited on L2 to the account of
/// `recipient`: what a depositor sends L1 and what L1 puts in the inbox.
///
/// `account` names the recipient's existing account; when it is absent,
/// or that account belongs to another key, a new account is opened for
/// `recipient`, so deposited funds always belong to the named key.
///
/// `bls` gives the account it opens a BLS key for aggregated transactions
/// (L1 checks its proof of possession before the deposit enters the
/// inbox). A deposit naming a BLS key credits only an existing account
/// with that very key; otherwise it opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deposit {
    /// The key that owns the funds on L2.
    pub recipient: PublicKey,
    /// The recipient's account index, if it has one.
    pub account: Option<u32>,
    /// Amount deposited.
    pub amount: Amount,
    /// A BLS key for the account it opens (boxed: most deposits have none,
    /// and a decoded key is a few hundred bytes in memory).
    pub bls: Option<Box<BlsRegistration>>,
}

/// A BLS key with its proof of possession.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlsRegistration {
    /// The key.
    pub key: BlsPublicKey,
    /// Its proof of possession (the defence against rogue keys).
    pub possession: BlsSignature,
}

/// A message from L1 to the L2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboxMessage {
    /// A deposit.
    Deposit(Deposit),
    /// A signed L2 transaction sent through L1, so a censoring sequencer
    /// cannot keep it out. Its bytes are checked only on L2: undecodable
    /// or invalid bytes are consumed and do nothing.
    Forced {
        /// The encoded [`crate::SignedL2Transaction`].
        tx: Bytes,
    },
}

impl InboxMessage {
    /// The hash L1 records for the message.
    pub fn hash(&self) -> Hash {
        hash_tagged(b"terrace/l2/inbox", &[&self.encode()])
    }
}

impl Write for Deposit {
    fn write(&self, buf: &mut impl BufMut) {
        self.recipient.write(buf);
        self.account.map(UInt).write(buf);
        self.amount.write(buf);
        match &self.bls {
            None => false.write(buf),
            Some(r) => {
                true.write(buf);
                r.write(buf);
            }
        }
    }
}

impl EncodeSize for Deposit {
    fn encode_size(&self) -> usize {
        self.recipient.encode_size()
            + self.account.map(UInt).encode_size()
            + self.amount.encode_size()
            + 1
            + self.bls.as_ref().map_or(0, |r| r.encode_size())
    }
}

impl Read for Deposit {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            recipient: PublicKey::read(buf)?,
            account: Option::<UInt<u32>>::read(buf)?.map(|u| u.0),
            amount: Amount::read(buf)?,
            bls: Option::<BlsRegistration>::read(buf)?.map(Box::new),
        })
    }
}

impl Write for BlsRegistration {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.possession.write(buf);
    }
}

impl EncodeSize for BlsRegistration {
    fn encode_size(&self) -> usize {
        self.key.encode_size() + self.possession.encode_size()
    }
}

impl Read for BlsRegistration {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            key: BlsPublicKey::read(buf)?,
            possession: BlsSignature::read(buf)?,
        })
    }
}

impl Write for InboxMessage {
    fn write(&self, buf: &mut impl BufMut) {
        INBOX_VERSION.write(buf);
        match self {
            InboxMessage::Deposit(d) => {
                0u8.write(buf);
                d.write(buf);
            }
            InboxMessage::Forced { tx } => {
                1u8.write(buf);
                tx.write(buf);
            }
        }
    }
}

impl EncodeSize for InboxMessage {
    fn encode_size(&self) -> usize {
        2 + match self {
            InboxMessage::Deposit(d) => d.encode_size(),
            InboxMessage::Forced { tx } => tx.encode_size(),
        }
    }
}

impl Read for InboxMessage {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "InboxMessage", INBOX_VERSION)?;
        Ok(match u8::read(buf)? {
            0 => InboxMessage::Deposit(Deposit::read(buf)?),
            1 => InboxMessage::Forced {
                tx: Bytes::read_cfg(buf, &RangeCfg::new(0..=FORCED_TX_BYTES_MAX))?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
