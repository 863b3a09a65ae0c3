//! The operator's sequencing, pure: signed operations are checked and
//! applied to a soft state at once (the soft confirmation), queued with
//! the L1 inbox's entries in arrival order, cut into batches — the smallest
//! size with a key that holds the queue, so a quiet rollup proves small
//! batches quickly and a busy one fills its largest — and tracked until
//! their batch lands on L1.
//!
//! Three states move forward together: `built` (after the last batch cut,
//! what the next batch starts from), `soft` (`built` plus the queue: what
//! users see), and the follower's proven state (after the last batch on
//! L1). A batch that fails on L1 puts its operations back in front of the
//! queue ([`Operator::rebase`]).

use crate::follow::{Follower, Queued};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use terrace_l1::modules::validity::{BatchData, Felt, MemberSignature, ZkBatchSubmission};
use terrace_primitives::{Hash, hash_tagged};
use terrace_zk::{
    Fr, fr_to_le,
    groth16::Proof,
    ops::{Statement, Transfer, Withdraw},
    state::{Batch, BatchBuilder, Op, State, StfError},
};

/// A signed L2 operation a user sends the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L2Op {
    /// A transfer.
    Transfer(Transfer),
    /// A withdrawal to L1.
    Withdraw(Withdraw),
}

impl L2Op {
    /// Its id: the hash of its kind, sender, nonce and signature.
    pub fn id(&self) -> Hash {
        let (kind, from, nonce, sig) = match self {
            L2Op::Transfer(t) => (1u8, t.from, t.nonce, t.signature.pack()),
            L2Op::Withdraw(w) => (2u8, w.from, w.nonce, w.signature.pack()),
        };
        hash_tagged(
            b"terrace/zk/op",
            &[&[kind], &from.to_le_bytes(), &nonce.to_le_bytes(), &sig],
        )
    }

    /// The sending account.
    pub fn from(&self) -> u32 {
        match self {
            L2Op::Transfer(t) => t.from,
            L2Op::Withdraw(w) => w.from,
        }
    }

    fn op(&self) -> Op {
        match self {
            L2Op::Transfer(t) => Op::Transfer(t.clone()),
            L2Op::Withdraw(w) => Op::Withdraw(w.clone()),
        }
    }
}

/// Why the operator refused an operation (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The state-transition function refused it.
    #[error(transparent)]
    Invalid(#[from] StfError),
    /// The queue is full; try again after the next batch.
    #[error("the operator's queue is full ({0} operations)")]
    Busy(usize),
    /// This node does not sequence, or refuses this sender.
    #[error("this node does not take operations from this account")]
    Refused,
    /// The operator is still following L1 to the tip.
    #[error("the operator is catching up with L1; try again shortly")]
    Syncing,
}

/// A soft confirmation: the operation was applied to the soft state and
/// queued for the next batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoftReceipt {
    /// The operation's id.
    pub id: Hash,
    /// The sending account.
    pub account: u32,
    /// Its nonce.
    pub nonce: u64,
}

/// Where an operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "stage", content = "batch")]
pub enum Stage {
    /// Soft-confirmed, waiting for a batch.
    Queued,
    /// In batch `n`, being proven or posted.
    Batched(u64),
    /// In batch `n`, proven on L1: final.
    Final(u64),
    /// Dropped by a rebase (its batch failed and it no longer applies).
    Dropped,
}

#[derive(Debug, Clone)]
struct Entry {
    op: Op,
    id: Option<Hash>,
    at_ms: u64,
}

/// A batch cut and not yet on L1.
#[derive(Debug, Clone)]
struct Pending {
    index: u64,
    batch: Batch,
    inbox_end: u64,
    entries: Vec<Entry>,
    proof: Option<Proof>,
    /// Committee members' signatures over its data (a validium).
    signatures: Vec<MemberSignature>,
}

/// A batch whose data the committee has not vouched for enough yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unattested {
    /// Its index.
    pub index: u64,
    /// Its slots.
    pub slots: u32,
    /// Its public data.
    pub data: Bytes,
    /// Its data commitment.
    pub commitment: Felt,
    /// Members who signed already.
    pub signed: Vec<u8>,
}

