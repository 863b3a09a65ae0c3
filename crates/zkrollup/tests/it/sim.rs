#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The zk-rollup end to end in deterministic simulation: four L1
//! validators on simulated links (every finalized block audited for the
//! supply invariant, escrow included), the operator with its prover, and
//! a watcher — real proofs verified by L1, fixed seeds, virtual time.

use commonware_codec::Encode as _;
use commonware_runtime::{Clock as _, Handle, Runner as _, deterministic};
use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};
use terrace_l1::{
    ChainParams, Payload, StateReader as _,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
    modules::validity::{Committee, DataMode, UNIT, ValidityOp, ZkOp, ZkRollup},
};
use terrace_mempool::PoolConfig;
use terrace_node::{
    chain::Chain,
    client::{L1, next_nonce},
    engine::{LocalClient, Timeouts, Validator},
    sim::{self, Network},
    state::empty_log,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey,
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};
use terrace_zk::{
    babyjubjub::SecretKey,
    fr_from_le,
    ops::{Transfer, Withdraw, code, exit_message},
    prover::ProvingKey,
    state::empty_root,
};
use terrace_zkrollup::{
    Event, Fault, L2Op, NodeConfig, OperatorConfig, Shared, Stage,
    dac::{AnyCommittee, Conduct, LocalCommittee, MemberView},
    deploy::{self, Deployment, ProverSetup, Settings, Waiting},
};

const CHAIN: ChainId = ChainId(9);
const DEPTH: u8 = 6;
const SLOTS: usize = 2;
const EXODUS_AFTER: u64 = 40;

type Ctx = deterministic::Context;

fn l1_key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

fn addr(i: u8) -> Address {
    Address::from_public_key(&l1_key(i).public_key())
}

fn validator_key(i: u8) -> PrivateKey {
    private_key_from_seed([100 + i; 32])
}

const OPERATOR: u8 = 1;
const ALICE: u8 = 2;
const BOB: u8 = 3;
const WATCHER: u8 = 4;

fn l2_key(name: &str) -> SecretKey {
    SecretKey::from_bytes(name.as_bytes())
}

/// One setup for every test of this binary (the slow part).
fn proving_key() -> Arc<ProvingKey> {
    static KEY: OnceLock<Arc<ProvingKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(deploy::setup(DEPTH, SLOTS, [7; 32]).unwrap()))
        .clone()
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params: ChainParams::default(),
        accounts: (1..=4)
            .map(|i| GenesisAccount {
                address: addr(i),
                balance: Amount(1_000_000 * 1_000_000_000_000_000_000),
            })
            .collect(),
        validators: (0..4)
            .map(|i| GenesisValidator {
                public_key: to_hex(&validator_key(i).public_key().encode()),
                stake: Amount(1_000_000_000_000_000_000),
            })
            .collect(),
    }
}

fn new_chain(genesis: &Genesis) -> Arc<Chain> {
    let chain = Chain::new(
        genesis.clone(),
        empty_log::<Ctx>(),
        PoolConfig::default(),
        1,
    )
    .unwrap();
    chain.enable_audit(
        (1..=4)
            .map(addr)
            .chain((0..4).map(|i| Address::from_public_key(&validator_key(i).public_key())))
            .collect(),
    );
    Arc::new(chain)
}

struct World {
    /// The validium's committee and the directory of its stores.
    committee: Option<(LocalCommittee, tempfile::TempDir)>,
    context: Ctx,
    _network: Network,
    _validators: Vec<Validator<Ctx>>,
    l1: LocalClient<Ctx>,
    deployment: Deployment,
    operator: Shared,
    operator_task: Handle<()>,
    watcher: Shared,
}

const TICK: Duration = Duration::from_millis(50);
const LIMIT: Duration = Duration::from_secs(600);

fn wait() -> Waiting {
    Waiting {
        poll: TICK,
        limit: LIMIT,
    }
}

/// Member `i` of a validium's committee.
fn member_key(i: u8) -> PrivateKey {
    private_key_from_seed([60 + i; 32])
}

/// The validium's committee: 2 of 3.
fn committee() -> Committee {
    Committee {
        members: (0..3).map(|i| member_key(i).public_key()).collect(),
        threshold: 2,
    }
}

impl World {
    async fn start(context: Ctx, fault: Fault) -> Self {
        Self::start_with(context, fault, None).await
    }

