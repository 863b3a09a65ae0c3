//! Amounts of the native token, in its smallest unit, and the one unit
//! vocabulary every tool prints them in.
//!
//! The token is **TER**, with 18 decimals. Its smallest unit, the one
//! amounts are counted in, is the **aTER** (10⁻¹⁸ TER). Gas prices and
//! small fees read best in **nTER** (10⁻⁹ TER, as gwei is to ether).
//!
//! `u128`, not `u64`: fees are `gas × price` products of two `u64`s, and a
//! supply with 18 decimals (as wallets expect) passes `u64::MAX` at 18 whole
//! tokens. All arithmetic is checked and returns `None` on overflow or
//! underflow; callers turn that into a typed error, never a wrap.

use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use std::fmt;

/// An amount of the native token in base units.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u128);

impl Amount {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// Checked addition.
    #[must_use]
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Checked subtraction.
    #[must_use]
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// Checked multiplication by a scalar (gas × price).
    #[must_use]
    pub fn checked_mul(self, factor: u128) -> Option<Self> {
        self.0.checked_mul(factor).map(Self)
    }

    /// `self × numerator / denominator`, rounded down, without intermediate
    /// overflow for `numerator ≤ denominator ≤ u64::MAX` as long as `self`
    /// fits in 64 bits; otherwise checked.
    #[must_use]
    pub fn mul_div(self, numerator: u64, denominator: u64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let whole = self.0 / denominator as u128;
        let rest = self.0 % denominator as u128;
        let a = whole.checked_mul(numerator as u128)?;
        let b = rest.checked_mul(numerator as u128)? / denominator as u128;
        a.checked_add(b).map(Self)
    }

    /// True when zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

/// The token's symbol.
pub const SYMBOL: &str = "TER";
/// Decimals of one TER: 1 TER = 10¹⁸ aTER.
pub const DECIMALS: u32 = 18;
/// aTER in one TER.
pub const TER: u128 = 1_000_000_000_000_000_000;
/// aTER in one nTER.
pub const NANO_TER: u128 = 1_000_000_000;

impl Amount {
    /// Exactly, in TER with its decimals and no trailing zeros: `1.5 TER`,
    /// `0.000000000000000001 TER`.
    pub fn ter(self) -> String {
        let whole = self.0 / TER;
        let frac = self.0 % TER;
        if frac == 0 {
            format!("{whole} {SYMBOL}")
        } else {
            let digits = format!("{frac:018}");
            format!("{whole}.{} {SYMBOL}", digits.trim_end_matches('0'))
        }
    }
}

/// A price per gas in aTER, exactly, as nTER per gas: `0.875 nTER/gas`.
pub fn per_gas(ater: u64) -> String {
    let ater = u128::from(ater);
    let whole = ater / NANO_TER;
    let frac = ater % NANO_TER;
    if frac == 0 {
        format!("{whole} n{SYMBOL}/gas")
    } else {
        let digits = format!("{frac:09}");
        format!("{whole}.{} n{SYMBOL}/gas", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

impl From<u64> for Amount {
    fn from(v: u64) -> Self {
        Self(v as u128)
    }
}

impl serde::Serialize for Amount {
    /// As a decimal string: JSON numbers lose precision past 2^53.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Str(String),
            Int(u64),
        }
        match Repr::deserialize(d)? {
            Repr::Str(s) => s
                .parse::<u128>()
                .map(Self)
                .map_err(serde::de::Error::custom),
            Repr::Int(v) => Ok(Self(v as u128)),
        }
    }
}

/// Amounts travel as canonical LEB128 varints: most are small, and every
/// byte of an L1 transaction is paid for.
impl Write for Amount {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.0).write(buf);
    }
}

impl EncodeSize for Amount {
    fn encode_size(&self) -> usize {
        UInt(self.0).encode_size()
    }
}

impl Read for Amount {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let v: UInt<u128> = UInt::read(buf)?;
        Ok(Self(v.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::{DecodeExt, Encode};

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Amount(u128::MAX).checked_add(Amount(1)), None);
        assert_eq!(Amount(0).checked_sub(Amount(1)), None);
        assert_eq!(Amount(u128::MAX).checked_mul(2), None);
        assert_eq!(Amount(10).checked_mul(3), Some(Amount(30)));
    }

    #[test]
    fn mul_div_rounds_down_without_overflow() {
        assert_eq!(Amount(1000).mul_div(1, 3), Some(Amount(333)));
        assert_eq!(Amount(u128::MAX).mul_div(1, 2), Some(Amount(u128::MAX / 2)));
        assert_eq!(Amount(5).mul_div(1, 0), None);
    }

    #[test]
    fn ter_prints_exact_decimals() {
        assert_eq!(Amount(3 * TER / 2).ter(), "1.5 TER");
        assert_eq!(Amount(TER).ter(), "1 TER");
        assert_eq!(Amount(1).ter(), "0.000000000000000001 TER");
        assert_eq!(Amount(0).ter(), "0 TER");
    }

    #[test]
    fn prices_print_in_nter_per_gas() {
        assert_eq!(per_gas(875_000_000), "0.875 nTER/gas");
        assert_eq!(per_gas(1_000_000_000), "1 nTER/gas");
        assert_eq!(per_gas(1), "0.000000001 nTER/gas");
    }

    #[test]
    fn roundtrips_through_codec() {
        for v in [0u128, 1, 127, 128, u64::MAX as u128, u128::MAX] {
            let bytes = Amount(v).encode();
            assert_eq!(Amount::decode(bytes).ok(), Some(Amount(v)));
        }
    }
}
