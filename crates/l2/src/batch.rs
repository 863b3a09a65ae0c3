//! Batches: runs of L2 blocks, compressed and posted to L1 as transaction
//! data.
//!
//! # Format
//!
//! `[BATCH_VERSION][zstd frame of the encoded Batch]`. zstd was chosen over
//! brotli by measuring both on our own batches (`cargo bench -p terrace-l2
//! --features brotli --bench compression`): on 5,000 signed transfers
//! (81.8 B each encoded) zstd -9 posts 75.6 B per transfer and brotli -11
//! 74.7 B — the 64-byte signatures do not compress — while zstd decodes
//! the batch in 0.1 ms against brotli's 3.4–4.3 ms, on every L1 node, for
//! every batch.
//!
//! # Steps and the data commitment
//!
//! A block first consumes the inbox up to `inbox_until`, then runs its
//! transactions. Flattened across blocks, that is the batch's list of
//! **steps**; L1 decodes the batch once, at submission, and records the
//! Merkle root of the encoded steps as the batch's data commitment. A
//! one-step fraud proof later shows its step against that root, so L1
//! never decodes the batch again. An inbox step names only its position:
//! its content is already on L1.
//!
//! # Aggregated transactions
//!
//! A block's transactions are either signed one by one (ed25519, 64 bytes
//! each) or **aggregated**: posted without a signature, from accounts with
//! a BLS key. Each block carries one BLS aggregate per [`AGGREGATE_CHUNK`]
//! of its aggregated transactions, in order: a 96-byte aggregate covers up
//! to 32 of them, so a transfer costs about a tenth of its signed size.
//! The step function does not check aggregated signatures; the batch
//! as a whole is valid only if every chunk's aggregate verifies against
//! the senders' keys **in the state before the batch**. L1 records the
//! Merkle root of the chunks at submission ([`aggregate_commitment`]) and
//! a [`crate::AggregateProof`] shows a bad one, which reverts the batch.

use crate::tx::{L2Transaction, SignedL2Transaction};
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_merkle::{MerkleTree, Sha256Hasher};
use terrace_primitives::{BlsSignature, Hash, codec::read_version};

/// Version byte that starts a batch's posted data.
pub const BATCH_VERSION: u8 = 2;
/// Most aggregated transactions one aggregate covers. Smaller chunks cost
/// more aggregates (96 bytes each); larger ones make the fraud proof of a
/// bad aggregate longer (a Merkle path per sender) and slower to check on
/// L1 (a pairing per transaction). Hubble used 32 as well.
pub const AGGREGATE_CHUNK: usize = 32;
/// The bytes an aggregated transaction is charged beyond its encoding:
/// its tag and its share of its chunk's aggregate (96 / 32).
pub const AGGREGATED_TX_OVERHEAD: usize = 1 + 96 / AGGREGATE_CHUNK;
/// Most blocks one batch may carry (decoding bound).
pub const BATCH_BLOCKS_MAX: usize = 1 << 12;
/// Most transactions one block may carry (decoding bound).
pub const BLOCK_TXS_MAX: usize = 1 << 16;
/// A batch may decompress to at most this many times its posted size, so a
/// small posting cannot make every L1 node allocate without bound.
pub const DECOMPRESSION_RATIO_MAX: usize = 32;
/// The zstd level the batcher compresses with: level 19 saves 0.2 % more
/// at eight times the time.
pub const ZSTD_LEVEL: i32 = 9;

/// Block-level inputs to each transaction's execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockContext {
    /// Account credited with the block's fees.
    pub fee_recipient: u32,
    /// Price per unit of L2 execution gas.
    pub l2_gas_price: u64,
    /// Price per byte of transaction data, the sequencer's estimate of
    /// what L1 charges for it after compression.
    pub l1_byte_price: u64,
}

impl BlockContext {
    /// The context of a forced transaction: no L2 fee.
    pub const FREE: Self = Self {
        fee_recipient: 0,
        l2_gas_price: 0,
        l1_byte_price: 0,
    };
}

