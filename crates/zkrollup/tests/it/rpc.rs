#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The `zk_*` API over HTTP on 127.0.0.1, served from real node state: an
//! operator's soft confirmations and refusals, accounts by index and by
//! key, receipts, withdrawals with claims, exit proofs, and a proof with
//! its key in snarkjs's formats.

use crate::common;

use common::*;
use jsonrpsee::{
    core::ClientError,
    http_client::{HttpClient, HttpClientBuilder},
};
use terrace_node::rpc::code;
use terrace_primitives::{Address, codec::to_hex};
use terrace_zk::{
    babyjubjub::SecretKey,
    fr_to_le,
    ops::{self as zkops, Transfer, Withdraw},
};
use terrace_zkrollup::{
    L2Op, Shared,
    rpc::{TransferRequest, WithdrawRequest, ZkApiClient as _, serve},
};

async fn client(shared: Shared) -> (HttpClient, jsonrpsee::server::ServerHandle) {
    let (addr, handle) = serve("127.0.0.1:0".parse().unwrap(), shared, Box::new(|| 0))
        .await
        .unwrap();
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

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", to_hex(bytes))
}

#[tokio::test]
async fn the_operator_confirms_at_once_and_refuses_bad_input_with_clear_errors() {
    let s = setup();
    let shared = Shared::detached(s.follower.clone(), Some(s.op.clone()), record());
    let (c, _server) = client(shared.clone()).await;
    let a = s.follower.state().find(&s.alice.public()).unwrap();

    let alice = c.get_account(a.to_string()).await.unwrap();
    assert_eq!(
        (alice.balance.as_str(), alice.view.as_str()),
        ("100", "soft")
    );
    assert_eq!(alice.proven_balance.as_deref(), Some("100"));
    let bob = c.get_account(hex(&s.bob.public().pack())).await.unwrap();
    assert_eq!(bob.balance, "5");
    assert_eq!(
        error_code(c.get_account("9".into()).await.unwrap_err()),
        code::NOT_FOUND
    );
    assert_eq!(
        error_code(c.get_account("alice".into()).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );

    // A transfer to a key with no account yet: confirmed at once.
    let carol = SecretKey::from_bytes(b"carol");
    let t = Transfer::sign(&s.alice, s.domain, a, carol.public(), 40, 0);
    let soft = c.send_transfer(TransferRequest::new(&t)).await.unwrap();
    assert_eq!((soft.account, soft.nonce), (a, 0));
    let receipt = c.get_receipt(soft.id.clone()).await.unwrap();
    assert_eq!(receipt.stage, "queued");
    assert_eq!(
        c.get_account(hex(&carol.public().pack()))
            .await
            .unwrap()
            .balance,
        "40"
    );

    // Refusals change nothing.
    let before = shared.with_state(|st, _| st.root());
    assert_eq!(
        error_code(c.send_transfer(TransferRequest::new(&t)).await.unwrap_err()),
        code::REJECTED,
        "a replay"
    );
    let mut forged =
        TransferRequest::new(&Transfer::sign(&s.alice, s.domain, a, carol.public(), 1, 1));
    forged.amount = "2".into();
    assert_eq!(
        error_code(c.send_transfer(forged).await.unwrap_err()),
        code::REJECTED
    );
    let mut garbled = TransferRequest::new(&t);
    garbled.signature = "0x1234".into();
    assert_eq!(
        error_code(c.send_transfer(garbled).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );
    let mut off_curve = TransferRequest::new(&t);
    off_curve.to = hex(&[0xff; 32]);
    assert_eq!(
        error_code(c.send_transfer(off_curve).await.unwrap_err()),
        code::INVALID_TRANSACTION
    );
    let mut huge = TransferRequest::new(&t);
    huge.amount = "18446744073709551616".into();
    assert_eq!(
        error_code(c.send_transfer(huge).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );
    let b = s.follower.state().find(&s.bob.public()).unwrap();
    let overdraw = Withdraw::sign(&s.bob, s.domain, b, [1; 20], 6, 0);
    assert_eq!(
        error_code(
            c.send_withdrawal(WithdrawRequest::new(&overdraw))
                .await
                .unwrap_err()
        ),
        code::REJECTED
    );
    assert_eq!(shared.with_state(|st, _| st.root()), before);
    assert_eq!(
        error_code(c.get_receipt("0x00".into()).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );

    // An oversized body is refused by the server.
    let mut big = TransferRequest::new(&t);
    big.signature = format!("0x{}", "ab".repeat(40_000));
    assert!(c.send_transfer(big).await.is_err());
}

#[tokio::test]
async fn a_full_node_serves_withdrawals_exit_proofs_and_proofs_for_snarkjs() {
    let mut s = setup();
    let b = s.follower.state().find(&s.bob.public()).unwrap();
    let w = L2Op::Withdraw(Withdraw::sign(&s.bob, s.domain, b, [4; 20], 3, 0));
    s.op.submit(&w, 0).unwrap();
    s.op.cut();
    prove_all(&mut s.op);
    s.follower.apply_block(&submit_block(2, &s.op, 1)).unwrap();
    // L1's record as it stands after the two batches.
    let on_l1 = terrace_l1::modules::validity::ZkRollup {
        root: fr_to_le(&s.follower.state().root()),
        batch_count: 2,
        ..record()
    };
    let (c, _server) = client(Shared::detached(s.follower.clone(), None, on_l1)).await;

    let status = c.status().await.unwrap();
    assert_eq!((status.batches, status.accounts), (2, 2));
    assert_eq!(status.root, hex(&fr_to_le(&s.follower.state().root())));
    // A full node takes no operations.
    let t = Transfer::sign(&s.bob, s.domain, b, s.alice.public(), 1, 1);
    assert_eq!(
        error_code(c.send_transfer(TransferRequest::new(&t)).await.unwrap_err()),
        code::REJECTED
    );
    assert_eq!(c.get_account(b.to_string()).await.unwrap().view, "proven");

    let list = c.get_withdrawals(Address([4; 20])).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0].batch, list[0].amount.as_str()), (1, "3"));
    assert!(!list[0].claimed);
    assert!(list[0].claim_op.starts_with("0x"));
    assert!(
        c.get_withdrawals(Address([5; 20]))
            .await
            .unwrap()
            .is_empty()
    );

    let exit = c.get_exit_proof(b).await.unwrap();
    assert_eq!((exit.balance.as_str(), exit.nonce), ("2", 1));
    assert_eq!(exit.path.len(), 3 * zkops::account_levels(DEPTH));
    assert_eq!(
        error_code(c.get_exit_proof(7).await.unwrap_err()),
        code::NOT_FOUND
    );

    let proof = c.get_proof(1).await.unwrap();
    assert_eq!(proof.slots, SLOTS as u32);
    assert_eq!(proof.public_signals.as_array().unwrap().len(), 7);
    assert_eq!(proof.proof["protocol"], "groth16");
    let vk = c.get_verification_key(SLOTS as u32).await.unwrap();
    assert_eq!(vk["nPublic"], 7);
    assert_eq!(
        error_code(c.get_verification_key(3).await.unwrap_err()),
        code::NOT_FOUND
    );
    assert_eq!(
        error_code(c.get_proof(9).await.unwrap_err()),
        code::NOT_FOUND
    );
}

/// A committee member over HTTP: the operator's client stores a batch and
/// gets a signature L1 would take; anyone reads the data back; malformed,
/// forged and oversized requests get typed errors and store nothing.
#[tokio::test]
async fn a_committee_member_serves_dac_over_http_and_refuses_bad_requests() {
    use std::sync::{Arc, Mutex};
    use terrace_l1::modules::validity::{BatchData, DAC_NAMESPACE, attestation_message};
    use terrace_primitives::keys::Signer as _;
    use terrace_zkrollup::dac::{
        Committee as _, HttpCommittee, Member, MemberView, StoreRequest,
        rpc::{DacApiClient, StoreParams, serve as serve_dac},
    };

    let mut s = setup();
    let a = s.follower.state().find(&s.alice.public()).unwrap();
    let t = L2Op::Transfer(Transfer::sign(&s.alice, s.domain, a, s.bob.public(), 7, 0));
    s.op.submit(&t, 0).unwrap();
    let index = s.op.cut().unwrap();
    prove_all(&mut s.op);
    let sub = s.op.submissions(index).remove(0);
    let BatchData::Posted(data) = sub.data else {
        panic!("posted")
    };
    let record = validium_record();
    let view = MemberView::new(&record, &member_key(0).public_key()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let member = Member::open(dir.path(), member_key(0), view).unwrap();
    let (addr, _server) = serve_dac("127.0.0.1:0".parse().unwrap(), Arc::new(Mutex::new(member)))
        .await
        .unwrap();
    let url = format!("http://{addr}");
    let committee = HttpCommittee::new(
        std::slice::from_ref(&url),
        std::time::Duration::from_secs(10),
    )
    .unwrap();
    let req = StoreRequest::new(&operator_key(), DEPTH, index, sub.slots, data.clone()).unwrap();
    let sig = committee.store(0, req.clone()).await.unwrap();
    terrace_primitives::keys::verify(
        &member_key(0).public_key(),
        DAC_NAMESPACE,
        &attestation_message(&record.domain, index, &req.commitment),
        &sig.signature,
    )
    .unwrap();
    let stored = committee
        .get(0, index, req.commitment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.data, data);
    assert_eq!(
        committee.get(0, index + 1, req.commitment).await.unwrap(),
        None
    );

    let c = HttpClientBuilder::default().build(&url).unwrap();
    let status = DacApiClient::status(&c).await.unwrap();
    assert_eq!((status.member, status.batches, status.threshold), (0, 1, 2));
    assert_eq!(c.versions(index).await.unwrap(), vec![hex(&req.commitment)]);
    // Malformed: not hex, a short commitment, a key that is not a point.
    let mut bad_hex = StoreParams::new(&req);
    bad_hex.data = "0xzz".into();
    let mut short = StoreParams::new(&req);
    short.commitment = "0x00".into();
    let mut forged = StoreParams::new(&req);
    forged.index += 1;
    for (params, want) in [
        (bad_hex, jsonrpsee::types::error::INVALID_PARAMS_CODE),
        (short, jsonrpsee::types::error::INVALID_PARAMS_CODE),
        (forged, code::REJECTED),
    ] {
        assert_eq!(error_code(c.store(params).await.unwrap_err()), want);
    }
    assert_eq!(
        error_code(c.get_batch(index, "0x12".into()).await.unwrap_err()),
        jsonrpsee::types::error::INVALID_PARAMS_CODE
    );
    // Over the request bound: refused before it is parsed.
    let mut huge = StoreParams::new(&req);
    huge.data = format!("0x{}", "00".repeat(400 * 1024));
    assert!(c.store(huge).await.is_err());
    assert_eq!(
        DacApiClient::status(&c).await.unwrap().batches,
        1,
        "nothing else stored"
    );
}
