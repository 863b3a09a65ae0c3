//! Designs: named configurations of the real components. An L1 preset
//! changes chain parameters only, never code paths; the optimistic rollup
//! is the rollup node on the `terrace` L1.

use serde::Serialize;
use terrace_l1::{ChainParams, modules::optimistic::RollupConfig};

/// An L1 parameter preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum L1Preset {
    /// Our defaults: 250 ms blocks, 2 MiB, 300 M gas (150 M target).
    Terrace,
    /// ≈ 1 MB blocks every 600 s; bytes bind, not gas.
    BitcoinLike,
    /// 12 s blocks, 30 M gas limit / 15 M target, 21,000 gas per transfer.
    EthereumLike,
    /// The `terrace` preset with blocks of this many bytes (and a gas limit
    /// scaled with them, so the bytes-to-gas ratio stays).
    BigBlocks(u64),
}

impl L1Preset {
    /// Its name in reports.
    pub fn name(&self) -> String {
        match self {
            Self::Terrace => "l1:terrace".into(),
            Self::BitcoinLike => "l1:bitcoin-like".into(),
            Self::EthereumLike => "l1:ethereum-like".into(),
            Self::BigBlocks(b) => format!("l1:big-blocks-{}k", b / 1024),
        }
    }

    /// Its chain parameters.
    pub fn params(&self) -> ChainParams {
        let mut p = ChainParams::default();
        match *self {
            Self::Terrace => {}
            Self::BitcoinLike => {
                p.block_time_ms = 600_000;
                p.block_bytes_max = 1_000_000;
                // Gas never binds: bytes are Bitcoin's only block limit.
                p.block_gas_limit = 1_000_000_000_000;
                p.block_gas_target = 500_000_000_000;
            }
            Self::EthereumLike => {
                p.block_time_ms = 12_000;
                p.block_gas_limit = 30_000_000;
                p.block_gas_target = 15_000_000;
                // An Ethereum transfer carries no calldata: its 21,000 gas
                // covers envelope and signature. So no per-byte charge.
                p.gas.per_byte = 0;
            }
            Self::BigBlocks(bytes) => {
                let base = ChainParams::default();
                p.block_bytes_max = bytes;
                p.tx_bytes_max = p.tx_bytes_max.min(bytes);
                let scale = |g: u64| {
                    u64::try_from(
                        u128::from(g) * u128::from(bytes) / u128::from(base.block_bytes_max),
                    )
                    .unwrap_or(u64::MAX)
                };
                p.block_gas_limit = scale(base.block_gas_limit);
                p.block_gas_target = scale(base.block_gas_target);
            }
        }
        p
    }
}

/// What limits an L1's throughput of one kind of transaction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bound {
    /// Transactions per block allowed by the byte limit.
    pub by_bytes_per_block: u64,
    /// Transactions per block allowed by the gas limit.
    pub by_gas_per_block: u64,
    /// Transactions per block allowed by the gas target (the sustained
    /// rate: above it the base fee rises 12.5% a block until demand
    /// falls back).
    pub at_target_per_block: u64,
    /// `min(bytes limit / tx bytes, gas limit / tx gas) / block time`.
    pub limit_per_s: f64,
    /// The same at the gas target.
    pub target_per_s: f64,
    /// `"block bytes"` or `"block gas"`: whichever binds.
    pub bound_by: &'static str,
}

/// The throughput bound of transactions of `tx_bytes` bytes and `tx_gas`
/// gas under `params`.
pub fn bound(params: &ChainParams, tx_bytes: u64, tx_gas: u64) -> Bound {
    let by_bytes = params.block_bytes_max / tx_bytes.max(1);
    let by_gas = params.block_gas_limit / tx_gas.max(1);
    let at_target = (params.block_gas_target / tx_gas.max(1)).min(by_bytes);
    let per_s = |n: u64| n as f64 * 1000.0 / params.block_time_ms.max(1) as f64;
    Bound {
        by_bytes_per_block: by_bytes,
        by_gas_per_block: by_gas,
        at_target_per_block: at_target,
        limit_per_s: per_s(by_bytes.min(by_gas)),
        target_per_s: per_s(at_target),
        bound_by: if by_bytes <= by_gas {
            "block bytes"
        } else {
            "block gas"
        },
    }
}