    /// A validium whose data `committee` keeps (members in this process,
    /// each with its own store).
    async fn validium(context: Ctx, fault: Fault) -> Self {
        Self::start_with(context, fault, Some(committee())).await
    }

    async fn start_with(context: Ctx, fault: Fault, committee: Option<Committee>) -> Self {
        let genesis = genesis();
        let keys: Vec<_> = (0..4).map(|i| validator_key(i).public_key()).collect();
        let probe = new_chain(&genesis);
        let network = Network::new(&context, &keys, &probe, sim::link(5, 1, 1000)).await;
        let mut validators = Vec::new();
        for i in 0..4 {
            validators.push(
                network
                    .start_validator(
                        &context,
                        &validator_key(i),
                        new_chain(&genesis),
                        Timeouts::WAN,
                        Default::default(),
                        0,
                    )
                    .await,
            );
        }
        let l1 = validators[0].client();
        while l1.finalized_height() < 1 {
            context.sleep(TICK).await;
        }
        let key = proving_key();
        let settings = Settings {
            operator: addr(OPERATOR),
            batch_bytes_max: 4_096,
            inbox_fee: Amount(UNIT),
            exodus_after_blocks: EXODUS_AFTER,
            inbox_deadline_blocks: EXODUS_AFTER / 2,
        };
        let config = match committee {
            None => deploy::config(&[&key], settings),
            Some(c) => deploy::validium_config(&[&key], settings, c),
        };
        let deployment = deploy::register(&context, &l1, &l1_key(OPERATOR), 0, &config, wait())
            .await
            .unwrap();
        let record = deploy::record(&l1, deployment.rollup)
            .await
            .unwrap()
            .unwrap();
        let committee = match &record.config.data {
            DataMode::OnChain => None,
            DataMode::Committee(c) => {
                let dir = tempfile::tempdir().unwrap();
                let members = (0..c.members.len() as u8)
                    .map(|i| {
                        let view = MemberView::new(&record, &member_key(i).public_key()).unwrap();
                        (member_key(i), view, dir.path().join(format!("member{i}")))
                    })
                    .collect();
                Some((LocalCommittee::open(members).unwrap(), dir))
            }
        };
        let with_committee = |config: NodeConfig| match &committee {
            Some((c, _)) => config.with_committee(AnyCommittee::Local(c.clone())),
            None => config,
        };
        let operator_config = NodeConfig::operator(
            deployment,
            l1_key(OPERATOR),
            OperatorConfig {
                batch_interval: Duration::from_millis(500),
                queue_max: 1_000,
                pipeline: 2,
            },
        )
        .with_fault(fault);
        let (operator_task, operator) = deploy::start(
            &context,
            l1.clone(),
            with_committee(operator_config),
            Some(ProverSetup::new(vec![key], [9; 32])),
        )
        .await
        .unwrap();
        let (_, watcher) = deploy::start(
            &context,
            l1.clone(),
            with_committee(NodeConfig::watcher(deployment, l1_key(WATCHER))),
            None,
        )
        .await
        .unwrap();
        Self {
            committee,
            context,
            _network: network,
            _validators: validators,
            l1,
            deployment,
            operator,
            operator_task,
            watcher,
        }
    }

    /// Sends `op` on the rollup from L1 key `who` and waits until final;
    /// returns L1's failure name, if it failed.
    async fn send(&self, who: u8, op: ZkOp) -> Option<&'static str> {
        let key = l1_key(who);
        let nonce = next_nonce(&self.l1, &key).await.unwrap();
        let payload = Payload::Validity(ValidityOp::Rollup {
            rollup: self.deployment.rollup,
            op,
        });
        deploy::send_and_wait(&self.context, &self.l1, &key, nonce, payload, "op", wait())
            .await
            .unwrap()
            .map(|f| f.name())
    }

    async fn until(&self, what: &str, mut done: impl FnMut() -> bool) {
        let start = self.context.current();
        while !done() {
            let waited = self.context.current().duration_since(start).unwrap();
            assert!(waited < LIMIT, "timed out waiting for {what}");
            self.context.sleep(TICK).await;
        }
    }

    async fn rollup(&self) -> ZkRollup {
        deploy::record(&self.l1, self.deployment.rollup)
            .await
            .unwrap()
            .unwrap()
    }

    async fn balance(&self, who: Address) -> u128 {
        L1::records(&self.l1, vec![terrace_l1::Key::Account(who)])
            .await
            .unwrap()
            .account(&who)
            .balance
            .0
    }

    fn domain(&self) -> terrace_zk::Fr {
        self.operator.with_follower(|f| f.state().domain())
    }

    fn proven(&self, key: &SecretKey) -> Option<(u32, u64)> {
        self.watcher.with_follower(|f| {
            let i = f.state().find(&key.public())?;
            Some((i, f.state().account(i)?.balance))
        })
    }
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(7_200))),
    )
}

