//! R1CS gadgets the batch circuit is built from: circomlib's Poseidon, a
//! quaternary Poseidon Merkle path, EdDSA-Poseidon verification on Baby
//! Jubjub, and little-endian bit allocation (range checks).

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

/// The quaternary account-tree root reached from `leaf` along `siblings`
/// (three per level, see [`crate::ops::account_root_from_path`]), the
/// leaf's position at each level given by two little-endian `index` bits.
/// A level costs the 4-input Poseidon plus 7 constraints to order the
/// children.
pub fn merkle_root(
    leaf: &FpVar<Fr>,
    index: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    let mut node = leaf.clone();
    for (bits, s) in index.chunks(2).zip(siblings.chunks(3)) {
        let ([b0, b1], [s0, s1, s2]) = (bits, s) else {
            return Err(SynthesisError::Unsatisfiable);
        };
        // One-hot position p = b0 + 2·b1, linear in b0, b1 and b0·b1.
        let both = FpVar::from(b0 & b1);
        let (f0, f1) = (FpVar::from(b0.clone()), FpVar::from(b1.clone()));
        let e0 = FpVar::one() - &f0 - &f1 + &both;
        let e1 = &f0 - &both;
        let e2 = &f1 - &both;
        let below_2 = FpVar::one() - &f1;
        // p=0: (c, s0, s1, s2); p=1: (s0, c, s1, s2); p=2: (s0, s1, c, s2);
        // p=3: (s0, s1, s2, c).
        let c0 = s0 + &e0 * (&node - s0);
        let c1 = s1 + &e0 * (s0 - s1) + &e1 * (&node - s1);
        let c2 = s2 + &below_2 * (s1 - s2) + &e2 * (&node - s2);
        let c3 = s2 + &both * (&node - s2);
        node = poseidon(&[c0, c1, c2, c3])?;
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
