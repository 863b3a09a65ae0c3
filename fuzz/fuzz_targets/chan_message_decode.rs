//! Untrusted bytes through the channel peer-message decoder: never a
//! panic, and what decodes re-encodes to the same bytes.
#![no_main]

use commonware_codec::Encode as _;
use libfuzzer_sys::fuzz_target;
use terrace_channels::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        assert_eq!(m.encode().as_ref(), data, "decoded bytes must re-encode identically");
    }
});