/// An L2 block as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Block {
    /// The sequencer's clock when it sealed the block (informational: no
    /// rule reads it).
    pub timestamp_ms: u64,
    /// Fee prices and recipient.
    pub context: BlockContext,
    /// The block consumes inbox messages up to (not including) this position
    /// before its transactions.
    pub inbox_until: u64,
    /// Its transactions, in order.
    pub txs: Vec<BlockTx>,
    /// One BLS aggregate per [`AGGREGATE_CHUNK`] of its aggregated
    /// transactions, in order.
    pub aggregates: Vec<BlsSignature>,
}

/// A transaction in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockTx {
    /// Signed on its own.
    Signed(SignedL2Transaction),
    /// Covered by its chunk's aggregate.
    Aggregated(L2Transaction),
}

impl BlockTx {
    /// The transaction.
    pub fn tx(&self) -> &L2Transaction {
        match self {
            BlockTx::Signed(s) => &s.tx,
            BlockTx::Aggregated(t) => t,
        }
    }

    /// The bytes the transaction is charged for as L1 data.
    pub fn data_bytes(&self) -> usize {
        match self {
            BlockTx::Signed(s) => s.encode_size(),
            BlockTx::Aggregated(t) => t.encode_size() + AGGREGATED_TX_OVERHEAD,
        }
    }

    /// Its id.
    pub fn hash(&self) -> Hash {
        match self {
            BlockTx::Signed(s) => s.hash(),
            BlockTx::Aggregated(t) => t.aggregated_hash(),
        }
    }
}

/// Up to [`AGGREGATE_CHUNK`] aggregated transactions and their aggregate:
/// the leaf of a batch's aggregate commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateChunk {
    /// The transactions, in block order.
    pub txs: Vec<L2Transaction>,
    /// The aggregate of their senders' signatures.
    pub signature: BlsSignature,
}

impl L2Block {
    /// Its aggregated transactions, in order.
    pub fn aggregated(&self) -> impl Iterator<Item = &L2Transaction> {
        self.txs.iter().filter_map(|t| match t {
            BlockTx::Aggregated(t) => Some(t),
            BlockTx::Signed(_) => None,
        })
    }

    /// The number of aggregates its aggregated transactions need.
    pub fn aggregates_needed(&self) -> usize {
        self.aggregated().count().div_ceil(AGGREGATE_CHUNK)
    }

    /// Its chunks: aggregated transactions with their aggregates.
    pub fn chunks(&self) -> Vec<AggregateChunk> {
        let txs: Vec<L2Transaction> = self.aggregated().copied().collect();
        txs.chunks(AGGREGATE_CHUNK)
            .zip(&self.aggregates)
            .map(|(txs, signature)| AggregateChunk {
                txs: txs.to_vec(),
                signature: *signature,
            })
            .collect()
    }
}

/// A run of blocks posted together.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Batch {
    /// The blocks, in order.
    pub blocks: Vec<L2Block>,
}

/// One step of a batch: the leaf of its data commitment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Consume the inbox message at `position`.
    Inbox {
        /// Inbox position.
        position: u64,
    },
    /// Run `tx` with its block's context.
    Tx {
        /// The block's context.
        context: BlockContext,
        /// The transaction.
        tx: SignedL2Transaction,
    },
    /// Run aggregated `tx` with its block's context (its signature is the
    /// batch's concern: see the module doc).
    Aggregated {
        /// The block's context.
        context: BlockContext,
        /// The transaction.
        tx: L2Transaction,
    },
}

/// Why posted batch data was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Unknown version byte (or no bytes).
    #[error("batch data does not start with version {BATCH_VERSION}")]
    Version,
    /// zstd refused the data, or it decompresses past the bound.
    #[error("batch data does not decompress within {max} bytes: {why}")]
    Decompress {
        /// Bound.
        max: usize,
        /// zstd's reason.
        why: String,
    },
    /// The decompressed bytes are not a batch.
    #[error("malformed batch: {0}")]
    Malformed(String),
    /// A batch must have at least one step.
    #[error("the batch has no steps")]
    Empty,
    /// A block's aggregates do not match its aggregated transactions.
    #[error("block {block} has {got} aggregates for transactions needing {expected}")]
    AggregateCount {
        /// Block index in the batch.
        block: usize,
        /// Aggregates its transactions need.
        expected: usize,
        /// Aggregates it has.
        got: usize,
    },
    /// A block's `inbox_until` is below the inbox position before it.
    #[error("block {block} consumes the inbox up to {until}, behind position {cursor}")]
    InboxBackwards {
        /// Block index in the batch.
        block: usize,
        /// Its `inbox_until`.
        until: u64,
        /// The position before it.
        cursor: u64,
    },
}

