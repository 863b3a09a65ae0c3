//! Ed25519 keys and signatures, single and batch verification.
//!
//! The types are commonware's (`commonware_cryptography::ed25519`), so the
//! key that signs an L1 transaction is the same key a validator signs
//! consensus votes with, and equivocation evidence names the same identity
//! the staking state does.
//!
//! # Verification rules
//!
//! Signatures verify under ZIP-215 (commonware's rules): `S` must be
//! canonical (`S < ℓ`, so a third party cannot re-encode a signature) and the
//! cofactored equation `[8]([S]B − R − [k]A) = 0` must hold. ZIP-215 is the
//! only Ed25519 rule set under which **batch verification agrees exactly
//! with single verification**, which a consensus-critical check needs: every
//! node must reach the same verdict whatever batch a signature lands in.
//!
//! On top of ZIP-215 we are strict about public keys, because an account key
//! is also an address: a key must be canonically encoded and must not be a
//! small-order point ([`check_public_key`]). A small-order key would accept
//! `S = 0` for every message — anyone could spend from its address.

use crate::hash::hash_tagged;
use crate::par::{Threads, map_chunks_beside};
use commonware_codec::{DecodeExt as _, Encode as _, FixedSize as _};
use commonware_cryptography::{BatchEntry, BatchVerifier as _};
use commonware_parallel::Sequential;
use rand_core::SeedableRng as _;
use std::sync::LazyLock;

pub use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
pub use commonware_cryptography::{Signer, Verifier};

/// Length of an encoded public key.
pub const PUBLIC_KEY_LEN: usize = PublicKey::SIZE;
/// Length of an encoded signature.
pub const SIGNATURE_LEN: usize = Signature::SIZE;

/// Why a public key or signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key's y-coordinate is not reduced modulo p.
    #[error("public key is not canonically encoded")]
    NonCanonicalKey,
    /// The public key is a small-order point: it would accept forged signatures.
    #[error("public key is a small-order point and cannot own an account")]
    SmallOrderKey,
    /// The signature does not verify for this key and message.
    #[error("signature does not verify for this key and message")]
    Invalid,
}

/// A signature that failed inside a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature {index} of the batch is invalid: {error}")]
pub struct BatchError {
    /// Position in the batch of the first invalid signature.
    pub index: usize,
    /// What was wrong with it.
    pub error: SignatureError,
}

/// The y-coordinates (sign bit cleared) of the eight small-order points.
static SMALL_ORDER_Y: LazyLock<Vec<[u8; 32]>> = LazyLock::new(|| {
    curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|p| {
            let mut y = p.compress().to_bytes();
            y[31] &= 0x7f;
            y
        })
        .collect()
});

/// True when the 255-bit little-endian `y` (sign bit cleared) is ≥ p = 2^255 − 19.
fn y_not_reduced(y: &[u8; 32]) -> bool {
    y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed
}

/// Checks a public key is canonically encoded and not of small order.
///
/// Costs a few comparisons: the small-order points are known, so no point
/// decompression is needed. Together with the canonical-y check this also
/// refuses the non-canonical aliases of small-order points.
pub fn check_public_key(key: &PublicKey) -> Result<(), SignatureError> {
    let mut y = [0u8; 32];
    y.copy_from_slice(key.as_ref());
    y[31] &= 0x7f;
    if y_not_reduced(&y) {
        return Err(SignatureError::NonCanonicalKey);
    }
    if SMALL_ORDER_Y.contains(&y) {
        return Err(SignatureError::SmallOrderKey);
    }
    Ok(())
}

/// Decoded public keys by their 32-byte encoding.
///
/// Decoding an ed25519 key decompresses a curve point (~6 µs), as much as a
/// third of a batched signature check. Active accounts send again and
/// again, so a node keeps their decoded keys. Bounded: when full, the cache
/// is emptied and refills with whoever is active. Only looked up, never
/// iterated, so its order cannot leak into results.
#[derive(Debug)]
pub struct KeyCache {
    map: std::sync::RwLock<std::collections::HashMap<[u8; 32], PublicKey>>,
    capacity: usize,
}

impl KeyCache {
    /// A cache of at most `capacity` keys (about 200 bytes each).
    pub fn new(capacity: usize) -> Self {
        Self {
            map: std::sync::RwLock::new(std::collections::HashMap::new()),
            capacity,
        }
    }

