//! The zk-rollup in simulation: the `terrace` L1's validators on the
//! deterministic runtime with the WAN model, the zk-rollup's operator with
//! its real prover beside validator 0, virtual time.
//!
//! The prover is the bound, and the simulation's clock does not move while
//! the CPU proves: so before the run one batch of the key's size is proven
//! on this machine (**calibration**, wall clock), and in the run every
//! proof — each one real, verified by L1 — takes that long in virtual time.
//! The run in steps: set up the circuit's keys; calibrate; start the L1,
//! register the rollup through the one deploy path and open the senders'
//! accounts by deposits through L1; send transfers *paced* below the
//! prover's capacity (latency tiers) with a few withdrawals that are
//! claimed on L1 the moment their batch is final; then a *backlog* (how
//! fast the prover drains it); wait until every operation is final; then
//! time soft confirmations over JSON-RPC on loopback (wall clock).

use super::{lab_settings, zk_risks};
use crate::{
    LabError,
    designs::l1::L1Preset,
    report::{
        ClaimsPaid, DesignReport, Fee, Node as NodeCost, Prover as ProverCost, Throughput, Tiers,
        WorkloadInfo,
    },
    scenario::stage::{Ctx, Role, Stage},
    sim::{SCHEDULER_CYCLE, role_key},
    util::{Percentiles, cpu_time, peak_rss_bytes, quantiles},
    workload::Payments,
};
use commonware_codec::EncodeSize as _;
use commonware_runtime::{Clock as _, Runner as _, deterministic, tokio as cw_tokio};
use jsonrpsee::http_client::HttpClientBuilder;
use std::{
    collections::{BTreeMap, HashMap},
    net::{Ipv4Addr, SocketAddr},
    sync::Arc,
    time::{Duration, Instant},
};
use terrace_l1::{
    ChainParams, Payload,
    modules::validity::{Committee, DataMode, ValidityOp, ZkOp},
};
use terrace_node::client::{L1 as _, sign_l1};
use terrace_primitives::{Address, Hash, keys::Signer as _};
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, SecretKey},
    fr_from_le,
    ops::{Transfer, Withdraw},
    prover::{
        self, ProvingKey,
        rand::{SeedableRng as _, rngs::StdRng},
    },
    state::sample_transfer_batch,
};
use terrace_zkrollup::{
    Event, L2Op, NodeConfig, OperatorConfig, Shared, Stage as OpStage,
    dac::{AnyCommittee, Committee as _, LocalCommittee, MemberView},
    deploy::{self, ProverSetup, Waiting},
    l1::ZkTx,
    rpc::{TransferRequest, ZkApiClient as _},
};

/// One TER in L2 units (nano-TER).
const TER_UNITS: u64 = 1_000_000_000;
/// Each sender's deposit: far more than its transfers move.
const DEPOSIT_UNITS: u64 = 10 * TER_UNITS;
/// Each withdrawal.
const WITHDRAW_UNITS: u64 = TER_UNITS;
/// How often the run looks (virtual).
const TICK: Duration = Duration::from_millis(10);
/// The soft-confirmation client's rate (tx/s, wall clock): a user's
/// request pace, far below what the operator confirms, and independent of
/// the paced phase's rate (which is set by the prover).
const SOFT_RATE: f64 = 50.0;

/// One zk-rollup run.
#[derive(Debug, Clone)]
pub struct ZkRun {
    /// Name in reports.
    pub name: String,
    /// L1 validators.
    pub validators: u32,
    /// The workload.
    pub workload: Payments,
    /// Account-tree depth.
    pub depth: u8,
    /// Operations per batch (the proving key's size).
    pub slots: usize,
    /// Transfers of the paced phase.
    pub paced: usize,
    /// Offered rate of the paced phase (tx/s, virtual).
    pub rate: f64,
    /// Withdrawals after the paced transfers, claimed on L1.
    pub withdrawals: usize,
    /// Transfers of the backlog phase.
    pub backlog: usize,
    /// Longest an operation waits for its batch.
    pub batch_interval: Duration,
    /// Transfers a client sends over JSON-RPC to time soft confirmations.
    pub soft_rpc_txs: usize,
    /// Simulation seed.
    pub seed: u64,
    /// A validium's committee (members, threshold), whose members run in
    /// the simulation with their stores in a temporary directory; `None`
    /// for data on L1.
    pub committee: Option<(u8, u8)>,
}

/// Member `i` of the lab validium's committee.
pub fn member_key(i: u8) -> terrace_primitives::PrivateKey {
    role_key(&format!("dac-member-{i}"))
}

