//! Transactions: what a user signs, how it is encoded, and the stateless
//! checks every node runs before looking at state.

use crate::{
    error::TxError,
    module::OpSummary,
    modules::{
        channels::ChannelOp, dispatch, optimistic::OptimisticOp, staking::StakingOp,
        validity::ValidityOp,
    },
    params::ChainParams,
};
use bytes::{Buf as _, BufMut, Bytes};
use commonware_codec::{
    Buf, Copying, Encode as _, EncodeSize, Error as CodecError, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_primitives::{
    Address, Amount, ChainId, Hash, PrivateKey, PublicKey, Signature,
    codec::{decode_bounded, read_version},
    hash_tagged,
    keys::KeyCache,
    keys::{self, Signer as _},
    par::Threads,
};

/// Namespace of transaction signatures: a transaction signature can never
/// pass for a consensus vote or anything else signed with the same key.
pub const TX_NAMESPACE: &[u8] = b"terrace/l1/tx";
/// Encoding version of [`Transaction`].
pub const TX_VERSION: u8 = 1;
/// The leading byte of a [`Payload::Transfer`]; other payloads lead with
/// a byte their module owns.
pub const TRANSFER_TAG: u8 = 0;

/// What a transaction does: a transfer, or an operation of one
/// settlement module (one arm per module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Move `amount` to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount moved.
        amount: Amount,
    },
    /// Stake, unstake or slash (see [`crate::modules::staking`]).
    Staking(StakingOp),
    /// Create or act on an optimistic rollup (see
    /// [`crate::modules::optimistic`]).
    Optimistic(OptimisticOp),
    /// Create or act on a zk-rollup (see [`crate::modules::validity`]).
    Validity(ValidityOp),
    /// Open, close or settle a payment channel (see
    /// [`crate::modules::channels`]).
    Channels(ChannelOp),
}

impl Payload {
    /// Funds the payload moves out of the sender's balance (beyond fees).
    pub fn value(&self) -> Amount {
        match self {
            Payload::Transfer { amount, .. } => *amount,
            module => dispatch::value_of(module).unwrap_or(Amount::ZERO),
        }
    }

    /// Gas for the payload's own work, beyond the base and byte charges.
    pub fn gas(&self, params: &ChainParams) -> u64 {
        match self {
            Payload::Transfer { .. } => params.gas.transfer,
            module => dispatch::gas(module, params).unwrap_or(0),
        }
    }

    /// The payload in a word, for explorers and RPC answers.
    pub fn summary(&self) -> OpSummary {
        match self {
            Payload::Transfer { to, amount } => OpSummary {
                kind: "transfer",
                to: Some(*to),
                amount: Some(*amount),
            },
            module => dispatch::summary(module).unwrap_or(OpSummary {
                kind: "unknown",
                to: None,
                amount: None,
            }),
        }
    }
}

/// An unsigned transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    /// The chain it is valid on.
    pub chain_id: ChainId,
    /// The sender's nonce.
    pub nonce: u64,
    /// Most the sender pays per gas (base fee + tip).
    pub max_fee_per_gas: u64,
    /// Most the sender tips the proposer per gas.
    pub max_priority_fee_per_gas: u64,
    /// Most gas the transaction may use.
    pub gas_limit: u64,
    /// What it does.
    pub payload: Payload,
}

impl Transaction {
    /// Signs the transaction.
    pub fn sign(self, key: &PrivateKey) -> SignedTransaction {
        let signature = key.sign(TX_NAMESPACE, &self.encode());
        SignedTransaction {
            tx: self,
            public_key: key.public_key(),
            signature,
        }
    }
}

/// A transaction with its sender's key and signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransaction {
    /// The signed transaction.
    pub tx: Transaction,
    /// The sender's key; the sender is its address.
    pub public_key: PublicKey,
    /// Signature over the transaction's encoding under [`TX_NAMESPACE`].
    pub signature: Signature,
}

impl SignedTransaction {
    /// The transaction id: a hash of the whole signed encoding.
    pub fn hash(&self) -> Hash {
        tx_id(&self.encode())
    }

    /// The sender's address.
    pub fn sender(&self) -> Address {
        Address::from_public_key(&self.public_key)
    }

    /// Decodes a signed transaction from untrusted bytes.
    pub fn decode_bounded(bytes: &[u8], params: &ChainParams) -> Result<Self, TxError> {
        let max = usize::try_from(params.tx_bytes_max).unwrap_or(usize::MAX);
        decode_bounded(bytes, max, &()).map_err(TxError::from)
    }

