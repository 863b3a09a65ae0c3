//! The watchtower's core: one appointment per channel — the client's
//! newest state signed by both and the peer's newest revocation — replaced
//! in place on every update, so storage is O(1) per channel (LND's tower
//! keeps a blob per update); and the answer to a close on L1.

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use std::collections::HashMap;
use terrace_l1::modules::channels::{
    ChannelOp, Closing, Evidence, REVOKE_NAMESPACE, Revocation, STATE_NAMESPACE, Side, SignedState,
};
use terrace_primitives::{Hash, PublicKey, Signature, keys};

/// What a client hands its tower after each update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    /// The client's side of the channel.
    pub client: Side,
    /// The newest state signed by both.
    pub state: SignedState,
    /// The peer's newest revocation and its signature.
    pub revocation: Option<(Revocation, Signature)>,
}

/// Why the tower refused an appointment (it keeps the one it had).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TowerError {
    /// Older than the appointment held.
    #[error("version {got} is older than the {held} held")]
    Stale {
        /// The appointment's version.
        got: u64,
        /// The one held.
        held: u64,
    },
    /// A signature does not verify against the channel's keys.
    #[error("a signature in the appointment does not verify")]
    InvalidSignature,
    /// The revocation is for another channel.
    #[error("the revocation is for another channel")]
    WrongChannel,
}

/// The appointments of every channel watched.
#[derive(Debug, Default, Clone)]
pub struct Tower {
    watched: HashMap<Hash, Appointment>,
}

impl Tower {
    /// Takes an appointment for a channel whose keys are `a` and `b` (read
    /// from its L1 record), replacing the one held.
    pub fn watch(
        &mut self,
        appointment: Appointment,
        a: &PublicKey,
        b: &PublicKey,
    ) -> Result<(), TowerError> {
        let s = &appointment.state;
        let id = s.state.channel;
        if let Some(held) = self.watched.get(&id) {
            let (got, held) = (s.state.version, held.state.state.version);
            if got < held {
                return Err(TowerError::Stale { got, held });
            }
        }
        let m = s.state.message();
        for (key, sig) in [(a, &s.sig_a), (b, &s.sig_b)] {
            keys::verify(key, STATE_NAMESPACE, &m, sig)
                .map_err(|_| TowerError::InvalidSignature)?;
        }
        if let Some((r, sig)) = &appointment.revocation {
            if r.channel != id {
                return Err(TowerError::WrongChannel);
            }
            let peer = match appointment.client {
                Side::A => b,
                Side::B => a,
            };
            keys::verify(peer, REVOKE_NAMESPACE, &r.message(), sig)
                .map_err(|_| TowerError::InvalidSignature)?;
        }
        self.watched.insert(id, appointment);
        Ok(())
    }

    /// Stops watching a channel (it settled).
    pub fn forget(&mut self, channel: &Hash) {
        self.watched.remove(channel);
    }

    /// The challenge to send when L1 shows `closing` on `channel`: the
    /// peer's revocation if it closed with a version it revoked, else the
    /// client's newer state, else nothing.
    pub fn respond(&self, channel: &Hash, closing: &Closing) -> Option<ChannelOp> {
        let a = self.watched.get(channel)?;
        if closing.closer == a.client || closing.penalized.is_some() {
            return None;
        }
        if let Some((r, sig)) = &a.revocation
            && r.revoked_upto >= closing.closed_version
        {
            return Some(ChannelOp::Challenge {
                channel: *channel,
                evidence: Box::new(Evidence::Revoked {
                    revocation: *r,
                    signature: sig.clone(),
                }),
            });
        }
        (a.state.state.version > closing.state.version).then(|| ChannelOp::Challenge {
            channel: *channel,
            evidence: Box::new(Evidence::Newer(a.state.clone())),
        })
    }

    /// Channels watched.
    pub fn len(&self) -> usize {
        self.watched.len()
    }

    /// Whether nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.watched.is_empty()
    }

    /// Bytes the tower stores for a channel (its appointment, encoded).
    pub fn stored_bytes(&self, channel: &Hash) -> usize {
        self.watched.get(channel).map_or(0, EncodeSize::encode_size)
    }
}

impl Write for Appointment {
    fn write(&self, buf: &mut impl BufMut) {
        self.client.write(buf);
        self.state.write(buf);
        match &self.revocation {
            None => 0u8.write(buf),
            Some((r, sig)) => {
                1u8.write(buf);
                r.write(buf);
                sig.write(buf);
            }
        }
    }
}

impl EncodeSize for Appointment {
    fn encode_size(&self) -> usize {
        1 + self.state.encode_size()
            + 1
            + self
                .revocation
                .as_ref()
                .map_or(0, |(r, s)| r.encode_size() + s.encode_size())
    }
}

impl Read for Appointment {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            client: Side::read(buf)?,
            state: SignedState::read(buf)?,
            revocation: match u8::read(buf)? {
                0 => None,
                1 => Some((Revocation::read(buf)?, Signature::read(buf)?)),
                t => return Err(CodecError::InvalidEnum(t)),
            },
        })
    }
}