/// A workload account's L2 key.
fn account_l2_key(i: u32) -> SecretKey {
    SecretKey::from_bytes(format!("terrace/lab/zk-account/{i}").as_bytes())
}

/// Withdrawal `i`'s L1 recipient (fresh: its balance moves by the claim
/// alone).
fn withdrawal_recipient(i: usize) -> Address {
    Address::from_public_key(&role_key(&format!("zk-withdrawal-{i}")).public_key())
}

/// A workload transfer in L2 terms: sender, receiver, units.
#[derive(Debug, Clone, Copy)]
struct Move {
    from: u32,
    to: u32,
    units: u64,
}

/// The run's operations, before account indices are known.
struct Plan {
    /// Paced transfers, then the backlog.
    moves: Vec<Move>,
    /// Transfers for the soft-confirmation phase (senders with accounts).
    soft: Vec<Move>,
    /// Workload accounts that deposit, in order, then the withdrawers.
    depositors: Vec<u32>,
    /// The workload info of `moves`.
    workload: WorkloadInfo,
}

impl Plan {
    fn new(run: &ZkRun) -> Self {
        let n = run.paced + run.backlog;
        let stream = run.workload.take(n + run.soft_rpc_txs * 8);
        let workload = WorkloadInfo::payments(&run.workload, &stream[..n]);
        let to_move = |t: &crate::workload::Transfer| Move {
            from: t.from,
            to: t.to,
            units: t.amount / 1_000_000_000,
        };
        let moves: Vec<Move> = stream[..n].iter().map(to_move).collect();
        let mut depositors: Vec<u32> = Vec::new();
        for m in &moves {
            if !depositors.contains(&m.from) {
                depositors.push(m.from);
            }
        }
        let soft = stream[n..]
            .iter()
            .filter(|t| depositors.contains(&t.from))
            .take(run.soft_rpc_txs)
            .map(to_move)
            .collect();
        // The withdrawers: accounts past the workload's, deposit-only.
        depositors.extend((0..run.withdrawals as u32).map(|i| run.workload.accounts + i));
        Self {
            moves,
            soft,
            depositors,
            workload,
        }
    }
}

/// What the prover did on this machine, outside the simulation.
fn calibrate(key: &ProvingKey, depth: u8, slots: usize) -> Result<Calibration, LabError> {
    let fail = |what: String| LabError::Config(format!("zk calibration: {what}"));
    let batch = sample_transfer_batch(depth, slots).map_err(|e| fail(e.to_string()))?;
    let mut rng = StdRng::seed_from_u64(7);
    // Reset the peak-RSS mark (Linux) so the peak is the proof's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (cpu, wall) = (cpu_time(), Instant::now());
    let proof = prover::prove(key, &batch, &mut rng).map_err(|e| fail(e.to_string()))?;
    let prove_ms = wall.elapsed().as_secs_f64() * 1000.0;
    let cpu_s = cpu_time().saturating_sub(cpu).as_secs_f64();
    let peak = peak_rss_bytes();
    let vk = key.verifying_key();
    let inputs = batch.statement.inputs();
    let runs = 10;
    let t = Instant::now();
    for _ in 0..runs {
        vk.verify(&proof, &inputs)
            .map_err(|e| fail(format!("the calibration proof does not verify: {e}")))?;
    }
    let verify_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    Ok(Calibration {
        prove_ms,
        cpu_s,
        peak,
        verify_ms,
        proof_bytes: proof.to_bytes().len(),
    })
}

struct Calibration {
    prove_ms: f64,
    cpu_s: f64,
    peak: u64,
    verify_ms: f64,
    proof_bytes: usize,
}

/// An operation the operator soft-confirmed in the run.
#[derive(Debug, Clone)]
struct Sent {
    id: Hash,
    at_ms: u64,
    /// Withdrawal number, for withdrawals.
    withdrawal: Option<usize>,
    /// In the backlog phase.
    backlog: bool,
    final_at: Option<(u64, u64)>,
}

/// A claim sent the moment its withdrawal's batch was final.
#[derive(Debug, Clone, Copy)]
struct ClaimSent {
    hash: Hash,
    final_at_ms: u64,
    sent_at_ms: u64,
    outcome: Option<bool>,
}

/// A proven batch as it landed on L1.
#[derive(Debug, Clone, Copy)]
struct BatchSeen {
    index: u64,
    ops: usize,
    /// Its public data (on L1, or with the committee).
    data_bytes: usize,
    /// Bytes of its `SubmitBatch` operation on L1: data or signatures,
    /// proof, roots (the L1 transaction's envelope, which every L1
    /// transaction has, excluded).
    batch_bytes: usize,
    l1_timestamp_ms: u64,
    l1_gas: u64,
    l1_fee: u128,
}

