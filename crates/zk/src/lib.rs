//! Terrace validity proofs: what the zk-rollup and the validium prove, and
//! how L1 checks it.
//!
//! - [`poseidon`] and [`babyjubjub`]: circomlib's hash, curve and
//!   EdDSA-Poseidon, byte-identical to circomlibjs 0.1.7, so ecosystem
//!   wallets' keys are L2 keys.
//! - [`ops`]: the L2 operations, their signed messages, the public data
//!   posted on L1 and the commitments the proof binds (data, inbox,
//!   withdrawals).
//! - [`state`]: the account tree and the state-transition function that
//!   also records each slot's witness for the prover.
//! - [`groth16`]: a Groth16 verifier over BN254 with canonical, validated
//!   decoding; what L1 runs. [`snarkjs`] writes keys and proofs in
//!   snarkjs's JSON so `snarkjs groth16 verify` checks them.
//! - With the `prover` feature, [`circuit`] (the batch statement in R1CS)
//!   and [`prover`] (setup and proving). L1 builds without them.
//!
//! Pure: no I/O, no clocks, no async.

pub mod babyjubjub;
#[cfg(feature = "prover")]
pub mod circuit;
pub mod groth16;
pub mod ops;
pub mod poseidon;
#[cfg(feature = "prover")]
pub mod prover;
pub mod snarkjs;
pub mod state;

use ark_ff::{BigInt, BigInteger, PrimeField};

/// The field everything is proven over: BN254's scalar field (circom's `p`).
pub type Fr = ark_bn254::Fr;

/// Little-endian limbs from 32 little-endian bytes.
pub(crate) fn bigint_from_le(bytes: &[u8; 32]) -> BigInt<4> {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    BigInt::new(limbs)
}

/// The canonical 32 little-endian bytes of a field element.
pub fn fr_to_le(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// The field element of 32 little-endian bytes; `None` unless they are
/// below the modulus (one encoding per element).
pub fn fr_from_le(bytes: &[u8; 32]) -> Option<Fr> {
    Fr::from_bigint(bigint_from_le(bytes))
}

/// A field element as a decimal string (circom's and snarkjs's notation).
pub fn fr_to_decimal(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// A decimal string as a field element; `None` unless it is a canonical
/// decimal below the modulus.
pub fn fr_from_decimal(s: &str) -> Option<Fr> {
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    // Horner in 256-bit limbs; anything at or past the modulus is refused.
    let mut acc = BigInt::<4>::new([0; 4]);
    for b in s.bytes() {
        acc = mul_small_add(acc, 10, u64::from(b - b'0'))?;
    }
    Fr::from_bigint(acc)
}

/// `acc·m + a` in 256 bits, `None` on overflow.
fn mul_small_add(acc: BigInt<4>, m: u64, a: u64) -> Option<BigInt<4>> {
    let mut out = [0u64; 4];
    let mut carry = u128::from(a);
    for (o, limb) in out.iter_mut().zip(acc.0) {
        let v = u128::from(limb) * u128::from(m) + carry;
        *o = v as u64;
        carry = v >> 64;
    }
    (carry == 0).then_some(BigInt::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip_and_refusals() {
        let p_minus_1 = -Fr::from(1u64);
        let s = fr_to_decimal(&p_minus_1);
        assert_eq!(fr_from_decimal(&s), Some(p_minus_1));
        assert_eq!(fr_from_decimal("0"), Some(Fr::from(0u64)));
        // The modulus itself, a leading zero, a sign and junk are refused.
        let p = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        assert_eq!(fr_from_decimal(p), None);
        assert_eq!(fr_from_decimal("01"), None);
        assert_eq!(fr_from_decimal("-1"), None);
        assert_eq!(fr_from_decimal(""), None);
        assert_eq!(fr_from_decimal(&"9".repeat(79)), None);
    }

    #[test]
    fn le_bytes_are_canonical() {
        let x = Fr::from(123_456_789u64);
        assert_eq!(fr_from_le(&fr_to_le(&x)), Some(x));
        assert_eq!(fr_from_le(&[0xff; 32]), None);
    }
}
