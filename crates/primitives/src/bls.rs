//! BLS12-381 signatures that aggregate: the keys of L2 accounts whose
//! transactions a rollup batch carries without signatures, under one
//! aggregate per chunk.
//!
//! The "minimal public key" variant of the IETF BLS draft: keys are G1
//! points (48 bytes compressed), signatures G2 points (96 bytes). The
//! proof-of-possession scheme: a key is accepted only with a signature of
//! the key itself under a separate tag ([`BlsPrivateKey::proof_of_possession`]),
//! which defeats rogue-key attacks, so aggregates over any messages — equal
//! or distinct — are sound.
//!
//! Decoding rejects the point at infinity and points outside the prime-order
//! subgroup, so every [`BlsPublicKey`] and [`BlsSignature`] value is a
//! checked group element and verification never re-checks them. Built on
//! `blst`, which commonware's own BLS code uses.

use blst::{
    BLST_ERROR,
    min_pk::{AggregateSignature, PublicKey as RawKey, SecretKey, Signature as RawSignature},
};
use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, Write};

/// Bytes of a compressed public key.
pub const BLS_PUBLIC_KEY_LEN: usize = 48;
/// Bytes of a compressed signature.
pub const BLS_SIGNATURE_LEN: usize = 96;

/// Hash-to-curve tag of message signatures (the draft's PoP ciphersuite).
const SIGNATURE_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Hash-to-curve tag of proofs of possession: never a message signature.
const POP_DST: &[u8] = b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
/// Key-derivation info, so the same seed gives unrelated BLS and ed25519 keys.
const KEYGEN_INFO: &[u8] = b"terrace/bls/v1";

/// Why a BLS check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BlsError {
    /// The signature does not verify.
    #[error("invalid BLS signature")]
    Invalid,
    /// An aggregate over nothing.
    #[error("nothing to aggregate")]
    Empty,
}

/// A checked BLS public key.
#[derive(Clone, Copy)]
pub struct BlsPublicKey {
    bytes: [u8; BLS_PUBLIC_KEY_LEN],
    point: RawKey,
}

/// A checked BLS signature (one, or an aggregate of many).
#[derive(Clone, Copy)]
pub struct BlsSignature {
    bytes: [u8; BLS_SIGNATURE_LEN],
    point: RawSignature,
}

/// A BLS private key.
pub struct BlsPrivateKey(SecretKey);

impl std::fmt::Debug for BlsPrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlsPrivateKey(<redacted>)")
    }
}

/// The signed bytes: the namespace, length-prefixed, then the message.
fn namespaced(namespace: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + namespace.len() + msg.len());
    out.extend_from_slice(&(namespace.len() as u64).to_be_bytes());
    out.extend_from_slice(namespace);
    out.extend_from_slice(msg);
    out
}

impl BlsPrivateKey {
    /// Derives a key from 32 bytes of seed (the IETF key generation).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // key_gen fails only for input keying material under 32 bytes.
        Self(SecretKey::key_gen(seed, KEYGEN_INFO).unwrap_or_else(|_| unreachable!("32-byte ikm")))
    }

    /// Its public key.
    pub fn public_key(&self) -> BlsPublicKey {
        let point = self.0.sk_to_pk();
        BlsPublicKey {
            bytes: point.compress(),
            point,
        }
    }

    /// Signs `msg` under `namespace`.
    pub fn sign(&self, namespace: &[u8], msg: &[u8]) -> BlsSignature {
        BlsSignature::from_raw(self.0.sign(&namespaced(namespace, msg), SIGNATURE_DST, &[]))
    }

    /// The proof of possession of this key: its signature of its own
    /// public key under the PoP tag.
    pub fn proof_of_possession(&self) -> BlsSignature {
        let key = self.public_key();
        BlsSignature::from_raw(self.0.sign(&key.bytes, POP_DST, &[]))
    }
}

