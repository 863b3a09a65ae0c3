//! The zk-rollup node: follows finalized L1 blocks and, as configured,
//! sequences (soft confirmations, batches), proves and posts, or freezes
//! a stalled rollup so its users can exit.
//!
//! One loop, generic over the commonware runtime's clock, decides from
//! L1's view each tick (as the optimistic rollup's node does); proving
//! runs in its own task ([`Prover`]) so a proof in the making never holds
//! up following L1 or answering users.

use crate::{
    dac::{AnyCommittee, Committee as _, StoreRequest},
    follow::{FollowError, Follower},
    l1::{L1, L1Error, ZkTx, address_of, op_name},
    operator::{L2Op, Operator, SoftReceipt, Stage, SubmitError},
};
use bytes::Bytes;
use commonware_runtime::Clock;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use terrace_l1::{
    Key, Payload, StateReader as _,
    modules::validity::{DataMode, Felt, ValidityKey, ValidityOp, ZkOp, ZkRecords as _, ZkRollup},
};
use terrace_node::{app::now_ms, client::Outbox};
use terrace_primitives::{Address, Hash, PrivateKey, hash_tagged};
use terrace_zk::{
    groth16::{Proof, VerifyingKey},
    ops::{InboxEntry, Statement},
    prover::{
        self, ProvingKey,
        rand::{SeedableRng as _, rngs::StdRng},
    },
};
use tracing::{debug, info, warn};

/// Misbehaviour of an operator, for tests and the lab's scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Honest.
    #[default]
    None,
    /// Refuses this account's operations, and stops taking inbox entries
    /// at its forced exit (the inbox is consumed in order, so everything
    /// behind it waits too, until the rollup can be frozen).
    Censor(u32),
    /// Posts batches whose proof is for another root.
    ForgeProof,
    /// Stops posting batches (the operator vanishes).
    Stop,
    /// A validium's operator that gives its batches' data to nobody: it
    /// asks members to sign the commitment alone (honest members refuse,
    /// colluding ones sign) and never serves the data.
    Withhold,
}

/// The operator's settings. It cuts batches of the sizes the rollup
/// registered keys for (the smallest that holds its queue).
#[derive(Debug, Clone, Copy)]
pub struct OperatorConfig {
    /// Longest an operation waits for its batch to be cut.
    pub batch_interval: Duration,
    /// Most operations queued for batches.
    pub queue_max: usize,
    /// Most batches cut ahead of L1 (being proven or posted).
    pub pipeline: usize,
}

/// A node's settings.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The rollup.
    pub rollup: u64,
    /// L1 height to start following from (its creation block or earlier).
    pub from_height: u64,
    /// The node's L1 key (the operator's, for an operator).
    pub key: PrivateKey,
    /// Sequence, and post what the prover proves.
    pub operator: Option<OperatorConfig>,
    /// Freeze the rollup when it stalls (no batch for its exodus delay,
    /// or an inbox entry past its deadline).
    pub freezer: bool,
    /// How often it looks at L1.
    pub poll: Duration,
    /// Misbehaviour, for tests.
    pub fault: Fault,
    /// The data-availability committee of a validium: the operator offers
    /// it each batch's data for signatures, and the follower fetches from
    /// it the data L1 does not carry.
    pub committee: Option<AnyCommittee>,
}

/// Something the node did or saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Cut a batch.
    Cut(u64),
    /// Proved a batch, in this many milliseconds of wall clock.
    Proven {
        /// Batch.
        index: u64,
        /// Wall-clock proving time.
        wall_ms: u64,
    },
    /// Sent an operation.
    Sent(String),
    /// L1 refused one of its transactions at the pool.
    Refused(String),
    /// One of its transactions failed on L1.
    Failed {
        /// The operation.
        op: String,
        /// L1's reason.
        failure: &'static str,
    },
    /// It started again from the proven state, dropping this many
    /// operations.
    Rebased(usize),
    /// Following or sequencing stopped.
    Stuck(String),
}

/// Heights and counts of the rollup, as the node sees them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Proven batches.
    pub batches: u64,
    /// Operations soft-confirmed and waiting for a batch.
    pub queued: u64,
    /// Batches cut and not yet on L1.
    pub pending_batches: u64,
    /// Inbox entries on L1.
    pub inbox: u64,
    /// Inbox entries consumed by proven batches.
    pub inbox_consumed: u64,
    /// Accounts in the proven state.
    pub accounts: u64,
    /// Last finalized L1 height followed.
    pub l1_height: u64,
    /// The L1 height the rollup was frozen at.
    pub frozen_at: Option<u64>,
}

