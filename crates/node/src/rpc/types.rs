//! JSON shapes of the `l1_*` API. Hashes and byte strings are `0x` hex,
//! amounts are decimal strings (they exceed JSON's safe integers), gas and
//! heights are numbers.

use serde::{Deserialize, Serialize};
use terrace_l1::{Failure, Payload, Receipt, block::Header};
use terrace_primitives::{Address, Amount, Hash, codec::to_hex};

/// `0x`-prefixed hex of a hash.
pub fn hex_hash(hash: &Hash) -> String {
    format!("0x{}", to_hex(hash.as_ref()))
}

/// Parses a `0x`-prefixed (or bare) 32-byte hex hash.
pub fn parse_hash(s: &str) -> Option<Hash> {
    let bytes = terrace_primitives::codec::from_hex(s.strip_prefix("0x").unwrap_or(s))?;
    let array: [u8; 32] = bytes.try_into().ok()?;
    Some(Hash::from(array))
}

/// Which block a request means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockId {
    /// The highest finalized block.
    Finalized,
    /// The highest block this node has verified (may not be final yet).
    Latest,
    /// A finalized block by height.
    Height(u64),
    /// A block by hash.
    Hash(Hash),
}

impl Serialize for BlockId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BlockId::Finalized => s.serialize_str("finalized"),
            BlockId::Latest => s.serialize_str("latest"),
            BlockId::Height(h) => s.serialize_u64(*h),
            BlockId::Hash(h) => s.serialize_str(&hex_hash(h)),
        }
    }
}

impl<'de> Deserialize<'de> for BlockId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(h) => Ok(BlockId::Height(h)),
            Raw::Text(t) => match t.as_str() {
                "finalized" => Ok(BlockId::Finalized),
                "latest" => Ok(BlockId::Latest),
                _ if t.starts_with("0x") && t.len() == 66 => parse_hash(&t)
                    .map(BlockId::Hash)
                    .ok_or_else(|| serde::de::Error::custom("invalid block hash")),
                _ => t.parse().map(BlockId::Height).map_err(|_| {
                    serde::de::Error::custom(
                        "expected a height, a 0x block hash, \"latest\" or \"finalized\"",
                    )
                }),
            },
        }
    }
}

/// An account as of a finalized block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// The account.
    pub address: Address,
    /// Spendable balance.
    pub balance: Amount,
    /// The nonce its next transaction must carry.
    pub nonce: u64,
    /// Staked (bonded) amount, if the account is a validator.
    pub stake: Option<Amount>,
    /// The finalized block the answer is read at.
    pub height: u64,
    /// That block's hash.
    pub block_hash: String,
    /// That block's state root, which the proof verifies against.
    pub state_root: String,
    /// Hex of an encoded inclusion (or, for an absent account, exclusion)
    /// proof, when asked for.
    pub proof: Option<String>,
}

/// A state record by key at the last finalized block: what a module
/// keeps (a rollup's registration, a batch, a bond), for clients that
/// follow a module without running a node (a validium's committee
/// member reads its rollup's registration this way).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordInfo {
    /// The key (`0x` hex of its encoding).
    pub key: String,
    /// The record (`0x` hex of its encoding), or null when there is none.
    pub value: Option<String>,
    /// The finalized block the answer is read at.
    pub height: u64,
    /// That block's hash.
    pub block_hash: String,
    /// That block's state root, which the proof verifies against.
    pub state_root: String,
    /// Hex of an encoded inclusion (or exclusion) proof, when asked for.
    pub proof: Option<String>,
}

/// A block header and its transactions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockInfo {
    /// Block hash.
    pub hash: String,
    /// Height.
    pub height: u64,
    /// Parent hash.
    pub parent: String,
    /// Proposer timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
    /// Consensus epoch.
    pub epoch: u64,
    /// Consensus view.
    pub view: u64,
    /// Address paid for the block.
    pub proposer: Address,
    /// Transaction root.
    pub tx_root: String,
    /// Receipts root.
    pub receipts_root: String,
    /// State root after the block.
    pub state_root: String,
    /// Base fee per gas.
    pub base_fee: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Encoded size of the block in bytes.
    pub size: u64,
    /// Whether the block is finalized.
    pub finalized: bool,
    /// Transaction hashes, in order.
    pub transactions: Vec<String>,
}

