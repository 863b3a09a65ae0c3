#![allow(clippy::unwrap_used, clippy::expect_used)]
//! L1 and L2 together in deterministic simulation: four validators over a
//! simulated network, rollup nodes running beside validator 0, fixed
//! seeds and virtual time. Each scenario checks the bridge invariant
//! (escrow = L2 supply + unclaimed withdrawals + unconsumed deposits) at
//! every finalized height it observes, and the validators audit L1 supply
//! on every block.

use bytes::Bytes;
use commonware_codec::Encode as _;
use commonware_runtime::{
    Clock as _, Handle, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use std::{sync::Arc, time::Duration};
use terrace_l1::{
    ChainParams, Key, Payload, StateReader as _,
    execute::Failure as L1Failure,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
    rollup::{RollupConfig, RollupOp},
};
use terrace_l2::{Action, BlockContext, Deposit, L2Transaction, SignedL2Transaction};
use terrace_mempool::PoolConfig;
use terrace_node::{
    chain::Chain,
    engine::{Behavior, LocalClient, Timeouts, Validator},
    sim::{self, Network},
    state::empty_log,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey,
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};
use terrace_rollup::{
    Event, Fault, Node, NodeConfig, SequencerConfig, Shared,
    l1::{L1 as _, RollupRecords as _, sign_l1},
};

type Ctx = deterministic::Context;

const CHAIN: ChainId = ChainId(9);
const ETHER: u128 = 1_000_000_000_000_000_000;
const VALIDATORS: u8 = 4;
const ROLLUP: u64 = 0;

fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}
fn bls_key(i: u8) -> terrace_primitives::BlsPrivateKey {
    terrace_primitives::BlsPrivateKey::from_seed(&[i; 32])
}
fn validator_key(i: u8) -> PrivateKey {
    private_key_from_seed([100 + i; 32])
}
fn addr(k: &PrivateKey) -> Address {
    Address::from_public_key(&k.public_key())
}

const SEQUENCER: u8 = 0;
const VERIFIER: u8 = 1;
const ALICE: u8 = 2;
const BOB: u8 = 3;
const MALLORY: u8 = 4;
const OPERATOR: u8 = 5;
const ACCOUNTS: u8 = 6;

fn genesis() -> Genesis {
    Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params: ChainParams::default(),
        accounts: (0..ACCOUNTS)
            .map(|i| GenesisAccount {
                address: addr(&key(i)),
                balance: Amount(1_000 * ETHER),
            })
            .collect(),
        validators: (0..VALIDATORS)
            .map(|i| GenesisValidator {
                public_key: to_hex(&validator_key(i).public_key().encode()),
                stake: Amount(ETHER),
            })
            .collect(),
    }
}

/// Devnet-like windows, in L1 blocks of 250 ms.
fn rollup_config() -> RollupConfig {
    RollupConfig {
        sequencer: addr(&key(SEQUENCER)),
        poster_bond: Amount(10 * ETHER),
        challenge_bond: Amount(4 * ETHER),
        challenge_window_blocks: 40,
        sequencing_window_blocks: 16,
        batch_bytes_max: 64 * 1024,
        move_deadline_blocks: 8,
    }
}

fn new_chain(genesis: &Genesis) -> Chain {
    let chain = Chain::new(
        genesis.clone(),
        empty_log::<Ctx>(),
        PoolConfig::default(),
        1,
    )
    .unwrap();
    chain.enable_audit(
        (0..ACCOUNTS)
            .map(|i| addr(&key(i)))
            .chain((0..VALIDATORS).map(|i| addr(&validator_key(i))))
            .collect(),
    );
    chain
}

struct World {
    context: Ctx,
    _network: Network,
    validators: Vec<Validator<Ctx>>,
    l1: LocalClient<Ctx>,
    nodes: Vec<(NodeConfig, Handle<()>, Shared)>,
    /// Finalized heights already checked against the bridge invariant.
    checked: u64,
}

