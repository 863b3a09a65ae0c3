//! Channels under attack. Both sides of every channel run the real state
//! machine in process (a side that is offline is one nobody delivers
//! to); opens, closes, challenges, settlements and claims are real L1
//! transactions on the stage's four validators, and every figure is read
//! back from L1 balances and records. The L1 supply audit, which counts
//! every channel's escrow, runs on every block.

use crate::LabError;
use crate::scenario::{
    Outcome, Scenario, play,
    stage::{Role, Stage, TER},
};
use crate::sim::CHAIN;
use bytes::Bytes;
use commonware_runtime::{Clock as _, Handle, Spawner as _, Supervisor as _};
use std::time::Duration;
use terrace_channels::{
    Event, Link,
    tower::{Appointment, Tower},
};
use terrace_l1::{
    ChainParams, Key, Payload, SignedTransaction,
    fee::effective_tip,
    modules::channels::{
        Channel, ChannelKey, ChannelOp, ChannelRecords as _, Closing, OpenTerms, Side, Status,
        payment_hash,
    },
};
use terrace_node::client::{L1 as _, sign_l1_priced};
use terrace_primitives::{Amount, Hash, keys::Signer as _};

/// Each side's deposit.
const DEPOSIT: u128 = 10 * TER;
/// The challenge window: the chain's minimum (40 blocks, 10 s at 250 ms).
const WINDOW: u64 = 40;
/// Payments of 1 TER the cheater makes before it cheats.
const PAYMENTS: u8 = 5;
/// The routed payment, and the intermediary's fee.
const AMOUNT: u128 = TER;
const FEE: u128 = TER / 100;
/// A routing failure code: the downstream HTLC timed out.
const DOWNSTREAM_EXPIRED: u16 = 0x4017;

/// A channel opened on the stage, with both sides in memory.
struct Opened {
    id: Hash,
    link: Link,
}

/// `a` and `b` open a channel with [`DEPOSIT`] each; `a` sends the open.
async fn open(s: &mut Stage, a: Role, b: Role, nonce: u64) -> Result<Opened, LabError> {
    let terms = OpenTerms {
        a: a.key().public_key(),
        b: b.key().public_key(),
        deposit_a: Amount(DEPOSIT),
        deposit_b: Amount(DEPOSIT),
        window: WINDOW,
        reserve: Amount(DEPOSIT / 50),
        max_htlcs: 30,
        nonce,
    };
    let op = ChannelOp::Open {
        sig_a: terms.sign(CHAIN, &a.key()),
        sig_b: terms.sign(CHAIN, &b.key()),
        terms: Box::new(terms.clone()),
    };
    if let Some(f) = s.send(a, Payload::Channels(op)).await? {
        return Err(s.fail(format!("the open was refused: {f}")));
    }
    let link = Link::open(&terms, CHAIN, a.key(), b.key()).map_err(|e| s.fail(e.to_string()))?;
    Ok(Opened {
        id: terms.channel_id(CHAIN),
        link,
    })
}

/// Commits and delivers until both sides of `link` are quiet.
fn quiesce(s: &Stage, link: &mut Link) -> Result<(), LabError> {
    match link.quiesce() {
        Ok(true) => Ok(()),
        Ok(false) => Err(s.fail("the channel never became quiet")),
        Err(e) => Err(s.fail(format!("channel refused an update: {e}"))),
    }
}

/// `from` offers an HTLC over `link`, committed by both; returns its id.
fn offer(
    s: &Stage,
    link: &mut Link,
    from: Side,
    amount: u128,
    hash: Hash,
    expiry: u64,
) -> Result<u64, LabError> {
    let (id, m) = link
        .side(from)
        .add_htlc(Amount(amount), hash, expiry, Bytes::new())
        .map_err(|e| s.fail(format!("add: {e}")))?;
    link.send(from, m);
    quiesce(s, link)?;
    Ok(id)
}

/// `from` pays `amount` to the other side: offer, fulfill, both committed.
fn pay(
    s: &Stage,
    link: &mut Link,
    from: Side,
    amount: u128,
    preimage: [u8; 32],
) -> Result<(), LabError> {
    let id = offer(
        s,
        link,
        from,
        amount,
        payment_hash(&preimage),
        s.height() + 1_000,
    )?;
    let m = link
        .side(from.other())
        .fulfill_htlc(id, preimage)
        .map_err(|e| s.fail(format!("fulfill: {e}")))?;
    link.send(from.other(), m);
    quiesce(s, link)
}

/// The channel's L1 record.
async fn record(s: &Stage, id: &Hash) -> Result<Channel, LabError> {
    let records =
        s.l1.records(&[Key::Channels(ChannelKey::Channel(*id))])
            .await
            .map_err(|e| s.fail(e))?;
    records
        .channel(id)
        .ok_or_else(|| s.fail("the channel has no L1 record"))
}

/// The close in progress on the channel.
async fn closing(s: &Stage, id: &Hash) -> Result<Closing, LabError> {
    match record(s, id).await?.status {
        Status::Closing(c) => Ok(*c),
        other => Err(s.fail(format!("the channel is not closing: {other:?}"))),
    }
}

