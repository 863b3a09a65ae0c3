#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real processes on 127.0.0.1: four `terrace node` processes from
//! `terrace genesis network`; transfers finalize; one node is killed with
//! SIGKILL and the chain goes on; restarted, it catches up to the same
//! state root. And `terrace devnet` with its rollup: deposit, transfer,
//! withdraw and claim through the `terrace l2` commands. Everything goes
//! through the `terrace` binary, as a user would drive it.
//!
//! Waits poll a condition with a generous deadline: the deadline only turns
//! a hang into a failure, nothing here depends on how fast the machine is.

use serde_json::Value;
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const TERRACE: &str = env!("CARGO_BIN_EXE_terrace");
const DEADLINE: Duration = Duration::from_secs(300);
const VALIDATORS: usize = 4;

/// Kills every node when the test ends, however it ends.
struct Nodes {
    dir: PathBuf,
    children: Vec<Option<Child>>,
}

impl Nodes {
    fn config(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node-{i}")).join("node.toml")
    }

    fn start(&mut self, i: usize) {
        let log = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("node-{i}.{name}")))
                .unwrap()
        };
        let child = Command::new(TERRACE)
            .args(["node", "--log-level", "warn", "--config"])
            .arg(self.config(i))
            .env("TERRACE_PASSWORD", PASSWORD)
            .stdout(log("out"))
            .stderr(log("err"))
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn terrace node");
        self.children[i] = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            c.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
            c.wait().unwrap();
        }
    }
}

