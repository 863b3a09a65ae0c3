//! zk-rollups on L1: the registry, the bridge escrow and inbox, batches
//! accepted on a validity proof, withdrawals and exodus.
//!
//! # Protocol
//!
//! - **Create**: anyone registers a zk-rollup with its operator, account
//!   tree depth and one Groth16 verification key per batch size, from the
//!   setup the creator ran (whoever ran it could forge proofs: the risk
//!   summary says so). It starts at the empty tree's root.
//! - **Deposit / ForcedExit**: lock funds in escrow for an L2 key, or ask,
//!   signed by an account's key (over a serial L1 spends, so the signature
//!   works once), for its whole balance to be withdrawn; either appends an
//!   entry to the inbox, whose Poseidon chain the proofs consume in order,
//!   and pays the operator the rollup's `inbox_fee` for the slot it takes.
//! - **SubmitBatch**: the operator posts the public data and a proof. L1
//!   decodes the data, recomputes its commitment, reads the inbox chain
//!   before and after the entries the batch consumes, and verifies the
//!   proof over (domain, old root, new root, data, inbox from, inbox to,
//!   withdrawals root) — pairings priced as EIP-1108 prices them. The
//!   batch is **final in the block it lands in**: no window.
//! - **Validium** (a rollup whose [`DataMode`] is a [`Committee`]): the
//!   batch carries only the data commitment and at least `threshold`
//!   distinct members' Ed25519 signatures over [`attestation_message`]
//!   (rollup domain, batch index, commitment), each saying "I hold this
//!   data and will serve it". The proof binds the commitment and the inbox
//!   chains, so nothing else about the data needs L1.
//! - **Claim**: a withdrawal of a proven batch is paid from escrow against
//!   a Poseidon Merkle path into the batch's withdrawals root; (batch, slot)
//!   is its nullifier.
//! - **Exodus**: when no batch has been proven for `exodus_after_blocks`,
//!   or an inbox entry has waited `inbox_deadline_blocks`, anyone may
//!   `Freeze` the rollup. Then no batch lands; each account `Exit`s once
//!   with a Merkle proof of its leaf in the last proven root, signed by its
//!   key, and every deposit the rollup never processed is `Refund`ed.
//!
//! L2 amounts are in [`UNIT`]s (nano-TER), so 64-bit L2 balances hold 18
//! billion TER; deposits are whole units. Escrow = L2 balances in the last
//! proven root + unclaimed withdrawals + unprocessed deposits, always.
//!
//! A refused operation changes nothing but the fee (its receipt says why).

mod ops;
mod records;
mod rules;
#[cfg(test)]
mod tests;

pub use ops::{
    BatchData, MemberSignature, ValidityOp, ZK_BATCH_DATA_MAX, ZkBatchSubmission, ZkClaim, ZkExit,
    ZkOp,
};
pub use records::{
    COMMITTEE_MAX, Committee, DataMode, Felt, InboxItem, SLOTS_MAX, VERIFIERS_MAX, ValidityKey,
    ValidityRecord, Verifier, ZkBatch, ZkInbox, ZkRecords, ZkRollup, ZkRollupConfig,
};
pub use rules::validate_config;

use crate::{
    ChainParams, Failure,
    module::{Effects, Module, OpEnv, OpSummary},
    state::{Key, StateReader},
};
use serde::{Deserialize, Serialize};
use terrace_primitives::{Address, Amount, amount::NANO_TER};

/// One L2 unit in L1 base units: 10^9 (a nano-TER).
pub const UNIT: u128 = NANO_TER;

/// Namespace of committee members' signatures: one can never pass for a
/// transaction, a vote or anything else the same key signs.
pub const DAC_NAMESPACE: &[u8] = b"terrace/l1/dac";