/// Sends a channel operation; a refusal ends the run.
async fn op(s: &mut Stage, from: Role, op: ChannelOp) -> Result<u128, LabError> {
    let what = format!("{op:?}");
    let at = s.send_located(from, Payload::Channels(op)).await?;
    if let Some(f) = at.receipt.failure {
        let what = what.chars().take(40).collect::<String>();
        return Err(s.fail(format!("{what}… refused: {f}")));
    }
    Ok(u128::from(at.receipt.gas_used) * u128::from(at.receipt.effective_gas_price))
}

/// `n` aTER as TER for people, exactly.
fn ter(n: u128) -> String {
    Amount(n).ter()
}

// ---- a revoked close ---------------------------------------------------

/// How a sender prices its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fees {
    /// The client's default (twice the next base fee plus the minimum
    /// tip), signed once and never replaced.
    Default,
    /// Re-bid every block until it lands: a quarter above the lowest tip
    /// the last block took (and 10% above its own last bid, so the pool
    /// accepts the replacement).
    Bidding,
}

/// Where a bid transaction landed.
#[derive(Debug, Clone, Copy)]
struct Landed {
    height: u64,
    success: bool,
    /// Fee paid (aTER).
    fee: u128,
    /// Gas used.
    gas: u64,
    /// Transactions signed (the first and its replacements).
    bids: u32,
}

/// The lowest effective tip among block `height`'s transactions (0 when
/// the block has room left: any tip gets in).
async fn lowest_tip(s: &Stage, params: &ChainParams, height: u64) -> u64 {
    let Some(block) = s.l1.finalized_block(height).await else {
        return 0;
    };
    let header = block.header();
    if header.gas_used < params.block_gas_limit * 9 / 10 {
        return 0;
    }
    block
        .l1()
        .transactions
        .iter()
        .filter_map(|b| SignedTransaction::decode_bounded(b, params).ok())
        .map(|t| {
            effective_tip(
                t.tx.max_fee_per_gas,
                t.tx.max_priority_fee_per_gas,
                header.base_fee,
            )
        })
        .min()
        .unwrap_or(0)
}

/// `from` sends `op`, pricing it per `fees`, until it lands or L1 reaches
/// `deadline` (`None` then).
async fn bid(
    s: &mut Stage,
    params: &ChainParams,
    from: Role,
    op: ChannelOp,
    fees: Fees,
    deadline: u64,
) -> Result<Option<Landed>, LabError> {
    let key = from.key();
    let nonce = s.next_nonce(from).await?;
    let mut sent = Vec::new();
    let mut last: Option<(u64, u64)> = None;
    loop {
        let height = s.height();
        if height >= deadline {
            return Ok(None);
        }
        let next = s.l1.next_base_fee();
        let price = match (fees, last) {
            (Fees::Default, Some(p)) => p,
            (Fees::Default, None) => {
                let tip = params.min_base_fee.max(1);
                (next.saturating_mul(2).saturating_add(tip), tip)
            }
            (Fees::Bidding, _) => {
                let floor = lowest_tip(s, params, height).await;
                let (fee0, tip0) = last.unwrap_or((0, 0));
                let tip = (floor + floor / 4 + 1).max(tip0 + tip0 / 10 + 1);
                let fee = next
                    .saturating_mul(2)
                    .saturating_add(tip)
                    .max(fee0 + fee0 / 10 + 1);
                (fee, tip)
            }
        };
        if last != Some(price) {
            let bytes = sign_l1_priced(
                &s.l1,
                &key,
                nonce,
                Payload::Channels(op.clone()),
                price.0,
                price.1,
            )
            .map_err(|e| s.fail(e.to_string()))?;
            if let Ok(hash) = s.l1.submit(bytes).await {
                sent.push(hash);
                last = Some(price);
            }
        }
        s.wait_l1(height + 1).await?;
        for hash in &sent {
            if let Some(at) = s.l1.chain.tx_location(hash).await {
                let r = at.receipt;
                return Ok(Some(Landed {
                    height: at.height,
                    success: r.success(),
                    fee: u128::from(r.gas_used) * u128::from(r.effective_gas_price),
                    gas: r.gas_used,
                    bids: sent.len() as u32,
                }));
            }
        }
    }
}

/// A sender that keeps L1 blocks full: [`SPAM_PER_BLOCK`] transfers every
/// block time, tipping [`SPAM_TIP`], until aborted.
fn spam(s: &Stage, params: &ChainParams) -> Handle<()> {
    let l1 = s.l1.clone();
    let key = Role::Sequencer.key();
    let to = Role::Verifier.address();
    let every = Duration::from_millis(params.block_time_ms);
    s.context.child("spam").spawn(move |context| async move {
        let mut nonce = 0;
        loop {
            for _ in 0..SPAM_PER_BLOCK {
                let transfer = Payload::Transfer {
                    to,
                    amount: Amount(1),
                };
                let Ok(bytes) = sign_l1_priced(&l1, &key, nonce, transfer, SPAM_MAX_FEE, SPAM_TIP)
                else {
                    return;
                };
                if l1.submit(bytes).await.is_ok() {
                    nonce += 1;
                }
            }
            context.sleep(every).await;
        }
    })
}

