//! Equivocation evidence: what a `Slash` must prove, and the L1's own
//! self-contained form of it ([`DoubleVote`]). The consensus engine's
//! native evidence plugs in through [`EvidenceVerifier`] with the node.

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, DecodeExt as _, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_primitives::{
    Address, Hash, PrivateKey, PublicKey, Signature, hash_tagged,
    keys::{self, Signer as _},
};

/// An offense proved by evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offense {
    /// The validator that equivocated.
    pub offender: Address,
    /// Identifies the offense (not the evidence bytes: two different pieces
    /// of evidence for one offense must not slash twice).
    pub id: Hash,
}

/// Why evidence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The bytes are not evidence.
    #[error("undecodable evidence: {0}")]
    Malformed(String),
    /// The evidence does not prove an offense.
    #[error("evidence does not prove equivocation: {0}")]
    Invalid(&'static str),
}

/// Checks equivocation evidence. Implemented by the consensus engine's
/// evidence type; must be pure and deterministic.
///
/// Votes are numbered by their signer's place in the committee of the
/// vote's epoch, so evidence is checked in two steps: [`Self::epoch`] reads
/// which epoch it is from (decoding only), the executor looks that epoch's
/// committee up in the state, and [`Self::verify`] checks the signatures.
pub trait EvidenceVerifier {
    /// The epoch the evidence's votes were cast in.
    fn epoch(&self, evidence: &[u8]) -> Result<u64, EvidenceError>;
    /// Verifies `evidence` against `committee` (the epoch's, sorted by key
    /// bytes) and names the offense it proves.
    fn verify(&self, evidence: &[u8], committee: &[PublicKey]) -> Result<Offense, EvidenceError>;
}

/// Evidence that one key signed two different blocks for the same view.
///
/// This is the L1's own, self-contained form of equivocation evidence:
/// real signatures over [`VOTE_NAMESPACE`], verified in full. The consensus
/// engine's native evidence (commonware's `ConflictingNotarize` and
/// friends) plugs in through [`EvidenceVerifier`] with the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoubleVote {
    /// The signer.
    pub public_key: PublicKey,
    /// The epoch of the votes.
    pub epoch: u64,
    /// The view both votes are for.
    pub view: u64,
    /// First block voted for.
    pub block_a: Hash,
    /// Signature over (view, block_a).
    pub signature_a: Signature,
    /// Second block voted for.
    pub block_b: Hash,
    /// Signature over (view, block_b).
    pub signature_b: Signature,
}

/// Namespace of the votes [`DoubleVote`] evidence is made of.
pub const VOTE_NAMESPACE: &[u8] = b"terrace/l1/vote";

/// The bytes a vote signs.
pub fn vote_message(epoch: u64, view: u64, block: &Hash) -> Vec<u8> {
    let mut m = Vec::with_capacity(48);
    m.extend_from_slice(&epoch.to_be_bytes());
    m.extend_from_slice(&view.to_be_bytes());
    m.extend_from_slice(block.as_ref());
    m
}

impl DoubleVote {
    /// Signs two conflicting votes in epoch 0 (for tests and benches).
    pub fn sign(key: &PrivateKey, view: u64, block_a: Hash, block_b: Hash) -> Self {
        Self::sign_in(key, 0, view, block_a, block_b)
    }

    /// Signs two conflicting votes in `epoch`.
    pub fn sign_in(key: &PrivateKey, epoch: u64, view: u64, block_a: Hash, block_b: Hash) -> Self {
        Self {
            public_key: key.public_key(),
            epoch,
            view,
            block_a,
            signature_a: key.sign(VOTE_NAMESPACE, &vote_message(epoch, view, &block_a)),
            block_b,
            signature_b: key.sign(VOTE_NAMESPACE, &vote_message(epoch, view, &block_b)),
        }
    }

    /// The encoded evidence, for a `Slash` payload.
    pub fn to_bytes(&self) -> Bytes {
        self.encode()
    }
}

/// Verifies [`DoubleVote`] evidence.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoubleVoteVerifier;

impl EvidenceVerifier for DoubleVoteVerifier {
    fn epoch(&self, evidence: &[u8]) -> Result<u64, EvidenceError> {
        DoubleVote::decode(commonware_codec::Copying(evidence))
            .map(|ev| ev.epoch)
            .map_err(|e| EvidenceError::Malformed(e.to_string()))
    }

