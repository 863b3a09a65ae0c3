//! Byzantine behaviour of the rollup node, for the lab's scenarios and
//! the tests of the fraud-proof game — all of it here, behind one narrow
//! hook ([`Faults`]) the honest paths call at the few points a misbehaving
//! node departs from them. With [`Fault::None`] every hook is the honest
//! answer.

use crate::sequencer::Sequencer;
use terrace_l1::modules::optimistic::BatchSubmission;
use terrace_l2::{InboxMessage, SignedL2Transaction};
use terrace_primitives::Amount;

/// How a node misbehaves, for tests of the fraud-proof game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Follows the protocol.
    #[default]
    None,
    /// Sequencer: posts batch `batch` with a false output root (once).
    WrongRoot {
        /// The batch index to lie about.
        batch: u64,
    },
    /// Sequencer: refuses the transactions of L2 account `account` and
    /// stops consuming the inbox at the first forced transaction from it.
    Censor {
        /// The censored account.
        account: u32,
    },
    /// Sequencer: produces and posts nothing.
    Silent,
    /// Sequencer: once account `from` has a BLS key on L1 and has sent a
    /// transaction, slips in an aggregated transfer of half its balance to
    /// `to` that `from` never signed (the step function runs it; only the
    /// aggregate is wrong).
    ForgeAggregate {
        /// The victim.
        from: u32,
        /// The beneficiary.
        to: u32,
    },
    /// Verifier: challenges every batch, disagrees with every root, never
    /// proves.
    DisputeValid,
}

/// A node's misbehaviour and what it has done so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    fault: Fault,
    /// A once-only lie (false root, forged aggregate) was told.
    lied: bool,
}

impl Faults {
    /// The hook for `fault`.
    pub fn new(fault: Fault) -> Self {
        Self { fault, lied: false }
    }

    /// Whether the sequencer produces and posts at all.
    pub fn sequences(&self) -> bool {
        self.fault != Fault::Silent
    }

    /// The L2 account whose transactions the sequencer refuses.
    pub fn censored(&self) -> Option<u32> {
        match self.fault {
            Fault::Censor { account } => Some(account),
            _ => None,
        }
    }

    /// How far into the inbox the sequencer takes messages (honest: up to
    /// `until`; a censor stops at the first forced transaction of its
    /// victim).
    pub fn inbox_until(&self, inbox: &[InboxMessage], until: u64) -> u64 {
        match self.censored() {
            Some(account) => censored_until(inbox, account, until),
            None => until,
        }
    }

    /// A forging sequencer slips its theft into the open block, once the
    /// victim has a BLS key on L1 and has sent a transaction.
    pub fn forge(&mut self, seq: &mut Sequencer) {
        let Fault::ForgeAggregate { from, to } = self.fault else {
            return;
        };
        if self.lied || u64::from(from) >= seq.base_accounts() {
            return;
        }
        let Some(victim) = seq.state().account_at(from) else {
            return;
        };
        if victim.bls.is_none() || victim.nonce == 0 || victim.balance.0 <= 1 {
            return;
        }
        let theft = terrace_l2::L2Transaction {
            from,
            nonce: victim.nonce,
            max_fee: Amount(u128::MAX),
            action: terrace_l2::Action::Transfer {
                to,
                amount: Amount(victim.balance.0 / 2),
            },
        };
        if seq.forge_aggregated(theft).is_ok() {
            self.lied = true;
        }
    }

    /// The output root batch `index` is posted with: a liar replaces the
    /// true one (once). Returns whether the root is true.
    pub fn posted_root(&mut self, index: u64, submission: &mut BatchSubmission) -> bool {
        match self.fault {
            Fault::WrongRoot { batch } if batch == index && !self.lied => {
                self.lied = true;
                submission.output_root = terrace_primitives::hash::hash_tagged(
                    b"terrace/test/lie",
                    &[submission.output_root.as_ref()],
                );
                false
            }
            _ => true,
        }
    }

    /// Whether the challenger disputes every batch and every root, instead
    /// of the first false batch.
    pub fn disputes_valid(&self) -> bool {
        self.fault == Fault::DisputeValid
    }
}

/// The inbox position a censoring sequencer stops at: the first forced
/// transaction from `account`.
fn censored_until(inbox: &[InboxMessage], account: u32, until: u64) -> u64 {
    for (i, m) in inbox.iter().enumerate().take(until as usize) {
        if let InboxMessage::Forced { tx } = m
            && let Ok(tx) = terrace_primitives::codec::decode_bounded::<SignedL2Transaction>(
                tx,
                terrace_l2::inbox::FORCED_TX_BYTES_MAX,
                &(),
            )
            && tx.tx.from == account
        {
            return i as u64;
        }
    }
    until
}
