//! The test chain shared by the L1 test suites (the modules' own and the
//! crate's `tests/`): genesis with funded accounts, signed transactions,
//! and blocks checked, executed and committed with the supply invariant
//! asserted after each. Built for tests only (`cfg(test)` or the
//! `testing` feature).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)] // a test harness fails loudly

use crate::{
    BlockEnv, BlockError, ChainParams, MemoryState, Payload, StateReader, Transaction,
    execute::{check_transactions, execute_block},
    genesis::{Genesis, GenesisAccount, GenesisValidator},
    modules::staking::DoubleVoteVerifier,
    tx::SignedTransaction,
};
use bytes::Bytes;
use commonware_codec::Encode as _;
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, codec::to_hex, keys::KeyCache, keys::Signer as _,
    keys::private_key_from_seed, par::Threads,
};

pub const CHAIN: ChainId = ChainId(1337);
pub const ETHER: u128 = 1_000_000_000_000_000_000;

pub fn key(i: u32) -> PrivateKey {
    let mut seed = [0u8; 32];
    seed[..4].copy_from_slice(&i.to_le_bytes());
    seed[31] = 0xaa;
    private_key_from_seed(seed)
}

/// A transfer payload.
pub fn l1_transfer(to: Address, amount: u128) -> Payload {
    Payload::Transfer {
        to,
        amount: Amount(amount),
    }
}

pub fn addr(k: &PrivateKey) -> Address {
    Address::from_public_key(&k.public_key())
}

/// A chain in memory.
#[derive(Debug)]
pub struct Chain {
    pub state: MemoryState,
    pub params: ChainParams,
    pub height: u64,
    pub base_fee: u64,
    pub proposer: Address,
}

impl Chain {
    pub fn new(accounts: u32, validators: u32) -> Self {
        let genesis = Genesis {
            chain_id: CHAIN,
            timestamp_ms: 0,
            params: ChainParams::default(),
            accounts: (0..accounts)
                .map(|i| GenesisAccount {
                    address: addr(&key(i)),
                    balance: Amount(1_000 * ETHER),
                })
                .collect(),
            validators: (0..validators)
                .map(|i| GenesisValidator {
                    public_key: to_hex(key(10_000 + i).public_key().as_ref()),
                    stake: Amount(100 * ETHER),
                })
                .collect(),
        };
        let text = genesis.to_toml();
        let genesis = Genesis::from_toml(&text).expect("genesis roundtrips through TOML");
        Self {
            state: genesis.state().unwrap(),
            base_fee: genesis.params.initial_base_fee,
            params: genesis.params,
            height: 0,
            proposer: addr(&key(10_000)),
        }
    }

    pub fn env(&self) -> BlockEnv {
        BlockEnv {
            chain_id: CHAIN,
            height: self.height + 1,
            proposer: self.proposer,
            base_fee: self.base_fee,
        }
    }

    pub fn tx(&self, from: &PrivateKey, payload: Payload) -> SignedTransaction {
        let nonce = self.state.account(&addr(from)).nonce;
        self.tx_nonce(from, nonce, payload)
    }

    pub fn tx_nonce(&self, from: &PrivateKey, nonce: u64, payload: Payload) -> SignedTransaction {
        Transaction {
            chain_id: CHAIN,
            nonce,
            max_fee_per_gas: self.base_fee * 2,
            max_priority_fee_per_gas: 1_000,
            gas_limit: 200_000,
            payload,
        }
        .sign(from)
    }

    /// Checks, executes and commits a block; returns its receipts' failures.
    pub fn block(&mut self, txs: Vec<SignedTransaction>) -> Result<crate::BlockOutput, BlockError> {
        let raw: Vec<Bytes> = txs.iter().map(|t| t.encode()).collect();
        let checked = check_transactions(
            &raw,
            CHAIN,
            &self.params,
            &KeyCache::default(),
            Threads::new(2),
        )?;
        let out = execute_block(
            &self.state,
            &self.params,
            self.env(),
            &DoubleVoteVerifier,
            &checked,
        )?;
        self.state.apply(&out.writes);
        self.height += 1;
        self.base_fee = out.next_base_fee;
        self.assert_supply();
        Ok(out)
    }

    pub fn assert_supply(&self) {
        let totals = self.state.totals();
        let circulating = self.state.circulating().expect("no overflow");
        assert_eq!(
            totals.minted.checked_sub(totals.burned),
            Some(circulating),
            "supply invariant broken at height {}",
            self.height
        );
    }
}
