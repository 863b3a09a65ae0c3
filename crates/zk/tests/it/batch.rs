//! The batch circuit against the native state-transition function: honest
//! batches of every operation kind satisfy it, tampered witnesses do not,
//! a real proof verifies with our verifier and with snarkjs, and altered
//! public inputs are refused.

use ark_std::rand::{SeedableRng, rngs::StdRng};
use std::sync::OnceLock;
use terrace_zk::{
    Fr,
    babyjubjub::{PublicKey, SecretKey},
    circuit::BatchCircuit,
    groth16::{PROOF_BYTES, Proof, VerifyError, VerifyingKey},
    ops::{self, InboxEntry, PubOp, Transfer, Withdraw},
    prover::{self, ProvingKey},
    snarkjs,
    state::{Batch, BatchBuilder, Op, SlotKind, State, StfError},
};

const DEPTH: u8 = 8;
const SLOTS: usize = 4;

fn key(name: &str) -> SecretKey {
    SecretKey::from_bytes(name.as_bytes())
}

fn domain() -> Fr {
    ops::domain(1, 7)
}

fn transfer(state: &State, from: &SecretKey, to: &PublicKey, amount: u64) -> Op {
    let index = state.find(&from.public()).expect("sender has an account");
    let nonce = state.account(index).expect("account").nonce;
    Op::Transfer(Transfer::sign(
        from,
        state.domain(),
        index,
        *to,
        amount,
        nonce,
    ))
}

fn withdraw(state: &State, from: &SecretKey, to: [u8; 20], amount: u64) -> Op {
    let index = state.find(&from.public()).expect("account");
    let nonce = state.account(index).expect("account").nonce;
    Op::Withdraw(Withdraw::sign(
        from,
        state.domain(),
        index,
        to,
        amount,
        nonce,
    ))
}

/// Two batches covering every kind: deposits (new and existing), a
/// transfer to an existing and to a new account, a withdrawal, forced
/// exits by the owner and by a stranger, padding.
fn two_batches() -> (State, Batch, Batch, Vec<InboxEntry>) {
    let (alice, bob, carol) = (key("alice"), key("bob"), key("carol"));
    let mut state = State::new(DEPTH, domain());
    let inbox = vec![
        InboxEntry::Deposit {
            key: alice.public(),
            amount: 1_000,
        },
        InboxEntry::Deposit {
            key: bob.public(),
            amount: 500,
        },
        InboxEntry::ForcedExit {
            account: 2,
            key: carol.public(),
            to: [0xca; 20],
        },
        InboxEntry::ForcedExit {
            account: 1,
            key: carol.public(),
            to: [0xcc; 20],
        },
    ];
    let mut b1 = BatchBuilder::new(&state, SLOTS, Fr::from(0u64));
    b1.push(&mut state, &Op::Inbox(inbox[0])).expect("deposit");
    b1.push(&mut state, &Op::Inbox(inbox[1])).expect("deposit");
    let op = transfer(&state, &alice, &bob.public(), 100);
    b1.push(&mut state, &op).expect("transfer");
    let op = transfer(&state, &alice, &carol.public(), 50);
    b1.push(&mut state, &op).expect("transfer to new");
    let b1 = b1.finish(&state).expect("batch 1");

    let mut b2 = BatchBuilder::new(&state, SLOTS, b1.statement.inbox_to);
    let op = withdraw(&state, &bob, [0xb0; 20], 200);
    b2.push(&mut state, &op).expect("withdraw");
    b2.push(&mut state, &Op::Inbox(inbox[2]))
        .expect("owner's exit");
    b2.push(&mut state, &Op::Inbox(inbox[3]))
        .expect("stranger's exit");
    let b2 = b2.finish(&state).expect("batch 2");
    (state, b1, b2, inbox)
}

fn circuit(batch: &Batch) -> BatchCircuit {
    BatchCircuit {
        depth: DEPTH,
        statement: batch.statement,
        slots: batch.witnesses.clone(),
    }
}

fn satisfied(c: BatchCircuit) -> bool {
    prover::is_satisfied(c).expect("synthesis")
}

