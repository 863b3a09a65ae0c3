//! The field's claims (`CLAIMS.md`) answered by a run: its comparison
//! table (feature / L1 / L2) with each adjective replaced by the measured
//! figure, and the headline claims with a verdict each.
//!
//! Every row names the report section that says how its figures were
//! measured (`how`, an anchor of the HTML and Markdown reports).

use crate::{
    report::{DesignReport, LabReport, Table, dur, fig, wei},
    scenario::Verdict,
};
use serde::Serialize;

/// A claim from `CLAIMS.md`, and what this run measured of it.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// The claim, as the field states it.
    pub claim: &'static str,
    /// The figures this run measured for it.
    pub measured: String,
    /// `supported`, `refuted`, `qualified` (true with a caveat the
    /// measurement shows), or `not measured` (a design or scenario it
    /// needs was not run).
    pub verdict: &'static str,
    /// The report section that says how it was measured.
    pub how: &'static str,
}

/// One row of the comparison table: the field's adjectives, and what this
/// run measured in their place.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The feature compared.
    pub feature: &'static str,
    /// What explainers say of L1.
    pub l1_claimed: &'static str,
    /// What this run measured of L1 (`l1:*` designs).
    pub l1_measured: String,
    /// What explainers say of L2.
    pub l2_claimed: &'static str,
    /// What this run measured of L2 (`optimistic`).
    pub l2_measured: String,
    /// The report section that says how it was measured.
    pub how: &'static str,
}

/// Said of a row no run here can measure.
const NOT_MEASURED: &str = "not measured: a judgment, not a figure";

/// The run's designs and verdicts, by name.
struct Run<'a> {
    r: &'a LabReport,
}

impl<'a> Run<'a> {
    fn design(&self, name: &str) -> Option<&'a DesignReport> {
        self.r.designs.iter().find(|d| d.design == name)
    }

    fn verdict(&self, name: &str) -> Option<&'a Verdict> {
        self.r.scenarios.iter().find(|v| v.scenario == name)
    }

    /// The verdicts of `design`'s scenarios, summed up: "n of m hold,
    /// funds lost …".
    fn verdicts_of(&self, design: &str) -> Option<String> {
        let vs: Vec<&Verdict> = self
            .r
            .scenarios
            .iter()
            .filter(|v| v.design == design)
            .collect();
        if vs.is_empty() {
            return None;
        }
        let holding = vs.iter().filter(|v| v.holds).count();
        let lost: u128 = vs
            .iter()
            .map(|v| v.funds_lost_wei.parse::<u128>().unwrap_or(u128::MAX))
            .fold(0, u128::saturating_add);
        let names: Vec<&str> = vs.iter().map(|v| v.scenario).collect();
        Some(format!(
            "{holding} of {} attack scenarios end as the trust model promises ({}); honest parties lost {} wei",
            vs.len(),
            names.join(", "),
            lost
        ))
    }
}

