//! Canonical, versioned, bounded decoding on top of `commonware-codec`.
//!
//! Rules every Terrace wire type follows:
//! - integers that vary in size are canonical LEB128 varints (overlong
//!   encodings are rejected by the codec), so one value has one encoding;
//! - top-level objects (transactions, blocks, receipts) start with a version
//!   byte, and decoders reject versions they do not know;
//! - untrusted bytes are decoded through [`decode_bounded`], which refuses
//!   input over an explicit byte limit before parsing anything, and every
//!   variable-length field is read with an explicit item limit.

use commonware_codec::{Copying, Decode, Error as CodecError};

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than the caller allows.
    #[error("input is {len} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Input length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// The input is not a valid encoding.
    #[error("malformed encoding: {0}")]
    Malformed(#[from] CodecError),
}

/// Decodes `bytes` as `T`, refusing input longer than `max_bytes` and any
/// trailing data.
pub fn decode_bounded<T: Decode>(
    bytes: &[u8],
    max_bytes: usize,
    cfg: &T::Cfg,
) -> Result<T, DecodeError> {
    if bytes.len() > max_bytes {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: max_bytes,
        });
    }
    Ok(T::decode_cfg(Copying(bytes), cfg)?)
}

/// Reads a version byte and checks it is `expected`.
pub fn read_version(
    buf: &mut impl commonware_codec::Buf,
    context: &'static str,
    expected: u8,
) -> Result<(), CodecError> {
    use commonware_codec::ReadExt as _;
    let v = u8::read(buf)?;
    if v != expected {
        return Err(CodecError::Invalid(context, "unknown version"));
    }
    Ok(())
}

/// Lower-case hex without a prefix.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Parses hex, with or without a `0x` prefix. `None` on odd length or a
/// non-hex digit.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{Encode, varint::UInt};

    #[test]
    fn hex_roundtrips() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)).as_deref(), Some(&bytes[..]));
        assert_eq!(from_hex("0xABff").as_deref(), Some(&[0xab, 0xff][..]));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn oversized_input_is_refused_before_parsing() {
        let err = decode_bounded::<u64>(&[0u8; 9], 8, &()).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { len: 9, max: 8 }));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let err = decode_bounded::<u8>(&[1, 2], 8, &()).unwrap_err();
        assert!(matches!(
            err,
            DecodeError::Malformed(CodecError::ExtraData(1))
        ));
    }

    #[test]
    fn overlong_varints_are_refused() {
        // 1 encoded canonically is [0x01]; [0x81, 0x00] is an overlong 1.
        assert_eq!(UInt(1u64).encode().as_ref(), &[1u8]);
        assert!(decode_bounded::<UInt<u64>>(&[0x81, 0x00], 16, &()).is_err());
    }
}