/// What a committee member signs for batch `index` of the rollup with
/// domain `domain`: that it holds the data committed to by `commitment`.
/// The domain binds chain and rollup, the index the batch, so a signature
/// is good for one batch only.
pub fn attestation_message(domain: &Felt, index: u64, commitment: &Felt) -> [u8; 72] {
    let mut m = [0u8; 72];
    m[..32].copy_from_slice(domain);
    m[32..40].copy_from_slice(&index.to_be_bytes());
    m[40..].copy_from_slice(commitment);
    m
}

/// The validity-rollup module.
#[derive(Debug, Clone, Copy, Default)]
pub struct Validity;

crate::failure_codes! {
    /// Why a zk-rollup operation had no effect.
    pub enum ValidityFailure {
        /// No zk-rollup has this id.
        UnknownRollup = 38 => "zk_unknown_rollup",
        /// The configuration cannot run (depth, batch sizes, keys, windows).
        InvalidConfig = 39 => "zk_invalid_config",
        /// The rollup is frozen (exodus): only exits, refunds and claims.
        Frozen = 40 => "zk_frozen",
        /// Exits and refunds wait for the rollup to be frozen.
        NotFrozen = 41 => "zk_not_frozen",
        /// Only the operator posts batches.
        NotOperator = 42 => "zk_not_operator",
        /// The batch index is not the rollup's next one.
        WrongBatchIndex = 43 => "zk_wrong_batch_index",
        /// No verification key for this batch size.
        UnknownBatchSize = 44 => "zk_unknown_batch_size",
        /// The public data is over the rollup's `batch_bytes_max`.
        BatchTooLarge = 45 => "zk_batch_too_large",
        /// The public data does not decode (for this batch size and depth).
        BadBatchData = 46 => "zk_bad_batch_data",
        /// The batch consumes the inbox backwards or past its end.
        InboxBeyondEnd = 47 => "zk_inbox_beyond_end",
        /// The data consumes another number of inbox entries than declared.
        InboxMismatch = 48 => "zk_inbox_mismatch",
        /// A field element is not canonical (not below the field modulus).
        NonCanonical = 49 => "zk_non_canonical",
        /// The proof does not decode or does not verify for this statement.
        InvalidProof = 50 => "zk_invalid_proof",
        /// No proven batch has this index.
        NoSuchBatch = 51 => "zk_no_such_batch",
        /// The withdrawal is not in the batch's withdrawals root.
        InvalidWithdrawalProof = 52 => "zk_invalid_withdrawal_proof",
        /// The withdrawal was claimed already.
        AlreadyClaimed = 53 => "zk_already_claimed",
        /// Not a packed Baby Jubjub key of the prime-order subgroup.
        InvalidKey = 54 => "zk_invalid_key",
        /// The EdDSA-Poseidon signature does not verify (or S ≥ l).
        InvalidSignature = 55 => "zk_invalid_signature",
        /// The account index is outside the tree.
        AccountOutOfRange = 56 => "zk_account_out_of_range",
        /// The rollup is not stalled: a batch was proven recently and no
        /// inbox entry is overdue.
        NotStalled = 57 => "zk_not_stalled",
        /// The account leaf is not in the last proven root.
        InvalidExitProof = 58 => "zk_invalid_exit_proof",
        /// The account has exited already.
        AlreadyExited = 59 => "zk_already_exited",
        /// Not an unprocessed deposit, or refunded already.
        NotRefundable = 60 => "zk_not_refundable",
        /// The deposit would take L2 balances past 64 bits of units.
        AmountTooLarge = 61 => "zk_amount_too_large",
        /// The deposit is not a whole number of L2 units.
        NotInUnits = 62 => "zk_not_in_units",
        /// This forced-exit serial was used for the account already.
        SerialUsed = 63 => "zk_serial_used",
        /// The batch carries its data where the rollup's data mode does not
        /// (posted to a validium, attested to a zk-rollup).
        WrongDataMode = 64 => "zk_wrong_data_mode",
        /// A signature names no member of the committee.
        UnknownMember = 65 => "zk_unknown_member",
        /// Two signatures name the same member.
        DuplicateSigner = 66 => "zk_duplicate_signer",
        /// A member's signature does not verify over this batch's
        /// attestation (another batch's, another commitment, another key).
        InvalidAttestation = 67 => "zk_invalid_attestation",
        /// Fewer distinct members signed than the committee's threshold.
        TooFewAttestations = 68 => "zk_too_few_attestations",
    }
}

