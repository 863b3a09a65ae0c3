//! The peer messages that update a channel, named as BOLT 2 names them
//! (so the mapping to Lightning is one to one), and their encoding.
//!
//! Every message names its channel. Decoding goes through
//! [`Message::decode`], which refuses input over [`MESSAGE_BYTES_MAX`]
//! before parsing and bounds every variable-length field.

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_l1::modules::channels::SignedState;
use terrace_primitives::{
    Amount, Hash, Signature,
    codec::{DecodeError, decode_bounded},
};

/// Largest peer message accepted (a route payload of a 20-hop path fits
/// many times over).
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024;
/// Largest opaque route payload an HTLC carries to the next hop.
pub const ONION_BYTES_MAX: usize = 4 * 1024;

/// A message between the two nodes of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// `update_add_htlc`: the sender offers an HTLC.
    AddHtlc {
        /// The channel.
        channel: Hash,
        /// Its id (the sender numbers its own: even for A, odd for B).
        id: u64,
        /// Amount.
        amount: Amount,
        /// SHA-256 of the preimage that claims it.
        payment_hash: Hash,
        /// L1 height by which the preimage must be registered.
        expiry: u64,
        /// Where to forward it (the routing layer's, opaque here).
        onion: Bytes,
    },
    /// `update_fulfill_htlc`: the sender, the HTLC's receiver, reveals
    /// the preimage.
    FulfillHtlc {
        /// The channel.
        channel: Hash,
        /// The HTLC.
        id: u64,
        /// Its preimage.
        preimage: [u8; 32],
    },
    /// `update_fail_htlc`: the sender, the HTLC's receiver, gives it back.
    FailHtlc {
        /// The channel.
        channel: Hash,
        /// The HTLC.
        id: u64,
        /// Why (a routing failure code).
        reason: u16,
    },
    /// `commitment_signed`: the sender's signature over the next version,
    /// which applies the sender's first `senders` updates and the
    /// receiver's first `receivers` updates not yet committed (A's first,
    /// then B's). The same message answers a proposal.
    CommitmentSigned {
        /// The channel.
        channel: Hash,
        /// The version signed.
        version: u64,
        /// How many of the sender's pending updates it includes.
        senders: u32,
        /// How many of the receiver's.
        receivers: u32,
        /// The sender's signature over the state.
        signature: Signature,
    },
    /// `revoke_and_ack`: the sender will never publish a version ≤
    /// `revoked_upto` (it holds a newer one signed by both).
    RevokeAndAck {
        /// The channel.
        channel: Hash,
        /// Every version up to this one is revoked.
        revoked_upto: u64,
        /// The sender's signature over the revocation.
        signature: Signature,
    },
    /// `channel_reestablish`, after a reconnect: the sender's newest
    /// state signed by both and its newest revocation. A peer behind
    /// adopts the state (it signed it) and revokes what it held; updates
    /// neither side committed are dropped on both.
    Reestablish {
        /// The channel.
        channel: Hash,
        /// The sender's newest state signed by both.
        state: Box<SignedState>,
        /// The sender's newest revocation (`revoked_upto`, signature).
        revocation: Option<(u64, Signature)>,
    },
}

impl Message {
    /// The channel it is about.
    pub fn channel(&self) -> &Hash {
        match self {
            Message::AddHtlc { channel, .. }
            | Message::FulfillHtlc { channel, .. }
            | Message::FailHtlc { channel, .. }
            | Message::CommitmentSigned { channel, .. }
            | Message::RevokeAndAck { channel, .. }
            | Message::Reestablish { channel, .. } => channel,
        }
    }

    /// Decodes a message from a peer: at most [`MESSAGE_BYTES_MAX`]
    /// bytes, exactly one message.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_bounded(bytes, MESSAGE_BYTES_MAX, &())
    }
}

const ADD: u8 = 0;
const FULFILL: u8 = 1;
const FAIL: u8 = 2;
const COMMIT: u8 = 3;
const REVOKE: u8 = 4;
const REESTABLISH: u8 = 5;

