//! The block as consensus sees it: an L1 block whose header carries the
//! consensus context, so the block hash (the header hash) is the digest
//! simplex votes on and commits to the round, leader and parent view.

use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{EncodeSize, Error as CodecError, Read, Write};
use commonware_consensus::{
    Block as ConsensusBlock, BoundedBlock, CertifiableBlock, Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::Digestible;
use std::sync::Arc;
use terrace_l1::block::{Block as L1Block, BlockLimits, ConsensusRound, Header};
use terrace_primitives::{Hash, PublicKey};

/// The consensus context of a block: round, leader, parent (view, digest).
pub type BlockContext = Context<Hash, PublicKey>;

/// Upper bound of an encoded header: fixed fields plus maximal varints.
const HEADER_MAX_BYTES: usize = 1 + 10 + 10 + 32 + 10 + 3 * 10 + 32 + 4 * 32 + 2 * 10 + 10 + 10;

/// An L1 block with its hash computed once.
///
/// Cloning is cheap: the transactions are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    inner: Arc<L1Block>,
    digest: Hash,
}

impl Block {
    /// Wraps an L1 block.
    pub fn new(block: L1Block) -> Self {
        let digest = block.header.hash();
        Self {
            inner: Arc::new(block),
            digest,
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.inner.header
    }

    /// The L1 block.
    pub fn l1(&self) -> &L1Block {
        &self.inner
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.digest
    }
}

/// The consensus round a context names, as the header stores it.
pub fn round_of(context: &BlockContext) -> ConsensusRound {
    ConsensusRound {
        epoch: context.round.epoch().get(),
        view: context.round.view().get(),
        parent_view: context.parent.0.get(),
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.inner.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.inner.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockLimits;
    fn read_cfg(buf: &mut impl Buf, limits: &BlockLimits) -> Result<Self, CodecError> {
        Ok(Self::new(L1Block::read_cfg(buf, limits)?))
    }
}

impl Digestible for Block {
    type Digest = Hash;
    fn digest(&self) -> Hash {
        self.digest
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.inner.header.height)
    }
}

impl ConsensusBlock for Block {
    fn parent(&self) -> Hash {
        self.inner.header.parent
    }
}

impl CertifiableBlock for Block {
    type Context = BlockContext;
    fn context(&self) -> BlockContext {
        let h = &self.inner.header;
        Context {
            round: Round::new(Epoch::new(h.round.epoch), View::new(h.round.view)),
            leader: h.proposer.clone(),
            parent: (View::new(h.round.parent_view), h.parent),
        }
    }
}

impl BoundedBlock for Block {
    fn max_encode_size(limits: &BlockLimits) -> usize {
        // Header, the transaction count, and each transaction with its
        // length prefix, within the block's byte budget.
        HEADER_MAX_BYTES
            .saturating_add(5)
            .saturating_add(limits.txs_max.saturating_mul(5))
            .saturating_add(limits.block_bytes_max)
    }
}
