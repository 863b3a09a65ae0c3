//! The `zk_*` JSON-RPC API over HTTP, served from a node's [`Shared`]
//! state: send a signed transfer or withdrawal and get its soft
//! confirmation at once; read accounts, receipts, batches, withdrawals
//! with their L1 claims, and exodus exit proofs.
//!
//! Shapes follow the `l1_*` and `l2_*` APIs: camelCase fields, keys,
//! signatures and byte strings `0x` hex, amounts (in L2 units of 10⁻⁹ TER)
//! decimal strings, heights numbers; errors use their codes
//! ([`terrace_node::rpc::code`]).

use crate::{
    node::Shared,
    operator::{L2Op, SoftReceipt, Stage, SubmitError},
};
use jsonrpsee::{
    core::RpcResult,
    proc_macros::rpc,
    server::{Server, ServerConfig, ServerHandle},
};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use terrace_l1::modules::validity::ZkOp;
use terrace_node::rpc::{RpcError, hex_hash, parse_hash};
use terrace_primitives::{
    Address,
    codec::{from_hex, to_hex},
};
use terrace_zk::{
    babyjubjub::{PublicKey, Signature},
    fr_to_le,
    groth16::VerifyingKey,
    ops::{Transfer, Withdraw},
    snarkjs,
};

/// Largest request body (one signed operation is a few hundred bytes).
pub const MAX_REQUEST_BYTES: u32 = 64 * 1024;
/// Largest response body (a page of batches or withdrawals).
pub const MAX_RESPONSE_BYTES: u32 = 4 * 1024 * 1024;
/// Most items in one list answer.
pub const MAX_ITEMS: u64 = 256;
/// Most concurrent connections.
pub const MAX_CONNECTIONS: u32 = 256;

/// A signed transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferRequest {
    /// Sender account.
    pub from: u32,
    /// Recipient's packed key (`0x`, 32 bytes): their account, or a new one.
    pub to: String,
    /// Amount in units.
    pub amount: String,
    /// The sender's nonce.
    pub nonce: u64,
    /// Packed EdDSA-Poseidon signature (`0x`, 64 bytes).
    pub signature: String,
}

/// A signed withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawRequest {
    /// Account.
    pub from: u32,
    /// L1 recipient.
    pub to: Address,
    /// Amount in units.
    pub amount: String,
    /// The account's nonce.
    pub nonce: u64,
    /// Packed signature.
    pub signature: String,
}

impl TransferRequest {
    /// The request for `t`.
    pub fn new(t: &Transfer) -> Self {
        Self {
            from: t.from,
            to: hex(&t.to.pack()),
            amount: t.amount.to_string(),
            nonce: t.nonce,
            signature: hex(&t.signature.pack()),
        }
    }
}

impl WithdrawRequest {
    /// The request for `w`.
    pub fn new(w: &Withdraw) -> Self {
        Self {
            from: w.from,
            to: Address(w.to),
            amount: w.amount.to_string(),
            nonce: w.nonce,
            signature: hex(&w.signature.pack()),
        }
    }
}

/// A soft confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftConfirmation {
    /// Operation id.
    pub id: String,
    /// Sending account.
    pub account: u32,
    /// Its nonce.
    pub nonce: u64,
}

/// An L2 account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Index in the account tree.
    pub index: u32,
    /// Packed key.
    pub public_key: String,
    /// Balance in units.
    pub balance: String,
    /// Next nonce.
    pub nonce: u64,
    /// `soft` (the operator's state) or `proven` (on L1).
    pub view: String,
    /// Balance in the last proven state (absent for an account not yet
    /// proven).
    pub proven_balance: Option<String>,
}

/// Where an operation stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptInfo {
    /// Operation id.
    pub id: String,
    /// `queued`, `batched` (being proven or posted), `final` (its proof
    /// verified on L1) or `dropped`.
    pub stage: String,
    /// Its batch.
    pub batch: Option<u64>,
}

