//! The batch circuit: one proof that a fixed number of slots, applied in
//! order to the account tree, take the old root to the new one, with the
//! data, inbox and withdrawals commitments the public inputs state.
//!
//! Each slot checks, whatever its kind (the circuit is uniform; selector
//! bits switch the effects on and off):
//! - account A's leaf against the current root, A's update (debit, nonce),
//!   the intermediate root;
//! - for signed kinds, the EdDSA-Poseidon signature by A's key over the
//!   domain-bound message, with `S < l`;
//! - account B's leaf against the intermediate root, B's credit (creating
//!   the account in an empty slot, else its key must be the target key);
//! - amounts and new balances in 64 bits; a forced exit moves exactly the
//!   balance of an account its key owns, else nothing;
//! - the data chain step, the inbox chain step for deposits and forced
//!   exits, and the slot's withdrawals-tree leaf.
//!
//! [`crate::state::State::apply`] computes the same transition natively;
//! the tests check the two agree and that tampered witnesses are refused.

pub mod gadgets;

use crate::{
    Fr,
    babyjubjub::Point,
    ops::Statement,
    state::{LeafWitness, SlotKind, SlotWitness},
};
use ark_ff::{Field, Zero};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use gadgets::{alloc_bits, alloc_point, merkle_root, poseidon, verify_eddsa};

/// The circuit of one batch shape (`depth`, `slots`) with its witness.
#[derive(Debug, Clone)]
pub struct BatchCircuit {
    /// Account-tree depth.
    pub depth: u8,
    /// The public inputs.
    pub statement: Statement,
    /// One witness per slot.
    pub slots: Vec<SlotWitness>,
}

impl BatchCircuit {
    /// A circuit of the given shape with placeholder values: what setup
    /// synthesizes (only the shape matters there).
    pub fn blank(depth: u8, slots: usize) -> Self {
        let leaf = LeafWitness {
            index: 0,
            account: None,
            siblings: vec![Fr::zero(); 3 * crate::ops::account_levels(depth)],
        };
        let zero = Fr::zero();
        Self {
            depth,
            statement: Statement {
                domain: zero,
                old_root: zero,
                new_root: zero,
                data: zero,
                inbox_from: zero,
                inbox_to: zero,
                withdrawals: zero,
            },
            slots: vec![
                SlotWitness {
                    kind: SlotKind::Noop,
                    a: leaf.clone(),
                    b: leaf,
                    amount: 0,
                    target: (zero, zero),
                    address: zero,
                    r8: Point::zero(),
                    s: Zero::zero(),
                };
                slots
            ],
        }
    }
}

/// `2^k` as a field element.
fn pow2(k: u64) -> Fr {
    Fr::from(2u64).pow([k])
}

/// An opened leaf: its fields, index bits and siblings.
struct LeafVars {
    bits: Vec<Boolean<Fr>>,
    index: FpVar<Fr>,
    empty: Boolean<Fr>,
    key_x: FpVar<Fr>,
    key_y: FpVar<Fr>,
    balance: FpVar<Fr>,
    nonce: FpVar<Fr>,
    siblings: Vec<FpVar<Fr>>,
    /// The leaf value (0 when empty).
    leaf: FpVar<Fr>,
}

