//! The zk-rollup's account state and its state-transition function.
//!
//! Accounts live in a fixed-depth quaternary Poseidon Merkle tree (slot
//! `i` holds account `i`; an honest operator numbers them from 0 as they
//! are created, but a full node accepts any empty slot the proofs allow; an
//! empty slot is 0).
//! [`State::apply`] runs one operation exactly as the circuit checks it and
//! returns the slot's [`SlotWitness`] — the leaves and paths the prover
//! needs — with its public data. An operation that fails changes nothing.
//! Full nodes run the same code to rebuild the state from L1 data
//! ([`State::replay`]) and to produce exit proofs ([`State::exit_proof`]).

use crate::{
    Fr,
    babyjubjub::{Fs, KeyError, Point, PublicKey},
    ops::{
        self, DataError, InboxEntry, L1Address, MAX_DEPTH, PubOp, Statement, Transfer, Withdraw,
        address_to_fr, amount,
    },
};
use ark_ff::Zero;
use std::collections::{BTreeMap, HashMap};

/// A fixed-depth quaternary Poseidon Merkle tree that stores only the
/// nodes written (empty leaf 0, node `Poseidon(c0, c1, c2, c3)`): four
/// children per node because a 4-input Poseidon costs the circuit little
/// more than a 2-input one, so a path of half the levels is ~40% cheaper
/// to prove. Any slot may be written: the circuit lets an operator create
/// an account in any empty slot, so a full node replaying L1 data must
/// accept gaps.
#[derive(Debug, Clone)]
struct SparseTree {
    levels: usize,
    /// `zeros[h]`: the root of an empty subtree of height `h`.
    zeros: Vec<Fr>,
    nodes: HashMap<(usize, u64), Fr>,
}

impl SparseTree {
    fn new(depth: u8) -> Self {
        let levels = ops::account_levels(depth);
        Self {
            levels,
            zeros: empty_subtrees(levels),
            nodes: HashMap::new(),
        }
    }

    fn node(&self, height: usize, index: u64) -> Fr {
        self.nodes
            .get(&(height, index))
            .copied()
            .unwrap_or(self.zeros[height])
    }

    fn root(&self) -> Fr {
        self.node(self.levels, 0)
    }

    fn children(&self, height: usize, parent: u64) -> [Fr; 4] {
        [0, 1, 2, 3].map(|p| self.node(height, 4 * parent + p))
    }

    /// Writes `leaf` into slot `index` (below the capacity: callers check).
    fn set(&mut self, index: u64, leaf: Fr) {
        let mut i = index;
        self.nodes.insert((0, i), leaf);
        for h in 0..self.levels {
            i /= 4;
            let node = ops::account_node(self.children(h, i));
            self.nodes.insert((h + 1, i), node);
        }
    }

    /// Three siblings per level, leaf level first, each level's in the
    /// order of their positions.
    fn siblings(&self, index: u64) -> Vec<Fr> {
        (0..self.levels)
            .flat_map(|h| {
                let i = index >> (2 * h);
                let children = self.children(h, i / 4);
                let position = (i % 4) as usize;
                (0..4)
                    .filter(move |p| *p != position)
                    .map(move |p| children[p])
            })
            .collect()
    }
}

fn empty_subtrees(levels: usize) -> Vec<Fr> {
    let mut zeros = vec![Fr::zero()];
    for h in 0..levels {
        zeros.push(ops::account_node([zeros[h]; 4]));
    }
    zeros
}

/// The root of an empty account tree of `depth` (2^depth slots): a new
/// rollup's.
pub fn empty_root(depth: u8) -> Fr {
    let levels = ops::account_levels(depth);
    empty_subtrees(levels)[levels]
}

/// An L2 account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Its key.
    pub key: PublicKey,
    /// Balance.
    pub balance: u64,
    /// Operations signed so far.
    pub nonce: u64,
}

impl Account {
    /// The tree leaf.
    pub fn leaf(&self) -> Fr {
        ops::account_leaf(self.key.x(), self.key.y(), self.balance, self.nonce)
    }
}