/// Transfers the spammer sends per block time: a quarter more than a
/// congested block holds.
const SPAM_PER_BLOCK: usize = 64;
/// The spammer's tip: 20 gwei per gas, twenty times the initial base fee.
const SPAM_TIP: u64 = 20_000_000_000;
/// The spammer's fee cap, far above any base fee of the run.
const SPAM_MAX_FEE: u64 = 1_000_000_000_000_000;

/// The congested chain: blocks of 1.2 M gas (about 51 transfers).
fn congested_params() -> ChainParams {
    ChainParams {
        block_gas_limit: 1_200_000,
        block_gas_target: 600_000,
        ..ChainParams::default()
    }
}

/// What a revoked close measured.
struct Theft {
    /// Alice's balance in the newest state (what she is owed).
    due: u128,
    /// Alice's balance in the state Mallory closed with.
    revoked: u128,
    /// The newest version.
    version: u64,
    /// The close's height and deadline.
    closed_at: u64,
    deadline: u64,
    /// The tower's challenge, if it landed in time and took effect.
    challenge: Option<Landed>,
    /// Paid by settlement to Alice and to Mallory.
    alice_paid: u128,
    mallory_paid: u128,
    /// Bytes the tower stores for the channel after each payment.
    tower_bytes: Vec<usize>,
    /// Base fee of the block before the close and of the challenge's.
    base_fees: (u64, u64),
    /// Blocks of the window at ≥ 90% of the gas limit, of those seen.
    full_blocks: (u64, u64),
    /// Virtual time from the close to the settlement.
    resolution: Duration,
}

/// Who watches the channel for Alice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watch {
    Nobody,
    Tower(Fees),
}

/// Mallory pays Alice [`PAYMENTS`] times, then, with Alice offline,
/// closes with version 0 (when Alice had 10 TER, not 15). With a tower,
/// Alice's tower holds her newest state and Mallory's revocation. With
/// `congest`, a spammer keeps L1 blocks full through the window and
/// Mallory picks that moment, outbidding it for her close.
async fn theft(
    s: &mut Stage,
    params: &ChainParams,
    watch: Watch,
    congest: bool,
) -> Result<Theft, LabError> {
    let mut ch = open(s, Role::Alice, Role::Mallory, 0).await?;
    let keys = record(s, &ch.id).await?;
    let mut watchtower = Tower::default();
    let old = ch.link.sides[1].current().clone();
    let mut tower_bytes = Vec::new();
    for i in 0..PAYMENTS {
        pay(s, &mut ch.link, Side::B, TER, [i + 1; 32])?;
        if watch != Watch::Nobody {
            let alice = &ch.link.sides[0];
            let appointment = Appointment {
                client: Side::A,
                state: alice.current().clone(),
                revocation: alice.peer_revocation_signed(),
            };
            watchtower
                .watch(appointment, &keys.a, &keys.b)
                .map_err(|e| s.fail(format!("the tower refused an appointment: {e}")))?;
            tower_bytes.push(watchtower.stored_bytes(&ch.id));
        }
    }
    let newest = ch.link.sides[0].current().state.clone();
    let alice_before = s.l1_balance(Role::Alice.address()).await?.0;
    let mallory_before = s.l1_balance(Role::Mallory.address()).await?.0;
    let spammer = congest.then(|| spam(s, params));
    if congest {
        let limit = params.block_gas_limit * 9 / 10;
        let t0 = s.now();
        loop {
            let head = s.l1.finalized_block(s.height()).await;
            if head.is_some_and(|b| b.header().gas_used >= limit) {
                break;
            }
            if s.now() - t0 > Duration::from_secs(60) {
                return Err(s.fail("the spam never filled a block"));
            }
            s.idle(Duration::from_millis(100)).await?;
        }
    }
    let base_before = s.l1.next_base_fee();
    // Alice goes offline; Mallory posts the state she revoked.
    let start = s.now();
    let fees = if congest {
        Fees::Bidding
    } else {
        Fees::Default
    };
    let close_op = ChannelOp::Close(Box::new(old.clone()));
    let close = bid(s, params, Role::Mallory, close_op, fees, u64::MAX).await?;
    let Some(close) = close.filter(|l| l.success) else {
        return Err(s.fail("Mallory's close did not take effect"));
    };
    let closing = closing(s, &ch.id).await?;
    let mut challenge = None;
    if let Watch::Tower(fees) = watch
        && let Some(op) = watchtower.respond(&ch.id, &closing)
    {
        challenge = bid(s, params, Role::Operator, op, fees, closing.deadline)
            .await?
            .filter(|l| l.success && l.height < closing.deadline);
    }
    s.wait_l1(closing.deadline).await?;
    if let Some(h) = spammer {
        h.abort();
    }
    let mut full = 0;
    for h in close.height..closing.deadline {
        if let Some(b) = s.l1.finalized_block(h).await {
            full += u64::from(b.header().gas_used >= params.block_gas_limit * 9 / 10);
        }
    }
    let base_at = match challenge {
        Some(c) => {
            s.l1.finalized_block(c.height)
                .await
                .map_or(0, |b| b.header().base_fee)
        }
        None => 0,
    };
    // Anyone settles once the window has passed.
    let settle = ChannelOp::Settle { channel: ch.id };
    if bid(s, params, Role::Operator, settle, Fees::Bidding, u64::MAX)
        .await?
        .is_none_or(|l| !l.success)
    {
        return Err(s.fail("the settlement did not take effect"));
    }
    let resolution = s.now() - start;
    let alice_paid = s.l1_balance(Role::Alice.address()).await?.0 - alice_before;
    let mallory_paid = s.l1_balance(Role::Mallory.address()).await?.0 + close.fee - mallory_before;
    s.check_l1().await?;
    Ok(Theft {
        due: newest.balance_a.0,
        revoked: old.state.balance_a.0,
        version: newest.version,
        closed_at: close.height,
        deadline: closing.deadline,
        challenge,
        alice_paid,
        mallory_paid,
        tower_bytes,
        base_fees: (base_before, base_at),
        full_blocks: (full, closing.deadline - close.height),
        resolution,
    })
}

