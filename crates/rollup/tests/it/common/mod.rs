#![allow(dead_code, clippy::unwrap_used)]
//! Hand-built L1 blocks, keys and transactions shared by the pure and RPC
//! tests.

use terrace_l1::modules::optimistic::RollupOp;
use terrace_l2::{Action, Batch, BlockContext, Deposit, L2Transaction, SignedL2Transaction};
use terrace_primitives::{
    Address, Amount, Hash, PrivateKey,
    keys::{Signer as _, private_key_from_seed},
};
use terrace_rollup::{
    Derivation, Sequencer,
    l1::{L1Block, RollupTx},
};

pub const ROLLUP: u64 = 3;

pub fn key(i: u8) -> PrivateKey {
    private_key_from_seed([i; 32])
}

pub fn addr(i: u8) -> Address {
    Address::from_public_key(&key(i).public_key())
}

pub fn tx(hash: u8, sender: u8, op: RollupOp) -> RollupTx {
    RollupTx {
        hash: Hash::from([hash; 32]),
        sender: addr(sender),
        rollup: ROLLUP,
        op,
        failure: None,
    }
}

pub fn deposit(hash: u8, who: u8, amount: u128) -> RollupTx {
    tx(
        hash,
        who,
        RollupOp::Deposit(Deposit {
            recipient: key(who).public_key(),
            account: None,
            amount: Amount(amount),
            bls: None,
        }),
    )
}

/// User `i`'s BLS key.
pub fn bls_key(i: u8) -> terrace_primitives::BlsPrivateKey {
    terrace_primitives::BlsPrivateKey::from_seed(&[i.wrapping_add(100); 32])
}

/// A deposit opening an account with user `who`'s BLS key.
pub fn deposit_bls(hash: u8, who: u8, amount: u128) -> RollupTx {
    let bls = bls_key(who);
    tx(
        hash,
        who,
        RollupOp::Deposit(Deposit {
            recipient: key(who).public_key(),
            account: None,
            amount: Amount(amount),
            bls: Some(Box::new(terrace_l2::BlsRegistration {
                key: bls.public_key(),
                possession: bls.proof_of_possession(),
            })),
        }),
    )
}

pub fn block(height: u64, txs: Vec<RollupTx>) -> L1Block {
    L1Block {
        height,
        timestamp_ms: height * 250,
        txs: txs.into_iter().map(RollupTx::finalized).collect(),
    }
}

pub fn transfer(from: u8, account: u32, nonce: u64, to: u32, amount: u128) -> SignedL2Transaction {
    L2Transaction {
        from: account,
        nonce,
        max_fee: Amount(1_000_000),
        action: Action::Transfer {
            to,
            amount: Amount(amount),
        },
    }
    .sign(ROLLUP, &key(from))
}

pub const CONTEXT: BlockContext = BlockContext {
    fee_recipient: 0,
    l2_gas_price: 1,
    l1_byte_price: 10,
};

/// A derivation with accounts 0 (Alice) and 1 (Bob) deposited at height 0,
/// and a sequencer that has consumed them.
pub fn setup() -> (Derivation, Sequencer) {
    let mut d = Derivation::new(ROLLUP, 0);
    d.apply_block(&block(
        0,
        vec![deposit(1, 1, 1_000_000_000), deposit(2, 2, 1_000_000)],
    ))
    .unwrap();
    let mut s = Sequencer::new(&d, CONTEXT, 16 * 1024);
    s.take_inbox(d.inbox(), 2);
    (d, s)
}

pub fn post(d: &mut Derivation, height: u64, poster: u8, batch: &Batch, lie: bool) {
    let data = batch.compress();
    let mut sub = d.submission(d.batch_count(), batch, data).unwrap();
    if lie {
        sub.output_root = Hash::from([7; 32]);
    }
    d.apply_block(&block(
        height,
        vec![tx(
            100 + height as u8,
            poster,
            RollupOp::SubmitBatch(Box::new(sub)),
        )],
    ))
    .unwrap();
}

pub fn withdraw(from: u8, account: u32, nonce: u64, to: u8, amount: u128) -> SignedL2Transaction {
    L2Transaction {
        from: account,
        nonce,
        max_fee: Amount(1_000_000),
        action: Action::Withdraw {
            recipient: addr(to),
            amount: Amount(amount),
        },
    }
    .sign(ROLLUP, &key(from))
}

/// A rollup record with a challenge window of `window` L1 blocks and
/// `batches` standing batches.
pub fn rollup_record(window: u64, batches: u64) -> terrace_l1::modules::optimistic::Rollup {
    let mut rollup = terrace_l1::modules::optimistic::Rollup::new(
        terrace_l1::modules::optimistic::RollupConfig {
            sequencer: addr(0),
            poster_bond: Amount(1),
            challenge_bond: Amount(1),
            challenge_window_blocks: window,
            sequencing_window_blocks: 10,
            batch_bytes_max: 1 << 16,
            move_deadline_blocks: 5,
        },
        0,
    );
    rollup.batch_count = batches;
    rollup
}
