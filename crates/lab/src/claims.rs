//! The field's claims (`CLAIMS.md`) answered by a run: its comparison
//! table (feature / L1 / one column per L2 design) with each adjective
//! replaced by the measured figure, and the headline claims, each with a
//! verdict.
//!
//! A verdict is never written by hand: each claim names a rule from
//! [`rules`], states it in the report, and the rule is applied to the
//! run's measured figures. A figure that was not measured here (the size
//! of a real Bitcoin transaction, say) is never in `measured`: it goes to
//! `reference`, with where it comes from. Every row names the report
//! section that says how its figures were measured (`how`, an anchor of
//! the HTML and Markdown reports).

use crate::{
    design::Layer,
    report::{DesignReport, LabReport, Table, dur, fig, per_gas, ter},
    scenario::Verdict as ScenarioVerdict,
};
use serde::Serialize;

/// What a rule concluded of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// The measurement agrees with the claim.
    #[serde(rename = "supported")]
    Supported,
    /// It agrees with a caveat the rule states.
    #[serde(rename = "qualified")]
    Qualified,
    /// It disagrees.
    #[serde(rename = "refuted")]
    Refuted,
    /// A design or scenario it needs was not run.
    #[serde(rename = "not measured")]
    NotMeasured,
}

impl Verdict {
    /// As reports write it.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Qualified => "qualified",
            Verdict::Refuted => "refuted",
            Verdict::NotMeasured => "not measured",
        }
    }
}

/// The rules verdicts come from: pure functions of measured figures, each
/// with the sentence the report states.
pub mod rules {
    use super::Verdict;

    /// [`near`], stated.
    pub const NEAR: &str = "supported when the measured figure is within 2× of the claimed one, \
                            qualified within 4×, refuted beyond";

    /// A claimed figure against the measured one.
    pub fn near(measured: f64, claimed: f64) -> Verdict {
        if !(measured > 0.0 && claimed > 0.0) {
            return Verdict::Refuted;
        }
        let factor = (measured / claimed).max(claimed / measured);
        if factor <= 2.0 {
            Verdict::Supported
        } else if factor <= 4.0 {
            Verdict::Qualified
        } else {
            Verdict::Refuted
        }
    }

    /// [`in_range`], stated.
    pub const IN_RANGE: &str = "supported when the measured figure is inside the claimed range, \
                                qualified within 2× of its ends, refuted beyond";

    /// A claimed range against the measured figure.
    pub fn in_range(measured: f64, lo: f64, hi: f64) -> Verdict {
        if (lo..=hi).contains(&measured) {
            Verdict::Supported
        } else if (lo / 2.0..=hi * 2.0).contains(&measured) {
            Verdict::Qualified
        } else {
            Verdict::Refuted
        }
    }

    /// [`cheaper`], stated.
    pub const CHEAPER: &str = "supported when the L1 transfer costs at least 2× the L2 transfer's \
                               L1 gas, qualified when it costs more, refuted otherwise";

    /// `ratio` = what the L1 way costs ÷ what the L2 way costs.
    pub fn cheaper(ratio: f64) -> Verdict {
        if ratio >= 2.0 {
            Verdict::Supported
        } else if ratio > 1.0 {
            Verdict::Qualified
        } else {
            Verdict::Refuted
        }
    }

    /// [`cheaper`]'s thresholds, for a validium against the zk-rollup.
    pub const FRACTION: &str = "supported when the zk-rollup's L1 gas per transfer is at least 2× \
                                the validium's, qualified when it is more, refuted otherwise";

    /// [`rising`], stated.
    pub const RISING: &str = "supported when, block size after block size, both throughput and \
                              stored bytes per second rise; qualified when only throughput rises; \
                              refuted when it does not";

    /// Points of a sweep in order of block size: (throughput, node cost).
    pub fn rising(points: &[(f64, f64)]) -> Verdict {
        if points.len() < 2 {
            return Verdict::NotMeasured;
        }
        let throughput = points.windows(2).all(|w| w[1].0 > w[0].0);
        let cost = points.windows(2).all(|w| w[1].1 > w[0].1);
        match (throughput, cost) {
            (true, true) => Verdict::Supported,
            (true, false) => Verdict::Qualified,
            (false, _) => Verdict::Refuted,
        }
    }

    /// [`both`], stated for a claim of two halves.
    pub const BOTH: &str = "supported when both halves hold, qualified when one does, refuted \
                            when neither";

    /// A claim of two halves.
    pub fn both(first: bool, second: bool) -> Verdict {
        match (first, second) {
            (true, true) => Verdict::Supported,
            (true, false) | (false, true) => Verdict::Qualified,
            (false, false) => Verdict::Refuted,
        }
    }

    /// [`smaller`], stated.
    pub const SMALLER: &str = "supported when the compared design posts at least 2× the L1 bytes \
                               per transfer, qualified when it posts more, refuted otherwise";

    /// `ratio` = the compared design's L1 bytes per transfer ÷ this one's.
    pub fn smaller(ratio: f64) -> Verdict {
        if ratio >= 2.0 {
            Verdict::Supported
        } else if ratio > 1.0 {
            Verdict::Qualified
        } else {
            Verdict::Refuted
        }
    }

    /// [`heavy`], stated.
    pub const HEAVY: &str = "supported when proving costs at least 1,000× the optimistic \
                             sequencer's CPU per transfer, qualified at 10×, refuted below";