#[test]
fn native_transition_has_the_expected_effects() {
    let (state, b1, b2, inbox) = two_batches();
    assert_eq!(
        b1.ops,
        vec![
            PubOp::Deposit { to: 0 },
            PubOp::Deposit { to: 1 },
            PubOp::Transfer {
                from: 0,
                to: 1,
                amount: 100
            },
            PubOp::TransferNew {
                from: 0,
                to: 2,
                amount: 50,
                key: key("carol").public()
            },
        ]
    );
    assert_eq!(b1.data.len(), 4 + 4 + 12 + 44);
    assert_eq!(
        b2.ops[1..],
        [
            PubOp::ForcedExit {
                account: 2,
                amount: 50
            },
            PubOp::ForcedExit {
                account: 1,
                amount: 0
            },
        ]
    );
    let balances: Vec<u64> = state.accounts().map(|(_, a)| a.balance).collect();
    assert_eq!(balances, [850, 400, 0]);
    // Supply: 1,500 deposited = 1,250 on L2 + 200 + 50 withdrawn.
    assert_eq!(state.supply(), 1_250);

    // A full node rebuilds the same roots from the posted bytes and inbox.
    let mut node = State::new(DEPTH, domain());
    let ops1 = PubOp::decode_all(&b1.data, SLOTS, DEPTH).expect("decode");
    assert_eq!(ops::data_commitment(&ops1, SLOTS), b1.statement.data);
    node.replay(&ops1, &inbox[..2]).expect("replay 1");
    assert_eq!(node.root(), b1.statement.new_root);
    let ops2 = PubOp::decode_all(&b2.data, SLOTS, DEPTH).expect("decode");
    let withdrawals = node.replay(&ops2, &inbox[2..]).expect("replay 2");
    assert_eq!(node.root(), state.root());
    assert_eq!(
        withdrawals,
        vec![([0xb0; 20], 200), ([0xca; 20], 50), ([0xcc; 20], 0)]
    );
}

#[test]
fn refused_operations_change_nothing() {
    let (mut state, ..) = two_batches();
    let root = state.root();
    let (alice, bob) = (key("alice"), key("bob"));
    let mut op = transfer(&state, &alice, &bob.public(), 10);
    if let Op::Transfer(t) = &mut op {
        t.amount = 11; // signed 10
    }
    assert!(matches!(state.apply(&op), Err(StfError::Signature(_))));
    let op = transfer(&state, &alice, &bob.public(), 1_000_000);
    assert!(matches!(
        state.apply(&op),
        Err(StfError::Insufficient { .. })
    ));
    let op = transfer(&state, &alice, &bob.public(), 34_359_738_369);
    assert!(matches!(
        state.apply(&op),
        Err(StfError::Insufficient { .. })
    ));
    let mut op = transfer(&state, &alice, &bob.public(), 10);
    if let Op::Transfer(t) = &mut op {
        t.nonce += 1;
    }
    assert!(matches!(state.apply(&op), Err(StfError::Nonce { .. })));
    assert_eq!(state.root(), root);
}

#[test]
fn honest_batches_satisfy_the_circuit() {
    let (_, b1, b2, _) = two_batches();
    assert!(satisfied(circuit(&b1)));
    assert!(satisfied(circuit(&b2)));
}

#[test]
fn tampered_witnesses_do_not_satisfy_the_circuit() {
    let (_, b1, b2, _) = two_batches();
    // A signature scalar changed.
    let mut c = circuit(&b1);
    c.slots[2].s += terrace_zk::babyjubjub::Fs::from(1u64);
    assert!(!satisfied(c));
    // More moved than signed.
    let mut c = circuit(&b1);
    c.slots[2].amount += 1;
    assert!(!satisfied(c));
    // Credit to an existing account of another key.
    let mut c = circuit(&b1);
    c.slots[2].target = (c.slots[3].target.0, c.slots[3].target.1);
    assert!(!satisfied(c));
    // A false new root, data commitment, inbox or withdrawals root.
    for i in 0..4 {
        let mut c = circuit(&b2);
        let field = match i {
            0 => &mut c.statement.new_root,
            1 => &mut c.statement.data,
            2 => &mut c.statement.inbox_to,
            _ => &mut c.statement.withdrawals,
        };
        *field += Fr::from(1u64);
        assert!(!satisfied(c), "statement field {i}");
    }
    // A forced exit that takes less than the whole balance.
    let mut c = circuit(&b2);
    assert_eq!(c.slots[1].kind, SlotKind::ForcedExit);
    c.slots[1].amount = 10;
    assert!(!satisfied(c));
    // A withdrawal that skips the signature (kind relabelled as a deposit).
    let mut c = circuit(&b2);
    c.slots[0].kind = SlotKind::Deposit;
    assert!(!satisfied(c));
}

