//! Chain parameters: everything a preset may change. Presets change
//! parameters only, never code paths.

pub use crate::modules::ModuleParams;
use serde::{Deserialize, Serialize};
use terrace_primitives::Amount;

/// Gas the core charges; each settlement module has its own schedule in
/// its section of [`ChainParams::modules`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GasSchedule {
    /// Charged to every transaction.
    pub tx_base: u64,
    /// Charged per byte of the signed transaction's encoding: what rollups
    /// pay for their batch data.
    pub per_byte: u64,
    /// Extra for a transfer.
    pub transfer: u64,
}

impl Default for GasSchedule {
    fn default() -> Self {
        Self {
            tx_base: 21_000,
            per_byte: 16,
            transfer: 0,
        }
    }
}

/// The parameters of one chain. Read from genesis; fixed for the chain's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainParams {
    /// Most gas one block may use.
    pub block_gas_limit: u64,
    /// The gas a block aims at; the base fee rises above it and falls below.
    pub block_gas_target: u64,
    /// Most bytes of transactions one block may carry.
    pub block_bytes_max: u64,
    /// Most bytes one signed transaction may have.
    pub tx_bytes_max: u64,
    /// Base fee of the first block.
    pub initial_base_fee: u64,
    /// The base fee never falls below this (so it can always rise again).
    pub min_base_fee: u64,
    /// The base fee moves by at most 1/this per block (EIP-1559: 8).
    pub base_fee_change_denominator: u64,
    /// Minted to the proposer of every block.
    pub block_reward: Amount,
    /// Gas the core charges.
    pub gas: GasSchedule,
    /// Target time between blocks, in milliseconds (used by the node).
    pub block_time_ms: u64,
    /// Blocks per epoch. The committee of epoch e + 1 is chosen from the
    /// staking state at the end of epoch e's last block.
    pub epoch_length_blocks: u64,
    /// Most validators in a committee: the top stakes, equal weight.
    pub committee_size_max: u32,
    /// Each settlement module's parameters (`[params.modules.NAME]`).
    pub modules: ModuleParams,
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            block_gas_limit: 300_000_000,
            block_gas_target: 150_000_000,
            block_bytes_max: 2 * 1024 * 1024,
            tx_bytes_max: 128 * 1024,
            initial_base_fee: 1_000_000_000,
            min_base_fee: 1,
            base_fee_change_denominator: 8,
            block_reward: Amount(2_000_000_000_000_000_000),
            gas: GasSchedule::default(),
            block_time_ms: 250,
            epoch_length_blocks: 240,
            committee_size_max: 100,
            modules: ModuleParams::default(),
        }
    }
}

/// Why a set of parameters cannot run a chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    /// A parameter is out of its range.
    #[error("invalid chain parameter `{name}`: {why}")]
    Invalid {
        /// Parameter name.
        name: &'static str,
        /// What is wrong.
        why: &'static str,
    },
}

impl ChainParams {
    /// The epoch block `height` belongs to (genesis is in epoch 0).
    pub fn epoch_of(&self, height: u64) -> u64 {
        height / self.epoch_length_blocks.max(1)
    }

    /// Whether block `height` is the last of its epoch: executing it fixes
    /// the next epoch's committee.
    pub fn is_epoch_end(&self, height: u64) -> bool {
        height % self.epoch_length_blocks.max(1) == self.epoch_length_blocks.max(1) - 1
    }

    /// Checks the parameters are consistent.
    pub fn validate(&self) -> Result<(), ParamsError> {
        let bad = |name, why| Err(ParamsError::Invalid { name, why });
        if self.block_gas_limit == 0 {
            return bad("block_gas_limit", "must be positive");
        }
        if self.block_gas_target == 0 || self.block_gas_target > self.block_gas_limit {
            return bad("block_gas_target", "must be in 1..=block_gas_limit");
        }
        if self.tx_bytes_max == 0 || self.tx_bytes_max > self.block_bytes_max {
            return bad("tx_bytes_max", "must be in 1..=block_bytes_max");
        }
        if self.base_fee_change_denominator == 0 {
            return bad("base_fee_change_denominator", "must be positive");
        }
        if self.min_base_fee == 0 {
            return bad(
                "min_base_fee",
                "must be positive, or the base fee could never rise again",
            );
        }
        if self.initial_base_fee < self.min_base_fee {
            return bad("initial_base_fee", "must be at least min_base_fee");
        }
        if self.block_time_ms == 0 {
            return bad("block_time_ms", "must be positive");
        }
        if self.epoch_length_blocks < 2 {
            return bad("epoch_length_blocks", "must be at least 2");
        }
        if self.committee_size_max == 0 {
            return bad("committee_size_max", "must be positive");
        }
        crate::modules::dispatch::validate_params(self)
    }
}