/// A leaf as the circuit opens it: its index, contents and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafWitness {
    /// Slot.
    pub index: u32,
    /// The account there, `None` when the slot is empty.
    pub account: Option<Account>,
    /// Siblings from the leaf level up, three per level (see
    /// [`ops::account_root_from_path`]).
    pub siblings: Vec<Fr>,
}

/// What kind of operation a slot holds (the circuit's selector bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotKind {
    /// Padding.
    Noop,
    /// A signed transfer.
    Transfer,
    /// A signed withdrawal.
    Withdraw,
    /// An inbox deposit.
    Deposit,
    /// An inbox forced exit.
    ForcedExit,
}

/// Everything the circuit needs to check one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotWitness {
    /// The operation kind.
    pub kind: SlotKind,
    /// Account A (sender, withdrawer, exiting account) before the slot.
    pub a: LeafWitness,
    /// Account B (recipient, deposit target) after A's update.
    pub b: LeafWitness,
    /// Amount moved.
    pub amount: u64,
    /// The target key: a transfer's recipient, a deposit's key, an exit's
    /// owner key; 0 otherwise.
    pub target: (Fr, Fr),
    /// A withdrawal's or exit's L1 address as a field element; 0 otherwise.
    pub address: Fr,
    /// The signature's `R8` (the identity when unsigned).
    pub r8: Point,
    /// The signature's `S` (0 when unsigned).
    pub s: Fs,
}

/// An operation for the state-transition function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A signed transfer.
    Transfer(Transfer),
    /// A signed withdrawal.
    Withdraw(Withdraw),
    /// The next inbox entry.
    Inbox(InboxEntry),
}

