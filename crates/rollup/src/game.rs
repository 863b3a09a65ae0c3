//! The node's side of the bisection game: given an open challenge as L1
//! holds it and the true per-step roots from derivation, the move to make.
//!
//! The defender reveals the true root at the midpoint; the challenger
//! agrees exactly when the revealed root is the true one; at one step the
//! challenger sends the one-step proof. Whoever waits on a side that
//! missed its deadline ends the game with `Timeout`; a challenger whose
//! batch was reverted by another challenge takes its bond back the same
//! way.

use crate::derive::Derivation;
use terrace_l1::modules::optimistic::{Challenge, RollupOp, Turn};
use terrace_primitives::Address;

/// A key naming one move of one challenge, so a move is sent once.
pub fn move_key(id: u64, c: &Challenge) -> String {
    format!(
        "move:{id}:{}:{}:{}",
        c.lo,
        c.hi,
        u8::from(c.mid_root.is_some())
    )
}

/// The move `me` makes on challenge `id` at finalized L1 `height`, if any.
/// A `dispute_all` challenger disagrees with every root and never proves
/// (a test of dishonest challengers).
pub fn next_move(
    me: Address,
    id: u64,
    c: &Challenge,
    derivation: &Derivation,
    height: u64,
    dispute_all: bool,
) -> Option<RollupOp> {
    let is_defender = c.defender == me;
    let is_challenger = c.challenger == me;
    if !is_defender && !is_challenger {
        return None;
    }
    // The move lands in a later block than `height`.
    let late = height >= c.deadline;
    let Some(batch) = derivation.batch(c.batch).filter(|b| b.id == c.batch_id) else {
        // Reverted (or already final, and then never disputed): the
        // challenger takes its bond back.
        return (is_challenger && derivation.batch_count() <= c.batch)
            .then_some(RollupOp::Timeout { challenge: id });
    };
    let turn = c.turn();
    let my_turn = match turn {
        Turn::Defender => is_defender,
        Turn::Challenger | Turn::OneStep => is_challenger,
    };
    if !my_turn {
        return late.then_some(RollupOp::Timeout { challenge: id });
    }
    if late {
        return None;
    }
    match turn {
        Turn::Defender => Some(RollupOp::Bisect {
            challenge: id,
            root: batch.root_after(c.mid())?,
        }),
        Turn::Challenger => {
            let agree = !dispute_all && c.mid_root == batch.root_after(c.mid());
            Some(RollupOp::Choose {
                challenge: id,
                agree,
            })
        }
        Turn::OneStep => {
            if dispute_all {
                return None;
            }
            let proof = batch.prove(derivation.rollup(), c.lo, derivation.inbox())?;
            Some(RollupOp::ProveStep {
                challenge: id,
                proof: Box::new(proof),
            })
        }
    }
}
