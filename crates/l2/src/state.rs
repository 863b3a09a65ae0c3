//! The L2 state behind one interface, [`L2State`], with two
//! implementations: [`FullState`] holds everything (the rollup node), and
//! [`WitnessState`] holds only a [`Commitment`] and the Merkle witnesses of
//! the slots one step touches (L1 judging a fraud proof).
//!
//! The transition function reads a slot before writing it, so a witness is
//! needed exactly at the first read of each account slot, at the opening of
//! a new account and at each withdrawal. [`FullState::record`] produces
//! those witnesses, in that order, while it executes.

use crate::{
    ACCOUNT_TREE_DEPTH, WITHDRAWAL_TREE_DEPTH,
    account::{Account, Withdrawal, account_leaf},
};
use bytes::BufMut;
use commonware_codec::{
    Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_merkle::{IndexedProof, IndexedTree, MerkleHasher as _, ProofError, Sha256Hasher};
use terrace_primitives::{Amount, Hash, hash_tagged};

type Tree = IndexedTree<Sha256Hasher>;

/// Everything L1 needs to know about an L2 state: the preimage of its
/// output root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commitment {
    /// Root of the account tree.
    pub accounts_root: Hash,
    /// Accounts opened so far (the next account index).
    pub account_count: u64,
    /// Root of the withdrawal tree.
    pub withdrawals_root: Hash,
    /// Withdrawals made so far (the next withdrawal index).
    pub withdrawal_count: u64,
    /// Inbox messages consumed so far (the next inbox position).
    pub inbox_cursor: u64,
}

impl Commitment {
    /// The state of a new rollup: no accounts, no withdrawals, nothing consumed.
    pub fn genesis() -> Self {
        Self {
            accounts_root: Tree::empty_root(ACCOUNT_TREE_DEPTH),
            account_count: 0,
            withdrawals_root: Tree::empty_root(WITHDRAWAL_TREE_DEPTH),
            withdrawal_count: 0,
            inbox_cursor: 0,
        }
    }

    /// The state root: the account tree bound to its size.
    pub fn state_root(&self) -> Hash {
        hash_tagged(
            b"terrace/l2/state",
            &[
                self.accounts_root.as_ref(),
                &self.account_count.to_be_bytes(),
            ],
        )
    }

    /// The withdrawals root: the withdrawal tree bound to its size.
    pub fn withdrawals_commitment(&self) -> Hash {
        hash_tagged(
            b"terrace/l2/withdrawals",
            &[
                self.withdrawals_root.as_ref(),
                &self.withdrawal_count.to_be_bytes(),
            ],
        )
    }

    /// The output root, `H(state root, withdrawals root, inbox position)`:
    /// what L1 records after each batch.
    pub fn output_root(&self) -> Hash {
        hash_tagged(
            b"terrace/l2/output",
            &[
                self.state_root().as_ref(),
                self.withdrawals_commitment().as_ref(),
                &self.inbox_cursor.to_be_bytes(),
            ],
        )
    }

    /// Checks that withdrawal `index` with this content is in the state.
    pub fn verify_withdrawal(
        &self,
        index: u64,
        withdrawal: &Withdrawal,
        proof: &IndexedProof<Hash>,
    ) -> Result<(), WitnessError> {
        if index >= self.withdrawal_count || proof.index != index {
            return Err(WitnessError::WrongSlot {
                expected: index,
                got: proof.index,
            });
        }
        proof
            .verify::<Sha256Hasher>(
                WITHDRAWAL_TREE_DEPTH,
                &self.withdrawals_root,
                withdrawal.leaf_hash(),
            )
            .map_err(WitnessError::Invalid)
    }
}

/// Why witnesses could not support a step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The step needs a witness the proof does not have.
    #[error("the proof lacks a witness the step needs")]
    Missing,
    /// The next witness is for the other tree.
    #[error("the next witness is for the other tree")]
    WrongKind,
    /// The witness is for another slot.
    #[error("the witness is for slot {got}, the step needs slot {expected}")]
    WrongSlot {
        /// Slot the step needs.
        expected: u64,
        /// Slot the witness proves.
        got: u64,
    },
    /// A filled slot was witnessed as empty, or the reverse.
    #[error("the witness says slot {0} is empty, but it is below the count")]
    EmptyFilledSlot(u64),
    /// The Merkle path does not lead to the committed root.
    #[error("witness does not verify: {0}")]
    Invalid(ProofError),
    /// Witnesses left over once the step is done.
    #[error("{0} witnesses were not used by the step")]
    Unused(usize),
    /// The transition function wrote a slot it had not read (a bug, never
    /// the prover's fault).
    #[error("slot {0} written before it was read")]
    NotRead(u64),
}

