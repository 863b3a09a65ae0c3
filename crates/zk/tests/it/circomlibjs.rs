//! Byte-for-byte agreement with circomlibjs 0.1.7 on the vectors it
//! produced (`fixtures/circomlibjs.mjs` regenerates them).

use serde_json::Value;
use terrace_zk::{
    Fr,
    babyjubjub::{
        KeyError, Point, PublicKey, SecretKey, Signature, base8, pack_point, unpack_point,
    },
    fr_from_decimal, fr_to_decimal, poseidon,
};

fn fixtures() -> Value {
    serde_json::from_str(include_str!("../../fixtures/circomlibjs.json")).expect("fixture is JSON")
}

fn field(v: &Value) -> Fr {
    fr_from_decimal(v.as_str().expect("decimal string")).expect("canonical field element")
}

fn bytes<const N: usize>(v: &Value) -> [u8; N] {
    let s = v.as_str().expect("hex string");
    let mut out = [0u8; N];
    assert_eq!(s.len(), 2 * N, "hex length");
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex");
    }
    out
}

fn hex_vec(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn poseidon_matches_for_every_arity() {
    let f = fixtures();
    let vectors = f["poseidon"].as_array().expect("array");
    assert_eq!(vectors.len(), 16 * 4);
    for v in vectors {
        let inputs: Vec<Fr> = v["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(field)
            .collect();
        assert_eq!(
            fr_to_decimal(&poseidon::hash(&inputs)),
            v["output"].as_str().expect("output"),
            "poseidon of {} inputs",
            inputs.len()
        );
    }
}

#[test]
fn curve_constants_match() {
    let f = fixtures();
    assert_eq!(base8().x, field(&f["base8"][0]));
    assert_eq!(base8().y, field(&f["base8"][1]));
    let l = f["subOrder"].as_str().expect("subOrder");
    assert_eq!(
        <terrace_zk::babyjubjub::Fs as ark_ff::PrimeField>::MODULUS.to_string(),
        l
    );
}

#[test]
fn keys_signatures_and_packing_match() {
    let f = fixtures();
    for k in f["keys"].as_array().expect("keys") {
        let sk = SecretKey::from_bytes(&hex_vec(&k["secret"]));
        let pk = sk.public();
        assert_eq!(pk.x(), field(&k["x"]));
        assert_eq!(pk.y(), field(&k["y"]));
        let packed: [u8; 32] = bytes(&k["packed"]);
        assert_eq!(pk.pack(), packed);
        assert_eq!(PublicKey::unpack(&packed), Ok(pk));
        for s in k["signatures"].as_array().expect("signatures") {
            let msg = field(&s["message"]);
            let sig = sk.sign(msg);
            assert_eq!(sig.r8.x, field(&s["r8x"]));
            assert_eq!(sig.r8.y, field(&s["r8y"]));
            let packed: [u8; 64] = bytes(&s["packed"]);
            assert_eq!(sig.pack(), packed);
            let theirs = Signature::unpack(&packed).expect("their signature decodes");
            assert_eq!(pk.verify(msg, &theirs), Ok(()));
            assert_eq!(
                pk.verify(msg + Fr::from(1u64), &theirs),
                Err(KeyError::BadSignature)
            );
        }
    }
}

#[test]
fn packed_points_match() {
    let f = fixtures();
    for p in f["points"].as_array().expect("points") {
        let point = Point::new(field(&p["x"]), field(&p["y"]));
        let packed: [u8; 32] = bytes(&p["packed"]);
        assert_eq!(pack_point(&point), packed);
        assert_eq!(unpack_point(&packed), Ok(point));
    }
}

#[test]
fn signature_with_s_at_or_above_l_is_refused() {
    let sk = SecretKey::from_bytes(b"s >= l");
    let sig = sk.sign(Fr::from(7u64));
    let mut packed = sig.pack();
    // S + l: verifies in a checker without the bound; refused here.
    let l = <terrace_zk::babyjubjub::Fs as ark_ff::PrimeField>::MODULUS;
    let mut carry = 0u16;
    let s = &mut packed[32..];
    for (i, limb) in l.0.iter().enumerate() {
        for (j, byte) in limb.to_le_bytes().iter().enumerate() {
            let k = 8 * i + j;
            let v = u16::from(s[k]) + u16::from(*byte) + carry;
            s[k] = v as u8;
            carry = v >> 8;
        }
    }
    assert_eq!(
        Signature::unpack(&packed),
        Err(KeyError::NonCanonicalScalar)
    );
}

#[test]
fn points_off_the_subgroup_or_curve_are_refused() {
    // (0, -1) has order 2: on the curve, not in the subgroup.
    let order2 = Point::new_unchecked(Fr::from(0u64), -Fr::from(1u64));
    assert!(order2.is_on_curve());
    let packed = pack_point(&order2);
    assert!(unpack_point(&packed).is_err());
    // The identity is on the curve and in the subgroup but is no key.
    assert_eq!(
        PublicKey::from_point(Point::new_unchecked(Fr::from(0u64), Fr::from(1u64))),
        Err(KeyError::Identity)
    );
    // A y with no x on the curve.
    let mut bad = [0u8; 32];
    bad[0] = 3;
    let refused = (0..50u8).any(|i| {
        bad[1] = i;
        unpack_point(&bad).is_err()
    });
    assert!(refused);
}
