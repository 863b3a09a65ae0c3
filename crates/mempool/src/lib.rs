//! Terrace transaction pool: per-sender nonce queues, fee priority,
//! replacement, limits and block building.
//!
//! # Rules
//!
//! - A transaction enters only after the stateless checks (the caller hands
//!   in a [`CheckedTransaction`], signature verified) and cheap stateful
//!   ones: nonce not used, fee cap ≥ current base fee, balance ≥ gas limit ×
//!   fee cap + value.
//! - Each sender has a queue by nonce. Transactions from the sender's next
//!   nonce on without a gap are *ready*; those after a gap are *queued* until
//!   the gap fills, at most [`PoolConfig::max_nonce_gap`] ahead.
//! - Same sender and nonce replaces only with a bump of at least
//!   [`PoolConfig::replacement_bump_pct`] (10 %, as geth) on **both** the fee
//!   cap and the tip cap, so replacement cannot be used to spam the network
//!   for free.
//! - At most [`PoolConfig::max_per_sender`] per sender and
//!   [`PoolConfig::max_txs`] in all. When full, a newcomer that tips more
//!   than the cheapest pooled transaction evicts it (and that sender's later
//!   nonces, which could no longer be mined); otherwise it is refused.
//! - After each block, [`Mempool::on_block`] drops what was mined or became
//!   invalid (nonce used, balance no longer covers the queue) and re-prices
//!   everything under the new base fee.
//! - [`Mempool::build`] fills a block: the highest effective tip first across
//!   senders, nonce order within a sender, each transaction tried through
//!   the L1 executor so the block is valid by construction and stays under
//!   the gas and byte limits.

use std::{
    collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap},
    sync::Arc,
};
use terrace_l1::{
    BlockExecutor, ChainParams, Key, StateReader, TxError, execute::touched_keys,
    fee::effective_tip, modules::staking::EvidenceVerifier, tx::CheckedTransaction,
};
use terrace_primitives::{Address, Amount, Hash};

/// Pool limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most transactions in the pool.
    pub max_txs: usize,
    /// Most transactions per sender (ready and queued).
    pub max_per_sender: usize,
    /// How far past the sender's next nonce a transaction may be.
    pub max_nonce_gap: u64,
    /// Minimum fee bump, in percent, for a replacement.
    pub replacement_bump_pct: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_per_sender: 64,
            max_nonce_gap: 64,
            replacement_bump_pct: 10,
        }
    }
}

/// Why the pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The transaction cannot be included now (nonce used, fee cap below
    /// the base fee, balance too low, …).
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// Already in the pool.
    #[error("transaction {0} is already in the pool")]
    AlreadyKnown(Hash),
    /// A replacement must pay more.
    #[error(
        "replacement underpriced: needs max_fee_per_gas ≥ {min_fee_cap} and max_priority_fee_per_gas ≥ {min_tip}"
    )]
    ReplacementUnderpriced {
        /// Minimum fee cap.
        min_fee_cap: u64,
        /// Minimum tip cap.
        min_tip: u64,
    },
    /// The nonce is too far ahead of the sender's next.
    #[error("nonce {got} is more than {max_gap} past the sender's next nonce {next}")]
    NonceGapTooLarge {
        /// Sender's next nonce.
        next: u64,
        /// Given.
        got: u64,
        /// Allowed gap.
        max_gap: u64,
    },
    /// The sender has too many pooled transactions.
    #[error("sender already has {limit} pooled transactions")]
    SenderFull {
        /// Limit.
        limit: usize,
    },
    /// The pool is full of better-paying transactions.
    #[error("pool is full: tip more than {min_tip} per gas to enter")]
    PoolFull {
        /// The cheapest pooled transaction's effective tip.
        min_tip: u64,
    },
}

/// What [`Mempool::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Added as a new transaction.
    Added,
    /// Replaced the transaction with this hash.
    Replaced(Hash),
}

/// Price-index entry: cheapest first, later arrivals first among equals.
type PriceKey = (u64, u64, std::cmp::Reverse<u64>, Hash);

#[derive(Debug, Clone)]
struct Entry {
    tx: Arc<CheckedTransaction>,
    seq: u64,
}

/// The transaction pool.
#[derive(Debug)]
pub struct Mempool {
    config: PoolConfig,
    base_fee: u64,
    /// Per sender, by nonce. A BTreeMap so iteration order is deterministic.
    senders: BTreeMap<Address, BTreeMap<u64, Entry>>,
    by_hash: HashMap<Hash, (Address, u64)>,
    prices: BTreeSet<PriceKey>,
    next_seq: u64,
}

impl Mempool {
    /// An empty pool at `base_fee`.
    pub fn new(config: PoolConfig, base_fee: u64) -> Self {
        Self {
            config,
            base_fee,
            senders: BTreeMap::new(),
            by_hash: HashMap::new(),
            prices: BTreeSet::new(),
            next_seq: 0,
        }
    }