#[test]
fn deposits_transfers_withdrawals_and_a_forced_exit_reach_l1_with_real_proofs() {
    runner(1).start(|context| async move {
        let w = World::start(context, Fault::None).await;
        let (alice, bob, carol) = (l2_key("alice"), l2_key("bob"), l2_key("carol"));
        let operator_before = w.balance(addr(OPERATOR)).await;
        assert_eq!(
            w.send(ALICE, deploy::deposit(&alice.public(), 1_000)).await,
            None
        );
        assert_eq!(w.send(BOB, deploy::deposit(&bob.public(), 10)).await, None);
        // Each paid the inbox fee to the operator.
        assert!(w.balance(addr(OPERATOR)).await >= operator_before + 2 * UNIT - 1);
        w.until("both deposits proven", || {
            w.proven(&alice).is_some() && w.proven(&bob).is_some()
        })
        .await;
        let (a, _) = w.proven(&alice).unwrap();
        let (b, _) = w.proven(&bob).unwrap();
        let domain = w.domain();
        let now = 0;
        let ops = [
            L2Op::Transfer(Transfer::sign(&alice, domain, a, bob.public(), 100, 0)),
            L2Op::Transfer(Transfer::sign(&alice, domain, a, carol.public(), 50, 1)),
            L2Op::Withdraw(Withdraw::sign(&bob, domain, b, addr(BOB).0, 60, 0)),
        ];
        let ids: Vec<_> = ops
            .iter()
            .map(|op| w.operator.submit(op, now).unwrap().id)
            .collect();
        // Soft at once: the operator's state has them.
        let soft = w.operator.with_state(|s, soft| {
            assert!(soft);
            (s.account(a).unwrap().balance, s.account(b).unwrap().balance)
        });
        assert_eq!(soft, (850, 50));
        // A replay is refused and changes nothing.
        assert!(w.operator.submit(&ops[0], now).is_err());
        w.until("all three final", || {
            ids.iter()
                .all(|id| matches!(w.operator.stage(id), Some(Stage::Final(_))))
        })
        .await;
        assert_eq!(w.proven(&alice).unwrap().1, 850);
        assert_eq!(w.proven(&bob).unwrap().1, 50);
        assert_eq!(w.proven(&carol).unwrap().1, 50);
        // The watcher rebuilt exactly the operator's proven state from L1.
        let root = w.rollup().await.root;
        assert_eq!(
            w.watcher.with_follower(|f| f.state().root()),
            fr_from_le(&root).unwrap()
        );

        // Bob's withdrawal is claimed on L1 by anyone, once.
        let withdrawal = w
            .watcher
            .with_follower(|f| f.withdrawals().iter().find(|x| x.to == addr(BOB)).copied())
            .unwrap();
        let claim = w
            .watcher
            .with_follower(|f| f.claim(withdrawal.batch, withdrawal.slot))
            .unwrap();
        let bob_before = w.balance(addr(BOB)).await;
        let mut forged = claim.clone();
        forged.amount += 1;
        assert_eq!(
            w.send(WATCHER, ZkOp::Claim(Box::new(forged))).await,
            Some("zk_invalid_withdrawal_proof")
        );
        assert_eq!(
            w.send(WATCHER, ZkOp::Claim(Box::new(claim.clone()))).await,
            None
        );
        assert_eq!(w.balance(addr(BOB)).await, bob_before + 60 * UNIT);
        assert_eq!(
            w.send(WATCHER, ZkOp::Claim(Box::new(claim))).await,
            Some("zk_already_claimed")
        );

        // Carol forces her exit through L1; the operator must process it.
        let serial = 1;
        let exit = ZkOp::ForcedExit {
            account: w.proven(&carol).unwrap().0,
            serial,
            key: carol.public().pack(),
            to: addr(ALICE),
            signature: carol
                .sign(exit_message(
                    domain,
                    code::FORCED_EXIT,
                    w.proven(&carol).unwrap().0,
                    serial,
                    &addr(ALICE).0,
                ))
                .pack(),
        };
        assert_eq!(w.send(ALICE, exit.clone()).await, None);
        // Its serial is spent: the same signature cannot be queued again.
        assert_ne!(w.send(ALICE, exit).await, None);
        w.until("carol's exit proven", || {
            w.proven(&carol).is_some_and(|(_, b)| b == 0)
        })
        .await;
        let carol_exit = w
            .watcher
            .with_follower(|f| {
                f.withdrawals()
                    .iter()
                    .find(|x| x.to == addr(ALICE))
                    .copied()
            })
            .unwrap();
        assert_eq!(carol_exit.amount, 50);
        let r = w.rollup().await;
        // Escrow: proven balances plus carol's unclaimed exit.
        assert_eq!(r.escrow.0, (850 + 50 + 50) * UNIT);
        assert!(
            !w.operator
                .events()
                .iter()
                .any(|e| matches!(e, Event::Failed { .. } | Event::Stuck(_))),
            "{:?}",
            w.operator.events()
        );
    });
}

