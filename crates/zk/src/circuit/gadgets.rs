//! R1CS gadgets the batch circuit is built from: circomlib's Poseidon, a
//! Poseidon Merkle path, EdDSA-Poseidon verification on Baby Jubjub, and
//! little-endian bit allocation (range checks).

use crate::{
    Fr,
    babyjubjub::{BabyJubjub, Fs, base8},
    poseidon,
};
use ark_ec::twisted_edwards::Projective;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, groups::curves::twisted_edwards::AffineVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use std::sync::OnceLock;

/// A Baby Jubjub point in the circuit.
pub type PointVar = AffineVar<BabyJubjub, FpVar<Fr>>;

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// circomlib's `Poseidon(n)` of `inputs`: the permutation of
/// [`poseidon::hash`], 3 constraints per S-box.
pub fn poseidon(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let p = poseidon::params(inputs.len());
    let mut state: Vec<FpVar<Fr>> = std::iter::once(FpVar::zero())
        .chain(inputs.iter().cloned())
        .collect();
    for r in 0..p.rounds() {
        for (s, c) in state.iter_mut().zip(&p.ark[r]) {
            *s += *c;
        }
        if p.is_full_round(r) {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = p
            .mds
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&state)
                    .fold(FpVar::zero(), |acc, (m, s)| acc + s * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

/// The root reached from `leaf` along `siblings`, left or right by the
/// little-endian `index` bits.
pub fn merkle_root(
    leaf: &FpVar<Fr>,
    index: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut node = leaf.clone();
    for (bit, sibling) in index.iter().zip(siblings) {
        let left = bit.select(sibling, &node)?;
        let right = sibling + &node - &left;
        node = poseidon(&[left, right])?;
    }
    Ok(node)
}

/// `n` witness bits of `value` (little-endian) and the number they make:
/// a range check to `[0, 2^n)`.
pub fn alloc_bits(
    cs: &ConstraintSystemRef<Fr>,
    value: u64,
    n: usize,
) -> Result<(Vec<Boolean<Fr>>, FpVar<Fr>), SynthesisError> {
    let bits = (0..n)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(i < 64 && (value >> i) & 1 == 1)))
        .collect::<Result<Vec<_>, _>>()?;
    let number = Boolean::le_bits_to_fp(&bits)?;
    Ok((bits, number))
}

/// Bits of the subgroup order l: S is allocated in this many bits.
const SCALAR_BITS: usize = 251;

/// `Base8 · 2^i` for the fixed-base multiplication `S·Base8`.
fn base8_powers() -> &'static [Projective<BabyJubjub>] {
    static POWERS: OnceLock<Vec<Projective<BabyJubjub>>> = OnceLock::new();
    POWERS.get_or_init(|| {
        let mut p: Projective<BabyJubjub> = base8().into();
        (0..SCALAR_BITS)
            .map(|_| {
                let this = p;
                p = p + p;
                this
            })
            .collect()
    })
}

/// Checks an EdDSA-Poseidon signature `(r8, s)` by `key` on `message` when
/// `enabled`: `S < l` and `S·Base8 == R8 + (8·hm)·A` with
/// `hm = Poseidon(R8, A, message)` in canonical bits — exactly what
/// circomlibjs's `verifyPoseidon` accepts (and `key`, `r8` are subgroup
/// points, as allocated).
pub fn verify_eddsa(
    cs: &ConstraintSystemRef<Fr>,
    key: &PointVar,
    r8: &PointVar,
    s: Fs,
    message: &FpVar<Fr>,
    enabled: &Boolean<Fr>,
) -> Result<(), SynthesisError> {
    let s_big = s.into_bigint();
    let s_bits = (0..SCALAR_BITS)
        .map(|i| Boolean::new_witness(cs.clone(), || Ok(s_big.get_bit(i))))
        .collect::<Result<Vec<_>, _>>()?;
    // One form per signature: S ≤ l − 1.
    let l_minus_1 = (-Fs::from(1u64)).into_bigint();
    Boolean::enforce_smaller_or_equal_than_le(&s_bits, l_minus_1)?;

    let hm = poseidon(&[
        r8.x.clone(),
        r8.y.clone(),
        key.x.clone(),
        key.y.clone(),
        message.clone(),
    ])?;
    let hm_bits = hm.to_bits_le()?;

    let mut left = PointVar::zero();
    left.precomputed_base_scalar_mul_le(s_bits.iter().zip(base8_powers()))?;

    let key8 = key.double()?.double()?.double()?;
    let right = key8.scalar_mul_le(hm_bits.iter())? + r8;
    left.conditional_enforce_equal(&right, enabled)
}

/// A subgroup point witness (the allocation forces it into the order-l
/// subgroup).
pub fn alloc_point(
    cs: &ConstraintSystemRef<Fr>,
    point: crate::babyjubjub::Point,
) -> Result<PointVar, SynthesisError> {
    PointVar::new_witness(cs.clone(), || Ok(point))
}
