//! SHA-256 hashing with domain separation.
//!
//! SHA-256, not BLAKE3: commonware's consensus digests are SHA-256, the CPU
//! has SHA-NI, and at our message sizes (≤ a few hundred bytes per transaction)
//! the hash costs well under 1 % of a signature verification, so nothing is
//! gained by a second hash function.

use commonware_cryptography::Hasher as _;

/// A 32-byte SHA-256 digest. Commonware's own digest type, so block and
/// transaction ids are consensus digests without conversion.
pub type Hash = commonware_cryptography::sha256::Digest;

/// Hashes the concatenation of `parts`.
pub fn hash(parts: &[&[u8]]) -> Hash {
    commonware_cryptography::Sha256::hash(parts)
}

/// Hashes `parts` under a domain tag, so that a digest of one kind of object
/// can never be mistaken for a digest of another. The tag is length-prefixed.
pub fn hash_tagged(tag: &[u8], parts: &[&[u8]]) -> Hash {
    let mut hasher = commonware_cryptography::Sha256::default();
    // Tags are short constants; a one-byte length prefix keeps them unambiguous.
    debug_assert!(tag.len() < 256);
    hasher.update(&[tag.len() as u8]);
    hasher.update(tag);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        // SHA-256("abc") from FIPS 180-2.
        let h = hash(&[b"abc"]);
        assert_eq!(
            crate::codec::to_hex(h.as_ref()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash(&[b"a", b"bc"]), h);
    }

    #[test]
    fn tags_separate_domains() {
        assert_ne!(hash_tagged(b"a", &[b"bc"]), hash_tagged(b"ab", &[b"c"]));
        assert_ne!(hash_tagged(b"x", &[b"abc"]), hash(&[b"abc"]));
    }
}
