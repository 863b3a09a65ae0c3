//! The zk-rollup's operations: what users sign, what L1 queues, what the
//! operator posts, and the commitments a batch proof binds.
//!
//! A batch is a fixed number of *slots*; each slot holds one operation or a
//! no-op. L1 sees the operations as public data ([`PubOp`], 4 to 44 bytes
//! each; a transfer to an existing account is 12), never their signatures:
//! the proof shows every signature held. The proof's public inputs are
//! [`Statement`]: the old and new account roots, the data commitment (a
//! Poseidon chain over the decoded operations, so L1 recomputes it from the
//! bytes and a validium's committee signs it), the inbox chain before and
//! after the deposits and forced exits consumed, and the root of the
//! batch's withdrawals tree, against which withdrawals are claimed on L1.

use crate::{
    Fr,
    babyjubjub::{KeyError, PublicKey, SecretKey, Signature},
    poseidon,
};
use ark_ff::Zero;

/// The deepest account tree: public data numbers accounts in 3 bytes.
pub const MAX_DEPTH: u8 = 24;

/// Operation type codes: the first byte of an operation's public data and
/// the low byte of its chain word.
pub mod code {
    /// A padding slot.
    pub const NOOP: u8 = 0;
    /// A transfer to an account that exists.
    pub const TRANSFER: u8 = 1;
    /// A transfer that creates the recipient's account.
    pub const TRANSFER_NEW: u8 = 2;
    /// A withdrawal to an L1 address.
    pub const WITHDRAW: u8 = 3;
    /// A deposit from the L1 inbox.
    pub const DEPOSIT: u8 = 4;
    /// A forced exit from the L1 inbox: the whole balance to L1.
    pub const FORCED_EXIT: u8 = 5;
    /// An exodus exit's signed message (L1 only, never in a batch).
    pub const EXODUS: u8 = 6;
}

/// An L1 address (20 bytes), as a field element in proofs.
pub type L1Address = [u8; 20];

/// The field element of an L1 address (big-endian, below 2^160).
pub fn address_to_fr(address: &L1Address) -> Fr {
    let mut bytes = [0u8; 32];
    for (i, b) in address.iter().rev().enumerate() {
        bytes[i] = *b;
    }
    crate::fr_from_le(&bytes).unwrap_or_else(Fr::zero)
}

/// A rollup's domain: every signature and proof is bound to one chain and
/// one rollup, so nothing replays across them.
pub fn domain(chain_id: u64, rollup: u64) -> Fr {
    poseidon::hash(&[Fr::from(0x7a6b_u64), Fr::from(chain_id), Fr::from(rollup)])
}

/// Why public data or an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The data ends inside an operation.
    #[error("public data ends inside an operation at byte {0}")]
    Truncated(usize),
    /// An unknown operation type.
    #[error("unknown operation type {code} at byte {at}")]
    UnknownOp {
        /// The type byte.
        code: u8,
        /// Its offset.
        at: usize,
    },
    /// More operations than the batch has slots.
    #[error("public data holds more than {0} operations")]
    TooManyOps(usize),
    /// An account index outside the tree.
    #[error("account {index} is outside a tree of depth {depth}")]
    AccountOutOfRange {
        /// The index.
        index: u32,
        /// The tree depth.
        depth: u8,
    },
    /// A packed amount that overflows u64.
    #[error("packed amount {mantissa}e{exponent} overflows")]
    AmountOverflow {
        /// Mantissa.
        mantissa: u64,
        /// Decimal exponent.
        exponent: u8,
    },
    /// An amount with no exact packed form.
    #[error(
        "amount {0} has no exact packed form (at most 35 significant bits times a power of ten)"
    )]
    AmountNotPackable(u64),
    /// A new account's key is not a valid key.
    #[error("new account key: {0}")]
    Key(#[from] KeyError),
}

/// Packed amounts: 40 bits, a 35-bit mantissa times 10^e (5-bit e), as
/// zkSync Lite posts them: 5 bytes instead of 8, so a transfer is 12 bytes.
pub mod amount {
    use super::DataError;

    const MANTISSA_BITS: u32 = 35;
    const MAX_MANTISSA: u64 = (1 << MANTISSA_BITS) - 1;

    /// The amount of a packed form.
    pub fn unpack(packed: u64) -> Result<u64, DataError> {
        let mantissa = packed & MAX_MANTISSA;
        let exponent = ((packed >> MANTISSA_BITS) & 0x1f) as u8;
        10u64
            .checked_pow(u32::from(exponent))
            .and_then(|p| p.checked_mul(mantissa))
            .ok_or(DataError::AmountOverflow { mantissa, exponent })
    }