struct Inner {
    follower: Follower,
    /// Whether this node sequences (its operator starts once it has
    /// followed L1 to the tip, from the state proven there).
    sequencing: bool,
    operator: Option<Operator>,
    censored: Option<u32>,
    events: Vec<Event>,
    rollup: Option<ZkRollup>,
    /// A batch of ours failed on L1: start again from the proven state.
    rebase: bool,
}

/// The node's state, shared with its prover, RPC server and tests.
#[derive(Clone)]
pub struct Shared(Arc<Mutex<Inner>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl Shared {
    fn new(follower: Follower, sequencing: bool, censored: Option<u32>) -> Self {
        Self(Arc::new(Mutex::new(Inner {
            follower,
            sequencing,
            operator: None,
            censored,
            events: Vec::new(),
            rollup: None,
            rebase: false,
        })))
    }

    /// A node's state without its loop, from a follower and an operator
    /// built by hand (RPC tests, tools that serve a snapshot).
    pub fn detached(follower: Follower, operator: Option<Operator>, rollup: ZkRollup) -> Self {
        let shared = Self::new(follower, operator.is_some(), None);
        {
            let mut inner = shared.lock();
            inner.operator = operator;
            inner.rollup = Some(rollup);
        }
        shared
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an operation to the operator (if this node is one).
    pub fn submit(&self, op: &L2Op, now_ms: u64) -> Result<SoftReceipt, SubmitError> {
        let mut inner = self.lock();
        if inner.censored == Some(op.from()) || !inner.sequencing {
            return Err(SubmitError::Refused);
        }
        inner
            .operator
            .as_mut()
            .ok_or(SubmitError::Syncing)?
            .submit(op, now_ms)
    }

    /// Runs `f` over the soft state on an operator, the proven one else;
    /// says which.
    pub fn with_state<T>(&self, f: impl FnOnce(&terrace_zk::state::State, bool) -> T) -> T {
        let inner = self.lock();
        match &inner.operator {
            Some(op) => f(op.soft(), true),
            None => f(inner.follower.state(), false),
        }
    }

    /// Runs `f` over the follower (the state proven on L1).
    pub fn with_follower<T>(&self, f: impl FnOnce(&Follower) -> T) -> T {
        f(&self.lock().follower)
    }

    /// Where operation `id` stands (operator only).
    pub fn stage(&self, id: &Hash) -> Option<Stage> {
        self.lock().operator.as_ref()?.stage(id)
    }

    /// The rollup's record at the last finalized height read.
    pub fn rollup(&self) -> Option<ZkRollup> {
        self.lock().rollup.clone()
    }

    /// Heights and counts.
    pub fn status(&self) -> Status {
        let inner = self.lock();
        let f = &inner.follower;
        let op = inner.operator.as_ref();
        Status {
            batches: f.batch_count(),
            queued: op.map_or(0, |o| o.queued() as u64),
            pending_batches: op.map_or(0, |o| o.pending() as u64),
            inbox: f.inbox().len() as u64,
            inbox_consumed: f.consumed(),
            accounts: f.state().accounts().count() as u64,
            l1_height: f.next_height().saturating_sub(1),
            frozen_at: f.frozen_at(),
        }
    }

    /// Everything that happened so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    fn event(&self, event: Event) {
        info!(?event, "zk-rollup");
        self.lock().events.push(event);
    }
}

/// The running node.
pub struct Node<C: Clock, L: L1> {
    clock: C,
    l1: L,
    config: NodeConfig,
    me: Address,
    shared: Shared,
    outbox: Outbox,
}

impl<C: Clock, L: L1> std::fmt::Debug for Node<C, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("me", &self.me).finish()
    }
}

impl<C: Clock, L: L1> Node<C, L> {
    /// A node of the rollup whose L1 record is `rollup`, having followed
    /// nothing yet.
    pub fn new(clock: C, l1: L, config: NodeConfig, rollup: &ZkRollup) -> Self {
        let follower = Follower::new(config.rollup, rollup, config.from_height);
        let censored = match config.fault {
            Fault::Censor(a) => Some(a),
            _ => None,
        };
        Self {
            me: address_of(&config.key),
            shared: Shared::new(follower, config.operator.is_some(), censored),
            clock,
            l1,
            config,
            outbox: Outbox::default(),
        }
    }