#[test]
fn a_forged_proof_is_refused_by_l1_and_changes_nothing() {
    runner(2).start(|context| async move {
        let w = World::start(context, Fault::ForgeProof).await;
        assert_eq!(
            w.send(ALICE, deploy::deposit(&l2_key("alice").public(), 5))
                .await,
            None
        );
        w.until("a forged batch refused on L1", || {
            w.operator.events().iter().any(|e| {
                matches!(e, Event::Failed { op, failure } if op == "submit_batch 0" && *failure == "zk_invalid_proof")
            })
        })
        .await;
        let r = w.rollup().await;
        assert_eq!(r.batch_count, 0);
        assert_eq!(fr_from_le(&r.root).unwrap(), empty_root(DEPTH));
        assert_eq!(r.escrow.0, 5 * UNIT);
        assert!(w.proven(&l2_key("alice")).is_none());
        // The operator started again from L1's state after the failure.
        assert!(
            w.operator
                .events()
                .iter()
                .any(|e| matches!(e, Event::Rebased(_)))
        );
    });
}

#[test]
fn when_the_operator_vanishes_the_rollup_freezes_and_everyone_exits_or_is_refunded() {
    runner(3).start(|context| async move {
        let w = World::start(context, Fault::None).await;
        let alice = l2_key("alice");
        assert_eq!(
            w.send(ALICE, deploy::deposit(&alice.public(), 300)).await,
            None
        );
        w.until("alice's deposit proven", || w.proven(&alice).is_some())
            .await;
        w.operator_task.abort();
        // A deposit the operator never processes.
        assert_eq!(
            w.send(BOB, deploy::deposit(&l2_key("bob").public(), 7))
                .await,
            None
        );
        let domain = w.domain();
        let (a, _) = w.proven(&alice).unwrap();
        // Not frozen yet: an exit is refused.
        let exit = w
            .watcher
            .with_follower(|f| f.exit(a, &alice, addr(ALICE)))
            .unwrap();
        assert_eq!(
            w.send(ALICE, ZkOp::Exit(Box::new(exit.clone()))).await,
            Some("zk_not_frozen")
        );
        let l1 = w.l1.clone();
        let rollup = w.deployment.rollup;
        let start = w.context.current();
        loop {
            let r = deploy::record(&l1, rollup).await.unwrap().unwrap();
            if r.frozen_at.is_some() {
                break;
            }
            assert!(w.context.current().duration_since(start).unwrap() < LIMIT);
            w.context.sleep(TICK).await;
        }
        // Someone else's key cannot exit alice's account.
        assert!(
            w.watcher
                .with_follower(|f| f.exit(a, &l2_key("mallory"), addr(BOB)))
                .is_none()
        );
        let mut stolen = exit.clone();
        stolen.to = addr(BOB);
        assert_eq!(
            w.send(BOB, ZkOp::Exit(Box::new(stolen))).await,
            Some("zk_invalid_signature")
        );
        let mut inflated = exit.clone();
        inflated.balance += 1;
        assert_eq!(
            w.send(ALICE, ZkOp::Exit(Box::new(inflated))).await,
            Some("zk_invalid_exit_proof")
        );
        let alice_before = w.balance(addr(ALICE)).await;
        assert_eq!(
            w.send(WATCHER, ZkOp::Exit(Box::new(exit.clone()))).await,
            None
        );
        assert_eq!(w.balance(addr(ALICE)).await, alice_before + 300 * UNIT);
        assert_eq!(
            w.send(WATCHER, ZkOp::Exit(Box::new(exit))).await,
            Some("zk_already_exited")
        );
        // Bob's unprocessed deposit comes back to the depositor.
        let bob_before = w.balance(addr(BOB)).await;
        let r = w.rollup().await;
        assert_eq!(
            w.send(
                WATCHER,
                ZkOp::Refund {
                    position: r.inbox_count - 1
                }
            )
            .await,
            None
        );
        assert_eq!(w.balance(addr(BOB)).await, bob_before + 7 * UNIT);
        assert_eq!(w.rollup().await.escrow, Amount::ZERO);
        let _ = domain;
    });
}

