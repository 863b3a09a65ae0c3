//! A fixed-depth Merkle tree over numbered slots: the L2 account and
//! withdrawal trees.
//!
//! Slot `i` of a depth-`d` tree is leaf `i` of a complete binary tree of
//! 2^d leaves; a slot never written holds the *empty leaf*
//! (`hash_leaf(b"")`; real leaf encodings are never empty). Slots are
//! filled from 0 upwards (accounts and withdrawals are numbered in order),
//! so the tree keeps only the filled prefix and stands in for the empty
//! rest with precomputed empty-subtree hashes.
//!
//! A proof is the `d` siblings of a slot, whether the slot is filled or
//! empty, so the same proof shows an account's balance or that a slot is
//! still free. [`IndexedProof::path`] and [`IndexedProof::absorb`] let a
//! verifier holding proofs of several slots update one slot and keep the
//! other proofs valid: what a one-step fraud proof needs when a transfer
//! touches two accounts.

use crate::{MerkleHasher, ProofError};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};

/// The deepest tree supported: slot numbers are `u64`.
pub const INDEXED_DEPTH_MAX: u8 = 64;

/// Why a slot could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// Slots fill from 0 up: a write may update a filled slot or fill the
    /// next one, never leave a gap.
    #[error("slot {index} is past the next free slot {next}")]
    Gap {
        /// Slot written.
        index: u64,
        /// First free slot.
        next: u64,
    },
    /// The tree has no slot with this number.
    #[error("slot {index} is outside a tree of depth {depth}")]
    OutOfRange {
        /// Slot written.
        index: u64,
        /// Tree depth.
        depth: u8,
    },
}

/// The hashes of empty subtrees: `zeros[h]` is an empty subtree of height `h`.
fn empty_subtrees<H: MerkleHasher>(depth: u8) -> Vec<H::Digest> {
    let mut zeros = Vec::with_capacity(depth as usize + 1);
    zeros.push(H::hash_leaf(b""));
    for h in 0..depth as usize {
        let z = zeros[h];
        zeros.push(H::hash_node(&z, &z));
    }
    zeros
}

/// The number of slots a depth-`depth` tree has, or `None` for 2^64.
fn capacity(depth: u8) -> Option<u64> {
    1u64.checked_shl(depth as u32)
}

/// A fixed-depth tree whose slots fill from 0 up.
#[derive(Debug, Clone)]
pub struct IndexedTree<H: MerkleHasher> {
    depth: u8,
    /// `levels[h]` holds the nodes of height `h` that cover a filled slot.
    levels: Vec<Vec<H::Digest>>,
    zeros: Vec<H::Digest>,
}

impl<H: MerkleHasher> IndexedTree<H> {
    /// An empty tree of `depth` levels (at most [`INDEXED_DEPTH_MAX`]).
    pub fn new(depth: u8) -> Self {
        let depth = depth.min(INDEXED_DEPTH_MAX);
        Self {
            depth,
            levels: vec![Vec::new(); depth as usize + 1],
            zeros: empty_subtrees::<H>(depth),
        }
    }

    /// The root of an empty tree of `depth` levels.
    pub fn empty_root(depth: u8) -> H::Digest {
        let depth = depth.min(INDEXED_DEPTH_MAX);
        empty_subtrees::<H>(depth)[depth as usize]
    }

    /// The tree's depth.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Number of filled slots (the first free slot).
    pub fn len(&self) -> u64 {
        self.levels[0].len() as u64
    }

    /// True when no slot is filled.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root.
    pub fn root(&self) -> H::Digest {
        let top = self.depth as usize;
        self.levels[top].first().copied().unwrap_or(self.zeros[top])
    }

    /// The leaf hash in slot `index` (the empty leaf when unfilled).
    pub fn leaf(&self, index: u64) -> H::Digest {
        self.node(0, index)
    }

