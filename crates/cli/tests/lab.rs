#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `terrace bench --quick --json`, as CI's smoke test of the lab: it exits
//! 0, its JSON names every design and every metric, every saturated L1
//! preset lands within 10% of its parameter bound
//! `min(bytes limit / tx bytes, gas limit / tx gas) / block time`, and the
//! report directory holds the same document.

use serde_json::Value;
use std::process::Command;
use terrace_lab::report::METRICS;

const TERRACE: &str = env!("CARGO_BIN_EXE_terrace");

#[test]
fn the_quick_lab_reports_every_design_and_metric() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(TERRACE)
        .args(["bench", "--quick", "--json", "--out"])
        .arg(dir.path())
        .output()
        .expect("run terrace bench");
    assert!(
        out.status.success(),
        "terrace bench --quick failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(doc, on_disk);
    assert!(dir.path().join("report.md").exists());
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    // Three charts inline, and no chart that failed to draw.
    assert_eq!(html.matches("<svg").count(), 3, "charts in report.html");
    assert!(!html.contains("chart not drawn"));
    for id in [
        "designs",
        "latency",
        "throughput",
        "fees",
        "risks",
        "comparison",
        "claims",
        "scenarios",
    ] {
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "report.html lacks #{id}"
        );
    }

    let designs: Vec<&str> = doc["designs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["design"].as_str().unwrap())
        .collect();
    for want in [
        "l1:terrace",
        "l1:bitcoin-like",
        "l1:ethereum-like",
        "l1:big-blocks-128k",
        "l1:big-blocks-512k",
        "optimistic",
        "optimistic-bls",
        "zk-rollup",
        "validium",
    ] {
        assert!(designs.contains(&want), "{want} missing from {designs:?}");
    }
    let records = doc["records"].as_array().unwrap();
    for d in &designs {
        for m in METRICS {
            let r = records
                .iter()
                .find(|r| r["design"] == *d && r["metric"] == m)
                .unwrap_or_else(|| panic!("{d}: no {m}"));
            assert!(r["clock"].is_string() && r["unit"].is_string(), "{r}");
            // An L1 has no soft confirmation, L2 fee or sequencer CPU; an L2
            // no validator CPU bound; a quick run no wall-clock pass.
            let optional = m == "throughput_wall_clock_tps"
                || (d.starts_with("l1:")
                    && (m.starts_with("latency_soft")
                        || m == "l2_fee_per_tx_ater"
                        || m == "soft_cpu_us"))
                || (!d.starts_with("l1:") && m == "throughput_cpu_bound_tps");
            assert!(optional || r["value"].as_f64().is_some(), "{d}: {m} = {r}");
        }
    }
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "{c}");
    }
    // Every scenario of the catalog played; only the channel victim with
    // no tower lost funds (the 5 TER the revoked state moved back), and
    // only the validium's unavailable data froze any: withheld, Alice's
    // and Bob's 110 TER; lost after it was served, Carol's 20 TER (who
    // kept no copy).
    let verdicts = doc["scenarios"].as_array().unwrap();
    assert_eq!(verdicts.len(), terrace_lab::scenario::catalog().len());
    for v in verdicts {
        assert_eq!(v["holds"], true, "{v}");
        let lost = match v["scenario"].as_str() {
            Some("chan-revoked-close-no-tower") => "5000000000000000000",
            _ => "0",
        };
        assert_eq!(v["funds_lost_ater"], lost, "{v}");
        let frozen = match v["scenario"].as_str() {
            Some("validium-withholding") => "110000000000000000000",
            Some("validium-data-loss") => "20000000000000000000",
            _ => "0",
        };
        assert_eq!(v["funds_frozen_ater"], frozen, "{v}");
    }
    // The comparison table of CLAIMS.md has all its rows, each answered.
    let rows = doc["comparison"].as_array().unwrap();
    assert_eq!(rows.len(), 11);
    for r in rows {
        assert!(
            !r["l1_measured"].as_str().unwrap().contains("not run"),
            "{r}"
        );
        let cells = r["l2_measured"].as_array().unwrap();
        let columns: Vec<&str> = cells
            .iter()
            .map(|c| c["design"].as_str().unwrap())
            .collect();
        assert_eq!(
            columns,
            ["optimistic", "optimistic-bls", "zk-rollup", "validium"],
            "one column per L2 design"
        );
        for c in cells {
            assert!(!c["measured"].as_str().unwrap().contains("not run"), "{r}");
        }
    }
    let claims = doc["claims"].as_array().unwrap();
    for zk in [
        "zk: final when the proof lands, no window",
        "zk posts less data (no signatures)",
        "zk: proving needs heavy compute",
        "validium: zk security at a fraction of the L1 cost",
    ] {
        assert!(claims.iter().any(|c| c["claim"] == zk), "no claim {zk}");
    }
    let freezes = claims
        .iter()
        .find(|c| c["claim"] == "validium data withholding can freeze funds")
        .expect("the withholding claim");
    assert_eq!(freezes["verdict"], "supported", "{freezes}");
    assert!(
        freezes["measured"]
            .as_str()
            .unwrap()
            .contains("110 TER frozen"),
        "{freezes}"
    );
    // The punishment holds with a tower; without one the theft pays: the
    // claim is qualified by the liveness it needs.
    let punished = claims
        .iter()
        .find(|c| c["claim"] == "channel cheating is punished")
        .expect("the channel claim");
    assert_eq!(punished["verdict"], "qualified", "{punished}");
    assert!(
        punished["measured"]
            .as_str()
            .unwrap()
            .contains("the victim lost 5 TER"),
        "{punished}"
    );
    for c in claims {
        assert_ne!(c["verdict"], "not measured", "{c}");
        assert!(c["rule"].as_str().is_some_and(|r| !r.is_empty()), "{c}");
    }
    for d in doc["designs"].as_array().unwrap() {
        let t = &d["throughput"];
        let (measured, limit) = (
            t["measured_tps"].as_f64().unwrap(),
            t["limit_tps"].as_f64().unwrap(),
        );
        assert!(measured > 0.0 && limit > 0.0, "{}", d["design"]);
        if d["layer"] == "l1" {
            assert!(
                (measured / limit - 1.0).abs() <= 0.10,
                "{}: {measured} vs {limit}",
                d["design"]
            );
        } else if d["family"] == "optimistic" {
            assert!(
                d["risks"]["exit_window"]
                    .as_str()
                    .unwrap()
                    .contains("240 L1 blocks")
            );
        } else {
            // A validity-proof design: no window, and what proving cost.
            assert_eq!(d["risks"]["exit_window_ms"], 0, "{}", d["design"]);
            assert!(d["prover"]["prove_ms_per_batch"].as_f64().unwrap() > 0.0);
            assert_eq!(d["prover"]["proof_bytes"], 128);
        }
    }
}