impl Theft {
    fn happened(&self) -> String {
        let challenge = match self.challenge {
            Some(c) => format!(
                "Alice's tower challenged with Mallory's revocation at height {}, {} blocks before the deadline; ",
                c.height,
                self.deadline.saturating_sub(c.height)
            ),
            None => "nobody challenged in time; ".into(),
        };
        let tower = match (self.tower_bytes.first(), self.tower_bytes.last()) {
            (Some(first), Some(last)) => format!(
                "; the tower stored {first} bytes for the channel after the first payment, {last} after the last"
            ),
            _ => String::new(),
        };
        format!(
            "Mallory paid Alice {PAYMENTS} × 1 TER (version {}, Alice owed {}), then with Alice offline closed with version 0 (Alice {}) at height {} (deadline {}); {challenge}settlement paid Alice {}, Mallory {}{tower}",
            self.version,
            ter(self.due),
            ter(self.revoked),
            self.closed_at,
            self.deadline,
            ter(self.alice_paid),
            ter(self.mallory_paid),
        )
    }

    fn lost(&self) -> u128 {
        self.due.saturating_sub(self.alice_paid)
    }

    /// The tower scenarios' promises.
    fn judge_tower(&self, o: &mut Outcome) {
        o.expect(
            self.challenge.is_some_and(|c| c.height < self.deadline),
            "the tower's challenge lands within the window",
        );
        o.expect(
            self.mallory_paid == 0,
            "the cheater forfeits its whole balance",
        );
        o.expect(
            self.alice_paid == 2 * DEPOSIT,
            "the victim receives the whole channel and loses nothing",
        );
    }

    fn outcome(&self, happened: String) -> Outcome {
        Outcome {
            happened,
            funds_lost: self.lost(),
            resolution: self.resolution,
            resolution_span: "revoked close → settled",
            ..Outcome::default()
        }
    }
}

fn revoked_close(seed: u64, watch: Watch) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let params = ChainParams::default();
        let name = "chan-revoked-close-tower";
        let mut s = Stage::start(name, context, 4, params.clone(), Vec::new()).await?;
        let t = theft(&mut s, &params, watch, false).await?;
        let mut o = t.outcome(t.happened());
        t.judge_tower(&mut o);
        o.expect(
            t.tower_bytes.windows(2).all(|w| w[0] == w[1]),
            "the tower's storage per channel does not grow with payments",
        );
        Ok(o)
    })
}

/// Mallory closes with a revoked state while Alice is offline; Alice's
/// tower challenges.
pub fn revoked_close_tower(seed: u64) -> Result<Outcome, LabError> {
    revoked_close(seed, Watch::Tower(Fees::Default))
}

/// The same with no tower, judged by the tower scenario's promises: the
/// judge must say BROKEN.
fn revoked_close_tower_sabotaged(seed: u64) -> Result<Outcome, LabError> {
    revoked_close(seed, Watch::Nobody)
}

/// Mallory closes with a revoked state; Alice stays offline past the
/// window and has no tower.
pub fn revoked_close_no_tower(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let params = ChainParams::default();
        let name = "chan-revoked-close-no-tower";
        let mut s = Stage::start(name, context, 4, params.clone(), Vec::new()).await?;
        let t = theft(&mut s, &params, Watch::Nobody, false).await?;
        let mut o = t.outcome(t.happened());
        o.expect(
            t.challenge.is_none() && t.alice_paid == t.revoked,
            "unchallenged, the revoked state settles as posted",
        );
        o.expect(
            t.lost() == t.due - t.revoked && t.lost() > 0,
            "the victim loses what the revoked state moved back to the cheater",
        );
        Ok(o)
    })
}

