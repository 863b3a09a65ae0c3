//! Operations on optimistic rollups and their encoding.

use super::records::RollupConfig;
use crate::module::Tagged;
use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_l2::{
    AggregateProof, Commitment, Deposit, OneStepProof, Withdrawal, inbox::FORCED_TX_BYTES_MAX,
};
use terrace_merkle::IndexedProof;
use terrace_primitives::{Amount, Hash};

/// Most bytes of batch data one operation may carry (decoding bound; the
/// chain's per-transaction limit is usually lower).
pub const BATCH_DATA_MAX: usize = 1 << 20;

/// What a transaction asks of the optimistic-rollup module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptimisticOp {
    /// Register a rollup under the next id.
    Create(RollupConfig),
    /// Act on rollup `rollup`: bond, deposit, post or challenge a batch,
    /// claim a withdrawal.
    Rollup {
        /// The rollup's id.
        rollup: u64,
        /// What to do.
        op: RollupOp,
    },
}

/// A withdrawal claim: the withdrawal, its path in the withdrawal tree and
/// the L2 state commitment of a final batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalClaim {
    /// A final batch whose output root commits to `state`.
    pub batch: u64,
    /// The preimage of that batch's output root.
    pub state: Commitment,
    /// The withdrawal's index (its nullifier).
    pub index: u64,
    /// The withdrawal.
    pub withdrawal: Withdrawal,
    /// Its path in `state.withdrawals_root`.
    pub proof: IndexedProof<Hash>,
}

/// A batch as posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSubmission {
    /// The index it takes (the rollup's batch count): posting twice cannot
    /// land twice.
    pub index: u64,
    /// The output root it continues from.
    pub prev_output_root: Hash,
    /// The output root it claims.
    pub output_root: Hash,
    /// Its number of steps.
    pub step_count: u64,
    /// The inbox position it consumes up to.
    pub inbox_end: u64,
    /// The compressed batch ([`terrace_l2::Batch::compress`]).
    pub data: Bytes,
}

/// An operation on an existing rollup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollupOp {
    /// Add to the sender's poster bond.
    Bond {
        /// Amount added.
        amount: Amount,
    },
    /// Take the sender's poster bond back (once its last batch is final).
    Unbond,
    /// Lock funds in escrow and credit them on L2 (the deposit goes into
    /// the inbox as it is).
    Deposit(Deposit),
    /// Put a signed L2 transaction in the inbox.
    ForceInclude {
        /// The encoded [`terrace_l2::SignedL2Transaction`].
        tx: Bytes,
    },
    /// Post a batch.
    SubmitBatch(Box<BatchSubmission>),
    /// Challenge a batch in its window, locking the challenge bond.
    Challenge {
        /// Batch index.
        batch: u64,
    },
    /// Defender: reveal the root at the midpoint.
    Bisect {
        /// Challenge id.
        challenge: u64,
        /// The root after `mid` steps.
        root: Hash,
    },
    /// Challenger: agree with the revealed root (dispute the upper half) or
    /// not (dispute the lower half).
    Choose {
        /// Challenge id.
        challenge: u64,
        /// Whether the challenger agrees with the revealed root.
        agree: bool,
    },
    /// Prove that a chunk of a standing batch has a bad aggregate signature:
    /// the batch and every batch after it are reverted at once and the
    /// poster's bond is slashed, half to the sender. No bond is needed: a
    /// proof that does not verify only costs its gas.
    ProveAggregate {
        /// Batch index.
        batch: u64,
        /// The proof.
        proof: Box<AggregateProof>,
    },
    /// Settle a challenge narrowed to one step by re-executing it.
    ProveStep {
        /// Challenge id.
        challenge: u64,
        /// The proof.
        proof: Box<OneStepProof>,
    },
    /// End a challenge whose side to move missed its deadline (or whose batch
    /// was reverted by another challenge).
    Timeout {
        /// Challenge id.
        challenge: u64,
    },
    /// Pay a withdrawal out of escrow.
    Claim(Box<WithdrawalClaim>),
}

impl RollupOp {
    /// Funds the operation moves out of the sender (beyond fees), as far as
    /// is known without state (a challenge bond is read from the rollup).
    pub fn value(&self) -> Amount {
        match self {
            RollupOp::Bond { amount } | RollupOp::Deposit(Deposit { amount, .. }) => *amount,
            _ => Amount::ZERO,
        }
    }
}

// ---- codec -------------------------------------------------------------

const CREATE: u8 = 4;
const ROLLUP: u8 = 5;

impl Write for OptimisticOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            OptimisticOp::Create(config) => {
                CREATE.write(buf);
                config.write(buf);
            }
            OptimisticOp::Rollup { rollup, op } => {
                ROLLUP.write(buf);
                UInt(*rollup).write(buf);
                op.write(buf);
            }
        }
    }
}

impl EncodeSize for OptimisticOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            OptimisticOp::Create(config) => config.encode_size(),
            OptimisticOp::Rollup { rollup, op } => UInt(*rollup).encode_size() + op.encode_size(),
        }
    }
}

