//! Terrace Merkle trees: binary trees with inclusion proofs over lists, and
//! fixed-depth trees over numbered slots ([`indexed`]), generic over the
//! hash (no I/O).
//!
//! Used for a block's transactions and receipts now, and for withdrawals and
//! batch contents later. The hash is a type parameter ([`MerkleHasher`]) so
//! the zk-rollup can plug in a circuit-friendly hash.
//!
//! # Tree shape
//!
//! Leaves are hashed with a leaf tag, inner nodes with a node tag, so a leaf
//! can never pass for an inner node. Each level pairs nodes left to right; an
//! odd node at the end of a level is promoted unchanged (never duplicated —
//! duplication lets two different lists share a root, the Bitcoin
//! CVE-2012-2459 bug). The published root also commits to the number of
//! leaves, so a proof binds both the leaf's position and the list's length.

pub mod indexed;

pub use indexed::{IndexedProof, IndexedTree, SlotError};

use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use std::fmt::Debug;
use terrace_primitives::{Hash, hash};

/// The most levels a proof may have: lists hold fewer than 2^64 items.
pub const MAX_PROOF_DEPTH: usize = 64;

/// The hash a tree is built with.
pub trait MerkleHasher {
    /// A node digest.
    type Digest: Copy + Eq + Debug;
    /// Hashes a leaf's bytes.
    fn hash_leaf(data: &[u8]) -> Self::Digest;
    /// Hashes two children.
    fn hash_node(left: &Self::Digest, right: &Self::Digest) -> Self::Digest;
    /// The published root: the top node (if any) bound to the leaf count.
    fn hash_root(leaf_count: u64, top: Option<&Self::Digest>) -> Self::Digest;
}

/// SHA-256 with one-byte domain prefixes (as RFC 6962): `0x00` for
/// leaves, `0x01` for inner nodes, `0x02` for the root. One byte keeps a
/// short leaf inside a single SHA-256 block; the hash of every L1 list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha256Hasher;

impl MerkleHasher for Sha256Hasher {
    type Digest = Hash;

    fn hash_leaf(data: &[u8]) -> Hash {
        hash(&[&[0x00], data])
    }

    fn hash_node(left: &Hash, right: &Hash) -> Hash {
        hash(&[&[0x01], left.as_ref(), right.as_ref()])
    }

    fn hash_root(leaf_count: u64, top: Option<&Hash>) -> Hash {
        let count = leaf_count.to_le_bytes();
        match top {
            Some(top) => hash(&[&[0x02], &count, top.as_ref()]),
            None => hash(&[&[0x02], &count]),
        }
    }
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not inside the list.
    #[error("leaf index {index} is outside a list of {leaf_count}")]
    IndexOutOfRange {
        /// Claimed index.
        index: u64,
        /// Claimed list length.
        leaf_count: u64,
    },
    /// The path has the wrong number of siblings for this index and count.
    #[error("proof path has {got} siblings, expected {expected}")]
    PathLength {
        /// Expected number of siblings.
        expected: usize,
        /// Number given.
        got: usize,
    },
    /// The recomputed root differs.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

/// A full tree over a list, kept level by level so proofs are cheap.
#[derive(Debug, Clone)]
pub struct MerkleTree<H: MerkleHasher> {
    /// `levels[0]` are the leaf hashes; the last level has one node (or none).
    levels: Vec<Vec<H::Digest>>,
    root: H::Digest,
}

impl<H: MerkleHasher> MerkleTree<H> {
    /// Builds the tree over `leaves`.
    pub fn new<L: AsRef<[u8]>>(leaves: &[L]) -> Self {
        Self::from_leaf_hashes(leaves.iter().map(|l| H::hash_leaf(l.as_ref())).collect())
    }

