#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `l2_*` API over HTTP on 127.0.0.1, served from real node state: a
//! sequencer's soft confirmations and refusals, accounts by index and by
//! key, receipts, and a verifier's view of a final batch whose withdrawal
//! claim L1 would accept.

use crate::common;

use common::*;
use jsonrpsee::{
    core::ClientError,
    http_client::{HttpClient, HttpClientBuilder},
};
use terrace_l1::modules::optimistic::RollupOp;
use terrace_node::rpc::code;
use terrace_primitives::{Amount, codec::to_hex, keys::Signer as _};
use terrace_rollup::{
    BatchStatus, Shared, WithdrawalStage,
    rpc::{L2ApiClient as _, serve},
};

async fn client(shared: Shared) -> (HttpClient, jsonrpsee::server::ServerHandle) {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap(), shared).await.unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    (client, handle)
}

fn error_code(e: ClientError) -> i32 {
    match e {
        ClientError::Call(obj) => obj.code(),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

fn hex(tx: &impl commonware_codec::Encode) -> String {
    format!("0x{}", to_hex(&tx.encode()))
}

#[tokio::test]
async fn a_sequencer_confirms_at_once_and_refuses_bad_input_with_clear_errors() {
    let (d, s) = setup();
    let (c, _server) = client(Shared::new(d, Some(s))).await;

    // Accounts by index and by key.
    let alice = c.get_account("0".into()).await.unwrap();
    assert_eq!(alice.balance, Amount(1_000_000_000));
    assert_eq!(alice.view, "soft");
    let bob_key = format!("0x{}", to_hex(key(2).public_key().as_ref()));
    assert_eq!(c.get_account(bob_key).await.unwrap().index, 1);
    assert_eq!(
        error_code(c.get_account("9".into()).await.unwrap_err()),
        code::NOT_FOUND
    );
    assert_eq!(
        error_code(c.get_account("alice".into()).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );

    // A transfer is confirmed with its block, position and fee.
    let t = transfer(1, 0, 0, 1, 500);
    let soft = c.send_raw_transaction(hex(&t)).await.unwrap();
    assert_eq!((soft.block, soft.index), (0, 0));
    assert!(soft.fee.0 > 0);
    let receipt = c.get_receipt(soft.hash.clone()).await.unwrap();
    assert_eq!(receipt.status, "soft");
    assert_eq!(receipt.soft, soft);
    let bob = c.get_account("1".into()).await.unwrap();
    assert_eq!(bob.balance, Amount(1_000_500));

    // Replays, overdrafts, undecodable and oversized input: refused, and
    // nothing changes.
    let before = c.get_account("0".into()).await.unwrap();
    assert_eq!(
        error_code(c.send_raw_transaction(hex(&t)).await.unwrap_err()),
        code::REJECTED
    );
    let overdraft = transfer(1, 0, 1, 1, 10_000_000_000);
    assert_eq!(
        error_code(c.send_raw_transaction(hex(&overdraft)).await.unwrap_err()),
        code::REJECTED
    );
    let forged = transfer(2, 0, 1, 1, 5);
    assert_eq!(
        error_code(c.send_raw_transaction(hex(&forged)).await.unwrap_err()),
        code::REJECTED
    );
    for garbage in [
        "zz".to_string(),
        "0x0102".into(),
        format!("0x{}", "ab".repeat(600)),
    ] {
        assert_eq!(
            error_code(c.send_raw_transaction(garbage).await.unwrap_err()),
            code::INVALID_TRANSACTION
        );
    }
    assert_eq!(c.get_account("0".into()).await.unwrap(), before);

    // A withdrawal is soft until a batch carries it.
    let w = c
        .send_raw_transaction(hex(&withdraw(2, 1, 0, 2, 300)))
        .await
        .unwrap();
    let index = w.withdrawal.expect("a withdrawal index");
    let info = c.get_withdrawal(index).await.unwrap();
    assert_eq!(info.stage, WithdrawalStage::Soft);
    assert_eq!(info.amount, Amount(300));
    assert!(info.claim_op.is_none());
    assert_eq!(
        error_code(c.get_withdrawal(index + 1).await.unwrap_err()),
        code::NOT_FOUND
    );

    // A batch call: one result each, in order, bad items named.
    let batch = vec![
        hex(&transfer(1, 0, 1, 1, 7)),
        "0xzz".to_string(),
        hex(&t),
        hex(&transfer(1, 0, 2, 1, 8)),
    ];
    let results = c.send_raw_transactions(batch).await.unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].confirmation.as_ref().unwrap().index, 2);
    assert!(
        results[1]
            .error
            .as_ref()
            .unwrap()
            .contains("invalid transaction")
    );
    assert!(
        results[2]
            .error
            .as_ref()
            .unwrap()
            .contains("already confirmed")
    );
    assert_eq!(results[3].confirmation.as_ref().unwrap().index, 3);
    assert_eq!(
        error_code(
            c.send_raw_transactions(vec!["0x00".into(); 1_001])
                .await
                .unwrap_err()
        ),
        code::LIMIT
    );

    let status = c.status().await.unwrap();
    assert_eq!((status.soft, status.posted, status.batches), (1, 0, 0));
    assert_eq!(status.fees.unwrap().l1_byte_price, CONTEXT.l1_byte_price);
    assert!(c.get_batches(None).await.unwrap().is_empty());
    assert_eq!(
        error_code(c.get_batches(Some(10_000)).await.unwrap_err()),
        code::LIMIT
    );
}

#[tokio::test]
async fn a_verifier_serves_final_batches_and_withdrawal_claims() {
    let (mut d, mut s) = setup();
    let index = s
        .submit(withdraw(2, 1, 0, 2, 300))
        .unwrap()
        .withdrawal
        .unwrap();
    s.seal(1);
    let (batch, _) = s.next_batch(64 * 1024).unwrap();
    post(&mut d, 1, 0, &batch, false);
    d.finalize(&rollup_record(10, 1), 11);
    let (c, _server) = client(Shared::new(d, None)).await;

    let batches = c.get_batches(Some(5)).await.unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].status, BatchStatus::Final);
    assert!(batches[0].valid);
    assert_eq!(batches[0].transactions, 1);
    assert!(batches[0].data_bytes > 0);

    let info = c.get_withdrawal(index).await.unwrap();
    assert_eq!(info.stage, WithdrawalStage::Final);
    assert_eq!(info.batch, Some(0));
    assert!(!info.claimed);
    let bytes =
        terrace_primitives::codec::from_hex(info.claim_op.unwrap().strip_prefix("0x").unwrap())
            .unwrap();
    let RollupOp::Claim(claim) =
        terrace_primitives::codec::decode_bounded::<RollupOp>(&bytes, 1 << 20, &()).unwrap()
    else {
        panic!("not a claim");
    };
    assert_eq!((claim.batch, claim.index), (0, index));
    assert_eq!(claim.withdrawal.recipient, addr(2));
    claim
        .state
        .verify_withdrawal(claim.index, &claim.withdrawal, &claim.proof)
        .unwrap();
    // A verifier has no sequencer: it refuses transactions.
    assert_eq!(
        error_code(
            c.send_raw_transaction(hex(&transfer(1, 0, 0, 1, 5)))
                .await
                .unwrap_err()
        ),
        code::REJECTED
    );
    assert_eq!(c.get_account("1".into()).await.unwrap().view, "posted");
}
