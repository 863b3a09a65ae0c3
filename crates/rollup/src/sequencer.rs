//! The sequencer: orders L2 transactions, confirms each at once against its
//! soft state, and seals them into blocks; and the batcher's half of it,
//! which packs sealed blocks into batches.
//!
//! Every transaction is executed the moment it arrives, so a soft
//! confirmation carries the real outcome; one that would fail is refused
//! and never enters a block. A block first consumes the inbox messages
//! finalized on L1 when it opened, then its transactions.
//!
//! The sealed blocks not yet in a standing batch are kept: a batch that
//! lands removes its blocks from the front ([`Sequencer::landed`]); a
//! reverted batch puts them back ([`Sequencer::reverted`]); a batch posted
//! by someone else (the escape hatch) makes the sequencer start again from
//! the derived state and replay what it had ([`Sequencer::rebase`]).
//!
//! # Aggregated transactions
//!
//! A transaction signed with the sender's BLS key ([`Sequencer::submit_aggregated`])
//! is checked on its own signature, then enters the block without it; the
//! block carries one aggregate per 32 of them, summed when it is sealed. A
//! batch's aggregates must verify against keys in the state **before the
//! batch**, and the batcher cuts batches only at the front of the pending
//! blocks, so the sequencer takes aggregated transactions only from
//! accounts that existed before its oldest pending block (`base_accounts`):
//! a fresh account must wait until the batch that opened it lands.

use crate::derive::{Derivation, DerivedBatch};
use commonware_codec::EncodeSize as _;
use std::collections::{HashMap, VecDeque};
use terrace_l2::{
    AggregatedL2Transaction, Batch, BlockContext, BlockTx, FullState, InboxMessage, L2Block,
    L2State as _, L2Transaction, SignedL2Transaction, StepInput, apply_step,
    batch::{AGGREGATE_CHUNK, AGGREGATED_TX_OVERHEAD, BATCH_BLOCKS_MAX},
    stf::Failure,
    tx::L2_TX_NAMESPACE,
};
use terrace_primitives::{
    Amount, BlsSignature, Hash, PublicKey,
    keys::{self, BatchItem},
    par::{self, Threads},
};

/// A soft confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftReceipt {
    /// L2 block number.
    pub block: u64,
    /// Position among the block's transactions.
    pub index: u32,
    /// Fee paid.
    pub fee: Amount,
    /// The withdrawal it made, if any.
    pub withdrawal: Option<u64>,
}

/// Why the sequencer refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Executing it would fail: it is refused, not included.
    #[error("the transaction would fail: {0:?}")]
    WouldFail(Failure),
    /// Already confirmed.
    #[error("already confirmed in block {0}")]
    Duplicate(u64),
    /// Larger than a block may hold.
    #[error("the transaction is {0} bytes, more than a batch can carry")]
    TooLarge(usize),
    /// This sequencer will not take it.
    #[error("refused by the sequencer")]
    Refused,
    /// An aggregated transaction from an account opened after the oldest
    /// pending block: its key is not in the state the batch is checked
    /// against yet.
    #[error("account {0} was opened after the last posted batch; send aggregated once it lands")]
    KeyNotPosted(u32),
}

/// The sequencer's state.
#[derive(Debug, Clone)]
pub struct Sequencer {
    rollup: u64,
    context: BlockContext,
    /// The context the next block opens with, when it changes mid-block.
    next_context: Option<BlockContext>,
    block_bytes_max: usize,
    /// State after the sealed blocks and the open block.
    state: FullState,
    /// The open block: inbox consumed up to, and transactions so far.
    open_inbox_until: u64,
    open_inbox_from: u64,
    open: Vec<BlockTx>,
    /// BLS signatures of the open block's aggregated transactions, in order.
    open_signatures: Vec<BlsSignature>,
    open_bytes: usize,
    /// Sealed blocks not yet in a standing batch.
    sealed: VecDeque<L2Block>,
    /// Number of the open block.
    next_block: u64,
    receipts: HashMap<Hash, SoftReceipt>,
    /// Signatures of aggregated transactions in blocks not yet landed, to
    /// replay them on a rebase.
    signatures: HashMap<Hash, BlsSignature>,
    /// Accounts in the state before the oldest pending block.
    base_accounts: u64,
}