fn open_leaf(
    cs: &ConstraintSystemRef<Fr>,
    depth: u8,
    w: &LeafWitness,
    root: &FpVar<Fr>,
) -> Result<LeafVars, SynthesisError> {
    let levels = crate::ops::account_levels(depth);
    let (bits, index) = alloc_bits(cs, u64::from(w.index), 2 * levels)?;
    let empty = Boolean::new_witness(cs.clone(), || Ok(w.account.is_none()))?;
    let (x, y, balance, nonce) = w
        .account
        .map_or((Fr::zero(), Fr::zero(), Fr::zero(), Fr::zero()), |a| {
            (a.key.x(), a.key.y(), Fr::from(a.balance), Fr::from(a.nonce))
        });
    let key_x = FpVar::new_witness(cs.clone(), || Ok(x))?;
    let key_y = FpVar::new_witness(cs.clone(), || Ok(y))?;
    let balance = FpVar::new_witness(cs.clone(), || Ok(balance))?;
    let nonce = FpVar::new_witness(cs.clone(), || Ok(nonce))?;
    let siblings = (0..3 * levels)
        .map(|i| {
            FpVar::new_witness(cs.clone(), || {
                Ok(w.siblings.get(i).copied().unwrap_or_else(Fr::zero))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let hash = poseidon(&[key_x.clone(), key_y.clone(), balance.clone(), nonce.clone()])?;
    let leaf = empty.select(&FpVar::zero(), &hash)?;
    merkle_root(&leaf, &bits, &siblings)?.enforce_equal(root)?;
    Ok(LeafVars {
        bits,
        index,
        empty,
        key_x,
        key_y,
        balance,
        nonce,
        siblings,
        leaf,
    })
}

/// The running commitments the slots thread through.
struct Running {
    root: FpVar<Fr>,
    data: FpVar<Fr>,
    inbox: FpVar<Fr>,
    withdrawal_leaves: Vec<FpVar<Fr>>,
}

fn slot(
    cs: &ConstraintSystemRef<Fr>,
    depth: u8,
    domain: &FpVar<Fr>,
    run: &mut Running,
    w: &SlotWitness,
) -> Result<(), SynthesisError> {
    let zero = FpVar::zero();
    let flag = |k: SlotKind| Boolean::new_witness(cs.clone(), || Ok(w.kind == k));
    let is_transfer = flag(SlotKind::Transfer)?;
    let is_withdraw = flag(SlotKind::Withdraw)?;
    let is_deposit = flag(SlotKind::Deposit)?;
    let is_exit = flag(SlotKind::ForcedExit)?;
    // At most one kind: the flags' sum is 0 or 1.
    let kinds = FpVar::from(is_transfer.clone())
        + FpVar::from(is_withdraw.clone())
        + FpVar::from(is_deposit.clone())
        + FpVar::from(is_exit.clone());
    kinds.square()?.enforce_equal(&kinds)?;
    let signed = &is_transfer | &is_withdraw;
    let uses_a = &signed | &is_exit;
    let credits = &is_transfer | &is_deposit;
    let from_inbox = &is_deposit | &is_exit;

    let target_x = FpVar::new_witness(cs.clone(), || Ok(w.target.0))?;
    let target_y = FpVar::new_witness(cs.clone(), || Ok(w.target.1))?;
    let address = FpVar::new_witness(cs.clone(), || Ok(w.address))?;
    let (_, amount) = alloc_bits(cs, w.amount, 64)?;

    // Account A: debit and nonce.
    let a = open_leaf(cs, depth, &w.a, &run.root)?;
    (&signed & &a.empty).enforce_equal(&Boolean::FALSE)?;
    let owns = &a.key_x.is_eq(&target_x)? & &a.key_y.is_eq(&target_y)?;
    let exit_owned = &(&is_exit & &!&a.empty) & &owns;
    amount.conditional_enforce_equal(&exit_owned.select(&a.balance, &zero)?, &is_exit)?;
    let debit = uses_a.select(&amount, &zero)?;
    let a_balance_value = w.a.account.map_or(0, |acc| {
        if matches!(
            w.kind,
            SlotKind::Transfer | SlotKind::Withdraw | SlotKind::ForcedExit
        ) {
            acc.balance.wrapping_sub(w.amount)
        } else {
            acc.balance
        }
    });
    let (_, a_balance) = alloc_bits(cs, a_balance_value, 64)?;
    a_balance.enforce_equal(&(&a.balance - &debit))?;
    let a_nonce = &a.nonce + FpVar::from(signed.clone());
    let a_hash = poseidon(&[a.key_x.clone(), a.key_y.clone(), a_balance, a_nonce])?;
    let a_leaf = a.empty.select(&zero, &a_hash)?;
    run.root = merkle_root(&a_leaf, &a.bits, &a.siblings)?;

    // The signature over the domain-bound message.
    let sign_code =
        FpVar::constant(Fr::from(1u64)) + FpVar::from(is_withdraw.clone()) * Fr::from(2u64);
    let message = poseidon(&[
        domain.clone(),
        sign_code + &a.index * pow2(8),
        amount.clone(),
        a.nonce.clone(),
        is_withdraw.select(&address, &target_x)?,
        is_withdraw.select(&zero, &target_y)?,
    ])?;
    let signer = if matches!(w.kind, SlotKind::Transfer | SlotKind::Withdraw) {
        w.a.account.map_or(Point::zero(), |acc| acc.key.point())
    } else {
        Point::zero()
    };
    let key = alloc_point(cs, signer)?;
    key.x.conditional_enforce_equal(&a.key_x, &signed)?;
    key.y.conditional_enforce_equal(&a.key_y, &signed)?;
    let r8 = alloc_point(cs, w.r8)?;
    verify_eddsa(cs, &key, &r8, w.s, &message, &signed)?;

    // Account B: credit, created in an empty slot.
    let b = open_leaf(cs, depth, &w.b, &run.root)?;
    let existing = &credits & &!&b.empty;
    b.key_x.conditional_enforce_equal(&target_x, &existing)?;
    b.key_y.conditional_enforce_equal(&target_y, &existing)?;
    let credit = credits.select(&amount, &zero)?;
    let b_base = b.empty.select(&zero, &b.balance)?;
    let b_balance_value = w.b.account.map_or(0, |acc| acc.balance).wrapping_add(
        if matches!(w.kind, SlotKind::Transfer | SlotKind::Deposit) {
            w.amount
        } else {
            0
        },
    );
    let (_, b_balance) = alloc_bits(cs, b_balance_value, 64)?;
    b_balance.enforce_equal(&(b_base + &credit))?;
    let b_hash = poseidon(&[
        b.empty.select(&target_x, &b.key_x)?,
        b.empty.select(&target_y, &b.key_y)?,
        b_balance,
        b.empty.select(&zero, &b.nonce)?,
    ])?;
    let b_leaf = credits.select(&b_hash, &b.leaf)?;
    run.root = merkle_root(&b_leaf, &b.bits, &b.siblings)?;

    // The data chain: `type + 2^8·a + 2^32·b + 2^56·amount`, a new key, an
    // address (see `ops::PubOp::chain_item`).
    let creates = &is_transfer & &b.empty;
    let code = FpVar::from(is_transfer.clone())
        + FpVar::from(creates.clone())
        + FpVar::from(is_withdraw.clone()) * Fr::from(3u64)
        + FpVar::from(is_deposit.clone()) * Fr::from(4u64)
        + FpVar::from(is_exit.clone()) * Fr::from(5u64);
    let word = code
        + uses_a.select(&a.index, &zero)? * pow2(8)
        + credits.select(&b.index, &zero)? * pow2(32)
        + &debit * pow2(56);
    run.data = poseidon(&[
        run.data.clone(),
        word,
        creates.select(&target_x, &zero)?,
        creates.select(&target_y, &zero)?,
        is_withdraw.select(&address, &zero)?,
    ])?;

    // The inbox chain (see `ops::InboxEntry::chain`).
    let inbox_word = FpVar::from(is_deposit.clone()) * Fr::from(4u64)
        + FpVar::from(is_exit.clone()) * Fr::from(5u64)
        + is_exit.select(&a.index, &zero)? * pow2(8);
    let entry = poseidon(&[
        run.inbox.clone(),
        inbox_word,
        target_x.clone(),
        target_y.clone(),
        is_deposit.select(&amount, &address)?,
    ])?;
    run.inbox = from_inbox.select(&entry, &run.inbox)?;

    // The withdrawals-tree leaf.
    let withdraws = &is_withdraw | &is_exit;
    let leaf = poseidon(&[address, amount])?;
    run.withdrawal_leaves.push(withdraws.select(&leaf, &zero)?);
    Ok(())
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let inputs = self
            .statement
            .inputs()
            .into_iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(x)))
            .collect::<Result<Vec<_>, _>>()?;
        let [
            domain,
            old_root,
            new_root,
            data,
            inbox_from,
            inbox_to,
            withdrawals,
        ] = <[FpVar<Fr>; Statement::LEN]>::try_from(inputs)
            .map_err(|_| SynthesisError::Unsatisfiable)?;
        let mut run = Running {
            root: old_root,
            data: FpVar::zero(),
            inbox: inbox_from,
            withdrawal_leaves: Vec::with_capacity(self.slots.len()),
        };
        for w in &self.slots {
            slot(&cs, self.depth, &domain, &mut run, w)?;
        }
        run.root.enforce_equal(&new_root)?;
        run.data.enforce_equal(&data)?;
        run.inbox.enforce_equal(&inbox_to)?;
        let mut level = run.withdrawal_leaves;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => poseidon(&[l.clone(), r.clone()]),
                    [l] => poseidon(&[l.clone(), FpVar::zero()]),
                    _ => Err(SynthesisError::Unsatisfiable),
                })
                .collect::<Result<Vec<_>, _>>()?;
        }
        level
            .first()
            .cloned()
            .unwrap_or_else(FpVar::zero)
            .enforce_equal(&withdrawals)
    }
}
