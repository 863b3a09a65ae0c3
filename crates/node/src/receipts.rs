//! The persisted transaction index: where each finalized transaction sits
//! and its receipt, so `l1_getTransaction` answers for the whole history,
//! across restarts.
//!
//! One task owns a prunable archive keyed by transaction hash; everyone
//! else talks to it through a [`TxIndex`] mailbox, which keeps the runtime
//! type out of [`crate::chain::Chain`]. A block's receipts are written and
//! synced *before* the state store applies the block (from glue's
//! `capture` hook): a block whose state is durable always has its index
//! durable too, and a block replayed after a crash is indexed again, which
//! is a no-op (archive indices are write-once).

use crate::chain::TxLocation;
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use commonware_runtime::{Spawner, buffer::paged::CacheRef};
use commonware_storage::{
    archive::{Archive as _, Identifier, prunable},
    translator::EightCap,
};
use commonware_utils::{NZU64, NZUsize};
use futures::{
    SinkExt as _, StreamExt as _,
    channel::{mpsc, oneshot},
};
use std::sync::Arc;
use terrace_l1::Receipt;
use terrace_primitives::Hash;
use tracing::{error, warn};

/// Positions per block in the archive's index space: archive index =
/// height × 2^20 + position. A block holds far fewer transactions
/// (`block_gas_limit / 21,000`); any beyond are left unindexed, with a
/// warning.
const POSITION_BITS: u32 = 20;

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
        const IO: std::num::NonZeroUsize = NZUsize!(64 * 1024);
        let archive = prunable::Archive::<EightCap, E, Hash, TxLocation>::init(
            context.child("archive"),
            prunable::Config {
                translator: EightCap,
                metadata_partition: format!("{prefix}-txs-metadata"),
                key_partition: format!("{prefix}-txs-key"),
                key_page_cache: page_cache,
                value_partition: format!("{prefix}-txs-value"),
                compression: None,
                codec_config: (),
                // 4,096 blocks per blob.
                items_per_section: NZU64!(1 << (POSITION_BITS + 12)),
                key_write_buffer: IO,
                value_write_buffer: IO,
                replay_buffer: IO,
            },
        )
        .await
        .expect("transaction index must open");
        let (sender, mut requests) = mpsc::channel::<Request>(1024);
        context.spawn(move |_| async move {
            // An archive error destroys the handle: the index then answers
            // "unknown" and records nothing, and the node goes on.
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
                            archive = record(a, height, block, &receipts).await;
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

async fn record<E>(
    mut archive: Store<E>,
    height: u64,
    block: Hash,
    receipts: &[Receipt],
) -> Option<Store<E>>
where
    E: Spawner + commonware_storage::Context,
{
    for (i, receipt) in receipts.iter().enumerate() {
        let Ok(index) = u32::try_from(i) else { break };
        if index >> POSITION_BITS != 0 {
            warn!(height, "block has more transactions than the index holds");
            break;
        }
        let Some(slot) = height
            .checked_mul(1 << POSITION_BITS)
            .map(|h| h | u64::from(index))
        else {
            warn!(height, "height beyond the transaction index");
            break;
        };
        let location = TxLocation {
            height,
            block,
            index,
            receipt: receipt.clone(),
        };
        archive = match archive.put(slot, receipt.tx_hash, &location).await {
            Ok(a) => a,
            Err(e) => {
                error!(height, error = %e, "transaction index write failed; indexing stops");
                return None;
            }
        };
    }
    match archive.sync().await {
        Ok(a) => Some(a),
        Err(e) => {
            error!(height, error = %e, "transaction index sync failed; indexing stops");
            None
        }
    }
}