impl Sequencer {
    /// A sequencer continuing the derived chain. Blocks hold at most
    /// `block_bytes_max` encoded bytes, so one always fits in a batch.
    pub fn new(derivation: &Derivation, context: BlockContext, block_bytes_max: usize) -> Self {
        let state = derivation.state().clone();
        let cursor = state.commitment().inbox_cursor;
        Self {
            rollup: derivation.rollup(),
            context,
            next_context: None,
            block_bytes_max,
            state,
            open_inbox_until: cursor,
            open_inbox_from: cursor,
            open: Vec::new(),
            open_signatures: Vec::new(),
            open_bytes: 0,
            sealed: VecDeque::new(),
            next_block: derivation.posted_blocks(),
            receipts: HashMap::new(),
            signatures: HashMap::new(),
            base_accounts: derivation.state().commitment().account_count,
        }
    }

    /// The soft state (after every confirmed transaction).
    pub fn state(&self) -> &FullState {
        &self.state
    }

    /// The fee context of the blocks it makes.
    pub fn context(&self) -> BlockContext {
        self.context
    }

    /// Sets the fee context: at once if the open block is empty, else from
    /// the next block (a block's transactions all run in one context).
    pub fn set_context(&mut self, context: BlockContext) {
        if self.open.is_empty() {
            self.context = context;
            self.next_context = None;
        } else {
            self.next_context = Some(context);
        }
    }

    /// The number of the block being filled.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// Blocks made so far, counting the open block once it holds anything.
    pub fn soft_blocks(&self) -> u64 {
        let open = !self.open.is_empty() || self.open_inbox_until > self.open_inbox_from;
        self.next_block + u64::from(open)
    }

    /// Sealed blocks waiting for a batch.
    pub fn sealed(&self) -> usize {
        self.sealed.len()
    }

    /// A transaction's soft confirmation.
    pub fn receipt(&self, hash: &Hash) -> Option<SoftReceipt> {
        self.receipts.get(hash).copied()
    }

    /// Consumes the inbox up to `until` (messages finalized on L1) at the
    /// start of the open block. Does nothing once the block has a
    /// transaction: messages come before transactions.
    pub fn take_inbox(&mut self, inbox: &[InboxMessage], until: u64) {
        if !self.open.is_empty() {
            return;
        }
        while self.open_inbox_until < until {
            let position = self.open_inbox_until;
            let Some(message) = usize::try_from(position).ok().and_then(|p| inbox.get(p)) else {
                return;
            };
            // A full state (no witnesses) cannot fail to apply a step.
            let _ = apply_step(
                &mut self.state,
                self.rollup,
                StepInput::Inbox { position, message },
            );
            self.open_inbox_until += 1;
        }
    }

    /// Executes `tx` on the soft state and adds it to the open block.
    pub fn submit(&mut self, tx: SignedL2Transaction) -> Result<SoftReceipt, SubmitError> {
        self.submit_checked(tx, None)
    }