    fn node(&self, height: usize, index: u64) -> H::Digest {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels[height].get(i))
            .copied()
            .unwrap_or(self.zeros[height])
    }

    /// Writes `leaf_hash` into slot `index`, which must be filled already or
    /// be the first free slot.
    pub fn set(&mut self, index: u64, leaf_hash: H::Digest) -> Result<(), SlotError> {
        if capacity(self.depth).is_some_and(|c| index >= c) {
            return Err(SlotError::OutOfRange {
                index,
                depth: self.depth,
            });
        }
        let next = self.len();
        if index > next {
            return Err(SlotError::Gap { index, next });
        }
        let mut i = index as usize;
        let mut node = leaf_hash;
        for h in 0..=self.depth as usize {
            let level = &mut self.levels[h];
            if i == level.len() {
                level.push(node);
            } else {
                level[i] = node;
            }
            if h == self.depth as usize {
                break;
            }
            let sibling = self.node(h, (i ^ 1) as u64);
            node = if i.is_multiple_of(2) {
                H::hash_node(&node, &sibling)
            } else {
                H::hash_node(&sibling, &node)
            };
            i /= 2;
        }
        Ok(())
    }

    /// The proof of slot `index`, filled or not; `None` outside the tree.
    pub fn proof(&self, index: u64) -> Option<IndexedProof<H::Digest>> {
        if capacity(self.depth).is_some_and(|c| index >= c) {
            return None;
        }
        let siblings = (0..self.depth as usize)
            .map(|h| self.node(h, (index >> h) ^ 1))
            .collect();
        Some(IndexedProof { index, siblings })
    }
}

/// The siblings of one slot from the leaf up: proves what the slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedProof<D> {
    /// The slot.
    pub index: u64,
    /// One sibling per level, leaf level first.
    pub siblings: Vec<D>,
}

impl<D: Copy + Eq + std::fmt::Debug> IndexedProof<D> {
    /// The nodes on the slot's path holding `leaf_hash`, from the leaf
    /// (height 0) to the root (the last element).
    pub fn path<H: MerkleHasher<Digest = D>>(&self, leaf_hash: D) -> Vec<D> {
        let mut path = Vec::with_capacity(self.siblings.len() + 1);
        let mut node = leaf_hash;
        path.push(node);
        for (h, sibling) in self.siblings.iter().enumerate() {
            node = if (self.index >> h) & 1 == 0 {
                H::hash_node(&node, sibling)
            } else {
                H::hash_node(sibling, &node)
            };
            path.push(node);
        }
        path
    }

    /// The root of the tree with `leaf_hash` in this slot.
    pub fn root<H: MerkleHasher<Digest = D>>(&self, leaf_hash: D) -> D {
        let mut path = self.path::<H>(leaf_hash);
        path.pop().unwrap_or(leaf_hash)
    }

    /// Checks that slot `self.index` of the depth-`depth` tree with root
    /// `root` holds `leaf_hash`.
    pub fn verify<H: MerkleHasher<Digest = D>>(
        &self,
        depth: u8,
        root: &D,
        leaf_hash: D,
    ) -> Result<(), ProofError> {
        if self.siblings.len() != depth as usize {
            return Err(ProofError::PathLength {
                expected: depth as usize,
                got: self.siblings.len(),
            });
        }
        if let Some(c) = capacity(depth)
            && self.index >= c
        {
            return Err(ProofError::IndexOutOfRange {
                index: self.index,
                leaf_count: c,
            });
        }
        if self.root::<H>(leaf_hash) == *root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        }
    }

    /// Keeps this proof valid after slot `other` changed and its new path
    /// (from [`IndexedProof::path`]) is `other_path`: the one sibling the two
    /// paths share is replaced. A proof of the same slot is left alone.
    pub fn absorb(&mut self, other: u64, other_path: &[D]) {
        let diff = self.index ^ other;
        if diff == 0 {
            return;
        }
        // The paths join above the highest differing bit; below the join
        // this proof's sibling at that height is the other path's node.
        let h = (63 - diff.leading_zeros()) as usize;
        if let (Some(sibling), Some(node)) = (self.siblings.get_mut(h), other_path.get(h)) {
            *sibling = *node;
        }
    }
}

impl<D: Write> Write for IndexedProof<D> {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        UInt(self.index).write(buf);
        self.siblings.write(buf);
    }
}

impl<D: Write + EncodeSize> EncodeSize for IndexedProof<D> {
    fn encode_size(&self) -> usize {
        UInt(self.index).encode_size() + self.siblings.encode_size()
    }
}