/// The validity module's parameters: its gas schedule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidityParams {
    /// Gas of its operations.
    pub gas: ValidityGas,
}

/// Gas of zk-rollup operations, beyond the base and byte charges.
///
/// Pairings and input multiplications are EIP-1108's prices. The hashes
/// and signature checks, which Ethereum has no precompile for, are priced
/// at the rate those imply for our verifier on the reference machine
/// (a 7-input verification: 224,050 gas for 2.6 ms, ≈ 86 gas/µs;
/// `cargo bench -p terrace-zk --bench verify`): a 2-input Poseidon
/// 24 µs, a 5-input one per data slot ≈ 90 µs, EdDSA-Poseidon 276 µs; and
/// a validium member's Ed25519 check 35.7 µs (`cargo bench -p terrace-l1
/// --bench stf -- validium_member`), close to Ethereum's 3,000 for
/// `ecrecover`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValidityGas {
    /// Registering a rollup (its keys are paid per byte).
    pub create: u64,
    /// A deposit or freeze: a few record reads and writes and one hash.
    pub op: u64,
    /// An EdDSA-Poseidon signature check (two Baby Jubjub multiplications).
    pub signature: u64,
    /// A committee member's Ed25519 signature check, at the same rate.
    pub member_signature: u64,
    /// A batch's bookkeeping, beyond its proof and hashes.
    pub batch: u64,
    /// The pairing check: base plus per pair (EIP-1108: 45,000 + 34,000·k).
    pub pairing_base: u64,
    /// Per pairing.
    pub pairing_pair: u64,
    /// Per public input: a G1 multiplication and addition (EIP-1108:
    /// 6,000 + 150).
    pub public_input: u64,
    /// Per Merkle path element: a level of a withdrawals path (a 2-input
    /// Poseidon), or a third of an account path's level (three siblings
    /// into a 4-input Poseidon: 2.3× a 2-input one's time in
    /// `cargo bench -p terrace-zk --bench verify`, priced at 3×).
    pub poseidon: u64,
    /// One slot of the data chain (a 5-input Poseidon hash).
    pub data_slot: u64,
    /// A claim's or exit's bookkeeping, beyond its hashes.
    pub claim: u64,
}

impl Default for ValidityGas {
    fn default() -> Self {
        Self {
            create: 100_000,
            op: 30_000,
            signature: 25_000,
            member_signature: 3_100,
            batch: 50_000,
            pairing_base: 45_000,
            pairing_pair: 34_000,
            public_input: 6_150,
            poseidon: 2_000,
            data_slot: 8_000,
            claim: 30_000,
        }
    }
}

/// The module's parameters within the chain's.
pub fn params(chain: &ChainParams) -> &ValidityParams {
    &chain.modules.validity
}

/// Gas of verifying one batch proof, and either recomputing its data
/// commitment (posted data, per slot) or checking its members' signatures.
pub fn batch_gas(gas: &ValidityGas, b: &ZkBatchSubmission) -> u64 {
    let inputs = terrace_zk::ops::Statement::LEN as u64;
    let data = match &b.data {
        BatchData::Posted(_) => gas.data_slot.saturating_mul(u64::from(b.slots)),
        BatchData::Attested { signatures, .. } => {
            gas.member_signature.saturating_mul(signatures.len() as u64)
        }
    };
    gas.batch
        .saturating_add(gas.pairing_base)
        .saturating_add(gas.pairing_pair.saturating_mul(4))
        .saturating_add(gas.public_input.saturating_mul(inputs))
        .saturating_add(data)
}