/// The validium's batch `index` as the watcher replayed it: its data
/// commitment.
fn commitment_of(w: &World, index: usize) -> [u8; 32] {
    w.watcher
        .with_follower(|f| terrace_zk::fr_to_le(&f.batches()[index].statement.data))
}

/// `dac-member-crash`: a validium's users deposit, transfer and withdraw
/// while up to n − t members are down (one at a time, restarted from their
/// stores): batches keep landing on the other members' word, the watcher
/// rebuilds the state from the committee's data, and every batch is held
/// by at least t members.
#[test]
fn a_validium_keeps_landing_batches_while_a_member_is_down_and_pays_out() {
    runner(4).start(|context| async move {
        let w = World::validium(context, Fault::None).await;
        let (c, _) = w.committee.as_ref().unwrap();
        let (alice, bob) = (l2_key("alice"), l2_key("bob"));
        assert_eq!(
            w.send(ALICE, deploy::deposit(&alice.public(), 1_000)).await,
            None
        );
        assert_eq!(w.send(BOB, deploy::deposit(&bob.public(), 10)).await, None);
        w.until("both deposits proven", || {
            w.proven(&alice).is_some() && w.proven(&bob).is_some()
        })
        .await;
        let (a, _) = w.proven(&alice).unwrap();
        let (b, _) = w.proven(&bob).unwrap();
        let domain = w.domain();

        c.crash(2).unwrap();
        let ops = [
            L2Op::Transfer(Transfer::sign(&alice, domain, a, bob.public(), 100, 0)),
            L2Op::Withdraw(Withdraw::sign(&bob, domain, b, addr(BOB).0, 60, 0)),
        ];
        let ids: Vec<_> = ops
            .iter()
            .map(|op| w.operator.submit(op, 0).unwrap().id)
            .collect();
        w.until("final with member 2 down", || {
            ids.iter()
                .all(|id| matches!(w.operator.stage(id), Some(Stage::Final(_))))
        })
        .await;
        c.restart(2).unwrap();
        c.crash(0).unwrap();
        let t = L2Op::Transfer(Transfer::sign(&alice, domain, a, bob.public(), 1, 1));
        let id = w.operator.submit(&t, 0).unwrap().id;
        w.until("final with member 0 down", || {
            matches!(w.operator.stage(&id), Some(Stage::Final(_)))
        })
        .await;
        c.restart(0).unwrap();
        assert_eq!(w.proven(&alice).unwrap().1, 899);
        assert_eq!(w.proven(&bob).unwrap().1, 51);
        let r = w.rollup().await;
        assert_eq!(
            w.watcher.with_follower(|f| f.state().root()),
            fr_from_le(&r.root).unwrap(),
            "the watcher rebuilt L1's root from the committee's data"
        );
        // L1 carried none of the data; the watcher got all of it.
        assert!(w.watcher.with_follower(|f| {
            f.batches()
                .iter()
                .all(|b| b.posted_bytes == 0 && b.data_bytes > 0)
        }));
        for index in 0..r.batch_count {
            let commitment = commitment_of(&w, index as usize);
            let holders = (0..3)
                .filter(|m| {
                    c.with_member(*m, |m| m.get(index, &commitment).is_some())
                        .unwrap_or(false)
                })
                .count();
            assert!(holders >= 2, "batch {index} held by {holders} members");
        }
        // The withdrawal is final at once, as on the zk-rollup.
        let withdrawal = w
            .watcher
            .with_follower(|f| f.withdrawals().iter().find(|x| x.to == addr(BOB)).copied())
            .unwrap();
        let claim = w
            .watcher
            .with_follower(|f| f.claim(withdrawal.batch, withdrawal.slot))
            .unwrap();
        let before = w.balance(addr(BOB)).await;
        assert_eq!(w.send(WATCHER, ZkOp::Claim(Box::new(claim))).await, None);
        assert_eq!(w.balance(addr(BOB)).await, before + 60 * UNIT);
        assert!(
            !w.operator
                .events()
                .iter()
                .chain(w.watcher.events().iter())
                .any(|e| matches!(e, Event::Failed { .. } | Event::Stuck(_))),
            "{:?}",
            w.operator.events()
        );
    });
}

