//! The journal: replay keeps each channel's newest entry, a torn last
//! record is dropped, damage before the end refuses to open, and
//! compaction keeps one entry per channel.

use super::{machine::Pair, preimage, terms};
use crate::{
    journal::{Entry, Journal, JournalError},
    machine::Snapshot,
};
use std::io::Write as _;
use terrace_l1::modules::channels::Side;

fn entry(s: Snapshot) -> Entry {
    Entry {
        terms: terms(),
        side: Side::A,
        snapshot: s,
    }
}

/// Snapshots of A's side after each of `n` payments.
fn snapshots(n: u8) -> Vec<Snapshot> {
    let mut p = Pair::new();
    let mut out = Vec::new();
    for i in 0..n {
        let id = p.pay(Side::A, 5, i);
        p.quiesce();
        let m = p.side(Side::B).fulfill_htlc(id, preimage(i)).unwrap();
        p.send(Side::B, m);
        p.quiesce();
        out.push(p.sides[0].snapshot());
    }
    out
}

#[test]
fn reopening_restores_the_newest_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels.journal");
    let snaps = snapshots(5);
    {
        let mut j = Journal::open(&path).unwrap();
        for s in &snaps {
            j.append(entry(s.clone())).unwrap();
        }
        j.sync().unwrap();
    }
    let j = Journal::open(&path).unwrap();
    let (_, e) = j.channels().iter().next().unwrap();
    assert_eq!(e.snapshot, *snaps.last().unwrap());
    assert_eq!(j.channels().len(), 1);
}

#[test]
fn a_torn_last_record_is_dropped_and_damage_before_it_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels.journal");
    let snaps = snapshots(3);
    {
        let mut j = Journal::open(&path).unwrap();
        j.append(entry(snaps[0].clone())).unwrap();
        j.append(entry(snaps[1].clone())).unwrap();
        j.sync().unwrap();
    }
    let good = std::fs::metadata(&path).unwrap().len();
    // A crash while appending the third: half of it reached the disk.
    let third = {
        let tmp = dir.path().join("one");
        let mut j = Journal::open(&tmp).unwrap();
        j.append(entry(snaps[2].clone())).unwrap();
        j.sync().unwrap();
        std::fs::read(&tmp).unwrap()
    };
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(&third[..third.len() / 2])
        .unwrap();
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.channels().values().next().unwrap().snapshot, snaps[1]);
    assert_eq!(j.len_on_disk().unwrap(), good, "the torn tail is cut off");
    drop(j);
    // A flipped byte in the first record, with a sound one after it.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        Journal::open(&path),
        Err(JournalError::Corrupt { offset: 0, .. })
    ));
}

#[test]
fn compaction_keeps_one_entry_per_channel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("channels.journal");
    let snaps = snapshots(2);
    let mut j = Journal::open(&path).unwrap();
    for _ in 0..100 {
        j.append(entry(snaps[0].clone())).unwrap();
    }
    j.append(entry(snaps[1].clone())).unwrap();
    let before = j.len_on_disk().unwrap();
    j.sync().unwrap();
    let after = j.len_on_disk().unwrap();
    assert!(after * 50 < before, "{before} → {after} bytes");
    drop(j);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.channels().values().next().unwrap().snapshot, snaps[1]);
}
