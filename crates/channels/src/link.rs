//! Both sides of a channel in one process, wired through two in-memory
//! queues: what the tests, the lab's scenarios and benchmarks drive
//! payments through when the transport is not what they measure. A side
//! that is "offline" is simply one whose queue nobody delivers.

use crate::{Channel, ChannelError, Event, Message, Snapshot, Step, initial_state};
use std::collections::VecDeque;
use terrace_l1::modules::channels::{OpenTerms, Side, SignedState};
use terrace_primitives::{ChainId, PrivateKey};

/// Index of `side` in a [`Link`]'s arrays: A is 0, B is 1.
pub fn index(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

/// Two sides of a channel and the messages in flight between them.
#[derive(Debug)]
pub struct Link {
    /// Side A, then side B.
    pub sides: [Channel; 2],
    /// Messages in flight to A and to B.
    pub wire: [VecDeque<Message>; 2],
    /// What each side last asked to persist.
    pub persisted: [Option<Snapshot>; 2],
    /// What each side reported, oldest first.
    pub events: [Vec<Event>; 2],
}

impl Link {
    /// A channel just opened with `terms`: both sides sign version 0.
    pub fn open(
        terms: &OpenTerms,
        chain: ChainId,
        key_a: PrivateKey,
        key_b: PrivateKey,
    ) -> Result<Self, ChannelError> {
        let v0 = initial_state(terms, chain);
        let signed = SignedState {
            sig_a: v0.sign(&key_a),
            sig_b: v0.sign(&key_b),
            state: v0,
        };
        let a = Channel::new(
            terms,
            chain,
            Side::A,
            key_a,
            Snapshot::opening(signed.clone(), Side::A),
        )?;
        let b = Channel::new(
            terms,
            chain,
            Side::B,
            key_b,
            Snapshot::opening(signed, Side::B),
        )?;
        Ok(Self {
            sides: [a, b],
            wire: [VecDeque::new(), VecDeque::new()],
            persisted: [None, None],
            events: [Vec::new(), Vec::new()],
        })
    }

    /// One side.
    pub fn side(&mut self, s: Side) -> &mut Channel {
        &mut self.sides[index(s)]
    }

    /// `from` sends `m` to the other side.
    pub fn send(&mut self, from: Side, m: Message) {
        self.wire[index(from.other())].push_back(m);
    }

    /// Records what `at` persisted and reported and sends what it sent.
    pub fn apply(&mut self, at: Side, step: Step) {
        if let Some(s) = step.persist {
            self.persisted[index(at)] = Some(s);
        }
        for m in step.send {
            self.send(at, m);
        }
        self.events[index(at)].extend(step.events);
    }

    /// Delivers the next message to `to`, if any.
    pub fn deliver_one(&mut self, to: Side) -> Option<Result<(), ChannelError>> {
        let m = self.wire[index(to)].pop_front()?;
        Some(self.side(to).receive(&m).map(|step| self.apply(to, step)))
    }

    /// Delivers everything, both ways, until the wire is empty.
    pub fn settle_wire(&mut self) -> Result<(), ChannelError> {
        loop {
            let mut moved = false;
            for to in [Side::A, Side::B] {
                if let Some(r) = self.deliver_one(to) {
                    r?;
                    moved = true;
                }
            }
            if !moved {
                return Ok(());
            }
        }
    }

    /// `s` proposes the next version, if it has anything to commit.
    pub fn commit(&mut self, s: Side) -> Result<(), ChannelError> {
        if let Some(m) = self.side(s).commit()? {
            self.send(s, m);
        }
        Ok(())
    }

    /// Commits and delivers until neither side has anything pending;
    /// `false` if it was still busy after eight rounds (a bug).
    pub fn quiesce(&mut self) -> Result<bool, ChannelError> {
        for _ in 0..8 {
            self.settle_wire()?;
            if !self.sides.iter().any(Channel::wants_commit) {
                return Ok(true);
            }
            self.commit(Side::A)?;
            self.commit(Side::B)?;
        }
        Ok(false)
    }

    /// Takes what `s` reported so far.
    pub fn take_events(&mut self, s: Side) -> Vec<Event> {
        std::mem::take(&mut self.events[index(s)])
    }
}
