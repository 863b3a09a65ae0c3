//! The `l2_*` JSON-RPC API over HTTP, served from a node's [`Shared`]
//! state: submit a transaction and get its soft confirmation at once, read
//! accounts, receipts, heights, batches and withdrawals with their claims.
//!
//! Shapes follow the `l1_*` API: camelCase fields, hashes and byte
//! strings `0x` hex, amounts decimal strings, heights numbers; errors use its codes
//! ([`terrace_node::rpc::code`]).

use crate::{
    derive::{BatchStatus, BatchSummary},
    node::{Shared, WithdrawalStage},
    sequencer::SubmitError,
};
use commonware_codec::Encode as _;
use jsonrpsee::{
    core::RpcResult,
    proc_macros::rpc,
    server::{Server, ServerConfig, ServerHandle},
};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use terrace_l1::modules::optimistic::RollupOp;
use terrace_l2::{AggregatedL2Transaction, SignedL2Transaction};
use terrace_node::rpc::{RpcError, hex_hash, parse_hash};
use terrace_primitives::{
    Address, Amount, PublicKey,
    codec::{decode_bounded, from_hex, to_hex},
};

/// Largest request body: [`MAX_BATCH_TXS`] transactions of up to a few
/// hundred bytes.
pub const MAX_REQUEST_BYTES: u32 = 512 * 1024;
/// Most transactions in one `l2_sendRawTransactions` call.
pub const MAX_BATCH_TXS: usize = 1_000;
/// Largest response body (a page of batches, a withdrawal claim).
pub const MAX_RESPONSE_BYTES: u32 = 4 * 1024 * 1024;
/// Largest encoded L2 transaction accepted.
pub const MAX_TX_BYTES: usize = terrace_l2::inbox::FORCED_TX_BYTES_MAX;
/// Most batches in one `l2_getBatches` answer.
pub const MAX_BATCHES: u64 = 256;
/// Most concurrent connections.
pub const MAX_CONNECTIONS: u32 = 256;

/// A soft confirmation: the sequencer executed the transaction and put it
/// in the block it is filling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftConfirmation {
    /// Transaction id.
    pub hash: String,
    /// L2 block.
    pub block: u64,
    /// Position in the block.
    pub index: u32,
    /// Fee charged (L2 execution plus the L1 data share).
    pub fee: Amount,
    /// The withdrawal it made, if it is one.
    pub withdrawal: Option<u64>,
}

/// One transaction's outcome in `l2_sendRawTransactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResult {
    /// The soft confirmation.
    pub confirmation: Option<SoftConfirmation>,
    /// Why it was refused.
    pub error: Option<String>,
}

/// An L2 account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Its index in the account tree (what transactions name).
    pub index: u32,
    /// The key that signs for it.
    pub public_key: String,
    /// Its BLS key for aggregated transactions, if it has one.
    pub bls_key: Option<String>,
    /// Balance.
    pub balance: Amount,
    /// Next nonce.
    pub nonce: u64,
    /// `soft` (the sequencer's state) or `posted` (derived from L1).
    pub view: String,
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptInfo {
    /// The soft confirmation.
    #[serde(flatten)]
    pub soft: SoftConfirmation,
    /// `soft`, `posted` (its block is in a batch on L1) or `final`.
    pub status: String,
}

/// The sequencer's fee prices for its next blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeInfo {
    /// Account credited with fees.
    pub fee_recipient: u32,
    /// Price per unit of L2 execution gas.
    pub l2_gas_price: u64,
    /// Price per byte of transaction data.
    pub l1_byte_price: u64,
}

impl From<FeeInfo> for terrace_l2::BlockContext {
    fn from(f: FeeInfo) -> Self {
        Self {
            fee_recipient: f.fee_recipient,
            l2_gas_price: f.l2_gas_price,
            l1_byte_price: f.l1_byte_price,
        }
    }
}

/// The rollup's parameters on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigInfo {
    /// The sequencer's L1 address.
    pub sequencer: Address,
    /// Bond a poster holds.
    pub poster_bond: Amount,
    /// Bond a challenge locks.
    pub challenge_bond: Amount,
    /// Challenge window, in L1 blocks.
    pub challenge_window_blocks: u64,
    /// Sequencing window, in L1 blocks.
    pub sequencing_window_blocks: u64,
    /// Move deadline in challenges, in L1 blocks.
    pub move_deadline_blocks: u64,
    /// Most compressed bytes per batch.
    pub batch_bytes_max: u64,
}