impl Module for Validity {
    const NAME: &'static str = "validity";
    type Op = ValidityOp;
    type Key = ValidityKey;
    type Record = ValidityRecord;
    type Failure = ValidityFailure;
    type Params = ValidityParams;

    fn params(chain: &ChainParams) -> &ValidityParams {
        params(chain)
    }

    fn value(op: &ValidityOp) -> Amount {
        match op {
            ValidityOp::Rollup {
                op: ZkOp::Deposit { amount, .. },
                ..
            } => *amount,
            _ => Amount::ZERO,
        }
    }

    fn gas(op: &ValidityOp, chain: &ChainParams) -> u64 {
        let gas = &params(chain).gas;
        let ValidityOp::Rollup { op, .. } = op else {
            return gas.create;
        };
        match op {
            // The inbox chain step is a 5-input hash, as a data slot.
            ZkOp::Deposit { .. } => gas.op.saturating_add(gas.data_slot),
            ZkOp::Freeze | ZkOp::Refund { .. } => gas.op,
            ZkOp::ForcedExit { .. } => gas
                .op
                .saturating_add(gas.signature)
                .saturating_add(gas.data_slot.saturating_mul(2)),
            ZkOp::SubmitBatch(b) => batch_gas(gas, b),
            ZkOp::Claim(c) => gas
                .claim
                .saturating_add(gas.poseidon.saturating_mul(c.path.len() as u64 + 1)),
            ZkOp::Exit(e) => gas
                .claim
                .saturating_add(gas.signature)
                .saturating_add(gas.poseidon.saturating_mul(e.path.len() as u64 + 1)),
        }
    }

    fn summary(op: &ValidityOp) -> OpSummary {
        let summary = |kind, to, amount| OpSummary { kind, to, amount };
        let ValidityOp::Rollup { op, .. } = op else {
            return summary("zk_create", None, None);
        };
        match op {
            ZkOp::Deposit { amount, .. } => summary("zk_deposit", None, Some(*amount)),
            ZkOp::ForcedExit { to, .. } => summary("zk_forced_exit", Some(*to), None),
            ZkOp::SubmitBatch(_) => summary("zk_submit_batch", None, None),
            ZkOp::Claim(c) => summary(
                "zk_claim",
                Some(c.to),
                Some(Amount(u128::from(c.amount) * UNIT)),
            ),
            ZkOp::Freeze => summary("zk_freeze", None, None),
            ZkOp::Exit(e) => summary(
                "zk_exit",
                Some(e.to),
                Some(Amount(u128::from(e.balance) * UNIT)),
            ),
            ZkOp::Refund { .. } => summary("zk_refund", None, None),
        }
    }

    fn keys(op: &ValidityOp, _env: &OpEnv<'_>) -> Vec<Key> {
        rules::keys(op)
    }

    fn keys_after<S: StateReader + ?Sized>(
        op: &ValidityOp,
        state: &S,
        _env: &OpEnv<'_>,
    ) -> Vec<Key> {
        rules::keys_after(state, op)
    }

    fn apply<S: StateReader + ?Sized>(
        state: &S,
        env: &OpEnv<'_>,
        op: &ValidityOp,
    ) -> Result<Effects, Failure> {
        rules::apply(state, env, op)
    }

    fn held(record: &ValidityRecord) -> Option<Amount> {
        Some(match record {
            ValidityRecord::Rollup(r) => r.escrow,
            _ => Amount::ZERO,
        })
    }

    /// Every zk-rollup's escrow.
    fn fund_keys<S: StateReader + ?Sized>(state: &S, _addresses: &[Address]) -> Vec<Key> {
        let mut keys: Vec<Key> = vec![ValidityKey::RollupCount.into()];
        keys.extend((0..state.zk_rollup_count()).map(|id| Key::from(ValidityKey::Rollup(id))));
        keys
    }
}