/// Receipts kept for operations of landed batches (oldest forgotten).
const RECEIPTS_MAX: usize = 1 << 20;

/// The operator's sequencing state.
#[derive(Debug, Clone)]
pub struct Operator {
    /// Batch sizes with a key, ascending; never empty.
    sizes: Vec<usize>,
    queue_max: usize,
    built: State,
    built_inbox: u64,
    built_chain: Fr,
    soft: State,
    queue: VecDeque<Entry>,
    inbox_taken: u64,
    pending: VecDeque<Pending>,
    next_index: u64,
    stages: HashMap<Hash, Stage>,
    order: VecDeque<Hash>,
    /// Signatures a batch needs before it is posted (a validium), or
    /// `None` to post the data itself.
    threshold: Option<u8>,
}

impl Operator {
    /// An operator continuing from what `follower` has proven, cutting
    /// batches of the sizes in `sizes` (at least one slot: an empty list
    /// means batches of one) and queueing at most `queue_max` operations.
    pub fn new(follower: &Follower, sizes: &[usize], queue_max: usize) -> Self {
        let consumed = follower.consumed();
        let mut sizes: Vec<usize> = sizes.iter().copied().filter(|s| *s > 0).collect();
        sizes.sort_unstable();
        sizes.dedup();
        if sizes.is_empty() {
            sizes.push(1);
        }
        Self {
            sizes,
            queue_max,
            built: follower.state().clone(),
            built_inbox: consumed,
            built_chain: follower.inbox_chain(consumed).unwrap_or_default(),
            soft: follower.state().clone(),
            queue: VecDeque::new(),
            inbox_taken: consumed,
            pending: VecDeque::new(),
            next_index: follower.batch_count(),
            stages: HashMap::new(),
            order: VecDeque::new(),
            threshold: None,
        }
    }

    /// The operator of a validium: it posts a batch once `threshold`
    /// committee members have signed for its data, instead of the data.
    pub fn with_committee(mut self, threshold: u8) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// The soft state: proven batches, batches in flight and the queue.
    pub fn soft(&self) -> &State {
        &self.soft
    }

    /// The batch sizes it cuts, ascending.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// The largest batch size.
    pub fn slots(&self) -> usize {
        self.sizes.last().copied().unwrap_or(1)
    }

    /// The size of a batch cut from `queued` operations: the smallest that
    /// holds them all, else the largest.
    pub fn size_for(&self, queued: usize) -> usize {
        self.sizes
            .iter()
            .copied()
            .find(|s| *s >= queued)
            .unwrap_or_else(|| self.slots())
    }

    /// Operations waiting for a batch.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Batches cut and not yet on L1.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Checks `op` against the soft state, applies and queues it.
    pub fn submit(&mut self, op: &L2Op, now_ms: u64) -> Result<SoftReceipt, SubmitError> {
        if self.queue.len() >= self.queue_max {
            return Err(SubmitError::Busy(self.queue_max));
        }
        let id = op.id();
        let inner = op.op();
        let (_, _) = self.soft.apply(&inner)?;
        self.queue.push_back(Entry {
            op: inner,
            id: Some(id),
            at_ms: now_ms,
        });
        self.record(id, Stage::Queued);
        let nonce = match op {
            L2Op::Transfer(t) => t.nonce,
            L2Op::Withdraw(w) => w.nonce,
        };
        Ok(SoftReceipt {
            id,
            account: op.from(),
            nonce,
        })
    }

    fn record(&mut self, id: Hash, stage: Stage) {
        if self.stages.insert(id, stage).is_none() {
            self.order.push_back(id);
            if self.order.len() > RECEIPTS_MAX
                && let Some(old) = self.order.pop_front()
            {
                self.stages.remove(&old);
            }
        }
    }

    /// Queues the inbox entries not yet taken, up to position `until`, in
    /// order; stops at one the state cannot take (a full tree) and says so.
    pub fn take_inbox(
        &mut self,
        inbox: &[Queued],
        until: u64,
        now_ms: u64,
    ) -> Result<(), StfError> {
        while self.inbox_taken < until {
            let Some(q) = usize::try_from(self.inbox_taken)
                .ok()
                .and_then(|i| inbox.get(i))
            else {
                return Ok(());
            };
            let op = Op::Inbox(q.entry);
            self.soft.apply(&op)?;
            self.queue.push_back(Entry {
                op,
                id: None,
                at_ms: now_ms,
            });
            self.inbox_taken += 1;
        }
        Ok(())
    }