    /// The state shared with the prover, RPC and tests.
    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }

    /// Runs until the task is dropped.
    pub async fn run(mut self) {
        loop {
            if let Err(e) = self.tick().await {
                debug!(error = %e, "zk-rollup node tick");
            }
            self.clock.sleep(self.config.poll).await;
        }
    }

    /// One round: follow, read, get batches attested, decide, send. A
    /// follower stuck on a batch whose data nobody serves still freezes a
    /// stalled rollup: that needs only L1's record.
    pub async fn tick(&mut self) -> Result<(), L1Error> {
        let followed = self.follow().await;
        self.attest().await;
        let height = self.l1.finalized_height();
        let id = self.config.rollup;
        let records = self
            .l1
            .records(vec![ValidityKey::Rollup(id).into(), Key::Account(self.me)])
            .await?;
        let Some(rollup) = records.zk_rollup(id) else {
            return Ok(());
        };
        let nonce = records.account(&self.me).nonce;
        self.outbox.update(nonce, height);
        let overdue_since = self.oldest_unconsumed(&rollup).await?;
        let now = now_ms(&self.clock);
        let mut ops: Vec<(String, ZkOp)> = Vec::new();
        {
            let mut inner = self.shared.lock();
            let inner = &mut *inner;
            inner.rollup = Some(rollup.clone());
            let synced = inner.follower.next_height() > height
                && inner.follower.batch_count() == rollup.batch_count;
            if let Some(cfg) = self.config.operator
                && synced
                && inner.operator.is_none()
            {
                let sizes: Vec<usize> = rollup
                    .config
                    .verifiers
                    .iter()
                    .map(|v| v.slots as usize)
                    .collect();
                let op = Operator::new(&inner.follower, &sizes, cfg.queue_max);
                inner.operator = Some(match &rollup.config.data {
                    DataMode::OnChain => op,
                    DataMode::Committee(c) => op.with_committee(c.threshold),
                });
            }
            if let (Some(cfg), Some(op)) = (self.config.operator, inner.operator.as_mut())
                && synced
                && rollup.frozen_at.is_none()
                && self.config.fault != Fault::Stop
            {
                let dropped = if std::mem::take(&mut inner.rebase) {
                    Some(op.rebase(&inner.follower))
                } else {
                    match op.landed(&inner.follower) {
                        0 => None,
                        n => Some(n),
                    }
                };
                if let Some(n) = dropped {
                    inner.events.push(Event::Rebased(n));
                }
                let inbox = inner.follower.inbox();
                let until = match self.config.fault {
                    Fault::Censor(censored) => inbox
                        .iter()
                        .enumerate()
                        .skip(op.inbox_taken() as usize)
                        .find(|(_, q)| {
                            matches!(q.entry, InboxEntry::ForcedExit { account, .. } if account == censored)
                        })
                        .map_or(inbox.len(), |(i, _)| i) as u64,
                    _ => inbox.len() as u64,
                };
                if let Err(e) = op.take_inbox(inner.follower.inbox(), until, now) {
                    let stuck = Event::Stuck(format!("inbox: {e}"));
                    if inner.events.last() != Some(&stuck) {
                        warn!(error = %e, "the operator cannot take the next inbox entry");
                        inner.events.push(stuck);
                    }
                }
                if op.pending() < cfg.pipeline.max(1)
                    && op.due(now, cfg.batch_interval.as_millis() as u64)
                    && let Some(index) = op.cut()
                {
                    inner.events.push(Event::Cut(index));
                }
                for mut s in op.submissions(rollup.batch_count) {
                    if self.config.fault == Fault::ForgeProof {
                        // The same proof for a root one past the true one.
                        s.new_root[0] ^= 1;
                    }
                    ops.push((format!("batch:{}", s.index), ZkOp::SubmitBatch(Box::new(s))));
                }
            }
            if self.config.freezer && rollup.frozen_at.is_none() {
                let next = height + 1;
                let no_batch = next
                    >= rollup
                        .last_batch_height
                        .saturating_add(rollup.config.exodus_after_blocks);
                let overdue = overdue_since
                    .is_some_and(|h| next >= h.saturating_add(rollup.config.inbox_deadline_blocks));
                if no_batch || overdue {
                    ops.push(("freeze".into(), ZkOp::Freeze));
                }
            }
        }
        for (purpose, op) in ops {
            self.send(purpose, op, nonce, height).await;
        }
        followed
    }

    /// The L1 height of the oldest inbox entry no batch consumed yet.
    async fn oldest_unconsumed(&self, rollup: &ZkRollup) -> Result<Option<u64>, L1Error> {
        if rollup.inbox_consumed >= rollup.inbox_count {
            return Ok(None);
        }
        let key = ValidityKey::Inbox(self.config.rollup, rollup.inbox_consumed);
        let records = self.l1.records(vec![key.into()]).await?;
        Ok(records
            .zk_inbox(self.config.rollup, rollup.inbox_consumed)
            .map(|e| e.height))
    }

    /// Follows every finalized L1 block not yet followed.
    async fn follow(&mut self) -> Result<(), L1Error> {
        let finalized = self.l1.finalized_height();
        loop {
            let next = self.shared.lock().follower.next_height();
            if next > finalized {
                return Ok(());
            }
            let block = self.l1.block(next).await?;
            let mut failed_batch = false;
            for tx in ZkTx::of_block(&block) {
                if tx.sender == self.me
                    && tx.rollup == self.config.rollup
                    && let Some(f) = tx.failure
                {
                    failed_batch |= matches!(tx.op, ZkOp::SubmitBatch(_));
                    self.shared.event(Event::Failed {
                        op: op_name(&tx.op),
                        failure: f.name(),
                    });
                }
            }
            self.shared.lock().rebase |= failed_batch;
            let mut fetched = false;
            loop {
                let applied = self.shared.lock().follower.apply_block(&block);
                match applied {
                    Ok(()) => break,
                    Err(FollowError::Unavailable { index, commitment }) if !fetched => {
                        fetched = true;
                        if let Some(data) = self.fetch(index, commitment).await {
                            self.shared.lock().follower.supply_data(index, data);
                        }
                    }
                    Err(e) => {
                        let mut inner = self.shared.lock();
                        let stuck = Event::Stuck(e.to_string());
                        if inner.events.last() != Some(&stuck) {
                            warn!(error = %e, "zk-rollup follower stopped");
                            inner.events.push(stuck);
                        }
                        return Err(L1Error::Unavailable(format!("follower: {e}")));
                    }
                }
            }
        }
    }

    /// The data of validium batch `index`: this operator's own, else the
    /// first committee member's that has it.
    async fn fetch(&self, index: u64, commitment: Felt) -> Option<Bytes> {
        let own = self
            .shared
            .lock()
            .operator
            .as_ref()
            .and_then(|op| op.batch_data(index, &commitment));
        if own.is_some() && self.config.fault != Fault::Withhold {
            return own;
        }
        let committee = self.config.committee.as_ref()?;
        for member in 0..committee.members() {
            let member = u8::try_from(member).ok()?;
            match committee.get(member, index, commitment).await {
                Ok(Some(stored)) => return Some(stored.data),
                Ok(None) => debug!(member, index, "committee member does not have the batch"),
                Err(e) => debug!(member, index, error = %e, "committee member unavailable"),
            }
        }
        // A withholding operator still knows its own data.
        own
    }

    /// Offers each batch short of signatures to the members who have not
    /// signed it yet (a validium's operator), recording what they sign.
    async fn attest(&mut self) {
        let Some(committee) = self.config.committee.clone() else {
            return;
        };
        let work = match self.shared.lock().operator.as_ref() {
            Some(op) => op.unattested(),
            None => return,
        };
        for batch in work {
            // Every member at once: a batch waits for the slowest answer
            // (at most a request's timeout), not for the sum of them.
            let data = match self.config.fault {
                Fault::Withhold => Bytes::new(),
                _ => batch.data.clone(),
            };
            let req = StoreRequest::signed(
                &self.config.key,
                batch.index,
                batch.slots,
                data,
                batch.commitment,
            );
            let offers = (0..committee.members())
                .filter_map(|m| u8::try_from(m).ok())
                .filter(|m| !batch.signed.contains(m))
                .map(|member| {
                    let (committee, req) = (&committee, req.clone());
                    async move { (member, committee.store(member, req).await) }
                });
            for (member, signed) in futures::future::join_all(offers).await {
                match signed {
                    Ok(signature) => {
                        if let Some(op) = self.shared.lock().operator.as_mut() {
                            op.attest(batch.index, &batch.commitment, signature);
                        }
                    }
                    Err(e) => debug!(member, index = batch.index, error = %e, "not signed"),
                }
            }
        }
    }

    async fn send(&mut self, purpose: String, op: ZkOp, nonce: u64, height: u64) {
        let name = op_name(&op);
        let payload = Payload::Validity(ValidityOp::Rollup {
            rollup: self.config.rollup,
            op,
        });
        match (self.outbox)
            .send(&self.l1, &self.config.key, purpose, payload, nonce, height)
            .await
        {
            Ok(true) => self.shared.event(Event::Sent(name)),
            Ok(false) => {}
            Err(e) => self.shared.event(Event::Refused(format!("{name}: {e}"))),
        }
    }
}

