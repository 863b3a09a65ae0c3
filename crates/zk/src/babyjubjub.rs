//! Baby Jubjub in circom's form and EdDSA-Poseidon as circomlibjs 0.1.7
//! signs: a wallet key made with circomlibjs (or zk-kit's default
//! `@zk-kit/eddsa-poseidon`) is a Terrace L2 key, and our keys, packed
//! points and signatures are byte-identical to theirs.
//!
//! The curve is `168700·x² + y² = 1 + 168696·x²·y²` over BN254's scalar
//! field, of order 8·l; keys and signatures live on [`base8`], a generator
//! of the order-l subgroup. The stock `ark-ed-on-bn254` curve is an
//! isomorphic one with another generator, so this module defines circom's.

use crate::{Fr, poseidon};
use ark_ec::{
    AffineRepr, CurveConfig, CurveGroup,
    twisted_edwards::{Affine, MontCurveConfig, Projective, TECurveConfig},
};
use ark_ff::{BigInt, BigInteger, MontFp, PrimeField};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use blake_hash::{Blake512, Digest};

/// The scalar field of the order-l subgroup (`ark-ed-on-bn254`'s `Fr` has
/// exactly this modulus).
pub type Fs = ark_ed_on_bn254::Fr;

/// circom's Baby Jubjub: `a = 168700`, `d = 168696`, generator Base8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BabyJubjub;

impl CurveConfig for BabyJubjub {
    type BaseField = Fr;
    type ScalarField = Fs;
    const COFACTOR: &'static [u64] = &[8];
    /// 8⁻¹ mod l.
    const COFACTOR_INV: Fs =
        MontFp!("2394026564107420727433200628387514462817212225638746351800188703329891451411");
}

impl TECurveConfig for BabyJubjub {
    const COEFF_A: Fr = MontFp!("168700");
    const COEFF_D: Fr = MontFp!("168696");
    const GENERATOR: Affine<Self> = Affine::new_unchecked(
        MontFp!("5299619240641551281634865583518297030282874472190772894086521144482721001553"),
        MontFp!("16950150798460657717958625567821834550301663161624707787222815936182638968203"),
    );
    type MontCurveConfig = Self;
}

impl MontCurveConfig for BabyJubjub {
    const COEFF_A: Fr = MontFp!("168698");
    const COEFF_B: Fr = MontFp!("1");
    type TECurveConfig = Self;
}

/// A point of circom's Baby Jubjub.
pub type Point = Affine<BabyJubjub>;

/// circomlib's Base8: the generator of keys and signatures.
pub fn base8() -> Point {
    BabyJubjub::GENERATOR
}

/// Why a key or signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The bytes are not a packed point of the order-l subgroup.
    #[error("not a packed Baby Jubjub point in the prime-order subgroup")]
    Point,
    /// The identity is nobody's key.
    #[error("the identity point is not a key")]
    Identity,
    /// `S ≥ l`: each signature has exactly one accepted form.
    #[error("signature scalar S is not below the subgroup order")]
    NonCanonicalScalar,
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// `packPoint`: the 32 little-endian bytes of y, with bit 255 set when
/// x > (p−1)/2 (arkworks' compressed form is exactly this).
pub fn pack_point(point: &Point) -> [u8; 32] {
    let mut out = [0u8; 32];
    // A 32-byte buffer always holds a compressed point.
    let _ = point.serialize_compressed(&mut out[..]);
    out
}

/// Unpacks a point, refusing bytes that are not a point of the order-l
/// subgroup (circomlib checks only the curve equation; we also refuse the
/// small-order components, which no honest key or signature has).
pub fn unpack_point(bytes: &[u8; 32]) -> Result<Point, KeyError> {
    Point::deserialize_compressed(&bytes[..]).map_err(|_| KeyError::Point)
}

/// An L2 public key: a point of the order-l subgroup other than the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(Point);

impl PublicKey {
    /// The key from a subgroup point; refuses the identity.
    pub fn from_point(point: Point) -> Result<Self, KeyError> {
        if point.is_zero() {
            return Err(KeyError::Identity);
        }
        if !point.is_on_curve() || !point.is_in_correct_subgroup_assuming_on_curve() {
            return Err(KeyError::Point);
        }
        Ok(Self(point))
    }

    /// The key from its packed form.
    pub fn unpack(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        Self::from_point(unpack_point(bytes)?)
    }

    /// The packed form (`packPoint`).
    pub fn pack(&self) -> [u8; 32] {
        pack_point(&self.0)
    }