/// Heights and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Rollup id on L1.
    pub rollup: u64,
    /// L2 blocks made by the sequencer (soft), including the open one.
    pub soft: u64,
    /// L2 blocks in standing batches on L1.
    pub posted: u64,
    /// L2 blocks in final batches.
    pub finalized: u64,
    /// Standing batches.
    pub batches: u64,
    /// Final batches.
    pub final_batches: u64,
    /// Last finalized L1 height read.
    pub l1_height: u64,
    /// Funds the bridge holds on L1.
    pub escrow: Option<Amount>,
    /// Inbox messages appended on L1, and consumed by batches.
    pub inbox: Option<(u64, u64)>,
    /// The rollup's parameters (once read from L1).
    pub config: Option<ConfigInfo>,
    /// Fee prices, when this node sequences.
    pub fees: Option<FeeInfo>,
}

/// A batch as posted on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// Index on L1.
    pub index: u64,
    /// The L1 transaction that posted it.
    pub l1_tx: String,
    /// Who posted it.
    pub poster: Address,
    /// L1 height it landed at.
    pub l1_height: u64,
    /// The L1 height its challenge window ends at.
    pub window_end: Option<u64>,
    /// First L2 block and number of blocks.
    pub first_block: u64,
    /// L2 blocks.
    pub blocks: u64,
    /// L2 transactions.
    pub transactions: u64,
    /// Steps (transactions and inbox messages).
    pub steps: u64,
    /// Compressed bytes on L1.
    pub data_bytes: u64,
    /// The output root it claims.
    pub output_root: String,
    /// Whether that root is the one its data produces.
    pub valid: bool,
    /// `pending`, `final` or `reverted`.
    pub status: BatchStatus,
}

/// A withdrawal and its claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalInfo {
    /// Index (the nullifier).
    pub index: u64,
    /// L1 recipient.
    pub recipient: Address,
    /// Amount.
    pub amount: Amount,
    /// `soft`, `posted` or `final`.
    pub stage: WithdrawalStage,
    /// The first standing batch that holds it.
    pub batch: Option<u64>,
    /// The L1 height its batch's challenge window ends at.
    pub window_end: Option<u64>,
    /// The last finalized L1 height the node read.
    pub l1_height: u64,
    /// Whether it was claimed on L1.
    pub claimed: bool,
    /// Once final: the encoded `RollupOp::Claim` to send on L1 (with the
    /// Merkle proof against the batch's output root).
    pub claim_op: Option<String>,
}

/// The API definition; `L2ApiClient` is what the CLI calls.
#[rpc(server, client, namespace = "l2")]
pub trait L2Api {
    /// Submits a hex-encoded signed L2 transaction; returns its soft
    /// confirmation, or why the sequencer refused it.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, tx: String) -> RpcResult<SoftConfirmation>;

    /// Submits up to [`MAX_BATCH_TXS`] transactions, their signatures
    /// verified together on every core; one result each, in order.
    #[method(name = "sendRawTransactions")]
    async fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SubmitResult>>;

    /// Submits a hex-encoded aggregated transaction (the transaction and
    /// the sender's BLS signature): the batch carries it without the
    /// signature, under its block's aggregate. The sender's account must
    /// have a BLS key and be in a batch already on L1.
    #[method(name = "sendRawAggregatedTransaction")]
    async fn send_raw_aggregated_transaction(&self, tx: String) -> RpcResult<SoftConfirmation>;

    /// Submits up to [`MAX_BATCH_TXS`] aggregated transactions, their
    /// signatures checked on every core; one result each, in order.
    #[method(name = "sendRawAggregatedTransactions")]
    async fn send_raw_aggregated_transactions(
        &self,
        txs: Vec<String>,
    ) -> RpcResult<Vec<SubmitResult>>;

    /// An account by index (`"7"`), by public key (`"0x…"`, its first
    /// account) or by BLS key (`"0x…"`, 48 bytes).
    #[method(name = "getAccount")]
    async fn get_account(&self, account: String) -> RpcResult<AccountInfo>;

    /// A transaction's receipt.
    #[method(name = "getReceipt")]
    async fn get_receipt(&self, hash: String) -> RpcResult<ReceiptInfo>;

    /// Soft, posted and final heights, and the rollup's parameters.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<StatusInfo>;

    /// The last `limit` batches seen on L1 (at most [`MAX_BATCHES`]).
    #[method(name = "getBatches")]
    async fn get_batches(&self, limit: Option<u64>) -> RpcResult<Vec<BatchInfo>>;

    /// A withdrawal, with its claim once its batch is final.
    #[method(name = "getWithdrawal")]
    async fn get_withdrawal(&self, index: u64) -> RpcResult<WithdrawalInfo>;
}