impl BlsPublicKey {
    /// The compressed encoding.
    pub fn as_bytes(&self) -> &[u8; BLS_PUBLIC_KEY_LEN] {
        &self.bytes
    }

    /// Decodes and checks a compressed key.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let point = RawKey::key_validate(bytes).ok()?;
        Some(Self {
            bytes: point.compress(),
            point,
        })
    }

    /// Checks a signature of `msg` under `namespace`.
    pub fn verify(&self, namespace: &[u8], msg: &[u8], sig: &BlsSignature) -> Result<(), BlsError> {
        let msg = namespaced(namespace, msg);
        check(
            sig.point
                .verify(false, &msg, SIGNATURE_DST, &[], &self.point, false),
        )
    }

    /// Checks a proof of possession of this key.
    pub fn verify_possession(&self, pop: &BlsSignature) -> Result<(), BlsError> {
        check(
            pop.point
                .verify(false, &self.bytes, POP_DST, &[], &self.point, false),
        )
    }
}

impl BlsSignature {
    fn from_raw(point: RawSignature) -> Self {
        Self {
            bytes: point.compress(),
            point,
        }
    }

    /// The compressed encoding.
    pub fn as_bytes(&self) -> &[u8; BLS_SIGNATURE_LEN] {
        &self.bytes
    }

    /// Decodes and checks a compressed signature.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        RawSignature::sig_validate(bytes, true)
            .ok()
            .map(Self::from_raw)
    }

    /// The aggregate of `sigs` (their sum in G2).
    pub fn aggregate<'a>(
        sigs: impl IntoIterator<Item = &'a BlsSignature>,
    ) -> Result<Self, BlsError> {
        let refs: Vec<&RawSignature> = sigs.into_iter().map(|s| &s.point).collect();
        // Inputs are already subgroup-checked.
        let agg = AggregateSignature::aggregate(&refs, false).map_err(|_| BlsError::Empty)?;
        Ok(Self::from_raw(agg.to_signature()))
    }

    /// Checks this aggregate against each `(key, message)` pair, all signed
    /// under `namespace`. Sound for repeated messages too, as every key
    /// came with a proof of possession.
    pub fn verify_aggregate(
        &self,
        namespace: &[u8],
        signers: &[(&BlsPublicKey, &[u8])],
    ) -> Result<(), BlsError> {
        if signers.is_empty() {
            return Err(BlsError::Empty);
        }
        let msgs: Vec<Vec<u8>> = signers
            .iter()
            .map(|(_, m)| namespaced(namespace, m))
            .collect();
        let msg_refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let keys: Vec<&RawKey> = signers.iter().map(|(k, _)| &k.point).collect();
        check(
            self.point
                .aggregate_verify(false, &msg_refs, SIGNATURE_DST, &keys, false),
        )
    }
}

fn check(e: BLST_ERROR) -> Result<(), BlsError> {
    if e == BLST_ERROR::BLST_SUCCESS {
        Ok(())
    } else {
        Err(BlsError::Invalid)
    }
}

macro_rules! point_traits {
    ($t:ident, $len:expr, $name:literal) => {
        impl PartialEq for $t {
            fn eq(&self, other: &Self) -> bool {
                self.bytes == other.bytes
            }
        }
        impl Eq for $t {}
        impl std::hash::Hash for $t {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.bytes.hash(state)
            }
        }
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(
                    f,
                    concat!($name, "({})"),
                    crate::codec::to_hex(&self.bytes[..8])
                )
            }
        }
        impl Write for $t {
            fn write(&self, buf: &mut impl BufMut) {
                buf.put_slice(&self.bytes);
            }
        }
        impl FixedSize for $t {
            const SIZE: usize = $len;
        }
        impl Read for $t {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                if buf.remaining() < $len {
                    return Err(CodecError::EndOfBuffer);
                }
                let mut bytes = [0u8; $len];
                buf.copy_to_slice(&mut bytes);
                $t::from_bytes(&bytes)
                    .ok_or(CodecError::Invalid($name, "not a valid group element"))
            }
        }
    };
}