    /// The point.
    pub fn point(&self) -> Point {
        self.0
    }

    /// The x coordinate.
    pub fn x(&self) -> Fr {
        self.0.x
    }

    /// The y coordinate.
    pub fn y(&self) -> Fr {
        self.0.y
    }

    /// `verifyPoseidon`: `S·Base8 == R8 + (8·hm)·A` with
    /// `hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)`.
    pub fn verify(&self, msg: Fr, sig: &Signature) -> Result<(), KeyError> {
        let hm = challenge(&sig.r8, &self.0, msg);
        let left = base8().mul_bigint(sig.s.into_bigint());
        let mut right: Projective<BabyJubjub> = self.0.mul_bigint(hm.into_bigint());
        for _ in 0..3 {
            right = right + right;
        }
        right += sig.r8;
        if left == right {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }
}

/// `hm = Poseidon(R8.x, R8.y, A.x, A.y, msg)`: the signature's challenge.
pub fn challenge(r8: &Point, a: &Point, msg: Fr) -> Fr {
    poseidon::hash(&[r8.x, r8.y, a.x, a.y, msg])
}

/// An EdDSA-Poseidon signature: `R8` and `S < l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The nonce point `r·Base8`.
    pub r8: Point,
    /// `S = r + hm·s mod l`.
    pub s: Fs,
}

impl Signature {
    /// The packed 64 bytes (`packSignature`): `packPoint(R8) ‖ LE32(S)`.
    pub fn pack(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&pack_point(&self.r8));
        out[32..].copy_from_slice(&fs_to_le(&self.s));
        out
    }

    /// Unpacks a signature, refusing a point off the subgroup and `S ≥ l`.
    pub fn unpack(bytes: &[u8; 64]) -> Result<Self, KeyError> {
        let mut r8 = [0u8; 32];
        r8.copy_from_slice(&bytes[..32]);
        let mut s = [0u8; 32];
        s.copy_from_slice(&bytes[32..]);
        Ok(Self {
            r8: unpack_point(&r8)?,
            s: fs_from_le_canonical(&s).ok_or(KeyError::NonCanonicalScalar)?,
        })
    }
}

fn fs_to_le(s: &Fs) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&s.into_bigint().to_bytes_le());
    out
}

fn fs_from_le_canonical(bytes: &[u8; 32]) -> Option<Fs> {
    Fs::from_bigint(crate::bigint_from_le(bytes))
}

/// An L2 secret key: any bytes, kept as their BLAKE-512 hash (as
/// circomlibjs's `prv2pub` and `signPoseidon` use them).
#[derive(Clone)]
pub struct SecretKey {
    h: [u8; 64],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", hex(&self.public().pack()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SecretKey {
    /// The key of `secret` (any length; circomlibjs takes 32 bytes, zk-kit
    /// any).
    pub fn from_bytes(secret: &[u8]) -> Self {
        let digest = Blake512::digest(secret);
        let mut h = [0u8; 64];
        h.copy_from_slice(&digest);
        Self { h }
    }

    /// The pruned scalar `s` (bits 0..2 cleared, bit 254 set, bit 255 clear).
    fn pruned(&self) -> BigInt<4> {
        let mut s = [0u8; 32];
        s.copy_from_slice(&self.h[..32]);
        s[0] &= 0xF8;
        s[31] &= 0x7F;
        s[31] |= 0x40;
        crate::bigint_from_le(&s)
    }

    /// `A = (s >> 3)·Base8`.
    pub fn public(&self) -> PublicKey {
        let s = self.pruned() >> 3;
        PublicKey(base8().mul_bigint(s).into_affine())
    }

    /// `signPoseidon`: deterministic, `r = BLAKE-512(h[32..64] ‖ LE32(msg))`.
    pub fn sign(&self, msg: Fr) -> Signature {
        let mut nonce_input = [0u8; 64];
        nonce_input[..32].copy_from_slice(&self.h[32..]);
        nonce_input[32..].copy_from_slice(&crate::fr_to_le(&msg));
        let r = Fs::from_le_bytes_mod_order(&Blake512::digest(&nonce_input));
        let r8 = base8().mul_bigint(r.into_bigint()).into_affine();
        let a = self.public();
        let hm = challenge(&r8, &a.0, msg);
        let hm = Fs::from_le_bytes_mod_order(&crate::fr_to_le(&hm));
        let s = Fs::from_le_bytes_mod_order(&self.pruned().to_bytes_le());
        Signature { r8, s: r + hm * s }
    }
}