/// The claims this run's designs and scenarios can answer.
pub fn claims(r: &LabReport) -> Vec<Claim> {
    let run = Run { r };
    let mut out = Vec::new();
    let missing = |claim: &'static str, how: &'static str| Claim {
        claim,
        measured: "the designs or scenarios it needs were not run".into(),
        verdict: "not measured",
        how,
    };
    let c = "Bitcoin ≈ 7 transactions/s (1 MB blocks every 10 minutes)";
    out.push(match run.design("l1:bitcoin-like") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "{} tx/s sustained ({}-byte transfers; bound {}); Bitcoin's average \
                 transaction is ≈ 250 B, which at the same 1 MB / 600 s gives ≈ 6.7/s",
                fig(d.throughput.measured_tps),
                fig(d.l1_bytes_per_tx),
                fig(d.throughput.limit_tps)
            ),
            verdict: if (5.0..20.0).contains(&d.throughput.measured_tps) {
                "supported"
            } else {
                "refuted"
            },
            how: "designs",
        },
        None => missing(c, "designs"),
    });
    let c = "Ethereum ≈ 15–30 transactions/s";
    out.push(match run.design("l1:ethereum-like") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "plain 21,000-gas transfers: {} tx/s at the 30 M gas limit, {} tx/s sustained \
                 at the 15 M target; the quoted 15–30/s reflects the real mix, ≈ 40–80 k gas \
                 per transaction on average",
                fig(d.throughput.measured_tps),
                fig(d.throughput.target_tps)
            ),
            verdict: "qualified",
            how: "designs",
        },
        None => missing(c, "designs"),
    });
    let c = "Bigger blocks raise throughput but raise the cost of running a node";
    let sweep = sweep(r);
    out.push(if sweep.len() >= 2 {
        let points: Vec<String> = sweep
            .iter()
            .map(|d| {
                format!(
                    "{} KiB: {} tx/s, {} KB/s of blocks to store, {} µs CPU per tx",
                    d.block_bytes_max / 1024,
                    fig(d.throughput.measured_tps),
                    fig(d.node.storage_bytes_per_s / 1000.0),
                    fig(d.node.cpu_us_per_tx)
                )
            })
            .collect();
        let rising = sweep.windows(2).all(|w| {
            w[1].throughput.measured_tps > w[0].throughput.measured_tps
                && w[1].node.storage_bytes_per_s > w[0].node.storage_bytes_per_s
        });
        Claim {
            claim: c,
            measured: points.join("; "),
            verdict: if rising { "supported" } else { "refuted" },
            how: "throughput",
        }
    } else {
        missing(c, "throughput")
    });
    let c = "L2 fees are a fraction of L1 fees";
    out.push(match (run.design("l1:terrace"), run.design("optimistic")) {
        (Some(l1), Some(l2)) => {
            let ratio = l1.fee.l1_gas_per_tx / l2.fee.l1_gas_per_tx.max(1e-9);
            Claim {
                claim: c,
                measured: format!(
                    "an L1 transfer uses {} gas; the same transfer in an optimistic batch uses \
                     {} L1 gas: {:.1}× less at any L1 gas price",
                    fig(l1.fee.l1_gas_per_tx),
                    fig(l2.fee.l1_gas_per_tx),
                    ratio
                ),
                verdict: if ratio > 1.0 { "supported" } else { "refuted" },
                how: "fees",
            }
        }
        _ => missing(c, "fees"),
    });
    let c = "L2 confirms \"instantly\"; L1 slows under load";
    out.push(match (run.design("l1:terrace"), run.design("optimistic")) {
        (Some(l1), Some(l2)) => {
            let soft = l2.latency.soft.map_or(f64::NAN, |s| s.p50_ms);
            let loaded = l1
                .latency_saturated
                .as_ref()
                .map_or(f64::NAN, |t| t.final_l1.p50_ms);
            Claim {
                claim: c,
                measured: format!(
                    "optimistic soft confirmation p50 {} (wall clock, in process) against L1 \
                     finality p50 {} at {} tx/s offered and {} with a backlog past capacity \
                     (simulated WAN); the rollup's own transfers are final on L1 at p50 {}",
                    dur(soft),
                    dur(l1.latency.final_l1.p50_ms),
                    fig(l1.offered_tps),
                    dur(loaded),
                    dur(l2.latency.final_l1.p50_ms)
                ),
                verdict: if soft < l1.latency.final_l1.p50_ms {
                    "qualified"
                } else {
                    "refuted"
                },
                how: "latency",
            }
        }
        _ => missing(c, "latency"),
    });
    let c = "Optimistic withdrawals wait the challenge window";
    out.push(match run.design("optimistic") {
        Some(d) => Claim {
            claim: c,
            measured: format!(
                "final on L1 p50 {}, withdrawable p50 {} ({}); `early-claim`: {}",
                dur(d.latency.final_l1.p50_ms),
                dur(d.latency.withdrawable.p50_ms),
                d.risks.as_ref().map_or("", |k| k.exit_window.as_str()),
                run.verdict("early-claim")
                    .map_or("not run".into(), |v| v.outcome.clone())
            ),
            verdict: if d.latency.withdrawable.p50_ms > d.latency.final_l1.p50_ms {
                "supported"
            } else {
                "refuted"
            },
            how: "latency",
        },
        None => missing(c, "latency"),
    });
    for (c, name) in [
        (
            "Rollups inherit L1 security: a wrong root is reverted",
            "invalid-root",
        ),
        (
            "One sequencer can censor; forced inclusion restores liveness",
            "censorship",
        ),
    ] {
        out.push(match run.verdict(name) {
            Some(v) => Claim {
                claim: c,
                measured: format!("`{name}` (seed {}): {}", v.seed, v.outcome),
                verdict: if v.holds { "supported" } else { "refuted" },
                how: "scenarios",
            },
            None => missing(c, "scenarios"),
        });
    }
    out
}

