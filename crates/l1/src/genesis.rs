//! Genesis: the chain id, parameters, funded accounts and initial
//! validators, read from a TOML file.
//!
//! ```toml
//! chain_id = 1337
//! timestamp_ms = 0
//!
//! [params]            # optional; omitted fields take their defaults
//! block_gas_limit = 300000000
//!
//! [[accounts]]
//! address = "0x…"     # 20-byte hex
//! balance = "1000000000000000000000"
//!
//! [[validators]]
//! public_key = "…"    # 32-byte ed25519 key, hex
//! stake = "1000000000000000000000"
//! ```

use crate::{
    modules::staking,
    params::{ChainParams, ParamsError},
    state::{Account, Key, MemoryState, Totals, Value, Writes},
};
use commonware_codec::{Copying, DecodeExt as _};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use terrace_primitives::{Address, Amount, ChainId, PublicKey, codec, keys};

/// A funded account at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Address.
    pub address: Address,
    /// Balance in aTER (10⁻¹⁸ TER).
    pub balance: Amount,
}

/// A validator at genesis; its stake is minted bonded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// The ed25519 consensus key, hex.
    pub public_key: String,
    /// Bonded stake.
    pub stake: Amount,
}

/// The genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The chain id; every transaction must carry it.
    pub chain_id: ChainId,
    /// Timestamp of the genesis block, milliseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp_ms: u64,
    /// Chain parameters.
    #[serde(default)]
    pub params: ChainParams,
    /// Funded accounts.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
    /// Initial validators.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
}

/// Why a genesis file is unusable.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// Not valid TOML for a genesis.
    #[error("genesis is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    /// Bad parameters.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// An account is listed twice.
    #[error("account {0} is listed twice")]
    DuplicateAccount(Address),
    /// A validator key is bad or listed twice.
    #[error("validator {index}: {why}")]
    Validator {
        /// Position in the list.
        index: usize,
        /// What is wrong.
        why: String,
    },
    /// The total supply does not fit.
    #[error("total genesis supply overflows")]
    Overflow,
    /// Chain id 0 is reserved.
    #[error("chain_id must be non-zero")]
    ZeroChainId,
}

impl Genesis {
    /// Parses and validates a genesis file.
    pub fn from_toml(text: &str) -> Result<Self, GenesisError> {
        let genesis: Genesis = toml::from_str(text)?;
        genesis.validate()?;
        Ok(genesis)
    }

    /// Renders the genesis as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| unreachable!("genesis always serializes: {e}"))
    }

    /// The validators' decoded keys.
    pub fn validator_keys(&self) -> Result<Vec<PublicKey>, GenesisError> {
        self.validators
            .iter()
            .enumerate()
            .map(|(index, v)| {
                let bad = |why: String| GenesisError::Validator { index, why };
                let bytes = codec::from_hex(&v.public_key)
                    .ok_or_else(|| bad("public_key is not hex".into()))?;
                let key = PublicKey::decode(Copying(&bytes))
                    .map_err(|e| bad(format!("public_key: {e}")))?;
                keys::check_public_key(&key).map_err(|e| bad(e.to_string()))?;
                Ok(key)
            })
            .collect()
    }

    /// Checks the genesis is usable.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.chain_id.0 == 0 {
            return Err(GenesisError::ZeroChainId);
        }
        self.params.validate()?;
        let mut seen = BTreeSet::new();
        for a in &self.accounts {
            if !seen.insert(a.address) {
                return Err(GenesisError::DuplicateAccount(a.address));
            }
        }
        let mut seen = BTreeSet::new();
        for (index, key) in self.validator_keys()?.iter().enumerate() {
            if !seen.insert(Address::from_public_key(key)) {
                return Err(GenesisError::Validator {
                    index,
                    why: "listed twice".into(),
                });
            }
        }
        self.writes().map(|_| ())
    }

    /// The initial state as writes.
    pub fn writes(&self) -> Result<Writes, GenesisError> {
        let mut writes = Writes::new();
        let mut minted = Amount::ZERO;
        for a in &self.accounts {
            minted = minted
                .checked_add(a.balance)
                .ok_or(GenesisError::Overflow)?;
            writes.insert(
                Key::Account(a.address),
                Some(Value::Account(Account {
                    balance: a.balance,
                    nonce: 0,
                })),
            );
        }
        let mut bonded = Vec::new();
        for (key, v) in self.validator_keys()?.into_iter().zip(&self.validators) {
            minted = minted.checked_add(v.stake).ok_or(GenesisError::Overflow)?;
            bonded.push((key, v.stake));
        }
        writes.extend(staking::genesis_records(&bonded, &self.params).writes);
        writes.insert(
            Key::Totals,
            Some(Value::Totals(Totals {
                minted,
                burned: Amount::ZERO,
            })),
        );
        Ok(writes)
    }

    /// The initial state in memory.
    pub fn state(&self) -> Result<MemoryState, GenesisError> {
        let mut state = MemoryState::new();
        state.apply(&self.writes()?);
        Ok(state)
    }
}
