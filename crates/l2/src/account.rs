//! What the two L2 trees hold: accounts and withdrawals, and their leaf
//! encodings.

use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_merkle::{MerkleHasher as _, Sha256Hasher};
use terrace_primitives::{Address, Amount, BlsPublicKey, Hash, PublicKey, codec::read_version};

/// Encoding version of account and withdrawal leaves.
pub const LEAF_VERSION: u8 = 1;

/// An L2 account, found by its index in the account tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The key that signs for it (an ed25519 key, as on L1).
    pub key: PublicKey,
    /// The BLS key its aggregated transactions are signed with, set when
    /// the account is opened and never changed (so a key proven in any
    /// earlier state is still the account's key).
    pub bls: Option<BlsPublicKey>,
    /// Spendable balance.
    pub balance: Amount,
    /// Transactions sent; the next must carry this nonce.
    pub nonce: u64,
}

impl Account {
    /// The leaf hash of this account in the account tree.
    pub fn leaf_hash(&self) -> Hash {
        Sha256Hasher::hash_leaf(&self.encode())
    }
}

/// The leaf hash of a slot that may be empty.
pub fn account_leaf(account: Option<&Account>) -> Hash {
    match account {
        Some(a) => a.leaf_hash(),
        None => Sha256Hasher::hash_leaf(b""),
    }
}

/// A withdrawal: funds that left L2 and can be claimed on L1 once the batch
/// that made it is final. Its index in the withdrawal tree is its nullifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// L1 address paid on claim.
    pub recipient: Address,
    /// Amount paid on claim.
    pub amount: Amount,
}

impl Withdrawal {
    /// The leaf hash of this withdrawal in the withdrawal tree.
    pub fn leaf_hash(&self) -> Hash {
        Sha256Hasher::hash_leaf(&self.encode())
    }
}

impl Write for Account {
    fn write(&self, buf: &mut impl BufMut) {
        LEAF_VERSION.write(buf);
        0u8.write(buf);
        self.key.write(buf);
        self.bls.write(buf);
        self.balance.write(buf);
        UInt(self.nonce).write(buf);
    }
}

impl EncodeSize for Account {
    fn encode_size(&self) -> usize {
        2 + self.key.encode_size()
            + self.bls.encode_size()
            + self.balance.encode_size()
            + UInt(self.nonce).encode_size()
    }
}

impl Read for Account {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "Account", LEAF_VERSION)?;
        if u8::read(buf)? != 0 {
            return Err(CodecError::Invalid("Account", "not an account leaf"));
        }
        Ok(Self {
            key: PublicKey::read(buf)?,
            bls: Option::<BlsPublicKey>::read(buf)?,
            balance: Amount::read(buf)?,
            nonce: UInt::<u64>::read(buf)?.0,
        })
    }
}

/// The second byte tells the two leaf kinds apart, so an account can never
/// pass for a withdrawal in a proof.
impl Write for Withdrawal {
    fn write(&self, buf: &mut impl BufMut) {
        LEAF_VERSION.write(buf);
        1u8.write(buf);
        self.recipient.write(buf);
        self.amount.write(buf);
    }
}

impl EncodeSize for Withdrawal {
    fn encode_size(&self) -> usize {
        2 + Address::LEN + self.amount.encode_size()
    }
}

impl Read for Withdrawal {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "Withdrawal", LEAF_VERSION)?;
        if u8::read(buf)? != 1 {
            return Err(CodecError::Invalid("Withdrawal", "not a withdrawal leaf"));
        }
        Ok(Self {
            recipient: Address::read(buf)?,
            amount: Amount::read(buf)?,
        })
    }
}