/// Everything the simulation observed.
#[derive(Default)]
struct Observed {
    sent: Vec<Sent>,
    claims: BTreeMap<usize, ClaimSent>,
    batches: Vec<BatchSeen>,
    soft_cpu_ms: Vec<f64>,
    proofs_wall_ms: Vec<f64>,
    backlog_from_ms: u64,
    bases: Vec<f64>,
    base_fee_after_backlog: f64,
    /// Workload account → L2 account index.
    index: HashMap<u32, u32>,
    domain: Option<Fr>,
    operator: Option<Shared>,
    /// Bytes the committee's members store, summed over members.
    committee_bytes: u64,
}

/// Runs `run`.
pub fn run(run: &ZkRun, progress: &dyn Fn(&str)) -> Result<DesignReport, LabError> {
    if run.validators == 0 || run.workload.accounts < 2 || run.slots == 0 {
        return Err(LabError::Config(
            "need a validator, two accounts and a batch size".into(),
        ));
    }
    let wall = Instant::now();
    let params = L1Preset::Terrace.params();
    progress(&format!(
        "{}: Groth16 setup of the depth-{} circuit with {} slots (wall clock)",
        run.name, run.depth, run.slots
    ));
    let setup_at = Instant::now();
    let key = Arc::new(
        deploy::setup(run.depth, run.slots, *b"terrace/lab/zk-rollup/setup/....")
            .map_err(|e| LabError::Config(format!("zk setup: {e}")))?,
    );
    let setup_s = setup_at.elapsed().as_secs_f64();
    progress(&format!(
        "{}: calibrating the prover on a batch of {} transfers (wall clock)",
        run.name, run.slots
    ));
    let cal = calibrate(&key, run.depth, run.slots)?;
    let pacing = Duration::from_micros((cal.prove_ms * 1000.0) as u64);
    let plan = Plan::new(run);
    progress(&format!(
        "{}: {} validators over the WAN model, operator proving {} transfers ({} paced at {:.1}/s, {} backlog), {} deposits, {} withdrawals; every proof real, paced at {:.2} s",
        run.name,
        run.validators,
        plan.moves.len(),
        run.paced,
        run.rate,
        run.backlog,
        plan.depositors.len(),
        run.withdrawals,
        pacing.as_secs_f64()
    ));
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(run.seed)
            .with_cycle(SCHEDULER_CYCLE)
            .with_timeout(Some(
                virtual_limit(run, pacing) + Duration::from_secs(3_600),
            )),
    );
    let sim_key = key.clone();
    let sim_plan = &plan;
    let sim_params = params.clone();
    let observed = runner.start(|context| async move {
        let mut sim = Sim::start(run, context, &sim_params, sim_key, pacing).await?;
        sim.open_accounts(sim_plan).await?;
        sim.paced(sim_plan).await?;
        sim.backlog(sim_plan).await?;
        sim.until_final().await?;
        sim.collect_batches().await?;
        Ok::<_, LabError>(sim.observed)
    })?;
    progress(&format!(
        "{}: soft confirmations over JSON-RPC on loopback (wall clock)",
        run.name
    ));
    let soft = soft_over_rpc(run, &plan, &observed)?;
    progress(&format!("{}: measuring", run.name));
    let constraints = prover::constraint_count(run.depth, run.slots)
        .map_err(|e| LabError::Config(format!("zk constraints: {e}")))?;
    let prover = ProverCost {
        depth: run.depth,
        slots: run.slots,
        constraints,
        setup_s,
        proving_key_bytes: key.size_bytes(),
        prove_ms_per_batch: cal.prove_ms,
        prove_cpu_s_per_tx: cal.cpu_s / run.slots as f64,
        proven_per_s: run.slots as f64 * 1000.0 / cal.prove_ms.max(1e-9),
        peak_rss_bytes: cal.peak,
        verify_ms: cal.verify_ms,
        proof_bytes: cal.proof_bytes,
        proofs_in_run: observed.proofs_wall_ms.len(),
        proof_ms_in_run: Percentiles::of(observed.proofs_wall_ms.clone()),
        clock: "wall-clock",
    };
    Ok(measure(
        run,
        &params,
        &observed,
        soft,
        plan.workload,
        prover,
        wall,
    ))
}

/// Virtual time the run may take: every operation proven one batch at a
/// time, twice over, and ten minutes.
fn virtual_limit(run: &ZkRun, pacing: Duration) -> Duration {
    let ops = run.paced + run.backlog + run.withdrawals + run.paced + run.backlog;
    let batches = ops.div_ceil(run.slots.max(1)) as u32 + 2;
    Duration::from_secs(600) + pacing * batches * 2
}

