//! Aggregate signatures of a batch, and the fraud proof of a bad one.
//!
//! A batch's aggregated transactions carry no signatures of their own: each
//! chunk of up to [`AGGREGATE_CHUNK`] of them carries one BLS aggregate.
//! The rule ([`judge`]): every sender of a chunk must have had an account
//! with a BLS key **in the state before the batch**, and the aggregate must
//! verify against those keys and the transactions' signing messages. A key
//! never changes once set, so the pre-state — whose output root L1 already
//! holds as the previous batch's — is the one place to look, whatever the
//! batch does.
//!
//! The step function does not check aggregates, so a false batch with a
//! forged transaction would still have "true" roots: only an
//! [`AggregateProof`] catches it. It shows one chunk against the batch's
//! aggregate commitment (recorded by L1 at submission) and each distinct
//! sender's account leaf with its Merkle path in the pre-state; L1 runs
//! [`judge`] itself. No bisection: one transaction settles it.

use crate::{
    ACCOUNT_TREE_DEPTH,
    account::Account,
    batch::{AGGREGATE_CHUNK, AggregateChunk, chunk_tree},
    state::{Commitment, FullState},
    tx::L2_BLS_TX_NAMESPACE,
};
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
};
use terrace_merkle::{IndexedProof, Proof, ProofError, Sha256Hasher};
use terrace_primitives::{BlsPublicKey, Hash};

/// Why a chunk's aggregate is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AggregateFault {
    /// A sender had no account before the batch.
    #[error("sender {0} had no account before the batch")]
    UnknownSender(u32),
    /// A sender's account had no BLS key.
    #[error("sender {0} has no BLS key")]
    NoBlsKey(u32),
    /// The aggregate does not verify.
    #[error("the aggregate signature does not verify")]
    BadSignature,
}

/// Judges a chunk: `Ok` when its aggregate is good. `account` gives the
/// pre-batch account at an index (`None`: no such account).
pub fn judge<'a>(
    rollup: u64,
    chunk: &AggregateChunk,
    account: impl Fn(u32) -> Option<&'a Account>,
) -> Result<(), AggregateFault> {
    let messages: Vec<Vec<u8>> = chunk
        .txs
        .iter()
        .map(|t| t.signing_message(rollup))
        .collect();
    let mut signers: Vec<(&BlsPublicKey, &[u8])> = Vec::with_capacity(chunk.txs.len());
    for (tx, msg) in chunk.txs.iter().zip(&messages) {
        let sender = account(tx.from).ok_or(AggregateFault::UnknownSender(tx.from))?;
        let key = sender
            .bls
            .as_ref()
            .ok_or(AggregateFault::NoBlsKey(tx.from))?;
        signers.push((key, msg.as_slice()));
    }
    chunk
        .signature
        .verify_aggregate(L2_BLS_TX_NAMESPACE, &signers)
        .map_err(|_| AggregateFault::BadSignature)
}

/// A chunk's distinct senders below `account_count`, in first appearance:
/// the accounts whose witnesses an [`AggregateProof`] carries.
fn witnessed_senders(chunk: &AggregateChunk, account_count: u64) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for tx in &chunk.txs {
        if u64::from(tx.from) < account_count && !out.contains(&tx.from) {
            out.push(tx.from);
        }
    }
    out
}

/// An account leaf and its path in the pre-batch account tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderWitness {
    /// The account.
    pub account: Account,
    /// Its path (its `index` is the account index).
    pub proof: IndexedProof<Hash>,
}

/// What L1 holds about the disputed chunk.
#[derive(Debug, Clone, Copy)]
pub struct DisputedChunk {
    /// The rollup.
    pub rollup: u64,
    /// The output root before the batch.
    pub pre_root: Hash,
    /// The batch's aggregate commitment.
    pub aggregate_commitment: Hash,
    /// Chunks in the batch.
    pub chunk_count: u64,
}

/// Why an aggregate proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AggregateProofError {
    /// The pre-state does not hash to the root before the batch.
    #[error("the pre-state commitment does not hash to the root before the batch")]
    PreStateMismatch,
    /// The chunk is not in the batch.
    #[error("the chunk is not chunk {index} of the batch: {why}")]
    ChunkNotInBatch {
        /// The chunk index claimed.
        index: u64,
        /// Why.
        why: ProofError,
    },
    /// The witnesses are not exactly the chunk's distinct senders.
    #[error("the proof must witness exactly the chunk's {expected} distinct existing senders")]
    WrongSenders {
        /// How many it must witness.
        expected: usize,
    },
    /// A sender's leaf is not in the pre-state.
    #[error("the witness of sender {index} does not verify: {why}")]
    BadWitness {
        /// The account index.
        index: u64,
        /// Why.
        why: ProofError,
    },
    /// The aggregate is good: there is no fraud to prove.
    #[error("the aggregate is valid")]
    AggregateValid,
}