/// The rollup and the node's view of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// Rollup id.
    pub rollup: u64,
    /// The domain signatures bind (`0x`, 32 bytes little-endian).
    pub domain: String,
    /// Account tree depth.
    pub depth: u8,
    /// The operator's L1 address.
    pub operator: Address,
    /// Batch sizes with a verification key on L1.
    pub batch_sizes: Vec<u32>,
    /// The account root proven on L1.
    pub root: String,
    /// Escrow on L1 (base units).
    pub escrow: String,
    /// Proven batches.
    pub batches: u64,
    /// Operations soft-confirmed and waiting for a batch.
    pub queued: u64,
    /// Batches cut and not yet on L1.
    pub pending_batches: u64,
    /// Inbox entries on L1.
    pub inbox: u64,
    /// Inbox entries consumed.
    pub inbox_consumed: u64,
    /// Accounts proven.
    pub accounts: u64,
    /// Last finalized L1 height followed.
    pub l1_height: u64,
    /// L1 blocks without a batch before anyone may freeze it.
    pub exodus_after_blocks: u64,
    /// L1 height of the last proven batch.
    pub last_batch_height: u64,
    /// The L1 height it was frozen at.
    pub frozen_at: Option<u64>,
}

/// A proven batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    /// Index.
    pub index: u64,
    /// Slots of its proof.
    pub slots: u32,
    /// Operations posted.
    pub ops: usize,
    /// Bytes of its public data.
    pub data_bytes: usize,
    /// Of them, bytes carried on L1 (all on a zk-rollup, none on a
    /// validium, whose committee keeps them).
    pub posted_bytes: usize,
    /// The account root after it.
    pub root: String,
    /// L1 height it was proven at (final there).
    pub l1_height: u64,
}

/// A withdrawal of a proven batch and its claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalInfo {
    /// Batch.
    pub batch: u64,
    /// Slot.
    pub slot: u32,
    /// L1 recipient.
    pub to: Address,
    /// Amount in units.
    pub amount: String,
    /// Whether it was claimed on L1.
    pub claimed: bool,
    /// The encoded `ZkOp::Claim` to send on L1 (`0x`).
    pub claim_op: String,
}

/// What an exodus exit proves: an account's leaf in the proven root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExitProofInfo {
    /// Account.
    pub account: u32,
    /// Its packed key.
    pub public_key: String,
    /// Balance in units.
    pub balance: String,
    /// Nonce.
    pub nonce: u64,
    /// Siblings from the leaf up (`0x`, 32 bytes each).
    pub path: Vec<String>,
    /// The root they lead to.
    pub root: String,
}

/// The API definition; `ZkApiClient` is what the CLI calls.
#[rpc(server, client, namespace = "zk")]
pub trait ZkApi {
    /// Sends a signed transfer; returns its soft confirmation, or why the
    /// operator refused it.
    #[method(name = "sendTransfer")]
    async fn send_transfer(&self, tx: TransferRequest) -> RpcResult<SoftConfirmation>;

    /// Sends a signed withdrawal.
    #[method(name = "sendWithdrawal")]
    async fn send_withdrawal(&self, tx: WithdrawRequest) -> RpcResult<SoftConfirmation>;

    /// An account by index (`"7"`) or packed key (`"0x…"`, its first).
    #[method(name = "getAccount")]
    async fn get_account(&self, account: String) -> RpcResult<AccountInfo>;

    /// Where an operation stands.
    #[method(name = "getReceipt")]
    async fn get_receipt(&self, id: String) -> RpcResult<ReceiptInfo>;

    /// The rollup's parameters and the node's view.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<StatusInfo>;

    /// The last `limit` proven batches (at most [`MAX_ITEMS`]).
    #[method(name = "getBatches")]
    async fn get_batches(&self, limit: Option<u64>) -> RpcResult<Vec<BatchInfo>>;