/// Serves the API over a node's state.
pub struct Api {
    shared: Shared,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

fn soft(hash: String, r: crate::SoftReceipt) -> SoftConfirmation {
    SoftConfirmation {
        hash,
        block: r.block,
        index: r.index,
        fee: r.fee,
        withdrawal: r.withdrawal,
    }
}

fn parse_key(s: &str) -> Option<PublicKey> {
    let bytes = from_hex(s.strip_prefix("0x")?)?;
    decode_bounded::<PublicKey>(&bytes, 64, &()).ok()
}

fn parse_bls_key(s: &str) -> Option<terrace_primitives::BlsPublicKey> {
    let bytes = from_hex(s.strip_prefix("0x")?)?;
    terrace_primitives::BlsPublicKey::from_bytes(&bytes)
}

fn decode_tx<T: commonware_codec::Read<Cfg = ()>>(tx: &str) -> Result<T, RpcError> {
    let bytes = from_hex(tx.strip_prefix("0x").unwrap_or(tx))
        .ok_or_else(|| RpcError::InvalidTransaction("not hex".into()))?;
    decode_bounded::<T>(&bytes, MAX_TX_BYTES, &())
        .map_err(|e| RpcError::InvalidTransaction(e.to_string()))
}

/// Decodes up to [`MAX_BATCH_TXS`] transactions, submits the decodable
/// ones with `submit`, and answers one result per input, in order.
fn submit_all<T>(
    txs: Vec<String>,
    hash: impl Fn(&T) -> terrace_primitives::Hash,
    submit: impl FnOnce(Vec<T>) -> Vec<Result<crate::SoftReceipt, SubmitError>>,
) -> RpcResult<Vec<SubmitResult>>
where
    T: commonware_codec::Read<Cfg = ()> + Clone,
{
    if txs.len() > MAX_BATCH_TXS {
        return Err(RpcError::Limit(format!(
            "{} transactions, at most {MAX_BATCH_TXS} per call",
            txs.len()
        ))
        .into());
    }
    let decoded: Vec<Result<T, RpcError>> = txs.iter().map(|t| decode_tx(t)).collect();
    let good: Vec<T> = decoded
        .iter()
        .filter_map(|d| d.as_ref().ok().cloned())
        .collect();
    let hashes: Vec<String> = good.iter().map(|t| hex_hash(&hash(t))).collect();
    let mut results = submit(good).into_iter().zip(hashes);
    Ok(decoded
        .into_iter()
        .map(|d| match d {
            Err(e) => SubmitResult {
                confirmation: None,
                error: Some(e.to_string()),
            },
            Ok(_) => match results.next() {
                Some((Ok(r), hash)) => SubmitResult {
                    confirmation: Some(soft(hash, r)),
                    error: None,
                },
                Some((Err(e), _)) => SubmitResult {
                    confirmation: None,
                    error: Some(refusal(e).to_string()),
                },
                None => SubmitResult {
                    confirmation: None,
                    error: Some("not executed".into()),
                },
            },
        })
        .collect())
}

fn refusal(e: SubmitError) -> RpcError {
    match e {
        SubmitError::TooLarge(_) => RpcError::Limit(e.to_string()),
        e => RpcError::Rejected(e.to_string()),
    }
}

#[jsonrpsee::core::async_trait]
impl L2ApiServer for Api {
    async fn send_raw_transaction(&self, tx: String) -> RpcResult<SoftConfirmation> {
        let tx: SignedL2Transaction = decode_tx(&tx)?;
        let hash = hex_hash(&tx.hash());
        let receipt = self.shared.submit(tx).map_err(refusal)?;
        Ok(soft(hash, receipt))
    }

    async fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SubmitResult>> {
        submit_all(txs, SignedL2Transaction::hash, |good| {
            self.shared
                .submit_many(good, terrace_primitives::par::Threads::available())
        })
    }

    async fn send_raw_aggregated_transaction(&self, tx: String) -> RpcResult<SoftConfirmation> {
        let tx: AggregatedL2Transaction = decode_tx(&tx)?;
        let hash = hex_hash(&tx.hash());
        let receipt = self.shared.submit_aggregated(tx).map_err(refusal)?;
        Ok(soft(hash, receipt))
    }

    async fn send_raw_aggregated_transactions(
        &self,
        txs: Vec<String>,
    ) -> RpcResult<Vec<SubmitResult>> {
        submit_all(txs, AggregatedL2Transaction::hash, |good| {
            self.shared
                .submit_many_aggregated(good, terrace_primitives::par::Threads::available())
        })
    }