/// Proof that one chunk of a batch has a bad aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateProof {
    /// The state before the batch.
    pub pre: Commitment,
    /// The chunk.
    pub chunk: AggregateChunk,
    /// Its path in the batch's aggregate commitment (`index` names it).
    pub chunk_proof: Proof<Hash>,
    /// The chunk's distinct senders that had accounts, in first appearance.
    pub senders: Vec<SenderWitness>,
}

impl AggregateProof {
    /// Builds the proof of chunk `index` of `chunks` from the full state
    /// before the batch.
    pub fn build(pre_state: &FullState, chunks: &[AggregateChunk], index: u64) -> Option<Self> {
        let chunk = chunks.get(usize::try_from(index).ok()?)?.clone();
        let chunk_proof = chunk_tree(chunks).proof(index)?;
        let pre = crate::L2State::commitment(pre_state);
        let senders = witnessed_senders(&chunk, pre.account_count)
            .into_iter()
            .map(|i| {
                Some(SenderWitness {
                    account: pre_state.account_at(i)?.clone(),
                    proof: pre_state.account_proof(i)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            pre,
            chunk,
            chunk_proof,
            senders,
        })
    }

    /// Checks the proof against what L1 holds; `Ok` names the fault it
    /// proves. The chunk index is the proof's own (`chunk_proof.index`).
    pub fn verify(&self, disputed: &DisputedChunk) -> Result<AggregateFault, AggregateProofError> {
        if self.pre.output_root() != disputed.pre_root {
            return Err(AggregateProofError::PreStateMismatch);
        }
        let index = self.chunk_proof.index;
        if self.chunk_proof.leaf_count != disputed.chunk_count {
            return Err(AggregateProofError::ChunkNotInBatch {
                index,
                why: ProofError::RootMismatch,
            });
        }
        self.chunk_proof
            .verify::<Sha256Hasher>(&disputed.aggregate_commitment, &self.chunk.encode())
            .map_err(|why| AggregateProofError::ChunkNotInBatch { index, why })?;
        let expected = witnessed_senders(&self.chunk, self.pre.account_count);
        if self.senders.len() != expected.len()
            || self
                .senders
                .iter()
                .zip(&expected)
                .any(|(w, i)| w.proof.index != u64::from(*i))
        {
            return Err(AggregateProofError::WrongSenders {
                expected: expected.len(),
            });
        }
        for w in &self.senders {
            w.proof
                .verify::<Sha256Hasher>(
                    ACCOUNT_TREE_DEPTH,
                    &self.pre.accounts_root,
                    w.account.leaf_hash(),
                )
                .map_err(|why| AggregateProofError::BadWitness {
                    index: w.proof.index,
                    why,
                })?;
        }
        let account = |i: u32| {
            self.senders
                .iter()
                .find(|w| w.proof.index == u64::from(i))
                .map(|w| &w.account)
        };
        match judge(disputed.rollup, &self.chunk, account) {
            Ok(()) => Err(AggregateProofError::AggregateValid),
            Err(fault) => Ok(fault),
        }
    }
}

impl Write for SenderWitness {
    fn write(&self, buf: &mut impl BufMut) {
        self.account.write(buf);
        self.proof.write(buf);
    }
}

impl EncodeSize for SenderWitness {
    fn encode_size(&self) -> usize {
        self.account.encode_size() + self.proof.encode_size()
    }
}

impl Read for SenderWitness {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            account: Account::read(buf)?,
            proof: IndexedProof::read(buf)?,
        })
    }
}

impl Write for AggregateProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.pre.write(buf);
        self.chunk.write(buf);
        self.chunk_proof.write(buf);
        self.senders.write(buf);
    }
}

impl EncodeSize for AggregateProof {
    fn encode_size(&self) -> usize {
        self.pre.encode_size()
            + self.chunk.encode_size()
            + self.chunk_proof.encode_size()
            + self.senders.encode_size()
    }
}

impl Read for AggregateProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            pre: Commitment::read(buf)?,
            chunk: AggregateChunk::read(buf)?,
            chunk_proof: Proof::read(buf)?,
            senders: Vec::read_cfg(buf, &(RangeCfg::new(0..=AGGREGATE_CHUNK), ()))?,
        })
    }
}