    /// The newest withdrawals to `address` (at most [`MAX_ITEMS`]), with
    /// their claims.
    #[method(name = "getWithdrawals")]
    async fn get_withdrawals(&self, address: Address) -> RpcResult<Vec<WithdrawalInfo>>;

    /// An account's exit proof against the proven root.
    #[method(name = "getExitProof")]
    async fn get_exit_proof(&self, account: u32) -> RpcResult<ExitProofInfo>;

    /// The verification key registered on L1 for batches of `slots`, in
    /// snarkjs's `verification_key.json` format.
    #[method(name = "getVerificationKey")]
    async fn get_verification_key(&self, slots: u32) -> RpcResult<serde_json::Value>;

    /// A proven batch's proof and public signals, in snarkjs's formats
    /// (`snarkjs groth16 verify` checks them against the key above).
    #[method(name = "getProof")]
    async fn get_proof(&self, batch: u64) -> RpcResult<ProofInfo>;
}

/// A batch's proof as snarkjs reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofInfo {
    /// Batch.
    pub batch: u64,
    /// Slots (which key verifies it).
    pub slots: u32,
    /// `proof.json`.
    pub proof: serde_json::Value,
    /// `public.json`: domain, old root, new root, data, inbox from, inbox
    /// to, withdrawals root.
    pub public_signals: serde_json::Value,
}

/// `0x` hex, as every `zk_*` and `dac_*` byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    format!("0x{}", to_hex(bytes))
}

/// `N` bytes from `0x` hex; `None` on anything else.
pub(crate) fn fixed_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    s.strip_prefix("0x")
        .and_then(from_hex)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
}

fn fixed<const N: usize>(s: &str, what: &str) -> Result<[u8; N], RpcError> {
    fixed_bytes(s)
        .ok_or_else(|| RpcError::InvalidParams(format!("{what}: expected 0x and {N} bytes")))
}

fn units(s: &str) -> Result<u64, RpcError> {
    s.parse()
        .map_err(|_| RpcError::InvalidParams(format!("amount {s:?}: expected units as u64")))
}

fn signature(s: &str) -> Result<Signature, RpcError> {
    Signature::unpack(&fixed::<64>(s, "signature")?)
        .map_err(|e| RpcError::InvalidTransaction(format!("signature: {e}")))
}

impl TryFrom<&TransferRequest> for Transfer {
    type Error = RpcError;
    fn try_from(r: &TransferRequest) -> Result<Self, RpcError> {
        Ok(Transfer {
            from: r.from,
            to: PublicKey::unpack(&fixed::<32>(&r.to, "to")?)
                .map_err(|e| RpcError::InvalidTransaction(format!("to: {e}")))?,
            amount: units(&r.amount)?,
            nonce: r.nonce,
            signature: signature(&r.signature)?,
        })
    }
}

impl TryFrom<&WithdrawRequest> for Withdraw {
    type Error = RpcError;
    fn try_from(r: &WithdrawRequest) -> Result<Self, RpcError> {
        Ok(Withdraw {
            from: r.from,
            to: r.to.0,
            amount: units(&r.amount)?,
            nonce: r.nonce,
            signature: signature(&r.signature)?,
        })
    }
}

/// The time operations are stamped with as they arrive, in milliseconds
/// of the node's clock (their batch is cut when the oldest has waited
/// long enough).
pub type Now = Box<dyn Fn() -> u64 + Send + Sync>;

/// Serves the API over a node's state.
pub struct Api {
    shared: Shared,
    now: Now,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Api")
    }
}

fn confirmation(r: SoftReceipt) -> SoftConfirmation {
    SoftConfirmation {
        id: hex_hash(&r.id),
        account: r.account,
        nonce: r.nonce,
    }
}

fn refusal(e: SubmitError) -> RpcError {
    match e {
        SubmitError::Busy(_) | SubmitError::Syncing => RpcError::Unavailable(e.to_string()),
        e => RpcError::Rejected(e.to_string()),
    }
}