impl World {
    async fn start(context: Ctx) -> Self {
        let genesis = genesis();
        let keys: Vec<_> = (0..VALIDATORS)
            .map(|i| validator_key(i).public_key())
            .collect();
        let network = Network::new(
            &context,
            &keys,
            &new_chain(&genesis),
            sim::link(20, 5, 1000),
        )
        .await;
        let mut validators = Vec::new();
        for i in 0..VALIDATORS {
            validators.push(
                network
                    .start_validator(
                        &context,
                        &validator_key(i),
                        Arc::new(new_chain(&genesis)),
                        Timeouts::WAN,
                        Behavior::Honest,
                        0,
                    )
                    .await,
            );
        }
        let l1 = validators[0].client();
        let mut world = Self {
            context,
            _network: network,
            validators,
            l1,
            nodes: Vec::new(),
            checked: 0,
        };
        world.wait_l1(1).await;
        let receipt = world
            .send(SEQUENCER, Payload::CreateRollup(Box::new(rollup_config())))
            .await;
        assert!(receipt.is_none(), "rollup created: {receipt:?}");
        world
    }

    fn height(&self) -> u64 {
        self.l1.finalized_height()
    }

    async fn wait_l1(&mut self, height: u64) {
        self.wait("L1 height", |w| w.height() >= height).await;
    }