/// The state the transition function runs over.
pub trait L2State {
    /// The commitment to the current state.
    fn commitment(&self) -> Commitment;
    /// The account at `index`, if opened.
    fn account(&mut self, index: u32) -> Result<Option<Account>, WitnessError>;
    /// Overwrites the opened account at `index`, which was read first.
    fn put_account(&mut self, index: u32, account: Account) -> Result<(), WitnessError>;
    /// Opens a new account at the next index; `None` when the tree is full.
    fn open_account(&mut self, account: Account) -> Result<Option<u32>, WitnessError>;
    /// Appends a withdrawal; `None` when the tree is full.
    fn push_withdrawal(&mut self, withdrawal: Withdrawal) -> Result<Option<u64>, WitnessError>;
    /// Moves the inbox cursor.
    fn set_inbox_cursor(&mut self, cursor: u64);
}

/// One Merkle witness.
// A proof carries at most a handful: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witness {
    /// An account slot and what it holds (`None`: the free slot an account
    /// is opened in).
    Account {
        /// The slot's content.
        account: Option<Account>,
        /// Its path.
        proof: IndexedProof<Hash>,
    },
    /// The free withdrawal slot a withdrawal is appended in.
    WithdrawalSlot {
        /// Its path.
        proof: IndexedProof<Hash>,
    },
}

fn tree_capacity(depth: u8) -> u64 {
    1u64.checked_shl(depth as u32).unwrap_or(u64::MAX)
}

/// The whole L2 state in memory.
#[derive(Debug, Clone)]
pub struct FullState {
    accounts: Tree,
    account_data: Vec<Account>,
    withdrawals: Tree,
    withdrawal_data: Vec<Withdrawal>,
    inbox_cursor: u64,
    /// While recording: the witnesses so far and the slots already read.
    recording: Option<(Vec<Witness>, Vec<u32>)>,
}

impl Default for FullState {
    fn default() -> Self {
        Self::new()
    }
}

impl FullState {
    /// The genesis state.
    pub fn new() -> Self {
        Self {
            accounts: Tree::new(ACCOUNT_TREE_DEPTH),
            account_data: Vec::new(),
            withdrawals: Tree::new(WITHDRAWAL_TREE_DEPTH),
            withdrawal_data: Vec::new(),
            inbox_cursor: 0,
            recording: None,
        }
    }

    /// The account at `index`, without recording.
    pub fn account_at(&self, index: u32) -> Option<&Account> {
        self.account_data.get(index as usize)
    }

    /// All accounts, by index.
    pub fn accounts(&self) -> &[Account] {
        &self.account_data
    }

    /// All withdrawals, by index.
    pub fn withdrawals(&self) -> &[Withdrawal] {
        &self.withdrawal_data
    }

    /// The proof of account slot `index`.
    pub fn account_proof(&self, index: u32) -> Option<IndexedProof<Hash>> {
        self.accounts.proof(index as u64)
    }

    /// The proof of withdrawal `index`, for a claim on L1.
    pub fn withdrawal_proof(&self, index: u64) -> Option<IndexedProof<Hash>> {
        (index < self.withdrawals.len())
            .then(|| self.withdrawals.proof(index))
            .flatten()
    }

    /// Σ balances: with the unclaimed withdrawals, what the L1 escrow holds.
    pub fn supply(&self) -> Option<Amount> {
        self.account_data
            .iter()
            .try_fold(Amount::ZERO, |s, a| s.checked_add(a.balance))
    }

    /// Σ withdrawals ever made.
    pub fn withdrawn(&self) -> Option<Amount> {
        self.withdrawal_data
            .iter()
            .try_fold(Amount::ZERO, |s, w| s.checked_add(w.amount))
    }

    /// Runs `f` over this state while recording the witnesses a
    /// [`WitnessState`] needs to replay it.
    pub fn record<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> (T, Vec<Witness>) {
        self.recording = Some((Vec::new(), Vec::new()));
        let out = f(self);
        let witnesses = self.recording.take().map(|(w, _)| w).unwrap_or_default();
        (out, witnesses)
    }

    fn note_read(&mut self, index: u32) {
        let Some((witnesses, read)) = &mut self.recording else {
            return;
        };
        if read.contains(&index) {
            return;
        }
        read.push(index);
        if let (Some(account), Some(proof)) = (
            self.account_data.get(index as usize),
            self.accounts.proof(index as u64),
        ) {
            witnesses.push(Witness::Account {
                account: Some(account.clone()),
                proof,
            });
        }
    }
}

impl L2State for FullState {
    fn commitment(&self) -> Commitment {
        Commitment {
            accounts_root: self.accounts.root(),
            account_count: self.accounts.len(),
            withdrawals_root: self.withdrawals.root(),
            withdrawal_count: self.withdrawals.len(),
            inbox_cursor: self.inbox_cursor,
        }
    }

