//! An optimistic rollup on the in-memory test chain, with the honest L2
//! state derived beside it: deposits, batches with true or false roots,
//! the bisection game's honest moves and one-step proofs, claims, and the
//! bridge invariant checked after every block. Shared by the module's
//! tests and the whole-system fuzz target (`testing` feature).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test harness fails loudly

use super::*;
use crate::{Failure, Payload, Transaction, testing::*, tx::SignedTransaction};
use commonware_codec::Encode as _;
use terrace_l2::{
    Action, Batch, BlockContext, BlockTx, BlsRegistration, FullState, InboxMessage, L2Block,
    L2State, L2Transaction, OneStepProof, SignedL2Transaction, Step, run_steps,
};
use terrace_primitives::{
    Amount, BlsPrivateKey, BlsSignature, Hash, PrivateKey, keys::Signer as _,
};

pub const WINDOW: u64 = 10;
pub const SEQUENCING: u64 = 6;
pub const DEADLINE: u64 = 3;

pub fn config(sequencer: &PrivateKey) -> RollupConfig {
    RollupConfig {
        sequencer: addr(sequencer),
        poster_bond: Amount(10 * ETHER),
        challenge_bond: Amount(2 * ETHER),
        challenge_window_blocks: WINDOW,
        sequencing_window_blocks: SEQUENCING,
        batch_bytes_max: 100_000,
        move_deadline_blocks: DEADLINE,
    }
}

/// L1 with one rollup, and the honest L2 state derived from it.
#[derive(Debug)]
pub struct World {
    /// The L1 chain.
    pub c: Chain,
    /// The rollup's id.
    pub id: u64,
    /// Inbox messages, by position.
    pub inbox: Vec<InboxMessage>,
    /// The L2 state after the accepted batches.
    pub l2: FullState,
    /// The L2 state before each accepted batch, its steps and its roots.
    pub posted: Vec<(FullState, Vec<Step>, Vec<Hash>)>,
    /// Withdrawals claimed so far, for the bridge invariant.
    pub claimed: Amount,
}

