#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `terrace bench --quick --json`, as CI's smoke test of the lab: it exits
//! 0, its JSON names every design and every metric, every saturated L1
//! preset lands within 10% of its parameter bound
//! `min(bytes limit / tx bytes, gas limit / tx gas) / block time`, and the
//! report directory holds the same document.

use serde_json::Value;
use std::process::Command;

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
    ] {
        assert!(designs.contains(&want), "{want} missing from {designs:?}");
    }
    let records = doc["records"].as_array().unwrap();
    for d in &designs {
        for m in terrace_lab_metrics() {
            let r = records
                .iter()
                .find(|r| r["design"] == *d && r["metric"] == m)
                .unwrap_or_else(|| panic!("{d}: no {m}"));
            assert!(r["clock"].is_string() && r["unit"].is_string(), "{r}");
            // Only an L1 lacks a soft confirmation and an L2 fee.
            let optional =
                d.starts_with("l1:") && (m.starts_with("latency_soft") || m == "l2_fee_per_tx_wei");
            assert!(optional || r["value"].as_f64().is_some(), "{d}: {m} = {r}");
        }
    }
    for c in doc["checks"].as_array().unwrap() {
        assert_eq!(c["passed"], true, "{c}");
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
        } else {
            assert!(
                d["risks"]["exit_window"]
                    .as_str()
                    .unwrap()
                    .contains("240 L1 blocks")
            );
        }
    }
}

/// The metric names the README documents.
fn terrace_lab_metrics() -> [&'static str; 20] {
    [
        "throughput_tps",
        "throughput_limit_tps",
        "throughput_target_tps",
        "latency_soft_p50_ms",
        "latency_soft_p99_ms",
        "latency_included_p50_ms",
        "latency_included_p95_ms",
        "latency_included_p99_ms",
        "latency_final_p50_ms",
        "latency_final_p95_ms",
        "latency_final_p99_ms",
        "latency_withdrawable_p50_ms",
        "latency_withdrawable_p99_ms",
        "l1_bytes_per_tx",
        "l1_gas_per_tx",
        "fee_per_tx_wei",
        "l2_fee_per_tx_wei",
        "base_fee_wei",
        "storage_bytes_per_tx",
        "cpu_us_per_tx",
    ]
}