    /// Waits in virtual time until `done`, checking the bridge after each
    /// step; panics after ten virtual minutes.
    async fn wait(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let start = self.context.current();
        loop {
            self.check_bridge().await;
            if done(self) {
                return;
            }
            let waited = self.context.current().duration_since(start).unwrap();
            assert!(
                waited < Duration::from_secs(600),
                "{what}: not reached; L1 at {}, events {:#?}",
                self.height(),
                self.nodes.iter().map(|n| n.2.events()).collect::<Vec<_>>()
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends an L1 transaction from account `from` and waits for its
    /// receipt; returns its failure.
    async fn send(&mut self, from: u8, payload: Payload) -> Option<L1Failure> {
        let k = key(from);
        let records = self.l1.records(&[Key::Account(addr(&k))]).await.unwrap();
        let nonce = self
            .l1
            .chain
            .pool_next_nonce(&addr(&k))
            .unwrap_or(records.account(&addr(&k)).nonce);
        let bytes = sign_l1(&self.l1, &k, nonce, payload).unwrap();
        let hash = terrace_rollup::l1::L1::submit(&self.l1, bytes)
            .await
            .unwrap();
        let chain = self.l1.chain.clone();
        let mut found = None;
        let start = self.context.current();
        while found.is_none() {
            self.check_bridge().await;
            found = chain.tx_location(&hash).await;
            assert!(
                self.context.current().duration_since(start).unwrap() < Duration::from_secs(60),
                "transaction not finalized"
            );
            self.context.sleep(Duration::from_millis(50)).await;
        }
        found.unwrap().receipt.failure
    }

    async fn op(&mut self, from: u8, op: RollupOp) -> Option<L1Failure> {
        self.send(from, Payload::Rollup { rollup: ROLLUP, op })
            .await
    }

    async fn deposit(&mut self, from: u8, amount: u128) {
        self.deposit_to(from, from, amount).await
    }

    async fn deposit_to(&mut self, from: u8, to: u8, amount: u128) {
        let failure = self
            .op(
                from,
                RollupOp::Deposit(Deposit {
                    recipient: key(to).public_key(),
                    account: None,
                    amount: Amount(amount),
                    bls: None,
                }),
            )
            .await;
        assert!(failure.is_none(), "deposit: {failure:?}");
    }

    /// A deposit opening an account with `from`'s BLS key.
    async fn deposit_bls(&mut self, from: u8, amount: u128) {
        let bls = bls_key(from);
        let failure = self
            .op(
                from,
                RollupOp::Deposit(Deposit {
                    recipient: key(from).public_key(),
                    account: None,
                    amount: Amount(amount),
                    bls: Some(Box::new(terrace_l2::BlsRegistration {
                        key: bls.public_key(),
                        possession: bls.proof_of_possession(),
                    })),
                }),
            )
            .await;
        assert!(failure.is_none(), "deposit: {failure:?}");
    }

    fn spawn(&mut self, config: NodeConfig) -> usize {
        let clock = self.context.child("rollup_clock");
        let node = Node::new(clock, self.l1.clone(), config.clone());
        let shared = node.shared();
        let handle = self
            .context
            .child("rollup")
            .with_attribute("node", self.nodes.len())
            .spawn(move |_| node.run());
        self.nodes.push((config, handle, shared));
        self.nodes.len() - 1
    }

    /// Stops node `i` (its memory is lost) and starts it again from L1.
    fn restart(&mut self, i: usize) {
        self.nodes[i].1.abort();
        let config = self.nodes[i].0.clone();
        let clock = self.context.child("rollup_clock");
        let node = Node::new(clock, self.l1.clone(), config.clone());
        let shared = node.shared();
        let handle = self
            .context
            .child("rollup")
            .with_attribute("restart", i)
            .spawn(move |_| node.run());
        self.nodes[i] = (config, handle, shared);
    }

    fn shared(&self, i: usize) -> &Shared {
        &self.nodes[i].2
    }

    async fn l1_balance(&self, who: u8) -> Amount {
        let a = addr(&key(who));
        self.l1
            .records(&[Key::Account(a)])
            .await
            .unwrap()
            .account(&a)
            .balance
    }

    async fn rollup(&self) -> terrace_l1::rollup::Rollup {
        self.l1
            .records(&[Key::Rollup(ROLLUP)])
            .await
            .unwrap()
            .rollup(ROLLUP)
            .unwrap()
    }

    /// The bridge invariant at the current finalized height, as seen by
    /// the first node (a derivation from L1 alone): the escrow holds the L2
    /// supply, the withdrawals not yet claimed, and the deposits not yet
    /// consumed.
    async fn check_bridge(&mut self) {
        let Some((_, _, shared)) = self.nodes.first() else {
            return;
        };
        let height = self.height();
        if height <= self.checked {
            return;
        }
        let withdrawals = shared.with_derivation(|d| d.state().withdrawals().len() as u64);
        let mut keys = vec![Key::Rollup(ROLLUP)];
        keys.extend((0..withdrawals).map(|i| Key::RollupClaim(ROLLUP, i)));
        let records = self.l1.records(&keys).await.unwrap();
        if self.height() != height {
            return; // moved on while reading: sample the next height
        }
        let Some(rollup) = records.rollup(ROLLUP) else {
            return;
        };
        let expected = shared.with_derivation(|d| {
            if d.next_height() != height + 1 {
                return None;
            }
            let state = d.state();
            let mut total = state.supply().unwrap();
            for (i, w) in state.withdrawals().iter().enumerate() {
                if !records.claimed(ROLLUP, i as u64) {
                    total = total.checked_add(w.amount).unwrap();
                }
            }
            let cursor = terrace_l2::L2State::commitment(state).inbox_cursor as usize;
            for m in &d.inbox()[cursor..] {
                if let terrace_l2::InboxMessage::Deposit(dep) = m {
                    total = total.checked_add(dep.amount).unwrap();
                }
            }
            Some(total)
        });
        if let Some(expected) = expected {
            assert_eq!(
                rollup.escrow, expected,
                "bridge invariant at L1 height {height}"
            );
            self.checked = height;
        }
    }

    /// Checks the validators' audits (L1 supply on every block).
    fn check_audits(&self) {
        for (i, v) in self.validators.iter().enumerate() {
            for (h, r) in v.chain.audit_results() {
                assert!(r.is_ok(), "validator {i} height {h}: {r:?}");
            }
        }
    }
}

fn sequencer_config(fault: Fault) -> NodeConfig {
    NodeConfig {
        rollup: ROLLUP,
        from_height: 0,
        key: key(SEQUENCER),
        sequencer: Some(SequencerConfig {
            context: BlockContext {
                fee_recipient: 0,
                l2_gas_price: 1_000,
                l1_byte_price: 10_000,
            },
            block_time: Duration::from_millis(200),
            batch_interval: Duration::from_millis(1_000),
            track_l1_fee: false,
        }),
        challenger: false,
        fallback_poster: false,
        poll: Duration::from_millis(100),
        fault,
    }
}

fn verifier_config(who: u8, fault: Fault) -> NodeConfig {
    NodeConfig {
        rollup: ROLLUP,
        from_height: 0,
        key: key(who),
        sequencer: None,
        challenger: true,
        fallback_poster: true,
        poll: Duration::from_millis(100),
        fault,
    }
}

fn runner(seed: u64) -> deterministic::Runner {
    deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(seed)
            .with_timeout(Some(Duration::from_secs(7_200))),
    )
}

fn l2_tx(from: u8, account: u32, nonce: u64, action: Action) -> SignedL2Transaction {
    L2Transaction {
        from: account,
        nonce,
        max_fee: Amount(ETHER / 100),
        action,
    }
    .sign(ROLLUP, &key(from))
}

fn transfer(from: u8, account: u32, nonce: u64, to: u32, amount: u128) -> SignedL2Transaction {
    l2_tx(
        from,
        account,
        nonce,
        Action::Transfer {
            to,
            amount: Amount(amount),
        },
    )
}

/// Opens the L2 accounts: the sequencer's fee account (0), Alice (1) and
/// Bob (2), waiting until the sequencer has consumed the deposits.
async fn open_accounts(w: &mut World, seq: usize) {
    // The operator funds the sequencer's fee account from another key
    // (the sequencer's own L1 nonces belong to its node).
    w.deposit_to(OPERATOR, SEQUENCER, ETHER).await;
    w.deposit(ALICE, 100 * ETHER).await;
    w.deposit(BOB, ETHER).await;
    let shared = w.shared(seq).clone();
    w.wait("deposits on L2", |_| shared.account(2).is_some())
        .await;
    assert_eq!(shared.find_account(&key(ALICE).public_key()), Some(1));
    assert_eq!(shared.find_account(&key(BOB).public_key()), Some(2));
}

fn balance(shared: &Shared, account: u32) -> u128 {
    shared.account(account).map(|a| a.balance.0).unwrap_or(0)
}

#[test]
fn deposit_transfer_withdraw_and_claim_after_the_window() {
    runner(11).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let seq = w.spawn(sequencer_config(Fault::None));
        open_accounts(&mut w, seq).await;
        let s = w.shared(seq).clone();

        // Transfers are confirmed at once with their real outcome.
        let before = balance(&s, 2);
        for n in 0..5 {
            let r = s.submit(transfer(ALICE, 1, n, 2, ETHER)).unwrap();
            assert!(r.fee.0 > 0);
        }
        assert_eq!(balance(&s, 2), before + 5 * ETHER);
        // A replay and a bad nonce are refused and change nothing.
        assert!(s.submit(transfer(ALICE, 1, 0, 2, ETHER)).is_err());
        assert!(s.submit(transfer(ALICE, 1, 9, 2, ETHER)).is_err());
        assert_eq!(balance(&s, 2), before + 5 * ETHER);

        // Bob withdraws 2 ETH to his L1 address.
        let withdraw = l2_tx(
            BOB,
            2,
            0,
            Action::Withdraw {
                recipient: addr(&key(BOB)),
                amount: Amount(2 * ETHER),
            },
        );
        let hash = withdraw.hash();
        let index = s.submit(withdraw).unwrap().withdrawal.unwrap();
        w.wait("withdrawal posted", |_| s.receipt(&hash).unwrap().posted)
            .await;

        // Before the window ends the claim is refused and changes nothing.
        let v = w.shared(verifier).clone();
        let claim = v.with_derivation(|d| {
            let batch = d.batch_count() - 1;
            d.withdrawal_claim(batch, index).unwrap()
        });
        let escrow = w.rollup().await.escrow;
        let failure = w.op(BOB, RollupOp::Claim(Box::new(claim))).await;
        assert_eq!(failure, Some(L1Failure::NotFinal));
        assert_eq!(w.rollup().await.escrow, escrow);

        // After it: a forged claim fails, the true one pays, a second fails.
        w.wait("withdrawal final", |_| s.receipt(&hash).unwrap().finalized)
            .await;
        let claim = v.with_derivation(|d| d.withdrawal_claim(d.final_count() - 1, index).unwrap());
        let mut forged = claim.clone();
        forged.withdrawal.amount = Amount(20 * ETHER);
        assert_eq!(
            w.op(BOB, RollupOp::Claim(Box::new(forged))).await,
            Some(L1Failure::InvalidWithdrawalProof)
        );
        let bob = w.l1_balance(BOB).await;
        assert_eq!(
            w.op(BOB, RollupOp::Claim(Box::new(claim.clone()))).await,
            None
        );
        let paid = w.l1_balance(BOB).await.0 as i128 - bob.0 as i128;
        assert!(
            paid > (2 * ETHER) as i128 - (ETHER / 100) as i128,
            "paid {paid}"
        );
        assert_eq!(
            w.op(BOB, RollupOp::Claim(Box::new(claim))).await,
            Some(L1Failure::AlreadyClaimed)
        );
        // Every batch was honest: nobody challenged.
        assert!(v.with_derivation(|d| d.first_invalid().is_none()));
        assert!(
            !v.events()
                .iter()
                .any(|e| matches!(e, Event::Sent(s) if s.starts_with("challenge")))
        );
        w.check_audits();
    });
}