point_traits!(BlsPublicKey, BLS_PUBLIC_KEY_LEN, "BlsPublicKey");
point_traits!(BlsSignature, BLS_SIGNATURE_LEN, "BlsSignature");

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt as _, Encode as _};

    fn key(i: u8) -> BlsPrivateKey {
        BlsPrivateKey::from_seed(&[i; 32])
    }

    #[test]
    fn signatures_verify_and_bind_namespace_message_and_key() {
        let k = key(1);
        let sig = k.sign(b"ns", b"hello");
        assert_eq!(k.public_key().verify(b"ns", b"hello", &sig), Ok(()));
        assert!(k.public_key().verify(b"ns2", b"hello", &sig).is_err());
        assert!(k.public_key().verify(b"ns", b"hellO", &sig).is_err());
        assert!(key(2).public_key().verify(b"ns", b"hello", &sig).is_err());
    }

    #[test]
    fn aggregates_verify_only_with_every_pair_right() {
        let keys: Vec<_> = (1..=5).map(key).collect();
        let msgs: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 3]).collect();
        let sigs: Vec<_> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| k.sign(b"ns", m))
            .collect();
        let agg = BlsSignature::aggregate(&sigs).unwrap();
        let pks: Vec<_> = keys.iter().map(BlsPrivateKey::public_key).collect();
        let pairs: Vec<(&BlsPublicKey, &[u8])> = pks
            .iter()
            .zip(&msgs)
            .map(|(k, m)| (k, m.as_slice()))
            .collect();
        assert_eq!(agg.verify_aggregate(b"ns", &pairs), Ok(()));
        // One message changed, two keys swapped, one pair dropped: all fail.
        let mut changed = pairs.clone();
        changed[2].1 = b"xyz";
        assert!(agg.verify_aggregate(b"ns", &changed).is_err());
        let mut swapped = pairs.clone();
        swapped.swap(0, 1);
        swapped[0].1 = pairs[0].1;
        swapped[1].1 = pairs[1].1;
        assert!(agg.verify_aggregate(b"ns", &swapped).is_err());
        assert!(agg.verify_aggregate(b"ns", &pairs[..4]).is_err());
        assert_eq!(agg.verify_aggregate(b"ns", &[]), Err(BlsError::Empty));
        assert_eq!(BlsSignature::aggregate([]), Err(BlsError::Empty));
    }

    #[test]
    fn proofs_of_possession_are_not_message_signatures() {
        let k = key(3);
        let pk = k.public_key();
        let pop = k.proof_of_possession();
        assert_eq!(pk.verify_possession(&pop), Ok(()));
        assert!(key(4).public_key().verify_possession(&pop).is_err());
        // A message signature over the key bytes is not a PoP (other tag).
        let forged = k.sign(b"", pk.as_bytes());
        assert!(pk.verify_possession(&forged).is_err());
    }

    #[test]
    fn decoding_rejects_what_is_not_a_group_element() {
        let k = key(5);
        let pk = k.public_key();
        let sig = k.sign(b"ns", b"m");
        assert_eq!(BlsPublicKey::decode(pk.encode()).unwrap(), pk);
        assert_eq!(BlsSignature::decode(sig.encode()).unwrap(), sig);
        // Garbage, the point at infinity, and short input are refused.
        assert!(BlsPublicKey::decode(commonware_codec::Copying(&[0x11u8; 48][..])).is_err());
        let mut inf = [0u8; 48];
        inf[0] = 0xc0;
        assert!(BlsPublicKey::decode(commonware_codec::Copying(&inf[..])).is_err());
        let mut inf_sig = [0u8; 96];
        inf_sig[0] = 0xc0;
        assert!(BlsSignature::decode(commonware_codec::Copying(&inf_sig[..])).is_err());
        assert!(BlsSignature::decode(sig.encode().slice(..95)).is_err());
    }
}