impl BlockInfo {
    /// Describes a block.
    pub fn new(header: &Header, hash: &Hash, size: u64, finalized: bool, txs: Vec<Hash>) -> Self {
        Self {
            hash: hex_hash(hash),
            height: header.height,
            parent: hex_hash(&header.parent),
            timestamp_ms: header.timestamp_ms,
            epoch: header.round.epoch,
            view: header.round.view,
            proposer: header.proposer_address(),
            tx_root: hex_hash(&header.tx_root),
            receipts_root: hex_hash(&header.receipts_root),
            state_root: hex_hash(&header.state_root),
            base_fee: header.base_fee,
            gas_used: header.gas_used,
            size,
            finalized,
            transactions: txs.iter().map(hex_hash).collect(),
        }
    }
}

/// The outcome of an included transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptInfo {
    /// `"success"` or why the payload had no effect.
    pub status: String,
    /// Gas charged.
    pub gas_used: u64,
    /// Price per gas paid (base fee + tip).
    pub effective_gas_price: u64,
    /// Total fee paid (`gas_used × effective_gas_price`).
    pub fee: Amount,
}

impl From<&Receipt> for ReceiptInfo {
    fn from(r: &Receipt) -> Self {
        Self {
            status: r.failure.map_or("success".into(), failure_name),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            fee: Amount(u128::from(r.gas_used) * u128::from(r.effective_gas_price)),
        }
    }
}

fn failure_name(f: Failure) -> String {
    f.name().into()
}

/// A transaction, where it was included, and its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxInfo {
    /// Transaction id.
    pub hash: String,
    /// Sender.
    pub from: Address,
    /// Payload kind: `transfer`, `stake`, `unstake`, `slash`,
    /// `create_rollup`, or `rollup_*` for an operation on a rollup.
    pub kind: String,
    /// Recipient of a transfer.
    pub to: Option<Address>,
    /// Amount moved, staked or unstaked.
    pub amount: Option<Amount>,
    /// Sender nonce.
    pub nonce: u64,
    /// Fee cap per gas.
    pub max_fee_per_gas: u64,
    /// Tip cap per gas.
    pub max_priority_fee_per_gas: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// `pending` (in the pool) or `finalized`.
    pub status: String,
    /// Including block's height, once finalized.
    pub block_height: Option<u64>,
    /// Including block's hash, once finalized.
    pub block_hash: Option<String>,
    /// Position in the block.
    pub index: Option<u32>,
    /// The receipt, once finalized.
    pub receipt: Option<ReceiptInfo>,
}

/// Describes a transaction's payload: (kind, to, amount).
pub fn payload_summary(p: &Payload) -> (&'static str, Option<Address>, Option<Amount>) {
    let s = p.summary();
    (s.kind, s.to, s.amount)
}

/// A committee member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// Validator address.
    pub address: Address,
    /// Consensus key (hex).
    pub public_key: String,
    /// Bonded stake.
    pub stake: Amount,
}

/// The chain as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainInfo {
    /// Chain id.
    pub chain_id: u64,
    /// Highest block this node verified.
    pub height: u64,
    /// Highest finalized block.
    pub finalized_height: u64,
    /// Its hash.
    pub finalized_hash: String,
    /// Base fee of the next block.
    pub base_fee: u64,
    /// Current epoch.
    pub epoch: u64,
    /// Blocks per epoch.
    pub epoch_length: u64,
    /// The current epoch's committee.
    pub committee: Vec<Member>,
    /// Target block time (ms).
    pub block_time_ms: u64,
    /// Transactions waiting in this node's pool.
    pub pending_transactions: u64,
    /// The finalized height this node reopened from its own store when it
    /// started (absent for a fresh store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_height: Option<u64>,
}

/// Fee suggestion for a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeEstimate {
    /// The next block's base fee.
    pub base_fee: u64,
    /// Suggested tip per gas.
    pub max_priority_fee_per_gas: u64,
    /// Suggested fee cap per gas: twice the base fee plus the tip, which
    /// survives six full blocks of base-fee increases.
    pub max_fee_per_gas: u64,
    /// Gas of a plain transfer.
    pub transfer_gas: u64,
    /// Most a transfer costs at the suggested cap.
    pub transfer_fee_max: Amount,
}

/// The result of one transaction of a batch submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
    /// The transaction id, if accepted.
    pub hash: Option<String>,
    /// Why it was refused, if it was.
    pub error: Option<String>,
}