/// The block-size sweep: `l1:terrace` and the `big-blocks` presets, by
/// block size.
pub fn sweep(r: &LabReport) -> Vec<&DesignReport> {
    let mut sweep: Vec<&DesignReport> = r
        .designs
        .iter()
        .filter(|d| d.design.starts_with("l1:big-blocks") || d.design == "l1:terrace")
        .collect();
    sweep.sort_by_key(|d| d.block_bytes_max);
    sweep
}

/// The comparison table of `CLAIMS.md`, measured. Cells read "not run"
/// where a design it needs was left out.
pub fn comparison(r: &LabReport) -> Vec<Comparison> {
    let run = Run { r };
    let l1 = run.design("l1:terrace");
    let l2 = run.design("optimistic");
    let risks = l2.and_then(|d| d.risks.as_ref());
    let or_not_run = |s: Option<String>| s.unwrap_or_else(|| "not run".into());
    let final_of = |name: &str, label: &str| {
        run.design(name)
            .map(|d| format!("{} ({label})", dur(d.latency.final_l1.p50_ms)))
    };
    let l1_finals: Vec<String> = [
        ("l1:terrace", "terrace"),
        ("l1:ethereum-like", "ethereum-like"),
        ("l1:bitcoin-like", "bitcoin-like"),
    ]
    .iter()
    .filter_map(|(n, l)| final_of(n, l))
    .collect();
    let mut rows = Vec::new();
    rows.push(Comparison {
        feature: "where it works",
        l1_claimed: "the base chain itself",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "{} validators in BFT consensus over a 5-region WAN, {} blocks of {} B",
                d.validators,
                dur(d.block_time_ms as f64),
                fig(d.block_bytes_max as f64)
            )
        })),
        l2_claimed: "on top of the base chain",
        l2_measured: or_not_run(l2.map(|d| {
            format!(
                "one sequencer executes; its batches land on the terrace L1 as {} B of calldata per transfer",
                fig(d.l1_bytes_per_tx)
            )
        })),
        how: "runs",
    });
    rows.push(Comparison {
        feature: "where transactions happen",
        l1_claimed: "directly on the main chain",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "in an L1 block: included p50 {}, final p50 {}",
                dur(d.latency.included.p50_ms),
                dur(d.latency.final_l1.p50_ms)
            )
        })),
        l2_claimed: "off-chain first, then settled on L1",
        l2_measured: or_not_run(l2.map(|d| {
            format!(
                "on the sequencer first (soft confirmation p50 {}, wall clock), then in an L1 batch (included p50 {})",
                d.latency.soft.map_or("—".into(), |s| dur(s.p50_ms)),
                dur(d.latency.included.p50_ms)
            )
        })),
        how: "latency",
    });
    rows.push(Comparison {
        feature: "speed",
        l1_claimed: "slower under demand; \"medium to high\" after upgrades",
        l1_measured: if l1_finals.is_empty() {
            "not run".into()
        } else {
            let loaded = l1
                .and_then(|d| d.latency_saturated.as_ref())
                .map(|t| {
                    format!(
                        "; with a backlog past capacity terrace's final p50 is {}",
                        dur(t.final_l1.p50_ms)
                    )
                })
                .unwrap_or_default();
            format!("final p50 {}{loaded}", l1_finals.join(", "))
        },
        l2_claimed: "\"much faster confirmations\"",
        l2_measured: or_not_run(l2.map(|d| {
            format!(
                "soft confirmation p50 {} (wall clock); final on L1 p50 {}; withdrawable on L1 p50 {}",
                d.latency.soft.map_or("—".into(), |s| dur(s.p50_ms)),
                dur(d.latency.final_l1.p50_ms),
                dur(d.latency.withdrawable.p50_ms)
            )
        })),
        how: "latency",
    });
    rows.push(Comparison {
        feature: "fees",
        l1_claimed: "high under congestion; \"moderate\" cut from upgrades",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "{} gas per transfer = {} at a {} base fee; {}",
                fig(d.fee.l1_gas_per_tx),
                wei(d.fee.fee_per_tx_wei),
                wei(d.fee.base_fee_wei),
                congestion(d)
            )
        })),
        l2_claimed: "\"usually lower\", \"often significant\" savings",
        l2_measured: or_not_run(l2.map(|d| {
            let ratio = l1.map_or(String::new(), |l1| {
                format!(
                    " ({:.1}× less than an L1 transfer)",
                    l1.fee.l1_gas_per_tx / d.fee.l1_gas_per_tx.max(1e-9)
                )
            });
            format!(
                "{} L1 gas per transfer{ratio} = {} of L1 cost, plus an L2 fee of {}",
                fig(d.fee.l1_gas_per_tx),
                wei(d.fee.fee_per_tx_wei),
                d.fee.l2_fee_per_tx_wei.map_or("—".into(), wei)
            )
        })),
        how: "fees",
    });
    rows.push(Comparison {
        feature: "security model",
        l1_claimed: "native consensus",
        l1_measured: or_not_run(run.verdicts_of("l1")),
        l2_claimed: "\"inherits\" or \"depends on\" L1 security",
        l2_measured: or_not_run(run.verdicts_of("optimistic").map(|s| {
            match run.verdict("invalid-root") {
                Some(v) => format!(
                    "{s}; a false root was reverted {} after it was posted",
                    crate::design::human_ms(v.resolution_ms)
                ),
                None => s,
            }
        })),
        how: "scenarios",
    });
    rows.push(Comparison {
        feature: "decentralization",
        l1_claimed: "high",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "{} validators with equal stake; any {} may fail or lie and the rest finalize",
                d.validators,
                (d.validators.saturating_sub(1)) / 3
            )
        })),
        l2_claimed: "\"may vary by solution\"",
        l2_measured: or_not_run(risks.map(|k| {
            format!(
                "one sequencer; proposer failure: {}; sequencer failure: {}",
                k.proposer_failure, k.sequencer_failure
            )
        })),
        how: "risks",
    });
    rows.push(Comparison {
        feature: "scalability",
        l1_claimed: "limited by protocol design",
        l1_measured: or_not_run(l1.map(|d| {
            let s: Vec<String> = sweep(r)
                .iter()
                .map(|d| {
                    format!(
                        "{} KiB → {}",
                        d.block_bytes_max / 1024,
                        fig(d.throughput.measured_tps)
                    )
                })
                .collect();
            format!(
                "{} tx/s, bound by {}; block size sweep (tx/s): {}",
                fig(d.throughput.measured_tps),
                d.throughput.bound_by,
                s.join(", ")
            )
        })),
        l2_claimed: "designed to increase it",
        l2_measured: or_not_run(l2.map(|d| {
            format!(
                "{} tx/s, bound by {}; at {} B and {} L1 gas per transfer the L1's block space \
                 would carry {} rollup transfers/s ({} at the gas target)",
                fig(d.throughput.measured_tps),
                d.throughput.bound_by,
                fig(d.l1_bytes_per_tx),
                fig(d.fee.l1_gas_per_tx),
                fig(d.throughput.limit_tps),
                fig(d.throughput.target_tps)
            )
        })),
        how: "throughput",
    });
    rows.push(Comparison {
        feature: "risk type",
        l1_claimed: "network-wide (a bad upgrade hits everything), congestion",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "congestion: with a backlog past capacity final p50 went from {} to {}; {}",
                dur(d.latency.final_l1.p50_ms),
                d.latency_saturated
                    .as_ref()
                    .map_or("—".into(), |t| dur(t.final_l1.p50_ms)),
                congestion(d)
            )
        })),
        l2_claimed: "smart-contract bugs, bridge exploits, data availability",
        l2_measured: or_not_run(risks.map(|k| {
            format!(
                "state validation: {}; data availability: {}",
                k.state_validation, k.data_availability
            )
        })),
        how: "risks",
    });
    rows.push(Comparison {
        feature: "upgrade complexity / adoption speed",
        l1_claimed: "very high / slow",
        l1_measured: NOT_MEASURED.into(),
        l2_claimed: "moderate / fast",
        l2_measured: NOT_MEASURED.into(),
        how: "claims",
    });
    rows.push(Comparison {
        feature: "dependency",
        l1_claimed: "independent",
        l1_measured: or_not_run(l1.map(|d| {
            format!(
                "independent: final by its own consensus in p50 {}",
                dur(d.latency.final_l1.p50_ms)
            )
        })),
        l2_claimed: "relies on L1 for final settlement",
        l2_measured: or_not_run(l2.zip(risks).map(|(d, k)| {
            format!(
                "exit: {} (withdrawable p50 {}); {}",
                k.exit_window,
                dur(d.latency.withdrawable.p50_ms),
                k.sequencer_failure
            )
        })),
        how: "risks",
    });
    rows.push(Comparison {
        feature: "best for",
        l1_claimed: "settlement, high-value, long-term security",
        l1_measured: NOT_MEASURED.into(),
        l2_claimed: "DeFi, NFTs, gaming, micropayments",
        l2_measured: NOT_MEASURED.into(),
        how: "claims",
    });
    rows
}

