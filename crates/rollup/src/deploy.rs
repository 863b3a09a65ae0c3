//! Deploying an optimistic rollup on L1: register it, open the
//! sequencer's fee account, and describe its nodes — one path for the
//! devnet, the lab's runs and its scenarios.
//!
//! Registration is an L1 transaction like any other: it is sent, waited
//! for until final, and the rollup's id is read back from L1 (the newest
//! rollup with exactly this configuration), so two deployments on one
//! chain never mix up their ids.

use crate::{
    faults::Fault,
    node::{Node, NodeConfig, SequencerConfig, Shared},
};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use std::time::Duration;
use terrace_l1::{
    Key, Payload,
    modules::optimistic::{
        OptimisticKey, OptimisticOp, RollupConfig, RollupOp, RollupRecords as _,
    },
};
use terrace_l2::Deposit;
pub use terrace_node::client::{DeployError, Waiting, next_nonce, send_and_wait};
use terrace_node::client::{L1, L1Error};
use terrace_primitives::{Amount, PrivateKey, keys::Signer as _};

/// A rollup on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// Its id.
    pub rollup: u64,
    /// The L1 height it was created at: its nodes derive from there.
    pub created_at: u64,
}

/// Registers a rollup with `config` from `key` (whose next nonce is
/// `nonce`), waits until it is final, and reads its id back.
pub async fn register<C: Clock, L: L1>(
    clock: &C,
    l1: &L,
    key: &PrivateKey,
    nonce: u64,
    config: &RollupConfig,
    wait: Waiting,
) -> Result<Deployment, DeployError> {
    let payload = Payload::Optimistic(OptimisticOp::Create(config.clone()));
    if let Some(failure) = send_and_wait(
        clock,
        l1,
        key,
        nonce,
        payload,
        "registering the rollup",
        wait,
    )
    .await?
    {
        return Err(DeployError::Failed {
            what: "registering the rollup",
            failure,
        });
    }
    find(l1, |r| r.config == *config)
        .await?
        .ok_or(DeployError::NotFound)
}

/// The newest rollup on L1 whose record satisfies `matches`. Its creation
/// height is known only before its first batch: afterwards `created_at`
/// is the height of its last batch (a node deriving from there would miss
/// history, so callers that resume keep the creation height themselves).
pub async fn find<L: L1>(
    l1: &L,
    matches: impl Fn(&terrace_l1::modules::optimistic::Rollup) -> bool,
) -> Result<Option<Deployment>, L1Error> {
    let count = l1
        .records(vec![OptimisticKey::RollupCount.into()])
        .await?
        .rollup_count();
    let keys: Vec<Key> = (0..count)
        .map(|id| OptimisticKey::Rollup(id).into())
        .collect();
    let records = l1.records(keys).await?;
    Ok((0..count).rev().find_map(|id| {
        let r = records.rollup(id)?;
        matches(&r).then_some(Deployment {
            rollup: id,
            created_at: r.last_batch_height,
        })
    }))
}

/// The operation that deposits `amount` for `recipient`'s key, opening an
/// L2 account (the sequencer's first deposit opens account 0, where its
/// blocks' fees go).
pub fn deposit(recipient: &PrivateKey, amount: Amount) -> RollupOp {
    RollupOp::Deposit(Deposit {
        recipient: recipient.public_key(),
        account: None,
        amount,
        bls: None,
    })
}

impl NodeConfig {
    /// The sequencer of `deployment`: sequences with `sequencer`, posts
    /// batches, and posts through the escape hatch when `fallback_poster`.
    pub fn sequencer(
        deployment: Deployment,
        key: PrivateKey,
        sequencer: SequencerConfig,
        fallback_poster: bool,
    ) -> Self {
        Self {
            rollup: deployment.rollup,
            from_height: deployment.created_at,
            key,
            sequencer: Some(sequencer),
            challenger: false,
            fallback_poster,
            poll: Duration::from_millis(100),
            fault: Fault::None,
        }
    }

    /// A verifier of `deployment`: derives from L1 alone, challenges false
    /// batches, and posts through the escape hatch when the sequencer stops.
    pub fn verifier(deployment: Deployment, key: PrivateKey) -> Self {
        Self {
            rollup: deployment.rollup,
            from_height: deployment.created_at,
            key,
            sequencer: None,
            challenger: true,
            fallback_poster: true,
            poll: Duration::from_millis(100),
            fault: Fault::None,
        }
    }

    /// The same node with `fault` (tests and the lab's scenarios).
    pub fn with_fault(self, fault: Fault) -> Self {
        Self { fault, ..self }
    }
}

/// Starts a rollup node on `l1` as a task of `context`; returns its task
/// and the state it shares with RPC and tests.
pub fn start<E, L>(context: &E, l1: L, config: NodeConfig) -> (Handle<()>, Shared)
where
    E: Clock + Spawner + Supervisor,
    L: L1,
{
    let node = Node::new(context.child("rollup_clock"), l1, config);
    let shared = node.shared();
    let handle = context.child("rollup").spawn(move |_| node.run());
    (handle, shared)
}