    /// Decodes `raw` as a public key, from the cache when it is there.
    pub fn decode(&self, raw: &[u8; 32]) -> Result<PublicKey, commonware_codec::Error> {
        if let Ok(map) = self.map.read()
            && let Some(key) = map.get(raw)
        {
            return Ok(key.clone());
        }
        let key = PublicKey::decode(commonware_codec::Copying(&raw[..]))?;
        if let Ok(mut map) = self.map.write() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(*raw, key.clone());
        }
        Ok(key)
    }

    /// Number of cached keys.
    pub fn len(&self) -> usize {
        self.map.read().map_or(0, |m| m.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for KeyCache {
    /// Room for 100,000 keys (about 20 MiB).
    fn default() -> Self {
        Self::new(100_000)
    }
}

/// Derives a private key from a 32-byte seed (RFC 8032 secret key).
pub fn private_key_from_seed(seed: [u8; 32]) -> PrivateKey {
    // A 32-byte array always decodes: every 32-byte string is an RFC 8032 seed.
    PrivateKey::decode(commonware_codec::Copying(&seed[..]))
        .unwrap_or_else(|_| unreachable!("32-byte ed25519 seed"))
}

/// The 32-byte seed of a private key, for keystores.
pub fn private_key_seed(key: &PrivateKey) -> zeroize_bytes::Seed {
    let bytes = key.encode();
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&bytes);
    zeroize_bytes::Seed(seed)
}

/// Seed bytes that are wiped on drop.
pub mod zeroize_bytes {
    /// A private key seed; overwritten with zeros when dropped.
    pub struct Seed(pub [u8; 32]);

    impl Drop for Seed {
        fn drop(&mut self) {
            // A volatile-free wipe is enough here: the seed is not read after drop.
            self.0 = [0u8; 32];
        }
    }

    impl std::fmt::Debug for Seed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Seed(<redacted>)")
        }
    }
}

/// Signs `msg` under `namespace`.
pub fn sign(key: &PrivateKey, namespace: &[u8], msg: &[u8]) -> Signature {
    key.sign(namespace, msg)
}

/// Verifies one signature under the rules in the module doc.
pub fn verify(
    key: &PublicKey,
    namespace: &[u8],
    msg: &[u8],
    sig: &Signature,
) -> Result<(), SignatureError> {
    check_public_key(key)?;
    if key.verify(namespace, msg, sig) {
        Ok(())
    } else {
        Err(SignatureError::Invalid)
    }
}

/// One item of a batch: the key, the message and the signature over it.
pub type BatchItem<'a> = (&'a PublicKey, &'a [u8], &'a Signature);

