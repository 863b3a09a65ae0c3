//! One-step fraud proofs: re-executing one step of a batch on L1.
//!
//! When a bisection game has narrowed a dispute to step `k` of a batch —
//! both sides agree on the output root before it, and disagree on the one
//! after — a [`OneStepProof`] lets L1 compute the true root after it:
//!
//! 1. the pre-state's [`Commitment`] must hash to the agreed root;
//! 2. the step must be leaf `k` of the batch's data commitment, recorded
//!    at submission;
//! 3. an inbox step must come with the message whose hash L1 recorded at
//!    that inbox position;
//! 4. [`crate::apply_step`] runs over a [`WitnessState`] holding the
//!    pre-state commitment and the Merkle witnesses of the touched slots,
//!    and every witness must be used.
//!
//! The result does not depend on who builds the proof: with valid
//! witnesses the post-state is a function of the pre-state and the step,
//! so L1 learns the truth and compares it with the defender's claim.

use crate::{
    batch::{Step, step_tree},
    inbox::InboxMessage,
    state::{Commitment, FullState, WITNESSES_MAX, Witness, WitnessError, WitnessState},
    stf::{StepInput, apply_step},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
};
use terrace_merkle::{Proof, Sha256Hasher};
use terrace_primitives::Hash;

/// Why a one-step proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepProofError {
    /// The pre-state does not hash to the agreed root.
    #[error("the pre-state commitment does not hash to the agreed root")]
    PreStateMismatch,
    /// The step is not the disputed leaf of the batch's data.
    #[error("the step is not step {index} of the batch: {why}")]
    StepNotInBatch {
        /// The disputed step.
        index: u64,
        /// Why.
        why: terrace_merkle::ProofError,
    },
    /// An inbox step came without its message.
    #[error("an inbox step needs its message")]
    MissingMessage,
    /// The message does not match the inbox record.
    #[error("the message is not the one L1 recorded at inbox position {0}")]
    MessageMismatch(u64),
    /// A transaction step came with a message.
    #[error("a transaction step takes no inbox message")]
    UnexpectedMessage,
    /// The witnesses do not support the step.
    #[error("bad witness: {0}")]
    Witness(#[from] WitnessError),
}

/// Everything L1 needs to re-execute one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneStepProof {
    /// The agreed state before the step.
    pub pre: Commitment,
    /// The step.
    pub step: Step,
    /// The step's path in the batch's data commitment.
    pub step_proof: Proof<Hash>,
    /// For an inbox step, the message at its position.
    pub message: Option<InboxMessage>,
    /// Witnesses of the slots the step touches, in the order it touches them.
    pub witnesses: Vec<Witness>,
}

/// What L1 holds about the disputed step.
#[derive(Debug, Clone, Copy)]
pub struct DisputedStep {
    /// The rollup.
    pub rollup: u64,
    /// The agreed output root before the step.
    pub pre_root: Hash,
    /// The batch's data commitment.
    pub data_commitment: Hash,
    /// Steps in the batch.
    pub step_count: u64,
    /// The disputed step's index.
    pub index: u64,
}

impl OneStepProof {
    /// Builds the proof of step `index` of `steps` from the full state
    /// before it (`message` is the inbox message of an inbox step).
    pub fn build(
        pre_state: &FullState,
        rollup: u64,
        steps: &[Step],
        index: u64,
        message: Option<InboxMessage>,
    ) -> Option<Self> {
        let step = steps.get(usize::try_from(index).ok()?)?.clone();
        let step_proof = step_tree(steps).proof(index)?;
        let mut state = pre_state.clone();
        let pre = crate::L2State::commitment(&state);
        let (_, witnesses) = state.record(|s| match (&step, &message) {
            (Step::Inbox { position }, Some(message)) => apply_step(
                s,
                rollup,
                StepInput::Inbox {
                    position: *position,
                    message,
                },
            )
            .ok(),
            (Step::Tx { context, tx }, None) => {
                apply_step(s, rollup, StepInput::Tx { context, tx }).ok()
            }
            (Step::Aggregated { context, tx }, None) => {
                apply_step(s, rollup, StepInput::Aggregated { context, tx }).ok()
            }
            _ => None,
        });
        Some(Self {
            pre,
            step,
            step_proof,
            message,
            witnesses,
        })
    }

    /// Checks the proof against what L1 holds and returns the true output
    /// root after the step. `inbox_hash` gives the hash L1 recorded at an
    /// inbox position.
    pub fn verify(
        &self,
        disputed: &DisputedStep,
        inbox_hash: impl FnOnce(u64) -> Option<Hash>,
    ) -> Result<Hash, StepProofError> {
        if self.pre.output_root() != disputed.pre_root {
            return Err(StepProofError::PreStateMismatch);
        }
        let not_in_batch = |why| StepProofError::StepNotInBatch {
            index: disputed.index,
            why,
        };
        if self.step_proof.index != disputed.index
            || self.step_proof.leaf_count != disputed.step_count
        {
            return Err(not_in_batch(terrace_merkle::ProofError::RootMismatch));
        }
        self.step_proof
            .verify::<Sha256Hasher>(&disputed.data_commitment, &self.step.encode())
            .map_err(not_in_batch)?;
        let mut state = WitnessState::new(self.pre, self.witnesses.clone());
        match (&self.step, &self.message) {
            (Step::Inbox { position }, Some(message)) => {
                if inbox_hash(*position) != Some(message.hash()) {
                    return Err(StepProofError::MessageMismatch(*position));
                }
                apply_step(
                    &mut state,
                    disputed.rollup,
                    StepInput::Inbox {
                        position: *position,
                        message,
                    },
                )?;
            }
            (Step::Inbox { .. }, None) => return Err(StepProofError::MissingMessage),
            (Step::Tx { context, tx }, None) => {
                apply_step(&mut state, disputed.rollup, StepInput::Tx { context, tx })?;
            }
            (Step::Aggregated { context, tx }, None) => {
                apply_step(
                    &mut state,
                    disputed.rollup,
                    StepInput::Aggregated { context, tx },
                )?;
            }
            (Step::Tx { .. } | Step::Aggregated { .. }, Some(_)) => {
                return Err(StepProofError::UnexpectedMessage);
            }
        }
        Ok(state.finish()?.output_root())
    }
}

impl Write for OneStepProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.pre.write(buf);
        self.step.write(buf);
        self.step_proof.write(buf);
        self.message.write(buf);
        self.witnesses.write(buf);
    }
}

impl EncodeSize for OneStepProof {
    fn encode_size(&self) -> usize {
        self.pre.encode_size()
            + self.step.encode_size()
            + self.step_proof.encode_size()
            + self.message.encode_size()
            + self.witnesses.encode_size()
    }
}

impl Read for OneStepProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            pre: Commitment::read(buf)?,
            step: Step::read(buf)?,
            step_proof: Proof::read(buf)?,
            message: Option::<InboxMessage>::read(buf)?,
            witnesses: Vec::read_cfg(buf, &(RangeCfg::new(0..=WITNESSES_MAX), ()))?,
        })
    }
}