fn challenge_under_congestion(seed: u64, fees: Fees) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let params = congested_params();
        let name = "chan-challenge-under-congestion";
        let mut s = Stage::start(name, context, 4, params.clone(), Vec::new()).await?;
        let t = theft(&mut s, &params, Watch::Tower(fees), true).await?;
        let gwei = |w: u64| w as f64 / 1e9;
        let paid = match t.challenge {
            Some(c) => format!(
                "its challenge took {} bid{} and paid {:.6} TER ({:.1}× the same {} gas at the base fee before the spike)",
                c.bids,
                if c.bids == 1 { "" } else { "s" },
                c.fee as f64 / TER as f64,
                c.fee as f64 / (u128::from(c.gas) * u128::from(t.base_fees.0.max(1))) as f64,
                c.gas,
            ),
            None => "its challenge never landed".into(),
        };
        let happened = format!(
            "a spammer tipping {:.0} gwei kept {} of the window's {} blocks ≥ 90% full and the base fee rose from {:.2} gwei{}; the tower {} — {paid}. {}",
            gwei(SPAM_TIP),
            t.full_blocks.0,
            t.full_blocks.1,
            gwei(t.base_fees.0),
            if t.base_fees.1 > 0 {
                format!(" to {:.2} gwei at the challenge", gwei(t.base_fees.1))
            } else {
                String::new()
            },
            match fees {
                Fees::Bidding =>
                    "re-bid each block a quarter above the lowest tip the last block took",
                Fees::Default => "sent once at the client's default fee",
            },
            t.happened(),
        );
        let mut o = t.outcome(happened);
        o.expect(
            t.full_blocks.0 * 2 > t.full_blocks.1,
            "L1 was congested through the window (most blocks ≥ 90% full)",
        );
        t.judge_tower(&mut o);
        Ok(o)
    })
}

/// Mallory cheats while L1 blocks are full; Alice's tower outbids the
/// spam.
pub fn challenge_congested(seed: u64) -> Result<Outcome, LabError> {
    challenge_under_congestion(seed, Fees::Bidding)
}

/// The same with a tower that sends at the default fee and never
/// re-bids: the judge must say BROKEN.
fn challenge_congested_sabotaged(seed: u64) -> Result<Outcome, LabError> {
    challenge_under_congestion(seed, Fees::Default)
}

// ---- a preimage revealed only on L1 -----------------------------------

/// The preimage of `hash` if a transaction of block `height` reveals it
/// (a registration or a claim carrying it).
async fn revealed(s: &Stage, params: &ChainParams, height: u64, hash: &Hash) -> Option<[u8; 32]> {
    let block = s.l1.finalized_block(height).await?;
    block.l1().transactions.iter().find_map(|bytes| {
        let tx = SignedTransaction::decode_bounded(bytes, params).ok()?;
        match tx.tx.payload {
            Payload::Channels(ChannelOp::RegisterPreimage { preimage })
            | Payload::Channels(ChannelOp::ClaimHtlc {
                preimage: Some(preimage),
                ..
            }) if payment_hash(&preimage) == *hash => Some(preimage),
            _ => None,
        }
    })
}