    /// Submits many transactions: their signatures are verified together,
    /// in batches on `threads`, then each runs in order exactly as
    /// [`Sequencer::submit`] would run it. When a batch holds a bad
    /// signature, every transaction is checked on its own instead (and the
    /// bad one refused as alone).
    pub fn submit_many(
        &mut self,
        txs: Vec<SignedL2Transaction>,
        threads: Threads,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        // Senders' keys from the soft state: an account's key never changes.
        let keys: Vec<Option<PublicKey>> = txs
            .iter()
            .map(|t| self.state.account_at(t.tx.from).map(|a| a.key.clone()))
            .collect();
        let messages: Vec<Vec<u8>> = txs
            .iter()
            .map(|t| t.tx.signing_message(self.rollup))
            .collect();
        let items: Vec<BatchItem<'_>> = txs
            .iter()
            .zip(&keys)
            .zip(&messages)
            .filter_map(|((t, k), m)| Some((k.as_ref()?, m.as_slice(), &t.signature)))
            .collect();
        let verified = keys::verify_batch(L2_TX_NAMESPACE, &items, |item| *item, threads).is_ok();
        drop(items);
        txs.into_iter()
            .zip(keys)
            .map(|(tx, key)| {
                let key = if verified { key } else { None };
                self.submit_checked(tx, key.as_ref())
            })
            .collect()
    }

    /// Makes room for a transaction of `size` bytes: errs if no block can
    /// hold it, seals the open block if it is full.
    fn make_room(&mut self, size: usize) -> Result<(), SubmitError> {
        // Headroom for the block's header and its newest aggregate.
        let headroom = 64 + 96;
        if size + headroom > self.block_bytes_max {
            return Err(SubmitError::TooLarge(size));
        }
        if !self.open.is_empty() && self.open_bytes + size + headroom > self.block_bytes_max {
            // Full: the transaction opens the next block (which then takes
            // no inbox messages before it), in that block's context.
            self.seal_open(None);
        }
        Ok(())
    }

    /// Executes an aggregated transaction on the soft state and adds it to
    /// the open block; its signature waits for the block's aggregate.
    pub fn submit_aggregated(
        &mut self,
        tx: AggregatedL2Transaction,
    ) -> Result<SoftReceipt, SubmitError> {
        self.submit_aggregated_checked(tx, false)
    }

    /// Submits many aggregated transactions: their signatures are checked
    /// in parallel on `threads`, then each runs in order as
    /// [`Sequencer::submit_aggregated`] would run it.
    pub fn submit_many_aggregated(
        &mut self,
        txs: Vec<AggregatedL2Transaction>,
        threads: Threads,
    ) -> Vec<Result<SoftReceipt, SubmitError>> {
        let state = &self.state;
        let rollup = self.rollup;
        let verified: Vec<bool> = par::map_chunks(&txs, threads, 16, |_, chunk| {
            chunk
                .iter()
                .map(|t| {
                    state
                        .account_at(t.tx.from)
                        .and_then(|a| a.bls.as_ref())
                        .is_some_and(|k| t.verify(rollup, k).is_ok())
                })
                .collect::<Vec<bool>>()
        })
        .into_iter()
        .flatten()
        .collect();
        txs.into_iter()
            .zip(verified)
            .map(|(tx, ok)| self.submit_aggregated_checked(tx, ok))
            .collect()
    }

    fn submit_aggregated_checked(
        &mut self,
        tx: AggregatedL2Transaction,
        verified: bool,
    ) -> Result<SoftReceipt, SubmitError> {
        let hash = tx.hash();
        self.check_new(&hash)?;
        let from = tx.tx.from;
        let Some(sender) = self.state.account_at(from) else {
            return Err(SubmitError::WouldFail(Failure::UnknownSender));
        };
        let Some(key) = sender.bls.as_ref() else {
            return Err(SubmitError::WouldFail(Failure::BadSignature));
        };
        if u64::from(from) >= self.base_accounts {
            return Err(SubmitError::KeyNotPosted(from));
        }
        if !verified && tx.verify(self.rollup, key).is_err() {
            return Err(SubmitError::WouldFail(Failure::BadSignature));
        }
        self.push_aggregated(tx.tx, tx.signature, hash)
    }

