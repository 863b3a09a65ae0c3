//! Transaction submission and gossip: a transaction is checked (decode,
//! fields, signature), admitted to the local pool against the sender's
//! finalized account, and sent to every peer on the transactions channel.
//! Peers admit what they receive the same way and do not forward it: the
//! validators are fully connected, so one hop reaches every proposer.

use crate::{
    Runtime,
    app::App,
    chain::Chain,
    state::{StateSet, read_records},
};
use bytes::Bytes;
use commonware_glue::stateful::Mailbox as StatefulMailbox;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::{Handle, Spawner};
use futures::{StreamExt as _, channel::mpsc};
use std::sync::Arc;
use terrace_l1::{Key, MemoryState, SignedTransaction, StateReader, TxError};
use terrace_mempool::Rejection;
use terrace_primitives::{Address, Hash};
use tracing::debug;

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
    let _send: Handle<()> = context.child("send").spawn(|_| async move {
        while let Some(bytes) = queue.next().await {
            let _ = sender.send(Recipients::All, bytes, false);
        }
    });
    let _recv: Handle<()> = context.child("recv").spawn(move |_| async move {
        while let Ok((peer, message)) = receiver.recv().await {
            let bytes = Bytes::copy_from_slice(message.as_ref());
            if let Err(e) = admit(&chain, &state, bytes).await {
                debug!(?peer, error = %e, "gossiped transaction refused");
            }
        }
    });
    Gossip { outbound }
}
