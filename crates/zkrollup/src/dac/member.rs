//! One committee member: what it accepts, what it signs, and its store.
//!
//! The store is a directory with one file per batch version (index and
//! commitment; an operator whose batch failed on L1 cuts that index
//! again): the batch size and the data, written to a temporary file,
//! synced, renamed into place and the directory synced — **before** the
//! member signs, so a signature never outlives a crash that lost the data.
//! On open every file is read back and checked against the commitment its
//! name says; a file that does not match (torn by a crash before its
//! rename could not be, but a disk can rot) is set aside, never served.

use bytes::Bytes;
use commonware_codec::{DecodeExt as _, Encode as _};
use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};
use terrace_l1::modules::validity::{
    DAC_NAMESPACE, DataMode, Felt, MemberSignature, ZkRollup, attestation_message,
};
use terrace_primitives::{
    Address, PrivateKey, PublicKey, Signature,
    codec::{from_hex, to_hex},
    keys::{self, Signer as _},
};
use terrace_zk::{fr_to_le, ops as zkops, ops::PubOp};

/// Namespace of the operator's signature over a store request: it can
/// pass for nothing else its L1 key signs.
pub const STORE_NAMESPACE: &[u8] = b"terrace/dac/store";

/// Why a member refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DacError {
    /// The rollup keeps its data on L1: it has no committee.
    #[error("the rollup keeps its data on L1: it has no committee")]
    NoCommittee,
    /// This key is not one of the rollup's committee.
    #[error("key {0} is not a member of the rollup's committee")]
    NotAMember(String),
    /// The request is not signed by the rollup's operator.
    #[error("the request is not signed by the rollup's operator")]
    NotOperator,
    /// No verification key for this batch size.
    #[error("the rollup has no batches of {0} slots")]
    UnknownBatchSize(u32),
    /// More data than the rollup's batches may have.
    #[error("{got} bytes of data: the rollup's batches have at most {max}")]
    TooLarge {
        /// Bytes sent.
        got: usize,
        /// The rollup's bound.
        max: u64,
    },
    /// The data does not decode as a batch of its size (cut short, say).
    #[error("the data does not decode as a batch of {slots} slots: {reason}")]
    BadData {
        /// Its size.
        slots: u32,
        /// The decoder's reason.
        reason: String,
    },
    /// The data commits to another commitment than the one to sign.
    #[error("the data does not match the commitment")]
    CommitmentMismatch,
    /// A request field does not decode.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The member cannot be reached or did not answer.
    #[error("member {member} unavailable: {reason}")]
    Unavailable {
        /// Its index.
        member: u8,
        /// Why.
        reason: String,
    },
    /// Its store failed (disk full, permissions).
    #[error("store: {0}")]
    Store(String),
}

impl From<io::Error> for DacError {
    fn from(e: io::Error) -> Self {
        DacError::Store(e.to_string())
    }
}

/// What a member needs to know of its rollup, read from L1 once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// The rollup's domain (binds chain and rollup).
    pub domain: Felt,
    /// Its account tree depth (the data's encoding depends on it).
    pub depth: u8,
    /// Its batch sizes.
    pub sizes: Vec<u32>,
    /// Most bytes of data per batch.
    pub batch_bytes_max: u64,
    /// Its operator's L1 address: the only one who may store.
    pub operator: Address,
    /// This member's index in the committee.
    pub member: u8,
    /// The committee's size and threshold.
    pub committee: (usize, u8),
}

impl MemberView {
    /// The view of the member with `key` in the rollup `record`.
    pub fn new(record: &ZkRollup, key: &PublicKey) -> Result<Self, DacError> {
        let DataMode::Committee(c) = &record.config.data else {
            return Err(DacError::NoCommittee);
        };
        let member = c
            .members
            .iter()
            .position(|m| m == key)
            .and_then(|i| u8::try_from(i).ok())
            .ok_or_else(|| DacError::NotAMember(to_hex(key.as_ref())))?;
        Ok(Self {
            domain: record.domain,
            depth: record.config.depth,
            sizes: record.config.verifiers.iter().map(|v| v.slots).collect(),
            batch_bytes_max: record.config.batch_bytes_max,
            operator: record.config.operator,
            member,
            committee: (c.members.len(), c.threshold),
        })
    }
}

/// A batch's data offered by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRequest {
    /// The batch index it will be posted as.
    pub index: u64,
    /// Its slots.
    pub slots: u32,
    /// The public data.
    pub data: Bytes,
    /// The commitment its proof takes.
    pub commitment: Felt,
    /// The operator's L1 key.
    pub operator: PublicKey,
    /// The operator's signature over [`StoreRequest::message`].
    pub signature: Signature,
}