    /// Runs an aggregated transaction whose signature has been dealt with
    /// and queues `signature` for its block's aggregate.
    fn push_aggregated(
        &mut self,
        tx: L2Transaction,
        signature: BlsSignature,
        hash: Hash,
    ) -> Result<SoftReceipt, SubmitError> {
        let size = tx.encode_size() + AGGREGATED_TX_OVERHEAD;
        self.make_room(size)?;
        let receipt = apply_step(
            &mut self.state,
            self.rollup,
            StepInput::Aggregated {
                context: &self.context,
                tx: &tx,
            },
        )
        .map_err(|_| SubmitError::Refused)?;
        let soft = self.confirm(receipt, BlockTx::Aggregated(tx), size, hash)?;
        self.open_signatures.push(signature);
        self.signatures.insert(hash, signature);
        Ok(soft)
    }

    /// A dishonest sequencer's move (tests of the aggregate fraud proof):
    /// runs `tx` as an aggregated transaction nobody signed, with a
    /// signature of something else in its place.
    pub fn forge_aggregated(&mut self, tx: L2Transaction) -> Result<SoftReceipt, SubmitError> {
        let junk = terrace_primitives::BlsPrivateKey::from_seed(&[0xee; 32])
            .sign(b"terrace/test/forgery", &tx.signing_message(self.rollup));
        let hash = tx.aggregated_hash();
        let soft = self.push_aggregated(tx, junk, hash)?;
        self.signatures.remove(&hash);
        Ok(soft)
    }

    fn submit_checked(
        &mut self,
        tx: SignedL2Transaction,
        key: Option<&PublicKey>,
    ) -> Result<SoftReceipt, SubmitError> {
        let hash = tx.hash();
        self.check_new(&hash)?;
        let size = tx.encode_size();
        self.make_room(size)?;
        let input = match key {
            Some(key) => StepInput::CheckedTx {
                context: &self.context,
                tx: &tx,
                key,
            },
            None => StepInput::Tx {
                context: &self.context,
                tx: &tx,
            },
        };
        let receipt =
            apply_step(&mut self.state, self.rollup, input).map_err(|_| SubmitError::Refused)?;
        self.confirm(receipt, BlockTx::Signed(tx), size, hash)
    }

    /// Refuses a transaction already confirmed.
    fn check_new(&self, hash: &Hash) -> Result<(), SubmitError> {
        match self.receipts.get(hash) {
            Some(r) => Err(SubmitError::Duplicate(r.block)),
            None => Ok(()),
        }
    }

    /// Turns an executed transaction's receipt into its soft confirmation
    /// and adds it to the open block, or refuses it if it failed.
    fn confirm(
        &mut self,
        receipt: terrace_l2::StepReceipt,
        tx: BlockTx,
        size: usize,
        hash: Hash,
    ) -> Result<SoftReceipt, SubmitError> {
        if let Some(failure) = receipt.failure {
            return Err(SubmitError::WouldFail(failure));
        }
        let soft = SoftReceipt {
            block: self.next_block,
            index: self.open.len() as u32,
            fee: receipt.fee,
            withdrawal: receipt.withdrawal,
        };
        self.open.push(tx);
        self.open_bytes += size;
        self.receipts.insert(hash, soft);
        Ok(soft)
    }

    fn seal_open(&mut self, timestamp_ms: Option<u64>) {
        let aggregates = self
            .open_signatures
            .chunks(AGGREGATE_CHUNK)
            .filter_map(|c| BlsSignature::aggregate(c).ok())
            .collect();
        self.open_signatures.clear();
        self.sealed.push_back(L2Block {
            timestamp_ms: timestamp_ms.unwrap_or_default(),
            context: self.context,
            inbox_until: self.open_inbox_until,
            txs: std::mem::take(&mut self.open),
            aggregates,
        });
        self.open_bytes = 0;
        self.open_inbox_from = self.open_inbox_until;
        self.next_block += 1;
        if let Some(next) = self.next_context.take() {
            self.context = next;
        }
    }

    /// Seals the open block if it has anything; returns whether it did.
    pub fn seal(&mut self, timestamp_ms: u64) -> bool {
        if self.open.is_empty() && self.open_inbox_until == self.open_inbox_from {
            return false;
        }
        self.seal_open(Some(timestamp_ms));
        true
    }