/// The malicious sequencer lies about batch 1; `crash` restarts the
/// challenger mid-game (scenario 6).
fn wrong_root_is_challenged_and_reverted(seed: u64, crash: bool) {
    runner(seed).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let seq = w.spawn(sequencer_config(Fault::WrongRoot { batch: 1 }));
        open_accounts(&mut w, seq).await;
        let s = w.shared(seq).clone();
        let v = w.shared(verifier).clone();
        let verifier_l1 = w.l1_balance(VERIFIER).await;
        w.wait("batch 0 stands", |_| v.status().batches >= 1).await;
        for n in 0..6 {
            s.submit(transfer(ALICE, 1, n, 2, ETHER)).unwrap();
        }
        w.wait("challenge opened", |w| {
            w.shared(verifier)
                .events()
                .iter()
                .any(|e| matches!(e, Event::Sent(s) if s == "challenge batch 1"))
        })
        .await;
        let opened_at = w.height();
        if crash {
            w.context.sleep(Duration::from_millis(600)).await;
            w.restart(verifier);
        }
        // The batch is reverted and the honest chain re-posted over it.
        w.wait("honest chain re-posted", |w| {
            let v = w.shared(verifier);
            v.events().iter().any(|e| matches!(e, Event::Reverted(1)))
                && v.with_derivation(|d| d.batch_count() >= 2 && d.first_invalid().is_none())
        })
        .await;
        let settled_at = w.height();
        let rollup = w.rollup().await;
        let records =
            w.l1.records(&[Key::RollupBond(ROLLUP, addr(&key(SEQUENCER)))])
                .await
                .unwrap();
        let bond = terrace_rollup::l1::bond_amount(&records, ROLLUP, addr(&key(SEQUENCER)));
        // The sequencer lost its bond (then bonded again to post).
        let seq_events = s.events();
        assert!(
            seq_events
                .iter()
                .filter(|e| matches!(e, Event::Sent(s) if s == "bond"))
                .count()
                >= 2,
            "{seq_events:#?}"
        );
        assert!(bond >= rollup.config.poster_bond);
        // The challenger got its bond back and half the slashed bond.
        let gained = w.l1_balance(VERIFIER).await.0 as i128 - verifier_l1.0 as i128;
        assert!(gained > (4 * ETHER) as i128, "challenger gained {gained}");
        // No user lost funds: Alice's transfers stand on the honest chain.
        let v = w.shared(verifier).clone();
        w.wait("transfers re-posted", |_| {
            v.with_derivation(|d| d.state().account_at(2).map(|a| a.balance.0)) == Some(7 * ETHER)
        })
        .await;
        println!(
            "challenge of a {}-step batch settled {} L1 blocks after it opened",
            rollup_steps(&v, 1),
            settled_at - opened_at
        );
        w.check_audits();
    });
}