impl Batch {
    /// Encodes and compresses the batch for posting.
    pub fn compress(&self) -> Vec<u8> {
        let raw = self.encode();
        let mut out = vec![BATCH_VERSION];
        // Compressing from memory into memory cannot fail short of
        // allocation failure; an empty frame would be refused on L1.
        out.extend(zstd::bulk::compress(&raw, ZSTD_LEVEL).unwrap_or_default());
        out
    }

    /// Decompresses and decodes posted data, refusing anything that would
    /// decompress past [`DECOMPRESSION_RATIO_MAX`] × its size.
    pub fn decompress(data: &[u8]) -> Result<Self, BatchError> {
        let (&version, frame) = data.split_first().ok_or(BatchError::Version)?;
        if version != BATCH_VERSION {
            return Err(BatchError::Version);
        }
        let max = data.len().saturating_mul(DECOMPRESSION_RATIO_MAX);
        let raw = zstd::bulk::decompress(frame, max).map_err(|e| BatchError::Decompress {
            max,
            why: e.to_string(),
        })?;
        terrace_primitives::codec::decode_bounded(&raw, max, &())
            .map_err(|e| BatchError::Malformed(e.to_string()))
    }

    /// The batch's steps, with the inbox at `cursor` before it; also returns
    /// the inbox position after it.
    pub fn steps(&self, mut cursor: u64) -> Result<(Vec<Step>, u64), BatchError> {
        let mut steps = Vec::new();
        for (i, block) in self.blocks.iter().enumerate() {
            if block.inbox_until < cursor {
                return Err(BatchError::InboxBackwards {
                    block: i,
                    until: block.inbox_until,
                    cursor,
                });
            }
            let expected = block.aggregates_needed();
            if block.aggregates.len() != expected {
                return Err(BatchError::AggregateCount {
                    block: i,
                    expected,
                    got: block.aggregates.len(),
                });
            }
            steps.extend((cursor..block.inbox_until).map(|position| Step::Inbox { position }));
            cursor = block.inbox_until;
            steps.extend(block.txs.iter().map(|tx| match tx {
                BlockTx::Signed(tx) => Step::Tx {
                    context: block.context,
                    tx: tx.clone(),
                },
                BlockTx::Aggregated(tx) => Step::Aggregated {
                    context: block.context,
                    tx: *tx,
                },
            }));
        }
        if steps.is_empty() {
            return Err(BatchError::Empty);
        }
        Ok((steps, cursor))
    }
}

impl Batch {
    /// Every chunk of aggregated transactions, block by block.
    pub fn chunks(&self) -> Vec<AggregateChunk> {
        self.blocks.iter().flat_map(L2Block::chunks).collect()
    }
}

/// The Merkle root of a batch's chunks (an empty tree's root when it has
/// none).
pub fn aggregate_commitment(chunks: &[AggregateChunk]) -> Hash {
    chunk_tree(chunks).root()
}

/// The Merkle tree of a batch's encoded chunks, for aggregate proofs.
pub fn chunk_tree(chunks: &[AggregateChunk]) -> MerkleTree<Sha256Hasher> {
    let leaves: Vec<Vec<u8>> = chunks.iter().map(|c| c.encode().to_vec()).collect();
    MerkleTree::new(&leaves)
}

/// The Merkle root of a batch's encoded steps.
pub fn data_commitment(steps: &[Step]) -> Hash {
    step_tree(steps).root()
}

/// The Merkle tree of a batch's encoded steps, for step proofs.
pub fn step_tree(steps: &[Step]) -> MerkleTree<Sha256Hasher> {
    let leaves: Vec<Vec<u8>> = steps.iter().map(|s| s.encode().to_vec()).collect();
    MerkleTree::new(&leaves)
}

// ---- codec -------------------------------------------------------------

impl Write for BlockContext {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.fee_recipient).write(buf);
        UInt(self.l2_gas_price).write(buf);
        UInt(self.l1_byte_price).write(buf);
    }
}

