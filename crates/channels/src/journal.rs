//! A channel node's journal: every snapshot a channel asks to persist is
//! appended to one file, and [`Journal::sync`] makes everything appended
//! so far durable with one `fsync` (group commit: a node appends the
//! snapshots of all the messages it handled, syncs once, then sends their
//! answers — so no revocation leaves before the state replacing it is on
//! disk).
//!
//! Each record is its length, an 8-byte SHA-256 checksum and the entry.
//! Reopening replays the file and keeps each channel's newest entry. A
//! record cut short at the end of the file (a crash mid-append) is
//! dropped and the file truncated; a bad record with others after it is
//! corruption, and the journal refuses to open rather than resume from an
//! older state it may have revoked. When the file holds many times more
//! records than channels it is rewritten with one entry per channel
//! (written beside it, synced, then renamed over it).

use crate::machine::Snapshot;
use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    io::{self, Read as _, Seek as _, SeekFrom, Write as _},
    path::{Path, PathBuf},
};
use terrace_l1::modules::channels::{OpenTerms, Side, SignedState};
use terrace_primitives::{Hash, Signature, codec::decode_bounded, hash};

/// Largest entry (a state with every HTLC slot of both sides used).
pub const ENTRY_BYTES_MAX: usize = 256 * 1024;
const HEADER: usize = 4 + 8;

/// What the journal keeps per channel: its terms, our side, and the
/// machine's snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The channel's terms (with its id, they rebuild the machine).
    pub terms: OpenTerms,
    /// Our side.
    pub side: Side,
    /// The durable part of the machine.
    pub snapshot: Snapshot,
}

/// Why the journal could not open or write.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file system failed.
    #[error("journal I/O: {0}")]
    Io(#[from] io::Error),
    /// A record other than the last is damaged.
    #[error("journal {path} is corrupt at byte {offset}: refusing to resume from an older state")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
    },
}

/// The append-only journal of a node's channels.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Records in the file.
    records: usize,
    /// Each channel's newest entry.
    latest: BTreeMap<Hash, Entry>,
    /// Appended since the last sync.
    unsynced: usize,
}

fn checksum(payload: &[u8]) -> [u8; 8] {
    let h = hash(&[payload]);
    let mut c = [0u8; 8];
    c.copy_from_slice(&h.as_ref()[..8]);
    c
}

fn frame(entry: &Entry) -> Vec<u8> {
    let payload = entry.encode();
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(&payload));
    out.extend_from_slice(&payload);
    out
}

impl Journal {
    /// Opens (or creates) the journal at `path` and replays it.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut latest = BTreeMap::new();
        let mut records = 0;
        let mut at = 0usize;
        while at < bytes.len() {
            match Self::record(&bytes[at..]) {
                Some((entry, len)) => {
                    latest.insert(entry.snapshot.current.state.channel, entry);
                    records += 1;
                    at += len;
                }
                None => {
                    if Self::is_torn_tail(&bytes[at..]) {
                        // A crash cut the last append short: drop it.
                        file.set_len(at as u64)?;
                        file.sync_all()?;
                        break;
                    }
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: at as u64,
                    });
                }
            }
        }
        file.seek(SeekFrom::End(0))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            records,
            latest,
            unsynced: 0,
        })
    }

    /// The record at the start of `rest` and its length, if whole and
    /// sound.
    fn record(rest: &[u8]) -> Option<(Entry, usize)> {
        let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        if len > ENTRY_BYTES_MAX {
            return None;
        }
        let sum = rest.get(4..HEADER)?;
        let payload = rest.get(HEADER..HEADER + len)?;
        if checksum(payload) != sum {
            return None;
        }
        let entry = decode_bounded::<Entry>(payload, ENTRY_BYTES_MAX, &()).ok()?;
        Some((entry, HEADER + len))
    }

    /// Whether a bad record at the start of `rest` is the file's last:
    /// too short for its header, or running to (or past) the end.
    fn is_torn_tail(rest: &[u8]) -> bool {
        let Some(len) = rest.get(..4) else {
            return true;
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        HEADER.saturating_add(len) >= rest.len()
    }

    /// Each channel's newest entry.
    pub fn channels(&self) -> &BTreeMap<Hash, Entry> {
        &self.latest
    }

    /// Appends an entry (durable at the next [`Self::sync`]).
    pub fn append(&mut self, entry: Entry) -> Result<(), JournalError> {
        self.file.write_all(&frame(&entry))?;
        self.latest
            .insert(entry.snapshot.current.state.channel, entry);
        self.records += 1;
        self.unsynced += 1;
        Ok(())
    }

    /// Makes every entry appended so far durable (one `fsync`), and
    /// compacts the file when it holds over 64 records per channel.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.unsynced > 0 {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        if self.records > 64 * self.latest.len().max(1) {
            self.compact()?;
        }
        Ok(())
    }

    /// Rewrites the file with one entry per channel.
    fn compact(&mut self) -> Result<(), JournalError> {
        let tmp = self.path.with_extension("compacting");
        {
            let mut out = File::create(&tmp)?;
            for entry in self.latest.values() {
                out.write_all(&frame(entry))?;
            }
            out.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            // Make the rename itself durable.
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.records = self.latest.len();
        Ok(())
    }

    /// Bytes the journal holds on disk.
    pub fn len_on_disk(&self) -> Result<u64, JournalError> {
        Ok(self.file.metadata()?.len())
    }
}

// ---- codec -------------------------------------------------------------

impl Write for Entry {
    fn write(&self, buf: &mut impl BufMut) {
        self.terms.write(buf);
        self.side.write(buf);
        self.snapshot.write(buf);
    }
}

impl EncodeSize for Entry {
    fn encode_size(&self) -> usize {
        self.terms.encode_size() + 1 + self.snapshot.encode_size()
    }
}

impl Read for Entry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            terms: OpenTerms::read(buf)?,
            side: Side::read(buf)?,
            snapshot: Snapshot::read(buf)?,
        })
    }
}

impl Write for Snapshot {
    fn write(&self, buf: &mut impl BufMut) {
        self.current.write(buf);
        self.revoked_upto.map(UInt).write(buf);
        match &self.peer_revocation {
            None => 0u8.write(buf),
            Some((upto, sig)) => {
                1u8.write(buf);
                upto.write(buf);
                sig.write(buf);
            }
        }
        UInt(self.next_id).write(buf);
        UInt(self.next_peer_id).write(buf);
    }
}

impl EncodeSize for Snapshot {
    fn encode_size(&self) -> usize {
        self.current.encode_size()
            + self.revoked_upto.map(UInt).encode_size()
            + 1
            + self
                .peer_revocation
                .as_ref()
                .map_or(0, |(_, s)| 8 + s.encode_size())
            + UInt(self.next_id).encode_size()
            + UInt(self.next_peer_id).encode_size()
    }
}

impl Read for Snapshot {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            current: SignedState::read(buf)?,
            revoked_upto: Option::<UInt<u64>>::read(buf)?.map(|v| v.0),
            peer_revocation: match u8::read(buf)? {
                0 => None,
                1 => Some((u64::read(buf)?, Signature::read(buf)?)),
                t => return Err(CodecError::InvalidEnum(t)),
            },
            next_id: UInt::<u64>::read(buf)?.0,
            next_peer_id: UInt::<u64>::read(buf)?.0,
        })
    }
}