    fn verify(&self, evidence: &[u8], committee: &[PublicKey]) -> Result<Offense, EvidenceError> {
        let ev = DoubleVote::decode(commonware_codec::Copying(evidence))
            .map_err(|e| EvidenceError::Malformed(e.to_string()))?;
        if !committee.contains(&ev.public_key) {
            return Err(EvidenceError::Invalid(
                "the signer is not in the epoch's committee",
            ));
        }
        if ev.block_a == ev.block_b {
            return Err(EvidenceError::Invalid("both votes are for the same block"));
        }
        for (block, sig) in [
            (&ev.block_a, &ev.signature_a),
            (&ev.block_b, &ev.signature_b),
        ] {
            keys::verify(
                &ev.public_key,
                VOTE_NAMESPACE,
                &vote_message(ev.epoch, ev.view, block),
                sig,
            )
            .map_err(|_| EvidenceError::Invalid("a vote signature does not verify"))?;
        }
        let offender = Address::from_public_key(&ev.public_key);
        let id = hash_tagged(
            b"terrace/l1/offense/double-vote",
            &[
                ev.public_key.as_ref(),
                &ev.epoch.to_be_bytes(),
                &ev.view.to_be_bytes(),
            ],
        );
        Ok(Offense { offender, id })
    }
}

impl Write for DoubleVote {
    fn write(&self, buf: &mut impl BufMut) {
        self.public_key.write(buf);
        UInt(self.epoch).write(buf);
        UInt(self.view).write(buf);
        self.block_a.write(buf);
        self.signature_a.write(buf);
        self.block_b.write(buf);
        self.signature_b.write(buf);
    }
}

impl EncodeSize for DoubleVote {
    fn encode_size(&self) -> usize {
        32 + UInt(self.epoch).encode_size() + UInt(self.view).encode_size() + 2 * (32 + 64)
    }
}

impl Read for DoubleVote {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            public_key: PublicKey::read(buf)?,
            epoch: UInt::<u64>::read(buf)?.0,
            view: UInt::<u64>::read(buf)?.0,
            block_a: Hash::read(buf)?,
            signature_a: Signature::read(buf)?,
            block_b: Hash::read(buf)?,
            signature_b: Signature::read(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use terrace_primitives::{hash, keys::private_key_from_seed};

    #[test]
    fn double_vote_evidence_verifies_and_names_the_offender() {
        let k = private_key_from_seed([4; 32]);
        let ev = DoubleVote::sign(&k, 7, hash(&[b"a"]), hash(&[b"b"]));
        let committee = [k.public_key()];
        let off = DoubleVoteVerifier
            .verify(&ev.to_bytes(), &committee)
            .unwrap();
        assert_eq!(off.offender, Address::from_public_key(&k.public_key()));
        // The same offense signed over other blocks has the same id.
        let ev2 = DoubleVote::sign(&k, 7, hash(&[b"c"]), hash(&[b"d"]));
        assert_eq!(
            DoubleVoteVerifier
                .verify(&ev2.to_bytes(), &committee)
                .unwrap()
                .id,
            off.id
        );
    }

    #[test]
    fn forged_or_empty_evidence_is_refused() {
        let k = private_key_from_seed([4; 32]);
        let other = private_key_from_seed([5; 32]);
        let committee = [k.public_key(), other.public_key()];
        let mut ev = DoubleVote::sign(&k, 7, hash(&[b"a"]), hash(&[b"b"]));
        ev.signature_b = other.sign(VOTE_NAMESPACE, &vote_message(0, 7, &ev.block_b));
        assert!(matches!(
            DoubleVoteVerifier.verify(&ev.to_bytes(), &committee),
            Err(EvidenceError::Invalid(_))
        ));
        let same = DoubleVote::sign(&k, 7, hash(&[b"a"]), hash(&[b"a"]));
        assert!(matches!(
            DoubleVoteVerifier.verify(&same.to_bytes(), &committee),
            Err(EvidenceError::Invalid(_))
        ));
        assert!(matches!(
            DoubleVoteVerifier.verify(&[1, 2, 3], &committee),
            Err(EvidenceError::Malformed(_))
        ));
        let outsider = DoubleVote::sign(&k, 7, hash(&[b"a"]), hash(&[b"b"]));
        assert!(
            matches!(
                DoubleVoteVerifier.verify(&outsider.to_bytes(), &[other.public_key()]),
                Err(EvidenceError::Invalid(_))
            ),
            "a signer outside the epoch's committee is no offender"
        );
    }
}