fn onchain_preimage(seed: u64, watch: bool) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let params = ChainParams::default();
        let name = "htlc-onchain-preimage";
        let mut s = Stage::start(name, context, 4, params.clone(), Vec::new()).await?;
        let mut ab = open(&mut s, Role::Alice, Role::Bob, 1).await?;
        let mut bm = open(&mut s, Role::Bob, Role::Mallory, 2).await?;
        let bob_before = s.l1_balance(Role::Bob.address()).await?.0;
        let secret = [0xC0; 32];
        let hash = payment_hash(&secret);
        let start_height = s.height();
        let (up_expiry, down_expiry) = (start_height + 200, start_height + 120);
        // Alice pays Mallory through Bob: amount + fee to Bob, who
        // forwards the amount with an expiry 80 blocks earlier.
        let up = offer(&s, &mut ab.link, Side::A, AMOUNT + FEE, hash, up_expiry)?;
        let received =
            ab.link.take_events(Side::B).into_iter().any(
                |e| matches!(e, Event::Received(h, _) if h.id == up && h.payment_hash == hash),
            );
        if !received {
            return Err(s.fail("Bob never received Alice's HTLC"));
        }
        let down = offer(&s, &mut bm.link, Side::A, AMOUNT, hash, down_expiry)?;
        // Mallory never fulfills off-chain: she closes with the newest
        // state, lets it settle, and reveals the preimage only in an L1
        // claim ten blocks before the downstream expiry.
        let newest = bm.link.sides[1].current().clone();
        op(&mut s, Role::Mallory, ChannelOp::Close(Box::new(newest))).await?;
        let deadline = closing(&s, &bm.id).await?.deadline;
        s.wait_l1(deadline).await?;
        op(&mut s, Role::Operator, ChannelOp::Settle { channel: bm.id }).await?;
        s.wait_l1(down_expiry - 10).await?;
        let reveal_start = s.now();
        let claim = ChannelOp::ClaimHtlc {
            channel: bm.id,
            htlc: down,
            preimage: Some(secret),
        };
        let at = s
            .send_located(Role::Mallory, Payload::Channels(claim))
            .await?;
        if let Some(f) = at.receipt.failure {
            return Err(s.fail(format!("Mallory's claim was refused: {f}")));
        }
        let claimed_at = at.height;
        // Bob's L1 watcher reads every finalized block since he forwarded.
        let mut upstream = None;
        if watch {
            let mut found = None;
            for h in start_height..=s.height() {
                if let Some(p) = revealed(&s, &params, h, &hash).await {
                    found = Some((h, p));
                    break;
                }
            }
            let Some((seen_at, preimage)) = found else {
                return Err(s.fail("Bob's watcher found no preimage on L1"));
            };
            let m = ab
                .link
                .side(Side::B)
                .fulfill_htlc(up, preimage)
                .map_err(|e| s.fail(format!("Bob's upstream fulfill: {e}")))?;
            ab.link.send(Side::B, m);
            quiesce(&s, &mut ab.link)?;
            upstream = Some((seen_at, s.height()));
        } else {
            // Blind to L1, Bob sees the downstream HTLC expire unfulfilled
            // and gives Alice's back.
            s.wait_l1(down_expiry + 1).await?;
            let m = ab
                .link
                .side(Side::B)
                .fail_htlc(up, DOWNSTREAM_EXPIRED)
                .map_err(|e| s.fail(format!("Bob's upstream fail: {e}")))?;
            ab.link.send(Side::B, m);
            quiesce(&s, &mut ab.link)?;
        }
        let resolution = s.now() - reveal_start;
        let bob_l1 = s.l1_balance(Role::Bob.address()).await?.0 - bob_before;
        let state = &ab.link.sides[1].current().state;
        let (alice_ab, bob_ab) = (state.balance_a.0, state.balance_b.0);
        let bob_net = (bob_ab + bob_l1) as i128 - (2 * DEPOSIT) as i128;
        let alice_spent = DEPOSIT - alice_ab;
        let proof = ab.link.take_events(Side::A).into_iter().any(
            |e| matches!(e, Event::Fulfilled { id, preimage } if id == up && preimage == secret),
        );
        let alice_lost = if proof {
            alice_spent.saturating_sub(AMOUNT + FEE)
        } else {
            alice_spent
        };
        let bob_lost = u128::try_from(-bob_net).unwrap_or(0);
        let mallory_record = record(&s, &bm.id).await?;
        s.check_l1().await?;
        let bob_did = match upstream {
            Some((seen, fulfilled)) => format!(
                "Bob's watcher read it in block {seen} and he fulfilled Alice's HTLC off-chain at height {fulfilled}, {} blocks before its expiry {up_expiry}",
                up_expiry.saturating_sub(fulfilled)
            ),
            None => format!(
                "Bob did not watch L1 and failed Alice's HTLC after the downstream expiry {down_expiry}"
            ),
        };
        let mut o = Outcome {
            happened: format!(
                "Alice paid {} through Bob ({} fee) with expiries {up_expiry} upstream, {down_expiry} downstream; Mallory closed her channel with Bob and revealed the preimage only in an L1 claim at height {claimed_at}; {bob_did}; Bob's net {}{} TER, Alice spent {} with{} proof of payment; Mallory's channel is {}",
                ter(AMOUNT),
                ter(FEE),
                if bob_net < 0 { "−" } else { "+" },
                bob_net.unsigned_abs() as f64 / TER as f64,
                ter(alice_spent),
                if proof { "" } else { "out" },
                match mallory_record.status {
                    Status::Closed { .. } => "closed",
                    _ => "not closed",
                },
            ),
            funds_lost: alice_lost + bob_lost,
            resolution,
            resolution_span: "preimage on L1 → upstream HTLC resolved",
            ..Outcome::default()
        };
        o.expect(
            upstream.is_some_and(|(_, h)| h <= up_expiry),
            "the intermediary claims upstream before its expiry",
        );
        o.expect(bob_lost == 0 && alice_lost == 0, "nobody honest loses");
        Ok(o)
    })
}

/// Mallory, the payee two hops away, reveals the preimage only on L1.
pub fn htlc_onchain_preimage(seed: u64) -> Result<Outcome, LabError> {
    onchain_preimage(seed, true)
}

/// The same with Bob blind to L1: the judge must say BROKEN.
fn htlc_onchain_preimage_sabotaged(seed: u64) -> Result<Outcome, LabError> {
    onchain_preimage(seed, false)
}

// ---- a silent peer ----------------------------------------------------

/// Bob goes silent with Alice's HTLC locked in the channel.
pub fn unresponsive_peer(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let name = "chan-unresponsive-peer";
        let mut s = Stage::start(name, context, 4, ChainParams::default(), Vec::new()).await?;
        let mut ab = open(&mut s, Role::Alice, Role::Bob, 3).await?;
        // Past the close's deadline (≈ 50 blocks from here), so the HTLC
        // outlives the settlement and needs its own timeout.
        let expiry = s.height() + 160;
        let hash = payment_hash(&[0xB0; 32]);
        let id = offer(&s, &mut ab.link, Side::A, 2 * TER, hash, expiry)?;
        // Bob holds the HTLC and answers nothing more. Alice waits 10 s,
        // then closes with the newest state, the HTLC in it.
        let silent = s.now();
        s.idle(Duration::from_secs(10)).await?;
        let alice_before = s.l1_balance(Role::Alice.address()).await?.0;
        let bob_before = s.l1_balance(Role::Bob.address()).await?.0;
        let newest = ab.link.sides[0].current().clone();
        let mut fees = op(&mut s, Role::Alice, ChannelOp::Close(Box::new(newest))).await?;
        let close = closing(&s, &ab.id).await?;
        s.wait_l1(close.deadline).await?;
        fees += op(&mut s, Role::Alice, ChannelOp::Settle { channel: ab.id }).await?;
        let pending = match record(&s, &ab.id).await?.status {
            Status::Settled { pending, .. } => pending.len(),
            _ => 0,
        };
        s.wait_l1(expiry).await?;
        fees += op(
            &mut s,
            Role::Alice,
            ChannelOp::TimeoutHtlc {
                channel: ab.id,
                htlc: id,
            },
        )
        .await?;
        let back = s.now();
        let alice_paid = s.l1_balance(Role::Alice.address()).await?.0 + fees - alice_before;
        let bob_paid = s.l1_balance(Role::Bob.address()).await?.0 - bob_before;
        let closed = matches!(record(&s, &ab.id).await?.status, Status::Closed { .. });
        s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "Bob went silent holding Alice's 2 TER HTLC (expiry {expiry}); 10 s later Alice closed with the newest state at deadline {}; settlement paid the balances and left {pending} HTLC pending; after its expiry Alice's timeout refunded it: Alice got {} back (paying {} in fees for the close, settlement and timeout), Bob {}; the channel is {}",
                close.deadline,
                ter(alice_paid),
                ter(fees),
                ter(bob_paid),
                if closed { "closed" } else { "NOT closed" },
            ),
            funds_lost: DEPOSIT.saturating_sub(alice_paid) + DEPOSIT.saturating_sub(bob_paid),
            resolution: back - silent,
            resolution_span: "peer silent → every coin back on L1",
            ..Outcome::default()
        };
        o.expect(
            alice_paid == DEPOSIT,
            "Alice gets her balance and the HTLC back after the window and the expiry",
        );
        o.expect(bob_paid == DEPOSIT, "the silent peer keeps its own balance");
        o.expect(closed, "nothing is left in escrow");
        Ok(o)
    })
}

