//! Untrusted bytes through the transaction decoder and the stateless checks:
//! never a panic, and whatever decodes re-encodes to the same bytes (the
//! encoding is canonical).
#![no_main]

use bytes::Bytes;
use commonware_codec::Encode as _;
use libfuzzer_sys::fuzz_target;
use terrace_l1::{ChainParams, SignedTransaction, tx::check};
use terrace_primitives::{ChainId, keys::KeyCache};

fuzz_target!(|data: &[u8]| {
    let params = ChainParams::default();
    let plain = SignedTransaction::decode_bounded(data, &params);
    let cached = SignedTransaction::decode_cached(data, &params, &KeyCache::new(4));
    assert_eq!(plain.is_ok(), cached.is_ok(), "the two decoders disagree");
    if let Ok(tx) = plain {
        assert_eq!(
            tx.encode().as_ref(),
            data,
            "decoded bytes must re-encode identically"
        );
        assert_eq!(Some(&tx), cached.as_ref().ok());
        let _ = check(tx.clone(), ChainId(1337), &params);
        let _ = SignedTransaction::decode_and_check(
            Bytes::copy_from_slice(data),
            ChainId(1337),
            &params,
        );
    }
});
