//! The gossip batch framing: round trips, its budget, malformed input.

use bytes::Bytes;
use terrace_node::gossip::{BATCH_FRAMING_MAX, BATCH_TXS_MAX, decode_batch, encode_batch};

fn tx(len: usize, fill: u8) -> Bytes {
    Bytes::from(vec![fill; len])
}

#[test]
fn a_batch_round_trips() {
    let txs = vec![tx(1, 1), tx(136, 2), tx(1000, 3)];
    assert_eq!(decode_batch(encode_batch(&txs), 1000).unwrap(), txs);
}

#[test]
fn a_full_batch_fits_its_framing_budget() {
    let txs = vec![tx(1000, 7); BATCH_TXS_MAX];
    let encoded = encode_batch(&txs);
    assert!(encoded.len() <= 1000 * BATCH_TXS_MAX + BATCH_FRAMING_MAX);
    assert_eq!(decode_batch(encoded, 1000).unwrap().len(), BATCH_TXS_MAX);
}

#[test]
fn malformed_batches_are_refused() {
    // No transactions.
    assert!(decode_batch(encode_batch(&[]), 1000).is_err());
    // Too many.
    let many = vec![tx(1, 0); BATCH_TXS_MAX + 1];
    assert!(decode_batch(encode_batch(&many), 1000).is_err());
    // A transaction over the size limit, or empty.
    assert!(decode_batch(encode_batch(&[tx(1001, 0)]), 1000).is_err());
    assert!(decode_batch(encode_batch(&[tx(0, 0)]), 1000).is_err());
    // Trailing bytes, truncation, garbage.
    let mut trailing = encode_batch(&[tx(5, 1)]).to_vec();
    trailing.push(0);
    assert!(decode_batch(Bytes::from(trailing), 1000).is_err());
    let whole = encode_batch(&[tx(5, 1), tx(5, 2)]);
    assert!(decode_batch(whole.slice(..whole.len() - 1), 1000).is_err());
    assert!(decode_batch(Bytes::from_static(&[0xff; 9]), 1000).is_err());
}