// ---- jamming -----------------------------------------------------------

/// HTLC slots per side of every channel of the jamming scenario.
const SLOTS: u16 = 30;
/// Each jamming HTLC: 1 µTER.
const JAM: u128 = TER / 1_000_000;
/// Honest payments tried while jammed, and again after.
const TRIES: u32 = 10;

/// Fails `id` from `side` of `link` (its receiver) and commits both.
fn give_back(s: &Stage, link: &mut Link, side: Side, id: u64, reason: u16) -> Result<(), LabError> {
    let m = link
        .side(side)
        .fail_htlc(id, reason)
        .map_err(|e| s.fail(format!("fail: {e}")))?;
    link.send(side, m);
    quiesce(s, link)
}

/// An honest payment from Alice to Carol through Bob: `true` if it went
/// through, `false` if Bob could not forward it and failed it back.
fn honest_payment(
    s: &Stage,
    ab: &mut Link,
    bc: &mut Link,
    n: u32,
    expiry: u64,
) -> Result<bool, LabError> {
    let mut secret = [0xA0; 32];
    secret[..4].copy_from_slice(&n.to_le_bytes());
    let hash = payment_hash(&secret);
    let up = offer(s, ab, Side::A, TER / 10, hash, expiry)?;
    match bc
        .side(Side::A)
        .add_htlc(Amount(TER / 10), hash, expiry - 20, Bytes::new())
    {
        Ok((down, m)) => {
            bc.send(Side::A, m);
            quiesce(s, bc)?;
            for (link, id) in [(bc, down), (ab, up)] {
                let m = link
                    .side(Side::B)
                    .fulfill_htlc(id, secret)
                    .map_err(|e| s.fail(format!("fulfill: {e}")))?;
                link.send(Side::B, m);
                quiesce(s, link)?;
            }
            Ok(true)
        }
        Err(terrace_channels::ChannelError::TooManyHtlcs(_)) => {
            give_back(s, ab, Side::B, up, TEMPORARY_CHANNEL_FAILURE)?;
            Ok(false)
        }
        Err(e) => Err(s.fail(format!("Bob's forward: {e}"))),
    }
}

/// A routing failure code: the outgoing channel cannot take the HTLC.
const TEMPORARY_CHANNEL_FAILURE: u16 = 0x1007;