/// Why an operation was refused (the state is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StfError {
    /// No account in this slot.
    #[error("no account {0}")]
    NoAccount(u32),
    /// The nonce is not the account's next.
    #[error("nonce {got} is not account {account}'s next nonce {expected}")]
    Nonce {
        /// Account.
        account: u32,
        /// Expected.
        expected: u64,
        /// Given.
        got: u64,
    },
    /// The signature does not verify under the account's key.
    #[error("signature: {0}")]
    Signature(#[from] KeyError),
    /// Not enough balance.
    #[error("account {account} holds {balance}, cannot send {amount}")]
    Insufficient {
        /// Account.
        account: u32,
        /// Its balance.
        balance: u64,
        /// Amount asked.
        amount: u64,
    },
    /// A credit would pass u64.
    #[error("account {0}'s balance would overflow")]
    Overflow(u32),
    /// The amount cannot be posted.
    #[error("{0}")]
    Data(#[from] DataError),
    /// The tree has no free slot left.
    #[error("account tree is full")]
    TreeFull,
}

/// The account state.
#[derive(Debug, Clone)]
pub struct State {
    depth: u8,
    domain: Fr,
    tree: SparseTree,
    accounts: BTreeMap<u32, Account>,
    /// The next slot an honest operator creates an account in.
    next: u64,
    by_key: HashMap<[u8; 32], u32>,
}

impl State {
    /// An empty state of a depth-`depth` tree (at most [`MAX_DEPTH`]) for a
    /// rollup of `domain`.
    pub fn new(depth: u8, domain: Fr) -> Self {
        let depth = depth.min(MAX_DEPTH);
        Self {
            depth,
            domain,
            tree: SparseTree::new(depth),
            accounts: BTreeMap::new(),
            next: 0,
            by_key: HashMap::new(),
        }
    }

    /// The tree depth.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The rollup's domain.
    pub fn domain(&self) -> Fr {
        self.domain
    }

    /// The account root.
    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    /// Account `index`, if created.
    pub fn account(&self, index: u32) -> Option<&Account> {
        self.accounts.get(&index)
    }

    /// All accounts, by index.
    pub fn accounts(&self) -> impl Iterator<Item = (u32, &Account)> {
        self.accounts.iter().map(|(i, a)| (*i, a))
    }

    /// The first account of `key`.
    pub fn find(&self, key: &PublicKey) -> Option<u32> {
        self.by_key.get(&key.pack()).copied()
    }

    /// The sum of all balances (the L2 supply).
    pub fn supply(&self) -> u128 {
        self.accounts.values().map(|a| u128::from(a.balance)).sum()
    }

    /// The proof that slot `index` holds its current leaf.
    pub fn exit_proof(&self, index: u32) -> Option<(Account, Vec<Fr>)> {
        let account = *self.account(index)?;
        Some((account, self.tree.siblings(u64::from(index))))
    }

    fn witness(&self, index: u32) -> LeafWitness {
        LeafWitness {
            index,
            account: self.account(index).copied(),
            siblings: self.tree.siblings(u64::from(index)),
        }
    }

    fn set(&mut self, index: u32, account: Account) -> Result<(), StfError> {
        if u64::from(index) >> self.depth != 0 {
            return Err(StfError::TreeFull);
        }
        self.tree.set(u64::from(index), account.leaf());
        if self.accounts.insert(index, account).is_none() {
            self.by_key.entry(account.key.pack()).or_insert(index);
            self.next = self.next.max(u64::from(index) + 1);
        }
        Ok(())
    }

    /// The account `key` is credited in: its first, or the next free slot.
    fn credit_target(&self, key: &PublicKey) -> Result<u32, StfError> {
        if let Some(i) = self.find(key) {
            return Ok(i);
        }
        let next = self.next;
        if next >> self.depth != 0 {
            return Err(StfError::TreeFull);
        }
        Ok(next as u32)
    }

    /// Checks and applies one operation; on error nothing changed.
    pub fn apply(&mut self, op: &Op) -> Result<(SlotWitness, PubOp), StfError> {
        match op {
            Op::Transfer(t) => {
                let sender = self.signed_sender(
                    t.from,
                    t.nonce,
                    t.amount,
                    Transfer::message(self.domain, t.from, &t.to, t.amount, t.nonce),
                    &t.signature,
                )?;
                amount::pack(t.amount)?;
                let to = self.credit_target(&t.to)?;
                let existing = self.account(to).copied();
                // The credit must fit before anything changes (a transfer to
                // oneself nets to zero).
                if let Some(recipient) = existing
                    && to != t.from
                {
                    recipient
                        .balance
                        .checked_add(t.amount)
                        .ok_or(StfError::Overflow(to))?;
                }
                let a = self.debit(t.from, sender, t.amount)?;
                let b = self.witness(to);
                let recipient = self.account(to).copied().unwrap_or(Account {
                    key: t.to,
                    balance: 0,
                    nonce: 0,
                });
                self.set(
                    to,
                    Account {
                        balance: recipient.balance + t.amount,
                        ..recipient
                    },
                )?;
                let pub_op = if existing.is_some() {
                    PubOp::Transfer {
                        from: t.from,
                        to,
                        amount: t.amount,
                    }
                } else {
                    PubOp::TransferNew {
                        from: t.from,
                        to,
                        amount: t.amount,
                        key: t.to,
                    }
                };
                Ok((
                    SlotWitness {
                        kind: SlotKind::Transfer,
                        a,
                        b,
                        amount: t.amount,
                        target: (t.to.x(), t.to.y()),
                        address: Fr::zero(),
                        r8: t.signature.r8,
                        s: t.signature.s,
                    },
                    pub_op,
                ))
            }
            Op::Withdraw(w) => {
                let sender = self.signed_sender(
                    w.from,
                    w.nonce,
                    w.amount,
                    Withdraw::message(self.domain, w.from, &w.to, w.amount, w.nonce),
                    &w.signature,
                )?;
                amount::pack(w.amount)?;
                let a = self.debit(w.from, sender, w.amount)?;
                let b = self.witness(0);
                Ok((
                    SlotWitness {
                        kind: SlotKind::Withdraw,
                        a,
                        b,
                        amount: w.amount,
                        target: (Fr::zero(), Fr::zero()),
                        address: address_to_fr(&w.to),
                        r8: w.signature.r8,
                        s: w.signature.s,
                    },
                    PubOp::Withdraw {
                        from: w.from,
                        amount: w.amount,
                        to: w.to,
                    },
                ))
            }
            Op::Inbox(InboxEntry::Deposit { key, amount }) => {
                let to = self.credit_target(key)?;
                let current = self.account(to).copied().unwrap_or(Account {
                    key: *key,
                    balance: 0,
                    nonce: 0,
                });
                let balance = current
                    .balance
                    .checked_add(*amount)
                    .ok_or(StfError::Overflow(to))?;
                let a = self.witness(0);
                let b = self.witness(to);
                self.set(to, Account { balance, ..current })?;
                Ok((
                    SlotWitness {
                        kind: SlotKind::Deposit,
                        a,
                        b,
                        amount: *amount,
                        target: (key.x(), key.y()),
                        address: Fr::zero(),
                        r8: Point::zero(),
                        s: Fs::zero(),
                    },
                    PubOp::Deposit { to },
                ))
            }
            Op::Inbox(InboxEntry::ForcedExit { account, key, to }) => {
                // L1 queues only exits of slots inside the tree.
                if u64::from(*account) >> self.depth != 0 {
                    return Err(StfError::NoAccount(*account));
                }
                let a = self.witness(*account);
                let owned = a.account.filter(|acc| acc.key == *key);
                let amount = owned.map_or(0, |acc| acc.balance);
                if let Some(acc) = owned {
                    self.set(*account, Account { balance: 0, ..acc })?;
                }
                let b = self.witness(0);
                Ok((
                    SlotWitness {
                        kind: SlotKind::ForcedExit,
                        a,
                        b,
                        amount,
                        target: (key.x(), key.y()),
                        address: address_to_fr(to),
                        r8: Point::zero(),
                        s: Fs::zero(),
                    },
                    PubOp::ForcedExit {
                        account: *account,
                        amount,
                    },
                ))
            }
        }
    }

    /// The sender of a signed operation, checked: exists, next nonce, the
    /// signature holds, the balance covers the amount.
    fn signed_sender(
        &self,
        from: u32,
        nonce: u64,
        amount: u64,
        message: Fr,
        signature: &crate::babyjubjub::Signature,
    ) -> Result<Account, StfError> {
        let sender = *self.account(from).ok_or(StfError::NoAccount(from))?;
        if nonce != sender.nonce {
            return Err(StfError::Nonce {
                account: from,
                expected: sender.nonce,
                got: nonce,
            });
        }
        sender.key.verify(message, signature)?;
        if sender.balance < amount {
            return Err(StfError::Insufficient {
                account: from,
                balance: sender.balance,
                amount,
            });
        }
        Ok(sender)
    }

    /// Takes `amount` from the checked `sender` (account `from`) and bumps
    /// its nonce; returns the account's witness from before.
    fn debit(&mut self, from: u32, sender: Account, amount: u64) -> Result<LeafWitness, StfError> {
        let before = self.witness(from);
        self.set(
            from,
            Account {
                balance: sender.balance - amount,
                nonce: sender.nonce + 1,
                ..sender
            },
        )?;
        Ok(before)
    }

    /// A padding slot: nothing changes (A and B are slot 0, unchanged).
    pub fn noop(&self) -> SlotWitness {
        SlotWitness {
            kind: SlotKind::Noop,
            a: self.witness(0),
            b: self.witness(0),
            amount: 0,
            target: (Fr::zero(), Fr::zero()),
            address: Fr::zero(),
            r8: Point::zero(),
            s: Fs::zero(),
        }
    }

    /// Rebuilds a batch's effect from its public data and the inbox entries
    /// it consumed, as a full node does from L1; returns the withdrawals.
    pub fn replay(
        &mut self,
        ops: &[PubOp],
        inbox: &[InboxEntry],
    ) -> Result<Vec<(L1Address, u64)>, ReplayError> {
        let mut next_entry = inbox.iter();
        let mut withdrawals = Vec::new();
        let before = self.clone();
        let result = (|| {
            for op in ops {
                match op {
                    PubOp::Noop => {}
                    PubOp::Transfer { from, to, amount }
                    | PubOp::TransferNew {
                        from, to, amount, ..
                    } => {
                        let mut sender = *self.account(*from).ok_or(ReplayError::Mismatch)?;
                        sender.balance = sender
                            .balance
                            .checked_sub(*amount)
                            .ok_or(ReplayError::Mismatch)?;
                        sender.nonce += 1;
                        self.set(*from, sender).map_err(|_| ReplayError::Mismatch)?;
                        let mut recipient = match (op, self.account(*to)) {
                            (PubOp::Transfer { .. }, Some(acc)) => *acc,
                            (PubOp::TransferNew { key, .. }, None) => Account {
                                key: *key,
                                balance: 0,
                                nonce: 0,
                            },
                            _ => return Err(ReplayError::Mismatch),
                        };
                        recipient.balance = recipient
                            .balance
                            .checked_add(*amount)
                            .ok_or(ReplayError::Mismatch)?;
                        self.set(*to, recipient)
                            .map_err(|_| ReplayError::Mismatch)?;
                    }
                    PubOp::Withdraw { from, amount, to } => {
                        let mut acc = *self.account(*from).ok_or(ReplayError::Mismatch)?;
                        acc.balance = acc
                            .balance
                            .checked_sub(*amount)
                            .ok_or(ReplayError::Mismatch)?;
                        acc.nonce += 1;
                        self.set(*from, acc).map_err(|_| ReplayError::Mismatch)?;
                        withdrawals.push((*to, *amount));
                    }
                    PubOp::Deposit { to } => {
                        let Some(InboxEntry::Deposit { key, amount }) = next_entry.next() else {
                            return Err(ReplayError::Inbox);
                        };
                        let mut acc = match self.account(*to) {
                            Some(acc) if acc.key == *key => *acc,
                            None => Account {
                                key: *key,
                                balance: 0,
                                nonce: 0,
                            },
                            Some(_) => return Err(ReplayError::Mismatch),
                        };
                        acc.balance = acc
                            .balance
                            .checked_add(*amount)
                            .ok_or(ReplayError::Mismatch)?;
                        self.set(*to, acc).map_err(|_| ReplayError::Mismatch)?;
                    }
                    PubOp::ForcedExit { account, amount } => {
                        let Some(InboxEntry::ForcedExit { key, to, .. }) = next_entry.next() else {
                            return Err(ReplayError::Inbox);
                        };
                        if let Some(acc) = self.account(*account).copied()
                            && acc.key == *key
                        {
                            if acc.balance != *amount {
                                return Err(ReplayError::Mismatch);
                            }
                            self.set(*account, Account { balance: 0, ..acc })
                                .map_err(|_| ReplayError::Mismatch)?;
                        } else if *amount != 0 {
                            return Err(ReplayError::Mismatch);
                        }
                        withdrawals.push((*to, *amount));
                    }
                }
            }
            Ok(withdrawals)
        })();
        if result.is_err() {
            *self = before;
        }
        result
    }
}

/// Why a proven batch could not be replayed (never happens for a batch
/// whose proof verified against the same data and inbox).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The data does not fit the state.
    #[error("public data does not fit the state")]
    Mismatch,
    /// The data consumes inbox entries that are not there.
    #[error("public data consumes inbox entries that are not there")]
    Inbox,
}