    /// Number of pooled transactions.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// True when `hash` is pooled.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// The pooled transaction with `hash`.
    pub fn get(&self, hash: &Hash) -> Option<Arc<CheckedTransaction>> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.senders.get(sender)?.get(nonce).map(|e| e.tx.clone())
    }

    /// The base fee the pool prices against.
    pub fn base_fee(&self) -> u64 {
        self.base_fee
    }

    /// Senders with pooled transactions, in address order: the accounts
    /// [`Mempool::on_block`] reads.
    pub fn senders(&self) -> Vec<Address> {
        self.senders.keys().copied().collect()
    }

    /// The nonce after `sender`'s highest pooled transaction, if it has any.
    pub fn next_nonce(&self, sender: &Address) -> Option<u64> {
        self.senders
            .get(sender)?
            .keys()
            .next_back()
            .map(|n| n.saturating_add(1))
    }

    /// The state keys every pooled transaction touches at `height`, with
    /// duplicates: what a proposer prefetches before [`Mempool::build`].
    pub fn touched_keys(
        &self,
        height: u64,
        params: &ChainParams,
        evidence: &impl EvidenceVerifier,
    ) -> Vec<Key> {
        self.senders
            .values()
            .flat_map(|queue| queue.values())
            .flat_map(|e| touched_keys(&e.tx, height, params, evidence))
            .collect()
    }

    fn price_key(&self, e: &Entry) -> PriceKey {
        let t = e.tx.tx();
        (
            effective_tip(t.max_fee_per_gas, t.max_priority_fee_per_gas, self.base_fee),
            t.max_fee_per_gas,
            std::cmp::Reverse(e.seq),
            e.tx.hash(),
        )
    }

    /// Admits a stateless-checked transaction against `state` (the latest block's).
    pub fn insert(
        &mut self,
        tx: CheckedTransaction,
        state: &impl StateReader,
    ) -> Result<Inserted, Rejection> {
        if self.by_hash.contains_key(&tx.hash()) {
            return Err(Rejection::AlreadyKnown(tx.hash()));
        }
        let body = tx.tx();
        let account = state.account(&tx.sender());
        if body.nonce < account.nonce {
            return Err(TxError::NonceTooLow {
                expected: account.nonce,
                got: body.nonce,
            }
            .into());
        }
        if body.nonce - account.nonce > self.config.max_nonce_gap {
            return Err(Rejection::NonceGapTooLarge {
                next: account.nonce,
                got: body.nonce,
                max_gap: self.config.max_nonce_gap,
            });
        }
        if body.max_fee_per_gas < self.base_fee {
            return Err(TxError::FeeCapBelowBaseFee {
                fee_cap: body.max_fee_per_gas,
                base_fee: self.base_fee,
            }
            .into());
        }
        let needed = max_cost(&tx).ok_or(TxError::Overflow)?;
        if account.balance < needed {
            return Err(TxError::InsufficientBalance {
                sender: tx.sender(),
                balance: account.balance,
                needed,
            }
            .into());
        }
        let seq = self.next_seq;
        let entry = Entry {
            tx: Arc::new(tx),
            seq,
        };
        let (sender, nonce) = (entry.tx.sender(), entry.tx.tx().nonce);

        // Replacement.
        if let Some(old) = self.senders.get(&sender).and_then(|q| q.get(&nonce)) {
            let (old_fee, old_tip) = (
                old.tx.tx().max_fee_per_gas,
                old.tx.tx().max_priority_fee_per_gas,
            );
            let bump = |v: u64| {
                v.saturating_add(
                    v.saturating_mul(self.config.replacement_bump_pct)
                        .div_ceil(100),
                )
            };
            let (min_fee_cap, min_tip) = (bump(old_fee), bump(old_tip));
            let new = entry.tx.tx();
            if new.max_fee_per_gas < min_fee_cap || new.max_priority_fee_per_gas < min_tip {
                return Err(Rejection::ReplacementUnderpriced {
                    min_fee_cap,
                    min_tip,
                });
            }
            let old_hash = old.tx.hash();
            self.remove(&old_hash);
            self.add(entry);
            self.next_seq += 1;
            return Ok(Inserted::Replaced(old_hash));
        }

        let sender_len = self.senders.get(&sender).map_or(0, BTreeMap::len);
        if sender_len >= self.config.max_per_sender {
            return Err(Rejection::SenderFull {
                limit: self.config.max_per_sender,
            });
        }
        if self.len() >= self.config.max_txs {
            let Some(&cheapest) = self.prices.first() else {
                return Err(Rejection::PoolFull { min_tip: 0 });
            };
            let new_key = self.price_key(&entry);
            if new_key.0 <= cheapest.0 {
                return Err(Rejection::PoolFull {
                    min_tip: cheapest.0,
                });
            }
            self.evict_with_successors(&cheapest.3);
        }
        self.add(entry);
        self.next_seq += 1;
        Ok(Inserted::Added)
    }

    fn add(&mut self, entry: Entry) {
        let key = self.price_key(&entry);
        let (sender, nonce, hash) = (entry.tx.sender(), entry.tx.tx().nonce, entry.tx.hash());
        self.prices.insert(key);
        self.by_hash.insert(hash, (sender, nonce));
        self.senders.entry(sender).or_default().insert(nonce, entry);
    }

    fn remove(&mut self, hash: &Hash) -> Option<Entry> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let queue = self.senders.get_mut(&sender)?;
        let entry = queue.remove(&nonce)?;
        if queue.is_empty() {
            self.senders.remove(&sender);
        }
        let key = self.price_key(&entry);
        self.prices.remove(&key);
        Some(entry)
    }

    /// Evicts `hash` and the same sender's later nonces.
    fn evict_with_successors(&mut self, hash: &Hash) {
        let Some(&(sender, nonce)) = self.by_hash.get(hash) else {
            return;
        };
        let doomed: Vec<Hash> = self
            .senders
            .get(&sender)
            .map(|q| q.range(nonce..).map(|(_, e)| e.tx.hash()).collect())
            .unwrap_or_default();
        for h in doomed {
            self.remove(&h);
        }
    }

    /// Re-validates after a block: drops mined transactions (nonce used) and
    /// those the sender can no longer pay for, and re-prices under the new
    /// base fee. Transactions whose fee cap is now below the base fee stay
    /// (the base fee may fall again) but are the first evicted.
    pub fn on_block(&mut self, state: &impl StateReader, base_fee: u64) {
        self.base_fee = base_fee;
        let mut doomed = Vec::new();
        for (sender, queue) in &self.senders {
            let account = state.account(sender);
            let mut spent = Amount::ZERO;
            let mut broken = false;
            for (nonce, e) in queue {
                if *nonce < account.nonce {
                    doomed.push(e.tx.hash());
                    continue;
                }
                // Cumulative: the whole queue must be payable in order.
                let affordable = max_cost(&e.tx)
                    .and_then(|c| spent.checked_add(c))
                    .filter(|total| *total <= account.balance);
                match affordable {
                    Some(total) if !broken => spent = total,
                    _ => {
                        broken = true;
                        doomed.push(e.tx.hash());
                    }
                }
            }
        }
        for h in doomed {
            self.remove(&h);
        }
        let entries: Vec<Entry> = self
            .senders
            .values()
            .flat_map(|q| q.values().cloned())
            .collect();
        self.prices = entries.iter().map(|e| self.price_key(e)).collect();
    }

    /// Fills a block through `executor` (highest effective tip first, nonce
    /// order per sender) and returns the included transactions in order.
    /// Transactions the executor refuses stay in the pool; a sender whose
    /// next transaction is refused is skipped for the rest of this block.
    pub fn build<S: StateReader + ?Sized, E: EvidenceVerifier>(
        &self,
        executor: &mut BlockExecutor<'_, S, E>,
    ) -> Vec<Arc<CheckedTransaction>> {
        #[derive(PartialEq, Eq, PartialOrd, Ord)]
        struct Candidate {
            tip: u64,
            earlier: std::cmp::Reverse<u64>,
            sender: Address,
            nonce: u64,
        }
        let base_fee = self.base_fee;
        let candidate = |e: &Entry| Candidate {
            tip: effective_tip(
                e.tx.tx().max_fee_per_gas,
                e.tx.tx().max_priority_fee_per_gas,
                base_fee,
            ),
            earlier: std::cmp::Reverse(e.seq),
            sender: e.tx.sender(),
            nonce: e.tx.tx().nonce,
        };
        let mut heap = BinaryHeap::new();
        for (sender, queue) in &self.senders {
            let next = executor.state().account(sender).nonce;
            if let Some(e) = queue.get(&next) {
                heap.push(candidate(e));
            }
        }
        let mut out = Vec::new();
        while let Some(c) = heap.pop() {
            let Some(queue) = self.senders.get(&c.sender) else {
                continue;
            };
            let Some(e) = queue.get(&c.nonce) else {
                continue;
            };
            if executor.apply(&e.tx).is_ok() {
                out.push(e.tx.clone());
                if let Some(next) = queue.get(&(c.nonce + 1)) {
                    heap.push(candidate(next));
                }
            }
        }
        out
    }
}

/// gas_limit × max_fee + value: what the sender must hold for the transaction.
fn max_cost(tx: &CheckedTransaction) -> Option<Amount> {
    let body = tx.tx();
    Amount::from(body.gas_limit)
        .checked_mul(body.max_fee_per_gas as u128)?
        .checked_add(body.payload.value())
}