/// Mallory fills the Bob → Carol channel's slots with 1 µTER HTLCs routed
/// to herself (Mallory → Bob → Carol → Mallory) and holds them until just
/// before they expire.
pub fn jamming(seed: u64) -> Result<Outcome, LabError> {
    play(seed, |context| async move {
        let name = "chan-jamming";
        let mut s = Stage::start(name, context, 4, ChainParams::default(), Vec::new()).await?;
        let mut ab = open(&mut s, Role::Alice, Role::Bob, 10).await?;
        let mut bc = open(&mut s, Role::Bob, Role::Carol, 11).await?;
        let mut mb = open(&mut s, Role::Mallory, Role::Bob, 12).await?;
        let mut cm = open(&mut s, Role::Carol, Role::Mallory, 13).await?;
        let h = s.height();
        let (m_expiry, b_expiry, c_expiry) = (h + 100, h + 80, h + 60);
        let start = s.now();
        let mut held = Vec::new();
        for i in 0..SLOTS {
            let hash = payment_hash(&[0x50; 32].map(|b: u8| b ^ i as u8));
            let on_mb = offer(&s, &mut mb.link, Side::A, JAM, hash, m_expiry)?;
            let on_bc = offer(&s, &mut bc.link, Side::A, JAM, hash, b_expiry)?;
            let on_cm = offer(&s, &mut cm.link, Side::A, JAM, hash, c_expiry)?;
            held.push((on_mb, on_bc, on_cm));
        }
        let jammed_at = s.now();
        let mut failed_jammed = 0;
        for n in 0..TRIES {
            if !honest_payment(&s, &mut ab.link, &mut bc.link, n, h + 1_000)? {
                failed_jammed += 1;
            }
        }
        // Mallory releases five blocks before her first expiry: nobody
        // can force a close on her, and failed HTLCs pay no fee.
        s.wait_l1(c_expiry - 5).await?;
        for &(on_mb, on_bc, on_cm) in &held {
            give_back(&s, &mut cm.link, Side::B, on_cm, TEMPORARY_CHANNEL_FAILURE)?;
            give_back(&s, &mut bc.link, Side::B, on_bc, TEMPORARY_CHANNEL_FAILURE)?;
            give_back(&s, &mut mb.link, Side::B, on_mb, TEMPORARY_CHANNEL_FAILURE)?;
        }
        let released = s.now();
        let mut failed_after = 0;
        for n in TRIES..2 * TRIES {
            if !honest_payment(&s, &mut ab.link, &mut bc.link, n, h + 1_000)? {
                failed_after += 1;
            }
        }
        let held_s = (released - jammed_at).as_secs_f64();
        let mallory_whole = mb.link.sides[0].current().state.balance_a.0 == DEPOSIT
            && cm.link.sides[1].current().state.balance_b.0 == DEPOSIT;
        let bob_idle = DEPOSIT as f64 / TER as f64;
        let attacker = (SLOTS as u128 * JAM * 3) as f64 / TER as f64;
        s.check_l1().await?;
        let mut o = Outcome {
            happened: format!(
                "Mallory filled all {SLOTS} of Bob's HTLC slots towards Carol with 1 µTER HTLCs routed back to herself and held them {held_s:.1} s (virtual); {failed_jammed} of {TRIES} honest 0.1 TER payments Alice → Bob → Carol failed while jammed, {failed_after} of {TRIES} after the release; the attacker locked {attacker:.6} TER over 3 hops ({:.6} TER·s) to idle Bob's {bob_idle:.0} TER towards Carol ({:.1} TER·s), paid no fee and got {} back",
                attacker * held_s,
                bob_idle * held_s,
                if mallory_whole {
                    "every coin"
                } else {
                    "NOT every coin"
                },
            ),
            resolution: released - start,
            resolution_span: "jam starts → slots free",
            ..Outcome::default()
        };
        o.expect(
            failed_jammed == TRIES,
            "while jammed every honest payment over the channel fails",
        );
        o.expect(
            failed_after == 0,
            "once released, honest payments go through",
        );
        o.expect(
            mallory_whole,
            "jamming costs the attacker no fee and no coin",
        );
        Ok(o)
    })
}

/// The channels' scenarios, in catalog order.
pub fn catalog() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "chan-revoked-close-tower",
            design: "channels",
            attack: "a peer pays 5 × 1 TER, then closes with the state before them (revoked) while its counterparty is offline",
            promise: "the counterparty's tower challenges within the window with the cheater's own revocation: the cheater forfeits its whole balance, the victim loses nothing; the tower's storage does not grow with payments",
            seed: 61,
            play: revoked_close_tower,
            sabotage: Some(revoked_close_tower_sabotaged),
        },
        Scenario {
            name: "chan-revoked-close-no-tower",
            design: "channels",
            attack: "the same revoked close, with the victim offline past the window and no tower",
            promise: "none against it: liveness within the window is required, so the revoked state settles and the victim loses what it moved (the loss is measured)",
            seed: 62,
            play: revoked_close_no_tower,
            sabotage: None,
        },
        Scenario {
            name: "htlc-onchain-preimage",
            design: "channels",
            attack: "the payee two hops away never fulfills off-chain: it closes and reveals the preimage only in an L1 claim, late",
            promise: "the intermediary reads the preimage from L1 and claims upstream before its own expiry; nobody honest loses",
            seed: 63,
            play: htlc_onchain_preimage,
            sabotage: Some(htlc_onchain_preimage_sabotaged),
        },
        Scenario {
            name: "chan-unresponsive-peer",
            design: "channels",
            attack: "a peer goes silent mid-payment, holding an HTLC",
            promise: "a unilateral close returns every balance after the window and the HTLC to its offerer after its expiry; nothing stays in escrow",
            seed: 64,
            play: unresponsive_peer,
            sabotage: None,
        },
        Scenario {
            name: "chan-jamming",
            design: "channels",
            attack: "an attacker fills a routing channel's HTLC slots with tiny payments to itself and holds them to just before expiry",
            promise: "none against it (BOLT 2's slot limit, no up-front fee): honest payments over the channel fail while it is jammed and go through once released; the attacker pays nothing, and nobody loses funds — the lab measures the capital × time each side locks",
            seed: 65,
            play: jamming,
            sabotage: None,
        },
        Scenario {
            name: "chan-challenge-under-congestion",
            design: "channels",
            attack: "the revoked close timed for a fee spike: a spammer keeps L1 blocks full through the window, and the cheater outbids it for its own close",
            promise: "a tower that re-bids each block above the last block's lowest tip lands its challenge within the window: the cheater forfeits, the victim loses nothing; the lab reports the fee it took",
            seed: 66,
            play: challenge_congested,
            sabotage: Some(challenge_congested_sabotaged),
        },
    ]
}