/// A batch being filled by the operator: operations applied to the state
/// in order, each with its witness.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    slots: usize,
    old_root: Fr,
    inbox_from: Fr,
    inbox_to: Fr,
    consumed: u64,
    witnesses: Vec<SlotWitness>,
    ops: Vec<PubOp>,
}

/// A filled batch: what the prover proves and the operator posts.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The public inputs.
    pub statement: Statement,
    /// The posted operations (no padding).
    pub ops: Vec<PubOp>,
    /// The posted bytes.
    pub data: Vec<u8>,
    /// Inbox entries consumed.
    pub consumed: u64,
    /// One witness per slot, padding included.
    pub witnesses: Vec<SlotWitness>,
    /// The withdrawals-tree leaves, by slot.
    pub withdrawal_leaves: Vec<Fr>,
}

impl BatchBuilder {
    /// A batch of `slots` slots (a power of two) starting at `state`'s root
    /// with the inbox chain at `inbox`.
    pub fn new(state: &State, slots: usize, inbox: Fr) -> Self {
        Self {
            slots,
            old_root: state.root(),
            inbox_from: inbox,
            inbox_to: inbox,
            consumed: 0,
            witnesses: Vec::new(),
            ops: Vec::new(),
        }
    }

    /// Slots left.
    pub fn room(&self) -> usize {
        self.slots - self.witnesses.len()
    }