impl Tagged for OptimisticOp {
    const TAGS: &'static [u8] = &[CREATE, ROLLUP];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            CREATE => OptimisticOp::Create(RollupConfig::read(buf)?),
            ROLLUP => OptimisticOp::Rollup {
                rollup: UInt::<u64>::read(buf)?.0,
                op: RollupOp::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for RollupOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            RollupOp::Bond { amount } => {
                0u8.write(buf);
                amount.write(buf);
            }
            RollupOp::Unbond => 1u8.write(buf),
            RollupOp::Deposit(d) => {
                2u8.write(buf);
                d.write(buf);
            }
            RollupOp::ForceInclude { tx } => {
                3u8.write(buf);
                tx.write(buf);
            }
            RollupOp::SubmitBatch(b) => {
                4u8.write(buf);
                UInt(b.index).write(buf);
                b.prev_output_root.write(buf);
                b.output_root.write(buf);
                UInt(b.step_count).write(buf);
                UInt(b.inbox_end).write(buf);
                b.data.write(buf);
            }
            RollupOp::Challenge { batch } => {
                5u8.write(buf);
                UInt(*batch).write(buf);
            }
            RollupOp::Bisect { challenge, root } => {
                6u8.write(buf);
                UInt(*challenge).write(buf);
                root.write(buf);
            }
            RollupOp::Choose { challenge, agree } => {
                7u8.write(buf);
                UInt(*challenge).write(buf);
                agree.write(buf);
            }
            RollupOp::ProveStep { challenge, proof } => {
                8u8.write(buf);
                UInt(*challenge).write(buf);
                proof.write(buf);
            }
            RollupOp::Timeout { challenge } => {
                9u8.write(buf);
                UInt(*challenge).write(buf);
            }
            RollupOp::ProveAggregate { batch, proof } => {
                11u8.write(buf);
                UInt(*batch).write(buf);
                proof.write(buf);
            }
            RollupOp::Claim(c) => {
                10u8.write(buf);
                UInt(c.batch).write(buf);
                c.state.write(buf);
                UInt(c.index).write(buf);
                c.withdrawal.write(buf);
                c.proof.write(buf);
            }
        }
    }
}

impl EncodeSize for RollupOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            RollupOp::Bond { amount } => amount.encode_size(),
            RollupOp::Unbond => 0,
            RollupOp::Deposit(d) => d.encode_size(),
            RollupOp::ForceInclude { tx } => tx.encode_size(),
            RollupOp::SubmitBatch(b) => {
                UInt(b.index).encode_size()
                    + 64
                    + UInt(b.step_count).encode_size()
                    + UInt(b.inbox_end).encode_size()
                    + b.data.encode_size()
            }
            RollupOp::Challenge { batch } => UInt(*batch).encode_size(),
            RollupOp::Bisect { challenge, .. } => UInt(*challenge).encode_size() + 32,
            RollupOp::Choose { challenge, .. } => UInt(*challenge).encode_size() + 1,
            RollupOp::ProveStep { challenge, proof } => {
                UInt(*challenge).encode_size() + proof.encode_size()
            }
            RollupOp::Timeout { challenge } => UInt(*challenge).encode_size(),
            RollupOp::ProveAggregate { batch, proof } => {
                UInt(*batch).encode_size() + proof.encode_size()
            }
            RollupOp::Claim(c) => {
                UInt(c.batch).encode_size()
                    + c.state.encode_size()
                    + UInt(c.index).encode_size()
                    + c.withdrawal.encode_size()
                    + c.proof.encode_size()
            }
        }
    }
}

impl Read for RollupOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => RollupOp::Bond {
                amount: Amount::read(buf)?,
            },
            1 => RollupOp::Unbond,
            2 => RollupOp::Deposit(Deposit::read(buf)?),
            3 => RollupOp::ForceInclude {
                tx: Bytes::read_cfg(buf, &RangeCfg::new(0..=FORCED_TX_BYTES_MAX))?,
            },
            4 => RollupOp::SubmitBatch(Box::new(BatchSubmission {
                index: UInt::<u64>::read(buf)?.0,
                prev_output_root: Hash::read(buf)?,
                output_root: Hash::read(buf)?,
                step_count: UInt::<u64>::read(buf)?.0,
                inbox_end: UInt::<u64>::read(buf)?.0,
                data: Bytes::read_cfg(buf, &RangeCfg::new(0..=BATCH_DATA_MAX))?,
            })),
            5 => RollupOp::Challenge {
                batch: UInt::<u64>::read(buf)?.0,
            },
            6 => RollupOp::Bisect {
                challenge: UInt::<u64>::read(buf)?.0,
                root: Hash::read(buf)?,
            },
            7 => RollupOp::Choose {
                challenge: UInt::<u64>::read(buf)?.0,
                agree: bool::read(buf)?,
            },
            8 => RollupOp::ProveStep {
                challenge: UInt::<u64>::read(buf)?.0,
                proof: Box::new(OneStepProof::read(buf)?),
            },
            9 => RollupOp::Timeout {
                challenge: UInt::<u64>::read(buf)?.0,
            },
            10 => RollupOp::Claim(Box::new(WithdrawalClaim {
                batch: UInt::<u64>::read(buf)?.0,
                state: Commitment::read(buf)?,
                index: UInt::<u64>::read(buf)?.0,
                withdrawal: Withdrawal::read(buf)?,
                proof: IndexedProof::read(buf)?,
            })),
            11 => RollupOp::ProveAggregate {
                batch: UInt::<u64>::read(buf)?.0,
                proof: Box::new(AggregateProof::read(buf)?),
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
