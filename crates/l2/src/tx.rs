//! L2 transactions: compact, because every byte lands in an L1 batch.
//!
//! Accounts are named by their index in the account tree (a varint, not a
//! 32-byte key) and the sender's key is not carried: it is in the sender's
//! account leaf. The signature covers the rollup id and the encoding, so a
//! transaction signed for one rollup is void on every other rollup and on L1.

use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write, varint::UInt,
};
use terrace_primitives::{
    Address, Amount, BlsPrivateKey, BlsPublicKey, BlsSignature, Hash, PrivateKey, PublicKey,
    Signature,
    bls::BlsError,
    hash_tagged,
    keys::{self, SignatureError, Signer as _},
};

/// Namespace of L2 transaction signatures (format version 1).
pub const L2_TX_NAMESPACE: &[u8] = b"terrace/l2/tx/v1";
/// Namespace of BLS signatures of aggregated L2 transactions.
pub const L2_BLS_TX_NAMESPACE: &[u8] = b"terrace/l2/tx-bls/v1";

/// What an L2 transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Move `amount` to account `to`.
    Transfer {
        /// Recipient's account index.
        to: u32,
        /// Amount moved.
        amount: Amount,
    },
    /// Leave L2: `amount` becomes claimable on L1 by `recipient` once the
    /// batch is final.
    Withdraw {
        /// L1 address paid on claim.
        recipient: Address,
        /// Amount withdrawn.
        amount: Amount,
    },
}

impl Action {
    /// The amount the action moves out of the sender (beyond the fee).
    pub fn amount(&self) -> Amount {
        match self {
            Action::Transfer { amount, .. } | Action::Withdraw { amount, .. } => *amount,
        }
    }
}

/// An unsigned L2 transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2Transaction {
    /// Sender's account index.
    pub from: u32,
    /// Sender's nonce.
    pub nonce: u64,
    /// Most the sender pays in fees (L2 execution plus its L1 data share).
    pub max_fee: Amount,
    /// What it does.
    pub action: Action,
}

impl L2Transaction {
    /// The message a signature covers.
    pub fn signing_message(&self, rollup: u64) -> Vec<u8> {
        let mut msg = rollup.to_be_bytes().to_vec();
        msg.extend_from_slice(&self.encode());
        msg
    }

    /// Signs for `rollup`.
    pub fn sign(self, rollup: u64, key: &PrivateKey) -> SignedL2Transaction {
        let signature = key.sign(L2_TX_NAMESPACE, &self.signing_message(rollup));
        SignedL2Transaction {
            tx: self,
            signature,
        }
    }
}

impl L2Transaction {
    /// Signs for `rollup` with the sender account's BLS key: the signature
    /// is aggregated by the sequencer and never posted alone.
    pub fn sign_bls(self, rollup: u64, key: &BlsPrivateKey) -> AggregatedL2Transaction {
        let signature = key.sign(L2_BLS_TX_NAMESPACE, &self.signing_message(rollup));
        AggregatedL2Transaction {
            tx: self,
            signature,
        }
    }

    /// The id of the transaction when it travels aggregated: the signature
    /// is not part of it (it is not posted).
    pub fn aggregated_hash(&self) -> Hash {
        hash_tagged(b"terrace/l2/txid-bls", &[&self.encode()])
    }
}

/// A transaction with its own BLS signature, as a user sends it to the
/// sequencer: the batch carries the transaction and one aggregate per
/// chunk of them instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregatedL2Transaction {
    /// The transaction.
    pub tx: L2Transaction,
    /// Signature by the sender account's BLS key.
    pub signature: BlsSignature,
}

impl AggregatedL2Transaction {
    /// Checks the signature against the sender account's BLS key.
    pub fn verify(&self, rollup: u64, key: &BlsPublicKey) -> Result<(), BlsError> {
        key.verify(
            L2_BLS_TX_NAMESPACE,
            &self.tx.signing_message(rollup),
            &self.signature,
        )
    }

    /// The transaction id ([`L2Transaction::aggregated_hash`]).
    pub fn hash(&self) -> Hash {
        self.tx.aggregated_hash()
    }
}