    /// The packed form of `amount` with the largest exponent; an error when
    /// no exponent gives an exact mantissa of 35 bits.
    pub fn pack(amount: u64) -> Result<u64, DataError> {
        let mut mantissa = amount;
        let mut exponent = 0u64;
        while mantissa > MAX_MANTISSA
            || (mantissa != 0 && mantissa.is_multiple_of(10) && exponent < 31)
        {
            if !mantissa.is_multiple_of(10) || exponent == 31 {
                return Err(DataError::AmountNotPackable(amount));
            }
            mantissa /= 10;
            exponent += 1;
        }
        Ok((exponent << MANTISSA_BITS) | mantissa)
    }

    /// Whether `amount` can be posted exactly.
    pub fn is_packable(amount: u64) -> bool {
        pack(amount).is_ok()
    }
}

/// An operation as posted on L1: what a full node needs to rebuild the
/// state (with the L1 inbox for deposits' keys and amounts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubOp {
    /// Nothing (padding).
    Noop,
    /// `amount` from account `from` to the existing account `to`.
    Transfer {
        /// Sender.
        from: u32,
        /// Recipient.
        to: u32,
        /// Amount (packable).
        amount: u64,
    },
    /// `amount` from `from` to the new account `to`, created for `key`.
    TransferNew {
        /// Sender.
        from: u32,
        /// The new account.
        to: u32,
        /// Amount (packable).
        amount: u64,
        /// The new account's key.
        key: PublicKey,
    },
    /// `amount` from `from` into the withdrawals tree, for `to` on L1.
    Withdraw {
        /// Account.
        from: u32,
        /// Amount (packable).
        amount: u64,
        /// L1 recipient.
        to: L1Address,
    },
    /// The next inbox deposit, credited to account `to` (created if empty).
    Deposit {
        /// Account credited.
        to: u32,
    },
    /// The next inbox forced exit: `amount` (the whole balance, or 0 when
    /// the key does not own the account) into the withdrawals tree.
    ForcedExit {
        /// Account.
        account: u32,
        /// Amount withdrawn.
        amount: u64,
    },
}

/// The four field elements a slot adds to the data chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainItem {
    /// `type + 2^8·a + 2^32·b + 2^56·amount`.
    pub word: Fr,
    /// A new account's key x (else 0).
    pub key_x: Fr,
    /// A new account's key y (else 0).
    pub key_y: Fr,
    /// A withdrawal's L1 address (else 0).
    pub address: Fr,
}

/// `type + 2^8·a + 2^32·b + 2^56·amount`: a slot's fields in one element.
pub fn word(code: u8, a: u32, b: u32, amount: u64) -> Fr {
    let low = u128::from(code) | (u128::from(a) << 8) | (u128::from(b) << 32);
    Fr::from(low) + Fr::from(amount) * Fr::from(1u128 << 56)
}

