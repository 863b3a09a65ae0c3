//! Blocks: a header that commits to everything, and the encoded
//! transactions. Transactions travel as their exact bytes so a validator
//! checks, hashes and verifies them without re-encoding.

use crate::{error::BlockError, execute::BlockOutput, fee::next_base_fee, params::ChainParams};
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{
    Address, ChainId, Hash, PublicKey,
    codec::{DecodeError, decode_bounded, read_version},
    hash_tagged,
};

/// Encoding version of [`Header`].
pub const HEADER_VERSION: u8 = 2;
/// The smallest possible signed transaction (a bound for decoding counts).
pub const MIN_TX_BYTES: usize = 100;

/// A block header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The chain.
    pub chain_id: ChainId,
    /// Height (genesis is 0).
    pub height: u64,
    /// Hash of the parent header.
    pub parent: Hash,
    /// Proposer's timestamp, milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The consensus round the block was proposed in, and the view of the
    /// parent it names: the header carries the whole consensus context, so
    /// the block hash commits to it and a node can re-check it.
    pub round: ConsensusRound,
    /// The proposer's consensus key; its address receives tips and the
    /// block reward.
    pub proposer: PublicKey,
    /// Merkle root of the transaction ids.
    pub tx_root: Hash,
    /// Merkle root of the receipts.
    pub receipts_root: Hash,
    /// Root of the authenticated state after this block; account and
    /// record proofs verify against it.
    pub state_root: Hash,
    /// The state store's operation log after this block (its root and the
    /// live range), which state sync verifies fetched operations against.
    pub state_log: StateLog,
    /// This block's base fee.
    pub base_fee: u64,
    /// Gas used by this block's transactions.
    pub gas_used: u64,
}

/// Where a block sits in consensus: its epoch and view, and the view of
/// the parent it builds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsensusRound {
    /// The epoch (committee period).
    pub epoch: u64,
    /// The view within the epoch.
    pub view: u64,
    /// The parent's view.
    pub parent_view: u64,
}

/// A commitment to the state store's operation log: its root and the range
/// of operations still live. Opaque to the state-transition function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateLog {
    /// Root over the operation log.
    pub root: Hash,
    /// First live operation.
    pub start: u64,
    /// One past the last operation.
    pub end: u64,
}

impl Header {
    /// The address paid for this block.
    pub fn proposer_address(&self) -> Address {
        Address::from_public_key(&self.proposer)
    }
}

/// A header field that is not what it should be.
fn mismatch(field: &'static str, expected: String, got: String) -> Result<(), BlockError> {
    Err(BlockError::HeaderMismatch {
        field,
        expected,
        got,
    })
}

impl Header {
    /// Checks what a header derives from its parent: same chain, next
    /// height, parent hash, the EIP-1559 base fee, a timestamp at least one
    /// block time later, gas under the limit.
    pub fn check_child_of(&self, parent: &Header, params: &ChainParams) -> Result<(), BlockError> {
        if self.chain_id != parent.chain_id {
            return mismatch(
                "chain_id",
                parent.chain_id.to_string(),
                self.chain_id.to_string(),
            );
        }
        if Some(self.height) != parent.height.checked_add(1) {
            return mismatch(
                "height",
                format!("{}", parent.height.saturating_add(1)),
                self.height.to_string(),
            );
        }
        if self.parent != parent.hash() {
            return mismatch("parent", parent.hash().to_string(), self.parent.to_string());
        }
        let expected = next_base_fee(parent.base_fee, parent.gas_used, params);
        if self.base_fee != expected {
            return Err(BlockError::WrongBaseFee {
                expected,
                got: self.base_fee,
            });
        }
        let earliest = parent.timestamp_ms.saturating_add(params.block_time_ms);
        if self.timestamp_ms < earliest {
            return mismatch(
                "timestamp_ms",
                format!(">= {earliest}"),
                self.timestamp_ms.to_string(),
            );
        }
        if self.gas_used > params.block_gas_limit {
            return mismatch(
                "gas_used",
                format!("<= {}", params.block_gas_limit),
                self.gas_used.to_string(),
            );
        }
        Ok(())
    }

    /// Checks the header commits to what executing its block produced (the
    /// state root is the store's, checked by the node).
    pub fn check_output(&self, out: &BlockOutput) -> Result<(), BlockError> {
        if self.tx_root != out.tx_root {
            return mismatch("tx_root", out.tx_root.to_string(), self.tx_root.to_string());
        }
        if self.receipts_root != out.receipts_root {
            return mismatch(
                "receipts_root",
                out.receipts_root.to_string(),
                self.receipts_root.to_string(),
            );
        }
        if self.gas_used != out.gas_used {
            return mismatch(
                "gas_used",
                out.gas_used.to_string(),
                self.gas_used.to_string(),
            );
        }
        Ok(())
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        use commonware_codec::Encode as _;
        hash_tagged(b"terrace/l1/header", &[&self.encode()])
    }
}