fn rollup_steps(v: &Shared, batch: u64) -> u64 {
    v.with_derivation(|d| d.batch(batch).map(|b| b.steps.len() as u64).unwrap_or(0))
}

#[test]
fn a_wrong_output_root_is_challenged_slashed_and_reverted() {
    wrong_root_is_challenged_and_reverted(21, false);
}

#[test]
fn a_challenger_restarted_mid_game_still_wins() {
    wrong_root_is_challenged_and_reverted(22, true);
}

/// A dishonest challenger disputes correct batches; `crash` restarts the
/// defending sequencer mid-game.
fn false_challenge_loses_its_bond(seed: u64, crash: bool) {
    runner(seed).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let seq = w.spawn(sequencer_config(Fault::None));
        open_accounts(&mut w, seq).await;
        let mallory_l1 = w.l1_balance(MALLORY).await;
        let sequencer_l1 = w.l1_balance(SEQUENCER).await;
        let mallory = w.spawn(verifier_config(MALLORY, Fault::DisputeValid));
        let s = w.shared(seq).clone();
        for n in 0..4 {
            s.submit(transfer(ALICE, 1, n, 2, ETHER)).unwrap();
        }
        w.wait("mallory challenged", |w| {
            w.shared(mallory)
                .events()
                .iter()
                .any(|e| matches!(e, Event::Sent(s) if s.starts_with("challenge")))
        })
        .await;
        if crash {
            w.context.sleep(Duration::from_millis(500)).await;
            w.restart(seq);
        }
        // Every challenge ends with the defender winning: nothing reverted.
        w.wait("challenges settled, batches final", |w| {
            let v = w.shared(verifier);
            let st = v.status();
            st.final_batches >= 1 && st.final_batches == st.batches
        })
        .await;
        let rollup = w.rollup().await;
        assert!(rollup.disputed.is_empty());
        assert!(
            !w.shared(verifier)
                .events()
                .iter()
                .any(|e| matches!(e, Event::Reverted(_)))
        );
        let lost = mallory_l1.0 as i128 - w.l1_balance(MALLORY).await.0 as i128;
        assert!(lost >= (4 * ETHER) as i128, "mallory lost {lost}");
        let seq_gain = w.l1_balance(SEQUENCER).await.0 as i128 - sequencer_l1.0 as i128;
        println!("sequencer balance change over the run: {seq_gain}");
        w.check_audits();
    });
}

