//! Deploying a zk-rollup on L1: its setup (the proving keys and the
//! verification keys L1 checks against), its registration, and starting
//! its nodes — one path for the devnet, the lab and tests.
//!
//! The setup here is a single party's, from a seed: whoever knows the
//! seed can forge proofs. That is what a devnet or a lab run needs (and
//! their risk summaries say it); a real deployment would register the
//! keys of a multi-party ceremony instead.

use crate::node::{Node, NodeConfig, OperatorConfig, Prover, Shared};
use commonware_runtime::{Clock, Handle, Spawner, Supervisor};
use std::{collections::BTreeMap, sync::Arc, time::Duration};
use terrace_l1::{
    Key, Payload,
    modules::validity::{
        Committee, DataMode, UNIT, ValidityKey, ValidityOp, Verifier, ZkOp, ZkRecords as _,
        ZkRollup, ZkRollupConfig,
    },
};
pub use terrace_node::client::{DeployError, Waiting, next_nonce, send_and_wait};
use terrace_node::client::{L1, L1Error};
use terrace_primitives::{Address, Amount, PrivateKey, hash_tagged};
use terrace_zk::{
    babyjubjub::PublicKey,
    prover::{
        self, ProveError, ProvingKey,
        rand::{SeedableRng as _, rngs::StdRng},
    },
};

/// A zk-rollup on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deployment {
    /// Its id.
    pub rollup: u64,
    /// The L1 height it was created at: its nodes follow from there.
    pub created_at: u64,
}

/// The proving key for batches of `slots` over a depth-`depth` tree, from
/// `seed` (a single-party setup: see the module's note).
pub fn setup(depth: u8, slots: usize, seed: [u8; 32]) -> Result<ProvingKey, ProveError> {
    let mut rng = StdRng::from_seed(
        hash_tagged(
            b"terrace/zk/setup",
            &[&seed, &[depth], &(slots as u64).to_le_bytes()],
        )
        .0,
    );
    prover::setup(depth, slots, &mut rng)
}

/// What a zk-rollup is created with, beside its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// The operator's L1 address.
    pub operator: Address,
    /// Most bytes of public data per batch.
    pub batch_bytes_max: u64,
    /// Fee per deposit or forced exit, to the operator.
    pub inbox_fee: Amount,
    /// L1 blocks without a batch before anyone may freeze it.
    pub exodus_after_blocks: u64,
    /// L1 blocks an inbox entry may wait before anyone may freeze it.
    pub inbox_deadline_blocks: u64,
}

/// The configuration registering `keys` (one per batch size, all of one
/// depth) with `settings`.
pub fn config(keys: &[&ProvingKey], settings: Settings) -> ZkRollupConfig {
    ZkRollupConfig {
        operator: settings.operator,
        depth: keys.first().map_or(0, |k| k.depth),
        verifiers: keys
            .iter()
            .map(|k| Verifier {
                slots: k.slots as u32,
                key: k.verifying_key().to_bytes().into(),
            })
            .collect(),
        batch_bytes_max: settings.batch_bytes_max,
        inbox_fee: settings.inbox_fee,
        exodus_after_blocks: settings.exodus_after_blocks,
        inbox_deadline_blocks: settings.inbox_deadline_blocks,
        data: DataMode::OnChain,
    }
}

/// The configuration of a validium: as [`config`], with the data kept by
/// `committee` instead of L1.
pub fn validium_config(
    keys: &[&ProvingKey],
    settings: Settings,
    committee: Committee,
) -> ZkRollupConfig {
    ZkRollupConfig {
        data: DataMode::Committee(committee),
        ..config(keys, settings)
    }
}

/// Registers a zk-rollup with `config` from `key` (whose next nonce is
/// `nonce`), waits until it is final, and reads its id back (the newest
/// zk-rollup with exactly this configuration).
pub async fn register<C: Clock, L: L1>(
    clock: &C,
    l1: &L,
    key: &PrivateKey,
    nonce: u64,
    config: &ZkRollupConfig,
    wait: Waiting,
) -> Result<Deployment, DeployError> {
    let what = "registering the zk-rollup";
    let payload = Payload::Validity(ValidityOp::Create(Box::new(config.clone())));
    if let Some(failure) = send_and_wait(clock, l1, key, nonce, payload, what, wait).await? {
        return Err(DeployError::Failed { what, failure });
    }
    find(l1, |r| r.config == *config)
        .await?
        .ok_or(DeployError::NotFound)
}

/// The newest zk-rollup on L1 whose record satisfies `matches`; its
/// creation height is exact only before its first batch (see
/// `terrace_rollup::deploy::find`).
pub async fn find<L: L1>(
    l1: &L,
    matches: impl Fn(&ZkRollup) -> bool,
) -> Result<Option<Deployment>, L1Error> {
    let count = l1
        .records(vec![ValidityKey::RollupCount.into()])
        .await?
        .zk_rollup_count();
    let keys: Vec<Key> = (0..count)
        .map(|id| ValidityKey::Rollup(id).into())
        .collect();
    let records = l1.records(keys).await?;
    Ok((0..count).rev().find_map(|id| {
        let r = records.zk_rollup(id)?;
        matches(&r).then_some(Deployment {
            rollup: id,
            created_at: r.last_batch_height,
        })
    }))
}