/// Why the prover could not prove a batch.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Proving failed.
    #[error(transparent)]
    Prove(#[from] prover::ProveError),
    /// The proof does not verify under the rollup's key (a key that is not
    /// the rollup's, or a bug): it is not posted.
    #[error("batch {0}: the proof does not verify under the registered key")]
    Unverified(u64),
    /// The batch has a size the prover has no key for.
    #[error("batch {index}: no proving key for batches of {slots}")]
    NoKey {
        /// The batch.
        index: u64,
        /// Its size.
        slots: usize,
    },
}

/// A batch proven and checked.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The batch's index.
    pub index: u64,
    /// Its size.
    pub slots: usize,
    /// What the proof proves.
    pub statement: Statement,
    /// The proof.
    pub proof: Proof,
    /// Wall-clock milliseconds the proof took.
    pub wall_ms: u64,
}

/// The prover: proves each batch the operator cuts, in order, with the key
/// of its size, checks the proof, and hands it to the node.
pub struct Prover<C: Clock> {
    clock: C,
    shared: Shared,
    /// One key per batch size, with its verification key.
    keys: Vec<(Arc<ProvingKey>, VerifyingKey)>,
    seed: [u8; 32],
    poll: Duration,
    /// Virtual time a proof of each size takes, for simulated runs whose
    /// clock does not advance while the CPU proves (the lab sets it from a
    /// measurement); none for a size: no wait.
    pacing: BTreeMap<usize, Duration>,
}