/// `validium-withholding`: the operator and n − t + 1 = 2 members sign a
/// batch whose data they give nobody, then the operator stops. The batch
/// lands (L1 sees two valid signatures and a valid proof), the honest
/// member refused to sign what it never received, the watcher cannot
/// replay past it, and once the rollup is frozen no exit proof against
/// the new root can be built: every balance is frozen in escrow. (The same
/// stop on a zk-rollup loses nothing: the exodus test above.)
#[test]
fn a_withheld_validium_batch_freezes_every_balance() {
    runner(5).start(|context| async move {
        let w = World::validium(context, Fault::None).await;
        let (c, _) = w.committee.as_ref().unwrap();
        let (alice, bob) = (l2_key("alice"), l2_key("bob"));
        assert_eq!(
            w.send(ALICE, deploy::deposit(&alice.public(), 300)).await,
            None
        );
        assert_eq!(w.send(BOB, deploy::deposit(&bob.public(), 50)).await, None);
        w.until("both deposits proven", || {
            w.proven(&alice).is_some() && w.proven(&bob).is_some()
        })
        .await;
        // The honest operator gives way to one that withholds, with two
        // colluding members.
        w.operator_task.abort();
        c.set_conduct(0, Conduct::Withhold).unwrap();
        c.set_conduct(1, Conduct::Withhold).unwrap();
        let withholding = NodeConfig::operator(
            w.deployment,
            l1_key(OPERATOR),
            OperatorConfig {
                batch_interval: Duration::from_millis(500),
                queue_max: 1_000,
                pipeline: 2,
            },
        )
        .with_fault(Fault::Withhold)
        .with_committee(AnyCommittee::Local(c.clone()));
        let (task, op) = deploy::start(
            &w.context,
            w.l1.clone(),
            withholding,
            Some(ProverSetup::new(vec![proving_key()], [9; 32])),
        )
        .await
        .unwrap();
        // A deposit it must take from the inbox: its batch is withheld.
        let mallory = l2_key("mallory");
        assert_eq!(
            w.send(WATCHER, deploy::deposit(&mallory.public(), 1)).await,
            None
        );
        let before = w.rollup().await.batch_count;
        w.until("the withheld batch lands", || {
            op.with_follower(|f| f.batch_count()) > before
        })
        .await;
        task.abort();
        let index = before;
        let r = w.rollup().await;
        assert_eq!(r.batch_count, index + 1);
        assert_eq!(r.escrow.0, 351 * UNIT);
        // Nobody serves it: the colluders withhold, the honest member
        // never got it (it refused to sign an empty offer).
        let commitment =
            op.with_follower(|f| terrace_zk::fr_to_le(&f.batches()[index as usize].statement.data));
        for m in 0..3 {
            assert_eq!(
                c.with_member(m, |m| m.get(index, &commitment)).flatten(),
                None
            );
        }
        assert!(c.with_member(2, |m| m.versions(index).is_empty()).unwrap());
        w.until("the watcher stuck at the withheld batch", || {
            w.watcher
                .events()
                .iter()
                .any(|e| matches!(e, Event::Stuck(s) if s.contains("not available")))
        })
        .await;
        assert_eq!(w.watcher.with_follower(|f| f.batch_count()), index);
        // The watcher still freezes the stalled rollup.
        let start = w.context.current();
        while w.rollup().await.frozen_at.is_none() {
            assert!(w.context.current().duration_since(start).unwrap() < LIMIT);
            w.context.sleep(TICK).await;
        }
        // Alice's last proof the watcher can build is against the root
        // before the withheld batch: L1 refuses it. Frozen: everything.
        let (a, _) = w.proven(&alice).unwrap();
        let exit = w
            .watcher
            .with_follower(|f| f.exit(a, &alice, addr(ALICE)))
            .unwrap();
        assert_eq!(
            w.send(ALICE, ZkOp::Exit(Box::new(exit))).await,
            Some("zk_invalid_exit_proof")
        );
        assert_eq!(w.rollup().await.escrow.0, 351 * UNIT);
    });
}