#[test]
fn a_false_challenge_loses_its_bond() {
    false_challenge_loses_its_bond(31, false);
}

#[test]
fn a_defender_restarted_mid_game_still_wins() {
    false_challenge_loses_its_bond(32, true);
}

#[test]
fn a_censored_user_gets_in_through_the_inbox() {
    runner(41).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let seq = w.spawn(sequencer_config(Fault::Censor { account: 1 }));
        open_accounts(&mut w, seq).await;
        let s = w.shared(seq).clone();
        let tx = transfer(ALICE, 1, 0, 2, 3 * ETHER);
        // The sequencer's own check passes, but a censoring one refuses at
        // the door; the user goes through L1.
        let _ = s.submit(tx.clone());
        let failure = w
            .op(
                ALICE,
                RollupOp::ForceInclude {
                    tx: Bytes::from(tx.encode().to_vec()),
                },
            )
            .await;
        assert_eq!(failure, None);
        // Bob keeps transacting, so the censor keeps posting batches that
        // leave the forced transaction out.
        let v = w.shared(verifier).clone();
        let mut bob_nonce = 0;
        let start = w.height();
        while v.with_derivation(|d| d.state().account_at(1).map(|a| a.balance.0))
            != Some(97 * ETHER)
        {
            assert!(w.height() < start + 400, "forced transfer never executed");
            let tx = transfer(BOB, 2, bob_nonce, 0, 1_000);
            if s.submit(tx).is_ok() {
                bob_nonce += 1;
            }
            let next = w.height() + 1;
            w.wait_l1(next).await;
        }
        // The censoring sequencer's batches were refused once the forced
        // transaction aged past the sequencing window, and the verifier
        // posted it through the escape hatch.
        assert!(
            s.events().iter().any(|e| matches!(
                e,
                Event::Failed { op, failure: "inbox_skipped" } if op.starts_with("submit_batch")
            )),
            "{:#?}",
            s.events()
        );
        assert!(
            v.events()
                .iter()
                .any(|e| matches!(e, Event::Sent(op) if op.starts_with("submit_batch")))
        );
        w.check_audits();
    });
}