    fn account(&mut self, index: u32) -> Result<Option<Account>, WitnessError> {
        if index as usize >= self.account_data.len() {
            return Ok(None);
        }
        self.note_read(index);
        Ok(self.account_data.get(index as usize).cloned())
    }

    fn put_account(&mut self, index: u32, account: Account) -> Result<(), WitnessError> {
        let slot = self
            .account_data
            .get_mut(index as usize)
            .ok_or(WitnessError::NotRead(index as u64))?;
        self.accounts
            .set(index as u64, account.leaf_hash())
            .map_err(|_| WitnessError::NotRead(index as u64))?;
        *slot = account;
        Ok(())
    }

    fn open_account(&mut self, account: Account) -> Result<Option<u32>, WitnessError> {
        let next = self.accounts.len();
        if next >= tree_capacity(ACCOUNT_TREE_DEPTH) {
            return Ok(None);
        }
        let index = u32::try_from(next).map_err(|_| WitnessError::NotRead(next))?;
        if let Some((witnesses, read)) = &mut self.recording
            && let Some(proof) = self.accounts.proof(next)
        {
            witnesses.push(Witness::Account {
                account: None,
                proof,
            });
            read.push(index);
        }
        self.accounts
            .set(next, account.leaf_hash())
            .map_err(|_| WitnessError::NotRead(next))?;
        self.account_data.push(account);
        Ok(Some(index))
    }

    fn push_withdrawal(&mut self, withdrawal: Withdrawal) -> Result<Option<u64>, WitnessError> {
        let next = self.withdrawals.len();
        if next >= tree_capacity(WITHDRAWAL_TREE_DEPTH) {
            return Ok(None);
        }
        if let Some((witnesses, _)) = &mut self.recording
            && let Some(proof) = self.withdrawals.proof(next)
        {
            witnesses.push(Witness::WithdrawalSlot { proof });
        }
        self.withdrawals
            .set(next, withdrawal.leaf_hash())
            .map_err(|_| WitnessError::NotRead(next))?;
        self.withdrawal_data.push(withdrawal);
        Ok(Some(next))
    }

    fn set_inbox_cursor(&mut self, cursor: u64) {
        self.inbox_cursor = cursor;
    }
}

/// A state known only by its commitment and the witnesses of one step.
#[derive(Debug)]
pub struct WitnessState {
    commitment: Commitment,
    witnesses: std::vec::IntoIter<Witness>,
    /// Slots read so far, with proofs kept valid against the current root.
    read: Vec<(u32, Account, IndexedProof<Hash>)>,
}

impl WitnessState {
    /// A state committed to by `commitment`, with `witnesses` for one step.
    pub fn new(commitment: Commitment, witnesses: Vec<Witness>) -> Self {
        Self {
            commitment,
            witnesses: witnesses.into_iter(),
            read: Vec::new(),
        }
    }

    /// Ends the step: every witness must have been used.
    pub fn finish(self) -> Result<Commitment, WitnessError> {
        match self.witnesses.len() {
            0 => Ok(self.commitment),
            n => Err(WitnessError::Unused(n)),
        }
    }

    /// Takes the next account witness, checks it is for slot `index` and
    /// leads to the current root.
    fn take_account(
        &mut self,
        index: u64,
    ) -> Result<(Option<Account>, IndexedProof<Hash>), WitnessError> {
        let Witness::Account { account, proof } =
            self.witnesses.next().ok_or(WitnessError::Missing)?
        else {
            return Err(WitnessError::WrongKind);
        };
        if proof.index != index {
            return Err(WitnessError::WrongSlot {
                expected: index,
                got: proof.index,
            });
        }
        proof
            .verify::<Sha256Hasher>(
                ACCOUNT_TREE_DEPTH,
                &self.commitment.accounts_root,
                account_leaf(account.as_ref()),
            )
            .map_err(WitnessError::Invalid)?;
        Ok((account, proof))
    }

    /// Writes `account` into slot `index` through `proof`, moving the root
    /// and keeping the other read slots' proofs valid.
    fn write_slot(&mut self, index: u32, account: Account, proof: IndexedProof<Hash>) {
        let path = proof.path::<Sha256Hasher>(account.leaf_hash());
        if let Some(root) = path.last() {
            self.commitment.accounts_root = *root;
        }
        for (other, _, p) in &mut self.read {
            if *other != index {
                p.absorb(index as u64, &path);
            }
        }
        match self.read.iter_mut().find(|(i, _, _)| *i == index) {
            Some(entry) => entry.1 = account,
            None => self.read.push((index, account, proof)),
        }
    }
}

