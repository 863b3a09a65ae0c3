//! What every simulated run shares: the lab's chain and genesis, the
//! validators' keys and pools, consensus timeouts for the WAN model, and
//! the network of validators on the deterministic runtime.

use crate::{LabError, workload::account_key};
use commonware_codec::Encode as _;
use commonware_runtime::deterministic;
use std::{sync::Arc, time::Duration};
use terrace_l1::{
    ChainParams,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
};
use terrace_mempool::PoolConfig;
use terrace_node::{
    chain::Chain,
    engine::{Behavior, Timeouts, Validator},
    sim::{self, Network},
    state::empty_log,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey, PublicKey,
    codec::to_hex,
    hash_tagged,
    keys::{Signer as _, private_key_from_seed},
};

/// The lab's chain id.
pub const CHAIN: ChainId = ChainId(7_001);

/// Every benchmark account's genesis balance: 10⁶ tokens.
pub const FUNDS: u128 = 1_000_000 * 1_000_000_000_000_000_000;

/// Virtual time one turn of the simulator's scheduler takes. Every
/// hand-off between tasks costs a turn; at the runtime's default (1 ms)
/// each block would carry tens of ms of processing time no real node
/// spends (see `terrace bench l1 --wan-cycle-us`).
pub const SCHEDULER_CYCLE: Duration = Duration::from_micros(10);

/// The L1 key of a role of the lab's runs and scenarios (`sequencer`,
/// `verifier`, `operator`, …).
pub fn role_key(role: &str) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/lab/role", &[role.as_bytes()]).0)
}

/// The pool settings of lab validators: Zipf puts a tenth of the traffic
/// on the busiest sender, so the per-sender limits of a public node
/// (64) would throttle the workload rather than the chain.
pub fn lab_pool() -> PoolConfig {
    PoolConfig {
        max_txs: 200_000,
        max_per_sender: 100_000,
        max_nonce_gap: 100_000,
        replacement_bump_pct: 10,
    }
}

/// Consensus timeouts for `params`: a leader proposes a block time after
/// its parent, so every wait is the WAN timeout plus the block time.
pub fn timeouts(params: &ChainParams) -> Timeouts {
    let block = Duration::from_millis(params.block_time_ms);
    let wan = Timeouts::WAN;
    Timeouts {
        leader: wan.leader + block,
        certification: wan.certification + block,
        retry: wan.retry,
        skip: wan.skip + block * 2,
    }
}

/// The validators' keys, in committee order (sorted), and their regions.
pub fn validator_keys(n: u32) -> Vec<PrivateKey> {
    let mut keys: Vec<_> = (0..n)
        .map(|i| {
            private_key_from_seed(hash_tagged(b"terrace/lab/validator", &[&i.to_le_bytes()]).0)
        })
        .collect();
    keys.sort_by_key(|k| k.public_key());
    keys
}

/// The lab genesis: `accounts` funded benchmark accounts, `extra` funded
/// addresses, equal stakes.
pub fn genesis(
    validators: &[PublicKey],
    accounts: u32,
    extra: &[Address],
    params: ChainParams,
) -> Genesis {
    Genesis {
        chain_id: CHAIN,
        timestamp_ms: 0,
        params,
        accounts: (0..accounts as usize)
            .map(|i| Address::from_public_key(&account_key(i).public_key()))
            .chain(extra.iter().copied())
            .map(|address| GenesisAccount {
                address,
                balance: Amount(FUNDS),
            })
            .collect(),
        validators: validators
            .iter()
            .map(|k| GenesisValidator {
                public_key: to_hex(&k.encode()),
                stake: Amount(1_000_000_000_000_000_000),
            })
            .collect(),
    }
}

/// A validator's chain from `genesis`, with the lab's pool.
pub fn new_chain(genesis: &Genesis) -> Result<Arc<Chain>, LabError> {
    Chain::new(
        genesis.clone(),
        empty_log::<deterministic::Context>(),
        lab_pool(),
        1,
    )
    .map(Arc::new)
    .map_err(|e| LabError::Config(format!("genesis: {e}")))
}

/// Starts `keys`' validators on a simulated network, placed in `regions`
/// of the WAN model, each with its own chain from `genesis` and the
/// behavior at its index in `behaviors` (honest past its end). `before`
/// sees each validator's chain just before it starts (to subscribe to its
/// feed or audit it); the network is returned so its links stay up.
pub async fn start_network(
    context: &deterministic::Context,
    keys: &[PrivateKey],
    regions: &[usize],
    genesis: &Genesis,
    timeouts: Timeouts,
    behaviors: &[Behavior],
    mut before: impl FnMut(usize, &Arc<Chain>),
) -> Result<(Network, Vec<Validator<deterministic::Context>>), LabError> {
    let members: Vec<PublicKey> = keys.iter().map(|k| k.public_key()).collect();
    let probe = new_chain(genesis)?;
    let network = Network::new(context, &members, &probe, sim::link(1, 0, 1000)).await;
    network.place(regions).await;
    let mut validators = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let chain = new_chain(genesis)?;
        before(i, &chain);
        let behavior = behaviors.get(i).copied().unwrap_or_default();
        validators.push(
            network
                .start_validator(context, key, chain, timeouts, behavior, 0)
                .await,
        );
    }
    Ok((network, validators))
}