    /// Whether a batch is due: a full one of the largest size is queued,
    /// or the oldest queued operation has waited `interval_ms`.
    pub fn due(&self, now_ms: u64, interval_ms: u64) -> bool {
        self.queue.len() >= self.slots()
            || self
                .queue
                .front()
                .is_some_and(|e| now_ms.saturating_sub(e.at_ms) >= interval_ms)
    }

    /// Cuts the next batch from the queue (padded to the size
    /// [`Operator::size_for`] picks); returns its index, `None` with an
    /// empty queue.
    pub fn cut(&mut self) -> Option<u64> {
        if self.queue.is_empty() {
            return None;
        }
        let slots = self.size_for(self.queue.len());
        let mut builder = BatchBuilder::new(&self.built, slots, self.built_chain);
        let mut entries = Vec::new();
        let mut dropped = false;
        while builder.room() > 0 {
            let Some(entry) = self.queue.pop_front() else {
                break;
            };
            match builder.push(&mut self.built, &entry.op) {
                Ok(()) => entries.push(entry),
                // The soft state took it in this order, so this does not
                // happen; if it does, drop it and rebuild the soft state.
                Err(_) => {
                    if let Some(id) = entry.id {
                        self.stages.insert(id, Stage::Dropped);
                    }
                    dropped = true;
                }
            }
        }
        let batch = match builder.finish(&self.built) {
            Ok(b) => b,
            Err(_) => return None,
        };
        let index = self.next_index;
        self.next_index += 1;
        self.built_chain = batch.statement.inbox_to;
        self.built_inbox += batch.consumed;
        for e in &entries {
            if let Some(id) = e.id {
                self.stages.insert(id, Stage::Batched(index));
            }
        }
        self.pending.push_back(Pending {
            index,
            batch,
            inbox_end: self.built_inbox,
            entries,
            proof: None,
            signatures: Vec::new(),
        });
        if dropped {
            self.resoften();
        }
        Some(index)
    }

    /// The first batch cut and not yet proven.
    pub fn unproven(&self) -> Option<(u64, Batch)> {
        self.pending
            .iter()
            .find(|p| p.proof.is_none())
            .map(|p| (p.index, p.batch.clone()))
    }

    /// Records batch `index`'s proof of `statement`; refused (`false`)
    /// when a rebase has since cut another batch under that index.
    pub fn set_proof(&mut self, index: u64, statement: &Statement, proof: Proof) -> bool {
        match self
            .pending
            .iter_mut()
            .find(|p| p.index == index && p.batch.statement == *statement)
        {
            Some(p) => {
                p.proof = Some(proof);
                true
            }
            None => false,
        }
    }

    /// Batches cut whose data fewer members than the threshold signed for
    /// (none for a zk-rollup), in order.
    pub fn unattested(&self) -> Vec<Unattested> {
        let Some(threshold) = self.threshold else {
            return Vec::new();
        };
        self.pending
            .iter()
            .filter(|p| p.signatures.len() < usize::from(threshold))
            .map(|p| Unattested {
                index: p.index,
                slots: p.batch.witnesses.len() as u32,
                data: Bytes::from(p.batch.data.clone()),
                commitment: fr_to_le(&p.batch.statement.data),
                signed: p.signatures.iter().map(|s| s.member).collect(),
            })
            .collect()
    }

    /// Records a member's signature for batch `index` with `commitment`;
    /// `false` when that batch is gone (landed or cut again) or the member
    /// signed it already. The signature itself is L1's to check.
    pub fn attest(&mut self, index: u64, commitment: &Felt, signature: MemberSignature) -> bool {
        let Some(p) = self
            .pending
            .iter_mut()
            .find(|p| p.index == index && fr_to_le(&p.batch.statement.data) == *commitment)
        else {
            return false;
        };
        if p.signatures.iter().any(|s| s.member == signature.member) {
            return false;
        }
        p.signatures.push(signature);
        true
    }

