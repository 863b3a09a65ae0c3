//! The `dac_*` JSON-RPC API a committee member serves: the operator
//! stores a batch's data and gets the member's signature; anyone reads a
//! stored batch back, or the member's status.
//!
//! Requests are bounded (a batch's data is at most the rollup's
//! `batch_bytes_max`, itself at most an L1 transaction), so a malformed or
//! oversized request is refused with a typed error before it is parsed
//! into anything the member keeps.

use super::member::{
    DacError, Member, MemberStatus, StoreRequest, Stored, signature_from_hex, signature_to_hex,
};
use crate::rpc::{fixed_bytes, hex, start_http};
use bytes::Bytes;
use commonware_codec::{Copying, DecodeExt as _, Encode as _};
use jsonrpsee::{core::RpcResult, proc_macros::rpc, server::ServerHandle};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use terrace_l1::modules::validity::{Felt, MemberSignature};
use terrace_node::rpc::RpcError;
use terrace_primitives::{PublicKey, Signature, codec::from_hex};

/// Largest request body: a batch's data in hex (an L1 transaction is at
/// most 128 KiB) with room for the rest.
pub const MAX_REQUEST_BYTES: u32 = 300 * 1024;
/// Largest response body: one batch's data in hex.
pub const MAX_RESPONSE_BYTES: u32 = 300 * 1024;
/// Most concurrent connections.
pub const MAX_CONNECTIONS: u32 = 64;

/// A batch's data offered by the operator, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreParams {
    /// The batch index.
    pub index: u64,
    /// Its slots.
    pub slots: u32,
    /// The public data (`0x` hex).
    pub data: String,
    /// The commitment its proof takes (`0x`, 32 bytes little-endian).
    pub commitment: String,
    /// The operator's L1 key (`0x`, 32 bytes).
    pub operator: String,
    /// The operator's signature over the request (`0x`, 64 bytes).
    pub signature: String,
}

/// A stored batch, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDataInfo {
    /// The batch index.
    pub index: u64,
    /// Its slots.
    pub slots: u32,
    /// Its commitment (`0x`).
    pub commitment: String,
    /// The data (`0x`).
    pub data: String,
}

fn fixed<const N: usize>(s: &str, what: &str) -> Result<[u8; N], DacError> {
    fixed_bytes(s).ok_or_else(|| DacError::Malformed(format!("{what}: expected 0x and {N} bytes")))
}

impl StoreParams {
    /// The JSON form of `req`.
    pub fn new(req: &StoreRequest) -> Self {
        Self {
            index: req.index,
            slots: req.slots,
            data: hex(&req.data),
            commitment: hex(&req.commitment),
            operator: hex(&req.operator.encode()),
            signature: hex(&req.signature.encode()),
        }
    }

    /// Parses the request (nothing checked yet but its shape).
    pub fn parse(&self) -> Result<StoreRequest, DacError> {
        let data = self
            .data
            .strip_prefix("0x")
            .and_then(from_hex)
            .ok_or_else(|| DacError::Malformed("data: expected 0x hex".into()))?;
        Ok(StoreRequest {
            index: self.index,
            slots: self.slots,
            data: Bytes::from(data),
            commitment: fixed::<32>(&self.commitment, "commitment")?,
            operator: PublicKey::decode(Copying(&fixed::<32>(&self.operator, "operator")?))
                .map_err(|_| DacError::Malformed("operator: not an Ed25519 key".into()))?,
            signature: Signature::decode(Copying(&fixed::<64>(&self.signature, "signature")?))
                .map_err(|_| DacError::Malformed("signature: not an Ed25519 signature".into()))?,
        })
    }
}

impl BatchDataInfo {
    /// The JSON form of `s`.
    pub fn new(s: &Stored) -> Self {
        Self {
            index: s.index,
            slots: s.slots,
            commitment: hex(&s.commitment),
            data: hex(&s.data),
        }
    }

    /// Parses the answer.
    pub fn parse(&self) -> Result<Stored, DacError> {
        Ok(Stored {
            index: self.index,
            slots: self.slots,
            commitment: fixed::<32>(&self.commitment, "commitment")?,
            data: Bytes::from(
                self.data
                    .strip_prefix("0x")
                    .and_then(from_hex)
                    .ok_or_else(|| DacError::Malformed("data: expected 0x hex".into()))?,
            ),
        })
    }
}

/// The API definition; `DacApiClient` is what the operator, full nodes and
/// the CLI call.
#[rpc(server, client, namespace = "dac")]
pub trait DacApi {
    /// Stores a batch's data (the rollup's operator only) and returns the
    /// member's signature over its attestation (`0x`: member index, then
    /// the 64-byte signature).
    #[method(name = "store")]
    async fn store(&self, request: StoreParams) -> RpcResult<String>;

    /// The data of batch `index` with `commitment` (`0x`), if stored.
    #[method(name = "getBatch")]
    async fn get_batch(&self, index: u64, commitment: String) -> RpcResult<Option<BatchDataInfo>>;

    /// The commitments stored for batch `index`.
    #[method(name = "versions")]
    async fn versions(&self, index: u64) -> RpcResult<Vec<String>>;

    /// What the member holds.
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<MemberStatus>;
}

fn rpc_error(e: DacError) -> RpcError {
    match e {
        DacError::Malformed(m) => RpcError::InvalidParams(m),
        DacError::Store(m) | DacError::Unavailable { reason: m, .. } => RpcError::Unavailable(m),
        other => RpcError::Rejected(other.to_string()),
    }
}

struct Api {
    member: Arc<Mutex<Member>>,
}

impl Api {
    fn member(&self) -> std::sync::MutexGuard<'_, Member> {
        self.member.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[jsonrpsee::core::async_trait]
impl DacApiServer for Api {
    async fn store(&self, request: StoreParams) -> RpcResult<String> {
        let req = request.parse().map_err(rpc_error)?;
        let sig = self.member().store(&req).map_err(rpc_error)?;
        Ok(signature_to_hex(&sig))
    }

    async fn get_batch(&self, index: u64, commitment: String) -> RpcResult<Option<BatchDataInfo>> {
        let commitment = fixed::<32>(&commitment, "commitment").map_err(rpc_error)?;
        Ok(self
            .member()
            .get(index, &commitment)
            .map(|s| BatchDataInfo::new(&s)))
    }

    async fn versions(&self, index: u64) -> RpcResult<Vec<String>> {
        Ok(self
            .member()
            .versions(index)
            .iter()
            .map(|c| hex(c))
            .collect())
    }

    async fn status(&self) -> RpcResult<MemberStatus> {
        Ok(self.member().status())
    }
}

/// Parses a member's signature as `dac_store` returns it.
pub fn parse_signature(s: &str) -> Result<MemberSignature, DacError> {
    signature_from_hex(s)
}

/// The commitment as `dac_getBatch` takes it.
pub fn commitment_param(c: &Felt) -> String {
    hex(c)
}

/// Starts a member's API server on `addr` (port 0 picks one); returns the
/// bound address and a handle that stops it.
pub async fn serve(
    addr: SocketAddr,
    member: Arc<Mutex<Member>>,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let limits = (MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, MAX_CONNECTIONS);
    start_http(addr, limits, Api { member }.into_rpc()).await
}