/// Verifies many signatures under one namespace at once, on `threads`.
///
/// The verdict equals verifying each item alone (ZIP-215), so it is safe for
/// consensus. Each thread checks a contiguous chunk as one batch equation
/// whose random coefficients come from a ChaCha stream seeded with a hash
/// of that chunk: unpredictable to whoever built the batch (they would have
/// to find a hash preimage), yet the same on every node, so no OS randomness
/// enters the state transition. On failure the chunk's items are checked one
/// by one to name the first invalid one.
pub fn verify_batch<'a, T, F>(
    namespace: &'a [u8],
    items: &'a [T],
    project: F,
    threads: Threads,
) -> Result<(), BatchError>
where
    T: Sync,
    F: Fn(&'a T) -> BatchItem<'a> + Sync,
{
    verify_batch_beside(namespace, items, project, threads, || ()).1
}

/// As [`verify_batch`], while the caller's thread runs `side` first (for
/// example, executing the block whose signatures these are) and then helps.
pub fn verify_batch_beside<'a, T, F, A>(
    namespace: &'a [u8],
    items: &'a [T],
    project: F,
    threads: Threads,
    side: impl FnOnce() -> A,
) -> (A, Result<(), BatchError>)
where
    T: Sync,
    F: Fn(&'a T) -> BatchItem<'a> + Sync,
{
    // Batch equations get cheaper per signature as they grow; below a few
    // hundred the gain is small, so chunks stay at least this long.
    const MIN_CHUNK: usize = 256;
    let (side_result, verdicts) = map_chunks_beside(
        items,
        threads,
        MIN_CHUNK,
        |offset, chunk| verify_chunk(namespace, chunk, &project, offset),
        side,
    );
    (side_result, verdicts.into_iter().collect())
}

fn verify_chunk<'a, T, F>(
    namespace: &'a [u8],
    items: &'a [T],
    project: &F,
    offset: usize,
) -> Result<(), BatchError>
where
    T: Sync,
    F: Fn(&'a T) -> BatchItem<'a> + Sync,
{
    use commonware_cryptography::Hasher as _;
    if items.is_empty() {
        return Ok(());
    }
    let mut transcript = commonware_cryptography::Sha256::default();
    for (i, item) in items.iter().enumerate() {
        let (key, msg, sig) = project(item);
        check_public_key(key).map_err(|error| BatchError {
            index: offset + i,
            error,
        })?;
        transcript.update(key.as_ref());
        transcript.update(sig.as_ref());
        transcript.update(&(msg.len() as u64).to_le_bytes());
        transcript.update(msg);
    }
    let digest = transcript.finalize().1;
    let seed = hash_tagged(b"terrace/batch-verify/v1", &[namespace, digest.as_ref()]);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(seed.0);
    let ok = PublicKey::verify_batch(
        &mut rng,
        items,
        |_, item| {
            let (public_key, message, signature) = project(item);
            BatchEntry {
                namespace,
                message,
                public_key,
                signature,
            }
        },
        &Sequential,
    );
    if ok {
        return Ok(());
    }
    for (i, item) in items.iter().enumerate() {
        let (key, msg, sig) = project(item);
        verify(key, namespace, msg, sig).map_err(|error| BatchError {
            index: offset + i,
            error,
        })?;
    }
    // ZIP-215 batch and single verification agree; a failed batch whose items
    // all verify alone happens with probability ~2^-128. Refuse rather than
    // accept: refusing is always safe.
    Err(BatchError {
        index: offset,
        error: SignatureError::Invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &[u8] = b"test";

    fn key(i: u8) -> PrivateKey {
        private_key_from_seed([i; 32])
    }

    #[test]
    fn the_key_cache_decodes_like_the_codec_and_stays_bounded() {
        let cache = KeyCache::new(2);
        for i in 0..5u8 {
            let pk = key(i).public_key();
            let raw: [u8; 32] = pk.as_ref().try_into().unwrap();
            assert_eq!(cache.decode(&raw).unwrap(), pk);
            assert_eq!(cache.decode(&raw).unwrap(), pk);
            assert!(cache.len() <= 2);
        }
        // Bytes that are not a point are refused, and not cached.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        assert_eq!(
            cache.decode(&bad).is_err(),
            PublicKey::decode(commonware_codec::Copying(&bad[..])).is_err()
        );
    }

    #[test]
    fn signs_and_verifies() {
        let k = key(1);
        let sig = sign(&k, NS, b"hello");
        assert_eq!(verify(&k.public_key(), NS, b"hello", &sig), Ok(()));
        assert_eq!(
            verify(&k.public_key(), NS, b"hellp", &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&k.public_key(), b"other", b"hello", &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&key(2).public_key(), NS, b"hello", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn seed_roundtrips() {
        let k = key(9);
        assert_eq!(
            private_key_from_seed(private_key_seed(&k).0).public_key(),
            k.public_key()
        );
    }

    #[test]
    fn rfc8032_test_vector_1() {
        // RFC 8032 §7.1 TEST 1: empty message. Our namespace wrapping changes
        // the signed bytes, so check the public key derivation only.
        let seed = crate::codec::from_hex(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let k = private_key_from_seed(seed.try_into().unwrap());
        assert_eq!(
            crate::codec::to_hex(k.public_key().as_ref()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
    }

    #[test]
    fn small_order_keys_are_refused() {
        for p in curve25519_dalek::constants::EIGHT_TORSION.iter() {
            let enc = p.compress().to_bytes();
            // Canonical encoding, and the same y with the other sign bit.
            for bytes in [enc, {
                let mut b = enc;
                b[31] ^= 0x80;
                b
            }] {
                if let Ok(pk) = PublicKey::decode(commonware_codec::Copying(&bytes[..])) {
                    assert!(
                        check_public_key(&pk).is_err(),
                        "accepted small-order key {bytes:?}"
                    );
                }
            }
        }
        // Non-canonical y = p + 1 (an alias of the identity).
        let mut alias = [0xffu8; 32];
        alias[0] = 0xee;
        alias[31] = 0x7f;
        if let Ok(pk) = PublicKey::decode(commonware_codec::Copying(&alias[..])) {
            assert_eq!(check_public_key(&pk), Err(SignatureError::NonCanonicalKey));
        }
        assert_eq!(check_public_key(&key(3).public_key()), Ok(()));
    }

    #[test]
    fn batch_agrees_with_single_verification() {
        let keys: Vec<PrivateKey> = (0..16).map(key).collect();
        let msgs: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 40]).collect();
        let mut items: Vec<(PublicKey, Vec<u8>, Signature)> = keys
            .iter()
            .zip(&msgs)
            .map(|(k, m)| (k.public_key(), m.clone(), sign(k, NS, m)))
            .collect();
        fn project(it: &(PublicKey, Vec<u8>, Signature)) -> BatchItem<'_> {
            (&it.0, it.1.as_slice(), &it.2)
        }
        assert_eq!(verify_batch(NS, &items, project, Threads::new(2)), Ok(()));
        // Swap two signatures: both invalid; the first is reported.
        let s5 = items[5].2.clone();
        items[5].2 = items[9].2.clone();
        items[9].2 = s5;
        assert_eq!(
            verify_batch(NS, &items, project, Threads::new(2)),
            Err(BatchError {
                index: 5,
                error: SignatureError::Invalid
            })
        );
        assert_eq!(
            verify_batch::<(PublicKey, Vec<u8>, Signature), _>(NS, &[], project, Threads::ONE),
            Ok(())
        );
    }
}