    /// Applies `op` to `state` into the next slot; on error nothing changed.
    pub fn push(&mut self, state: &mut State, op: &Op) -> Result<(), StfError> {
        if self.room() == 0 {
            return Err(StfError::Data(DataError::TooManyOps(self.slots)));
        }
        let (witness, pub_op) = state.apply(op)?;
        if let Op::Inbox(entry) = op {
            self.inbox_to = entry.chain(self.inbox_to);
            self.consumed += 1;
        }
        self.witnesses.push(witness);
        self.ops.push(pub_op);
        Ok(())
    }

    /// Pads with no-ops and computes the statement.
    pub fn finish(mut self, state: &State) -> Result<Batch, DataError> {
        while self.witnesses.len() < self.slots {
            self.witnesses.push(state.noop());
        }
        let withdrawal_leaves: Vec<Fr> = self
            .witnesses
            .iter()
            .map(|w| match w.kind {
                SlotKind::Withdraw | SlotKind::ForcedExit => {
                    ops::withdrawal_leaf(w.address, w.amount)
                }
                _ => Fr::zero(),
            })
            .collect();
        let statement = Statement {
            domain: state.domain(),
            old_root: self.old_root,
            new_root: state.root(),
            data: ops::data_commitment(&self.ops, self.slots),
            inbox_from: self.inbox_from,
            inbox_to: self.inbox_to,
            withdrawals: ops::withdrawals_root(&withdrawal_leaves),
        };
        Ok(Batch {
            statement,
            data: PubOp::encode_all(&self.ops)?,
            ops: self.ops,
            consumed: self.consumed,
            witnesses: self.witnesses,
            withdrawal_leaves,
        })
    }
}

