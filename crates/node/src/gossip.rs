//! Transaction submission and gossip: a transaction is checked (decode,
//! fields, signature), admitted to the local pool against the sender's
//! finalized account, and sent to every peer on the transactions channel.
//! Peers admit what they receive the same way and do not forward it: the
//! validators are fully connected, so one hop reaches every proposer.
//!
//! Transactions travel in batches: whatever is queued when the sender wakes,
//! up to [`BATCH_TXS_MAX`] transactions and one maximal transaction's bytes.
//! No timer waits for a batch to fill, so a lone transaction leaves at once
//! and a busy node sends one message where it would have sent hundreds,
//! which keeps the per-peer message rate (and the mailboxes sized from it)
//! small.

use crate::{
    Runtime,
    app::App,
    chain::Chain,
    state::{StateSet, read_records},
};
use bytes::Bytes;
use commonware_codec::{Decode as _, Encode as _, RangeCfg};
use commonware_glue::stateful::Mailbox as StatefulMailbox;
use commonware_p2p::{CheckedSender as _, Receiver, Recipients, Sender};
use commonware_runtime::{Handle, Spawner};
use futures::{StreamExt as _, channel::mpsc};
use std::sync::Arc;
use terrace_l1::{Key, MemoryState, SignedTransaction, StateReader, TxError};
use terrace_mempool::Rejection;
use terrace_primitives::{Address, Hash};
use tracing::debug;

/// Most transactions in one gossip message.
pub const BATCH_TXS_MAX: usize = 256;

/// Bytes a batch adds around its transactions: a length per transaction
/// and the count, as varints.
pub const BATCH_FRAMING_MAX: usize = 8 * (BATCH_TXS_MAX + 1);

/// Encodes transactions as one gossip message.
pub fn encode_batch(txs: &[Bytes]) -> Bytes {
    txs.to_vec().encode()
}

/// Decodes a gossip message: 1 to [`BATCH_TXS_MAX`] transactions of 1 to
/// `tx_bytes_max` bytes each.
pub fn decode_batch(
    message: Bytes,
    tx_bytes_max: usize,
) -> Result<Vec<Bytes>, commonware_codec::Error> {
    Vec::<Bytes>::decode_cfg(
        message,
        &(
            RangeCfg::new(1..=BATCH_TXS_MAX),
            RangeCfg::new(1..=tx_bytes_max),
        ),
    )
}

/// Why a submitted transaction was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Stateless checks failed.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// The pool refused it.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The finalized state could not be read.
    #[error("state unavailable: {0}")]
    Unavailable(String),
}

/// Reads records of the last finalized block.
pub struct FinalizedState<E: commonware_storage::Context + Spawner> {
    chain: Arc<Chain>,
    mailbox: StatefulMailbox<E, App>,
}

impl<E: commonware_storage::Context + Spawner> std::fmt::Debug for FinalizedState<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FinalizedState")
    }
}

impl<E: commonware_storage::Context + Spawner> Clone for FinalizedState<E> {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            mailbox: self.mailbox.clone(),
        }
    }
}

impl<E> FinalizedState<E>
where
    E: Runtime,
{
    /// A reader over a validator's store.
    pub fn new(chain: Arc<Chain>, mailbox: StatefulMailbox<E, App>) -> Self {
        Self { chain, mailbox }
    }

    /// The store.
    pub async fn databases(&self) -> StateSet<E> {
        self.mailbox.subscribe_databases().await
    }

    /// Records under `keys` as of the finalized tip. Until block 1 is
    /// finalized the store is empty (every block writes the totals record)
    /// and the genesis allocation is the state.
    pub async fn records(&self, keys: &[Key]) -> Result<MemoryState, String> {
        let dbs = self.databases().await;
        let guard = dbs.read().await;
        let mut wanted: Vec<Key> = keys.to_vec();
        wanted.push(Key::Totals);
        let mut records = read_records(&guard, wanted)
            .await
            .map_err(|e| e.to_string())?;
        if records.get(&Key::Totals).is_some() {
            return Ok(records);
        }
        let mut writes = terrace_l1::state::Writes::new();
        for k in keys {
            if let Some(v) = self.chain.genesis_writes().get(k) {
                writes.insert(k.clone(), v.clone());
            }
        }
        records = MemoryState::new();
        records.apply_owned(writes);
        Ok(records)
    }

    /// An account's finalized record.
    pub async fn account(&self, address: Address) -> Result<terrace_l1::Account, String> {
        Ok(self
            .records(&[Key::Account(address)])
            .await?
            .account(&address))
    }
}

