//! Payments between two channel sides in one process on one thread —
//! Terrace's state machine and LDK 0.2.7's `ChannelManager`s, each with
//! its own message pump and no network — in memory and with every
//! persisted update fsynced, then the ratio.
//!
//! One iteration is a payment A→B and one B→A (LDK's `bench_sends`
//! shape). Terrace persists through its journal (append + `fsync` of each
//! snapshot before the message that depends on it leaves); LDK's file
//! store writes and fsyncs each `ChannelMonitor` update.

use bytes::Bytes;
use criterion::Criterion;
use std::{
    collections::VecDeque,
    path::Path,
    time::{Duration, Instant},
};
use terrace_channels::{
    Channel, Event, Message, Snapshot, Step, initial_state,
    journal::{Entry, Journal},
};
use terrace_l1::modules::channels::{OpenTerms, Side, SignedState};
use terrace_primitives::{
    Amount, ChainId, PrivateKey, hash, keys::Signer as _, keys::private_key_from_seed,
};

const CHAIN: ChainId = ChainId(7);

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

/// Both sides, the wire, and (with persistence) each side's journal.
struct Pair {
    sides: [Channel; 2],
    wire: [VecDeque<Message>; 2],
    journals: Option<[Journal; 2]>,
    terms: OpenTerms,
    preimage: u64,
}

fn i(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

impl Pair {
    fn new(dir: Option<&Path>) -> Self {
        let terms = OpenTerms {
            a: key(1).public_key(),
            b: key(2).public_key(),
            deposit_a: Amount(1 << 60),
            deposit_b: Amount(1 << 60),
            window: 100,
            reserve: Amount(1 << 50),
            max_htlcs: 483,
            nonce: 0,
        };
        let v0 = initial_state(&terms, CHAIN);
        let signed = SignedState {
            sig_a: v0.sign(&key(1)),
            sig_b: v0.sign(&key(2)),
            state: v0,
        };
        let side = |s: Side, k: u8| {
            Channel::new(&terms, CHAIN, s, key(k), Snapshot::opening(signed.clone(), s))
                .expect("a valid opening")
        };
        let journals = dir.map(|d| {
            [
                Journal::open(&d.join("a.journal")).expect("journal"),
                Journal::open(&d.join("b.journal")).expect("journal"),
            ]
        });
        Self {
            sides: [side(Side::A, 1), side(Side::B, 2)],
            wire: [VecDeque::new(), VecDeque::new()],
            journals,
            terms,
            preimage: 0,
        }
    }

    /// Persists (and syncs) what the step asks, then sends; returns its
    /// events.
    fn apply(&mut self, at: Side, step: Step) -> Vec<Event> {
        if let (Some(snapshot), Some(journals)) = (step.persist, self.journals.as_mut()) {
            let j = &mut journals[i(at)];
            j.append(Entry {
                terms: self.terms.clone(),
                side: at,
                snapshot,
            })
            .expect("append");
            j.sync().expect("fsync");
        }
        self.wire[i(at.other())].extend(step.send);
        step.events
    }

    fn commit(&mut self, s: Side) {
        if let Some(m) = self.sides[i(s)].commit().expect("commit") {
            self.wire[i(s.other())].push_back(m);
        }
    }

    /// Delivers until the wire is empty; returns the events seen.
    fn pump(&mut self) -> Vec<(Side, Event)> {
        let mut seen = Vec::new();
        loop {
            let mut moved = false;
            for to in [Side::A, Side::B] {
                while let Some(m) = self.wire[i(to)].pop_front() {
                    let step = self.sides[i(to)].receive(&m).expect("an honest peer");
                    seen.extend(self.apply(to, step).into_iter().map(|e| (to, e)));
                    moved = true;
                }
            }
            if !moved {
                return seen;
            }
        }
    }

    /// One payment of `amount` from `from`, added, committed, fulfilled
    /// and committed again.
    fn pay(&mut self, from: Side) {
        self.preimage += 1;
        let mut preimage = [0u8; 32];
        preimage[..8].copy_from_slice(&self.preimage.to_le_bytes());
        let (id, m) = self.sides[i(from)]
            .add_htlc(Amount(1_000), hash(&[&preimage]), 1_000_000, Bytes::new())
            .expect("capacity");
        self.wire[i(from.other())].push_back(m);
        self.commit(from);
        let events = self.pump();
        assert!(
            events.iter().any(|(s, e)| *s == from.other() && matches!(e, Event::Received(h, _) if h.id == id)),
            "the payee saw the HTLC"
        );
        let m = self.sides[i(from.other())]
            .fulfill_htlc(id, preimage)
            .expect("the payee knows the preimage");
        self.wire[i(from)].push_back(m);
        self.commit(from.other());
        let events = self.pump();
        assert!(
            events.iter().any(|(s, e)| *s == from && matches!(e, Event::Fulfilled { id: x, .. } if *x == id)),
            "the payer saw the preimage"
        );
    }
}

/// Mean time of one criterion benchmark, from its estimates file.
fn mean_ns(id: &str) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let path = Path::new(&dir).join("criterion").join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn per_second(ns_per_pair: f64) -> f64 {
    2.0 * 1e9 / ns_per_pair
}

/// p50 and p99 of `n` payments' latencies (send → the payer sees the
/// preimage), in microseconds.
fn latency(pair: &mut Pair, n: usize) -> (f64, f64) {
    let mut micros: Vec<f64> = (0..n)
        .map(|k| {
            let start = Instant::now();
            pair.pay(if k % 2 == 0 { Side::A } else { Side::B });
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    micros.sort_by(f64::total_cmp);
    (micros[n / 2], micros[n * 99 / 100])
}

fn main() {
    let mut c = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .configure_from_args();
    c.bench_function("terrace_sends", |b| {
        let mut pair = Pair::new(None);
        b.iter(|| {
            pair.pay(Side::A);
            pair.pay(Side::B);
        })
    });
    let dir = tempfile::tempdir().expect("temp dir");
    c.bench_function("terrace_journal_sends", |b| {
        let mut pair = Pair::new(Some(dir.path()));
        b.iter(|| {
            pair.pay(Side::A);
            pair.pay(Side::B);
        })
    });
    lightning::ln::channelmanager::bench::bench_sends(&mut c);
    lightning_persister::fs_store::bench::bench_sends(&mut c);
    c.final_summary();

    println!();
    println!("payments per second, one at a time, one thread (mean of criterion's samples):");
    let rows = [
        ("in memory", "terrace_sends", "bench_sends"),
        ("fsync per update", "terrace_journal_sends", "bench_filesystem_persisted_sends"),
    ];
    for (what, ours, theirs) in rows {
        match (mean_ns(ours), mean_ns(theirs)) {
            (Some(t), Some(l)) => println!(
                "  {what:18} terrace {:>9.0}/s   LDK {:>7.0}/s   ratio {:>6.1}×",
                per_second(t),
                per_second(l),
                l / t
            ),
            _ => println!("  {what:18} (no estimate found for {ours} or {theirs})"),
        }
    }
    println!();
    println!("Terrace payment latency, in process (no network), 2,000 payments:");
    let (p50, p99) = latency(&mut Pair::new(None), 2_000);
    println!("  in memory          p50 {p50:>7.0} µs   p99 {p99:>7.0} µs");
    let dir = tempfile::tempdir().expect("temp dir");
    let (p50, p99) = latency(&mut Pair::new(Some(dir.path())), 2_000);
    println!("  fsync per update   p50 {p50:>7.0} µs   p99 {p99:>7.0} µs");
}