impl EncodeSize for BlockContext {
    fn encode_size(&self) -> usize {
        UInt(self.fee_recipient).encode_size()
            + UInt(self.l2_gas_price).encode_size()
            + UInt(self.l1_byte_price).encode_size()
    }
}

impl Read for BlockContext {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            fee_recipient: UInt::<u32>::read(buf)?.0,
            l2_gas_price: UInt::<u64>::read(buf)?.0,
            l1_byte_price: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for L2Block {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.timestamp_ms).write(buf);
        self.context.write(buf);
        UInt(self.inbox_until).write(buf);
        self.txs.write(buf);
        self.aggregates.write(buf);
    }
}

impl EncodeSize for L2Block {
    fn encode_size(&self) -> usize {
        UInt(self.timestamp_ms).encode_size()
            + self.context.encode_size()
            + UInt(self.inbox_until).encode_size()
            + self.txs.encode_size()
            + self.aggregates.encode_size()
    }
}

impl Read for L2Block {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            timestamp_ms: UInt::<u64>::read(buf)?.0,
            context: BlockContext::read(buf)?,
            inbox_until: UInt::<u64>::read(buf)?.0,
            txs: Vec::read_cfg(buf, &(RangeCfg::new(0..=BLOCK_TXS_MAX), ()))?,
            aggregates: Vec::read_cfg(
                buf,
                &(
                    RangeCfg::new(0..=BLOCK_TXS_MAX.div_ceil(AGGREGATE_CHUNK)),
                    (),
                ),
            )?,
        })
    }
}

impl Write for BlockTx {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            BlockTx::Signed(tx) => {
                0u8.write(buf);
                tx.write(buf);
            }
            BlockTx::Aggregated(tx) => {
                1u8.write(buf);
                tx.write(buf);
            }
        }
    }
}

impl EncodeSize for BlockTx {
    fn encode_size(&self) -> usize {
        1 + match self {
            BlockTx::Signed(tx) => tx.encode_size(),
            BlockTx::Aggregated(tx) => tx.encode_size(),
        }
    }
}

impl Read for BlockTx {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => BlockTx::Signed(SignedL2Transaction::read(buf)?),
            1 => BlockTx::Aggregated(L2Transaction::read(buf)?),
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for AggregateChunk {
    fn write(&self, buf: &mut impl BufMut) {
        self.txs.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for AggregateChunk {
    fn encode_size(&self) -> usize {
        self.txs.encode_size() + self.signature.encode_size()
    }
}

impl Read for AggregateChunk {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            txs: Vec::read_cfg(buf, &(RangeCfg::new(1..=AGGREGATE_CHUNK), ()))?,
            signature: BlsSignature::read(buf)?,
        })
    }
}

impl Write for Batch {
    fn write(&self, buf: &mut impl BufMut) {
        BATCH_VERSION.write(buf);
        self.blocks.write(buf);
    }
}

impl EncodeSize for Batch {
    fn encode_size(&self) -> usize {
        1 + self.blocks.encode_size()
    }
}

impl Read for Batch {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "Batch", BATCH_VERSION)?;
        Ok(Self {
            blocks: Vec::read_cfg(buf, &(RangeCfg::new(0..=BATCH_BLOCKS_MAX), ()))?,
        })
    }
}

impl Write for Step {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Step::Inbox { position } => {
                0u8.write(buf);
                UInt(*position).write(buf);
            }
            Step::Tx { context, tx } => {
                1u8.write(buf);
                context.write(buf);
                tx.write(buf);
            }
            Step::Aggregated { context, tx } => {
                2u8.write(buf);
                context.write(buf);
                tx.write(buf);
            }
        }
    }
}

impl EncodeSize for Step {
    fn encode_size(&self) -> usize {
        1 + match self {
            Step::Inbox { position } => UInt(*position).encode_size(),
            Step::Tx { context, tx } => context.encode_size() + tx.encode_size(),
            Step::Aggregated { context, tx } => context.encode_size() + tx.encode_size(),
        }
    }
}

impl Read for Step {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Step::Inbox {
                position: UInt::<u64>::read(buf)?.0,
            },
            1 => Step::Tx {
                context: BlockContext::read(buf)?,
                tx: SignedL2Transaction::read(buf)?,
            },
            2 => Step::Aggregated {
                context: BlockContext::read(buf)?,
                tx: L2Transaction::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