impl Write for Message {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Message::AddHtlc {
                channel,
                id,
                amount,
                payment_hash,
                expiry,
                onion,
            } => {
                ADD.write(buf);
                channel.write(buf);
                UInt(*id).write(buf);
                amount.write(buf);
                payment_hash.write(buf);
                UInt(*expiry).write(buf);
                onion.write(buf);
            }
            Message::FulfillHtlc {
                channel,
                id,
                preimage,
            } => {
                FULFILL.write(buf);
                channel.write(buf);
                UInt(*id).write(buf);
                preimage.write(buf);
            }
            Message::FailHtlc {
                channel,
                id,
                reason,
            } => {
                FAIL.write(buf);
                channel.write(buf);
                UInt(*id).write(buf);
                reason.write(buf);
            }
            Message::CommitmentSigned {
                channel,
                version,
                senders,
                receivers,
                signature,
            } => {
                COMMIT.write(buf);
                channel.write(buf);
                UInt(*version).write(buf);
                UInt(*senders).write(buf);
                UInt(*receivers).write(buf);
                signature.write(buf);
            }
            Message::RevokeAndAck {
                channel,
                revoked_upto,
                signature,
            } => {
                REVOKE.write(buf);
                channel.write(buf);
                UInt(*revoked_upto).write(buf);
                signature.write(buf);
            }
            Message::Reestablish {
                channel,
                state,
                revocation,
            } => {
                REESTABLISH.write(buf);
                channel.write(buf);
                state.write(buf);
                match revocation {
                    None => 0u8.write(buf),
                    Some((upto, signature)) => {
                        1u8.write(buf);
                        UInt(*upto).write(buf);
                        signature.write(buf);
                    }
                }
            }
        }
    }
}

impl EncodeSize for Message {
    fn encode_size(&self) -> usize {
        1 + 32
            + match self {
                Message::AddHtlc {
                    id,
                    amount,
                    expiry,
                    onion,
                    ..
                } => {
                    UInt(*id).encode_size()
                        + amount.encode_size()
                        + 32
                        + UInt(*expiry).encode_size()
                        + onion.encode_size()
                }
                Message::FulfillHtlc { id, .. } => UInt(*id).encode_size() + 32,
                Message::FailHtlc { id, .. } => UInt(*id).encode_size() + 2,
                Message::CommitmentSigned {
                    version,
                    senders,
                    receivers,
                    signature,
                    ..
                } => {
                    UInt(*version).encode_size()
                        + UInt(*senders).encode_size()
                        + UInt(*receivers).encode_size()
                        + signature.encode_size()
                }
                Message::RevokeAndAck {
                    revoked_upto,
                    signature,
                    ..
                } => UInt(*revoked_upto).encode_size() + signature.encode_size(),
                Message::Reestablish {
                    state, revocation, ..
                } => {
                    state.encode_size()
                        + 1
                        + revocation
                            .as_ref()
                            .map_or(0, |(v, s)| UInt(*v).encode_size() + s.encode_size())
                }
            }
    }
}

impl Read for Message {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        let channel = Hash::read(buf)?;
        Ok(match tag {
            ADD => Message::AddHtlc {
                channel,
                id: UInt::<u64>::read(buf)?.0,
                amount: Amount::read(buf)?,
                payment_hash: Hash::read(buf)?,
                expiry: UInt::<u64>::read(buf)?.0,
                onion: Bytes::read_cfg(buf, &RangeCfg::new(0..=ONION_BYTES_MAX))?,
            },
            FULFILL => Message::FulfillHtlc {
                channel,
                id: UInt::<u64>::read(buf)?.0,
                preimage: <[u8; 32]>::read(buf)?,
            },
            FAIL => Message::FailHtlc {
                channel,
                id: UInt::<u64>::read(buf)?.0,
                reason: u16::read(buf)?,
            },
            COMMIT => Message::CommitmentSigned {
                channel,
                version: UInt::<u64>::read(buf)?.0,
                senders: UInt::<u32>::read(buf)?.0,
                receivers: UInt::<u32>::read(buf)?.0,
                signature: Signature::read(buf)?,
            },
            REVOKE => Message::RevokeAndAck {
                channel,
                revoked_upto: UInt::<u64>::read(buf)?.0,
                signature: Signature::read(buf)?,
            },
            REESTABLISH => Message::Reestablish {
                channel,
                state: Box::new(SignedState::read(buf)?),
                revocation: match u8::read(buf)? {
                    0 => None,
                    1 => Some((UInt::<u64>::read(buf)?.0, Signature::read(buf)?)),
                    t => return Err(CodecError::InvalidEnum(t)),
                },
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
