//! The `l1_*` JSON-RPC API over HTTP and WebSocket (one port), with bounded
//! request and response sizes and typed errors.
//!
//! The server only translates: everything it answers comes from a
//! [`Backend`], which the node implements over its stores and pool.

pub mod backend;
pub mod types;

use commonware_codec::DecodeExt as _;
use futures::future::BoxFuture;
use jsonrpsee::{
    PendingSubscriptionSink, SubscriptionMessage,
    core::{RpcResult, SubscriptionResult},
    proc_macros::rpc,
    server::{Server, ServerConfig, ServerHandle},
    types::ErrorObjectOwned,
};
use std::net::SocketAddr;
use terrace_primitives::{Address, codec::from_hex};
pub use types::*;

/// Largest request body (a batch of transactions fits in 4 MiB).
pub const MAX_REQUEST_BYTES: u32 = 4 * 1024 * 1024;
/// Largest response body.
pub const MAX_RESPONSE_BYTES: u32 = 16 * 1024 * 1024;
/// Most transactions in one `l1_sendRawTransactions` call.
pub const MAX_BATCH_TXS: usize = 1_000;
/// Longest state key `l1_getRecord` reads, in hex digits.
pub const MAX_KEY_HEX: usize = 256;
/// Most concurrent connections.
pub const MAX_CONNECTIONS: u32 = 256;

/// JSON-RPC error codes beyond the standard ones (-32700 parse error,
/// -32600 invalid request, -32601 unknown method, -32602 invalid params).
pub mod code {
    /// The transaction bytes do not decode, or fail a stateless check
    /// (signature, chain id, fee fields, size).
    pub const INVALID_TRANSACTION: i32 = -32001;
    /// The pool refused the transaction (nonce, balance, fee, limits).
    pub const REJECTED: i32 = -32002;
    /// No such block or transaction.
    pub const NOT_FOUND: i32 = -32003;
    /// The node cannot answer now (starting, syncing, store error).
    pub const UNAVAILABLE: i32 = -32004;
    /// The request exceeds a limit of this API.
    pub const LIMIT: i32 = -32005;
}

/// A typed API error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Bad transaction bytes.
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),
    /// Refused by the pool.
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// Not found.
    #[error("not found: {0}")]
    NotFound(String),
    /// Temporarily unable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bad parameter the type system could not catch.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// Over a limit.
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        let code = match &e {
            RpcError::InvalidTransaction(_) => code::INVALID_TRANSACTION,
            RpcError::Rejected(_) => code::REJECTED,
            RpcError::NotFound(_) => code::NOT_FOUND,
            RpcError::Unavailable(_) => code::UNAVAILABLE,
            RpcError::InvalidParams(_) => jsonrpsee::types::error::INVALID_PARAMS_CODE,
            RpcError::Limit(_) => code::LIMIT,
        };
        ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
    }
}

/// What the API reads and writes; the node implements it.
pub trait Backend: Send + Sync + 'static {
    /// Checks a transaction and adds it to the pool (and gossips it).
    fn submit(&self, tx: Vec<u8>) -> BoxFuture<'_, Result<String, RpcError>>;
    /// The record under a key at the last finalized block.
    fn record(
        &self,
        key: terrace_l1::Key,
        proof: bool,
    ) -> BoxFuture<'_, Result<RecordInfo, RpcError>>;
    /// An account at the last finalized block.
    fn account(
        &self,
        address: Address,
        proof: bool,
    ) -> BoxFuture<'_, Result<AccountInfo, RpcError>>;
    /// A block.
    fn block(&self, id: BlockId) -> BoxFuture<'_, Result<BlockInfo, RpcError>>;
    /// A transaction and its receipt.
    fn transaction(
        &self,
        hash: terrace_primitives::Hash,
    ) -> BoxFuture<'_, Result<TxInfo, RpcError>>;
    /// The chain's status.
    fn chain_info(&self) -> BoxFuture<'_, Result<ChainInfo, RpcError>>;
    /// Fee suggestion.
    fn estimate_fee(&self) -> BoxFuture<'_, Result<FeeEstimate, RpcError>>;
    /// A feed of finalized blocks, in height order.
    fn finalized_blocks(&self) -> tokio::sync::broadcast::Receiver<BlockInfo>;
}

/// The API definition; `L1ApiClient` is what the CLI calls.
#[rpc(server, client, namespace = "l1")]
pub trait L1Api {
    /// Submits a hex-encoded signed transaction; returns its id.
    #[method(name = "sendRawTransaction")]
    async fn send_raw_transaction(&self, tx: String) -> RpcResult<String>;

    /// Submits up to [`MAX_BATCH_TXS`] transactions; one result each.
    #[method(name = "sendRawTransactions")]
    async fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SubmitResult>>;

    /// An account (balance, nonce) at the last finalized block, with a
    /// proof against its state root when `proof` is true.
    #[method(name = "getAccount")]
    async fn get_account(&self, address: String, proof: Option<bool>) -> RpcResult<AccountInfo>;

    /// The record under a state key (`0x` hex of its encoding) at the
    /// last finalized block, with a proof when `proof` is true.
    #[method(name = "getRecord")]
    async fn get_record(&self, key: String, proof: Option<bool>) -> RpcResult<RecordInfo>;

    /// A block by height, hash, `"latest"` or `"finalized"`.
    #[method(name = "getBlock")]
    async fn get_block(&self, id: BlockId) -> RpcResult<BlockInfo>;