/// What a failed wait prints.
trait Logs {
    fn logs(&self) -> String;
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

impl Logs for Nodes {
    fn logs(&self) -> String {
        let mut all = String::new();
        for i in 0..VALIDATORS {
            for name in ["out", "err"] {
                let path = self.dir.join(format!("node-{i}.{name}"));
                let tail = tail(&path);
                all.push_str(&format!("--- node-{i}.{name}\n{tail}\n"));
            }
        }
        all
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// The tests here run one at a time: each starts four validators, which is
/// what two cores can carry, and each probes for free ports.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Slots already handed out in this process: a probe only sees ports in
/// use, not ports another test chose and has yet to bind.
static NEXT_SLOT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A base port with `n` free ports after it.
fn free_ports(n: u16) -> u16 {
    assert!(n <= 20);
    let start = std::process::id() + NEXT_SLOT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Below Linux's ephemeral range (32768+), in slots of 20 ports.
    (0..400u32)
        .map(|k| 20_000 + ((start + k * 131) % 600) as u16 * 20)
        .find(|base| (0..n).all(|i| TcpListener::bind(("127.0.0.1", base + i)).is_ok()))
        .expect("no free ports")
}

fn terrace(args: &[&str]) -> Result<Value, String> {
    let out = Command::new(TERRACE)
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}: {:?}", out.stdout))
}

fn rpc_url(port: u16, i: usize) -> String {
    format!("http://127.0.0.1:{}", port + i as u16)
}

fn status(port: u16, i: usize) -> Option<Value> {
    terrace(&["l1", "status", "--json", "--rpc", &rpc_url(port, i)]).ok()
}

fn finalized_height(port: u16, i: usize) -> Option<u64> {
    status(port, i)?["finalizedHeight"].as_u64()
}

fn wait_for(what: &str, nodes: &impl Logs, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}\n{}",
            nodes.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn send(dir: &Path, from: &str, to: &str, rpc: &str) -> Value {
    terrace(&[
        "l1",
        "send",
        "--from",
        from,
        "--to",
        to,
        "--amount",
        "1",
        "--wait",
        "--json",
        "--rpc",
        rpc,
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .expect("transfer finalizes")
}

fn state_root(port: u16, i: usize, height: u64) -> String {
    let b = terrace(&[
        "l1",
        "block",
        &height.to_string(),
        "--json",
        "--rpc",
        &rpc_url(port, i),
    ])
    .expect("block");
    b["stateRoot"].as_str().expect("stateRoot").to_string()
}

#[test]
fn four_processes_survive_a_kill_and_the_restarted_node_catches_up() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let base = free_ports(2 * VALIDATORS as u16);
    let (p2p, rpc) = (base, base + VALIDATORS as u16);
    // Validator keys encrypted under one password; every node unlocks
    // its own with it.
    let out = Command::new(TERRACE)
        .args(["genesis", "network", "--validators", "4", "--out"])
        .arg(&dir)
        .args([
            "--p2p-port",
            &p2p.to_string(),
            "--rpc-port",
            &rpc.to_string(),
            "--encrypt-keys",
            "--insecure-fast-kdf",
        ])
        .env("TERRACE_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = std::fs::read_to_string(dir.join("node-0/validator.json")).unwrap();
    assert!(key.contains("xchacha20-poly1305"), "{key}");
    // A wrong password stops the node before it starts, saying why.
    let wrong = Command::new(TERRACE)
        .args(["node", "--config"])
        .arg(dir.join("node-0/node.toml"))
        .env("TERRACE_PASSWORD", "not it")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let why = String::from_utf8_lossy(&wrong.stderr);
    assert!(why.contains("wrong password"), "{why}");

    let mut nodes = Nodes {
        dir: dir.clone(),
        children: (0..VALIDATORS).map(|_| None).collect(),
    };
    for i in 0..VALIDATORS {
        nodes.start(i);
    }
    wait_for("every node to finalize block 2", &nodes, || {
        (0..VALIDATORS).all(|i| finalized_height(rpc, i).is_some_and(|h| h >= 2))
    });

    // Transfers through node 0 finalize.
    for k in 0..3 {
        let t = send(&dir, "dev0", &format!("dev{}", k + 1), &rpc_url(rpc, 0));
        assert_eq!(t["receipt"]["status"], "success", "{t}");
    }

    // Node 3 finalizes a few blocks past `durable`, so its store holds
    // at least that much when it is killed.
    let durable = finalized_height(rpc, 3).unwrap();
    wait_for(
        "node 3 to finalize past what must be durable",
        &nodes,
        || finalized_height(rpc, 3).is_some_and(|h| h >= durable + 3),
    );
    // SIGKILL node 3: three of four is still a quorum.
    nodes.kill(3);
    let before = finalized_height(rpc, 0).unwrap();
    for k in 0..3 {
        let t = send(&dir, "dev4", &format!("dev{}", k + 5), &rpc_url(rpc, 1));
        assert_eq!(t["receipt"]["status"], "success", "{t}");
    }
    wait_for("the chain to go on without node 3", &nodes, || {
        finalized_height(rpc, 0).is_some_and(|h| h >= before + 5)
    });

    // Restart it from its data directory: it reports the height it
    // reopened its own store at (read before any peer is heard), then
    // catches up.
    nodes.start(3);
    wait_for("node 3 to answer", &nodes, || status(rpc, 3).is_some());
    let restored = status(rpc, 3).unwrap()["restoredHeight"].as_u64();
    assert!(
        restored.is_some_and(|h| h >= durable),
        "node 3 reopened its store at {restored:?}, below {durable} it had finalized"
    );
    let target = finalized_height(rpc, 0).unwrap();
    wait_for("node 3 to catch up", &nodes, || {
        finalized_height(rpc, 3).is_some_and(|h| h >= target)
    });
    let root = state_root(rpc, 0, target);
    for i in 1..VALIDATORS {
        assert_eq!(
            state_root(rpc, i, target),
            root,
            "node {i} agrees on the state root at height {target}"
        );
    }
    let balance = |i: usize| {
        terrace(&["l1", "balance", "dev5", "--json", "--rpc", &rpc_url(rpc, i)]).unwrap()["balance"]
            .clone()
    };
    wait_for("node 3 to serve the transfer it missed", &nodes, || {
        balance(3) == balance(0)
    });
    // And it keeps finalizing with the others.
    let now = finalized_height(rpc, 0).unwrap();
    wait_for("node 3 to follow new blocks", &nodes, || {
        finalized_height(rpc, 3).is_some_and(|h| h > now)
    });
}

/// The body of an HTTP GET of `path` on 127.0.0.1:`port`.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

/// A `terrace devnet` process, killed when the test ends.
struct Devnet {
    dir: PathBuf,
    child: Child,
}

impl Logs for Devnet {
    fn logs(&self) -> String {
        format!(
            "--- devnet.out\n{}\n--- devnet.err\n{}\n",
            tail(&self.dir.join("devnet.out")),
            tail(&self.dir.join("devnet.err"))
        )
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tokens(v: &Value) -> u128 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an amount: {v}"))
}

const TOKEN: u128 = 1_000_000_000_000_000_000;

/// The password of the four-process network's encrypted validator keys.
const PASSWORD: &str = "correct horse battery staple";

#[test]
fn the_devnet_rollup_takes_a_deposit_transfers_and_pays_a_withdrawal_claim() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let base = free_ports(11);
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let child = Command::new(TERRACE)
        .args([
            "devnet",
            "--log-level",
            "warn",
            "--l2-challenge-window",
            "5",
        ])
        .arg("--data-dir")
        .arg(&dir)
        .args(["--rpc-port", &base.to_string()])
        .args(["--p2p-port", &(base + 4).to_string()])
        .args(["--l2-rpc-port", &(base + 8).to_string()])
        .args(["--metrics-port", &(base + 10).to_string()])
        .arg("--no-zk")
        .stdout(log("devnet.out"))
        .stderr(log("devnet.err"))
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn terrace devnet");
    let devnet = Devnet {
        dir: dir.clone(),
        child,
    };
    let d = dir.to_str().unwrap();
    let l2 = |args: &[&str]| {
        let mut all = vec!["l2"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--json", "--data-dir", d]);
        terrace(&all)
    };
    wait_for("the rollup to be registered", &devnet, || {
        l2(&["status"]).is_ok_and(|s| s["config"].is_object())
    });

    let deposit = l2(&["deposit", "--from", "dev0", "--amount", "10", "--wait"]).unwrap();
    assert_eq!(tokens(&deposit["account"]["balance"]), 10 * TOKEN);
    let me = deposit["account"]["index"].as_u64().unwrap().to_string();

    // A transfer to the sequencer's account (0), confirmed at once.
    let soft = l2(&["send", "--from", "dev0", "--to", "0", "--amount", "2"]).unwrap();
    let fee = tokens(&soft["fee"]);
    assert!(fee > 0, "{soft}");
    let account = l2(&["balance", &me]).unwrap();
    assert_eq!(tokens(&account["soft"]["balance"]), 8 * TOKEN - fee);

    let w = l2(&["withdraw", "--from", "dev0", "--amount", "3"]).unwrap();
    let index = w["withdrawal"].as_u64().unwrap().to_string();
    // Not final yet: refused with the reason, nothing sent.
    let early = l2(&["claim", &index, "--from", "dev0"]).unwrap_err();
    assert!(
        early.contains("not yet in a batch") || early.contains("window"),
        "{early}"
    );

    let l1_balance = || {
        tokens(&terrace(&["l1", "balance", "dev0", "--json", "--data-dir", d]).unwrap()["balance"])
    };
    let before = l1_balance();
    let claim = l2(&["claim", &index, "--from", "dev0", "--wait"]).unwrap();
    let receipt = &claim["l1Tx"]["receipt"];
    assert_eq!(receipt["status"], "success", "{claim}");
    // The claim paid exactly the withdrawal, less the claim's own L1 fee.
    assert_eq!(l1_balance(), before + 3 * TOKEN - tokens(&receipt["fee"]));
    // A second claim is refused: by the CLI once the node has derived the
    // first, else by L1 (its nullifier), which then charges only the fee.
    let paid = l1_balance();
    let again = l2(&["claim", &index, "--from", "dev0"]).unwrap_err();
    assert!(
        again.contains("already claimed") || again.contains("already_claimed"),
        "{again}"
    );
    assert!(l1_balance() <= paid, "a second claim paid out");

    // The verifier, deriving from L1 alone, agrees with the sequencer.
    wait_for("the verifier to derive the account", &devnet, || {
        let a = l2(&["balance", &me]).unwrap();
        a["posted"]["balance"] == a["soft"]["balance"]
    });

    // A BLS account: its transfer travels aggregated, without a signature.
    let bls = l2(&[
        "deposit", "--from", "dev2", "--amount", "4", "--bls", "--wait",
    ])
    .unwrap();
    let carol = bls["account"]["index"].as_u64().unwrap().to_string();
    assert!(bls["account"]["blsKey"].is_string(), "{bls}");
    let soft = l2(&[
        "send",
        "--from",
        "dev2",
        "--to",
        &me,
        "--amount",
        "1",
        "--aggregated",
    ])
    .unwrap();
    let fee = tokens(&soft["fee"]);
    let account = l2(&["balance", &carol]).unwrap();
    assert_eq!(tokens(&account["soft"]["balance"]), 3 * TOKEN - fee);
    wait_for(
        "the verifier to derive the aggregated transfer",
        &devnet,
        || {
            let a = l2(&["balance", &carol]).unwrap();
            a["posted"]["balance"] == a["soft"]["balance"]
        },
    );
    let batches = l2(&["batches"]).unwrap();
    assert!(
        batches
            .as_array()
            .unwrap()
            .iter()
            .all(|b| b["valid"] == true),
        "{batches}"
    );

    // A keystore key signs on L1: made with a name, funded by dev0 sending
    // to that name, it sends back on its password; a wrong one is refused
    // and sends nothing.
    let keystore = dir.join("keystore");
    let with_password = |args: &[&str], password: &str| {
        Command::new(TERRACE)
            .args(args)
            .env("TERRACE_KEYSTORE", &keystore)
            .env("TERRACE_PASSWORD", password)
            .output()
            .unwrap()
    };
    let made = with_password(
        &["keys", "new", "--name", "carol", "--insecure-fast-kdf"],
        "hunter2",
    );
    assert!(made.status.success(), "{made:?}");
    let l1 = |args: &[&str], password: &str| {
        let mut all = vec!["l1"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--json", "--data-dir", d]);
        with_password(&all, password)
    };
    let send = |from: &str, to: &str, amount: &str, password: &str| {
        l1(
            &[
                "send", "--from", from, "--to", to, "--amount", amount, "--wait",
            ],
            password,
        )
    };
    let funded = send("dev0", "carol", "3", "");
    assert!(funded.status.success(), "{funded:?}");
    let refused = send("carol", "dev0", "1", "not it");
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("wrong password"), "{why}");
    let sent = send("carol", "dev0", "1", "hunter2");
    assert!(sent.status.success(), "{sent:?}");
    let balance: Value = serde_json::from_slice(&l1(&["balance", "carol"], "").stdout).unwrap();
    let left = tokens(&balance["balance"]);
    assert!(
        left < 2 * TOKEN && left > 2 * TOKEN - TOKEN / 100,
        "{balance}"
    );

    // Terrace's own metrics beside the libraries', read by a real
    // Prometheus parser: every validator's chain, the mempool.
    let scrape = http_get(base + 10, "/metrics");
    let parsed = prometheus_parse::Scrape::parse(scrape.lines().map(|l| Ok(l.to_owned())))
        .expect("/metrics parses");
    let value = |name: &str, validator: &str| {
        parsed
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("validator") == Some(validator))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("no {name} of validator {validator}"))
    };
    for v in ["0", "1", "2", "3"] {
        assert!(value("terrace_chain_finalized_height", v) > 0.0);
        assert!(value("terrace_chain_blocks_total", v) > 0.0);
    }
    assert!(value("terrace_chain_transactions_total", "0") >= 5.0);
    assert!(value("terrace_chain_gas_used_total", "0") > 0.0);
    assert!(value("terrace_chain_base_fee_ater_per_gas", "0") > 0.0);
    assert!(value("terrace_chain_block_interval_seconds", "0") > 0.0);
    assert!(value("terrace_chain_finality_seconds", "0") >= 0.0);
    assert!(value("terrace_chain_block_gas_used", "0") >= 0.0);
    assert!(value("terrace_mempool_transactions", "0") >= 0.0);

    // A healthy devnet is quiet on stderr at `warn`: no library chatter,
    // no colour escapes (stderr is a file here); its log file has the
    // start.
    let err = std::fs::read_to_string(dir.join("devnet.err")).unwrap();
    for noise in ["WARN", "ERROR", "\u{1b}["] {
        assert!(!err.contains(noise), "{noise:?} on stderr:\n{err}");
    }
    let file = std::fs::read_to_string(dir.join("terrace.log")).unwrap();
    assert!(file.contains("terrace started"), "{file}");
    assert!(!file.contains('\u{1b}'), "{file}");
}

/// A devnet without the optimistic rollup (its zk-rollup, validium and
/// committee on free ports) in `dir`.
fn zk_devnet(dir: &Path) -> Devnet {
    let base = free_ports(16);
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let child = Command::new(TERRACE)
        .args(["devnet", "--log-level", "warn", "--no-rollup"])
        .arg("--data-dir")
        .arg(dir)
        .args(["--rpc-port", &base.to_string()])
        .args(["--p2p-port", &(base + 4).to_string()])
        .args(["--zk-rpc-port", &(base + 8).to_string()])
        .args(["--metrics-port", &(base + 15).to_string()])
        .stdout(log("devnet.out"))
        .stderr(log("devnet.err"))
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn terrace devnet");
    Devnet {
        dir: dir.to_path_buf(),
        child,
    }
}

#[test]
fn the_devnet_zk_rollup_proves_transfers_pays_a_claim_and_exports_what_snarkjs_checks() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let devnet = zk_devnet(&dir);
    let d = dir.to_str().unwrap();
    let zk = |args: &[&str]| {
        let mut all = vec!["zk"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--json", "--data-dir", d]);
        terrace(&all)
    };
    wait_for(
        "the zk-rollup and the validium to be registered",
        &devnet,
        || {
            zk(&["status"]).is_ok_and(|s| s["depth"] == 16)
                && zk(&["status", "--rollup", "validium"]).is_ok_and(|s| s["depth"] == 16)
        },
    );
    let nano = |v: &Value| -> u128 {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an amount: {v}"))
    };

    let deposit = zk(&["deposit", "--from", "dev0", "--amount", "10", "--wait"]).unwrap();
    assert_eq!(nano(&deposit["account"]["balance"]), 10_000_000_000);
    // To a key that never deposited: its account is created by the transfer.
    let sent = zk(&[
        "send", "--from", "dev0", "--to", "dev2", "--amount", "1", "--wait",
    ])
    .unwrap();
    let batch = sent["batch"].as_u64().unwrap();
    let dev2 = zk(&["balance", "dev2"]).unwrap();
    assert_eq!(nano(&dev2["provenBalance"]), 1_000_000_000, "{dev2}");
    // Refused with the reason, nothing changed.
    let too_much = zk(&["send", "--from", "dev2", "--to", "dev0", "--amount", "5"]).unwrap_err();
    assert!(too_much.contains("cannot send"), "{too_much}");

    let l1_balance = || {
        tokens(&terrace(&["l1", "balance", "dev2", "--json", "--data-dir", d]).unwrap()["balance"])
    };
    let before = l1_balance();
    let w = zk(&["withdraw", "--from", "dev2", "--amount", "0.5", "--wait"]).unwrap();
    assert_eq!(w["claimed"], 1, "{w}");
    let gained = l1_balance() - before;
    // Half a TER, less the claim's L1 fee (well under a thousandth).
    assert!(
        gained > TOKEN / 2 - TOKEN / 1_000 && gained < TOKEN / 2,
        "{gained}"
    );
    assert_eq!(zk(&["claim", "--from", "dev2"]).unwrap()["claimed"], 0);

    // The batch's proof and the key registered on L1, for snarkjs.
    let out = dir.join("proof");
    let status = Command::new(TERRACE)
        .args(["zk", "proof", &batch.to_string(), "--data-dir", d, "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for f in ["proof.json", "public.json", "verification_key.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let snarkjs = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../zk/fixtures/node_modules/snarkjs/cli.js");
    if snarkjs.exists() {
        let verify = Command::new("node")
            .arg(&snarkjs)
            .args(["groth16", "verify"])
            .arg(out.join("verification_key.json"))
            .arg(out.join("public.json"))
            .arg(out.join("proof.json"))
            .output()
            .expect("run snarkjs");
        let said = String::from_utf8_lossy(&verify.stdout);
        assert!(verify.status.success() && said.contains("OK"), "{said}");
    } else {
        assert!(
            std::env::var_os("TERRACE_REQUIRE_SNARKJS").is_none(),
            "snarkjs is not installed (npm ci --prefix crates/zk/fixtures --ignore-scripts)"
        );
    }
}

/// The devnet's validium, through the same CLI with `--rollup validium`:
/// a deposit, a transfer and a withdrawal claimed on L1, each batch posted
/// with its committee's signatures instead of its data, which the members
/// store and `terrace dac status` reports.
#[test]
fn the_devnet_validium_takes_a_deposit_transfer_and_withdrawal_on_its_committees_word() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let devnet = zk_devnet(&dir);
    let d = dir.to_str().unwrap();
    let zk = |args: &[&str]| {
        let mut all = vec!["zk"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--rollup", "validium", "--json", "--data-dir", d]);
        terrace(&all)
    };
    wait_for("the validium to be registered", &devnet, || {
        zk(&["status"]).is_ok_and(|s| s["depth"] == 16)
    });
    let nano = |v: &Value| -> u128 {
        v.as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an amount: {v}"))
    };
    let deposit = zk(&["deposit", "--from", "dev1", "--amount", "4", "--wait"]).unwrap();
    assert_eq!(nano(&deposit["account"]["balance"]), 4_000_000_000);
    zk(&[
        "send", "--from", "dev1", "--to", "dev3", "--amount", "1", "--wait",
    ])
    .unwrap();
    let dev3 = zk(&["balance", "dev3"]).unwrap();
    assert_eq!(nano(&dev3["provenBalance"]), 1_000_000_000, "{dev3}");
    let w = zk(&["withdraw", "--from", "dev3", "--amount", "0.5", "--wait"]).unwrap();
    assert_eq!(w["claimed"], 1, "{w}");
    // No batch carried data on L1; the committee holds it.
    let batches = zk(&["batches"]).unwrap();
    let batches = batches.as_array().unwrap();
    assert!(batches.len() >= 2, "{batches:?}");
    assert!(batches.iter().all(|b| b["postedBytes"] == 0), "{batches:?}");
    let members = terrace(&["dac", "status", "--json", "--data-dir", d]).unwrap();
    let members = members.as_array().unwrap();
    assert_eq!(members.len(), 3);
    for m in members {
        let stored = m["status"]["batches"].as_u64().unwrap_or(0);
        assert!(stored >= batches.len() as u64, "{m}");
    }

    // Each user's own copy of her exit proof, kept by the CLI after every
    // operation it waited for, against the root L1 last proved.
    let status = zk(&["status"]).unwrap();
    let rollup = status["rollup"].as_u64().unwrap().to_string();
    let copies: Vec<Value> = std::fs::read_dir(dir.join("zk-copies").join(rollup))
        .unwrap()
        .map(|e| serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(copies.len(), 2, "dev1's and dev3's: {copies:?}");
    // dev3's was kept after the last batch; dev1's after an earlier one.
    assert!(
        copies.iter().any(|c| c["root"] == status["root"]),
        "{copies:?} vs {status}"
    );

    // Member 0 as its own process, on a copy of its store: it finds its
    // validium on L1 by its key, checks every stored batch against its
    // commitment, and serves them.
    let store = dir.join("member0-copy");
    copy_dir(&dir.join("dac").join("member0"), &store);
    let port = free_ports(1);
    let url = format!("http://127.0.0.1:{port}");
    let log = |name: &str| std::fs::File::create(dir.join(name)).unwrap();
    let child = Command::new(TERRACE)
        .args(["dac", "member", "--dev-member", "0", "--data-dir", d])
        .arg("--store")
        .arg(&store)
        .args(["--rpc", &format!("127.0.0.1:{port}")])
        .stdout(log("member.out"))
        .stderr(log("member.err"))
        .spawn()
        .unwrap();
    let member = Member {
        dir: dir.clone(),
        child,
    };
    let status = |batch: &str| {
        terrace(&[
            "dac",
            "status",
            "--json",
            "--dac-rpc",
            &url,
            "--batch",
            batch,
        ])
    };
    wait_for("the standalone member to serve", &member, || {
        status("0").is_ok_and(|s| s[0]["status"].is_object())
    });
    let s = status("0").unwrap();
    let s = &s[0];
    assert_eq!(s["status"]["member"], 0, "{s}");
    assert!(
        s["status"]["batches"].as_u64().unwrap() >= batches.len() as u64,
        "{s}"
    );
    assert_eq!(s["status"]["setAside"], 0, "{s}");
    assert_eq!(s["versions"].as_array().map(Vec::len), Some(1), "{s}");
    drop(member);
    // A key that is in no committee is told so, and nothing is served.
    let outsider = dir.join("outsider.key");
    std::fs::write(&outsider, format!("{}\n", "07".repeat(32))).unwrap();
    let out = Command::new(TERRACE)
        .args(["dac", "member", "--data-dir", d])
        .arg("--key-file")
        .arg(&outsider)
        .arg("--store")
        .arg(dir.join("outsider-store"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in its committee"), "{err}");
}

/// A `terrace dac member` process, killed when dropped.
struct Member {
    dir: PathBuf,
    child: Child,
}

impl Logs for Member {
    fn logs(&self) -> String {
        format!(
            "--- member.out\n{}\n--- member.err\n{}\n",
            tail(&self.dir.join("member.out")),
            tail(&self.dir.join("member.err"))
        )
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
