//! The authenticated state store: L1 records in a QMDB
//! `current::ordered` database (inclusion and exclusion proofs against the
//! header's state root), and the prefetch that gives the pure
//! state-transition function its in-memory view.

use commonware_glue::stateful::db::{AttachableResolver, Shared};
use commonware_parallel::Sequential;
use commonware_runtime::{
    BLOB_PAGE_SIZE,
    buffer::paged::{CacheRef, page_size},
};
use commonware_storage::{
    journal::contiguous::variable::Config as VariableJournalConfig,
    merkle::{full::Config as MerkleConfig, mmr},
    qmdb::{
        current::{VariableConfig, ordered::variable::Db as OrderedVariableDb},
        sync::{Database, Request, ServeError, Source, source},
    },
    translator::EightCap,
};
use commonware_utils::{NZU64, NZUsize};
use std::{
    collections::{BTreeSet, HashMap},
    marker::PhantomData,
    num::NonZeroUsize,
    sync::Mutex,
};
use terrace_l1::{Key, MemoryState, StateReader, Value, state::Writes};
use terrace_primitives::Hash;

/// Bytes of bitmap chunk the `current` database groups activity bits in.
pub const CHUNK_BYTES: usize = 32;

/// The state database.
pub type StateDb<E> = OrderedVariableDb<
    mmr::Family,
    E,
    Hash,
    Value,
    commonware_cryptography::Sha256,
    EightCap,
    CHUNK_BYTES,
    Sequential,
>;

/// The state database as the stateful application layer manages it.
pub type StateSet<E> = Shared<StateDb<E>>;

/// The store's sync target: its operation-log root and live range.
pub type SyncTarget = commonware_storage::qmdb::sync::Target<mmr::Family, Hash>;

/// The key a record is stored under: `l1`'s own encoding of the key
/// ([`terrace_l1::Key`]), zero-padded to 32 bytes.
///
/// Every key encodes as a leading tag byte, then its identity in a fixed
/// width for that tag, so padding keeps keys distinct and records of one
/// kind sort together (accounts by address, a rollup's batches by index).
/// A key longer than 32 bytes (a punished offense: its tag, then a 32-byte
/// offense id) keeps its tag and 31 bytes of a hash of its encoding: 248
/// bits against collisions.
pub fn state_key(key: &Key) -> Hash {
    use commonware_codec::Encode as _;
    let encoded = key.encode();
    let mut out = [0u8; 32];
    if encoded.len() <= 32 {
        out[..encoded.len()].copy_from_slice(&encoded);
    } else {
        out[0] = encoded[0];
        let digest = terrace_primitives::hash_tagged(b"terrace/node/state-key", &[&encoded]);
        out[1..].copy_from_slice(&digest.as_ref()[..31]);
    }
    Hash::from(out)
}