    /// Decodes untrusted bytes, taking the sender's key from `keys` when it
    /// was seen before (see [`KeyCache`]).
    pub fn decode_cached(
        bytes: &[u8],
        params: &ChainParams,
        keys: &KeyCache,
    ) -> Result<Self, TxError> {
        let max = usize::try_from(params.tx_bytes_max).unwrap_or(usize::MAX);
        if bytes.len() > max {
            return Err(TxError::TooLarge {
                len: bytes.len(),
                max: params.tx_bytes_max,
            });
        }
        let mut buf = Copying(bytes);
        let malformed = |e: CodecError| TxError::Malformed(e.to_string());
        let tx = Transaction::read(&mut buf).map_err(malformed)?;
        let raw = <[u8; 32]>::read(&mut buf).map_err(malformed)?;
        let public_key = keys.decode(&raw).map_err(malformed)?;
        let signature = Signature::read(&mut buf).map_err(malformed)?;
        if buf.0.has_remaining() {
            return Err(malformed(CodecError::ExtraData(buf.0.remaining())));
        }
        Ok(Self {
            tx,
            public_key,
            signature,
        })
    }

    /// Decodes untrusted bytes and runs every stateless check, signature included.
    pub fn decode_and_check(
        bytes: Bytes,
        chain_id: ChainId,
        params: &ChainParams,
    ) -> Result<CheckedTransaction, TxError> {
        let signed = Self::decode_bounded(&bytes, params)?;
        let checked = check_fields_encoded(signed, bytes, chain_id, params)?;
        verify_signature(&checked)?;
        Ok(checked)
    }
}

/// A transaction that passed the field checks ([`check_fields`]), with what
/// they derived. Only this crate builds one, from the exact encoding, so
/// its bytes, id and sender always belong to its transaction. The signature
/// is verified separately: [`check`] and the block paths
/// ([`crate::execute::check_transactions`],
/// [`crate::execute::verify_and_execute`]) always do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedTransaction {
    pub(crate) signed: SignedTransaction,
    pub(crate) bytes: Bytes,
    pub(crate) hash: Hash,
    pub(crate) sender: Address,
    pub(crate) intrinsic_gas: u64,
}

impl CheckedTransaction {
    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// Its exact encoding.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Its id.
    pub fn hash(&self) -> Hash {
        self.hash
    }

    /// Its sender.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// Gas it uses: base + bytes + payload (also its minimum gas limit).
    pub fn intrinsic_gas(&self) -> u64 {
        self.intrinsic_gas
    }

    /// The encoded length in bytes (what counts against the block byte limit).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: a transaction has at least a version byte.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The transaction body.
    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }
}

/// The id of a signed transaction from its exact encoding.
pub fn tx_id(bytes: &[u8]) -> Hash {
    hash_tagged(b"terrace/l1/txid", &[bytes])
}

/// Intrinsic gas of a transaction of `len` encoded bytes.
pub fn intrinsic_gas(payload: &Payload, len: usize, params: &ChainParams) -> Option<u64> {
    params
        .gas
        .tx_base
        .checked_add(params.gas.per_byte.checked_mul(len as u64)?)?
        .checked_add(payload.gas(params))
}

/// Every check that needs no state, except the signature (which is checked
/// in batches by [`check_signatures`] or alone by [`check`]).
pub fn check_fields(
    signed: SignedTransaction,
    chain_id: ChainId,
    params: &ChainParams,
) -> Result<CheckedTransaction, TxError> {
    let bytes = signed.encode();
    check_fields_encoded(signed, bytes, chain_id, params)
}

/// As [`check_fields`], for a transaction decoded from `bytes` (its exact
/// encoding), which saves encoding it again.
pub(crate) fn check_fields_encoded(
    signed: SignedTransaction,
    bytes: Bytes,
    chain_id: ChainId,
    params: &ChainParams,
) -> Result<CheckedTransaction, TxError> {
    debug_assert_eq!(bytes, signed.encode());
    let tx = &signed.tx;
    if tx.chain_id != chain_id {
        return Err(TxError::WrongChain {
            expected: chain_id,
            got: tx.chain_id,
        });
    }
    if bytes.len() as u64 > params.tx_bytes_max {
        return Err(TxError::TooLarge {
            len: bytes.len(),
            max: params.tx_bytes_max,
        });
    }
    if tx.max_priority_fee_per_gas > tx.max_fee_per_gas {
        return Err(TxError::TipAboveFeeCap {
            tip: tx.max_priority_fee_per_gas,
            fee_cap: tx.max_fee_per_gas,
        });
    }
    let intrinsic_gas = intrinsic_gas(&tx.payload, bytes.len(), params).ok_or(TxError::Overflow)?;
    if tx.gas_limit < intrinsic_gas {
        return Err(TxError::GasLimitTooLow {
            gas_limit: tx.gas_limit,
            intrinsic: intrinsic_gas,
        });
    }
    if tx.gas_limit > params.block_gas_limit {
        return Err(TxError::GasLimitAboveBlockLimit {
            gas_limit: tx.gas_limit,
            block_limit: params.block_gas_limit,
        });
    }
    // gas_limit × max_fee + value must be representable.
    Amount::from(tx.gas_limit)
        .checked_mul(tx.max_fee_per_gas as u128)
        .and_then(|fee| fee.checked_add(tx.payload.value()))
        .ok_or(TxError::Overflow)?;
    keys::check_public_key(&signed.public_key).map_err(TxError::BadSignature)?;
    let hash = tx_id(&bytes);
    let sender = Address::from_public_key(&signed.public_key);
    Ok(CheckedTransaction {
        signed,
        bytes,
        hash,
        sender,
        intrinsic_gas,
    })
}