/// A sabotaged scenario (invalid-root with its honest verifier switched
/// off) comes out BROKEN, and `terrace scenario run` exits non-zero.
#[test]
fn a_sabotaged_scenario_is_judged_broken_and_the_command_fails() {
    let out = Command::new(TERRACE)
        .args(["scenario", "run", "invalid-root", "--sabotage", "--json"])
        .output()
        .expect("run terrace scenario");
    assert!(
        !out.status.success(),
        "a BROKEN verdict must fail the command"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["all_hold"], false, "{doc}");
    let v = &doc["verdicts"][0];
    assert_eq!(v["scenario"], "invalid-root");
    assert_eq!(v["holds"], false, "{v}");
    assert!(!v["broken"].as_array().unwrap().is_empty(), "{v}");
}

/// The zk-rollup's censorship scenario with no watcher and no exit comes
/// out BROKEN, with the censored user's balance as the loss.
#[test]
fn a_censored_zk_user_with_nobody_to_freeze_the_rollup_is_judged_a_loss() {
    let out = Command::new(TERRACE)
        .args(["scenario", "run", "zk-censorship", "--sabotage", "--json"])
        .output()
        .expect("run terrace scenario");
    assert!(!out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let v = &doc["verdicts"][0];
    assert_eq!(v["holds"], false, "{v}");
    assert_eq!(v["funds_lost_ater"], "100000000000000000000", "{v}");
}

/// Every metric the lab reports is documented in the README.
#[test]
fn the_readme_documents_every_metric() {
    let readme = include_str!("../../../README.md");
    for m in METRICS {
        assert!(readme.contains(&format!("`{m}`")), "README lacks `{m}`");
    }
}