impl StoreRequest {
    /// The request for batch `index` of `slots` with `data`, signed by the
    /// operator's L1 key (the commitment computed from the data).
    pub fn new(
        key: &PrivateKey,
        depth: u8,
        index: u64,
        slots: u32,
        data: Bytes,
    ) -> Result<Self, DacError> {
        let commitment = commitment_of(&data, slots, depth)?;
        Ok(Self::signed(key, index, slots, data, commitment))
    }

    /// The request as given, signed by the operator's L1 key: `data` need
    /// not match `commitment` (an honest member then refuses it).
    pub fn signed(key: &PrivateKey, index: u64, slots: u32, data: Bytes, commitment: Felt) -> Self {
        let message = Self::message(index, slots, &commitment);
        Self {
            index,
            slots,
            data,
            commitment,
            operator: key.public_key(),
            signature: keys::sign(key, STORE_NAMESPACE, &message),
        }
    }

    /// What the operator signs: the batch index, its size and its
    /// commitment (the data is bound through the commitment).
    pub fn message(index: u64, slots: u32, commitment: &Felt) -> [u8; 44] {
        let mut m = [0u8; 44];
        m[..8].copy_from_slice(&index.to_be_bytes());
        m[8..12].copy_from_slice(&slots.to_be_bytes());
        m[12..].copy_from_slice(commitment);
        m
    }
}

/// The data commitment of a batch of `slots` over a depth-`depth` tree.
pub fn commitment_of(data: &[u8], slots: u32, depth: u8) -> Result<Felt, DacError> {
    let ops = PubOp::decode_all(data, slots as usize, depth).map_err(|e| DacError::BadData {
        slots,
        reason: e.to_string(),
    })?;
    Ok(fr_to_le(&zkops::data_commitment(&ops, slots as usize)))
}

/// A stored batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its index.
    pub index: u64,
    /// Its slots.
    pub slots: u32,
    /// Its commitment.
    pub commitment: Felt,
    /// The data.
    pub data: Bytes,
}

/// What a member holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberStatus {
    /// Its index.
    pub member: u8,
    /// Its key (`0x` hex).
    pub key: String,
    /// Members in the committee.
    pub members: usize,
    /// Signatures a batch needs.
    pub threshold: u8,
    /// Batch versions stored (each signed).
    pub batches: u64,
    /// Bytes of data stored.
    pub bytes: u64,
    /// The highest batch index stored.
    pub latest: Option<u64>,
    /// Files set aside on open because they did not match their name.
    pub set_aside: u64,
}

/// A committee member with its store.
#[derive(Debug)]
pub struct Member {
    key: PrivateKey,
    view: MemberView,
    dir: PathBuf,
    /// Every stored version: (index, commitment) → (slots, bytes).
    index: BTreeMap<(u64, Felt), (u32, u64)>,
    set_aside: u64,
}

fn unhex32(s: &str) -> Option<Felt> {
    from_hex(s)?.try_into().ok()
}

fn file_name(index: u64, commitment: &Felt) -> String {
    format!("{index:020}-{}.batch", to_hex(commitment))
}

fn parse_name(name: &str) -> Option<(u64, Felt)> {
    let stem = name.strip_suffix(".batch")?;
    let (index, commitment) = stem.split_once('-')?;
    Some((index.parse().ok()?, unhex32(commitment)?))
}

