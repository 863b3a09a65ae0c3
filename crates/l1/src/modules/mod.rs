//! The settlement modules: each design's rules on L1, one folder each
//! (see [`crate::module`] for what a module is and how it plugs in).
//!
//! To add a module: write its folder, then add one line to the registry
//! below and one arm to each of [`crate::Payload`], [`crate::Key`],
//! [`crate::Value`] and [`crate::Failure`]; take payload, key and record
//! tags and failure codes no other module uses (the test below checks).
//!
//! | module | payload tags | key and record tags | failure codes |
//! |---|---|---|---|
//! | core (transfers, accounts, totals) | 0 | 0, 4 | 7, 11, 35 |
//! | [`staking`] | 1–3 | 1–3, 5, 6 | 1–6, 8 |
//! | [`optimistic`] | 4, 5 | 7–13 | 9, 10, 12–34, 36, 37 |
//! | [`validity`] | 6, 7 | 14–21 | 38–68 |
//! | [`channels`] | 8 | 22–25 | 69–97 |

pub mod channels;
pub mod optimistic;
pub mod staking;
pub mod validity;

crate::module::registry! {
    /// Bonding, unbonding, slashing and committees.
    staking: Staking(staking::Staking),
    /// Optimistic rollups: batches, fraud proofs, the bridge.
    optimistic: Optimistic(optimistic::Optimistic),
    /// zk-rollups: batches on validity proofs, withdrawals, exodus.
    validity: Validity(validity::Validity),
    /// Payment channels: open, close, challenge, penalty, HTLCs.
    channels: Channels(channels::Channels),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn modules_own_disjoint_tags_and_failure_codes() {
        let core_tags = [
            vec![crate::tx::TRANSFER_TAG],
            vec![crate::state::ACCOUNT_TAG, crate::state::TOTALS_TAG],
            vec![crate::state::ACCOUNT_TAG, crate::state::TOTALS_TAG],
        ];
        let core_failures: Vec<u8> = crate::Failure::CORE.iter().map(|f| f.code()).collect();
        let mut owners: [BTreeMap<u8, &str>; 4] = Default::default();
        let mut claim = |list: usize, tag: u8, who: &'static str| {
            if let Some(other) = owners[list].insert(tag, who) {
                panic!("tag {tag} of list {list} is claimed by {other} and {who}");
            }
        };
        for (list, tags) in core_tags.iter().enumerate() {
            for t in tags {
                claim(list, *t, "core");
            }
        }
        for c in &core_failures {
            claim(3, *c, "core");
        }
        for (name, tags, failures) in tag_sets() {
            for (list, tags) in tags.iter().enumerate() {
                assert!(!tags.is_empty(), "{name} owns no tags in list {list}");
                for t in *tags {
                    claim(list, *t, name);
                }
            }
            for c in failures {
                assert_ne!(c, 0, "{name}: failure code 0 means success");
                claim(3, c, name);
            }
        }
        assert_eq!(NAMES, ["staking", "optimistic", "validity", "channels"]);
    }
}