    /// The next batch: as many sealed blocks from the front as compress
    /// into `bytes_max`, with its compressed data. `None` when nothing is
    /// sealed.
    pub fn next_batch(&self, bytes_max: usize) -> Option<(Batch, Vec<u8>)> {
        let mut take = self.sealed.len().min(BATCH_BLOCKS_MAX);
        while take > 0 {
            let batch = Batch {
                blocks: self.sealed.iter().take(take).cloned().collect(),
            };
            let data = batch.compress();
            if data.len() <= bytes_max {
                return Some((batch, data));
            }
            take /= 2;
        }
        None
    }

    /// A batch landed on L1: if it carries the front of the sealed blocks,
    /// they are no longer pending. Returns false when it carries something
    /// else (the caller then rebases).
    pub fn landed(&mut self, batch: &DerivedBatch) -> bool {
        let n = batch.blocks.len();
        if self.sealed.len() < n || !self.sealed.iter().zip(&batch.blocks).all(|(a, b)| a == b) {
            return false;
        }
        self.sealed.drain(..n);
        self.base_accounts = batch.accounts_after();
        true
    }

    /// Batches became final: the signatures of their aggregated
    /// transactions are no longer needed (until then a revert may make the
    /// sequencer re-aggregate them).
    pub fn finalized(&mut self, batches: &[DerivedBatch]) {
        for tx in batches
            .iter()
            .flat_map(|b| &b.blocks)
            .flat_map(L2Block::aggregated)
        {
            self.signatures.remove(&tx.aggregated_hash());
        }
    }

    /// Accounts that may send aggregated transactions now: those that
    /// existed before the oldest pending block.
    pub fn base_accounts(&self) -> u64 {
        self.base_accounts
    }

    /// Batches were reverted on L1: their blocks are pending again (their
    /// data is valid; only the roots posted with them were not). Returns
    /// false when a reverted batch had a bad aggregate: its blocks are not
    /// valid data, and the caller rebases instead.
    pub fn reverted(&mut self, batches: &[DerivedBatch]) -> bool {
        for b in batches.iter().rev() {
            for block in b.blocks.iter().rev() {
                self.sealed.push_front(block.clone());
            }
        }
        if let Some(first) = batches.first() {
            self.base_accounts = first.pre.commitment().account_count;
        }
        batches.iter().all(|b| b.aggregate_fault.is_none())
    }

    /// Starts again from the derived chain (someone else's batch stands
    /// where ours should): replays the pending transactions that still
    /// succeed, in order, into a new open block. Returns how many were
    /// dropped.
    pub fn rebase(&mut self, derivation: &Derivation) -> usize {
        let pending: Vec<BlockTx> = self
            .sealed
            .drain(..)
            .flat_map(|b| b.txs)
            .chain(std::mem::take(&mut self.open))
            .collect();
        self.open_signatures.clear();
        for tx in &pending {
            self.receipts.remove(&tx.hash());
        }
        let signatures = std::mem::take(&mut self.signatures);
        self.state = derivation.state().clone();
        let cursor = self.state.commitment().inbox_cursor;
        self.open_inbox_until = cursor;
        self.open_inbox_from = cursor;
        self.open_bytes = 0;
        self.next_block = derivation.posted_blocks();
        self.base_accounts = self.state.commitment().account_count;
        self.take_inbox(derivation.inbox(), derivation.inbox().len() as u64);
        let mut dropped = 0;
        for tx in pending {
            let replayed = match tx {
                BlockTx::Signed(tx) => self.submit(tx).is_ok(),
                BlockTx::Aggregated(tx) => {
                    signatures
                        .get(&tx.aggregated_hash())
                        .is_some_and(|&signature| {
                            self.submit_aggregated(AggregatedL2Transaction { tx, signature })
                                .is_ok()
                        })
                }
            };
            if !replayed {
                dropped += 1;
            }
        }
        dropped
    }
}
