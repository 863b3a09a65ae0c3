#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The JSON-RPC API of a real one-validator chain (tokio runtime,
//! authenticated p2p on 127.0.0.1): bad input gets typed errors and
//! leaves the node serving; a good transfer finalizes.

use commonware_codec::Encode as _;
use commonware_runtime::{Runner as _, tokio as cw_tokio};
use jsonrpsee::http_client::HttpClientBuilder;
use std::{
    io::{Read as _, Write as _},
    net::{SocketAddr, TcpStream},
    sync::Arc,
    time::Duration,
};
use terrace_l1::{
    ChainParams, Payload, Transaction,
    genesis::{Genesis, GenesisAccount, GenesisValidator},
};
use terrace_mempool::PoolConfig;
use terrace_node::{
    chain::Chain,
    engine::{Timeouts, ValidatorConfig},
    net,
    rpc::{self, BlockId, L1ApiClient as _, backend::NodeBackend, code},
    state::empty_log,
};
use terrace_primitives::{
    Address, Amount, ChainId, PrivateKey,
    codec::to_hex,
    keys::{Signer as _, private_key_from_seed},
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// POSTs `body` to the server and returns (HTTP status line, body).
fn post(addr: SocketAddr, body: &[u8]) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before reading an oversized body.
    let _ = s.write_all(body);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.lines().next().unwrap_or_default().to_string();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
}

fn error_code(body: &str) -> i64 {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("{body}"));
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error in {body}"))
}