impl Api {
    fn submit(&self, op: L2Op) -> RpcResult<SoftConfirmation> {
        let now = (self.now)();
        Ok(confirmation(self.shared.submit(&op, now).map_err(refusal)?))
    }
}

#[jsonrpsee::core::async_trait]
impl ZkApiServer for Api {
    async fn send_transfer(&self, tx: TransferRequest) -> RpcResult<SoftConfirmation> {
        self.submit(L2Op::Transfer(Transfer::try_from(&tx)?))
    }

    async fn send_withdrawal(&self, tx: WithdrawRequest) -> RpcResult<SoftConfirmation> {
        self.submit(L2Op::Withdraw(Withdraw::try_from(&tx)?))
    }

    async fn get_account(&self, account: String) -> RpcResult<AccountInfo> {
        let index = if account.starts_with("0x") {
            let key = PublicKey::unpack(&fixed::<32>(&account, "account")?)
                .map_err(|e| RpcError::InvalidParams(format!("account: {e}")))?;
            self.shared
                .with_state(|s, _| s.find(&key))
                .ok_or_else(|| RpcError::NotFound(format!("no account of key {account}")))?
        } else {
            account.parse().map_err(|_| {
                RpcError::InvalidParams(format!("account {account:?}: an index or a 0x key"))
            })?
        };
        let proven = self
            .shared
            .with_follower(|f| f.state().account(index).map(|a| a.balance));
        let (acc, soft) = self
            .shared
            .with_state(|s, soft| (s.account(index).copied(), soft));
        let acc = acc.ok_or_else(|| RpcError::NotFound(format!("no account {index}")))?;
        Ok(AccountInfo {
            index,
            public_key: hex(&acc.key.pack()),
            balance: acc.balance.to_string(),
            nonce: acc.nonce,
            view: if soft { "soft" } else { "proven" }.into(),
            proven_balance: proven.map(|b| b.to_string()),
        })
    }

    async fn get_receipt(&self, id: String) -> RpcResult<ReceiptInfo> {
        let hash = parse_hash(&id).ok_or_else(|| RpcError::InvalidParams(format!("id {id:?}")))?;
        let stage = self
            .shared
            .stage(&hash)
            .ok_or_else(|| RpcError::NotFound(format!("operation {id}")))?;
        let (name, batch) = match stage {
            Stage::Queued => ("queued", None),
            Stage::Batched(b) => ("batched", Some(b)),
            Stage::Final(b) => ("final", Some(b)),
            Stage::Dropped => ("dropped", None),
        };
        Ok(ReceiptInfo {
            id,
            stage: name.into(),
            batch,
        })
    }

    async fn status(&self) -> RpcResult<StatusInfo> {
        let r = self
            .shared
            .rollup()
            .ok_or_else(|| RpcError::Unavailable("the node has not read L1 yet".into()))?;
        let s = self.shared.status();
        let rollup = self.shared.with_follower(|f| f.rollup());
        Ok(StatusInfo {
            rollup,
            domain: hex(&r.domain),
            depth: r.config.depth,
            operator: r.config.operator,
            batch_sizes: r.config.verifiers.iter().map(|v| v.slots).collect(),
            root: hex(&r.root),
            escrow: r.escrow.0.to_string(),
            batches: s.batches,
            queued: s.queued,
            pending_batches: s.pending_batches,
            inbox: s.inbox,
            inbox_consumed: s.inbox_consumed,
            accounts: s.accounts,
            l1_height: s.l1_height,
            exodus_after_blocks: r.config.exodus_after_blocks,
            last_batch_height: r.last_batch_height,
            frozen_at: r.frozen_at,
        })
    }

