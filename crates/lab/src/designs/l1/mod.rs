//! The L1 as a design: parameter presets of the one `terrace` chain
//! (`terrace`, `bitcoin-like`, `ethereum-like`, bigger blocks), run on the
//! workload in simulation ([`run`]), and the L1's own attack scenarios
//! ([`scenarios`]). A preset changes chain parameters only, never code
//! paths.

pub mod run;
pub mod scenarios;

pub use run::{L1Run, transfer_cost};

use crate::{
    LabError,
    design::{Bound, Design, Layer, RiskSummary, bound},
    lab::{BOUND_TOLERANCE, Check, LabConfig},
    report::DesignReport,
};
use serde::Serialize;
use terrace_l1::ChainParams;

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

/// The L1 runs of `cfg`: each preset with its paced and saturated blocks
/// (fewer in a quick run), and the block-size sweep.
pub fn designs(cfg: &LabConfig) -> Vec<L1Run> {
    let q = cfg.quick;
    // (preset, paced blocks, saturated blocks) for full and quick runs.
    let mut presets = vec![
        (
            L1Preset::Terrace,
            if q { 2 } else { 4 },
            if q { 1 } else { 3 },
        ),
        (
            L1Preset::BitcoinLike,
            if q { 1 } else { 2 },
            if q { 1 } else { 2 },
        ),
        (
            L1Preset::EthereumLike,
            if q { 2 } else { 5 },
            if q { 1 } else { 4 },
        ),
    ];
    let sweep: &[u64] = if q { &[128, 512] } else { &[256, 512, 1024] };
    presets.extend(
        sweep
            .iter()
            .map(|kib| (L1Preset::BigBlocks(kib * 1024), 2, if q { 1 } else { 2 })),
    );
    presets
        .into_iter()
        .map(|(preset, paced_blocks, saturated_blocks)| L1Run {
            name: preset.name(),
            params: preset.params(),
            validators: cfg.validators,
            workload: cfg.workload(),
            rate: None,
            rate_share: if q { 0.1 } else { 0.5 },
            paced_blocks,
            saturated_blocks,
            seed: cfg.seed,
            validator_cores: cfg.validator_cores,
        })
        .collect()
}

impl Design for L1Run {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn layer(&self) -> Layer {
        Layer::L1
    }

    fn params(&self) -> ChainParams {
        self.params.clone()
    }

    fn risks(&self) -> Option<RiskSummary> {
        None
    }

    fn run(&self, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
        run::run(self, progress)
    }

    /// A saturated L1 sustains its parameter bound within
    /// [`BOUND_TOLERANCE`].
    fn checks(&self, d: &DesignReport) -> Vec<Check> {
        let t = &d.throughput;
        let ratio = t.measured_tps / t.limit_tps.max(1e-9);
        vec![Check {
            design: d.design.clone(),
            what: format!(
                "measured {:.2} tx/s within {:.0}% of the bound min(bytes/tx bytes, gas/tx gas)/block time = {:.2} ({:.3}×)",
                t.measured_tps,
                BOUND_TOLERANCE * 100.0,
                t.limit_tps,
                ratio
            ),
            passed: (ratio - 1.0).abs() <= BOUND_TOLERANCE,
        }]
    }
}

/// The bound of a workload transfer on `preset`, from parameters alone.
pub fn preset_bound(preset: L1Preset) -> Result<Bound, LabError> {
    let params = preset.params();
    let (bytes, gas) = transfer_cost(&params)?;
    Ok(bound(&params, bytes, gas))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::bound;

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