impl PubOp {
    /// The type code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Noop => code::NOOP,
            Self::Transfer { .. } => code::TRANSFER,
            Self::TransferNew { .. } => code::TRANSFER_NEW,
            Self::Withdraw { .. } => code::WITHDRAW,
            Self::Deposit { .. } => code::DEPOSIT,
            Self::ForcedExit { .. } => code::FORCED_EXIT,
        }
    }

    /// Whether the slot consumes an inbox entry.
    pub fn consumes_inbox(&self) -> bool {
        matches!(self, Self::Deposit { .. } | Self::ForcedExit { .. })
    }

    /// What the slot adds to the data chain.
    pub fn chain_item(&self) -> ChainItem {
        let zero = Fr::zero();
        let (word, key_x, key_y, address) = match self {
            Self::Noop => (Fr::zero(), zero, zero, zero),
            Self::Transfer { from, to, amount } => {
                (word(code::TRANSFER, *from, *to, *amount), zero, zero, zero)
            }
            Self::TransferNew {
                from,
                to,
                amount,
                key,
            } => (
                word(code::TRANSFER_NEW, *from, *to, *amount),
                key.x(),
                key.y(),
                zero,
            ),
            Self::Withdraw { from, amount, to } => (
                word(code::WITHDRAW, *from, 0, *amount),
                zero,
                zero,
                address_to_fr(to),
            ),
            Self::Deposit { to } => (word(code::DEPOSIT, 0, *to, 0), zero, zero, zero),
            Self::ForcedExit { account, amount } => (
                word(code::FORCED_EXIT, *account, 0, *amount),
                zero,
                zero,
                zero,
            ),
        };
        ChainItem {
            word,
            key_x,
            key_y,
            address,
        }
    }

    /// Appends the posted bytes. Amounts of transfers and withdrawals must
    /// be packable (the operator refuses others when they arrive).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), DataError> {
        out.push(self.code());
        match self {
            Self::Noop => {}
            Self::Transfer { from, to, amount } => {
                put_u24(out, *from);
                put_u24(out, *to);
                put_amount(out, *amount)?;
            }
            Self::TransferNew {
                from,
                to,
                amount,
                key,
            } => {
                put_u24(out, *from);
                put_u24(out, *to);
                put_amount(out, *amount)?;
                out.extend_from_slice(&key.pack());
            }
            Self::Withdraw { from, amount, to } => {
                put_u24(out, *from);
                put_amount(out, *amount)?;
                out.extend_from_slice(to);
            }
            Self::Deposit { to } => put_u24(out, *to),
            Self::ForcedExit { account, amount } => {
                put_u24(out, *account);
                out.extend_from_slice(&amount.to_be_bytes());
            }
        }
        Ok(())
    }

    /// The posted bytes of a batch's operations.
    pub fn encode_all(ops: &[PubOp]) -> Result<Vec<u8>, DataError> {
        let mut out = Vec::with_capacity(ops.len() * 12);
        for op in ops {
            op.encode(&mut out)?;
        }
        Ok(out)
    }

    /// Decodes a batch's public data: at most `slots` operations, accounts
    /// inside a tree of `depth`, new keys valid.
    pub fn decode_all(data: &[u8], slots: usize, depth: u8) -> Result<Vec<PubOp>, DataError> {
        let mut ops = Vec::new();
        let mut at = 0usize;
        while at < data.len() {
            if ops.len() == slots {
                return Err(DataError::TooManyOps(slots));
            }
            let start = at;
            let code = data[at];
            at += 1;
            let mut r = Reader {
                data,
                at: &mut at,
                start,
                depth,
            };
            let op = match code {
                code::NOOP => Self::Noop,
                code::TRANSFER => Self::Transfer {
                    from: r.account()?,
                    to: r.account()?,
                    amount: amount::unpack(r.uint(5)?)?,
                },
                code::TRANSFER_NEW => Self::TransferNew {
                    from: r.account()?,
                    to: r.account()?,
                    amount: amount::unpack(r.uint(5)?)?,
                    key: PublicKey::unpack(&r.array::<32>()?)?,
                },
                code::WITHDRAW => Self::Withdraw {
                    from: r.account()?,
                    amount: amount::unpack(r.uint(5)?)?,
                    to: r.array::<20>()?,
                },
                code::DEPOSIT => Self::Deposit { to: r.account()? },
                code::FORCED_EXIT => Self::ForcedExit {
                    account: r.account()?,
                    amount: r.uint(8)?,
                },
                code => return Err(DataError::UnknownOp { code, at: start }),
            };
            ops.push(op);
        }
        Ok(ops)
    }
}