    /// `ratio` = prover CPU per transfer ÷ optimistic sequencer CPU per
    /// transfer.
    pub fn heavy(ratio: f64) -> Verdict {
        if ratio >= 1_000.0 {
            Verdict::Supported
        } else if ratio >= 10.0 {
            Verdict::Qualified
        } else {
            Verdict::Refuted
        }
    }

    /// [`no_window`], stated.
    pub const NO_WINDOW: &str = "supported when every withdrawal claimed the moment its batch was \
                                 final on L1 was paid (within one L1 block) and the \
                                 `forged-proof` scenario holds; qualified when one of the two \
                                 does; refuted when neither";

    /// Whether withdrawals were paid at finality, and the forged-proof
    /// scenario held.
    pub fn no_window(paid_at_final: bool, forged_refused: bool) -> Verdict {
        both(paid_at_final, forged_refused)
    }

    /// [`freezes`], stated.
    pub const FREEZES: &str = "supported when `validium-withholding` froze honest funds (more \
                               than 0) and nobody took any, while the same attack on the \
                               zk-rollup (`zk-withholding`) froze nothing; qualified when the \
                               validium froze funds but one of those two halves failed; refuted \
                               when it froze nothing; not measured when either run broke its \
                               verdict (a failed run's figures are not measurements)";

    /// What withholding froze on the validium (aTER), what anyone took
    /// there, and what the same attack froze on the zk-rollup; `held`:
    /// both runs' verdicts held.
    pub fn freezes(
        held: bool,
        validium_frozen: u128,
        validium_taken: u128,
        zk_frozen: u128,
    ) -> Verdict {
        if !held {
            Verdict::NotMeasured
        } else if validium_frozen == 0 {
            Verdict::Refuted
        } else if validium_taken == 0 && zk_frozen == 0 {
            Verdict::Supported
        } else {
            Verdict::Qualified
        }
    }

    /// [`punished`], stated.
    pub const PUNISHED: &str = "supported when, in `chan-revoked-close-tower`, the cheater's \
                                revoked close was challenged, it forfeited its whole balance \
                                and the victim lost nothing, and `chan-revoked-close-no-tower` \
                                lost nothing either; qualified when only the first holds (the \
                                punishment needs someone online within the window: without a \
                                watcher the theft pays); refuted when the cheater kept \
                                anything or the victim lost funds with a tower; not measured \
                                when either run failed to reach its end";

    /// `tower`: the tower run's verdict held (the cheater forfeited, the
    /// victim whole); `unwatched_loss`: what the victim lost with nobody
    /// watching (aTER); `ran`: both runs reached their end.
    pub fn punished(ran: bool, tower: bool, unwatched_loss: u128) -> Verdict {
        match (ran, tower, unwatched_loss) {
            (false, _, _) => Verdict::NotMeasured,
            (true, false, _) => Verdict::Refuted,
            (true, true, 0) => Verdict::Supported,
            (true, true, _) => Verdict::Qualified,
        }
    }

    /// [`holds`], stated.
    pub const HOLDS: &str =
        "supported when the scenario's verdict holds, refuted when it is BROKEN";

    /// A claim a scenario plays out.
    pub fn holds(held: bool) -> Verdict {
        if held {
            Verdict::Supported
        } else {
            Verdict::Refuted
        }
    }
}

/// A figure from elsewhere, with where it comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// The figure, in words.
    pub figure: String,
    /// Its source.
    pub source: String,
}

/// A claim from `CLAIMS.md`, and what this run measured of it.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// The claim, as the field states it.
    pub claim: String,
    /// The design it was measured on, when it is about one.
    pub design: Option<String>,
    /// The figures this run measured for it.
    pub measured: String,
    /// A figure it needs that was not measured here, with its source.
    pub reference: Option<Reference>,
    /// The rule the verdict comes from.
    pub rule: &'static str,
    /// The rule applied to the measured figures.
    pub verdict: Verdict,
    /// The report section that says how it was measured.
    pub how: &'static str,
}

/// What one L2 design measured for a feature of the comparison table.
#[derive(Debug, Clone, Serialize)]
pub struct DesignCell {
    /// The design.
    pub design: String,
    /// What it measured.
    pub measured: String,
}

/// One row of the comparison table: the field's adjectives, and what this
/// run measured in their place — L1 once, each L2 design in its column.
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
    /// What this run measured of each L2 design, in report order.
    pub l2_measured: Vec<DesignCell>,
    /// The report section that says how it was measured.
    pub how: &'static str,
}

/// Said of a row no run here can measure.
const NOT_MEASURED: &str = "not measured: a judgment, not a figure";

/// The run's designs and verdicts.
struct Run<'a> {
    r: &'a LabReport,
}

