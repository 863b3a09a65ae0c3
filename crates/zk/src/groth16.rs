//! Groth16 verification over BN254: what L1 runs for every batch.
//!
//! Kept apart from the prover so L1 verifies with pairing arithmetic alone.
//! Decoding is strict: compressed points must be canonical, on the curve
//! and in the prime-order subgroup (G2 has a cofactor on BN254), so a proof
//! has one encoding and a malformed one is an error, never a panic.

use crate::Fr;
use ark_bn254::{Bn254, G1Affine, G1Projective, G2Affine};
use ark_ec::{AffineRepr, CurveGroup, pairing::Pairing};
use ark_ff::{PrimeField, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};

/// A compressed proof's size: A (G1), B (G2), C (G1).
pub const PROOF_BYTES: usize = 32 + 64 + 32;

/// The most public inputs a key may have (bounds what L1 decodes).
pub const MAX_INPUTS: usize = 64;

/// Why a proof or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The bytes are not a canonical encoding of valid points.
    #[error("malformed {0}: not canonical compressed points of the prime-order subgroups")]
    Malformed(&'static str),
    /// The key takes another number of public inputs.
    #[error("the key takes {expected} public inputs, not {got}")]
    InputCount {
        /// The key's count.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// The pairing check failed: the proof is not for these inputs and key.
    #[error("proof does not verify for these public inputs")]
    Invalid,
}

/// A Groth16 proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// `A` in G1.
    pub a: G1Affine,
    /// `B` in G2.
    pub b: G2Affine,
    /// `C` in G1.
    pub c: G1Affine,
}

impl Proof {
    /// The 128 compressed bytes.
    pub fn to_bytes(&self) -> [u8; PROOF_BYTES] {
        let mut out = [0u8; PROOF_BYTES];
        let (a, rest) = out.split_at_mut(32);
        let (b, c) = rest.split_at_mut(64);
        // Fixed-size buffers always hold compressed BN254 points.
        let _ = self.a.serialize_compressed(a);
        let _ = self.b.serialize_compressed(b);
        let _ = self.c.serialize_compressed(c);
        out
    }

    /// Decodes and validates a proof.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        if bytes.len() != PROOF_BYTES {
            return Err(VerifyError::Malformed("proof"));
        }
        let bad = |_| VerifyError::Malformed("proof");
        Ok(Self {
            a: G1Affine::deserialize_compressed(&bytes[..32]).map_err(bad)?,
            b: G2Affine::deserialize_compressed(&bytes[32..96]).map_err(bad)?,
            c: G1Affine::deserialize_compressed(&bytes[96..]).map_err(bad)?,
        })
    }
}

/// A Groth16 verification key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    /// `α` in G1.
    pub alpha_g1: G1Affine,
    /// `β` in G2.
    pub beta_g2: G2Affine,
    /// `γ` in G2.
    pub gamma_g2: G2Affine,
    /// `δ` in G2.
    pub delta_g2: G2Affine,
    /// The input commitments: `ic[0]` for the constant 1, then one per input.
    pub ic: Vec<G1Affine>,
}

impl VerifyingKey {
    /// The number of public inputs.
    pub fn inputs(&self) -> usize {
        self.ic.len().saturating_sub(1)
    }

    /// Compressed bytes: α, β, γ, δ, the input count (u16 BE), the ICs.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 3 * 64 + 2 + 32 * self.ic.len());
        let _ = self.alpha_g1.serialize_compressed(&mut out);
        let _ = self.beta_g2.serialize_compressed(&mut out);
        let _ = self.gamma_g2.serialize_compressed(&mut out);
        let _ = self.delta_g2.serialize_compressed(&mut out);
        out.extend_from_slice(&(self.ic.len() as u16).to_be_bytes());
        for p in &self.ic {
            let _ = p.serialize_compressed(&mut out);
        }
        out
    }

    /// Decodes and validates a key of at most [`MAX_INPUTS`] inputs.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, VerifyError> {
        let bad = |_| VerifyError::Malformed("verification key");
        let head = 32 + 3 * 64;
        if bytes.len() < head + 2 {
            return Err(VerifyError::Malformed("verification key"));
        }
        let n = usize::from(u16::from_be_bytes([bytes[head], bytes[head + 1]]));
        if n == 0 || n > MAX_INPUTS + 1 || bytes.len() != head + 2 + 32 * n {
            return Err(VerifyError::Malformed("verification key"));
        }
        let g2 = |i: usize| G2Affine::deserialize_compressed(&bytes[32 + 64 * i..96 + 64 * i]);
        let ic = bytes[head + 2..]
            .chunks_exact(32)
            .map(G1Affine::deserialize_compressed)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        Ok(Self {
            alpha_g1: G1Affine::deserialize_compressed(&bytes[..32]).map_err(bad)?,
            beta_g2: g2(0).map_err(bad)?,
            gamma_g2: g2(1).map_err(bad)?,
            delta_g2: g2(2).map_err(bad)?,
            ic,
        })
    }

    /// Checks `e(A, B) = e(α, β) · e(Σ xᵢ·ICᵢ, γ) · e(C, δ)` with one
    /// multi-pairing (four Miller loops, one final exponentiation).
    pub fn verify(&self, proof: &Proof, inputs: &[Fr]) -> Result<(), VerifyError> {
        if inputs.len() != self.inputs() {
            return Err(VerifyError::InputCount {
                expected: self.inputs(),
                got: inputs.len(),
            });
        }
        let mut acc: G1Projective = self.ic[0].into_group();
        for (x, p) in inputs.iter().zip(&self.ic[1..]) {
            acc += p.mul_bigint(x.into_bigint());
        }
        let vk_x = acc.into_affine();
        let out = Bn254::multi_pairing(
            [proof.a, -vk_x, -proof.c, -self.alpha_g1],
            [proof.b, self.gamma_g2, self.delta_g2, self.beta_g2],
        );
        if out.is_zero() {
            Ok(())
        } else {
            Err(VerifyError::Invalid)
        }
    }
}
