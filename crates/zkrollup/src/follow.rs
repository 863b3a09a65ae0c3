//! The full node: a zk-rollup's state rebuilt from finalized L1 blocks
//! alone — the inbox from deposits and forced exits, each proven batch
//! replayed from its posted data — with what users need from it: every
//! withdrawal with its claim, and any account's exit proof for exodus.
//!
//! A validium's batches carry only their data commitment: the follower
//! replays one once its data was [supplied](Follower::supply_data) (from
//! the committee, the operator or a user's copy) and matches the
//! commitment; until then it stops before the block, changing nothing.
//!
//! L1 verified each batch's proof over its data and inbox before
//! accepting it, so a replay that does not reach the posted root is a bug
//! here (or a broken proof system): the follower stops rather than guess.

use crate::l1::{L1Block, ZkTx};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};
use terrace_l1::modules::validity::{
    BatchData, Felt, UNIT, ZkBatchSubmission, ZkClaim, ZkExit, ZkOp, ZkRollup,
};
use terrace_primitives::Address;
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, SecretKey},
    fr_from_le, fr_to_le,
    groth16::{Proof, VerifyingKey},
    ops::{self as zkops, InboxEntry, PubOp, Statement, code},
    state::State,
};

/// Why the follower stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowError {
    /// Blocks must come in height order, each once.
    #[error("expected L1 block {expected}, got {got}")]
    OutOfOrder {
        /// The next height.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// A validium batch landed whose data nobody supplied yet (or whose
    /// supplied data did not match its commitment, and was dropped).
    #[error(
        "batch {index}: its data is not available (commitment {})",
        hex(commitment)
    )]
    Unavailable {
        /// The batch.
        index: u64,
        /// The commitment its data must match.
        commitment: Felt,
    },
    /// An accepted batch does not replay to its posted root.
    #[error("batch {index}: {reason}")]
    Replay {
        /// The batch.
        index: u64,
        /// What went wrong.
        reason: String,
    },
}

/// An inbox entry as the follower keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queued {
    /// The entry the proofs consume.
    pub entry: InboxEntry,
    /// Who sent it on L1.
    pub sender: Address,
    /// L1 height it landed at.
    pub height: u64,
}

/// A withdrawal in a proven batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// Batch.
    pub batch: u64,
    /// Slot in the batch (with the batch, the nullifier).
    pub slot: u32,
    /// L1 recipient.
    pub to: Address,
    /// Amount in L2 units.
    pub amount: u64,
    /// Whether it was claimed on L1.
    pub claimed: bool,
}

/// A proven batch as replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenBatch {
    /// Index.
    pub index: u64,
    /// Slots of its proof.
    pub slots: u32,
    /// Operations posted (padding excluded).
    pub ops: usize,
    /// Bytes of its public data.
    pub data_bytes: usize,
    /// Of them, bytes carried on L1 (all for a zk-rollup, none for a
    /// validium).
    pub posted_bytes: usize,
    /// The account root after it.
    pub root: Fr,
    /// L1 height it was proven at.
    pub height: u64,
    /// Inbox position after it.
    pub inbox_end: u64,
    /// What its proof proves (the public inputs).
    pub statement: Statement,
    /// The proof L1 verified (and this follower verified again).
    pub proof: Proof,
    /// Its withdrawals-tree leaves, by slot.
    leaves: Vec<Fr>,
}

/// A zk-rollup rebuilt from L1.
#[derive(Debug, Clone)]
pub struct Follower {
    rollup: u64,
    next_height: u64,
    state: State,
    inbox: Vec<Queued>,
    /// The inbox chain after each entry.
    chains: Vec<Fr>,
    consumed: u64,
    verifiers: Vec<(u32, VerifyingKey)>,
    batches: Vec<ProvenBatch>,
    withdrawals: Vec<Withdrawal>,
    claimed: BTreeSet<(u64, u32)>,
    exited: BTreeSet<u32>,
    refunded: BTreeSet<u64>,
    frozen_at: Option<u64>,
    /// Positions in `withdrawals` by batch.
    by_batch: BTreeMap<u64, std::ops::Range<usize>>,
    /// Data supplied for validium batches not replayed yet, by index.
    supplied: BTreeMap<u64, Bytes>,
}