impl<'a> Run<'a> {
    fn design(&self, name: &str) -> Option<&'a DesignReport> {
        self.r.designs.iter().find(|d| d.design == name)
    }

    fn l2(&self) -> impl Iterator<Item = &'a DesignReport> {
        self.r
            .designs
            .iter()
            .filter(|d| d.layer == Layer::L2.name())
    }

    fn verdict(&self, name: &str) -> Option<&'a ScenarioVerdict> {
        self.r.scenarios.iter().find(|v| v.scenario == name)
    }

    /// The verdicts of the scenarios of `family`, summed up: "n of m
    /// hold, funds lost …".
    fn verdicts_of(&self, family: &str) -> Option<String> {
        let vs: Vec<&ScenarioVerdict> = self
            .r
            .scenarios
            .iter()
            .filter(|v| v.design == family)
            .collect();
        if vs.is_empty() {
            return None;
        }
        let holding = vs.iter().filter(|v| v.holds).count();
        let sum = |f: fn(&ScenarioVerdict) -> &str| {
            vs.iter()
                .map(|v| f(v).parse::<u128>().unwrap_or(u128::MAX))
                .fold(0, u128::saturating_add)
        };
        let lost = sum(|v| &v.funds_lost_ater);
        let frozen = sum(|v| &v.funds_frozen_ater);
        let names: Vec<&str> = vs.iter().map(|v| v.scenario).collect();
        Some(format!(
            "{holding} of {} attack scenarios end as the trust model promises ({}); honest parties lost {} aTER{}",
            vs.len(),
            names.join(", "),
            lost,
            if frozen > 0 {
                format!(", and {frozen} aTER of theirs was frozen (nobody took it)")
            } else {
                String::new()
            }
        ))
    }
}

/// A claim that could not be measured: a design or scenario it needs
/// was not run.
fn missing(claim: &str, rule: &'static str, how: &'static str) -> Claim {
    Claim {
        claim: claim.into(),
        design: None,
        measured: "the designs or scenarios it needs were not run".into(),
        reference: None,
        rule,
        verdict: Verdict::NotMeasured,
        how,
    }
}

/// The claims this run's designs and scenarios can answer.
pub fn claims(r: &LabReport) -> Vec<Claim> {
    let run = Run { r };
    let mut out = vec![bitcoin(&run), ethereum(&run), bigger_blocks(r)];
    let l1 = run.design("l1:terrace");
    for d in run.l2() {
        out.push(match l1 {
            Some(l1) => cheaper(l1, d),
            None => missing("L2 fees are a fraction of L1 fees", rules::CHEAPER, "fees"),
        });
        out.push(match l1 {
            Some(l1) => instant(l1, d),
            None => missing(
                "L2 confirms \"instantly\"; L1 slows under load",
                rules::BOTH,
                "latency",
            ),
        });
        if d.family == "optimistic" {
            out.push(withdrawals_wait(&run, d));
        }
        if d.prover.is_some() {
            out.push(final_when_proven(&run, d));
            if d.family == "zk-rollup" {
                out.push(less_data(&run, d));
            }
            if d.family == "validium" {
                out.push(fraction_of_the_cost(&run, d));
            }
            out.push(heavy_compute(&run, d));
        }
    }
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
                claim: c.into(),
                design: Some(v.design.into()),
                measured: format!("`{name}` (seed {}): {}", v.seed, v.outcome),
                reference: None,
                rule: rules::HOLDS,
                verdict: rules::holds(v.holds),
                how: "scenarios",
            },
            None => missing(c, rules::HOLDS, "scenarios"),
        });
    }
    out.push(withholding_freezes(&run));
    out.push(cheating_punished(&run));
    out
}

/// The revoked close with a tower and without one.
fn cheating_punished(run: &Run<'_>) -> Claim {
    let c = "channel cheating is punished";
    let (Some(t), Some(n)) = (
        run.verdict("chan-revoked-close-tower"),
        run.verdict("chan-revoked-close-no-tower"),
    ) else {
        return missing(c, rules::PUNISHED, "scenarios");
    };
    let failed = |v: &ScenarioVerdict| v.outcome.starts_with("the run failed");
    let loss = n.funds_lost_ater.parse::<u128>().unwrap_or(u128::MAX);
    Claim {
        claim: c.into(),
        design: Some(t.design.into()),
        measured: format!(
            "`chan-revoked-close-tower` (seed {}): {}. `chan-revoked-close-no-tower` (seed {}): {}; \
             the victim lost {}",
            t.seed,
            t.outcome,
            n.seed,
            n.outcome,
            terrace_primitives::Amount(loss).ter(),
        ),
        reference: None,
        rule: rules::PUNISHED,
        verdict: rules::punished(!failed(t) && !failed(n), t.holds, loss),
        how: "scenarios",
    }
}

/// What `validium-withholding` froze, beside the same attack on the
/// zk-rollup.
fn withholding_freezes(run: &Run<'_>) -> Claim {
    let c = "validium data withholding can freeze funds";
    let (Some(v), Some(zk)) = (
        run.verdict("validium-withholding"),
        run.verdict("zk-withholding"),
    ) else {
        return missing(c, rules::FREEZES, "scenarios");
    };
    let aters = |s: &str| s.parse::<u128>().unwrap_or(u128::MAX);
    let ter = |x: u128| terrace_primitives::Amount(x).ter();
    let (frozen, taken, zk_frozen) = (
        aters(&v.funds_frozen_ater),
        aters(&v.funds_lost_ater),
        aters(&zk.funds_frozen_ater),
    );
    Claim {
        claim: c.into(),
        design: Some(v.design.into()),
        measured: format!(
            "`validium-withholding` (seed {}): {} frozen, {} taken — {}. `zk-withholding` (seed {}), \
             the same attack on the zk-rollup: {} frozen, {} taken — {}",
            v.seed,
            ter(frozen),
            ter(taken),
            v.outcome,
            zk.seed,
            ter(zk_frozen),
            ter(aters(&zk.funds_lost_ater)),
            zk.outcome,
        ),
        reference: None,
        rule: rules::FREEZES,
        verdict: rules::freezes(v.holds && zk.holds, frozen, taken, zk_frozen),
        how: "scenarios",
    }
}