/// All stateless checks for one transaction, signature included.
pub fn check(
    signed: SignedTransaction,
    chain_id: ChainId,
    params: &ChainParams,
) -> Result<CheckedTransaction, TxError> {
    let checked = check_fields(signed, chain_id, params)?;
    verify_signature(&checked)?;
    Ok(checked)
}

/// The bytes a transaction's signature covers: its encoding minus the key
/// and the signature at the end.
fn signed_body(t: &CheckedTransaction) -> &[u8] {
    const TRAILER: usize = keys::PUBLIC_KEY_LEN + keys::SIGNATURE_LEN;
    &t.bytes[..t.bytes.len() - TRAILER]
}

/// Verifies one field-checked transaction's signature.
pub fn verify_signature(t: &CheckedTransaction) -> Result<(), TxError> {
    keys::verify(
        &t.signed.public_key,
        TX_NAMESPACE,
        signed_body(t),
        &t.signed.signature,
    )
    .map_err(TxError::BadSignature)
}

/// Verifies the signatures of many field-checked transactions in batches
/// on `threads`. On failure, names the first invalid one.
pub fn check_signatures(
    txs: &[CheckedTransaction],
    threads: Threads,
) -> Result<(), (usize, TxError)> {
    check_signatures_beside(txs, threads, || ()).1
}

/// As [`check_signatures`], while the caller's thread runs `side` and then
/// helps verify.
pub fn check_signatures_beside<A>(
    txs: &[CheckedTransaction],
    threads: Threads,
    side: impl FnOnce() -> A,
) -> (A, Result<(), (usize, TxError)>) {
    let (side_result, verdict) = keys::verify_batch_beside(
        TX_NAMESPACE,
        txs,
        |t| (&t.signed.public_key, signed_body(t), &t.signed.signature),
        threads,
        side,
    );
    (
        side_result,
        verdict.map_err(|e| (e.index, TxError::BadSignature(e.error))),
    )
}

// ---- codec -------------------------------------------------------------

impl Write for Payload {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Payload::Transfer { to, amount } => {
                TRANSFER_TAG.write(buf);
                to.write(buf);
                amount.write(buf);
            }
            module => dispatch::write_op(module, buf),
        }
    }
}

impl EncodeSize for Payload {
    fn encode_size(&self) -> usize {
        match self {
            Payload::Transfer { to, amount } => 1 + to.encode_size() + amount.encode_size(),
            module => dispatch::op_size(module),
        }
    }
}

impl Read for Payload {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            TRANSFER_TAG => Payload::Transfer {
                to: Address::read(buf)?,
                amount: Amount::read(buf)?,
            },
            t => dispatch::read_op(t, buf).ok_or(CodecError::InvalidEnum(t))??,
        })
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        TX_VERSION.write(buf);
        self.chain_id.write(buf);
        UInt(self.nonce).write(buf);
        UInt(self.max_fee_per_gas).write(buf);
        UInt(self.max_priority_fee_per_gas).write(buf);
        UInt(self.gas_limit).write(buf);
        self.payload.write(buf);
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        1 + self.chain_id.encode_size()
            + UInt(self.nonce).encode_size()
            + UInt(self.max_fee_per_gas).encode_size()
            + UInt(self.max_priority_fee_per_gas).encode_size()
            + UInt(self.gas_limit).encode_size()
            + self.payload.encode_size()
    }
}

impl Read for Transaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_version(buf, "Transaction", TX_VERSION)?;
        Ok(Self {
            chain_id: ChainId::read(buf)?,
            nonce: UInt::<u64>::read(buf)?.0,
            max_fee_per_gas: UInt::<u64>::read(buf)?.0,
            max_priority_fee_per_gas: UInt::<u64>::read(buf)?.0,
            gas_limit: UInt::<u64>::read(buf)?.0,
            payload: Payload::read(buf)?,
        })
    }
}

impl Write for SignedTransaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.tx.write(buf);
        self.public_key.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedTransaction {
    fn encode_size(&self) -> usize {
        self.tx.encode_size() + keys::PUBLIC_KEY_LEN + keys::SIGNATURE_LEN
    }
}

impl Read for SignedTransaction {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            tx: Transaction::read(buf)?,
            public_key: PublicKey::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}
