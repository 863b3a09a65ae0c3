//! Poseidon as circomlib computes it: x^5, 8 full rounds, the partial
//! rounds of [`PARTIAL_ROUNDS`], Grain-generated constants, one permutation
//! per arity, and the output `state[0]` (not a sponge's squeeze, which reads
//! `state[1]` and differs).
//!
//! Byte-identical to circomlibjs 0.1.7 `poseidon` for 1 to 16 inputs (the
//! fixtures in `fixtures/circomlibjs.json` are checked by the tests). The
//! permutation is ours; only the constants come from arkworks' Grain
//! generator, which yields exactly circomlib's.

use crate::Fr;
use ark_crypto_primitives::sponge::poseidon::find_poseidon_ark_and_mds;
use ark_ff::{Field, Zero};
use std::sync::OnceLock;

/// Full rounds, split half before and half after the partial rounds.
pub const FULL_ROUNDS: usize = 8;

/// Partial rounds by width `t = inputs + 1`, for `t = 2..=17` (circomlib's
/// `N_ROUNDS_P`).
pub const PARTIAL_ROUNDS: [usize; 16] = [
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
];

/// The most inputs one permutation takes.
pub const MAX_INPUTS: usize = PARTIAL_ROUNDS.len();

/// The round constants and MDS matrix of one width.
#[derive(Debug)]
pub struct Params {
    /// State width: inputs + 1.
    pub width: usize,
    /// Partial rounds.
    pub partial_rounds: usize,
    /// `ark[round][i]`, added before each round's S-box.
    pub ark: Vec<Vec<Fr>>,
    /// `mds[i][j]`: `new[i] = Σ_j mds[i][j] · state[j]`.
    pub mds: Vec<Vec<Fr>>,
}

impl Params {
    /// Whether round `r` applies the S-box to every element.
    pub fn is_full_round(&self, r: usize) -> bool {
        r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + self.partial_rounds
    }

    /// Total rounds.
    pub fn rounds(&self) -> usize {
        FULL_ROUNDS + self.partial_rounds
    }
}

/// The parameters for `inputs` inputs (1 to [`MAX_INPUTS`]), generated once
/// per process (the Grain generator and MDS search take a few ms).
///
/// # Panics
/// On `inputs` outside `1..=MAX_INPUTS`: callers pass fixed arities.
pub fn params(inputs: usize) -> &'static Params {
    static CACHE: [OnceLock<Params>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    assert!(
        (1..=MAX_INPUTS).contains(&inputs),
        "poseidon takes 1 to {MAX_INPUTS} inputs, not {inputs}"
    );
    CACHE[inputs - 1].get_or_init(|| {
        let partial_rounds = PARTIAL_ROUNDS[inputs - 1];
        let (ark, mds) = find_poseidon_ark_and_mds::<Fr>(
            254,
            inputs,
            FULL_ROUNDS as u64,
            partial_rounds as u64,
            0,
        );
        Params {
            width: inputs + 1,
            partial_rounds,
            ark,
            mds,
        }
    })
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// circomlib's `Poseidon(n)` of `inputs` (1 to [`MAX_INPUTS`] elements).
///
/// # Panics
/// On an arity outside `1..=MAX_INPUTS` (a programming error: every caller
/// hashes a fixed number of elements).
pub fn hash(inputs: &[Fr]) -> Fr {
    let p = params(inputs.len());
    let mut state = Vec::with_capacity(p.width);
    state.push(Fr::zero());
    state.extend_from_slice(inputs);
    let mut next = vec![Fr::zero(); p.width];
    for r in 0..p.rounds() {
        for (s, c) in state.iter_mut().zip(&p.ark[r]) {
            *s += c;
        }
        if p.is_full_round(r) {
            for s in state.iter_mut() {
                *s = sbox(*s);
            }
        } else {
            state[0] = sbox(state[0]);
        }
        for (n, row) in next.iter_mut().zip(&p.mds) {
            *n = row.iter().zip(&state).map(|(m, s)| *m * s).sum();
        }
        std::mem::swap(&mut state, &mut next);
    }
    state[0]
}

/// Poseidon of two elements: the Merkle node hash.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    hash(&[left, right])
}