fn felt(bytes: &Felt) -> Option<Fr> {
    fr_from_le(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Follower {
    /// A follower of the rollup `rollup` whose L1 record is `record`,
    /// following from L1 height `from_height` (its creation or earlier).
    pub fn new(rollup: u64, record: &ZkRollup, from_height: u64) -> Self {
        let domain = fr_from_le(&record.domain).unwrap_or_default();
        Self {
            rollup,
            next_height: from_height,
            state: State::new(record.config.depth, domain),
            inbox: Vec::new(),
            chains: Vec::new(),
            verifiers: record
                .config
                .verifiers
                .iter()
                .filter_map(|v| Some((v.slots, VerifyingKey::from_bytes(&v.key).ok()?)))
                .collect(),
            consumed: 0,
            batches: Vec::new(),
            withdrawals: Vec::new(),
            claimed: BTreeSet::new(),
            exited: BTreeSet::new(),
            refunded: BTreeSet::new(),
            frozen_at: None,
            by_batch: BTreeMap::new(),
            supplied: BTreeMap::new(),
        }
    }

    /// Supplies the data of validium batch `index` (checked against its
    /// commitment when the batch is replayed). Data of batches replayed
    /// already is ignored.
    pub fn supply_data(&mut self, index: u64, data: Bytes) {
        if index >= self.batch_count() {
            self.supplied.insert(index, data);
        }
    }

    /// Whether data for batch `index` is waiting to be replayed.
    pub fn has_data(&self, index: u64) -> bool {
        self.supplied.contains_key(&index)
    }

    /// The public data of batch `b`: posted, or supplied and matching its
    /// attested commitment (else dropped, so it can be supplied again).
    fn data_of(&mut self, b: &ZkBatchSubmission) -> Result<Bytes, FollowError> {
        let commitment = match &b.data {
            BatchData::Posted(data) => return Ok(data.clone()),
            BatchData::Attested { commitment, .. } => *commitment,
        };
        let unavailable = FollowError::Unavailable {
            index: b.index,
            commitment,
        };
        let data = self.supplied.get(&b.index).ok_or(unavailable.clone())?;
        let matches =
            PubOp::decode_all(data, b.slots as usize, self.state.depth()).is_ok_and(|ops| {
                fr_to_le(&zkops::data_commitment(&ops, b.slots as usize)) == commitment
            });
        if !matches {
            self.supplied.remove(&b.index);
            return Err(unavailable);
        }
        Ok(data.clone())
    }

    /// The rollup's id.
    pub fn rollup(&self) -> u64 {
        self.rollup
    }

    /// The next L1 height to apply.
    pub fn next_height(&self) -> u64 {
        self.next_height
    }

    /// The state after the last proven batch.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Every inbox entry so far, in order.
    pub fn inbox(&self) -> &[Queued] {
        &self.inbox
    }

    /// Inbox entries consumed by proven batches.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The inbox chain after `position` entries (`None` past the end).
    pub fn inbox_chain(&self, position: u64) -> Option<Fr> {
        match position.checked_sub(1) {
            None => Some(Fr::from(0u64)),
            Some(p) => self.chains.get(usize::try_from(p).ok()?).copied(),
        }
    }

    fn push_inbox(&mut self, q: Queued) {
        let before = self.chains.last().copied().unwrap_or_default();
        self.chains.push(q.entry.chain(before));
        self.inbox.push(q);
    }

    /// Proven batches, in order.
    pub fn batches(&self) -> &[ProvenBatch] {
        &self.batches
    }

    /// The number of proven batches.
    pub fn batch_count(&self) -> u64 {
        self.batches.len() as u64
    }

    /// The height it was frozen at, if it was.
    pub fn frozen_at(&self) -> Option<u64> {
        self.frozen_at
    }

    /// Every withdrawal of proven batches, in order.
    pub fn withdrawals(&self) -> &[Withdrawal] {
        &self.withdrawals
    }

    /// Whether `account` has exited in exodus.
    pub fn exited(&self, account: u32) -> bool {
        self.exited.contains(&account)
    }

    /// Whether the deposit at inbox `position` was refunded.
    pub fn refunded(&self, position: u64) -> bool {
        self.refunded.contains(&position)
    }

    /// Applies the next finalized L1 block.
    pub fn apply_block(&mut self, block: &L1Block) -> Result<(), FollowError> {
        if block.height != self.next_height {
            return Err(FollowError::OutOfOrder {
                expected: self.next_height,
                got: block.height,
            });
        }
        let txs: Vec<ZkTx> = ZkTx::of_block(block)
            .filter(|tx| tx.rollup == self.rollup && tx.failure.is_none())
            .collect();
        // Every batch's data first, so a missing one changes nothing.
        for tx in &txs {
            if let ZkOp::SubmitBatch(b) = &tx.op {
                self.data_of(b)?;
            }
        }
        for tx in &txs {
            self.apply_op(tx, block.height)?;
        }
        self.next_height += 1;
        Ok(())
    }

    fn apply_op(&mut self, tx: &ZkTx, height: u64) -> Result<(), FollowError> {
        match &tx.op {
            // L1 accepted these, so the key unpacks and the amount is in
            // whole units that fit 64 bits; anything else is skipped.
            ZkOp::Deposit { key, amount } => {
                if let (Ok(key), Ok(units)) =
                    (PublicKey::unpack(key), u64::try_from(amount.0 / UNIT))
                {
                    self.push_inbox(Queued {
                        entry: InboxEntry::Deposit { key, amount: units },
                        sender: tx.sender,
                        height,
                    });
                }
            }
            ZkOp::ForcedExit {
                account, key, to, ..
            } => {
                if let Ok(key) = PublicKey::unpack(key) {
                    self.push_inbox(Queued {
                        entry: InboxEntry::ForcedExit {
                            account: *account,
                            key,
                            to: to.0,
                        },
                        sender: tx.sender,
                        height,
                    });
                }
            }
            ZkOp::SubmitBatch(b) => {
                let index = self.batch_count();
                let fail = |reason: String| FollowError::Replay { index, reason };
                if b.index != index {
                    return Err(fail(format!("posted as batch {}", b.index)));
                }
                let data = self.data_of(b)?;
                let ops = PubOp::decode_all(&data, b.slots as usize, self.state.depth())
                    .map_err(|e| fail(e.to_string()))?;
                let from = usize::try_from(self.consumed).unwrap_or(usize::MAX);
                let to = usize::try_from(b.inbox_end).unwrap_or(usize::MAX);
                let entries: Vec<InboxEntry> = self
                    .inbox
                    .get(from..to)
                    .ok_or_else(|| fail("consumes inbox entries not seen".into()))?
                    .iter()
                    .map(|q| q.entry)
                    .collect();
                let mut next = self.state.clone();
                next.replay(&ops, &entries)
                    .map_err(|e| fail(e.to_string()))?;
                let root = felt(&b.new_root).ok_or_else(|| fail("non-canonical root".into()))?;
                if next.root() != root {
                    return Err(fail("replay does not reach the posted root".into()));
                }
                let mut leaves = vec![Fr::from(0u64); b.slots as usize];
                let mut withdrawals = Vec::new();
                for (slot, op) in ops.iter().enumerate() {
                    let (to, amount) = match op {
                        PubOp::Withdraw { to, amount, .. } => (*to, *amount),
                        PubOp::ForcedExit { amount, .. } => {
                            let Some(InboxEntry::ForcedExit { to, .. }) =
                                entries.get(inbox_rank(&ops, slot)).copied()
                            else {
                                return Err(fail("forced exit without its inbox entry".into()));
                            };
                            (to, *amount)
                        }
                        _ => continue,
                    };
                    leaves[slot] = zkops::withdrawal_leaf(zkops::address_to_fr(&to), amount);
                    withdrawals.push(Withdrawal {
                        batch: index,
                        slot: slot as u32,
                        to: Address(to),
                        amount,
                        claimed: false,
                    });
                }
                if Some(zkops::withdrawals_root(&leaves)) != felt(&b.withdrawals_root) {
                    return Err(fail("withdrawals do not reach the posted root".into()));
                }
                // The proof, checked here too: a full node need not trust
                // the L1 node it reads from.
                let statement = Statement {
                    domain: self.state.domain(),
                    old_root: self.state.root(),
                    new_root: root,
                    data: zkops::data_commitment(&ops, b.slots as usize),
                    inbox_from: self.inbox_chain(self.consumed).unwrap_or_default(),
                    inbox_to: self.inbox_chain(b.inbox_end).unwrap_or_default(),
                    withdrawals: zkops::withdrawals_root(&leaves),
                };
                let proof = Proof::from_bytes(&b.proof).map_err(|e| fail(e.to_string()))?;
                let vk = self
                    .verifiers
                    .iter()
                    .find(|(slots, _)| *slots == b.slots)
                    .map(|(_, vk)| vk)
                    .ok_or_else(|| fail(format!("no key for {} slots", b.slots)))?;
                vk.verify(&proof, &statement.inputs())
                    .map_err(|e| fail(format!("proof: {e}")))?;
                let first = self.withdrawals.len();
                self.withdrawals.extend(withdrawals);
                self.by_batch.insert(index, first..self.withdrawals.len());
                self.state = next;
                self.consumed = b.inbox_end;
                self.supplied.remove(&index);
                self.batches.push(ProvenBatch {
                    index,
                    slots: b.slots,
                    ops: ops.len(),
                    data_bytes: data.len(),
                    posted_bytes: b.data.posted_len(),
                    root,
                    height,
                    inbox_end: b.inbox_end,
                    statement,
                    proof,
                    leaves,
                });
            }
            ZkOp::Claim(c) => {
                self.claimed.insert((c.batch, c.slot));
                if let Some(w) = self.withdrawal_mut(c.batch, c.slot) {
                    w.claimed = true;
                }
            }
            ZkOp::Freeze => self.frozen_at = Some(height),
            ZkOp::Exit(e) => {
                self.exited.insert(e.account);
            }
            ZkOp::Refund { position } => {
                self.refunded.insert(*position);
            }
        }
        Ok(())
    }

    fn withdrawal_mut(&mut self, batch: u64, slot: u32) -> Option<&mut Withdrawal> {
        let range = self.by_batch.get(&batch)?.clone();
        self.withdrawals
            .get_mut(range)?
            .iter_mut()
            .find(|w| w.slot == slot)
    }

    /// A withdrawal of a proven batch.
    pub fn withdrawal(&self, batch: u64, slot: u32) -> Option<Withdrawal> {
        let range = self.by_batch.get(&batch)?.clone();
        self.withdrawals
            .get(range)?
            .iter()
            .find(|w| w.slot == slot)
            .copied()
    }

    /// The L1 claim of a withdrawal (its path into the batch's
    /// withdrawals root), whether or not it was claimed.
    pub fn claim(&self, batch: u64, slot: u32) -> Option<ZkClaim> {
        let w = self.withdrawal(batch, slot)?;
        let b = self.batches.get(usize::try_from(batch).ok()?)?;
        let path = zkops::withdrawals_path(&b.leaves, slot as usize);
        Some(ZkClaim {
            batch,
            slot,
            to: w.to,
            amount: w.amount,
            path: path.iter().map(fr_to_le).collect(),
        })
    }

    /// The exodus exit of `account` paying `to`, signed with its key
    /// `secret`: its leaf in the last proven root. `None` when the account
    /// is not there or `secret` does not own it.
    pub fn exit(&self, account: u32, secret: &SecretKey, to: Address) -> Option<ZkExit> {
        let (acc, path) = self.state.exit_proof(account)?;
        if acc.key != secret.public() {
            return None;
        }
        let message = zkops::exit_message(self.state.domain(), code::EXODUS, account, 0, &to.0);
        Some(ZkExit {
            account,
            key: acc.key.pack(),
            balance: acc.balance,
            nonce: acc.nonce,
            path: path.iter().map(fr_to_le).collect(),
            to,
            signature: secret.sign(message).pack(),
        })
    }
}

/// How many inbox-consuming operations come before `slot` in `ops`: the
/// rank of its inbox entry among those the batch consumed.
fn inbox_rank(ops: &[PubOp], slot: usize) -> usize {
    ops.iter().take(slot).filter(|o| o.consumes_inbox()).count()
}