pub fn sequencer() -> PrivateKey {
    key(0)
}
pub fn challenger() -> PrivateKey {
    key(3)
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A chain of five funded accounts and one validator, with the rollup
    /// registered by [`sequencer`] and its poster bond in place.
    pub fn new() -> Self {
        let mut c = Chain::new(5, 1);
        let s = sequencer();
        let out = c
            .block(vec![
                c.tx(&s, Payload::Optimistic(OptimisticOp::Create(config(&s)))),
                c.tx_nonce(
                    &s,
                    1,
                    Payload::Optimistic(OptimisticOp::Rollup {
                        rollup: 0,
                        op: RollupOp::Bond {
                            amount: Amount(10 * ETHER),
                        },
                    }),
                ),
            ])
            .unwrap();
        assert!(out.receipts.iter().all(|r| r.success()));
        Self {
            c,
            id: 0,
            inbox: Vec::new(),
            l2: FullState::new(),
            posted: Vec::new(),
            claimed: Amount::ZERO,
        }
    }

    /// The L2 account `user`'s key opened, in the honest state.
    pub fn account_of(&self, user: &PrivateKey) -> Option<u32> {
        (0..self.l2.accounts().len() as u32).find(|i| {
            self.l2
                .account_at(*i)
                .is_some_and(|a| a.key == user.public_key())
        })
    }

    pub fn rollup(&self) -> Rollup {
        self.c.state.rollup(self.id).expect("the rollup exists")
    }

    pub fn challenge(&self, id: u64) -> Option<Challenge> {
        self.c.state.challenge(self.id, id)
    }

    /// A signed operation, with room for a one-step proof's gas.
    pub fn op(&self, from: &PrivateKey, op: RollupOp) -> SignedTransaction {
        Transaction {
            chain_id: CHAIN,
            nonce: self.c.state.account(&addr(from)).nonce,
            max_fee_per_gas: self.c.base_fee * 2,
            max_priority_fee_per_gas: 1_000,
            gas_limit: 2_000_000,
            payload: Payload::Optimistic(OptimisticOp::Rollup {
                rollup: self.id,
                op,
            }),
        }
        .sign(from)
    }

    /// Runs one L1 block with `op` from `from` and checks the bridge;
    /// returns the operation's failure.
    pub fn send(&mut self, from: &PrivateKey, op: RollupOp) -> Option<Failure> {
        let failure = self.send_unchecked(from, op);
        self.check_bridge();
        failure
    }

    pub fn send_unchecked(&mut self, from: &PrivateKey, op: RollupOp) -> Option<Failure> {
        let tx = self.op(from, op);
        let out = self.c.block(vec![tx]).unwrap();
        out.receipts[0].failure
    }

    /// Mines empty blocks.
    pub fn wait(&mut self, blocks: u64) {
        for _ in 0..blocks {
            self.c.block(vec![]).unwrap();
        }
    }

    pub fn check_bridge(&self) {
        let rollup = self.rollup();
        // The L2 the chain has accepted: the honest state after its accepted
        // batches (a revert just now may have dropped some of `posted`).
        let l2 = self
            .posted
            .get(rollup.batch_count as usize)
            .map_or(&self.l2, |(before, _, _)| before);
        let supply = l2.supply().unwrap();
        let unclaimed = l2.withdrawn().unwrap().0 - self.claimed.0;
        // Deposits not yet consumed by a batch are escrowed but not on L2.
        let pending: u128 = self.inbox[rollup.inbox_consumed as usize..]
            .iter()
            .map(|m| match m {
                InboxMessage::Deposit(d) => d.amount.0,
                InboxMessage::Forced { .. } => 0,
            })
            .sum();
        assert_eq!(
            rollup.escrow.0,
            supply.0 + unclaimed + pending,
            "bridge invariant: escrow = L2 supply + unclaimed withdrawals + unconsumed deposits"
        );
    }

    pub fn deposit(&mut self, user: &PrivateKey, amount: u128) {
        assert_eq!(self.deposit_with(user, amount, None), None);
    }

    /// A deposit opening an account with user `i`'s BLS key.
    pub fn deposit_bls(&mut self, user: &PrivateKey, amount: u128) {
        let bls = bls_key(user);
        let registration = BlsRegistration {
            key: bls.public_key(),
            possession: bls.proof_of_possession(),
        };
        assert_eq!(
            self.deposit_with(user, amount, Some(Box::new(registration))),
            None
        );
    }

    pub fn deposit_with(
        &mut self,
        user: &PrivateKey,
        amount: u128,
        bls: Option<Box<BlsRegistration>>,
    ) -> Option<Failure> {
        let account = (0..self.l2.accounts().len() as u32)
            .find(|i| self.l2.account_at(*i).unwrap().key == user.public_key());
        let deposit = terrace_l2::Deposit {
            recipient: user.public_key(),
            account,
            amount: Amount(amount),
            bls,
        };
        let failure = self.send_unchecked(user, RollupOp::Deposit(deposit.clone()));
        if failure.is_none() {
            self.inbox.push(InboxMessage::Deposit(deposit));
        }
        self.check_bridge();
        failure
    }

    /// A batch of one block consuming the whole inbox, then `txs`.
    pub fn batch(&self, txs: Vec<SignedL2Transaction>) -> Batch {
        self.block_batch(txs.into_iter().map(BlockTx::Signed).collect(), vec![])
    }

    pub fn block_batch(&self, txs: Vec<BlockTx>, aggregates: Vec<BlsSignature>) -> Batch {
        Batch {
            blocks: vec![L2Block {
                timestamp_ms: 0,
                context: BlockContext {
                    fee_recipient: 0,
                    l2_gas_price: 1,
                    l1_byte_price: 1,
                },
                inbox_until: self.inbox.len() as u64,
                txs,
                aggregates,
            }],
        }
    }

    /// Posts `batch` from `poster`, claiming `lie` as the output root if
    /// given; returns the failure, and on success records the honest state.
    pub fn post(
        &mut self,
        poster: &PrivateKey,
        batch: &Batch,
        lie: Option<Hash>,
    ) -> Option<Failure> {
        let rollup = self.rollup();
        let (steps, end) = batch.steps(rollup.inbox_consumed).unwrap();
        let mut state = self.l2.clone();
        let inbox = self.inbox.clone();
        let roots: Vec<Hash> = run_steps(&mut state, self.id, &steps, |p| {
            inbox.get(p as usize).cloned()
        })
        .unwrap()
        .into_iter()
        .map(|(_, root)| root)
        .collect();
        let claimed = lie.unwrap_or(*roots.last().unwrap());
        let op = RollupOp::SubmitBatch(Box::new(BatchSubmission {
            index: rollup.batch_count,
            prev_output_root: rollup.output_root,
            output_root: claimed,
            step_count: steps.len() as u64,
            inbox_end: end,
            data: batch.compress().into(),
        }));
        let failure = self.send_unchecked(poster, op);
        if failure.is_none() {
            let before = std::mem::replace(&mut self.l2, state);
            self.posted.push((before, steps, roots));
        }
        self.check_bridge();
        failure
    }

    /// The honest output root after `k` steps of accepted batch `b`.
    pub fn honest_root(&self, b: usize, k: u64) -> Hash {
        let (before, _, roots) = &self.posted[b];
        if k == 0 {
            before.commitment().output_root()
        } else {
            roots[k as usize - 1]
        }
    }

    /// The one-step proof of step `k` of accepted batch `b`.
    pub fn one_step_proof(&self, b: usize, k: u64) -> OneStepProof {
        let (before, steps, _) = &self.posted[b];
        let mut state = before.clone();
        let inbox = self.inbox.clone();
        run_steps(&mut state, self.id, &steps[..k as usize], |p| {
            inbox.get(p as usize).cloned()
        })
        .unwrap();
        let message = match &steps[k as usize] {
            Step::Inbox { position } => Some(self.inbox[*position as usize].clone()),
            Step::Tx { .. } | Step::Aggregated { .. } => None,
        };
        OneStepProof::build(&state, self.id, steps, k, message).unwrap()
    }

    /// Forgets accepted batches from `b` on, as L1 did on a revert.
    pub fn revert_to(&mut self, b: usize) {
        self.l2 = self.posted[b].0.clone();
        self.posted.truncate(b);
    }
}