/// The store's configuration under `prefix` (one partition per file set).
pub fn config(
    prefix: &str,
    page_cache: CacheRef,
) -> VariableConfig<EightCap, ((), ()), Sequential> {
    const IO: NonZeroUsize = NZUsize!(1 << 20);
    VariableConfig {
        merkle_config: MerkleConfig {
            journal_partition: format!("{prefix}-state-mmr-journal"),
            metadata_partition: format!("{prefix}-state-mmr-metadata"),
            items_per_blob: NZU64!(65_536),
            write_buffer: IO,
            replay_buffer: IO,
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: VariableJournalConfig {
            partition: format!("{prefix}-state-log"),
            items_per_section: NZU64!(65_536),
            compression: None,
            codec_config: ((), ()),
            page_cache,
            write_buffer: IO,
            replay_buffer: IO,
        },
        grafted_metadata_partition: format!("{prefix}-state-grafted-metadata"),
        translator: EightCap,
        init_cache: Some(NZUsize!(1 << 16)),
        init_buffer: NZUsize!(1 << 21),
        init_concurrency: (),
    }
}

/// A page cache for the node's stores.
pub fn page_cache() -> CacheRef {
    CacheRef::new(page_size(BLOB_PAGE_SIZE), NZUsize!(8192))
}

/// The records a block reads, fetched from the store before the pure
/// state-transition function runs.
///
/// Execution declares its keys up front (`touched_keys`, `block_keys`,
/// `release_keys`), so one fetch usually suffices. A read of a key that was
/// not fetched is answered as absent and remembered; the caller then
/// fetches the missed keys and runs again, so an incomplete declaration
/// costs time, never correctness.
#[derive(Debug, Default)]
pub struct Prefetched {
    records: HashMap<Key, Option<Value>>,
    missed: Mutex<BTreeSet<Key>>,
}

impl Prefetched {
    /// An empty view.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `key` as read from the store.
    pub fn insert(&mut self, key: Key, value: Option<Value>) {
        self.records.insert(key, value);
    }

    /// Overrides records (the genesis allocation applied in block 1).
    pub fn apply(&mut self, writes: &Writes) {
        for (k, v) in writes {
            self.records.insert(k.clone(), v.clone());
        }
    }

    /// Of `keys`, those not fetched yet, deduplicated, in key order.
    pub fn missing(&self, keys: impl IntoIterator<Item = Key>) -> Vec<Key> {
        let set: BTreeSet<Key> = keys
            .into_iter()
            .filter(|k| !self.records.contains_key(k))
            .collect();
        set.into_iter().collect()
    }

    /// Keys read but not fetched since the last call.
    pub fn take_missed(&self) -> Vec<Key> {
        std::mem::take(&mut *self.missed.lock().unwrap_or_else(|e| e.into_inner()))
            .into_iter()
            .collect()
    }
}

impl StateReader for Prefetched {
    fn get(&self, key: &Key) -> Option<Value> {
        match self.records.get(key) {
            Some(v) => v.clone(),
            None => {
                self.missed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(key.clone());
                None
            }
        }
    }
}

/// The store's error.
pub type StoreError = commonware_storage::qmdb::Error<mmr::Family>;

/// Reads the records under `keys` from a store into an in-memory view.
pub async fn read_records<E>(
    db: &StateDb<E>,
    keys: impl IntoIterator<Item = Key>,
) -> Result<MemoryState, StoreError>
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    let mut writes = Writes::new();
    for k in keys {
        let v = db.get(&state_key(&k)).await?;
        writes.insert(k, v);
    }
    let mut records = MemoryState::new();
    records.apply_owned(writes);
    Ok(records)
}

/// The state-sync resolver for a node that never state-syncs: it serves
/// nothing, and a node catches up by replaying backfilled blocks.
///
/// The p2p state-sync resolver of this commonware version handles only
/// store operations without a decoding configuration, which rules out
/// variable-size records.
pub struct NoStateSync<DB>(PhantomData<fn() -> DB>);

impl<DB> std::fmt::Debug for NoStateSync<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoStateSync")
    }
}

impl<DB> Default for NoStateSync<DB> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<DB> Clone for NoStateSync<DB> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

impl<DB: Database> Source for NoStateSync<DB> {
    type Family = DB::Family;
    type Digest = DB::Digest;
    type Op = DB::Op;
    type Error = ServeError<DB::Family>;

    async fn serve(&self, _request: Request<Self::Family>) -> source::Result<Self> {
        Err(ServeError::MissingSource)
    }
}

impl<DB: Send + Sync + 'static> AttachableResolver<DB> for NoStateSync<DB> {
    async fn attach_database(&self, _db: Shared<DB>) {}
}

/// The empty store's sync target, as a header records it (the genesis
/// block's state log).
pub fn empty_log<E>() -> terrace_l1::block::StateLog
where
    E: commonware_storage::Context + commonware_runtime::Spawner,
{
    use commonware_glue::stateful::db::DatabaseSet as _;
    let target = <StateSet<E>>::initial_sync_targets();
    terrace_l1::block::StateLog {
        root: target.root,
        start: *target.range.start(),
        end: *target.range.end(),
    }
}
