//! The EIP-1559 fee market.
//!
//! Every block header carries a base fee. A transaction pays
//! `gas_used × min(max_fee, base_fee + max_priority_fee)`: the
//! `gas_used × base_fee` part is burned, the rest tips the proposer. The
//! next block's base fee moves toward the gas target by at most
//! `1 / base_fee_change_denominator` (1/8) of itself:
//!
//! `next = base + base × (used − target) / target / 8`
//!
//! rising by at least 1 above target (so a tiny base fee can grow), and
//! never below `min_base_fee`.

use crate::params::ChainParams;

/// The base fee of the block after one with `parent_base_fee` that used
/// `parent_gas_used` gas.
pub fn next_base_fee(parent_base_fee: u64, parent_gas_used: u64, params: &ChainParams) -> u64 {
    let target = params.block_gas_target as u128;
    let base = parent_base_fee as u128;
    let used = parent_gas_used as u128;
    let denominator = params.base_fee_change_denominator as u128;
    let next = if used > target {
        let delta = (base * (used - target) / target / denominator).max(1);
        base.saturating_add(delta)
    } else {
        let delta = base * (target - used) / target / denominator;
        base - delta
    };
    u64::try_from(next)
        .unwrap_or(u64::MAX)
        .max(params.min_base_fee)
}

/// The price per gas a transaction pays under `base_fee`, or `None` when its
/// fee cap is below the base fee.
pub fn effective_gas_price(max_fee: u64, max_priority_fee: u64, base_fee: u64) -> Option<u64> {
    if max_fee < base_fee {
        return None;
    }
    Some(max_fee.min(base_fee.saturating_add(max_priority_fee)))
}

/// The tip per gas the proposer receives (0 when the fee cap is below the base fee).
pub fn effective_tip(max_fee: u64, max_priority_fee: u64, base_fee: u64) -> u64 {
    effective_gas_price(max_fee, max_priority_fee, base_fee).map_or(0, |p| p - base_fee)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ChainParams {
        ChainParams {
            block_gas_limit: 30_000_000,
            block_gas_target: 15_000_000,
            ..ChainParams::default()
        }
    }

    #[test]
    fn full_blocks_raise_the_base_fee_by_an_eighth() {
        // EIP-1559 with 1 nTER start, every block full (2× target).
        let p = params();
        let mut fee = 1_000_000_000u64;
        let mut seq = vec![];
        for _ in 0..6 {
            fee = next_base_fee(fee, p.block_gas_limit, &p);
            seq.push(fee);
        }
        assert_eq!(
            seq,
            [
                1_125_000_000,
                1_265_625_000,
                1_423_828_125,
                1_601_806_640,
                1_802_032_470,
                2_027_286_528
            ]
        );
    }

    #[test]
    fn empty_blocks_lower_the_base_fee_by_an_eighth() {
        let p = params();
        let mut fee = 1_000_000_000u64;
        let mut seq = vec![];
        for _ in 0..6 {
            fee = next_base_fee(fee, 0, &p);
            seq.push(fee);
        }
        assert_eq!(
            seq,
            [
                875_000_000,
                765_625_000,
                669_921_875,
                586_181_641,
                512_908_936,
                448_795_319
            ]
        );
    }

    #[test]
    fn at_target_the_base_fee_holds_and_moves_proportionally_between() {
        let p = params();
        assert_eq!(next_base_fee(1_000, 15_000_000, &p), 1_000);
        // Half-way above target: +1/16.
        assert_eq!(next_base_fee(1_600_000, 22_500_000, &p), 1_700_000);
        // A tiny base fee still rises when blocks are full.
        assert_eq!(next_base_fee(1, 30_000_000, &p), 2);
        // And never falls below the floor.
        assert_eq!(next_base_fee(1, 0, &p), p.min_base_fee);
    }

    #[test]
    fn effective_price_is_capped_by_the_fee_cap() {
        assert_eq!(effective_gas_price(100, 5, 90), Some(95));
        assert_eq!(effective_gas_price(100, 50, 90), Some(100));
        assert_eq!(effective_gas_price(80, 5, 90), None);
        assert_eq!(effective_tip(100, 50, 90), 10);
        assert_eq!(effective_tip(80, 5, 90), 0);
    }
}