#[test]
fn rpc_rejects_bad_input_with_typed_errors_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let user: PrivateKey = private_key_from_seed([1; 32]);
    let validator: PrivateKey = private_key_from_seed([2; 32]);
    let genesis = Genesis {
        chain_id: ChainId(9),
        timestamp_ms: 0,
        params: ChainParams::default(),
        accounts: vec![GenesisAccount {
            address: Address::from_public_key(&user.public_key()),
            balance: Amount(1_000_000_000_000_000_000_000),
        }],
        validators: vec![GenesisValidator {
            public_key: to_hex(&validator.public_key().encode()),
            stake: Amount(1_000_000_000_000_000_000),
        }],
    };
    let config = cw_tokio::Config::new()
        .with_worker_threads(2)
        .with_storage_directory(dir.path());
    cw_tokio::Runner::new(config).start(|context| async move {
        let chain = Arc::new(
            Chain::new(
                genesis,
                empty_log::<cw_tokio::Context>(),
                PoolConfig::default(),
                1,
            )
            .unwrap(),
        );
        let p2p = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let v = net::start_validator(
            &context,
            &validator,
            net::Endpoint {
                listen: p2p,
                dialable: p2p,
                allow_private: true,
            },
            &[],
            chain.clone(),
            ValidatorConfig::new("v0", Timeouts::LAN),
        )
        .await
        .unwrap();
        let backend = Arc::new(NodeBackend::new(
            chain,
            v.stateful.clone(),
            v.gossip.clone(),
            v.marshal.clone(),
        ));
        let (addr, _server) = rpc::serve("127.0.0.1:0".parse().unwrap(), backend)
            .await
            .unwrap();

        let raw = move |body: Vec<u8>| tokio::task::spawn_blocking(move || post(addr, &body));
        // Malformed JSON: parse error.
        let (_, body) = raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":".to_vec())
            .await
            .unwrap();
        assert_eq!(error_code(&body), -32700);
        // Unknown method.
        let (_, body) = raw(br#"{"jsonrpc":"2.0","id":1,"method":"l1_nope","params":[]}"#.to_vec())
            .await
            .unwrap();
        assert_eq!(error_code(&body), -32601);
        // Wrong parameter types.
        let (_, body) =
            raw(br#"{"jsonrpc":"2.0","id":1,"method":"l1_getBlock","params":[{"x":1}]}"#.to_vec())
                .await
                .unwrap();
        assert_eq!(error_code(&body), -32602);
        let (_, body) =
            raw(br#"{"jsonrpc":"2.0","id":1,"method":"l1_getAccount","params":["0x12"]}"#.to_vec())
                .await
                .unwrap();
        assert_eq!(error_code(&body), -32602);
        // Oversized body: refused before parsing.
        let mut big =
            br#"{"jsonrpc":"2.0","id":1,"method":"l1_sendRawTransaction","params":[""#.to_vec();
        big.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
        big.extend(br#""]}"#);
        let (status, _) = raw(big).await.unwrap();
        assert!(status.contains("413"), "{status}");

        let client = HttpClientBuilder::default()
            .build(format!("http://{addr}"))
            .unwrap();
        // Bad transactions: typed errors.
        let e = client
            .send_raw_transaction("0xzz".into())
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&code::INVALID_TRANSACTION.to_string()),
            "{e}"
        );
        let e = client
            .send_raw_transaction("0x0102".into())
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .contains(&code::INVALID_TRANSACTION.to_string()),
            "{e}"
        );
        let tx = |chain_id: u64, nonce: u64| {
            Transaction {
                chain_id: ChainId(chain_id),
                nonce,
                max_fee_per_gas: 10_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                gas_limit: 30_000,
                payload: Payload::Transfer {
                    to: Address([7; 20]),
                    amount: Amount(5),
                },
            }
            .sign(&user)
        };
        let hex = |t: &terrace_l1::SignedTransaction| format!("0x{}", to_hex(&t.encode()));
        let e = client
            .send_raw_transaction(hex(&tx(10, 0)))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("chain"), "wrong chain id: {e}");
        let mut forged = tx(9, 0);
        forged.tx.nonce = 1;
        let e = client.send_raw_transaction(hex(&forged)).await.unwrap_err();
        assert!(
            e.to_string()
                .contains(&code::INVALID_TRANSACTION.to_string()),
            "{e}"
        );
        let e = client.send_raw_transaction(hex(&tx(9, 5))).await;
        // A nonce gap is queued, not refused; a used nonce is refused below.
        assert!(e.is_ok(), "{e:?}");

        // A good transfer finalizes.
        let hash = client.send_raw_transaction(hex(&tx(9, 0))).await.unwrap();
        let mut done = None;
        for _ in 0..300 {
            if let Ok(t) = client.get_transaction(hash.clone()).await
                && t.receipt.is_some()
            {
                done = Some(t);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let t = done.expect("transfer finalized");
        assert_eq!(t.receipt.unwrap().status, "success");
        let e = client
            .send_raw_transaction(hex(&tx(9, 0)))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains(&code::REJECTED.to_string()),
            "replay: {e}"
        );

        // Still serving, with proofs.
        let info = client.chain_info().await.unwrap();
        assert!(info.finalized_height >= 1);
        let a = client
            .get_account(Address([7; 20]).to_string(), Some(true))
            .await
            .unwrap();
        assert_eq!(a.balance, Amount(5));
        assert!(a.proof.is_some());
        let absent = client
            .get_account(Address([8; 20]).to_string(), Some(true))
            .await
            .unwrap();
        assert_eq!(absent.balance, Amount(0));
        assert!(absent.proof.is_some(), "exclusion proof");
        // Any record by its key: the account's, encoded as L1 keeps it.
        let key = terrace_l1::Key::Account(Address([7; 20]));
        let r = client
            .get_record(format!("0x{}", to_hex(&key.encode())), Some(true))
            .await
            .unwrap();
        let value = r.value.expect("the account's record");
        let value = terrace_primitives::codec::from_hex(&value[2..]).unwrap();
        match <terrace_l1::Value as commonware_codec::DecodeExt<_>>::decode(
            commonware_codec::Copying(&value),
        ) {
            Ok(terrace_l1::Value::Account(acc)) => assert_eq!(acc.balance, Amount(5)),
            other => panic!("{other:?}"),
        }
        assert!(r.proof.is_some() && r.height >= 1);
        let none = terrace_l1::Key::Account(Address([8; 20]));
        let r = client
            .get_record(format!("0x{}", to_hex(&none.encode())), None)
            .await
            .unwrap();
        assert_eq!((r.value, r.proof), (None, None));
        // Keys that do not decode, are not hex, or are too long: refused.
        for (bad, want) in [
            ("0xff".to_string(), "key: Invalid Enum".to_string()),
            ("0xzz".to_string(), "key: not hex".to_string()),
            (format!("0x{}", "00".repeat(200)), code::LIMIT.to_string()),
        ] {
            let e = client.get_record(bad.clone(), None).await.unwrap_err();
            assert!(e.to_string().contains(&want), "{bad}: {e}");
        }
        let b = client.get_block(BlockId::Height(1)).await.unwrap();
        assert_eq!(b.height, 1);
        let e = client
            .get_block(BlockId::Height(1 << 40))
            .await
            .unwrap_err();
        assert!(e.to_string().contains(&code::NOT_FOUND.to_string()), "{e}");
        v.engine.abort();
    });
}
