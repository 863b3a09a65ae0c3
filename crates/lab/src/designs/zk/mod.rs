//! The zk-rollup as a design: the zk-rollup node (operator with its
//! prover, watcher) on the `terrace` L1, deployed through
//! [`terrace_zkrollup::deploy`] — the devnet's path — and its attack
//! scenarios ([`scenarios`]).

pub mod scenarios;

use crate::design::{RiskSummary, human_ms};
use terrace_l1::{ChainParams, modules::validity::ZkRollupConfig};

/// The zk-rollup's summary from its L1 configuration.
pub fn zk_risks(name: &str, config: &ZkRollupConfig, l1: &ChainParams) -> RiskSummary {
    let blocks = |n: u64| {
        let ms = n.saturating_mul(l1.block_time_ms);
        format!("{n} L1 blocks ({})", human_ms(ms))
    };
    let sizes: Vec<String> = config
        .verifiers
        .iter()
        .map(|v| v.slots.to_string())
        .collect();
    RiskSummary {
        design: name.into(),
        state_validation: format!(
            "validity proofs: L1 verifies a Groth16 (BN254) proof of every batch before accepting \
             its root (batches of {} operations, depth-{} account tree); the keys come from a \
             single-party setup in this lab — whoever ran it could forge proofs (a real \
             deployment needs a multi-party ceremony)",
            sizes.join("/"),
            config.depth
        ),
        data_availability: "L1: every batch's public data (about 12 bytes per transfer) is in \
                            L1 calldata; a full node rebuilds every balance from it"
            .into(),
        exit_window: "none: a withdrawal is claimable in the L1 block its batch's proof lands in"
            .into(),
        exit_window_ms: 0,
        sequencer_failure: format!(
            "forced exit through the L1 inbox: if the operator leaves an inbox entry unprocessed for {}, anyone may freeze the rollup and every account exits with a Merkle proof",
            blocks(config.inbox_deadline_blocks)
        ),
        proposer_failure: format!(
            "only the operator proves; after {} without a batch anyone may freeze the rollup (exodus): \
             accounts exit with their last proven balance, unprocessed deposits are refunded",
            blocks(config.exodus_after_blocks)
        ),
    }
}
