//! The stage every scenario plays on: the lab's L1 validators over the
//! WAN model on the deterministic runtime, optionally one rollup with
//! nodes beside validator 0. It checks, as it goes, what must hold
//! whatever the attacker does: every validator audits L1 supply on every
//! block, the bridge invariant holds at every finalized height observed,
//! and honest validators never finalize different blocks.

use crate::{
    LabError,
    sim::{genesis, new_chain, role_key, start_network, timeouts, validator_keys},
};
use commonware_runtime::{Clock as _, Handle, Supervisor as _, deterministic};
use std::time::Duration;
use terrace_l1::modules::optimistic::RollupRecords as _;
use terrace_l1::{
    ChainParams, Key, Payload, StateReader as _,
    execute::Failure,
    genesis::Genesis,
    modules::optimistic::{OptimisticKey, OptimisticOp, RollupConfig, RollupOp},
};
use terrace_node::chain::TxLocation;
use terrace_node::client::{L1 as _, sign_l1};
use terrace_node::{
    engine::{Behavior, LocalClient, Validator},
    sim::{self, Network},
};
use terrace_primitives::{Address, Amount, Hash, PrivateKey, keys::Signer as _};
use terrace_rollup::{
    Event, NodeConfig, Shared,
    deploy::{self, Deployment, Waiting},
};

pub(crate) type Ctx = deterministic::Context;

/// The rollup's id on the stage.
pub(crate) const ROLLUP: u64 = 0;
pub(crate) const TER: u128 = 1_000_000_000_000_000_000;

/// The people and services of the scenarios, each with its own L1 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Sequencer,
    Verifier,
    Alice,
    Bob,
    Mallory,
    Operator,
    Carol,
}

impl Role {
    const ALL: [Role; 7] = [
        Role::Sequencer,
        Role::Verifier,
        Role::Alice,
        Role::Bob,
        Role::Mallory,
        Role::Operator,
        Role::Carol,
    ];

    fn label(self) -> &'static str {
        match self {
            Role::Sequencer => "sequencer",
            Role::Verifier => "verifier",
            Role::Alice => "alice",
            Role::Bob => "bob",
            Role::Mallory => "mallory",
            Role::Operator => "operator",
            Role::Carol => "carol",
        }
    }

    pub(crate) fn key(self) -> PrivateKey {
        role_key(self.label())
    }

    pub(crate) fn address(self) -> Address {
        Address::from_public_key(&self.key().public_key())
    }

    /// The role's BLS key (for aggregated L2 transactions).
    pub(crate) fn bls(self) -> terrace_primitives::BlsPrivateKey {
        let seed = terrace_primitives::hash_tagged(b"terrace/lab/bls", &[self.label().as_bytes()]);
        terrace_primitives::BlsPrivateKey::from_seed(&seed.0)
    }
}

/// A rollup node on the stage.
struct RollupNode {
    config: NodeConfig,
    handle: Handle<()>,
    shared: Shared,
}

/// L1 validators, their network, and the rollup's nodes.
pub(crate) struct Stage {
    /// The scenario, for errors.
    name: &'static str,
    pub(crate) context: Ctx,
    network: Network,
    genesis: Genesis,
    keys: Vec<PrivateKey>,
    behaviors: Vec<Behavior>,
    incarnations: Vec<u32>,
    /// Addresses whose balances the validators' audits track.
    audited: Vec<Address>,
    pub(crate) validators: Vec<Validator<Ctx>>,
    /// Validator 0's client: the users' and rollup nodes' view of L1.
    pub(crate) l1: LocalClient<Ctx>,
    nodes: Vec<RollupNode>,
    /// The rollup, once registered.
    deployment: Option<Deployment>,
    /// L1 heights at which the bridge invariant was compared.
    bridge_checks: u64,
    /// Finalized heights already checked against the bridge invariant.
    checked: u64,
    /// Heights whose block hash all honest validators agreed on.
    agreed: Vec<Hash>,
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Stage({})", self.name)
    }
}