impl<C: Clock> std::fmt::Debug for Prover<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: Vec<usize> = self.keys.iter().map(|(k, _)| k.slots).collect();
        f.debug_struct("Prover").field("sizes", &sizes).finish()
    }
}

impl<C: Clock> Prover<C> {
    /// A prover for `shared`'s operator with `keys` (one per batch size);
    /// its randomness comes from `seed` (zero knowledge is not what a
    /// payments rollup's proofs are for — its data is public — but a fresh
    /// seed per node keeps proofs unlinkable anyway).
    pub fn new(
        clock: C,
        shared: Shared,
        keys: Vec<Arc<ProvingKey>>,
        seed: [u8; 32],
        poll: Duration,
        pacing: BTreeMap<usize, Duration>,
    ) -> Self {
        let keys = keys
            .into_iter()
            .map(|k| {
                let vk = k.verifying_key();
                (k, vk)
            })
            .collect();
        Self {
            clock,
            shared,
            keys,
            seed,
            poll,
            pacing,
        }
    }

    /// Proves the next batch waiting, if any.
    pub fn prove_one(&self) -> Result<Option<Proven>, ProverError> {
        let next = self
            .shared
            .lock()
            .operator
            .as_ref()
            .and_then(Operator::unproven);
        let Some((index, batch)) = next else {
            return Ok(None);
        };
        let mut rng = StdRng::from_seed(
            hash_tagged(b"terrace/zk/prover", &[&self.seed, &index.to_le_bytes()]).0,
        );
        let slots = batch.witnesses.len();
        let (key, verifying) = self
            .keys
            .iter()
            .find(|(k, _)| k.slots == slots)
            .ok_or(ProverError::NoKey { index, slots })?;
        let started = std::time::Instant::now();
        let proof: Proof = prover::prove(key, &batch, &mut rng)?;
        let wall_ms = started.elapsed().as_millis() as u64;
        if verifying.verify(&proof, &batch.statement.inputs()).is_err() {
            return Err(ProverError::Unverified(index));
        }
        Ok(Some(Proven {
            index,
            slots,
            statement: batch.statement,
            proof,
            wall_ms,
        }))
    }

    fn store(&self, p: Proven) {
        let stored = self
            .shared
            .lock()
            .operator
            .as_mut()
            .is_some_and(|op| op.set_proof(p.index, &p.statement, p.proof));
        if stored {
            self.shared.event(Event::Proven {
                index: p.index,
                wall_ms: p.wall_ms,
            });
        }
    }

    /// Proves and hands over one batch if one waits; returns whether it did.
    pub fn prove_next(&self) -> Result<bool, ProverError> {
        let Some(proven) = self.prove_one()? else {
            return Ok(false);
        };
        self.store(proven);
        Ok(true)
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        let mut failing = false;
        loop {
            match self.prove_one() {
                Ok(Some(proven)) => {
                    failing = false;
                    if let Some(p) = self.pacing.get(&proven.slots) {
                        self.clock.sleep(*p).await;
                    }
                    self.store(proven);
                }
                Ok(None) => self.clock.sleep(self.poll).await,
                Err(e) => {
                    if !std::mem::replace(&mut failing, true) {
                        warn!(error = %e, "prover");
                        self.shared.event(Event::Stuck(format!("prover: {e}")));
                    }
                    self.clock.sleep(self.poll).await;
                }
            }
        }
    }
}