impl L2State for WitnessState {
    fn commitment(&self) -> Commitment {
        self.commitment
    }

    fn account(&mut self, index: u32) -> Result<Option<Account>, WitnessError> {
        if index as u64 >= self.commitment.account_count {
            return Ok(None);
        }
        if let Some((_, account, _)) = self.read.iter().find(|(i, _, _)| *i == index) {
            return Ok(Some(account.clone()));
        }
        let (account, proof) = self.take_account(index as u64)?;
        let account = account.ok_or(WitnessError::EmptyFilledSlot(index as u64))?;
        self.read.push((index, account.clone(), proof));
        Ok(Some(account))
    }

    fn put_account(&mut self, index: u32, account: Account) -> Result<(), WitnessError> {
        let proof = self
            .read
            .iter()
            .find(|(i, _, _)| *i == index)
            .map(|(_, _, p)| p.clone())
            .ok_or(WitnessError::NotRead(index as u64))?;
        self.write_slot(index, account, proof);
        Ok(())
    }

    fn open_account(&mut self, account: Account) -> Result<Option<u32>, WitnessError> {
        let next = self.commitment.account_count;
        if next >= tree_capacity(ACCOUNT_TREE_DEPTH) {
            return Ok(None);
        }
        let index = u32::try_from(next).map_err(|_| WitnessError::NotRead(next))?;
        let (existing, proof) = self.take_account(next)?;
        if existing.is_some() {
            // A slot at the count is free in every honest state.
            return Err(WitnessError::WrongSlot {
                expected: next,
                got: proof.index,
            });
        }
        self.write_slot(index, account, proof);
        self.commitment.account_count = next + 1;
        Ok(Some(index))
    }

    fn push_withdrawal(&mut self, withdrawal: Withdrawal) -> Result<Option<u64>, WitnessError> {
        let next = self.commitment.withdrawal_count;
        if next >= tree_capacity(WITHDRAWAL_TREE_DEPTH) {
            return Ok(None);
        }
        let Witness::WithdrawalSlot { proof } =
            self.witnesses.next().ok_or(WitnessError::Missing)?
        else {
            return Err(WitnessError::WrongKind);
        };
        if proof.index != next {
            return Err(WitnessError::WrongSlot {
                expected: next,
                got: proof.index,
            });
        }
        proof
            .verify::<Sha256Hasher>(
                WITHDRAWAL_TREE_DEPTH,
                &self.commitment.withdrawals_root,
                Sha256Hasher::hash_leaf(b""),
            )
            .map_err(WitnessError::Invalid)?;
        self.commitment.withdrawals_root = proof.root::<Sha256Hasher>(withdrawal.leaf_hash());
        self.commitment.withdrawal_count = next + 1;
        Ok(Some(next))
    }

    fn set_inbox_cursor(&mut self, cursor: u64) {
        self.commitment.inbox_cursor = cursor;
    }
}

// ---- codec -------------------------------------------------------------

/// Most witnesses one step may carry (decoding bound): a step touches at
/// most three accounts and one withdrawal slot.
pub const WITNESSES_MAX: usize = 8;

impl Write for Commitment {
    fn write(&self, buf: &mut impl BufMut) {
        self.accounts_root.write(buf);
        UInt(self.account_count).write(buf);
        self.withdrawals_root.write(buf);
        UInt(self.withdrawal_count).write(buf);
        UInt(self.inbox_cursor).write(buf);
    }
}

impl EncodeSize for Commitment {
    fn encode_size(&self) -> usize {
        64 + UInt(self.account_count).encode_size()
            + UInt(self.withdrawal_count).encode_size()
            + UInt(self.inbox_cursor).encode_size()
    }
}

impl Read for Commitment {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            accounts_root: Hash::read(buf)?,
            account_count: UInt::<u64>::read(buf)?.0,
            withdrawals_root: Hash::read(buf)?,
            withdrawal_count: UInt::<u64>::read(buf)?.0,
            inbox_cursor: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for Witness {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Witness::Account { account, proof } => {
                0u8.write(buf);
                account.write(buf);
                proof.write(buf);
            }
            Witness::WithdrawalSlot { proof } => {
                1u8.write(buf);
                proof.write(buf);
            }
        }
    }
}

impl EncodeSize for Witness {
    fn encode_size(&self) -> usize {
        1 + match self {
            Witness::Account { account, proof } => account.encode_size() + proof.encode_size(),
            Witness::WithdrawalSlot { proof } => proof.encode_size(),
        }
    }
}

impl Read for Witness {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Witness::Account {
                account: Option::<Account>::read(buf)?,
                proof: IndexedProof::read(buf)?,
            },
            1 => Witness::WithdrawalSlot {
                proof: IndexedProof::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}
