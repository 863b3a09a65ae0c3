//! Account addresses: the first 20 bytes of a tagged SHA-256 of an ed25519
//! public key.
//!
//! 20 bytes, like Ethereum, keeps transactions short (every byte is paid for
//! on L1) while leaving 80 bits of collision resistance against an attacker
//! searching for a key that maps onto an existing address.

use crate::{codec, hash::hash_tagged, keys::PublicKey};
use bytes::{Buf as _, BufMut};
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, Write};
use std::{fmt, str::FromStr};

/// Domain tag for address derivation.
const ADDRESS_TAG: &[u8] = b"terrace/address/v1";

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The length of an address in bytes.
    pub const LEN: usize = 20;

    /// Derives the address of an ed25519 public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let digest = hash_tagged(ADDRESS_TAG, &[key.as_ref()]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest.as_ref()[..20]);
        Self(out)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", codec::to_hex(&self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a string is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an address: expected 0x followed by 40 hex digits")]
pub struct ParseAddressError;

impl FromStr for Address {
    type Err = ParseAddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = codec::from_hex(s).ok_or(ParseAddressError)?;
        let arr: [u8; 20] = bytes.try_into().map_err(|_| ParseAddressError)?;
        Ok(Self(arr))
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Write for Address {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}

impl Read for Address {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if buf.remaining() < Self::LEN {
            return Err(CodecError::EndOfBuffer);
        }
        let mut out = [0u8; 20];
        buf.copy_to_slice(&mut out);
        Ok(Self(out))
    }
}

impl FixedSize for Address {
    const SIZE: usize = Self::LEN;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_it_prints() {
        let a = Address([7u8; 20]);
        assert_eq!(a.to_string().parse::<Address>(), Ok(a));
        assert!("0x1234".parse::<Address>().is_err());
        assert!("zz".parse::<Address>().is_err());
    }
}
