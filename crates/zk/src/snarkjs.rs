//! snarkjs's JSON for Groth16 over BN254 (`bn128`): `verification_key.json`,
//! `proof.json` and `public.json`, so anyone can check a Terrace batch with
//! `snarkjs groth16 verify` and emit a Solidity verifier from the same key.
//!
//! Points are affine with a third coordinate 1, field elements decimal; a
//! G2 coordinate is `[c0, c1]`.

use crate::{
    Fr,
    groth16::{Proof, VerifyingKey},
};
use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use serde_json::{Value, json};

fn fq(x: &Fq) -> Value {
    Value::String(x.into_bigint().to_string())
}

fn fq2(x: &Fq2) -> Value {
    json!([fq(&x.c0), fq(&x.c1)])
}

fn g1(p: &G1Affine) -> Value {
    if p.is_zero() {
        return json!(["0", "1", "0"]);
    }
    json!([fq(&p.x), fq(&p.y), "1"])
}

fn g2(p: &G2Affine) -> Value {
    if p.is_zero() {
        return json!([["0", "0"], ["1", "0"], ["0", "0"]]);
    }
    json!([fq2(&p.x), fq2(&p.y), ["1", "0"]])
}

/// `verification_key.json`.
pub fn verification_key(vk: &VerifyingKey) -> Value {
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.inputs(),
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "IC": vk.ic.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json`.
pub fn proof(proof: &Proof) -> Value {
    json!({
        "pi_a": g1(&proof.a),
        "pi_b": g2(&proof.b),
        "pi_c": g1(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`: the public inputs as decimal strings.
pub fn public(inputs: &[Fr]) -> Value {
    Value::Array(
        inputs
            .iter()
            .map(|x| Value::String(crate::fr_to_decimal(x)))
            .collect(),
    )
}
