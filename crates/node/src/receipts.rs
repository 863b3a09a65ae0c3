//! The persisted transaction index: where each finalized transaction sits
//! and its receipt, so `l1_getTransaction` answers for the whole history,
//! across restarts.
//!
//! One task owns a prunable archive keyed by transaction hash; everyone
//! else talks to it through a [`TxIndex`] mailbox, which keeps the runtime
//! type out of [`crate::chain::Chain`]. A block's receipts are written and
//! synced *before* the state store applies the block (from glue's
//! `capture` hook): a block whose state is durable always has its index
//! durable too. A block replayed after a crash is checked transaction by
//! transaction and only what is missing is added.

use crate::chain::TxLocation;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use commonware_runtime::{Spawner, buffer::paged::CacheRef};
use commonware_storage::{
    archive::{Archive as _, Identifier, prunable},
    translator::EightCap,
};
use commonware_utils::NZU64;
use futures::{
    SinkExt as _, StreamExt as _,
    channel::{mpsc, oneshot},
};
use std::sync::Arc;
use terrace_l1::Receipt;
use terrace_primitives::Hash;
use tracing::{error, warn};

/// Transactions per archive section (one blob each). The archive keeps a
/// dense in-memory table per section, so its index space must be dense
/// too: archive index = the transaction's position in the whole chain
/// (the n-th finalized transaction), not a function of its height.
const TXS_PER_SECTION: u64 = 65_536;

impl Write for TxLocation {
    fn write(&self, buf: &mut impl BufMut) {
        self.height.write(buf);
        self.block.write(buf);
        self.index.write(buf);
        self.receipt.write(buf);
    }
}

impl EncodeSize for TxLocation {
    fn encode_size(&self) -> usize {
        8 + 32 + 4 + self.receipt.encode_size()
    }
}

impl Read for TxLocation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            height: u64::read(buf)?,
            block: Hash::read(buf)?,
            index: u32::read(buf)?,
            receipt: Receipt::read(buf)?,
        })
    }
}

enum Request {
    Record {
        height: u64,
        block: Hash,
        receipts: Arc<Vec<Receipt>>,
        done: oneshot::Sender<()>,
    },
    Lookup {
        hash: Hash,
        reply: oneshot::Sender<Option<TxLocation>>,
    },
}

/// The index's mailbox.
#[derive(Clone)]
pub struct TxIndex {
    sender: mpsc::Sender<Request>,
}

impl std::fmt::Debug for TxIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TxIndex")
    }
}

impl TxIndex {
    /// Opens the index under `prefix` in the runtime's storage and starts
    /// its task. Start it from the engine's task, so that stopping the
    /// engine stops the index and closes its archive, and a restart can
    /// reopen it.
    ///
    /// # Panics
    ///
    /// If the archive cannot open (as the block archives do).
    pub async fn start<E>(context: E, prefix: &str, page_cache: CacheRef) -> Self
    where
        E: Spawner + commonware_storage::Context,
    {
        let archive = prunable::Archive::<EightCap, E, Hash, TxLocation>::init(
            context.child("archive"),
            crate::engine::archive_config(
                prefix,
                "txs",
                page_cache,
                EightCap,
                NZU64!(TXS_PER_SECTION),
                (),
            ),
        )
        .await
        .expect("transaction index must open");
        let (sender, mut requests) = mpsc::channel::<Request>(1024);
        context.spawn(move |_| async move {
            // An archive error destroys the handle: the index then answers
            // "unknown" and records nothing, and the node goes on.
            let mut cursor = Cursor::open(&archive).await;
            let mut archive = Some(archive);
            while let Some(request) = requests.next().await {
                match request {
                    Request::Record {
                        height,
                        block,
                        receipts,
                        done,
                    } => {
                        if let Some(a) = archive.take() {
                            archive = record(a, &mut cursor, height, block, &receipts).await;
                        }
                        let _ = done.send(());
                    }
                    Request::Lookup { hash, reply } => {
                        let found = match &archive {
                            Some(a) => a.get(Identifier::Key(&hash)).await.unwrap_or_else(|e| {
                                warn!(error = %e, "transaction index read failed");
                                None
                            }),
                            None => None,
                        };
                        let _ = reply.send(found);
                    }
                }
            }
        });
        Self { sender }
    }

    /// Indexes a finalized block's receipts and returns once they are
    /// durable.
    pub async fn record(&self, height: u64, block: Hash, receipts: Arc<Vec<Receipt>>) {
        let (done, wait) = oneshot::channel();
        let mut sender = self.sender.clone();
        if sender
            .send(Request::Record {
                height,
                block,
                receipts,
                done,
            })
            .await
            .is_ok()
        {
            let _ = wait.await;
        }
    }

    /// Where a finalized transaction sits, if this node has it.
    pub async fn lookup(&self, hash: Hash) -> Option<TxLocation> {
        let (reply, wait) = oneshot::channel();
        let mut sender = self.sender.clone();
        sender.send(Request::Lookup { hash, reply }).await.ok()?;
        wait.await.ok().flatten()
    }
}

type Store<E> = prunable::Archive<EightCap, E, Hash, TxLocation>;

/// Where the next transaction goes, and up to which height blocks may
/// already be (partly) indexed from before a restart.
struct Cursor {
    next: u64,
    indexed_through: Option<u64>,
}

impl Cursor {
    async fn open<E>(archive: &Store<E>) -> Self
    where
        E: Spawner + commonware_storage::Context,
    {
        let Some(last) = archive.last_index() else {
            return Self {
                next: 0,
                indexed_through: None,
            };
        };
        let indexed_through = match archive.get(Identifier::Index(last)).await {
            Ok(Some(location)) => Some(location.height),
            // Unknown: check every block against the index.
            _ => Some(u64::MAX),
        };
        Self {
            next: last.saturating_add(1),
            indexed_through,
        }
    }
}

async fn record<E>(
    mut archive: Store<E>,
    cursor: &mut Cursor,
    height: u64,
    block: Hash,
    receipts: &[Receipt],
) -> Option<Store<E>>
where
    E: Spawner + commonware_storage::Context,
{
    // A block replayed after a restart may be indexed already, in whole or
    // (if the crash came before the sync) in part.
    let replay = cursor.indexed_through.is_some_and(|h| height <= h);
    for (i, receipt) in receipts.iter().enumerate() {
        if replay
            && archive
                .has(Identifier::Key(&receipt.tx_hash))
                .await
                .unwrap_or(false)
        {
            continue;
        }
        let location = TxLocation {
            height,
            block,
            index: u32::try_from(i).unwrap_or(u32::MAX),
            receipt: receipt.clone(),
        };
        archive = match archive.put(cursor.next, receipt.tx_hash, &location).await {
            Ok(a) => a,
            Err(e) => {
                error!(height, error = %e, "transaction index write failed; indexing stops");
                return None;
            }
        };
        cursor.next = cursor.next.saturating_add(1);
    }
    match archive.sync().await {
        Ok(a) => Some(a),
        Err(e) => {
            error!(height, error = %e, "transaction index sync failed; indexing stops");
            None
        }
    }
}
