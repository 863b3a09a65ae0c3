//! Invoices: what a payee hands a payer — the payment hash, the amount,
//! until when it is good and the expiry the last hop must leave it —
//! signed by the payee, as text (`tinv1` and hex, like BOLT 11's `lnbc1`
//! without its bech32).

use bytes::BufMut;
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use terrace_primitives::{
    Amount, Hash, PrivateKey, PublicKey, Signature,
    codec::{decode_bounded, from_hex, to_hex},
    keys,
};

/// Namespace of invoice signatures.
pub const INVOICE_NAMESPACE: &[u8] = b"terrace/chan/invoice";
/// Text invoices start with this.
pub const INVOICE_PREFIX: &str = "tinv1";
/// Longest memo.
pub const MEMO_BYTES_MAX: usize = 256;

/// A request for payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Who is paid (its channel node's key).
    pub payee: PublicKey,
    /// SHA-256 of the preimage only the payee knows until paid.
    pub payment_hash: Hash,
    /// What the payee must receive.
    pub amount: Amount,
    /// Last L1 height at which the payee accepts the payment.
    pub expires_at: u64,
    /// Blocks the payee needs between receiving the HTLC and its expiry.
    pub final_delta: u64,
    /// What it is for.
    pub memo: String,
}

/// Why an invoice could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    /// Not a Terrace invoice.
    #[error("an invoice starts with {INVOICE_PREFIX}")]
    BadPrefix,
    /// Not hex after the prefix.
    #[error("an invoice is hex after its prefix")]
    BadHex,
    /// The bytes do not decode.
    #[error("the invoice does not decode: {0}")]
    Decode(String),
    /// The payee did not sign it.
    #[error("the invoice's signature does not verify")]
    InvalidSignature,
    /// Past its expiry.
    #[error("the invoice expired at height {0}")]
    Expired(u64),
}

impl Invoice {
    /// Signs and writes it as text.
    pub fn to_text(&self, key: &PrivateKey) -> String {
        let body = self.encode();
        let signature = keys::sign(key, INVOICE_NAMESPACE, &body);
        let mut bytes = body.to_vec();
        bytes.extend_from_slice(&signature.encode());
        format!("{INVOICE_PREFIX}{}", to_hex(&bytes))
    }

    /// Reads a text invoice and checks its signature and that it has not
    /// expired at `height`.
    pub fn from_text(text: &str, height: u64) -> Result<Self, InvoiceError> {
        let hex = text
            .trim()
            .strip_prefix(INVOICE_PREFIX)
            .ok_or(InvoiceError::BadPrefix)?;
        let bytes = from_hex(hex).ok_or(InvoiceError::BadHex)?;
        let (invoice, signature): (Invoice, Signature) = decode_bounded(&bytes, 1024, &((), ()))
            .map_err(|e| InvoiceError::Decode(e.to_string()))?;
        keys::verify(
            &invoice.payee,
            INVOICE_NAMESPACE,
            &invoice.encode(),
            &signature,
        )
        .map_err(|_| InvoiceError::InvalidSignature)?;
        if height > invoice.expires_at {
            return Err(InvoiceError::Expired(invoice.expires_at));
        }
        Ok(invoice)
    }
}

impl Write for Invoice {
    fn write(&self, buf: &mut impl BufMut) {
        self.payee.write(buf);
        self.payment_hash.write(buf);
        self.amount.write(buf);
        UInt(self.expires_at).write(buf);
        UInt(self.final_delta).write(buf);
        self.memo.as_bytes().to_vec().write(buf);
    }
}

impl EncodeSize for Invoice {
    fn encode_size(&self) -> usize {
        self.payee.encode_size()
            + 32
            + self.amount.encode_size()
            + UInt(self.expires_at).encode_size()
            + UInt(self.final_delta).encode_size()
            + self.memo.as_bytes().to_vec().encode_size()
    }
}

impl Read for Invoice {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let payee = PublicKey::read(buf)?;
        let payment_hash = Hash::read(buf)?;
        let amount = Amount::read(buf)?;
        let expires_at = UInt::<u64>::read(buf)?.0;
        let final_delta = UInt::<u64>::read(buf)?.0;
        let memo = Vec::<u8>::read_cfg(buf, &(RangeCfg::new(0..=MEMO_BYTES_MAX), ()))?;
        Ok(Self {
            payee,
            payment_hash,
            amount,
            expires_at,
            final_delta,
            memo: String::from_utf8(memo)
                .map_err(|_| CodecError::Invalid("Invoice", "memo is not UTF-8"))?,
        })
    }
}
