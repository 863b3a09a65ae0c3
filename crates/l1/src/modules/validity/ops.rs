//! Operations on zk-rollups and their encoding.

use super::records::{COMMITTEE_MAX, Felt, ZkRollupConfig};
use crate::module::Tagged;
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{Address, Amount, Signature, keys::SIGNATURE_LEN};
use terrace_zk::{groth16::PROOF_BYTES, ops::MAX_DEPTH};

/// Most bytes of public data one batch may carry (decoding bound; the
/// rollup's `batch_bytes_max` is usually lower).
pub const ZK_BATCH_DATA_MAX: usize = 1 << 20;

/// What a transaction asks of the validity module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidityOp {
    /// Register a zk-rollup under the next id.
    Create(Box<ZkRollupConfig>),
    /// Act on zk-rollup `rollup`.
    Rollup {
        /// Its id.
        rollup: u64,
        /// What to do.
        op: ZkOp,
    },
}

/// A batch with its proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkBatchSubmission {
    /// The index it takes (the rollup's batch count).
    pub index: u64,
    /// Its slots (selects the verification key).
    pub slots: u32,
    /// The account root after it.
    pub new_root: Felt,
    /// Its withdrawals-tree root.
    pub withdrawals_root: Felt,
    /// The inbox position it consumes up to.
    pub inbox_end: u64,
    /// Its public data, or the committee's word for it.
    pub data: BatchData,
    /// The Groth16 proof.
    pub proof: [u8; PROOF_BYTES],
}

/// A batch's data as L1 sees it, by the rollup's [`super::DataMode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchData {
    /// The public data ([`terrace_zk::ops::PubOp::encode_all`]): L1
    /// recomputes its commitment (a zk-rollup).
    Posted(Bytes),
    /// Only the data's commitment, with committee members' signatures that
    /// they hold the data it commits to (a validium).
    Attested {
        /// The data commitment the proof takes as input.
        commitment: Felt,
        /// Members' signatures over [`super::attestation_message`].
        signatures: Vec<MemberSignature>,
    },
}

impl BatchData {
    /// Bytes of the batch's data carried on L1 (zero when attested).
    pub fn posted_len(&self) -> usize {
        match self {
            BatchData::Posted(data) => data.len(),
            BatchData::Attested { .. } => 0,
        }
    }
}

/// A committee member's signature, naming the member by its index in the
/// rollup's committee (a byte instead of a 32-byte key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSignature {
    /// The member's index.
    pub member: u8,
    /// Its Ed25519 signature.
    pub signature: Signature,
}

/// A withdrawal claimed against a proven batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkClaim {
    /// The batch.
    pub batch: u64,
    /// The withdrawal's slot in it.
    pub slot: u32,
    /// The L1 recipient the withdrawal names.
    pub to: Address,
    /// Its amount.
    pub amount: u64,
    /// The path in the batch's withdrawals tree, leaf level first.
    pub path: Vec<Felt>,
}

/// An exodus exit: an account's balance in the last proven root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkExit {
    /// The account.
    pub account: u32,
    /// Its packed key.
    pub key: [u8; 32],
    /// Its balance.
    pub balance: u64,
    /// Its nonce.
    pub nonce: u64,
    /// Its path in the quaternary account tree: three siblings per level,
    /// leaf level first.
    pub path: Vec<Felt>,
    /// The L1 recipient.
    pub to: Address,
    /// The key's signature over the exit ([`terrace_zk::ops::exit_message`]).
    pub signature: [u8; 64],
}