/// Decoding bounds the path at [`INDEXED_DEPTH_MAX`] siblings.
impl<D: Read<Cfg = ()> + FixedSize> Read for IndexedProof<D> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let index = UInt::<u64>::read(buf)?.0;
        let siblings =
            Vec::<D>::read_cfg(buf, &(RangeCfg::new(0..=INDEXED_DEPTH_MAX as usize), ()))?;
        Ok(Self { index, siblings })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sha256Hasher;
    use commonware_codec::{Decode as _, Encode as _};
    use proptest::prelude::*;
    use terrace_primitives::Hash;

    type Tree = IndexedTree<Sha256Hasher>;

    fn leaf(i: u64) -> Hash {
        Sha256Hasher::hash_leaf(format!("leaf-{i}").as_bytes())
    }

    /// The root of a depth-`depth` tree built naively from all 2^depth leaves.
    fn naive_root(depth: u8, leaves: &[Hash]) -> Hash {
        let empty = Sha256Hasher::hash_leaf(b"");
        let mut level: Vec<Hash> = (0..1usize << depth)
            .map(|i| leaves.get(i).copied().unwrap_or(empty))
            .collect();
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|p| Sha256Hasher::hash_node(&p[0], &p[1]))
                .collect();
        }
        level[0]
    }

    #[test]
    fn roots_match_a_naive_full_tree() {
        for n in 0..=16u64 {
            let mut t = Tree::new(4);
            let leaves: Vec<Hash> = (0..n).map(leaf).collect();
            for (i, l) in leaves.iter().enumerate() {
                t.set(i as u64, *l).unwrap();
            }
            assert_eq!(t.root(), naive_root(4, &leaves), "n = {n}");
        }
        assert_eq!(Tree::new(4).root(), Tree::empty_root(4));
    }

    #[test]
    fn writes_may_not_leave_gaps_or_leave_the_tree() {
        let mut t = Tree::new(2);
        assert_eq!(t.set(1, leaf(1)), Err(SlotError::Gap { index: 1, next: 0 }));
        for i in 0..4 {
            t.set(i, leaf(i)).unwrap();
        }
        assert_eq!(
            t.set(4, leaf(4)),
            Err(SlotError::OutOfRange { index: 4, depth: 2 })
        );
        assert!(t.proof(4).is_none());
        // Updating a filled slot is fine.
        t.set(2, leaf(9)).unwrap();
        assert_eq!(t.leaf(2), leaf(9));
    }

    #[test]
    fn empty_slots_have_proofs_too() {
        let mut t = Tree::new(8);
        for i in 0..5 {
            t.set(i, leaf(i)).unwrap();
        }
        let p = t.proof(200).unwrap();
        let empty = Sha256Hasher::hash_leaf(b"");
        assert_eq!(p.verify::<Sha256Hasher>(8, &t.root(), empty), Ok(()));
        assert_eq!(
            p.verify::<Sha256Hasher>(8, &t.root(), leaf(200)),
            Err(ProofError::RootMismatch)
        );
        assert!(matches!(
            p.verify::<Sha256Hasher>(7, &t.root(), empty),
            Err(ProofError::PathLength { .. })
        ));
    }

    #[test]
    fn proofs_roundtrip_through_codec() {
        let mut t = Tree::new(32);
        t.set(0, leaf(0)).unwrap();
        let p = t.proof(0).unwrap();
        let decoded = IndexedProof::<Hash>::decode_cfg(p.encode(), &()).unwrap();
        assert_eq!(decoded, p);
    }

    proptest! {
        #[test]
        fn absorbing_an_update_keeps_other_proofs_valid(
            n in 1u64..40, a in any::<u64>(), b in any::<u64>(), fresh in any::<u64>()
        ) {
            let mut t = Tree::new(6);
            for i in 0..n {
                t.set(i, leaf(i)).unwrap();
            }
            // Two slots, the second possibly the first free one.
            let a = a % n;
            let b = b % (n + 1);
            let (pa, mut pb) = (t.proof(a).unwrap(), t.proof(b).unwrap());
            let new_leaf = leaf(1000 + fresh % 7);
            let path = pa.path::<Sha256Hasher>(new_leaf);
            pb.absorb(a, &path);
            t.set(a, new_leaf).unwrap();
            prop_assert_eq!(*path.last().unwrap(), t.root());
            prop_assert_eq!(pb.verify::<Sha256Hasher>(6, &t.root(), t.leaf(b)), Ok(()));
        }

        #[test]
        fn any_altered_proof_fails(n in 1u64..40, i in any::<u64>(), k in any::<usize>()) {
            let mut t = Tree::new(6);
            for j in 0..n {
                t.set(j, leaf(j)).unwrap();
            }
            let i = i % n;
            let mut p = t.proof(i).unwrap();
            p.siblings[k % 6] = leaf(999);
            prop_assert!(p.verify::<Sha256Hasher>(6, &t.root(), leaf(i)).is_err());
            let mut q = t.proof(i).unwrap();
            q.index = (i + 1) % 64;
            prop_assert!(q.verify::<Sha256Hasher>(6, &t.root(), leaf(i)).is_err());
        }
    }
}