fn bitcoin(run: &Run<'_>) -> Claim {
    let c = "Bitcoin ≈ 7 transactions/s (1 MB blocks every 10 minutes)";
    let Some(d) = run.design("l1:bitcoin-like") else {
        return missing(c, rules::NEAR, "designs");
    };
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "{} tx/s sustained with {}-byte transfers (bound {})",
            fig(d.throughput.measured_tps),
            fig(d.l1_bytes_per_tx),
            fig(d.throughput.limit_tps)
        ),
        reference: Some(Reference {
            figure: "7 transactions/s in 1 MB every 600 s is ≈ 238 B per transaction: the \
                     claim's own arithmetic, for transactions larger than this workload's"
                .into(),
            source: "the claim (CLAIMS.md)".into(),
        }),
        rule: rules::NEAR,
        verdict: rules::near(d.throughput.measured_tps, 7.0),
        how: "designs",
    }
}

fn ethereum(run: &Run<'_>) -> Claim {
    let c = "Ethereum ≈ 15–30 transactions/s";
    let Some(d) = run.design("l1:ethereum-like") else {
        return missing(c, rules::IN_RANGE, "designs");
    };
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "plain 21,000-gas transfers: {} tx/s at the 30 M gas limit, {} tx/s sustained at the \
             15 M target (the figure judged)",
            fig(d.throughput.measured_tps),
            fig(d.throughput.target_tps)
        ),
        reference: Some(Reference {
            figure: "15–30 transactions/s at the 15 M gas target every 12 s is 42–83 k gas per \
                     transaction: the claim's own arithmetic, for a mix heavier than plain \
                     transfers"
                .into(),
            source: "the claim (CLAIMS.md) and Ethereum's gas target".into(),
        }),
        rule: rules::IN_RANGE,
        verdict: rules::in_range(d.throughput.target_tps, 15.0, 30.0),
        how: "designs",
    }
}

fn bigger_blocks(r: &LabReport) -> Claim {
    let c = "Bigger blocks raise throughput but raise the cost of running a node";
    let sweep = sweep(r);
    if sweep.len() < 2 {
        return missing(c, rules::RISING, "throughput");
    }
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
    let figures: Vec<(f64, f64)> = sweep
        .iter()
        .map(|d| (d.throughput.measured_tps, d.node.storage_bytes_per_s))
        .collect();
    Claim {
        claim: c.into(),
        design: None,
        measured: points.join("; "),
        reference: None,
        rule: rules::RISING,
        verdict: rules::rising(&figures),
        how: "throughput",
    }
}

fn cheaper(l1: &DesignReport, d: &DesignReport) -> Claim {
    let ratio = l1.fee.l1_gas_per_tx / d.fee.l1_gas_per_tx.max(1e-9);
    Claim {
        claim: "L2 fees are a fraction of L1 fees".into(),
        design: Some(d.design.clone()),
        measured: format!(
            "an L1 transfer uses {} gas; the same transfer in a batch of {} uses {} L1 gas: {} at \
             any L1 gas price{}",
            fig(l1.fee.l1_gas_per_tx),
            d.design,
            fig(d.fee.l1_gas_per_tx),
            less_or_more(ratio),
            d.prover.as_ref().map_or(String::new(), |p| format!(
                " (batches of {} slots, {:.1} operations each on average: every batch pays for \
                 its proof's pairing check whatever it carries)",
                p.slots, d.throughput.txs_per_block
            ))
        ),
        reference: None,
        rule: rules::CHEAPER,
        verdict: rules::cheaper(ratio),
        how: "fees",
    }
}

/// A user's soft confirmation: "instant" is under a second and under a
/// tenth of L1 finality.
fn instant(l1: &DesignReport, d: &DesignReport) -> Claim {
    let soft = d.latency.soft.map_or(f64::NAN, |s| s.p50_ms);
    let paced = l1.latency.final_l1.p50_ms;
    let loaded = l1
        .latency_saturated
        .as_ref()
        .map_or(f64::NAN, |t| t.final_l1.p50_ms);
    let instant = soft < 1000.0 && soft * 10.0 < paced;
    let slows = loaded > paced;
    Claim {
        claim: "L2 confirms \"instantly\"; L1 slows under load".into(),
        design: Some(d.design.clone()),
        measured: format!(
            "{} soft confirmation p50 {} ({}) against L1 finality p50 {} at {} tx/s offered and \
             {} with a backlog past capacity (simulated WAN); \"instant\": under 1 s and under a \
             tenth of L1 finality ({}); \"slows\": finality later with the backlog ({})",
            d.design,
            dur(soft),
            d.latency.soft_clock.unwrap_or("not measured"),
            dur(paced),
            fig(l1.offered_tps),
            dur(loaded),
            if instant { "yes" } else { "no" },
            if slows { "yes" } else { "no" },
        ),
        reference: None,
        rule: rules::BOTH,
        verdict: rules::both(instant, slows),
        how: "latency",
    }
}