/// The running simulation.
struct Sim<'a> {
    run: &'a ZkRun,
    s: Stage,
    rollup: u64,
    operator: Shared,
    limit: Duration,
    begun: Duration,
    /// The funder's next L1 nonce (it deposits and claims).
    nonce: u64,
    observed: Observed,
    /// A validium's committee and the directory of its stores.
    committee: Option<(LocalCommittee, tempfile::TempDir)>,
}

/// Opens the committee of validium `rollup` in a temporary directory: one
/// member per key of its record, each with its own store.
pub(crate) async fn open_committee(
    s: &Stage,
    rollup: u64,
) -> Result<(LocalCommittee, tempfile::TempDir), LabError> {
    let record = deploy::record(&s.l1, rollup)
        .await
        .map_err(|e| s.fail(e.to_string()))?
        .ok_or_else(|| s.fail(String::from("the validium's record is gone")))?;
    let DataMode::Committee(c) = &record.config.data else {
        return Err(s.fail(String::from("not a validium")));
    };
    let dir = tempfile::tempdir().map_err(|e| s.fail(format!("committee stores: {e}")))?;
    let members = (0..c.members.len() as u8)
        .map(|i| {
            let key = member_key(i);
            let view =
                MemberView::new(&record, &key.public_key()).map_err(|e| s.fail(e.to_string()))?;
            Ok((key, view, dir.path().join(format!("member{i}"))))
        })
        .collect::<Result<Vec<_>, LabError>>()?;
    let committee = LocalCommittee::open(members).map_err(|e| s.fail(e.to_string()))?;
    Ok((committee, dir))
}