impl Stage {
    /// Starts `validators` validators (those listed in `behaviors` with
    /// their behavior) and waits for the first finalized block.
    pub(crate) async fn start(
        name: &'static str,
        context: Ctx,
        validators: u32,
        params: ChainParams,
        behaviors: Vec<Behavior>,
    ) -> Result<Self, LabError> {
        let keys = validator_keys(validators);
        let members: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        let roles: Vec<Address> = Role::ALL.iter().map(|r| r.address()).collect();
        let genesis = genesis(&members, 0, &roles, params);
        let audited: Vec<Address> = roles
            .iter()
            .copied()
            .chain(
                keys.iter()
                    .map(|k| Address::from_public_key(&k.public_key())),
            )
            .collect();
        let regions: Vec<usize> = (0..keys.len()).map(sim::region_of).collect();
        let (network, running) = start_network(
            &context,
            &keys,
            &regions,
            &genesis,
            timeouts(&genesis.params),
            &behaviors,
            |_, chain| chain.enable_audit(audited.clone()),
        )
        .await?;
        let l1 = running[0].client();
        let mut stage = Self {
            name,
            context,
            network,
            genesis,
            incarnations: vec![0; keys.len()],
            keys,
            behaviors,
            audited,
            validators: running,
            l1,
            nodes: Vec::new(),
            deployment: None,
            bridge_checks: 0,
            checked: 0,
            agreed: Vec::new(),
        };
        stage.wait_l1(1).await?;
        Ok(stage)
    }

    /// The error that ends the scenario.
    pub(crate) fn fail(&self, what: impl Into<String>) -> LabError {
        LabError::Run {
            design: self.name.to_string(),
            what: format!("{} (at {} virtual)", what.into(), self.clock_label()),
        }
    }

    /// Virtual time since the run began.
    pub(crate) fn now(&self) -> Duration {
        self.context
            .current()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
    }

    fn clock_label(&self) -> String {
        crate::design::human_ms(self.now().as_millis() as u64)
    }

    /// Validator 0's finalized height.
    pub(crate) fn height(&self) -> u64 {
        self.l1.finalized_height()
    }

    /// Waits until validator 0 has finalized `height`.
    pub(crate) async fn wait_l1(&mut self, height: u64) -> Result<(), LabError> {
        self.wait("L1 height", Duration::from_secs(600), |s| {
            s.height() >= height
        })
        .await
    }

    /// Waits in virtual time until `done`, checking the bridge after each
    /// step of 50 ms; fails after `limit`.
    pub(crate) async fn wait(
        &mut self,
        what: &str,
        limit: Duration,
        done: impl FnMut(&Self) -> bool,
    ) -> Result<(), LabError> {
        if self.until(limit, done).await? {
            return Ok(());
        }
        Err(self.fail(format!(
            "{what}: not reached in {} (L1 at height {})",
            crate::design::human_ms(limit.as_millis() as u64),
            self.height()
        )))
    }