/// An L2BEAT-style risk summary, computed from a design's configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSummary {
    /// The design.
    pub design: String,
    /// How L1 accepts its state.
    pub state_validation: String,
    /// Where its data lives.
    pub data_availability: String,
    /// How long users wait to exit to L1 (and can react to a bad state).
    pub exit_window: String,
    /// What users do when the sequencer censors or stops.
    pub sequencer_failure: String,
    /// What happens when the proposer stops.
    pub proposer_failure: String,
}

/// The optimistic rollup's summary from its L1 configuration.
pub fn optimistic_risks(name: &str, config: &RollupConfig, l1: &ChainParams) -> RiskSummary {
    let blocks = |n: u64| {
        let ms = n.saturating_mul(l1.block_time_ms);
        format!("{n} L1 blocks ({})", human_ms(ms))
    };
    RiskSummary {
        design: name.into(),
        state_validation: format!(
            "fraud proofs: interactive bisection to a one-step proof run by L1 ({} per move), \
             and a one-transaction proof of a bad BLS aggregate; bonds {} (poster) and {} (challenger)",
            blocks(config.move_deadline_blocks),
            tokens(config.poster_bond),
            tokens(config.challenge_bond)
        ),
        data_availability: "L1: every batch's compressed data is in L1 calldata".into(),
        exit_window: format!(
            "{} challenge window before a withdrawal is claimable",
            blocks(config.challenge_window_blocks)
        ),
        sequencer_failure: format!(
            "forced inclusion through the L1 inbox: a batch that skips a message older than {} is refused",
            blocks(config.sequencing_window_blocks)
        ),
        proposer_failure: format!(
            "anyone with a bond may post after {} without a batch",
            blocks(config.sequencing_window_blocks)
        ),
    }
}

/// An amount in whole tokens (10¹⁸ base units).
pub fn tokens(a: terrace_primitives::Amount) -> String {
    format!("{} tokens", a.0 as f64 / 1e18)
}

/// `ms` as a short human duration.
pub fn human_ms(ms: u64) -> String {
    crate::report::dur(ms as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_change_parameters_only() {
        for p in [
            L1Preset::Terrace,
            L1Preset::BitcoinLike,
            L1Preset::EthereumLike,
            L1Preset::BigBlocks(512 * 1024),
            L1Preset::BigBlocks(8 * 1024 * 1024),
        ] {
            p.params()
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name()));
        }
    }

    #[test]
    fn the_quoted_figures_follow_from_the_parameters() {
        // A 140-byte transfer on a 1 MB / 600 s chain: ≈ 12/s (Bitcoin's
        // real transactions average ≈ 250 B, hence its ≈ 7/s).
        let b = bound(&L1Preset::BitcoinLike.params(), 140, 23_240);
        assert_eq!(b.bound_by, "block bytes");
        assert!((11.0..13.0).contains(&b.limit_per_s), "{b:?}");
        let b = bound(&L1Preset::BitcoinLike.params(), 250, 25_000);
        assert!((6.0..7.0).contains(&b.limit_per_s), "{b:?}");
        // 21,000-gas transfers in 30 M gas every 12 s: 119/s at the limit,
        // 59/s at the target.
        let e = bound(&L1Preset::EthereumLike.params(), 140, 21_000);
        assert_eq!(e.bound_by, "block gas");
        assert_eq!(e.by_gas_per_block, 1_428);
        assert!((59.0..60.0).contains(&e.target_per_s), "{e:?}");
    }
}