    /// Builds the tree over leaves already hashed, with
    /// [`MerkleHasher::hash_leaf`] or any hash whose preimages can never be
    /// inner-node preimages (a differently tagged hash).
    pub fn from_leaf_hashes(leaf_hashes: Vec<H::Digest>) -> Self {
        let leaf_count = leaf_hashes.len() as u64;
        let mut levels = vec![leaf_hashes];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or_default();
            let next: Vec<H::Digest> = prev
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => H::hash_node(l, r),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(next);
        }
        let top = levels.last().and_then(|l| l.first());
        let root = H::hash_root(leaf_count, top);
        Self { levels, root }
    }

    /// The published root.
    pub fn root(&self) -> H::Digest {
        self.root
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// The inclusion proof of leaf `index`, or `None` past the end.
    pub fn proof(&self, index: u64) -> Option<Proof<H::Digest>> {
        let leaf_count = self.leaf_count();
        if index >= leaf_count {
            return None;
        }
        let mut path = Vec::new();
        let mut i = index as usize;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                path.push(level[sibling]);
            }
            i /= 2;
        }
        Some(Proof {
            index,
            leaf_count,
            path,
        })
    }
}

/// The root of a list, without keeping the tree.
pub fn root<H: MerkleHasher, L: AsRef<[u8]>>(leaves: &[L]) -> H::Digest {
    MerkleTree::<H>::new(leaves).root()
}

/// An inclusion proof: the leaf's position, the list length and the
/// siblings from the leaf up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof<D> {
    /// Position of the leaf in the list.
    pub index: u64,
    /// Length of the list.
    pub leaf_count: u64,
    /// Sibling digests, leaf level first; promoted levels have none.
    pub path: Vec<D>,
}

impl<D: Copy + Eq + Debug> Proof<D> {
    /// Checks that `leaf` is at `self.index` of a `self.leaf_count`-long list with root `root`.
    pub fn verify<H: MerkleHasher<Digest = D>>(
        &self,
        root: &D,
        leaf: &[u8],
    ) -> Result<(), ProofError> {
        self.verify_hashed::<H>(root, H::hash_leaf(leaf))
    }

    /// As [`Proof::verify`], for a leaf already hashed.
    pub fn verify_hashed<H: MerkleHasher<Digest = D>>(
        &self,
        root: &D,
        leaf_hash: D,
    ) -> Result<(), ProofError> {
        let (index, leaf_count) = (self.index, self.leaf_count);
        if index >= leaf_count {
            return Err(ProofError::IndexOutOfRange { index, leaf_count });
        }
        let expected = expected_path_len(index, leaf_count);
        if self.path.len() != expected {
            return Err(ProofError::PathLength {
                expected,
                got: self.path.len(),
            });
        }
        let mut node = leaf_hash;
        let mut siblings = self.path.iter();
        let (mut i, mut width) = (index, leaf_count);
        while width > 1 {
            let is_promoted = i == width - 1 && width % 2 == 1;
            if !is_promoted {
                let Some(sibling) = siblings.next() else {
                    return Err(ProofError::PathLength {
                        expected,
                        got: self.path.len(),
                    });
                };
                node = if i % 2 == 0 {
                    H::hash_node(&node, sibling)
                } else {
                    H::hash_node(sibling, &node)
                };
            }
            i /= 2;
            width = width.div_ceil(2);
        }
        if H::hash_root(leaf_count, Some(&node)) == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }
}