    async fn get_account(&self, account: String) -> RpcResult<AccountInfo> {
        let index = match account.parse::<u32>() {
            Ok(i) => i,
            Err(_) => {
                let found = if let Some(key) = parse_key(&account) {
                    self.shared.find_account(&key)
                } else if let Some(key) = parse_bls_key(&account) {
                    self.shared.find_account_bls(&key)
                } else {
                    return Err(RpcError::InvalidParams(
                        "expected an account index or a 0x-prefixed public or BLS key".into(),
                    )
                    .into());
                };
                found.ok_or_else(|| RpcError::NotFound(format!("no account of key {account}")))?
            }
        };
        let a = self
            .shared
            .account(index)
            .ok_or_else(|| RpcError::NotFound(format!("no account {index}")))?;
        Ok(AccountInfo {
            index,
            public_key: format!("0x{}", to_hex(a.key.as_ref())),
            bls_key: a.bls.map(|k| format!("0x{}", to_hex(k.as_bytes()))),
            balance: a.balance,
            nonce: a.nonce,
            view: if self.shared.fee_context().is_some() {
                "soft"
            } else {
                "posted"
            }
            .into(),
        })
    }

    async fn get_receipt(&self, hash: String) -> RpcResult<ReceiptInfo> {
        let h = parse_hash(&hash)
            .ok_or_else(|| RpcError::InvalidParams("expected a 0x-prefixed 32-byte hash".into()))?;
        let r = self
            .shared
            .receipt(&h)
            .ok_or_else(|| RpcError::NotFound(format!("no transaction {hash}")))?;
        let status = if r.finalized {
            "final"
        } else if r.posted {
            "posted"
        } else {
            "soft"
        };
        Ok(ReceiptInfo {
            soft: soft(hex_hash(&h), r.soft),
            status: status.into(),
        })
    }

    async fn status(&self) -> RpcResult<StatusInfo> {
        let s = self.shared.status();
        let rollup = self.shared.rollup().map(|(r, _)| r);
        Ok(StatusInfo {
            rollup: self.shared.with_derivation(|d| d.rollup()),
            soft: s.soft,
            posted: s.posted,
            finalized: s.finalized,
            batches: s.batches,
            final_batches: s.final_batches,
            l1_height: s.l1_height,
            escrow: rollup.as_ref().map(|r| r.escrow),
            inbox: rollup.as_ref().map(|r| (r.inbox_count, r.inbox_consumed)),
            config: rollup.map(|r| ConfigInfo {
                sequencer: r.config.sequencer,
                poster_bond: r.config.poster_bond,
                challenge_bond: r.config.challenge_bond,
                challenge_window_blocks: r.config.challenge_window_blocks,
                sequencing_window_blocks: r.config.sequencing_window_blocks,
                move_deadline_blocks: r.config.move_deadline_blocks,
                batch_bytes_max: r.config.batch_bytes_max,
            }),
            fees: self.shared.fee_context().map(|c| FeeInfo {
                fee_recipient: c.fee_recipient,
                l2_gas_price: c.l2_gas_price,
                l1_byte_price: c.l1_byte_price,
            }),
        })
    }

    async fn get_batches(&self, limit: Option<u64>) -> RpcResult<Vec<BatchInfo>> {
        let limit = limit.unwrap_or(20);
        if limit > MAX_BATCHES {
            return Err(RpcError::Limit(format!("at most {MAX_BATCHES} batches per call")).into());
        }
        let rollup = self.shared.rollup().map(|(r, _)| r);
        let all = self.shared.recent_batches();
        let skip = all.len().saturating_sub(limit as usize);
        Ok(all
            .into_iter()
            .skip(skip)
            .map(|b: BatchSummary| BatchInfo {
                index: b.index,
                l1_tx: hex_hash(&b.id),
                poster: b.poster,
                l1_height: b.l1_height,
                window_end: rollup.as_ref().map(|r| r.window_end(b.l1_height)),
                first_block: b.first_block,
                blocks: b.blocks,
                transactions: b.transactions,
                steps: b.steps,
                data_bytes: b.data_bytes,
                output_root: hex_hash(&b.claimed_root),
                valid: b.valid,
                status: b.status,
            })
            .collect())
    }

    async fn get_withdrawal(&self, index: u64) -> RpcResult<WithdrawalInfo> {
        let w = self
            .shared
            .withdrawal(index)
            .ok_or_else(|| RpcError::NotFound(format!("no withdrawal {index}")))?;
        let l1_height = self.shared.status().l1_height;
        Ok(WithdrawalInfo {
            index,
            recipient: w.withdrawal.recipient,
            amount: w.withdrawal.amount,
            stage: w.stage,
            batch: w.batch,
            window_end: w.window_end,
            l1_height,
            claimed: w.claimed,
            claim_op: w
                .claim
                .map(|c| format!("0x{}", to_hex(&RollupOp::Claim(Box::new(c)).encode()))),
        })
    }
}

/// Starts the API server on `addr` (port 0 picks one); returns the bound
/// address and a handle that stops it.
pub async fn serve(
    addr: SocketAddr,
    shared: Shared,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .http_only()
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(Api { shared }.into_rpc());
    Ok((bound, handle))
}