fn put_u24(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

fn put_amount(out: &mut Vec<u8>, amount: u64) -> Result<(), DataError> {
    out.extend_from_slice(&amount::pack(amount)?.to_be_bytes()[3..]);
    Ok(())
}

struct Reader<'a> {
    data: &'a [u8],
    at: &'a mut usize,
    start: usize,
    depth: u8,
}

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DataError> {
        let end = self
            .at
            .checked_add(N)
            .ok_or(DataError::Truncated(self.start))?;
        let slice = self
            .data
            .get(*self.at..end)
            .ok_or(DataError::Truncated(self.start))?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        *self.at = end;
        Ok(out)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DataError> {
        let end = self
            .at
            .checked_add(n)
            .ok_or(DataError::Truncated(self.start))?;
        let slice = self
            .data
            .get(*self.at..end)
            .ok_or(DataError::Truncated(self.start))?;
        *self.at = end;
        Ok(slice.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn account(&mut self) -> Result<u32, DataError> {
        let index = self.uint(3)? as u32;
        if u64::from(index) >> self.depth.min(MAX_DEPTH) != 0 {
            return Err(DataError::AccountOutOfRange {
                index,
                depth: self.depth,
            });
        }
        Ok(index)
    }
}

/// The data commitment of a batch of `slots` slots: the Poseidon chain
/// `c ← H(c, word, key_x, key_y, address)` over every slot, padding
/// included, from `c = 0`.
pub fn data_commitment(ops: &[PubOp], slots: usize) -> Fr {
    let mut c = Fr::zero();
    for i in 0..slots {
        let item = ops
            .get(i)
            .map_or(PubOp::Noop.chain_item(), PubOp::chain_item);
        c = chain_step(c, &item);
    }
    c
}

/// One step of the data chain.
pub fn chain_step(c: Fr, item: &ChainItem) -> Fr {
    poseidon::hash(&[c, item.word, item.key_x, item.key_y, item.address])
}

/// An entry of the rollup's L1 inbox, consumed by batches in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxEntry {
    /// Credit `amount` to an account of `key` (a new one if needed).
    Deposit {
        /// The L2 key credited.
        key: PublicKey,
        /// Amount.
        amount: u64,
    },
    /// Withdraw the whole balance of `account` to `to`, if `key` owns it
    /// (signed by `key` on L1, so nobody forces another's exit).
    ForcedExit {
        /// Account.
        account: u32,
        /// Its owner's key.
        key: PublicKey,
        /// L1 recipient.
        to: L1Address,
    },
}

impl InboxEntry {
    /// The next inbox chain value after `h`: `H(h, word, key_x, key_y, value)`
    /// with value the deposit's amount or the exit's address.
    pub fn chain(&self, h: Fr) -> Fr {
        let (word, key, value) = match self {
            Self::Deposit { key, amount } => {
                (self::word(code::DEPOSIT, 0, 0, 0), key, Fr::from(*amount))
            }
            Self::ForcedExit { account, key, to } => (
                self::word(code::FORCED_EXIT, *account, 0, 0),
                key,
                address_to_fr(to),
            ),
        };
        poseidon::hash(&[h, word, key.x(), key.y(), value])
    }
}

/// A signed L2 transfer: `amount` from account `from` to the holder of
/// `to` (their account, or a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Sender account.
    pub from: u32,
    /// Recipient key.
    pub to: PublicKey,
    /// Amount.
    pub amount: u64,
    /// The sender's nonce.
    pub nonce: u64,
    /// The sender's signature over [`Transfer::message`].
    pub signature: Signature,
}

impl Transfer {
    /// A transfer signed by `secret`, the key of account `from`.
    pub fn sign(
        secret: &SecretKey,
        domain: Fr,
        from: u32,
        to: PublicKey,
        amount: u64,
        nonce: u64,
    ) -> Self {
        let signature = secret.sign(Self::message(domain, from, &to, amount, nonce));
        Self {
            from,
            to,
            amount,
            nonce,
            signature,
        }
    }

    /// What the sender signs.
    pub fn message(domain: Fr, from: u32, to: &PublicKey, amount: u64, nonce: u64) -> Fr {
        poseidon::hash(&[
            domain,
            word(code::TRANSFER, from, 0, 0),
            Fr::from(amount),
            Fr::from(nonce),
            to.x(),
            to.y(),
        ])
    }
}

/// A signed L2 withdrawal of `amount` from `from` to `to` on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdraw {
    /// Account.
    pub from: u32,
    /// L1 recipient.
    pub to: L1Address,
    /// Amount.
    pub amount: u64,
    /// The account's nonce.
    pub nonce: u64,
    /// The signature over [`Withdraw::message`].
    pub signature: Signature,
}

impl Withdraw {
    /// A withdrawal signed by `secret`, the key of account `from`.
    pub fn sign(
        secret: &SecretKey,
        domain: Fr,
        from: u32,
        to: L1Address,
        amount: u64,
        nonce: u64,
    ) -> Self {
        let signature = secret.sign(Self::message(domain, from, &to, amount, nonce));
        Self {
            from,
            to,
            amount,
            nonce,
            signature,
        }
    }

    /// What the account's key signs.
    pub fn message(domain: Fr, from: u32, to: &L1Address, amount: u64, nonce: u64) -> Fr {
        poseidon::hash(&[
            domain,
            word(code::WITHDRAW, from, 0, 0),
            Fr::from(amount),
            Fr::from(nonce),
            address_to_fr(to),
            Fr::zero(),
        ])
    }
}

