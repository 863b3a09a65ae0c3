//! Staking operations and their encoding.

use crate::module::Tagged;
use bytes::{BufMut, Bytes};
use commonware_codec::{Buf, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write};
use terrace_primitives::Amount;

/// Most bytes of slashing evidence a transaction may carry (decoding bound).
pub const EVIDENCE_BYTES_MAX: usize = 16 * 1024;

/// What a transaction asks of staking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StakingOp {
    /// Bond `amount` of the sender's balance as validator stake.
    Stake {
        /// Amount bonded.
        amount: Amount,
    },
    /// Start unbonding `amount` of stake; it returns to the balance after
    /// the unbonding delay, and stays slashable until then.
    Unstake {
        /// Amount unbonded.
        amount: Amount,
    },
    /// Report equivocation: the evidence is checked by the consensus
    /// engine's [`super::EvidenceVerifier`].
    Slash {
        /// Encoded evidence.
        evidence: Bytes,
    },
}

const STAKE: u8 = 1;
const UNSTAKE: u8 = 2;
const SLASH: u8 = 3;

impl Write for StakingOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            StakingOp::Stake { amount } => {
                STAKE.write(buf);
                amount.write(buf);
            }
            StakingOp::Unstake { amount } => {
                UNSTAKE.write(buf);
                amount.write(buf);
            }
            StakingOp::Slash { evidence } => {
                SLASH.write(buf);
                evidence.write(buf);
            }
        }
    }
}

impl EncodeSize for StakingOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            StakingOp::Stake { amount } | StakingOp::Unstake { amount } => amount.encode_size(),
            StakingOp::Slash { evidence } => evidence.encode_size(),
        }
    }
}

impl Tagged for StakingOp {
    const TAGS: &'static [u8] = &[STAKE, UNSTAKE, SLASH];

    fn read_tagged(tag: u8, buf: &mut impl Buf) -> Result<Self, CodecError> {
        Ok(match tag {
            STAKE => StakingOp::Stake {
                amount: Amount::read(buf)?,
            },
            UNSTAKE => StakingOp::Unstake {
                amount: Amount::read(buf)?,
            },
            SLASH => StakingOp::Slash {
                evidence: Bytes::read_cfg(buf, &RangeCfg::new(0..=EVIDENCE_BYTES_MAX))?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