impl<'a> Sim<'a> {
    async fn start(
        run: &'a ZkRun,
        context: Ctx,
        params: &ChainParams,
        key: Arc<ProvingKey>,
        pacing: Duration,
    ) -> Result<Self, LabError> {
        let s = Stage::start(
            if run.committee.is_some() {
                "validium"
            } else {
                "zk-rollup"
            },
            context,
            run.validators,
            params.clone(),
            Vec::new(),
        )
        .await?;
        let config = match run.committee {
            None => deploy::config(&[&key], lab_settings(params)),
            Some((n, t)) => deploy::validium_config(
                &[&key],
                lab_settings(params),
                Committee {
                    members: (0..n).map(|i| member_key(i).public_key()).collect(),
                    threshold: t,
                },
            ),
        };
        let limit = virtual_limit(run, pacing);
        let wait = Waiting { poll: TICK, limit };
        let deployment = super::register(&s, &config, wait).await?;
        let committee = match run.committee {
            None => None,
            Some(_) => Some(open_committee(&s, deployment.rollup).await?),
        };
        let node = NodeConfig::operator(
            deployment,
            Role::Operator.key(),
            OperatorConfig {
                batch_interval: run.batch_interval,
                queue_max: 1_000_000,
                pipeline: 2,
            },
        );
        let node = match &committee {
            Some((c, _)) => node.with_committee(AnyCommittee::Local(c.clone())),
            None => node,
        };
        let prover = ProverSetup {
            pacing: [(run.slots, pacing)].into(),
            ..ProverSetup::new(vec![key], [3; 32])
        };
        let (_, operator) = deploy::start(&s.context, s.l1.clone(), node, Some(prover))
            .await
            .map_err(|e| s.fail(e.to_string()))?;
        let nonce = deploy::next_nonce(&s.l1, &Role::Verifier.key())
            .await
            .map_err(|e| s.fail(e.to_string()))?;
        let begun = s.now();
        Ok(Self {
            run,
            s,
            rollup: deployment.rollup,
            operator,
            committee,
            limit,
            begun,
            nonce,
            observed: Observed::default(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.s.now().as_millis() as u64
    }

    fn over(&self) -> Result<(), LabError> {
        if self.s.now() - self.begun > self.limit {
            return Err(self.s.fail("the run overran its virtual time limit"));
        }
        Ok(())
    }

    /// Signs and submits `op` from the funder without waiting.
    async fn send(&mut self, op: ZkOp) -> Result<Hash, LabError> {
        let payload = Payload::Validity(ValidityOp::Rollup {
            rollup: self.rollup,
            op,
        });
        let bytes = sign_l1(&self.s.l1, &Role::Verifier.key(), self.nonce, payload)
            .map_err(|e| self.s.fail(e.to_string()))?;
        let hash = self.s.l1.submit(bytes).await.map_err(|e| {
            self.s
                .fail(format!("L1 refused the funder's transaction: {e}"))
        })?;
        self.nonce += 1;
        Ok(hash)
    }

    /// Deposits for every depositor through L1, and waits until the
    /// proven state holds them all.
    async fn open_accounts(&mut self, plan: &Plan) -> Result<(), LabError> {
        for &a in &plan.depositors {
            self.send(deploy::deposit(&account_l2_key(a).public(), DEPOSIT_UNITS))
                .await?;
        }
        let keys: Vec<(u32, PublicKey)> = plan
            .depositors
            .iter()
            .map(|&a| (a, account_l2_key(a).public()))
            .collect();
        loop {
            let found: Option<HashMap<u32, u32>> = self.operator.with_follower(|f| {
                keys.iter()
                    .map(|(a, k)| f.state().find(k).map(|i| (*a, i)))
                    .collect()
            });
            if let Some(index) = found {
                self.observed.index = index;
                break;
            }
            self.over()?;
            self.s.context.sleep(TICK).await;
        }
        let rollup = deploy::record(&self.s.l1, self.rollup)
            .await
            .map_err(|e| self.s.fail(e.to_string()))?
            .ok_or_else(|| self.s.fail("no zk-rollup record"))?;
        self.observed.domain =
            Some(fr_from_le(&rollup.domain).ok_or_else(|| self.s.fail("a bad domain"))?);
        Ok(())
    }

    fn domain(&self) -> Fr {
        self.observed.domain.unwrap_or_default()
    }

    /// The signed operation of move `m` with `nonce`.
    fn transfer(&self, m: Move, nonce: u64) -> Result<L2Op, LabError> {
        let from = *self
            .observed
            .index
            .get(&m.from)
            .ok_or_else(|| self.s.fail(format!("account {} never opened", m.from)))?;
        Ok(L2Op::Transfer(Transfer::sign(
            &account_l2_key(m.from),
            self.domain(),
            from,
            account_l2_key(m.to).public(),
            m.units,
            nonce,
        )))
    }

    /// Withdrawal `i`'s signed operation.
    fn withdrawal(&self, i: usize) -> Result<L2Op, LabError> {
        let who = self.run.workload.accounts + i as u32;
        let from = *self
            .observed
            .index
            .get(&who)
            .ok_or_else(|| self.s.fail("a withdrawer never opened its account"))?;
        Ok(L2Op::Withdraw(Withdraw::sign(
            &account_l2_key(who),
            self.domain(),
            from,
            withdrawal_recipient(i).0,
            WITHDRAW_UNITS,
            0,
        )))
    }

    /// Submits `op` to the operator, timing the call on the wall clock.
    fn submit(
        &mut self,
        op: &L2Op,
        withdrawal: Option<usize>,
        backlog: bool,
    ) -> Result<(), LabError> {
        let at_ms = self.now_ms();
        let t = Instant::now();
        let receipt = self.operator.submit(op, at_ms).map_err(|e| {
            self.s
                .fail(format!("the operator refused an operation: {e}"))
        })?;
        if !backlog {
            self.observed
                .soft_cpu_ms
                .push(t.elapsed().as_secs_f64() * 1000.0);
        }
        self.observed.sent.push(Sent {
            id: receipt.id,
            at_ms,
            withdrawal,
            backlog,
            final_at: None,
        });
        Ok(())
    }

    /// Marks operations final as the operator sees them, and claims each
    /// withdrawal on L1 the moment its batch is final.
    async fn observe(&mut self) -> Result<(), LabError> {
        let now = self.now_ms();
        let mut claimable = Vec::new();
        for k in 0..self.observed.sent.len() {
            if self.observed.sent[k].final_at.is_some() {
                continue;
            }
            match self.operator.stage(&self.observed.sent[k].id) {
                Some(OpStage::Final(batch)) => {
                    self.observed.sent[k].final_at = Some((now, batch));
                    if let Some(w) = self.observed.sent[k].withdrawal {
                        claimable.push(w);
                    }
                }
                Some(OpStage::Dropped) => return Err(self.s.fail("an operation was dropped")),
                _ => {}
            }
        }
        for w in claimable {
            let to = withdrawal_recipient(w);
            let claim = self.operator.with_follower(|f| {
                let found = f.withdrawals().iter().find(|x| x.to == to)?;
                f.claim(found.batch, found.slot)
            });
            let claim = claim.ok_or_else(|| self.s.fail("no claim for a final withdrawal"))?;
            let hash = self.send(ZkOp::Claim(Box::new(claim))).await?;
            self.observed.claims.insert(
                w,
                ClaimSent {
                    hash,
                    final_at_ms: now,
                    sent_at_ms: self.now_ms(),
                    outcome: None,
                },
            );
        }
        for c in self.observed.claims.values_mut() {
            if c.outcome.is_none()
                && let Some(loc) = self.s.l1.chain.tx_location(&c.hash).await
            {
                c.outcome = Some(loc.receipt.failure.is_none());
            }
        }
        Ok(())
    }

    /// Sends the paced transfers at the run's rate, then the withdrawals.
    async fn paced(&mut self, plan: &Plan) -> Result<(), LabError> {
        let mut nonces: HashMap<u32, u64> = HashMap::new();
        let mut ops = Vec::new();
        for m in &plan.moves[..self.run.paced] {
            let n = nonces.entry(m.from).or_default();
            ops.push((self.transfer(*m, *n)?, None));
            *n += 1;
        }
        for i in 0..self.run.withdrawals {
            ops.push((self.withdrawal(i)?, Some(i)));
        }
        let start = self.now_ms();
        let mut k = 0;
        while k < ops.len() {
            let now = self.now_ms();
            while k < ops.len() && start + (k as f64 * 1000.0 / self.run.rate) as u64 <= now {
                let (op, w) = &ops[k];
                self.submit(op, *w, false)?;
                k += 1;
            }
            self.observed.bases.push(self.s.l1.next_base_fee() as f64);
            self.observe().await?;
            self.over()?;
            self.s.context.sleep(TICK).await;
        }
        Ok(())
    }

    /// Sends the backlog at once.
    async fn backlog(&mut self, plan: &Plan) -> Result<(), LabError> {
        let mut nonces: HashMap<u32, u64> = HashMap::new();
        for m in &plan.moves[..self.run.paced] {
            *nonces.entry(m.from).or_default() += 1;
        }
        self.observed.backlog_from_ms = self.now_ms();
        for m in &plan.moves[self.run.paced..] {
            let n = nonces.entry(m.from).or_default();
            let op = self.transfer(*m, *n)?;
            *n += 1;
            self.submit(&op, None, true)?;
        }
        Ok(())
    }

    /// Waits until every operation is final and every claim has landed.
    async fn until_final(&mut self) -> Result<(), LabError> {
        loop {
            self.observe().await?;
            let done = self.observed.sent.iter().all(|s| s.final_at.is_some())
                && self.observed.claims.len() == self.run.withdrawals
                && self.observed.claims.values().all(|c| c.outcome.is_some());
            if done {
                self.observed.base_fee_after_backlog = self.s.l1.next_base_fee() as f64;
                self.observed.operator = Some(self.operator.clone());
                return Ok(());
            }
            self.over()?;
            self.s.context.sleep(TICK).await;
        }
    }

    /// Each proven batch: where and when it landed on L1, what it cost.
    async fn collect_batches(&mut self) -> Result<(), LabError> {
        let batches = self.operator.with_follower(|f| f.batches().to_vec());
        for b in batches {
            let block = self
                .s
                .l1
                .block(b.height)
                .await
                .map_err(|e| self.s.fail(e.to_string()))?;
            let tx = ZkTx::of_block(&block).find(|t| {
                t.rollup == self.rollup
                    && t.failure.is_none()
                    && matches!(&t.op, ZkOp::SubmitBatch(s) if s.index == b.index)
            });
            let batch_bytes = tx.as_ref().map_or(0, |t| t.op.encode_size());
            let receipt = tx
                .and_then(|t| block.txs.iter().find(|f| f.hash == t.hash))
                .map(|f| f.receipt.clone())
                .ok_or_else(|| self.s.fail(format!("batch {} not on L1", b.index)))?;
            self.observed.batches.push(BatchSeen {
                index: b.index,
                ops: b.ops,
                data_bytes: b.data_bytes,
                batch_bytes,
                l1_timestamp_ms: block.timestamp_ms,
                l1_gas: receipt.gas_used,
                l1_fee: u128::from(receipt.gas_used) * u128::from(receipt.effective_gas_price),
            });
        }
        if let Some((c, _)) = &self.committee {
            self.observed.committee_bytes = (0..c.members() as u8)
                .filter_map(|m| c.with_member(m, |m| m.status().bytes))
                .sum();
        }
        self.observed.proofs_wall_ms = self
            .operator
            .events()
            .iter()
            .filter_map(|e| match e {
                Event::Proven { wall_ms, .. } => Some(*wall_ms as f64),
                _ => None,
            })
            .collect();
        Ok(())
    }
}

/// Soft confirmations as a user sees them: the run's operator (its soft
/// state where the simulation left it) behind its `zk_*` JSON-RPC on
/// loopback, one client sending the plan's soft transfers one at a time.
fn soft_over_rpc(run: &ZkRun, plan: &Plan, o: &Observed) -> Result<Option<Percentiles>, LabError> {
    let (Some(shared), Some(domain)) = (o.operator.clone(), o.domain) else {
        return Ok(None);
    };
    if plan.soft.is_empty() {
        return Ok(None);
    }
    let mut nonces: HashMap<u32, u64> = HashMap::new();
    for m in &plan.moves {
        *nonces.entry(m.from).or_default() += 1;
    }
    let mut requests = Vec::new();
    for m in &plan.soft {
        let Some(&from) = o.index.get(&m.from) else {
            continue;
        };
        let n = nonces.entry(m.from).or_default();
        let t = Transfer::sign(
            &account_l2_key(m.from),
            domain,
            from,
            account_l2_key(m.to).public(),
            m.units,
            *n,
        );
        *n += 1;
        requests.push(TransferRequest::new(&t));
    }
    let fail = |what: String| LabError::Run {
        design: run.name.clone(),
        what,
    };
    let latencies = cw_tokio::Runner::new(cw_tokio::Config::new()).start(|context| async move {
        let started = Instant::now();
        let now: terrace_zkrollup::rpc::Now =
            Box::new(move || started.elapsed().as_millis() as u64);
        let (addr, server) =
            terrace_zkrollup::rpc::serve(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), shared, now)
                .await
                .map_err(|e| fail(format!("serving zk_* on loopback: {e}")))?;
        let client = HttpClientBuilder::default()
            .build(format!("http://{addr}"))
            .map_err(|e| fail(format!("the JSON-RPC client: {e}")))?;
        let mut latencies = Vec::with_capacity(requests.len());
        let start = Instant::now();
        for (k, r) in requests.into_iter().enumerate() {
            let due = start + Duration::from_secs_f64(k as f64 / SOFT_RATE);
            let now = Instant::now();
            if due > now {
                context.sleep(due - now).await;
            }
            let sent = Instant::now();
            client
                .send_transfer(r)
                .await
                .map_err(|e| fail(format!("a soft confirmation over JSON-RPC: {e}")))?;
            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
        let _ = server.stop();
        Ok::<_, LabError>(latencies)
    })?;
    Ok(Some(Percentiles::of(latencies)))
}

/// The run's withdrawals: how many were claimed and paid, and the longest
/// a claim waited after its batch was final (virtual).
fn claims_paid(o: &Observed) -> ClaimsPaid {
    ClaimsPaid {
        withdrawals: o.claims.len(),
        paid: o
            .claims
            .values()
            .filter(|c| c.outcome == Some(true))
            .count(),
        max_after_final_ms: o
            .claims
            .values()
            .map(|c| c.sent_at_ms.saturating_sub(c.final_at_ms))
            .max()
            .unwrap_or(0),
    }
}

/// The design's report from what the simulation observed.
fn measure(
    run: &ZkRun,
    params: &ChainParams,
    o: &Observed,
    soft: Option<Percentiles>,
    workload: WorkloadInfo,
    prover: ProverCost,
    wall: Instant,
) -> DesignReport {
    let landed: HashMap<u64, &BatchSeen> = o.batches.iter().map(|b| (b.index, b)).collect();
    let tiers = |backlog: bool| {
        let (mut inc, mut fin) = (Vec::new(), Vec::new());
        for s in o.sent.iter().filter(|s| s.backlog == backlog) {
            if let Some((at, batch)) = s.final_at {
                fin.push(at.saturating_sub(s.at_ms) as f64);
                if let Some(b) = landed.get(&batch) {
                    inc.push(b.l1_timestamp_ms.saturating_sub(s.at_ms) as f64);
                }
            }
        }
        let fin = Percentiles::of(fin);
        Tiers {
            soft: if backlog { None } else { soft },
            soft_clock: (!backlog && soft.is_some()).then_some("wall-clock"),
            soft_how: (!backlog && soft.is_some()).then(|| {
                format!(
                    "JSON-RPC over HTTP on loopback (zk_sendTransfer), one client at {:.0} tx/s, {} requests",
                    SOFT_RATE,
                    soft.map_or(0, |s| s.samples)
                )
            }),
            included: Percentiles::of(inc),
            // A withdrawal is claimable in the block its batch's proof
            // lands in: withdrawable is final (the run's claims show it).
            withdrawable: fin,
            final_l1: fin,
        }
    };
    let latency = tiers(false);
    let latency_saturated = (run.backlog > 0).then(|| tiers(true));
    // L1 cost of the batches that carried the run's operations.
    let carrying: Vec<&BatchSeen> = {
        let used: std::collections::BTreeSet<u64> = o
            .sent
            .iter()
            .filter_map(|s| s.final_at.map(|(_, b)| b))
            .collect();
        o.batches
            .iter()
            .filter(|b| used.contains(&b.index))
            .collect()
    };
    let ops: usize = carrying.iter().map(|b| b.ops).sum();
    let per = |x: f64| if ops > 0 { x / ops as f64 } else { 0.0 };
    // What the rollup puts on L1 per operation: its batches' operations
    // (data or signatures, proof, roots).
    let bytes_per_tx = per(carrying.iter().map(|b| b.batch_bytes as f64).sum());
    // What a full node (zk-rollup) or each committee member (validium)
    // stores per operation: the public data.
    let data_per_tx = per(carrying.iter().map(|b| b.data_bytes as f64).sum());
    let gas_per_tx = per(carrying.iter().map(|b| b.l1_gas as f64).sum());
    let fee_per_tx = per(carrying.iter().map(|b| b.l1_fee as f64).sum());
    // Throughput: the backlog drained by the prover (virtual time, each
    // proof taking the calibrated wall-clock time).
    let drained_at = o
        .sent
        .iter()
        .filter(|s| s.backlog)
        .filter_map(|s| s.final_at.map(|(at, _)| at))
        .max();
    let measured_tps = match drained_at {
        Some(t) if t > o.backlog_from_ms => {
            run.backlog as f64 * 1000.0 / (t - o.backlog_from_ms) as f64
        }
        _ => 0.0,
    };
    let backlog_batches = carrying
        .iter()
        .filter(|b| {
            o.sent
                .iter()
                .any(|s| s.backlog && s.final_at.is_some_and(|(_, i)| i == b.index))
        })
        .count();
    let blocks_per_s = 1000.0 / params.block_time_ms.max(1) as f64;
    let per_block = |gas: u64| {
        if ops > 0 && gas_per_tx > 0.0 && bytes_per_tx > 0.0 {
            (params.block_bytes_max as f64 / bytes_per_tx).min(gas as f64 / gas_per_tx)
        } else {
            0.0
        }
    };
    DesignReport {
        design: run.name.clone(),
        layer: "l2",
        family: if run.committee.is_some() {
            "validium"
        } else {
            "zk-rollup"
        },
        clock: "simulated",
        validators: run.validators,
        block_time_ms: params.block_time_ms,
        block_bytes_max: params.block_bytes_max,
        block_gas_limit: params.block_gas_limit,
        block_gas_target: params.block_gas_target,
        workload,
        throughput: Throughput {
            measured_tps,
            clock: "simulated",
            blocks_measured: backlog_batches,
            txs_per_block: if carrying.is_empty() {
                0.0
            } else {
                ops as f64 / carrying.len() as f64
            },
            limit_tps: per_block(params.block_gas_limit) * blocks_per_s,
            target_tps: per_block(params.block_gas_target) * blocks_per_s,
            bound_by: format!(
                "the prover: one batch of {} proven in {:.2} s on {} cores (wall clock, calibrated), one prover at a time",
                run.slots,
                prover.prove_ms_per_batch / 1000.0,
                crate::util::cores()
            ),
            cpu_bound_tps: None,
            validator_cores: None,
            wall_clock_tps: None,
            block_bytes_used: measured_tps * bytes_per_tx
                / (params.block_bytes_max as f64 * blocks_per_s),
            block_gas_used: measured_tps * gas_per_tx
                / (params.block_gas_limit as f64 * blocks_per_s),
        },
        offered_tps: run.rate,
        latency,
        latency_saturated,
        l1_bytes_per_tx: bytes_per_tx,
        fee: Fee {
            l1_gas_per_tx: gas_per_tx,
            l1_data_gas_per_tx: bytes_per_tx * params.gas.per_byte as f64,
            base_fee_ater: quantiles(o.bases.clone()).map_or(0.0, |q| q(0.5)),
            fee_per_tx_ater: fee_per_tx,
            base_fee_after_saturation_ater: o.base_fee_after_backlog,
            // Transfers carry no L2 fee in this design (the operator is
            // paid per deposit, the inbox fee).
            l2_fee_per_tx_ater: Some(0.0),
        },
        node: NodeCost {
            storage_bytes_per_tx: data_per_tx,
            storage_bytes_per_s: measured_tps * data_per_tx,
            cpu_us_per_tx: prover.prove_cpu_s_per_tx * 1e6,
            soft_cpu_us: quantiles(o.soft_cpu_ms.clone()).map(|q| q(0.5) * 1000.0),
        },
        risks: Some(zk_risks(
            &run.name,
            run.depth,
            &[run.slots],
            &lab_settings(params),
            params,
            run.committee,
        )),
        prover: Some(prover),
        claims_paid: Some(claims_paid(o)),
        wall_s: wall.elapsed().as_secs_f64(),
    }
}