    async fn get_batches(&self, limit: Option<u64>) -> RpcResult<Vec<BatchInfo>> {
        let limit = limit.unwrap_or(16).min(MAX_ITEMS) as usize;
        Ok(self.shared.with_follower(|f| {
            let all = f.batches();
            all[all.len().saturating_sub(limit)..]
                .iter()
                .map(|b| BatchInfo {
                    index: b.index,
                    slots: b.slots,
                    ops: b.ops,
                    data_bytes: b.data_bytes,
                    posted_bytes: b.posted_bytes,
                    root: hex(&fr_to_le(&b.root)),
                    l1_height: b.height,
                })
                .collect()
        }))
    }

    async fn get_withdrawals(&self, address: Address) -> RpcResult<Vec<WithdrawalInfo>> {
        Ok(self.shared.with_follower(|f| {
            let mut out: Vec<WithdrawalInfo> = f
                .withdrawals()
                .iter()
                .rev()
                .filter(|w| w.to == address)
                .take(MAX_ITEMS as usize)
                .filter_map(|w| {
                    let claim = f.claim(w.batch, w.slot)?;
                    Some(WithdrawalInfo {
                        batch: w.batch,
                        slot: w.slot,
                        to: w.to,
                        amount: w.amount.to_string(),
                        claimed: w.claimed,
                        claim_op: hex(&commonware_codec::Encode::encode(&ZkOp::Claim(Box::new(
                            claim,
                        )))),
                    })
                })
                .collect();
            out.reverse();
            out
        }))
    }

    async fn get_exit_proof(&self, account: u32) -> RpcResult<ExitProofInfo> {
        self.shared.with_follower(|f| {
            let (acc, path) = f
                .state()
                .exit_proof(account)
                .ok_or_else(|| RpcError::NotFound(format!("no proven account {account}")))?;
            Ok(ExitProofInfo {
                account,
                public_key: hex(&acc.key.pack()),
                balance: acc.balance.to_string(),
                nonce: acc.nonce,
                path: path.iter().map(|s| hex(&fr_to_le(s))).collect(),
                root: hex(&fr_to_le(&f.state().root())),
            })
        })
    }

    async fn get_verification_key(&self, slots: u32) -> RpcResult<serde_json::Value> {
        Ok(self.verification_key(slots)?)
    }

    async fn get_proof(&self, batch: u64) -> RpcResult<ProofInfo> {
        self.shared.with_follower(|f| {
            let b = usize::try_from(batch)
                .ok()
                .and_then(|i| f.batches().get(i))
                .ok_or_else(|| RpcError::NotFound(format!("no proven batch {batch}")))?;
            Ok(ProofInfo {
                batch,
                slots: b.slots,
                proof: snarkjs::proof(&b.proof),
                public_signals: snarkjs::public(&b.statement.inputs()),
            })
        })
    }
}

impl Api {
    fn verification_key(&self, slots: u32) -> Result<serde_json::Value, RpcError> {
        let r = self
            .shared
            .rollup()
            .ok_or_else(|| RpcError::Unavailable("the node has not read L1 yet".into()))?;
        let v = r
            .config
            .verifier(slots)
            .ok_or_else(|| RpcError::NotFound(format!("no key for batches of {slots}")))?;
        let vk = VerifyingKey::from_bytes(&v.key)
            .map_err(|e| RpcError::Unavailable(format!("registered key: {e}")))?;
        Ok(snarkjs::verification_key(&vk))
    }
}

/// Starts the API server on `addr` (port 0 picks one), stamping
/// operations with `now`; returns the bound address and a handle that
/// stops it.
pub async fn serve(
    addr: SocketAddr,
    shared: Shared,
    now: Now,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let limits = (MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_CONNECTIONS);
    start_http(addr, limits, Api { shared, now }.into_rpc()).await
}

/// Serves `methods` over HTTP on `addr` with (request bytes, response
/// bytes, connections) `limits`.
pub(crate) async fn start_http(
    addr: SocketAddr,
    (request, response, connections): (u32, u32, u32),
    methods: impl Into<jsonrpsee::Methods>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(request)
        .max_response_body_size(response)
        .max_connections(connections)
        .http_only()
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let bound = server.local_addr()?;
    Ok((bound, server.start(methods)))
}