/// What a key signs to force an exit through the inbox, or to exit in
/// exodus: its account, the L1 recipient, the domain, and a serial number
/// L1 spends (so a forced-exit signature is used once; exodus exits are
/// once per account anyway and sign serial 0).
pub fn exit_message(domain: Fr, kind: u8, account: u32, serial: u64, to: &L1Address) -> Fr {
    poseidon::hash(&[
        domain,
        word(kind, account, 0, 0),
        Fr::from(serial),
        Fr::zero(),
        address_to_fr(to),
        Fr::zero(),
    ])
}

/// A withdrawals-tree leaf: `H(address, amount)`; 0 for other slots.
pub fn withdrawal_leaf(address: Fr, amount: u64) -> Fr {
    poseidon::hash2(address, Fr::from(amount))
}

/// Levels of the quaternary account tree of `2^depth` slots: two index
/// bits per level (an odd depth rounds up; L1 takes even depths only).
pub fn account_levels(depth: u8) -> usize {
    usize::from(depth.min(MAX_DEPTH)).div_ceil(2)
}

/// An account-tree node: `Poseidon(c0, c1, c2, c3)` of its four children.
pub fn account_node(children: [Fr; 4]) -> Fr {
    poseidon::hash(&children)
}

/// The account root reached from `leaf` at slot `index` with `path`: three
/// siblings per level, leaf level first, each level's in the order of their
/// positions (the leaf's own position, index bits `2h..2h+2`, left out).
/// `None` when the path's length is not a multiple of three.
pub fn account_root_from_path(leaf: Fr, index: u64, path: &[Fr]) -> Option<Fr> {
    if !path.len().is_multiple_of(3) {
        return None;
    }
    let root = path.chunks(3).enumerate().fold(leaf, |node, (h, s)| {
        let position = ((index >> (2 * h)) & 3) as usize;
        let mut children = [Fr::zero(); 4];
        let mut siblings = s.iter();
        for (p, child) in children.iter_mut().enumerate() {
            *child = if p == position {
                node
            } else {
                siblings.next().copied().unwrap_or_else(Fr::zero)
            };
        }
        account_node(children)
    });
    Some(root)
}

/// An account leaf: `H(key_x, key_y, balance, nonce)`; 0 when empty.
pub fn account_leaf(key_x: Fr, key_y: Fr, balance: u64, nonce: u64) -> Fr {
    poseidon::hash(&[key_x, key_y, Fr::from(balance), Fr::from(nonce)])
}

/// The root of a batch's withdrawals tree over `leaves` (a power of two).
pub fn withdrawals_root(leaves: &[Fr]) -> Fr {
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| poseidon::hash2(pair[0], pair.get(1).copied().unwrap_or_else(Fr::zero)))
            .collect();
    }
    level.first().copied().unwrap_or_else(Fr::zero)
}

/// The path of leaf `index` in a withdrawals tree, leaf level first.
pub fn withdrawals_path(leaves: &[Fr], index: usize) -> Vec<Fr> {
    let mut path = Vec::new();
    let mut level = leaves.to_vec();
    let mut i = index;
    while level.len() > 1 {
        path.push(level.get(i ^ 1).copied().unwrap_or_else(Fr::zero));
        level = level
            .chunks(2)
            .map(|pair| poseidon::hash2(pair[0], pair.get(1).copied().unwrap_or_else(Fr::zero)))
            .collect();
        i /= 2;
    }
    path
}

/// The root reached from `leaf` at `index` with `path` (leaf level first).
pub fn root_from_path(leaf: Fr, index: u64, path: &[Fr]) -> Fr {
    path.iter().enumerate().fold(leaf, |node, (h, sibling)| {
        if (index >> h) & 1 == 0 {
            poseidon::hash2(node, *sibling)
        } else {
            poseidon::hash2(*sibling, node)
        }
    })
}

/// A batch's public inputs, in the order the proof takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statement {
    /// The rollup's [`domain`].
    pub domain: Fr,
    /// The account root before.
    pub old_root: Fr,
    /// The account root after.
    pub new_root: Fr,
    /// [`data_commitment`] of the posted operations.
    pub data: Fr,
    /// The inbox chain before the batch.
    pub inbox_from: Fr,
    /// The inbox chain after the entries it consumed.
    pub inbox_to: Fr,
    /// The batch's [`withdrawals_root`].
    pub withdrawals: Fr,
}

impl Statement {
    /// The number of public inputs.
    pub const LEN: usize = 7;