    /// The data of batch `index` with `commitment`, while it is pending
    /// (for this node's own follower when the batch lands).
    pub fn batch_data(&self, index: u64, commitment: &Felt) -> Option<Bytes> {
        self.pending
            .iter()
            .find(|p| p.index == index && fr_to_le(&p.batch.statement.data) == *commitment)
            .map(|p| Bytes::from(p.batch.data.clone()))
    }

    /// The proven batches not yet on L1, in order, from `from` (the
    /// rollup's batch count on L1), up to the first not ready: unproven,
    /// or (a validium) short of the committee's threshold.
    pub fn submissions(&self, from: u64) -> Vec<ZkBatchSubmission> {
        self.pending
            .iter()
            .skip_while(|p| p.index < from)
            .map_while(|p| {
                let proof = p.proof.as_ref()?;
                let data = match self.threshold {
                    None => BatchData::Posted(p.batch.data.clone().into()),
                    // The threshold's worth: every further signature
                    // would cost L1 bytes and a check, and prove nothing more.
                    Some(t) if p.signatures.len() >= usize::from(t) => BatchData::Attested {
                        commitment: fr_to_le(&p.batch.statement.data),
                        signatures: p.signatures[..usize::from(t)].to_vec(),
                    },
                    Some(_) => return None,
                };
                Some(ZkBatchSubmission {
                    index: p.index,
                    slots: p.batch.witnesses.len() as u32,
                    new_root: fr_to_le(&p.batch.statement.new_root),
                    withdrawals_root: fr_to_le(&p.batch.statement.withdrawals),
                    inbox_end: p.inbox_end,
                    data,
                    proof: proof.to_bytes(),
                })
            })
            .collect()
    }

    /// Follows the batches that landed on L1: forgets them, or rebases
    /// when one landed with another root than the one cut. Returns the
    /// operations a rebase dropped.
    pub fn landed(&mut self, follower: &Follower) -> usize {
        while let Some(p) = self.pending.front() {
            let Some(b) = follower.batches().get(p.index as usize) else {
                break;
            };
            if b.root != p.batch.statement.new_root {
                return self.rebase(follower);
            }
            for e in &p.entries {
                if let Some(id) = e.id {
                    self.stages.insert(id, Stage::Final(p.index));
                }
            }
            self.pending.pop_front();
        }
        0
    }

    /// Starts again from what `follower` has proven: the operations of
    /// every batch not on L1 go back in front of the queue, and the soft
    /// state is rebuilt; returns how many no longer apply (dropped).
    pub fn rebase(&mut self, follower: &Follower) -> usize {
        let landed = follower.batch_count();
        let mut requeue: Vec<Entry> = Vec::new();
        for p in self.pending.drain(..) {
            if p.index >= landed {
                requeue.extend(p.entries);
            }
        }
        for e in requeue.into_iter().rev() {
            self.queue.push_front(e);
        }
        let consumed = follower.consumed();
        self.built = follower.state().clone();
        self.built_inbox = consumed;
        self.built_chain = follower.inbox_chain(consumed).unwrap_or_default();
        self.next_index = landed;
        // Inbox entries of batches that landed are not requeued; the rest
        // are, in order, up to what had been taken.
        self.resoften()
    }

    /// Rebuilds the soft state as `built` plus the queue, dropping what no
    /// longer applies; returns how many were dropped.
    fn resoften(&mut self) -> usize {
        let mut soft = self.built.clone();
        let mut kept = VecDeque::new();
        let mut dropped = 0;
        for e in self.queue.drain(..) {
            match soft.apply(&e.op) {
                Ok(_) => {
                    if let Some(id) = e.id {
                        self.stages.insert(id, Stage::Queued);
                    }
                    kept.push_back(e);
                }
                Err(_) => {
                    if let Some(id) = e.id {
                        self.stages.insert(id, Stage::Dropped);
                    }
                    dropped += 1;
                }
            }
        }
        self.queue = kept;
        self.soft = soft;
        dropped
    }

    /// Where operation `id` stands.
    pub fn stage(&self, id: &Hash) -> Option<Stage> {
        self.stages.get(id).copied()
    }

    /// Inbox entries taken into the queue (a position).
    pub fn inbox_taken(&self) -> u64 {
        self.inbox_taken
    }
}