/// A block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// Encoded signed transactions, in execution order.
    pub transactions: Vec<Bytes>,
}

/// Decoding bounds for a block, derived from the chain parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockLimits {
    /// Most transactions.
    pub txs_max: usize,
    /// Most bytes per transaction.
    pub tx_bytes_max: usize,
    /// Most transaction bytes in all.
    pub block_bytes_max: usize,
}

impl BlockLimits {
    /// The limits `params` imply.
    pub fn from_params(params: &ChainParams) -> Self {
        let block_bytes = usize::try_from(params.block_bytes_max).unwrap_or(usize::MAX);
        Self {
            txs_max: block_bytes / MIN_TX_BYTES,
            tx_bytes_max: usize::try_from(params.tx_bytes_max).unwrap_or(usize::MAX),
            block_bytes_max: block_bytes,
        }
    }
}

impl Block {
    /// Decodes a block from untrusted bytes under the chain's limits.
    pub fn decode_bounded(bytes: &[u8], params: &ChainParams) -> Result<Self, BlockError> {
        let limits = BlockLimits::from_params(params);
        // Header + per-transaction length prefixes + transaction bytes.
        let max = 512usize
            .saturating_add(limits.txs_max.saturating_mul(5))
            .saturating_add(usize::try_from(params.block_bytes_max).unwrap_or(usize::MAX));
        decode_bounded(bytes, max, &limits).map_err(|e| match e {
            DecodeError::TooLarge { len, max } => {
                BlockError::Malformed(format!("block is {len} bytes, over {max}"))
            }
            DecodeError::Malformed(e) => BlockError::Malformed(e.to_string()),
        })
    }
}

impl Write for Header {
    fn write(&self, buf: &mut impl BufMut) {
        HEADER_VERSION.write(buf);
        self.chain_id.write(buf);
        UInt(self.height).write(buf);
        self.parent.write(buf);
        UInt(self.timestamp_ms).write(buf);
        UInt(self.round.epoch).write(buf);
        UInt(self.round.view).write(buf);
        UInt(self.round.parent_view).write(buf);
        self.proposer.write(buf);
        self.tx_root.write(buf);
        self.receipts_root.write(buf);
        self.state_root.write(buf);
        self.state_log.root.write(buf);
        UInt(self.state_log.start).write(buf);
        UInt(self.state_log.end).write(buf);
        UInt(self.base_fee).write(buf);
        UInt(self.gas_used).write(buf);
    }
}

impl EncodeSize for Header {
    fn encode_size(&self) -> usize {
        1 + self.chain_id.encode_size()
            + UInt(self.height).encode_size()
            + 32
            + UInt(self.timestamp_ms).encode_size()
            + UInt(self.round.epoch).encode_size()
            + UInt(self.round.view).encode_size()
            + UInt(self.round.parent_view).encode_size()
            + self.proposer.encode_size()
            + 4 * 32
            + UInt(self.state_log.start).encode_size()
            + UInt(self.state_log.end).encode_size()
            + UInt(self.base_fee).encode_size()
            + UInt(self.gas_used).encode_size()
    }
}

impl Read for Header {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "Header", HEADER_VERSION)?;
        Ok(Self {
            chain_id: ChainId::read(buf)?,
            height: UInt::<u64>::read(buf)?.0,
            parent: Hash::read(buf)?,
            timestamp_ms: UInt::<u64>::read(buf)?.0,
            round: ConsensusRound {
                epoch: UInt::<u64>::read(buf)?.0,
                view: UInt::<u64>::read(buf)?.0,
                parent_view: UInt::<u64>::read(buf)?.0,
            },
            proposer: PublicKey::read(buf)?,
            tx_root: Hash::read(buf)?,
            receipts_root: Hash::read(buf)?,
            state_root: Hash::read(buf)?,
            state_log: StateLog {
                root: Hash::read(buf)?,
                start: UInt::<u64>::read(buf)?.0,
                end: UInt::<u64>::read(buf)?.0,
            },
            base_fee: UInt::<u64>::read(buf)?.0,
            gas_used: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.header.write(buf);
        self.transactions.write(buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.header.encode_size() + self.transactions.encode_size()
    }
}

impl Read for Block {
    type Cfg = BlockLimits;
    fn read_cfg(buf: &mut impl Buf, limits: &BlockLimits) -> Result<Self, CodecError> {
        let header = Header::read(buf)?;
        let transactions = Vec::<Bytes>::read_cfg(
            buf,
            &(
                RangeCfg::new(0..=limits.txs_max),
                RangeCfg::new(1..=limits.tx_bytes_max),
            ),
        )?;
        let total = transactions
            .iter()
            .try_fold(0usize, |sum, tx| sum.checked_add(tx.len()));
        if total.is_none_or(|total| total > limits.block_bytes_max) {
            return Err(CodecError::Invalid(
                "Block",
                "transaction bytes over the block limit",
            ));
        }
        Ok(Self {
            header,
            transactions,
        })
    }
}