impl Write for AggregatedL2Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for AggregatedL2Transaction {
    fn encode_size(&self) -> usize {
        self.tx.encode_size() + terrace_primitives::bls::BLS_SIGNATURE_LEN
    }
}

impl Read for AggregatedL2Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            tx: L2Transaction::read(buf)?,
            signature: BlsSignature::read(buf)?,
        })
    }
}

/// A transaction with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedL2Transaction {
    /// The transaction.
    pub tx: L2Transaction,
    /// Signature by the sender account's key over
    /// [`L2Transaction::signing_message`].
    pub signature: Signature,
}

impl SignedL2Transaction {
    /// Checks the signature against the sender account's key.
    pub fn verify(&self, rollup: u64, key: &PublicKey) -> Result<(), SignatureError> {
        keys::verify(
            key,
            L2_TX_NAMESPACE,
            &self.tx.signing_message(rollup),
            &self.signature,
        )
    }

    /// The transaction id.
    pub fn hash(&self) -> Hash {
        hash_tagged(b"terrace/l2/txid", &[&self.encode()])
    }
}

impl Write for Action {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Action::Transfer { to, amount } => {
                0u8.write(buf);
                UInt(*to).write(buf);
                amount.write(buf);
            }
            Action::Withdraw { recipient, amount } => {
                1u8.write(buf);
                recipient.write(buf);
                amount.write(buf);
            }
        }
    }
}

impl EncodeSize for Action {
    fn encode_size(&self) -> usize {
        1 + match self {
            Action::Transfer { to, amount } => UInt(*to).encode_size() + amount.encode_size(),
            Action::Withdraw { amount, .. } => Address::LEN + amount.encode_size(),
        }
    }
}

impl Read for Action {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            0 => Action::Transfer {
                to: UInt::<u32>::read(buf)?.0,
                amount: Amount::read(buf)?,
            },
            1 => Action::Withdraw {
                recipient: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            t => return Err(CodecError::InvalidEnum(t)),
        })
    }
}

impl Write for L2Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        UInt(self.from).write(buf);
        UInt(self.nonce).write(buf);
        self.max_fee.write(buf);
        self.action.write(buf);
    }
}

impl EncodeSize for L2Transaction {
    fn encode_size(&self) -> usize {
        UInt(self.from).encode_size()
            + UInt(self.nonce).encode_size()
            + self.max_fee.encode_size()
            + self.action.encode_size()
    }
}

impl Read for L2Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            from: UInt::<u32>::read(buf)?.0,
            nonce: UInt::<u64>::read(buf)?.0,
            max_fee: Amount::read(buf)?,
            action: Action::read(buf)?,
        })
    }
}

impl Write for SignedL2Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedL2Transaction {
    fn encode_size(&self) -> usize {
        self.tx.encode_size() + keys::SIGNATURE_LEN
    }
}

impl Read for SignedL2Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            tx: L2Transaction::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::DecodeExt as _;
    use terrace_primitives::keys::private_key_from_seed;

    fn transfer() -> L2Transaction {
        L2Transaction {
            from: 3,
            nonce: 7,
            max_fee: Amount(1_000),
            action: Action::Transfer {
                to: 9,
                amount: Amount(50),
            },
        }
    }

    #[test]
    fn signatures_bind_the_rollup() {
        let key = private_key_from_seed([1; 32]);
        let signed = transfer().sign(1, &key);
        assert_eq!(signed.verify(1, &key.public_key()), Ok(()));
        assert_eq!(
            signed.verify(2, &key.public_key()),
            Err(SignatureError::Invalid)
        );
        let other = private_key_from_seed([2; 32]);
        assert!(signed.verify(1, &other.public_key()).is_err());
    }

    #[test]
    fn a_transfer_is_small_and_roundtrips() {
        let signed = transfer().sign(1, &private_key_from_seed([1; 32]));
        let bytes = signed.encode();
        // Indices and amounts are varints: 7 bytes of body plus the signature.
        assert_eq!(bytes.len(), 7 + 64);
        assert_eq!(SignedL2Transaction::decode(bytes).unwrap(), signed);
    }
}