#[test]
fn a_silent_sequencer_is_bypassed_through_the_escape_hatch() {
    runner(51).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let _seq = w.spawn(sequencer_config(Fault::Silent));
        w.deposit(ALICE, 5 * ETHER).await;
        let v = w.shared(verifier).clone();
        w.wait("deposit posted by the verifier", |_| {
            v.with_derivation(|d| d.state().account_at(0).map(|a| a.balance.0)) == Some(5 * ETHER)
        })
        .await;
        let rollup = w.rollup().await;
        assert!(rollup.batch_count >= 1);
        assert_eq!(
            v.with_derivation(|d| d.pending().first().map(|b| b.poster)),
            Some(addr(&key(VERIFIER)))
        );
        w.check_audits();
    });
}

/// A sequencer slips an unsigned transfer out of Carol's BLS account into a
/// block beside her own aggregated transfer. Every root it posts is the
/// true result of its data, so bisection could not catch it; the verifier
/// proves the bad aggregate in one L1 transaction, the batch falls, the
/// sequencer is slashed, and Carol's own transfer is re-posted while the
/// forged one never comes back.
#[test]
fn a_forged_aggregate_is_proven_and_the_theft_undone() {
    runner(61).start(|context| async move {
        let mut w = World::start(context).await;
        let verifier = w.spawn(verifier_config(VERIFIER, Fault::None));
        let seq = w.spawn(sequencer_config(Fault::ForgeAggregate { from: 3, to: 0 }));
        open_accounts(&mut w, seq).await;
        let carol = MALLORY;
        w.deposit_bls(carol, 10 * ETHER).await;
        let s = w.shared(seq).clone();
        let v = w.shared(verifier).clone();
        let verifier_l1 = w.l1_balance(VERIFIER).await;
        let honest = L2Transaction {
            from: 3,
            nonce: 0,
            max_fee: Amount(ETHER / 100),
            action: Action::Transfer {
                to: 2,
                amount: Amount(ETHER),
            },
        }
        .sign_bls(ROLLUP, &bls_key(carol));
        // Her key must be on L1 (in a landed batch) before she sends.
        w.wait("Carol's aggregated transfer accepted", |_| {
            s.submit_aggregated(honest.clone()).is_ok()
        })
        .await;
        w.wait("the bad aggregate proven", |w| {
            w.shared(verifier)
                .events()
                .iter()
                .any(|e| matches!(e, Event::Sent(s) if s.starts_with("prove_aggregate")))
        })
        .await;
        w.wait("honest chain re-posted", |w| {
            let v = w.shared(verifier);
            v.events().iter().any(|e| matches!(e, Event::Reverted(_)))
                && v.with_derivation(|d| {
                    d.first_invalid().is_none()
                        && d.state().account_at(2).map(|a| a.balance.0) == Some(2 * ETHER)
                })
        })
        .await;
        // Carol lost only her transfer and its fee; the sequencer's fee
        // account holds no stolen funds.
        let carol_now = v.with_derivation(|d| d.state().account_at(3).unwrap().balance.0);
        assert!(
            carol_now > 9 * ETHER - ETHER / 100 && carol_now < 9 * ETHER,
            "Carol holds {carol_now}"
        );
        assert!(v.with_derivation(|d| d.state().account_at(0).unwrap().balance.0) < 2 * ETHER);
        assert!(
            s.events().iter().any(|e| matches!(e, Event::Rebased(_))),
            "the sequencer rebased past its forged block"
        );
        // The prover took half the slashed bond, with no bond of its own.
        let gained = w.l1_balance(VERIFIER).await.0 as i128 - verifier_l1.0 as i128;
        assert!(gained > (4 * ETHER) as i128, "prover gained {gained}");
        w.check_audits();
    });
}