/// An optimistic design's withdrawals: each waits the window after it is
/// final, and an early claim is refused.
fn withdrawals_wait(run: &Run<'_>, d: &DesignReport) -> Claim {
    let c = "Optimistic withdrawals wait the challenge window";
    let window = d.risks.as_ref().map(|k| k.exit_window_ms);
    let waited = d.latency.withdrawable.p50_ms - d.latency.final_l1.p50_ms;
    let early = run.verdict("early-claim");
    let (Some(window), Some(early)) = (window, early) else {
        return missing(c, rules::BOTH, "latency");
    };
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "final on L1 p50 {}, withdrawable p50 {}: {} later against a window of {} (waits: {}); \
             `early-claim`: {} ({})",
            dur(d.latency.final_l1.p50_ms),
            dur(d.latency.withdrawable.p50_ms),
            dur(waited),
            dur(window as f64),
            if waited >= window as f64 { "yes" } else { "no" },
            early.outcome,
            if early.holds { "holds" } else { "BROKEN" },
        ),
        reference: None,
        rule: rules::BOTH,
        verdict: rules::both(waited >= window as f64, early.holds),
        how: "latency",
    }
}

/// A validity-proof design's withdrawals: claimable in the block the
/// proof lands in — every withdrawal of the run was claimed then and paid
/// — and a forged proof is refused.
fn final_when_proven(run: &Run<'_>, d: &DesignReport) -> Claim {
    let c = "zk: final when the proof lands, no window";
    let (Some(paid), Some(forged)) = (&d.claims_paid, run.verdict("forged-proof")) else {
        return missing(c, rules::NO_WINDOW, "latency");
    };
    let block = d.block_time_ms;
    let at_final =
        paid.withdrawals > 0 && paid.paid == paid.withdrawals && paid.max_after_final_ms <= block;
    let optimistic = run
        .design("optimistic")
        .map(|o| {
            format!(
                "; the optimistic rollup's withdrawable p50 is {} against its final p50 {}",
                dur(o.latency.withdrawable.p50_ms),
                dur(o.latency.final_l1.p50_ms)
            )
        })
        .unwrap_or_default();
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "submitted → proven and final on L1 p50 {} (p99 {}) at {} tx/s offered; {} of {} \
             withdrawals were paid by a claim sent at most {} after their batch was final{optimistic}; \
             `forged-proof` (seed {}): {} ({})",
            dur(d.latency.final_l1.p50_ms),
            dur(d.latency.final_l1.p99_ms),
            fig(d.offered_tps),
            paid.paid,
            paid.withdrawals,
            dur(paid.max_after_final_ms as f64),
            forged.seed,
            forged.outcome,
            if forged.holds { "holds" } else { "BROKEN" },
        ),
        reference: Some(Reference {
            figure: "\"hours to a day depending on batch frequency\" is how often operators \
                     choose to prove on Ethereum, not a property of the design"
                .into(),
            source: "the claim (CLAIMS.md)".into(),
        }),
        rule: rules::NO_WINDOW,
        verdict: rules::no_window(at_final, forged.holds),
        how: "latency",
    }
}

/// L1 bytes per transfer against the optimistic rollup's (one signature
/// per transfer in its data).
fn less_data(run: &Run<'_>, d: &DesignReport) -> Claim {
    let c = "zk posts less data (no signatures)";
    let Some(o) = run.design("optimistic") else {
        return missing(c, rules::SMALLER, "fees");
    };
    let ratio = o.l1_bytes_per_tx / d.l1_bytes_per_tx.max(1e-9);
    let bls = run
        .design("optimistic-bls")
        .map(|b| {
            format!(
                "; with BLS-aggregated signatures the optimistic rollup posts {} B",
                fig(b.l1_bytes_per_tx)
            )
        })
        .unwrap_or_default();
    let proof = d
        .prover
        .as_ref()
        .map(|p| {
            format!(
                " ({} B of it public data — {} than the optimistic rollup's — the rest its share \
                 of the {} B proof and the roots of a batch of {})",
                fig(d.node.storage_bytes_per_tx),
                less_or_more(o.l1_bytes_per_tx / d.node.storage_bytes_per_tx.max(1e-9)),
                p.proof_bytes,
                p.slots
            )
        })
        .unwrap_or_default();
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "{} posts {} B on L1 per operation{proof}; the optimistic rollup {} B per \
             signed transfer (compressed): {:.1}× more{bls}",
            d.design,
            fig(d.l1_bytes_per_tx),
            fig(o.l1_bytes_per_tx),
            ratio
        ),
        reference: Some(Reference {
            figure: "zkSync Lite 20, Loopring 22, Hermez 14 bytes per transfer".into(),
            source: "the issue's targets, from those projects' published data layouts".into(),
        }),
        rule: rules::SMALLER,
        verdict: rules::smaller(ratio),
        how: "fees",
    }
}

/// A validium's L1 gas and bytes per transfer against the zk-rollup's on
/// the same workload: what leaving the data off L1 saves.
fn fraction_of_the_cost(run: &Run<'_>, d: &DesignReport) -> Claim {
    let c = "validium: zk security at a fraction of the L1 cost";
    let Some(zk) = run.l2().find(|z| z.family == "zk-rollup") else {
        return missing(c, rules::FRACTION, "fees");
    };
    let ratio = zk.fee.l1_gas_per_tx / d.fee.l1_gas_per_tx.max(1e-9);
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "{} uses {} L1 gas and {} B on L1 per transfer, the zk-rollup {} gas and {} B: {} \
             gas. The validium posts no data (the zk-rollup {} B per transfer) but its members' \
             signatures, and both pay a proof's pairing check per batch ({:.1} transfers per \
             batch here), which dominates at these batch sizes",
            d.design,
            fig(d.fee.l1_gas_per_tx),
            fig(d.l1_bytes_per_tx),
            fig(zk.fee.l1_gas_per_tx),
            fig(zk.l1_bytes_per_tx),
            less_or_more(ratio),
            fig(zk.node.storage_bytes_per_tx),
            d.throughput.txs_per_block,
        ),
        reference: None,
        rule: rules::FRACTION,
        verdict: rules::cheaper(ratio),
        how: "fees",
    }
}