/// Syncs a directory, so a rename in it survives a crash.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl Member {
    /// Opens (or creates) the store in `dir` of the member with `key`,
    /// checking every stored batch against its commitment.
    pub fn open(
        dir: impl Into<PathBuf>,
        key: PrivateKey,
        view: MemberView,
    ) -> Result<Self, DacError> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let mut member = Self {
            key,
            view,
            dir,
            index: BTreeMap::new(),
            set_aside: 0,
        };
        for entry in fs::read_dir(&member.dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.ends_with(".tmp") {
                // A store that crashed before its rename: never signed.
                fs::remove_file(&path)?;
                continue;
            }
            let Some((index, commitment)) = parse_name(name) else {
                continue;
            };
            match member.read_file(&path, commitment) {
                Some((slots, data)) => {
                    member
                        .index
                        .insert((index, commitment), (slots, data.len() as u64));
                }
                None => {
                    fs::rename(&path, path.with_extension("bad"))?;
                    member.set_aside += 1;
                }
            }
        }
        Ok(member)
    }

    /// Reads a stored file: its slots and data, if they match `commitment`.
    fn read_file(&self, path: &Path, commitment: Felt) -> Option<(u32, Bytes)> {
        let bytes = fs::read(path).ok()?;
        let slots = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        let data = Bytes::copy_from_slice(bytes.get(4..)?);
        (commitment_of(&data, slots, self.view.depth).ok()? == commitment).then_some((slots, data))
    }

    /// Its view of the rollup.
    pub fn view(&self) -> &MemberView {
        &self.view
    }

    /// Checks a request, stores its data durably and signs the batch's
    /// attestation. Storing the same batch again signs again (the same
    /// signature: Ed25519 is deterministic).
    pub fn store(&mut self, req: &StoreRequest) -> Result<MemberSignature, DacError> {
        if Address::from_public_key(&req.operator) != self.view.operator {
            return Err(DacError::NotOperator);
        }
        let message = StoreRequest::message(req.index, req.slots, &req.commitment);
        keys::verify(&req.operator, STORE_NAMESPACE, &message, &req.signature)
            .map_err(|_| DacError::NotOperator)?;
        if !self.view.sizes.contains(&req.slots) {
            return Err(DacError::UnknownBatchSize(req.slots));
        }
        if req.data.len() as u64 > self.view.batch_bytes_max {
            return Err(DacError::TooLarge {
                got: req.data.len(),
                max: self.view.batch_bytes_max,
            });
        }
        if commitment_of(&req.data, req.slots, self.view.depth)? != req.commitment {
            return Err(DacError::CommitmentMismatch);
        }
        let key = (req.index, req.commitment);
        if !self.index.contains_key(&key) {
            let name = file_name(req.index, &req.commitment);
            let tmp = self.dir.join(format!("{name}.tmp"));
            let mut bytes = Vec::with_capacity(4 + req.data.len());
            bytes.extend_from_slice(&req.slots.to_le_bytes());
            bytes.extend_from_slice(&req.data);
            {
                let mut f = fs::File::create(&tmp)?;
                io::Write::write_all(&mut f, &bytes)?;
                f.sync_all()?;
            }
            fs::rename(&tmp, self.dir.join(&name))?;
            sync_dir(&self.dir)?;
            self.index.insert(key, (req.slots, req.data.len() as u64));
        }
        Ok(self.sign(req.index, &req.commitment))
    }

    fn sign(&self, index: u64, commitment: &Felt) -> MemberSignature {
        let message = attestation_message(&self.view.domain, index, commitment);
        MemberSignature {
            member: self.view.member,
            signature: keys::sign(&self.key, DAC_NAMESPACE, &message),
        }
    }

    /// The data of batch `index` with `commitment`, if stored.
    pub fn get(&self, index: u64, commitment: &Felt) -> Option<Stored> {
        self.index.get(&(index, *commitment))?;
        let (slots, data) =
            self.read_file(&self.dir.join(file_name(index, commitment)), *commitment)?;
        Some(Stored {
            index,
            slots,
            commitment: *commitment,
            data,
        })
    }

    /// The commitments stored for batch `index` (one, unless the operator
    /// cut that index again after a failure on L1).
    pub fn versions(&self, index: u64) -> Vec<Felt> {
        self.index
            .range((index, [0; 32])..=(index, [0xff; 32]))
            .map(|((_, c), _)| *c)
            .collect()
    }

    /// What it holds.
    pub fn status(&self) -> MemberStatus {
        MemberStatus {
            member: self.view.member,
            key: format!("0x{}", to_hex(self.key.public_key().as_ref())),
            members: self.view.committee.0,
            threshold: self.view.committee.1,
            batches: self.index.len() as u64,
            bytes: self.index.values().map(|(_, b)| *b).sum(),
            latest: self.index.keys().next_back().map(|(i, _)| *i),
            set_aside: self.set_aside,
        }
    }
}

/// A member signature as `0x` hex of its 65-byte encoding (member, then
/// signature), for JSON.
pub fn signature_to_hex(s: &MemberSignature) -> String {
    let mut bytes = vec![s.member];
    bytes.extend_from_slice(&s.signature.encode());
    format!("0x{}", to_hex(&bytes))
}

/// Parses [`signature_to_hex`].
pub fn signature_from_hex(s: &str) -> Result<MemberSignature, DacError> {
    let bytes = from_hex(s).ok_or_else(|| DacError::Malformed("signature: not hex".into()))?;
    let (member, sig) = bytes
        .split_first()
        .ok_or_else(|| DacError::Malformed("empty signature".into()))?;
    Ok(MemberSignature {
        member: *member,
        signature: Signature::decode(commonware_codec::Copying(sig))
            .map_err(|e| DacError::Malformed(format!("signature: {e}")))?,
    })
}
