//! Untrusted bytes through the block decoder: never a panic, canonical
//! re-encoding, and the stateless checks of its transactions never panic.
#![no_main]

use commonware_codec::Encode as _;
use libfuzzer_sys::fuzz_target;
use terrace_l1::{ChainParams, block::Block, execute::check_transactions};
use terrace_primitives::{ChainId, keys::KeyCache, par::Threads};

fuzz_target!(|data: &[u8]| {
    let params = ChainParams::default();
    if let Ok(block) = Block::decode_bounded(data, &params) {
        assert_eq!(
            block.encode().as_ref(),
            data,
            "decoded bytes must re-encode identically"
        );
        let _ = check_transactions(
            &block.transactions,
            ChainId(1337),
            &params,
            &KeyCache::new(16),
            Threads::ONE,
        );
    }
});