/// The prover's CPU per transfer against the optimistic sequencer's.
fn heavy_compute(run: &Run<'_>, d: &DesignReport) -> Claim {
    let c = "zk: proving needs heavy compute";
    let (Some(p), Some(o)) = (&d.prover, run.design("optimistic")) else {
        return missing(c, rules::HEAVY, "prover");
    };
    let prover_us = p.prove_cpu_s_per_tx * 1e6;
    let ratio = prover_us / o.node.cpu_us_per_tx.max(1e-9);
    Claim {
        claim: c.into(),
        design: Some(d.design.clone()),
        measured: format!(
            "{} CPU s per transfer proven (a batch of {} in {}, {} constraints, peak memory {} MB) \
             against {} µs of the optimistic sequencer's CPU per transfer: {}×; one prover on \
             this machine proves {} transfers/s",
            fig(p.prove_cpu_s_per_tx),
            p.slots,
            dur(p.prove_ms_per_batch),
            fig(p.constraints as f64),
            fig(p.peak_rss_bytes as f64 / 1e6),
            fig(o.node.cpu_us_per_tx),
            fig(ratio),
            fig(p.proven_per_s)
        ),
        reference: None,
        rule: rules::HEAVY,
        verdict: rules::heavy(ratio),
        how: "prover",
    }
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

/// A feature's L2 cell for one design.
type L2Cell = fn(&Run<'_>, &DesignReport) -> String;

/// The comparison table of `CLAIMS.md`, measured: L1 once, and one cell
/// per L2 design present. The L1 cell reads "not run" where `l1:terrace`
/// was left out.
pub fn comparison(r: &LabReport) -> Vec<Comparison> {
    let run = Run { r };
    let l1 = run.design("l1:terrace");
    let or_not_run = |s: Option<String>| s.unwrap_or_else(|| "not run".into());
    let row =
        |feature, l1_claimed, l1_measured: String, l2_claimed, cell: L2Cell, how| Comparison {
            feature,
            l1_claimed,
            l1_measured,
            l2_claimed,
            l2_measured: run
                .l2()
                .map(|d| DesignCell {
                    design: d.design.clone(),
                    measured: cell(&run, d),
                })
                .collect(),
            how,
        };
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
    vec![
        row(
            "where it works",
            "the base chain itself",
            or_not_run(l1.map(|d| {
                format!(
                    "{} validators in BFT consensus over a 5-region WAN, {} blocks of {} B",
                    d.validators,
                    dur(d.block_time_ms as f64),
                    fig(d.block_bytes_max as f64)
                )
            })),
            "on top of the base chain",
            |_, d| {
                format!(
                    "one {} executes; its batches land on the terrace L1 as {} B of calldata per transfer",
                    orderer(d),
                    fig(d.l1_bytes_per_tx)
                )
            },
            "runs",
        ),
        row(
            "where transactions happen",
            "directly on the main chain",
            or_not_run(l1.map(|d| {
                format!(
                    "in an L1 block: included p50 {}, final p50 {}",
                    dur(d.latency.included.p50_ms),
                    dur(d.latency.final_l1.p50_ms)
                )
            })),
            "off-chain first, then settled on L1",
            |_, d| {
                format!(
                    "on the {} first (soft confirmation p50 {}, {}), then in an L1 batch (included p50 {})",
                    orderer(d),
                    d.latency.soft.map_or("—".into(), |s| dur(s.p50_ms)),
                    d.latency.soft_clock.unwrap_or("not measured"),
                    dur(d.latency.included.p50_ms)
                )
            },
            "latency",
        ),
        row(
            "speed",
            "slower under demand; \"medium to high\" after upgrades",
            if l1_finals.is_empty() {
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
            "\"much faster confirmations\"",
            |_, d| {
                format!(
                    "soft confirmation p50 {} ({}); final on L1 p50 {}; withdrawable on L1 p50 {}",
                    d.latency.soft.map_or("—".into(), |s| dur(s.p50_ms)),
                    d.latency.soft_clock.unwrap_or("not measured"),
                    dur(d.latency.final_l1.p50_ms),
                    dur(d.latency.withdrawable.p50_ms)
                )
            },
            "latency",
        ),
        row(
            "fees",
            "high under congestion; \"moderate\" cut from upgrades",
            or_not_run(l1.map(|d| {
                format!(
                    "{} gas per transfer = {} at a {} base fee; {}",
                    fig(d.fee.l1_gas_per_tx),
                    ter(d.fee.fee_per_tx_ater),
                    per_gas(d.fee.base_fee_ater),
                    congestion(d)
                )
            })),
            "\"usually lower\", \"often significant\" savings",
            |run, d| {
                let ratio = run.design("l1:terrace").map_or(String::new(), |l1| {
                    format!(
                        " ({} than an L1 transfer)",
                        less_or_more(l1.fee.l1_gas_per_tx / d.fee.l1_gas_per_tx.max(1e-9))
                    )
                });
                format!(
                    "{} L1 gas per transfer{ratio} = {} of L1 cost, plus an L2 fee of {}",
                    fig(d.fee.l1_gas_per_tx),
                    ter(d.fee.fee_per_tx_ater),
                    d.fee.l2_fee_per_tx_ater.map_or("—".into(), ter)
                )
            },
            "fees",
        ),
        row(
            "security model",
            "native consensus",
            or_not_run(run.verdicts_of("l1")),
            "\"inherits\" or \"depends on\" L1 security",
            |run, d| {
                let s = run
                    .verdicts_of(d.family)
                    .unwrap_or_else(|| "no scenario run".into());
                match run
                    .verdict("invalid-root")
                    .filter(|_| d.family == "optimistic")
                {
                    Some(v) => format!(
                        "{s}; a false root was reverted {} after it was posted",
                        crate::design::human_ms(v.resolution_ms)
                    ),
                    None => s,
                }
            },
            "scenarios",
        ),
        row(
            "decentralization",
            "high",
            or_not_run(l1.map(|d| {
                format!(
                    "{} validators with equal stake; any {} may fail or lie and the rest finalize",
                    d.validators,
                    (d.validators.saturating_sub(1)) / 3
                )
            })),
            "\"may vary by solution\"",
            |_, d| match &d.risks {
                Some(k) => format!(
                    "one {}; proposer failure: {}; sequencer failure: {}",
                    orderer(d),
                    k.proposer_failure,
                    k.sequencer_failure
                ),
                None => "no risk summary".into(),
            },
            "risks",
        ),
        row(
            "scalability",
            "limited by protocol design",
            or_not_run(l1.map(|d| {
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
            "designed to increase it",
            |_, d| {
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
            },
            "throughput",
        ),
        row(
            "risk type",
            "network-wide (a bad upgrade hits everything), congestion",
            or_not_run(l1.map(|d| {
                format!(
                    "congestion: with a backlog past capacity final p50 went from {} to {}; {}",
                    dur(d.latency.final_l1.p50_ms),
                    d.latency_saturated
                        .as_ref()
                        .map_or("—".into(), |t| dur(t.final_l1.p50_ms)),
                    congestion(d)
                )
            })),
            "smart-contract bugs, bridge exploits, data availability",
            |_, d| match &d.risks {
                Some(k) => format!(
                    "state validation: {}; data availability: {}",
                    k.state_validation, k.data_availability
                ),
                None => "no risk summary".into(),
            },
            "risks",
        ),
        row(
            "upgrade complexity / adoption speed",
            "very high / slow",
            NOT_MEASURED.into(),
            "moderate / fast",
            |_, _| NOT_MEASURED.into(),
            "claims",
        ),
        row(
            "dependency",
            "independent",
            or_not_run(l1.map(|d| {
                format!(
                    "independent: final by its own consensus in p50 {}",
                    dur(d.latency.final_l1.p50_ms)
                )
            })),
            "relies on L1 for final settlement",
            |_, d| match &d.risks {
                Some(k) => format!(
                    "exit: {} (withdrawable p50 {}); {}",
                    k.exit_window,
                    dur(d.latency.withdrawable.p50_ms),
                    k.sequencer_failure
                ),
                None => "no risk summary".into(),
            },
            "risks",
        ),
        row(
            "best for",
            "settlement, high-value, long-term security",
            NOT_MEASURED.into(),
            "DeFi, NFTs, gaming, micropayments",
            |_, _| NOT_MEASURED.into(),
            "claims",
        ),
    ]
}

/// What a backlog did to an L1's base fee: EIP-1559 raises it at most
/// 12.5% per full block, so a short backlog moves it little.
/// Who orders an L2's transactions, in its family's words.
/// `ratio` (an L1 figure over a design's) in words: "17.6× less" above
/// one, "3.9× more" below (never "0.3× less").
fn less_or_more(ratio: f64) -> String {
    if ratio >= 1.0 {
        format!("{ratio:.1}× less")
    } else {
        format!("{:.1}× more", 1.0 / ratio.max(1e-9))
    }
}

fn orderer(d: &DesignReport) -> &'static str {
    if d.family == "zk-rollup" || d.family == "validium" {
        "operator"
    } else {
        "sequencer"
    }
}

fn congestion(d: &DesignReport) -> String {
    let (before, after) = (d.fee.base_fee_ater, d.fee.base_fee_after_saturation_ater);
    let blocks = d.throughput.blocks_measured;
    if after > before * 1.01 {
        format!(
            "{blocks} full blocks raised the base fee {:.2}× (to {})",
            after / before.max(1e-9),
            ter(after)
        )
    } else {
        format!(
            "{blocks} full blocks left the base fee at {} (EIP-1559 raises it at most 12.5% a full block, from where the lighter paced phase had lowered it)",
            ter(after)
        )
    }
}

/// The claims as a [`Table`], for every rendering.
pub fn claims_table(claims: &[Claim]) -> Table {
    let mut table = Table::new(&[
        "claim",
        "design",
        "measured",
        "reference",
        "rule",
        "verdict",
        "how",
    ]);
    for c in claims {
        table.rows.push(vec![
            c.claim.clone(),
            c.design.clone().unwrap_or_else(|| "—".into()),
            c.measured.clone(),
            c.reference.as_ref().map_or("—".into(), |r| {
                format!("{} (source: {})", r.figure, r.source)
            }),
            c.rule.into(),
            c.verdict.name().into(),
            format!("[{}](#{})", c.how, c.how),
        ]);
    }
    table
}

/// The comparison as a [`Table`], for every rendering: one measured
/// column per L2 design.
pub fn comparison_table(rows: &[Comparison]) -> Table {
    let l2: Vec<String> = rows
        .first()
        .map(|r| r.l2_measured.iter().map(|c| c.design.clone()).collect())
        .unwrap_or_default();
    let mut head: Vec<String> = vec![
        "feature".into(),
        "L1: the field says".into(),
        "L1: measured".into(),
        "L2: the field says".into(),
    ];
    head.extend(l2.iter().map(|d| format!("L2: measured ({d})")));
    head.push("how".into());
    let mut table = Table {
        head,
        rows: Vec::new(),
    };
    for c in rows {
        let mut row = vec![
            c.feature.into(),
            c.l1_claimed.into(),
            c.l1_measured.clone(),
            c.l2_claimed.into(),
        ];
        row.extend(c.l2_measured.iter().map(|m| m.measured.clone()));
        row.push(format!("[{}](#{})", c.how, c.how));
        table.rows.push(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::{Verdict::*, less_or_more, rules::*};

    #[test]
    fn a_ratio_below_one_reads_as_more() {
        assert_eq!(less_or_more(17.64), "17.6× less");
        assert_eq!(less_or_more(1.0), "1.0× less");
        assert_eq!(less_or_more(23_192.0 / 90_013.0), "3.9× more");
    }

    #[test]
    fn near_supports_within_2x_qualifies_within_4x_and_refutes_beyond() {
        assert_eq!(near(12.1, 7.0), Supported);
        assert_eq!(near(3.6, 7.0), Supported);
        assert_eq!(near(20.0, 7.0), Qualified);
        assert_eq!(near(1.9, 7.0), Qualified);
        assert_eq!(near(40.0, 7.0), Refuted);
        assert_eq!(near(0.0, 7.0), Refuted);
    }

    #[test]
    fn in_range_supports_inside_qualifies_near_and_refutes_far() {
        assert_eq!(in_range(20.0, 15.0, 30.0), Supported);
        assert_eq!(in_range(59.5, 15.0, 30.0), Qualified);
        assert_eq!(in_range(8.0, 15.0, 30.0), Qualified);
        assert_eq!(in_range(119.0, 15.0, 30.0), Refuted);
        assert_eq!(in_range(7.0, 15.0, 30.0), Refuted);
    }

    #[test]
    fn cheaper_needs_a_factor_two_to_support() {
        assert_eq!(cheaper(17.6), Supported);
        assert_eq!(cheaper(1.5), Qualified);
        assert_eq!(cheaper(1.0), Refuted);
        assert_eq!(cheaper(0.4), Refuted);
    }

    #[test]
    fn rising_needs_throughput_and_cost_to_rise_at_every_step() {
        assert_eq!(rising(&[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]), Supported);
        assert_eq!(rising(&[(1.0, 1.0), (2.0, 0.5)]), Qualified);
        assert_eq!(rising(&[(1.0, 1.0), (2.0, 2.0), (1.5, 3.0)]), Refuted);
        assert_eq!(rising(&[(1.0, 1.0)]), NotMeasured);
    }

    #[test]
    fn smaller_needs_half_the_bytes_and_heavy_a_thousandfold() {
        assert_eq!(smaller(7.5), Supported);
        assert_eq!(smaller(1.2), Qualified);
        assert_eq!(smaller(1.0), Refuted);
        assert_eq!(smaller(0.5), Refuted);
        assert_eq!(heavy(40_000.0), Supported);
        assert_eq!(heavy(50.0), Qualified);
        assert_eq!(heavy(2.0), Refuted);
        assert_eq!(no_window(true, true), Supported);
        assert_eq!(no_window(false, true), Qualified);
        assert_eq!(no_window(false, false), Refuted);
    }

    #[test]
    fn both_halves_support_one_qualifies_none_refutes() {
        assert_eq!(both(true, true), Supported);
        assert_eq!(both(true, false), Qualified);
        assert_eq!(both(false, true), Qualified);
        assert_eq!(both(false, false), Refuted);
        assert_eq!(holds(true), Supported);
        assert_eq!(holds(false), Refuted);
    }

    #[test]
    fn cheating_is_punished_only_with_a_watcher_and_refuted_when_the_cheater_keeps_funds() {
        let ter = 10u128.pow(18);
        assert_eq!(punished(true, true, 5 * ter), Qualified);
        assert_eq!(punished(true, true, 0), Supported);
        assert_eq!(punished(true, false, 5 * ter), Refuted);
        assert_eq!(punished(false, true, 0), NotMeasured);
    }

    #[test]
    fn withholding_freezes_only_when_funds_froze_and_nothing_was_taken() {
        let ter = 10u128.pow(18);
        assert_eq!(freezes(true, 110 * ter, 0, 0), Supported);
        assert_eq!(freezes(true, 0, 0, 0), Refuted);
        assert_eq!(freezes(true, 110 * ter, 0, 110 * ter), Qualified);
        assert_eq!(freezes(true, 110 * ter, ter, 0), Qualified);
        assert_eq!(freezes(false, 110 * ter, 0, 0), NotMeasured);
    }
}
