//! Setup and proving for the batch circuit (Groth16 over BN254).
//!
//! [`setup`] is circuit-specific: it draws the toxic waste (α, β, γ, δ, τ)
//! from the caller's randomness and drops it when it returns. Whoever ran
//! it could have kept it and forge proofs: that is the trust assumption a
//! zk-rollup with this setup states in its risk summary.

use crate::{
    Fr,
    circuit::BatchCircuit,
    groth16::{Proof, VerifyingKey},
    state::Batch,
};
use ark_bn254::Bn254;
use ark_ff::UniformRand;
use ark_groth16::Groth16;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, R1CS_PREDICATE_LABEL,
    SynthesisError, SynthesisMode,
};
use ark_std::rand::{CryptoRng, RngCore};

/// The randomness the prover takes (rand 0.8, as arkworks uses it).
pub use ark_std::rand;

/// Why setup or proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The batch does not have the key's shape.
    #[error("batch of {got} slots for a key of {expected}")]
    Shape {
        /// The key's slots.
        expected: usize,
        /// The batch's.
        got: usize,
    },
    /// Synthesis or proving failed.
    #[error("synthesis: {0}")]
    Synthesis(#[from] SynthesisError),
}

/// A proving key with the shape it was made for, and the circuit's
/// constraint matrices: built once at setup, so a proof only computes the
/// witness (no linear-combination inlining or matrix construction per
/// batch).
#[derive(Debug, Clone)]
pub struct ProvingKey {
    /// Account-tree depth.
    pub depth: u8,
    /// Slots per batch.
    pub slots: usize,
    key: ark_groth16::ProvingKey<Bn254>,
    matrices: Vec<Matrix<Fr>>,
    num_inputs: usize,
    num_constraints: usize,
}

impl ProvingKey {
    /// The matching verification key.
    pub fn verifying_key(&self) -> VerifyingKey {
        let vk = &self.key.vk;
        VerifyingKey {
            alpha_g1: vk.alpha_g1,
            beta_g2: vk.beta_g2,
            gamma_g2: vk.gamma_g2,
            delta_g2: vk.delta_g2,
            ic: vk.gamma_abc_g1.clone(),
        }
    }

    /// The key's size in memory, roughly (its points, compressed sizes).
    pub fn size_bytes(&self) -> usize {
        let k = &self.key;
        32 * (k.a_query.len() + k.b_g1_query.len() + k.h_query.len() + k.l_query.len())
            + 64 * k.b_g2_query.len()
    }
}

/// A fresh setup for batches of `slots` slots (a power of two) over a
/// depth-`depth` tree.
pub fn setup<R: RngCore + CryptoRng>(
    depth: u8,
    slots: usize,
    rng: &mut R,
) -> Result<ProvingKey, ProveError> {
    let circuit = BatchCircuit::blank(depth, slots);
    let key = Groth16::<Bn254>::generate_random_parameters_with_reduction(circuit, rng)?;
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    BatchCircuit::blank(depth, slots).generate_constraints(cs.clone())?;
    cs.finalize();
    let matrices = cs
        .to_matrices()?
        .remove(R1CS_PREDICATE_LABEL)
        .ok_or(SynthesisError::MissingCS)?;
    Ok(ProvingKey {
        depth,
        slots,
        key,
        matrices,
        num_inputs: cs.num_instance_variables(),
        num_constraints: cs.num_constraints(),
    })
}

/// Proves `batch` (built over a tree of the key's depth).
pub fn prove<R: RngCore + CryptoRng>(
    key: &ProvingKey,
    batch: &Batch,
    rng: &mut R,
) -> Result<Proof, ProveError> {
    if batch.witnesses.len() != key.slots {
        return Err(ProveError::Shape {
            expected: key.slots,
            got: batch.witnesses.len(),
        });
    }
    let circuit = BatchCircuit {
        depth: key.depth,
        statement: batch.statement,
        slots: batch.witnesses.clone(),
    };
    // Witness only: the matrices are the key's.
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    circuit.generate_constraints(cs.clone())?;
    let mut full = cs.instance_assignment()?;
    full.extend(cs.witness_assignment()?);
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let proof = Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &key.key,
        r,
        s,
        &key.matrices,
        key.num_inputs,
        key.num_constraints,
        &full,
    )?;
    Ok(Proof {
        a: proof.a,
        b: proof.b,
        c: proof.c,
    })
}

/// Synthesizes `circuit` with its witness and reports whether every
/// constraint holds (for tests and diagnostics; the prover does not check).
pub fn is_satisfied(circuit: BatchCircuit) -> Result<bool, ProveError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    circuit.generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs.is_satisfied()?)
}

/// The number of constraints of a shape.
pub fn constraint_count(depth: u8, slots: usize) -> Result<usize, ProveError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Setup);
    BatchCircuit::blank(depth, slots).generate_constraints(cs.clone())?;
    cs.finalize();
    Ok(cs.num_constraints())
}