/// The number of siblings on the path of `index` in a list of `leaf_count`.
fn expected_path_len(index: u64, leaf_count: u64) -> usize {
    let (mut i, mut width, mut len) = (index, leaf_count, 0);
    while width > 1 {
        if !(i == width - 1 && width % 2 == 1) {
            len += 1;
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    len
}

impl<D: Write> Write for Proof<D> {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        UInt(self.index).write(buf);
        UInt(self.leaf_count).write(buf);
        self.path.write(buf);
    }
}

impl<D: Write + EncodeSize> EncodeSize for Proof<D> {
    fn encode_size(&self) -> usize {
        UInt(self.index).encode_size()
            + UInt(self.leaf_count).encode_size()
            + self.path.encode_size()
    }
}

/// Decoding bounds the path at [`MAX_PROOF_DEPTH`] siblings.
impl<D: Read<Cfg = ()> + FixedSize> Read for Proof<D> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let index = UInt::<u64>::read(buf)?.0;
        let leaf_count = UInt::<u64>::read(buf)?.0;
        let path = Vec::<D>::read_cfg(buf, &(RangeCfg::new(0..=MAX_PROOF_DEPTH), ()))?;
        Ok(Self {
            index,
            leaf_count,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Decode as _, Encode as _};
    use proptest::prelude::*;

    type Tree = MerkleTree<Sha256Hasher>;

    fn leaves(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("leaf-{i}").into_bytes()).collect()
    }

    #[test]
    fn empty_and_single_lists_have_distinct_roots() {
        let empty = root::<Sha256Hasher, Vec<u8>>(&[]);
        let one = root::<Sha256Hasher, _>(&leaves(1));
        assert_ne!(empty, one);
        let t = Tree::new(&leaves(1));
        let p = t.proof(0).unwrap();
        assert!(p.path.is_empty());
        assert_eq!(p.verify::<Sha256Hasher>(&t.root(), b"leaf-0"), Ok(()));
        assert!(Tree::new::<Vec<u8>>(&[]).proof(0).is_none());
    }

    #[test]
    fn duplicating_the_last_leaf_changes_the_root() {
        // The CVE-2012-2459 shape: [a, b, c] vs [a, b, c, c].
        let mut l = leaves(3);
        let r3 = root::<Sha256Hasher, _>(&l);
        l.push(l[2].clone());
        assert_ne!(r3, root::<Sha256Hasher, _>(&l));
    }

    #[test]
    fn a_proof_cannot_claim_another_position_with_the_same_siblings() {
        // In [a, b, c], c's path is [H(a, b)]; the same path would also fit
        // "index 1 of 2" if the root did not commit to the count.
        let t = Tree::new(&leaves(3));
        let mut p = t.proof(2).unwrap();
        p.index = 1;
        p.leaf_count = 2;
        assert_eq!(
            p.verify::<Sha256Hasher>(&t.root(), b"leaf-2"),
            Err(ProofError::RootMismatch)
        );
    }

    #[test]
    fn proofs_roundtrip_through_codec() {
        let t = Tree::new(&leaves(37));
        let p = t.proof(20).unwrap();
        let decoded = Proof::<Hash>::decode_cfg(p.encode(), &()).unwrap();
        assert_eq!(decoded, p);
    }

    proptest! {
        #[test]
        fn every_proof_verifies(n in 1usize..300, seed in any::<u64>()) {
            let l = leaves(n);
            let t = Tree::new(&l);
            let i = (seed % n as u64) as usize;
            let p = t.proof(i as u64).unwrap();
            prop_assert_eq!(p.verify::<Sha256Hasher>(&t.root(), &l[i]), Ok(()));
        }

        #[test]
        fn any_alteration_fails(n in 2usize..200, seed in any::<u64>(), which in 0u8..5) {
            let l = leaves(n);
            let t = Tree::new(&l);
            let i = (seed % n as u64) as usize;
            let mut p = t.proof(i as u64).unwrap();
            let mut leaf = l[i].clone();
            let mut root = t.root();
            match which {
                0 => leaf.push(0),
                1 => p.index = (p.index + 1 + seed % (n as u64 - 1)) % n as u64,
                2 => {
                    if p.path.is_empty() { p.path.push(root); } else {
                        let k = (seed as usize) % p.path.len();
                        p.path[k] = Sha256Hasher::hash_leaf(b"forged");
                    }
                }
                3 => root = Sha256Hasher::hash_leaf(b"other root"),
                _ => p.leaf_count += 1 + seed % 3,
            }
            prop_assert!(p.verify::<Sha256Hasher>(&root, &leaf).is_err());
        }
    }
}