/// An operation on an existing zk-rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkOp {
    /// Lock funds in escrow and queue their credit to an L2 key.
    Deposit {
        /// The packed L2 key.
        key: [u8; 32],
        /// Amount (at most `u64::MAX` base units, as L2 balances).
        amount: Amount,
    },
    /// Queue an exit of an account's whole balance, signed by its key: the
    /// operator must process it before the inbox deadline or the rollup
    /// freezes.
    ForcedExit {
        /// The account.
        account: u32,
        /// A number the signer never used for this account before: L1
        /// spends it, so the signature cannot be replayed.
        serial: u64,
        /// Its packed key.
        key: [u8; 32],
        /// The L1 recipient.
        to: Address,
        /// The key's signature ([`terrace_zk::ops::exit_message`]).
        signature: [u8; 64],
    },
    /// Post a batch with its validity proof (the operator only).
    SubmitBatch(Box<ZkBatchSubmission>),
    /// Pay a withdrawal of a proven batch out of escrow.
    Claim(Box<ZkClaim>),
    /// Freeze a stalled rollup: no batch for `exodus_after_blocks`, or an
    /// inbox entry past its deadline.
    Freeze,
    /// Exit a frozen rollup with the last proven balance.
    Exit(Box<ZkExit>),
    /// Refund a deposit a frozen rollup never processed.
    Refund {
        /// Its inbox position.
        position: u64,
    },
}

// ---- codec -------------------------------------------------------------

const CREATE: u8 = 6;
const ROLLUP: u8 = 7;
/// The longest path: an account path at [`MAX_DEPTH`].
const PATH_MAX: usize = 3 * MAX_DEPTH.div_ceil(2) as usize;

/// A Merkle path: a withdrawals path (one sibling per level) or an account
/// path (three per level of the quaternary tree), bounded by the latter.
fn read_path(buf: &mut impl Buf) -> Result<Vec<Felt>, CodecError> {
    Vec::<Felt>::read_cfg(buf, &(RangeCfg::new(0..=PATH_MAX), ()))
}

impl Write for ZkOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ZkOp::Deposit { key, amount } => {
                0u8.write(buf);
                key.write(buf);
                amount.write(buf);
            }
            ZkOp::ForcedExit {
                account,
                serial,
                key,
                to,
                signature,
            } => {
                1u8.write(buf);
                UInt(*account).write(buf);
                UInt(*serial).write(buf);
                key.write(buf);
                to.write(buf);
                signature.write(buf);
            }
            ZkOp::SubmitBatch(b) => {
                2u8.write(buf);
                UInt(b.index).write(buf);
                UInt(b.slots).write(buf);
                b.new_root.write(buf);
                b.withdrawals_root.write(buf);
                UInt(b.inbox_end).write(buf);
                b.data.write(buf);
                b.proof.write(buf);
            }
            ZkOp::Claim(c) => {
                3u8.write(buf);
                UInt(c.batch).write(buf);
                UInt(c.slot).write(buf);
                c.to.write(buf);
                UInt(c.amount).write(buf);
                c.path.write(buf);
            }
            ZkOp::Freeze => 4u8.write(buf),
            ZkOp::Exit(e) => {
                5u8.write(buf);
                UInt(e.account).write(buf);
                e.key.write(buf);
                UInt(e.balance).write(buf);
                UInt(e.nonce).write(buf);
                e.path.write(buf);
                e.to.write(buf);
                e.signature.write(buf);
            }
            ZkOp::Refund { position } => {
                6u8.write(buf);
                UInt(*position).write(buf);
            }
        }
    }
}

impl EncodeSize for ZkOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            ZkOp::Deposit { amount, .. } => 32 + amount.encode_size(),
            ZkOp::ForcedExit {
                account, serial, ..
            } => {
                UInt(*account).encode_size() + UInt(*serial).encode_size() + 32 + Address::LEN + 64
            }
            ZkOp::SubmitBatch(b) => {
                UInt(b.index).encode_size()
                    + UInt(b.slots).encode_size()
                    + 64
                    + UInt(b.inbox_end).encode_size()
                    + b.data.encode_size()
                    + PROOF_BYTES
            }
            ZkOp::Claim(c) => {
                UInt(c.batch).encode_size()
                    + UInt(c.slot).encode_size()
                    + Address::LEN
                    + UInt(c.amount).encode_size()
                    + c.path.encode_size()
            }
            ZkOp::Freeze => 0,
            ZkOp::Exit(e) => {
                UInt(e.account).encode_size()
                    + 32
                    + UInt(e.balance).encode_size()
                    + UInt(e.nonce).encode_size()
                    + e.path.encode_size()
                    + Address::LEN
                    + 64
            }
            ZkOp::Refund { position } => UInt(*position).encode_size(),
        }
    }
}