    /// The public inputs, in order.
    pub fn inputs(&self) -> [Fr; Self::LEN] {
        [
            self.domain,
            self.old_root,
            self.new_root,
            self.data,
            self.inbox_from,
            self.inbox_to,
            self.withdrawals,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packed_amounts() {
        for a in [
            0,
            1,
            34_359_738_367,
            10_000_000_000_000,
            1_000_000_000_000_000_000,
        ] {
            assert_eq!(amount::unpack(amount::pack(a).unwrap()).unwrap(), a);
        }
        assert_eq!(
            amount::pack(34_359_738_369),
            Err(DataError::AmountNotPackable(34_359_738_369))
        );
        assert_eq!(
            amount::pack(u64::MAX),
            Err(DataError::AmountNotPackable(u64::MAX))
        );
        // 2^35-1 times 10^31 overflows u64: refused, not wrapped.
        assert!(matches!(
            amount::unpack(u64::MAX >> 24),
            Err(DataError::AmountOverflow { .. })
        ));
    }

    fn key(i: u8) -> PublicKey {
        SecretKey::from_bytes(&[i; 32]).public()
    }

    #[test]
    fn public_data_round_trips_at_its_sizes() {
        let ops = vec![
            PubOp::Transfer {
                from: 1,
                to: 2,
                amount: 500,
            },
            PubOp::TransferNew {
                from: 1,
                to: 3,
                amount: 7,
                key: key(3),
            },
            PubOp::Withdraw {
                from: 2,
                amount: 1_000_000,
                to: [9; 20],
            },
            PubOp::Deposit { to: 4 },
            PubOp::ForcedExit {
                account: 4,
                amount: 123_456_789_012,
            },
            PubOp::Noop,
        ];
        let sizes: Vec<usize> = ops
            .iter()
            .map(|op| PubOp::encode_all(std::slice::from_ref(op)).unwrap().len())
            .collect();
        assert_eq!(sizes, [12, 44, 29, 4, 12, 1]);
        let data = PubOp::encode_all(&ops).unwrap();
        assert_eq!(PubOp::decode_all(&data, 8, 20).unwrap(), ops);
        // Too many ops, truncation, unknown codes, out-of-range accounts.
        assert_eq!(
            PubOp::decode_all(&data, 5, 20),
            Err(DataError::TooManyOps(5))
        );
        assert_eq!(
            PubOp::decode_all(&data[..11], 8, 20),
            Err(DataError::Truncated(0))
        );
        assert_eq!(
            PubOp::decode_all(&[9], 8, 20),
            Err(DataError::UnknownOp { code: 9, at: 0 })
        );
        assert_eq!(
            PubOp::decode_all(&[4, 0x10, 0, 0], 8, 20),
            Err(DataError::AccountOutOfRange {
                index: 0x10_0000,
                depth: 20
            })
        );
        let mut bad_key = PubOp::encode_all(&ops[1..2]).unwrap();
        bad_key[12..44].copy_from_slice(&[0xff; 32]);
        assert!(matches!(
            PubOp::decode_all(&bad_key, 8, 20),
            Err(DataError::Key(_))
        ));
    }

    #[test]
    fn commitment_binds_padding_and_order() {
        let a = PubOp::Transfer {
            from: 1,
            to: 2,
            amount: 5,
        };
        let b = PubOp::Deposit { to: 2 };
        let one = data_commitment(&[a.clone(), b.clone()], 4);
        assert_ne!(one, data_commitment(&[b, a.clone()], 4));
        assert_ne!(one, data_commitment(std::slice::from_ref(&a), 4));
        assert_eq!(
            data_commitment(std::slice::from_ref(&a), 4),
            data_commitment(&[a, PubOp::Noop], 4)
        );
    }

    #[test]
    fn withdrawals_paths_lead_to_the_root() {
        let leaves: Vec<Fr> = (0..8u64)
            .map(|i| withdrawal_leaf(Fr::from(i), i * 3))
            .collect();
        let root = withdrawals_root(&leaves);
        for (i, leaf) in leaves.iter().enumerate() {
            let path = withdrawals_path(&leaves, i);
            assert_eq!(path.len(), 3);
            assert_eq!(root_from_path(*leaf, i as u64, &path), root);
            assert_ne!(root_from_path(*leaf, (i as u64) ^ 1, &path), root);
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = PubOp::decode_all(&data, 16, 20);
        }

        #[test]
        fn packable_amounts_round_trip(m in 0u64..(1 << 35), e in 0u32..8) {
            let a = m * 10u64.pow(e);
            prop_assert_eq!(amount::unpack(amount::pack(a).unwrap()).unwrap(), a);
        }
    }
}