fn keys() -> &'static (ProvingKey, VerifyingKey) {
    static KEYS: OnceLock<(ProvingKey, VerifyingKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(0x7e77ace);
        let pk = prover::setup(DEPTH, SLOTS, &mut rng).expect("setup");
        let vk = pk.verifying_key();
        (pk, vk)
    })
}

#[test]
fn proofs_verify_and_altered_inputs_are_refused() {
    let (_, b1, _, _) = two_batches();
    let (pk, vk) = keys();
    let mut rng = StdRng::seed_from_u64(1);
    let proof = prover::prove(pk, &b1, &mut rng).expect("prove");
    let inputs = b1.statement.inputs();
    assert_eq!(vk.verify(&proof, &inputs), Ok(()));

    // 128 bytes, round trip; the key round-trips too.
    let bytes = proof.to_bytes();
    assert_eq!(bytes.len(), PROOF_BYTES);
    assert_eq!(Proof::from_bytes(&bytes), Ok(proof));
    assert_eq!(VerifyingKey::from_bytes(&vk.to_bytes()).as_ref(), Ok(vk));

    for i in 0..inputs.len() {
        let mut altered = inputs;
        altered[i] += Fr::from(1u64);
        assert_eq!(
            vk.verify(&proof, &altered),
            Err(VerifyError::Invalid),
            "input {i}"
        );
    }
    assert!(matches!(
        vk.verify(&proof, &inputs[..6]),
        Err(VerifyError::InputCount { .. })
    ));
    // Garbage and flipped bytes: an error, never a panic.
    for i in 0..PROOF_BYTES {
        let mut b = bytes;
        b[i] ^= 0x5a;
        if let Ok(p) = Proof::from_bytes(&b) {
            assert_eq!(vk.verify(&p, &inputs), Err(VerifyError::Invalid));
        }
    }
    assert!(Proof::from_bytes(&bytes[..127]).is_err());

    // A proof of another key (another setup of the same circuit) fails.
    let mut rng = StdRng::seed_from_u64(2);
    let other = prover::setup(DEPTH, SLOTS, &mut rng).expect("setup");
    let foreign = prover::prove(&other, &b1, &mut rng).expect("prove");
    assert_eq!(vk.verify(&foreign, &inputs), Err(VerifyError::Invalid));

    check_with_snarkjs(vk, &proof, &inputs);
}