/// Submits transactions and gossips them.
#[derive(Clone)]
pub struct Gossip {
    outbound: mpsc::Sender<Bytes>,
}

impl std::fmt::Debug for Gossip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gossip")
    }
}

/// Checks `bytes` and admits the transaction to the pool.
async fn admit<E>(
    chain: &Chain,
    state: &FinalizedState<E>,
    bytes: Bytes,
) -> Result<Hash, SubmitError>
where
    E: Runtime,
{
    let tx = SignedTransaction::decode_and_check(bytes, chain.chain_id(), &chain.params)?;
    let hash = tx.hash();
    let records = state
        .records(&[Key::Account(tx.sender())])
        .await
        .map_err(SubmitError::Unavailable)?;
    chain.admit(tx, &records)?;
    Ok(hash)
}

impl Gossip {
    /// Checks, pools and gossips a transaction; returns its id.
    pub async fn submit<E>(
        &self,
        chain: &Chain,
        state: &FinalizedState<E>,
        bytes: Bytes,
    ) -> Result<Hash, SubmitError>
    where
        E: Runtime,
    {
        let hash = admit(chain, state, bytes.clone()).await?;
        // A full outbound queue drops the gossip, not the transaction: it
        // is pooled here and this node proposes it in its own views.
        let _ = self.outbound.clone().try_send(bytes);
        Ok(hash)
    }
}

/// Starts the gossip tasks on the transactions channel.
pub fn start<E, S, R>(
    context: E,
    chain: Arc<Chain>,
    mailbox: StatefulMailbox<E, App>,
    (mut sender, mut receiver): (S, R),
) -> Gossip
where
    E: Runtime,
    S: Sender<PublicKey = terrace_primitives::PublicKey>,
    R: Receiver<PublicKey = terrace_primitives::PublicKey>,
{
    let (outbound, mut queue) = mpsc::channel::<Bytes>(4096);
    let state = FinalizedState::new(chain.clone(), mailbox);
    let tx_bytes_max = usize::try_from(chain.params.tx_bytes_max).unwrap_or(usize::MAX);
    let _send: Handle<()> = context.child("send").spawn(move |context| async move {
        let mut held: Option<Bytes> = None;
        loop {
            let first = match held.take() {
                Some(tx) => tx,
                None => match queue.next().await {
                    Some(tx) => tx,
                    None => return,
                },
            };
            let mut size = first.len();
            let mut batch = vec![first];
            loop {
                // Take what queued meanwhile, then send if the channel's
                // per-peer quota allows; otherwise wait for it (the batch
                // grows instead of the sender dropping messages).
                while batch.len() < BATCH_TXS_MAX && held.is_none() {
                    let Ok(tx) = queue.try_recv() else {
                        break;
                    };
                    if size.saturating_add(tx.len()) > tx_bytes_max {
                        held = Some(tx);
                    } else {
                        size += tx.len();
                        batch.push(tx);
                    }
                }
                match sender.check(Recipients::All) {
                    Ok(checked) => {
                        let _ = checked.send(encode_batch(&batch), false);
                        break;
                    }
                    Err(until) => context.sleep_until(until).await,
                }
            }
        }
    });
    let _recv: Handle<()> = context.child("recv").spawn(move |_| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let txs = match decode_batch(Bytes::copy_from_slice(message.as_ref()), tx_bytes_max) {
                Ok(txs) => txs,
                Err(e) => {
                    debug!(?peer, error = %e, "undecodable transaction batch");
                    continue;
                }
            };
            for bytes in txs {
                if let Err(e) = admit(&chain, &state, bytes).await {
                    debug!(?peer, error = %e, "gossiped transaction refused");
                }
            }
        }
    });
    Gossip { outbound }
}