/// An L2 transfer from account `index`, signed by `from`.
pub fn transfer(
    from: &PrivateKey,
    index: u32,
    nonce: u64,
    to: u32,
    amount: u128,
) -> SignedL2Transaction {
    unsigned_transfer(index, nonce, to, amount).sign(0, from)
}

/// An L2 transfer from account `index`, not yet signed (a BLS account's
/// transfer is signed into the block's aggregate instead).
pub fn unsigned_transfer(index: u32, nonce: u64, to: u32, amount: u128) -> L2Transaction {
    L2Transaction {
        from: index,
        nonce,
        max_fee: Amount(ETHER),
        action: Action::Transfer {
            to,
            amount: Amount(amount),
        },
    }
}

pub fn withdraw(from: &PrivateKey, index: u32, nonce: u64, amount: u128) -> SignedL2Transaction {
    L2Transaction {
        from: index,
        nonce,
        max_fee: Amount(ETHER),
        action: Action::Withdraw {
            recipient: addr(from),
            amount: Amount(amount),
        },
    }
    .sign(0, from)
}

/// User `user`'s BLS key.
pub fn bls_key(user: &PrivateKey) -> BlsPrivateKey {
    BlsPrivateKey::from_seed(&terrace_primitives::hash(&[&user.public_key().encode()]).0)
}

/// Deposits for users 1 and 2 (accounts 0 and 1), posted in batch 0.
pub fn funded_world() -> World {
    let mut w = World::new();
    w.deposit(&key(1), 50 * ETHER);
    w.deposit(&key(2), 50 * ETHER);
    let batch = w.batch(vec![]);
    assert_eq!(w.post(&sequencer(), &batch, None), None);
    w
}

pub fn claim_of(w: &World, batch: u64, index: u64) -> WithdrawalClaim {
    WithdrawalClaim {
        batch,
        state: w.l2.commitment(),
        index,
        withdrawal: w.l2.withdrawals()[index as usize],
        proof: w.l2.withdrawal_proof(index).unwrap(),
    }
}
