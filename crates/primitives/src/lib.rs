//! Terrace primitives: hashes, addresses, amounts, ed25519 keys and signatures,
//! chain id, and the canonical bounded codec every layer speaks.
//!
//! This crate does no I/O, reads no clock and draws no OS randomness. Types
//! encode with `commonware-codec`, so they travel through commonware's
//! consensus, p2p and storage unchanged. Decoding untrusted bytes always goes
//! through an explicit size limit ([`codec::decode_bounded`]).

pub mod address;
pub mod amount;
pub mod bls;
pub mod chain;
pub mod codec;
pub mod hash;
pub mod keys;
pub mod par;

pub use address::Address;
pub use amount::Amount;
pub use bls::{BlsPrivateKey, BlsPublicKey, BlsSignature};
pub use chain::ChainId;
pub use hash::{Hash, hash, hash_tagged};
pub use keys::{PrivateKey, PublicKey, Signature};

/// Re-exported so downstream crates name one codec version.
pub use commonware_codec;