/// What a backlog did to an L1's base fee: EIP-1559 raises it at most
/// 12.5% per full block, so a short backlog moves it little.
fn congestion(d: &DesignReport) -> String {
    let (before, after) = (d.fee.base_fee_wei, d.fee.base_fee_after_saturation_wei);
    let blocks = d.throughput.blocks_measured;
    if after > before * 1.01 {
        format!(
            "{blocks} full blocks raised the base fee {:.2}× (to {})",
            after / before.max(1e-9),
            wei(after)
        )
    } else {
        format!(
            "{blocks} full blocks left the base fee at {} (EIP-1559 raises it at most 12.5% a full block, from where the lighter paced phase had lowered it)",
            wei(after)
        )
    }
}

/// The claims as a [`Table`], for every rendering.
pub fn claims_table(claims: &[Claim]) -> Table {
    let mut table = Table::new(&["claim", "measured", "verdict", "how"]);
    for c in claims {
        table.rows.push(vec![
            c.claim.into(),
            c.measured.clone(),
            c.verdict.into(),
            format!("[{}](#{})", c.how, c.how),
        ]);
    }
    table
}

/// The comparison as a [`Table`], for every rendering.
pub fn comparison_table(rows: &[Comparison]) -> Table {
    let mut table = Table::new(&[
        "feature",
        "L1: the field says",
        "L1: measured",
        "L2: the field says",
        "L2: measured (optimistic)",
        "how",
    ]);
    for c in rows {
        table.rows.push(vec![
            c.feature.into(),
            c.l1_claimed.into(),
            c.l1_measured.clone(),
            c.l2_claimed.into(),
            c.l2_measured.clone(),
            format!("[{}](#{})", c.how, c.how),
        ]);
    }
    table
}