/// A rollup's record at the finalized tip.
pub async fn record<L: L1>(l1: &L, rollup: u64) -> Result<Option<ZkRollup>, L1Error> {
    Ok(l1
        .records(vec![ValidityKey::Rollup(rollup).into()])
        .await?
        .zk_rollup(rollup))
}

/// The operation depositing `units` L2 units to `key`'s account.
pub fn deposit(key: &PublicKey, units: u64) -> ZkOp {
    ZkOp::Deposit {
        key: key.pack(),
        amount: Amount(u128::from(units) * UNIT),
    }
}

impl NodeConfig {
    /// The operator of `deployment`, cutting batches as `operator` says.
    pub fn operator(deployment: Deployment, key: PrivateKey, operator: OperatorConfig) -> Self {
        Self {
            rollup: deployment.rollup,
            from_height: deployment.created_at,
            key,
            operator: Some(operator),
            freezer: false,
            poll: Duration::from_millis(100),
            fault: crate::node::Fault::None,
            committee: None,
        }
    }

    /// A full node of `deployment` that freezes the rollup when it stalls.
    pub fn watcher(deployment: Deployment, key: PrivateKey) -> Self {
        Self {
            rollup: deployment.rollup,
            from_height: deployment.created_at,
            key,
            operator: None,
            freezer: true,
            poll: Duration::from_millis(100),
            fault: crate::node::Fault::None,
            committee: None,
        }
    }

    /// The same node with `fault`.
    pub fn with_fault(self, fault: crate::node::Fault) -> Self {
        Self { fault, ..self }
    }

    /// The same node reaching a validium's committee through `committee`.
    pub fn with_committee(self, committee: crate::dac::AnyCommittee) -> Self {
        Self {
            committee: Some(committee),
            ..self
        }
    }
}

/// An operator's prover: its keys, the seed of its randomness, and the
/// virtual time each proof takes in simulation.
#[derive(Debug, Clone)]
pub struct ProverSetup {
    /// One proving key per batch size the rollup registered.
    pub keys: Vec<Arc<ProvingKey>>,
    /// Seed of the proofs' randomness.
    pub seed: [u8; 32],
    /// Virtual time per proof, by batch size (empty: none).
    pub pacing: BTreeMap<usize, Duration>,
}

impl ProverSetup {
    /// A prover with `keys`, proving at the CPU's own pace.
    pub fn new(keys: Vec<Arc<ProvingKey>>, seed: [u8; 32]) -> Self {
        Self {
            keys,
            seed,
            pacing: BTreeMap::new(),
        }
    }
}

/// Checks `keys` prove for every batch size `rollup` registered, under the
/// very verification key L1 holds (a key for another setup would make
/// proofs L1 refuses).
pub fn check_keys(rollup: &ZkRollup, keys: &[Arc<ProvingKey>]) -> Result<(), DeployError> {
    for v in &rollup.config.verifiers {
        let matches = keys.iter().any(|k| {
            k.slots == v.slots as usize
                && k.depth == rollup.config.depth
                && k.verifying_key().to_bytes()[..] == v.key[..]
        });
        if !matches {
            return Err(DeployError::KeyMismatch { slots: v.slots });
        }
    }
    Ok(())
}

/// Starts a zk-rollup node on `l1` as a task of `context` — and, given a
/// prover, the prover on a thread of its own — once the rollup's record is
/// on L1; returns the node's task and its shared state.
pub async fn start<E, L>(
    context: &E,
    l1: L,
    config: NodeConfig,
    prover: Option<ProverSetup>,
) -> Result<(Handle<()>, Shared), DeployError>
where
    E: Clock + Spawner + Supervisor,
    L: L1,
{
    let rollup = record(&l1, config.rollup)
        .await?
        .ok_or(DeployError::NotFound)?;
    if let Some(p) = &prover {
        check_keys(&rollup, &p.keys)?;
    }
    if matches!(rollup.config.data, DataMode::Committee(_)) && config.committee.is_none() {
        return Err(DeployError::NoCommittee);
    }
    let poll = config.poll;
    let node = Node::new(context.child("zk_clock"), l1, config, &rollup);
    let shared = node.shared();
    if let Some(p) = prover {
        let prover = Prover::new(
            context.child("zk_prover_clock"),
            shared.clone(),
            p.keys,
            p.seed,
            poll,
            p.pacing,
        );
        // It lives as long as `context`, like the node.
        let _detached = context
            .child("zk_prover")
            .dedicated()
            .spawn(move |_| prover.run());
    }
    let handle = context.child("zk_node").spawn(move |_| node.run());
    Ok((handle, shared))
}