    /// A transaction by id, with its receipt once finalized.
    #[method(name = "getTransaction")]
    async fn get_transaction(&self, hash: String) -> RpcResult<TxInfo>;

    /// A transaction's receipt, once finalized.
    #[method(name = "getReceipt")]
    async fn get_receipt(&self, hash: String) -> RpcResult<ReceiptInfo>;

    /// Heights, base fee, epoch and committee.
    #[method(name = "chainInfo")]
    async fn chain_info(&self) -> RpcResult<ChainInfo>;

    /// Suggested fees for the next block.
    #[method(name = "estimateFee")]
    async fn estimate_fee(&self) -> RpcResult<FeeEstimate>;

    /// Every finalized block, as it finalizes (WebSocket only).
    #[subscription(name = "subscribeFinalized" => "finalized", unsubscribe = "unsubscribeFinalized", item = BlockInfo)]
    async fn subscribe_finalized(&self) -> SubscriptionResult;
}

/// Serves the API for a backend.
pub struct Api<B> {
    backend: std::sync::Arc<B>,
}

impl<B> std::fmt::Debug for Api<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

fn parse_tx_hex(tx: &str) -> Result<Vec<u8>, RpcError> {
    from_hex(tx.strip_prefix("0x").unwrap_or(tx))
        .ok_or_else(|| RpcError::InvalidTransaction("not hex".into()))
}

fn parse_tx_hash(hash: &str) -> Result<terrace_primitives::Hash, RpcError> {
    parse_hash(hash)
        .ok_or_else(|| RpcError::InvalidParams("expected a 0x-prefixed 32-byte hash".into()))
}

#[jsonrpsee::core::async_trait]
impl<B: Backend> L1ApiServer for Api<B> {
    async fn send_raw_transaction(&self, tx: String) -> RpcResult<String> {
        let bytes = parse_tx_hex(&tx)?;
        Ok(self.backend.submit(bytes).await?)
    }

    async fn send_raw_transactions(&self, txs: Vec<String>) -> RpcResult<Vec<SubmitResult>> {
        if txs.len() > MAX_BATCH_TXS {
            return Err(RpcError::Limit(format!(
                "{} transactions, at most {MAX_BATCH_TXS} per call",
                txs.len()
            ))
            .into());
        }
        let mut out = Vec::with_capacity(txs.len());
        for tx in txs {
            let result = match parse_tx_hex(&tx) {
                Ok(bytes) => self.backend.submit(bytes).await,
                Err(e) => Err(e),
            };
            out.push(match result {
                Ok(hash) => SubmitResult {
                    hash: Some(hash),
                    error: None,
                },
                Err(e) => SubmitResult {
                    hash: None,
                    error: Some(e.to_string()),
                },
            });
        }
        Ok(out)
    }

    async fn get_account(&self, address: String, proof: Option<bool>) -> RpcResult<AccountInfo> {
        let address: Address = address
            .parse()
            .map_err(|e| RpcError::InvalidParams(format!("address: {e}")))?;
        Ok(self
            .backend
            .account(address, proof.unwrap_or(false))
            .await?)
    }

    async fn get_record(&self, key: String, proof: Option<bool>) -> RpcResult<RecordInfo> {
        // Every key encodes in far fewer bytes; refuse before decoding.
        if key.len() > MAX_KEY_HEX {
            return Err(RpcError::Limit(format!("a key of {} hex digits", key.len())).into());
        }
        let bytes = from_hex(&key).ok_or_else(|| RpcError::InvalidParams("key: not hex".into()))?;
        let key = terrace_l1::Key::decode(commonware_codec::Copying(&bytes))
            .map_err(|e| RpcError::InvalidParams(format!("key: {e}")))?;
        Ok(self.backend.record(key, proof.unwrap_or(false)).await?)
    }

    async fn get_block(&self, id: BlockId) -> RpcResult<BlockInfo> {
        Ok(self.backend.block(id).await?)
    }

    async fn get_transaction(&self, hash: String) -> RpcResult<TxInfo> {
        let hash = parse_tx_hash(&hash)?;
        Ok(self.backend.transaction(hash).await?)
    }

    async fn get_receipt(&self, hash: String) -> RpcResult<ReceiptInfo> {
        let hash = parse_tx_hash(&hash)?;
        let tx = self.backend.transaction(hash).await?;
        Ok(tx.receipt.ok_or_else(|| {
            RpcError::NotFound(format!("{} is pending, not yet finalized", tx.hash))
        })?)
    }

    async fn chain_info(&self) -> RpcResult<ChainInfo> {
        Ok(self.backend.chain_info().await?)
    }

    async fn estimate_fee(&self) -> RpcResult<FeeEstimate> {
        Ok(self.backend.estimate_fee().await?)
    }

    async fn subscribe_finalized(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut feed = self.backend.finalized_blocks();
        let sink = pending.accept().await?;
        loop {
            let block = match feed.recv().await {
                Ok(block) => block,
                // A slow subscriber skips blocks rather than holding the node.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return Ok(()),
            };
            let message = SubscriptionMessage::from(serde_json::value::to_raw_value(&block)?);
            if sink.send(message).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// Starts the API server on `addr` (port 0 picks one); returns the bound
/// address and a handle that stops it.
pub async fn serve<B: Backend>(
    addr: SocketAddr,
    backend: std::sync::Arc<B>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .max_connections(MAX_CONNECTIONS)
        .max_subscriptions_per_connection(16)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    let handle = server.start(Api { backend }.into_rpc());
    Ok((bound, handle))
}