    /// Like [`Self::wait`], but a timeout is an answer (`false`), not an
    /// error: for outcomes the scenario measures rather than needs.
    pub(crate) async fn until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Result<bool, LabError> {
        let start = self.now();
        loop {
            self.check_bridge().await?;
            if done(self) {
                return Ok(true);
            }
            if self.now() - start > limit {
                return Ok(false);
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sleeps `d` of virtual time, still checking the bridge.
    pub(crate) async fn idle(&mut self, d: Duration) -> Result<(), LabError> {
        let until = self.now() + d;
        self.wait("idle", d + Duration::from_secs(1), |s| s.now() >= until)
            .await
    }

    /// An L1 account's balance at validator 0's finalized tip.
    pub(crate) async fn l1_balance(&self, who: Address) -> Result<Amount, LabError> {
        let records = self
            .l1
            .records(&[Key::Account(who)])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(records.account(&who).balance)
    }

    /// The nonce `from`'s next transaction takes: after those waiting in
    /// validator 0's pool, else its account's.
    pub(crate) async fn next_nonce(&self, from: Role) -> Result<u64, LabError> {
        let who = from.address();
        let records = self
            .l1
            .records(&[Key::Account(who)])
            .await
            .map_err(|e| self.fail(e))?;
        Ok(self
            .l1
            .chain
            .pool_next_nonce(&who)
            .unwrap_or(records.account(&who).nonce))
    }

    /// Signs `payload` from `from`, submits it through validator 0 and
    /// waits until it is final; returns its failure on L1.
    pub(crate) async fn send(
        &mut self,
        from: Role,
        payload: Payload,
    ) -> Result<Option<Failure>, LabError> {
        Ok(self.send_located(from, payload).await?.receipt.failure)
    }

    /// [`Self::send`], returning where it landed and its whole receipt
    /// (the fee paid).
    pub(crate) async fn send_located(
        &mut self,
        from: Role,
        payload: Payload,
    ) -> Result<TxLocation, LabError> {
        let key = from.key();
        let nonce = self.next_nonce(from).await?;
        let bytes =
            sign_l1(&self.l1, &key, nonce, payload).map_err(|e| self.fail(e.to_string()))?;
        let hash = terrace_node::client::L1::submit(&self.l1, bytes)
            .await
            .map_err(|e| self.fail(format!("{} refused: {e}", from.label())))?;
        let chain = self.l1.chain.clone();
        let start = self.now();
        loop {
            self.check_bridge().await?;
            if let Some(location) = chain.tx_location(&hash).await {
                return Ok(location);
            }
            if self.now() - start > Duration::from_secs(60) {
                return Err(self.fail(format!("{}'s transaction never finalized", from.label())));
            }
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Registers the rollup through the one deploy path
    /// ([`terrace_rollup::deploy`]), its sequencer being the sequencer role.
    pub(crate) async fn create_rollup(&mut self, config: RollupConfig) -> Result<(), LabError> {
        let key = Role::Sequencer.key();
        let nonce = deploy::next_nonce(&self.l1, &key)
            .await
            .map_err(|e| self.fail(e.to_string()))?;
        let wait = Waiting {
            poll: Duration::from_millis(50),
            limit: Duration::from_secs(60),
        };
        let d = deploy::register(&self.context, &self.l1, &key, nonce, &config, wait)
            .await
            .map_err(|e| self.fail(format!("rollup not created: {e}")))?;
        if d.rollup != ROLLUP {
            return Err(self.fail(format!("the rollup got id {}, not {ROLLUP}", d.rollup)));
        }
        self.deployment = Some(d);
        Ok(())
    }

    /// Where the rollup was deployed (before [`Self::create_rollup`]: id
    /// [`ROLLUP`], deriving from genesis).
    pub(crate) fn deployment(&self) -> Deployment {
        self.deployment.unwrap_or(Deployment {
            rollup: ROLLUP,
            created_at: 0,
        })
    }

    /// Sends a rollup operation.
    pub(crate) async fn op(
        &mut self,
        from: Role,
        op: RollupOp,
    ) -> Result<Option<Failure>, LabError> {
        self.send(
            from,
            Payload::Optimistic(OptimisticOp::Rollup { rollup: ROLLUP, op }),
        )
        .await
    }

    /// Starts a rollup node beside validator 0; returns its index.
    pub(crate) fn spawn(&mut self, config: NodeConfig) -> usize {
        let (handle, shared) = self.run_node(config.clone(), self.nodes.len());
        self.nodes.push(RollupNode {
            config,
            handle,
            shared,
        });
        self.nodes.len() - 1
    }

    fn run_node(&self, config: NodeConfig, label: usize) -> (Handle<()>, Shared) {
        let context = self.context.child("node").with_attribute("node", label);
        deploy::start(&context, self.l1.clone(), config)
    }

    /// Stops rollup node `i` (its memory is lost) and starts it again
    /// from L1.
    pub(crate) fn restart_node(&mut self, i: usize) {
        self.nodes[i].handle.abort();
        let (handle, shared) = self.run_node(self.nodes[i].config.clone(), i);
        self.nodes[i].handle = handle;
        self.nodes[i].shared = shared;
    }

    /// Rollup node `i`'s shared view.
    pub(crate) fn node(&self, i: usize) -> Shared {
        self.nodes[i].shared.clone()
    }

    /// Whether node `i` has recorded an event matching `f`.
    pub(crate) fn saw(&self, i: usize, f: impl Fn(&Event) -> bool) -> bool {
        self.nodes[i].shared.events().iter().any(f)
    }

    /// The rollup's record on L1.
    pub(crate) async fn rollup(&self) -> Result<terrace_l1::modules::optimistic::Rollup, LabError> {
        self.l1
            .records(&[OptimisticKey::Rollup(ROLLUP).into()])
            .await
            .map_err(|e| self.fail(e))?
            .rollup(ROLLUP)
            .ok_or_else(|| self.fail("no rollup on L1"))
    }

    /// The bridge invariant at the current finalized height, as seen by
    /// the first rollup node (a derivation from L1 alone): the escrow
    /// holds the L2 supply, the withdrawals not yet claimed and the
    /// deposits not yet consumed.
    async fn check_bridge(&mut self) -> Result<(), LabError> {
        let Some(node) = self.nodes.first() else {
            return Ok(());
        };
        let shared = node.shared.clone();
        let height = self.height();
        if height <= self.checked {
            return Ok(());
        }
        let withdrawals = shared.with_derivation(|d| d.state().withdrawals().len() as u64);
        let mut keys: Vec<Key> = vec![OptimisticKey::Rollup(ROLLUP).into()];
        keys.extend((0..withdrawals).map(|i| OptimisticKey::Claim(ROLLUP, i).into()));
        let records = self.l1.records(&keys).await.map_err(|e| self.fail(e))?;
        if self.height() != height {
            return Ok(()); // moved on while reading: sample the next height
        }
        let Some(rollup) = records.rollup(ROLLUP) else {
            return Ok(());
        };
        let expected = shared.with_derivation(|d| {
            if d.next_height() != height + 1 {
                return None;
            }
            let state = d.state();
            let mut total = state.supply()?;
            for (i, w) in state.withdrawals().iter().enumerate() {
                if !records.claimed(ROLLUP, i as u64) {
                    total = total.checked_add(w.amount)?;
                }
            }
            let cursor = terrace_l2::L2State::commitment(state).inbox_cursor as usize;
            for m in d.inbox().get(cursor..).unwrap_or_default() {
                if let terrace_l2::InboxMessage::Deposit(dep) = m {
                    total = total.checked_add(dep.amount)?;
                }
            }
            Some(total)
        });
        if let Some(expected) = expected {
            if rollup.escrow != expected {
                return Err(self.fail(format!(
                    "bridge invariant broken at L1 height {height}: escrow {} ≠ {}",
                    rollup.escrow.0, expected.0
                )));
            }
            self.checked = height;
            self.bridge_checks += 1;
        }
        Ok(())
    }

    /// Judges the bridge invariant over the run: it held wherever it was
    /// compared (a break ends the run before this), and it was compared at
    /// some height — a scenario that checked nothing proves nothing.
    pub(crate) fn judge_bridge(&self, o: &mut super::Outcome) {
        o.happened.push_str(&format!(
            "; the bridge invariant held at all {} L1 heights compared",
            self.bridge_checks
        ));
        o.expect(
            self.bridge_checks > 0,
            "the bridge invariant is compared at L1 heights during the run",
        );
    }

    /// Indices of the validators that follow the protocol.
    pub(crate) fn honest(&self) -> Vec<usize> {
        (0..self.validators.len())
            .filter(|&i| self.behaviors.get(i).copied().unwrap_or_default() == Behavior::Honest)
            .collect()
    }

    /// Finalized heights of all validators.
    pub(crate) fn heights(&self) -> Vec<u64> {
        self.validators
            .iter()
            .map(|v| v.chain.tip().block.header().height)
            .collect()
    }

    /// Waits until every validator in `who` has finalized `height`.
    pub(crate) async fn wait_height(
        &mut self,
        who: &[usize],
        height: u64,
        limit: Duration,
    ) -> Result<(), LabError> {
        let who = who.to_vec();
        self.wait(&format!("height {height} on {who:?}"), limit, |s| {
            let h = s.heights();
            who.iter().all(|&i| h[i] >= height)
        })
        .await
    }

    /// Validator `i`'s L1 address.
    pub(crate) fn validator_address(&self, i: usize) -> Address {
        Address::from_public_key(&self.keys[i].public_key())
    }

    /// Stops validator `i` (as `kill -9` would; its storage survives).
    pub(crate) fn crash(&mut self, i: usize) {
        self.validators[i].engine.abort();
    }

    /// Starts validator `i` again from its storage.
    pub(crate) async fn restart(&mut self, i: usize) -> Result<(), LabError> {
        self.incarnations[i] += 1;
        let chain = new_chain(&self.genesis)?;
        chain.enable_audit(self.audited.clone());
        let v = self
            .network
            .start_validator(
                &self.context,
                &self.keys[i],
                chain,
                timeouts(&self.genesis.params),
                self.behaviors.get(i).copied().unwrap_or_default(),
                self.incarnations[i],
            )
            .await;
        self.validators[i] = v;
        if i == 0 {
            self.l1 = self.validators[0].client();
        }
        Ok(())
    }

    /// The invariants of L1 over the run: every honest validator's audits
    /// (supply on every block) passed, and the honest validators agree
    /// on every finalized block up to the lowest of their tips.
    pub(crate) async fn check_l1(&mut self) -> Result<(), LabError> {
        let honest = self.honest();
        for &i in &honest {
            for (h, r) in self.validators[i].chain.audit_results() {
                if let Err(e) = r {
                    return Err(self.fail(format!("validator {i}'s audit at height {h}: {e}")));
                }
            }
        }
        let heights = self.heights();
        let common = honest.iter().map(|&i| heights[i]).min().unwrap_or(0);
        let clients: Vec<_> = honest
            .iter()
            .map(|&i| self.validators[i].client())
            .collect();
        for h in self.agreed.len() as u64 + 1..=common {
            let mut seen: Option<Hash> = None;
            for (c, &i) in clients.iter().zip(&honest) {
                let Some(block) = c.finalized_block(h).await else {
                    return Err(self.fail(format!("validator {i} lacks finalized block {h}")));
                };
                let hash = block.hash();
                if seen.is_some_and(|s| s != hash) {
                    return Err(self.fail(format!(
                        "honest validators finalized different blocks at height {h}"
                    )));
                }
                seen = Some(hash);
            }
            if let Some(s) = seen {
                self.agreed.push(s);
            }
        }
        Ok(())
    }
}