/// A batch of `slots` transfers between accounts that exist, the common
/// case, for measuring a prover (benches, the lab's calibration): a first
/// batch of deposits opens the accounts, the second — returned — moves
/// value from each to the next.
pub fn sample_transfer_batch(depth: u8, slots: usize) -> Result<Batch, StfError> {
    let domain = ops::domain(1, 1);
    let keys: Vec<crate::babyjubjub::SecretKey> = (0..slots)
        .map(|i| crate::babyjubjub::SecretKey::from_bytes(format!("user {i}").as_bytes()))
        .collect();
    let mut state = State::new(depth, domain);
    let mut b = BatchBuilder::new(&state, slots, Fr::zero());
    for k in &keys {
        let entry = InboxEntry::Deposit {
            key: k.public(),
            amount: 1_000_000,
        };
        b.push(&mut state, &Op::Inbox(entry))?;
    }
    let first = b.finish(&state).map_err(StfError::Data)?;
    let mut b = BatchBuilder::new(&state, slots, first.statement.inbox_to);
    for (i, k) in keys.iter().enumerate() {
        let to = keys[(i + 1) % slots].public();
        let op = Op::Transfer(Transfer::sign(k, domain, i as u32, to, 1_000, 0));
        b.push(&mut state, &op)?;
    }
    b.finish(&state).map_err(StfError::Data)
}