/// `snarkjs groth16 verify` on our exported key, proof and inputs, and on
/// altered inputs. Skipped (with a note) where Node.js and the fixtures'
/// npm packages are absent, unless `TERRACE_REQUIRE_SNARKJS=1` (CI sets it).
fn check_with_snarkjs(vk: &VerifyingKey, proof: &Proof, inputs: &[Fr]) {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cli = manifest.join("fixtures/node_modules/snarkjs/build/cli.cjs");
    let required = std::env::var("TERRACE_REQUIRE_SNARKJS").is_ok_and(|v| v == "1");
    let node_ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !cli.exists() || !node_ok {
        assert!(
            !required,
            "snarkjs required but {} or node is missing",
            cli.display()
        );
        eprintln!("skipping snarkjs check: run `npm ci --prefix crates/zk/fixtures`");
        return;
    }
    let dir = std::env::temp_dir().join(format!("terrace-snarkjs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let write = |name: &str, v: &serde_json::Value| {
        std::fs::write(dir.join(name), serde_json::to_vec_pretty(v).expect("json")).expect("write");
    };
    write("verification_key.json", &snarkjs::verification_key(vk));
    write("proof.json", &snarkjs::proof(proof));
    write("public.json", &snarkjs::public(inputs));
    let mut altered = inputs.to_vec();
    altered[2] += Fr::from(1u64);
    write("altered.json", &snarkjs::public(&altered));
    let verify = |public: &str| {
        std::process::Command::new("node")
            .arg(&cli)
            .args(["groth16", "verify"])
            .arg(dir.join("verification_key.json"))
            .arg(dir.join(public))
            .arg(dir.join("proof.json"))
            .output()
            .expect("run snarkjs")
    };
    let ok = verify("public.json");
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success() && text.contains("OK"),
        "snarkjs refused: {text}"
    );
    let bad = verify("altered.json");
    assert!(!bad.status.success(), "snarkjs accepted altered inputs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shape_mismatch_is_an_error() {
    let (_, b1, _, _) = two_batches();
    let mut state = State::new(DEPTH, domain());
    let small = BatchBuilder::new(&state, 2, Fr::from(0u64));
    let _ = &mut state;
    let small = small.finish(&state).expect("empty batch");
    let (pk, _) = keys();
    assert!(matches!(
        prover::prove(pk, &small, &mut StdRng::seed_from_u64(3)),
        Err(prover::ProveError::Shape { .. })
    ));
    assert_eq!(b1.witnesses.len(), SLOTS);
}

#[test]
fn full_nodes_accept_accounts_in_any_empty_slot() {
    // The circuit lets an operator create an account in any empty slot;
    // a full node replaying the data must follow, and still prove exits.
    let mut node = State::new(DEPTH, domain());
    let alice = key("alice").public();
    let inbox = [InboxEntry::Deposit {
        key: alice,
        amount: 40,
    }];
    let far = (1u32 << DEPTH) - 1;
    node.replay(&[PubOp::Deposit { to: far }], &inbox)
        .expect("a deposit into the last slot");
    let (account, path) = node.exit_proof(far).expect("an exit proof");
    assert_eq!(account.balance, 40);
    let leaf = ops::account_leaf(alice.x(), alice.y(), 40, 0);
    assert_eq!(
        ops::account_root_from_path(leaf, u64::from(far), &path),
        Some(node.root())
    );
    // Honest creation continues after the highest slot in use: the tree
    // is full now, and a new key's deposit is refused rather than lost.
    let bob = InboxEntry::Deposit {
        key: key("bob").public(),
        amount: 1,
    };
    let root = node.root();
    assert_eq!(
        node.apply(&Op::Inbox(bob)).map(|_| ()),
        Err(StfError::TreeFull)
    );
    assert_eq!(node.root(), root);
}

/// The quaternary account tree: every slot of a full depth-4 tree (two
/// levels, every position at each) proves its leaf with three siblings per
/// level, in the circuit exactly as natively; a path is bound to its slot
/// and to its length.
#[test]
fn account_paths_prove_their_slot_natively_and_in_the_circuit() {
    use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
    use ark_relations::gr1cs::ConstraintSystem;
    use terrace_zk::circuit::gadgets::{alloc_bits, merkle_root};

    const SMALL: u8 = 4;
    let mut node = State::new(SMALL, domain());
    let slots = 1u32 << SMALL;
    let inbox: Vec<InboxEntry> = (0..slots)
        .map(|i| InboxEntry::Deposit {
            key: key(&format!("user {i}")).public(),
            amount: u64::from(i) + 1,
        })
        .collect();
    let deposits: Vec<PubOp> = (0..slots).map(|to| PubOp::Deposit { to }).collect();
    node.replay(&deposits, &inbox)
        .expect("a deposit into every slot");
    let root = node.root();
    for index in 0..slots {
        let (account, path) = node.exit_proof(index).expect("an exit proof");
        assert_eq!(path.len(), 3 * ops::account_levels(SMALL));
        let leaf = account.leaf();
        assert_eq!(
            ops::account_root_from_path(leaf, u64::from(index), &path),
            Some(root)
        );
        for other in (0..slots).filter(|o| *o != index) {
            assert_ne!(
                ops::account_root_from_path(leaf, u64::from(other), &path),
                Some(root),
                "slot {index}'s path proves slot {other}"
            );
        }
        assert_eq!(
            ops::account_root_from_path(leaf, u64::from(index), &path[1..]),
            None
        );

        let cs = ConstraintSystem::<Fr>::new_ref();
        let (bits, _) =
            alloc_bits(&cs, u64::from(index), 2 * ops::account_levels(SMALL)).expect("bits");
        let siblings = path
            .iter()
            .map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)))
            .collect::<Result<Vec<_>, _>>()
            .expect("siblings");
        let leaf_var = FpVar::new_witness(cs.clone(), || Ok(leaf)).expect("leaf");
        let reached = merkle_root(&leaf_var, &bits, &siblings).expect("path");
        assert_eq!(reached.value().expect("assigned"), root);
        assert!(cs.is_satisfied().expect("checkable"));
    }
}