impl Read for ZkOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => ZkOp::Deposit {
                key: <[u8; 32]>::read(buf)?,
                amount: Amount::read(buf)?,
            },
            1 => ZkOp::ForcedExit {
                account: UInt::<u32>::read(buf)?.0,
                serial: UInt::<u64>::read(buf)?.0,
                key: <[u8; 32]>::read(buf)?,
                to: Address::read(buf)?,
                signature: <[u8; 64]>::read(buf)?,
            },
            2 => ZkOp::SubmitBatch(Box::new(ZkBatchSubmission {
                index: UInt::<u64>::read(buf)?.0,
                slots: UInt::<u32>::read(buf)?.0,
                new_root: Felt::read(buf)?,
                withdrawals_root: Felt::read(buf)?,
                inbox_end: UInt::<u64>::read(buf)?.0,
                data: BatchData::read(buf)?,
                proof: <[u8; PROOF_BYTES]>::read(buf)?,
            })),
            3 => ZkOp::Claim(Box::new(ZkClaim {
                batch: UInt::<u64>::read(buf)?.0,
                slot: UInt::<u32>::read(buf)?.0,
                to: Address::read(buf)?,
                amount: UInt::<u64>::read(buf)?.0,
                path: read_path(buf)?,
            })),
            4 => ZkOp::Freeze,
            5 => ZkOp::Exit(Box::new(ZkExit {
                account: UInt::<u32>::read(buf)?.0,
                key: <[u8; 32]>::read(buf)?,
                balance: UInt::<u64>::read(buf)?.0,
                nonce: UInt::<u64>::read(buf)?.0,
                path: read_path(buf)?,
                to: Address::read(buf)?,
                signature: <[u8; 64]>::read(buf)?,
            })),
            6 => ZkOp::Refund {
                position: UInt::<u64>::read(buf)?.0,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for BatchData {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            BatchData::Posted(data) => {
                0u8.write(buf);
                data.write(buf);
            }
            BatchData::Attested {
                commitment,
                signatures,
            } => {
                1u8.write(buf);
                commitment.write(buf);
                UInt(signatures.len() as u32).write(buf);
                for s in signatures {
                    s.member.write(buf);
                    s.signature.write(buf);
                }
            }
        }
    }
}

impl EncodeSize for BatchData {
    fn encode_size(&self) -> usize {
        1 + match self {
            BatchData::Posted(data) => data.encode_size(),
            BatchData::Attested { signatures, .. } => {
                32 + UInt(signatures.len() as u32).encode_size()
                    + signatures.len() * (1 + SIGNATURE_LEN)
            }
        }
    }
}

impl Read for BatchData {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => BatchData::Posted(Bytes::read_cfg(buf, &RangeCfg::new(0..=ZK_BATCH_DATA_MAX))?),
            1 => {
                let commitment = Felt::read(buf)?;
                let n = UInt::<u32>::read(buf)?.0 as usize;
                if n > COMMITTEE_MAX {
                    return Err(CodecError::InvalidLength(n));
                }
                let mut signatures = Vec::with_capacity(n);
                for _ in 0..n {
                    signatures.push(MemberSignature {
                        member: u8::read(buf)?,
                        signature: Signature::read(buf)?,
                    });
                }
                BatchData::Attested {
                    commitment,
                    signatures,
                }
            }
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for ValidityOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            ValidityOp::Create(config) => {
                CREATE.write(buf);
                config.write(buf);
            }
            ValidityOp::Rollup { rollup, op } => {
                ROLLUP.write(buf);
                UInt(*rollup).write(buf);
                op.write(buf);
            }
        }
    }
}

impl EncodeSize for ValidityOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            ValidityOp::Create(config) => config.encode_size(),
            ValidityOp::Rollup { rollup, op } => UInt(*rollup).encode_size() + op.encode_size(),
        }
    }
}

impl Tagged for ValidityOp {
    const TAGS: &'static [u8] = &[CREATE, ROLLUP];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            CREATE => ValidityOp::Create(Box::new(ZkRollupConfig::read(buf)?)),
            ROLLUP => ValidityOp::Rollup {
                rollup: UInt::<u64>::read(buf)?.0,
                op: ZkOp::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
