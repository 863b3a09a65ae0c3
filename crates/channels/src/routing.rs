//! The channel graph and source routing.
//!
//! Channels enter the graph from L1's open records (capacity, the two
//! keys) and leave it when they close; each side announces how it forwards
//! over a channel in a signed [`ChannelUpdate`] (fees, expiry delta, HTLC
//! limits), the newest by timestamp winning. A payer finds a path with
//! Dijkstra run from the payee back to itself — amounts and expiries grow
//! hop by hop toward the payer, as each hop adds its fee and its delta —
//! at the least fee plus a price on the time funds stay locked.

use bytes::{BufMut, Bytes};
use commonware_codec::{
    Buf, Encode as _, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt as _, Write,
    varint::UInt,
};
use std::{
    cmp::Reverse,
    collections::{BTreeSet, BinaryHeap, HashMap, HashSet},
};
use terrace_primitives::{
    Amount, Hash, PrivateKey, PublicKey, Signature, codec::DecodeError, keys,
};

/// Namespace of channel updates' signatures.
pub const UPDATE_NAMESPACE: &[u8] = b"terrace/chan/update";
/// Most hops a route may take.
pub const HOPS_MAX: usize = 20;

/// How a node forwards over one of its channels, signed by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelUpdate {
    /// The channel.
    pub channel: Hash,
    /// The forwarding node (one of the channel's two keys).
    pub node: PublicKey,
    /// Fee per forwarded HTLC.
    pub fee_base: Amount,
    /// Fee in millionths of the forwarded amount.
    pub fee_ppm: u32,
    /// Blocks the node needs between its incoming and outgoing expiry.
    pub expiry_delta: u64,
    /// Smallest HTLC it forwards.
    pub htlc_min: Amount,
    /// Largest.
    pub htlc_max: Amount,
    /// Newer replaces older.
    pub timestamp: u64,
}

impl ChannelUpdate {
    /// Signs the update with the forwarding node's key.
    pub fn sign(self, key: &PrivateKey) -> SignedUpdate {
        let signature = keys::sign(key, UPDATE_NAMESPACE, &self.encode());
        SignedUpdate {
            update: self,
            signature,
        }
    }

    /// The fee to forward `amount` over this channel.
    pub fn fee(&self, amount: Amount) -> Option<Amount> {
        let ppm = amount.0.checked_mul(u128::from(self.fee_ppm))? / 1_000_000;
        self.fee_base.checked_add(Amount(ppm))
    }
}

/// An update with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpdate {
    /// The update.
    pub update: ChannelUpdate,
    /// The forwarding node's signature.
    pub signature: Signature,
}

/// Why the graph refused an update or found no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The update names a channel the graph does not have (not open on
    /// L1, or closed).
    #[error("unknown channel {0}")]
    UnknownChannel(Hash),
    /// The update's node is not one of the channel's two keys.
    #[error("the update's node is not a side of the channel")]
    NotAParty,
    /// The signature does not verify.
    #[error("the update's signature does not verify")]
    InvalidSignature,
    /// An update as new or newer is known.
    #[error("a newer update is known")]
    Stale,
    /// No path carries the amount.
    #[error("no route to the payee for {amount} (try a smaller amount, or open a channel to it)")]
    NoRoute {
        /// The amount asked.
        amount: Amount,
    },
    /// A path exists only past the hop or expiry limits.
    #[error("every route is too long: over {hops} hops or {expiry} blocks of expiry")]
    TooLong {
        /// Hop limit.
        hops: usize,
        /// Expiry limit.
        expiry: u64,
    },
}

/// One channel in the graph.
#[derive(Debug, Clone)]
struct Edge {
    a: PublicKey,
    b: PublicKey,
    capacity: Amount,
    /// The newest update of A's side and of B's.
    updates: [Option<ChannelUpdate>; 2],
}

/// A hop of a route: the channel to send over, and what the HTLC on it
/// carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The channel.
    pub channel: Hash,
    /// The node at its far end.
    pub node: PublicKey,
    /// The HTLC's amount on this channel.
    pub amount: Amount,
    /// The HTLC's expiry on this channel.
    pub expiry: u64,
}

/// A path from the payer to the payee, first hop first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The hops.
    pub hops: Vec<Hop>,
}

impl Route {
    /// What the payer sends (the payee's amount plus every fee).
    pub fn amount(&self) -> Amount {
        self.hops.first().map_or(Amount::ZERO, |h| h.amount)
    }

    /// Fees paid to the hops in between.
    pub fn fees(&self) -> Amount {
        let last = self.hops.last().map_or(Amount::ZERO, |h| h.amount);
        self.amount().checked_sub(last).unwrap_or(Amount::ZERO)
    }
}

/// What a payer asks of the router.
#[derive(Debug, Clone)]
pub struct RouteRequest<'a> {
    /// The payer.
    pub from: &'a PublicKey,
    /// The payee.
    pub to: &'a PublicKey,
    /// What the payee must receive.
    pub amount: Amount,
    /// The L1 height now.
    pub height: u64,
    /// Blocks the payee needs before its HTLC expires.
    pub final_delta: u64,
    /// Most blocks the first HTLC may lock for.
    pub max_expiry_delta: u64,
    /// Channels to avoid (they failed this payment).
    pub avoid: &'a BTreeSet<Hash>,
    /// Fee-equivalent price of one block of lock-up per unit sent, in
    /// millionths (the α of "fee + α·delay").
    pub lock_price_ppm: u32,
}

/// The graph a node routes over.
#[derive(Debug, Default, Clone)]
pub struct Graph {
    edges: HashMap<Hash, Edge>,
}

fn side_index(edge: &Edge, node: &PublicKey) -> Option<usize> {
    if *node == edge.a {
        Some(0)
    } else if *node == edge.b {
        Some(1)
    } else {
        None
    }
}

impl Graph {
    /// Adds a channel opened on L1.
    pub fn add_channel(&mut self, id: Hash, a: PublicKey, b: PublicKey, capacity: Amount) {
        self.edges.entry(id).or_insert(Edge {
            a,
            b,
            capacity,
            updates: [None, None],
        });
    }

    /// Removes a channel closed on L1.
    pub fn remove_channel(&mut self, id: &Hash) {
        self.edges.remove(id);
    }

    /// Channels known.
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Takes a signed update if it is its node's newest for the channel.
    pub fn apply(&mut self, signed: &SignedUpdate) -> Result<(), RouteError> {
        let u = &signed.update;
        let edge = self
            .edges
            .get_mut(&u.channel)
            .ok_or(RouteError::UnknownChannel(u.channel))?;
        let i = side_index(edge, &u.node).ok_or(RouteError::NotAParty)?;
        if edge.updates[i]
            .as_ref()
            .is_some_and(|old| old.timestamp >= u.timestamp)
        {
            return Err(RouteError::Stale);
        }
        keys::verify(&u.node, UPDATE_NAMESPACE, &u.encode(), &signed.signature)
            .map_err(|_| RouteError::InvalidSignature)?;
        edge.updates[i] = Some(u.clone());
        Ok(())
    }

    /// The cheapest route for `req`: least fees plus the lock-up price,
    /// within [`HOPS_MAX`] hops and `max_expiry_delta` blocks.
    pub fn route(&self, req: &RouteRequest<'_>) -> Result<Route, RouteError> {
        // For each node, the channels over which a neighbour forwards to
        // it, with the neighbour's update (none: the payer's own side,
        // which charges itself nothing).
        type Inbound<'g> = (&'g Hash, &'g PublicKey, Option<&'g ChannelUpdate>, Amount);
        let mut into: HashMap<&PublicKey, Vec<Inbound<'_>>> = HashMap::new();
        for (id, e) in &self.edges {
            if req.avoid.contains(id) {
                continue;
            }
            for (i, (from, to)) in [(&e.a, &e.b), (&e.b, &e.a)].into_iter().enumerate() {
                let update = e.updates[i].as_ref();
                if update.is_none() && from != req.from {
                    continue;
                }
                into.entry(to)
                    .or_default()
                    .push((id, from, update, e.capacity));
            }
        }
        let no_route = RouteError::NoRoute { amount: req.amount };
        if req.from == req.to {
            return Err(no_route);
        }
        let payee_expiry = req
            .height
            .checked_add(req.final_delta)
            .ok_or(no_route.clone())?;
        let limit = req.height.saturating_add(req.max_expiry_delta);
        // Dijkstra from the payee. A node's label: what the HTLC arriving
        // at it must carry, its expiry, and the channel and node it
        // forwards to.
        let mut best: HashMap<&PublicKey, Label<'_>> = HashMap::new();
        let mut queue: BinaryHeap<Reverse<(u128, &PublicKey)>> = BinaryHeap::new();
        let mut done: HashSet<&PublicKey> = HashSet::new();
        best.insert(
            req.to,
            Label {
                cost: 0,
                amount: req.amount,
                expiry: payee_expiry,
                hops: 0,
                next: None,
            },
        );
        queue.push(Reverse((0, req.to)));
        let mut too_long = false;
        while let Some(Reverse((_, node))) = queue.pop() {
            if !done.insert(node) {
                continue;
            }
            if node == req.from {
                break;
            }
            let here = best[node].clone();
            for (id, from, update, capacity) in into.get(node).into_iter().flatten() {
                let (min, max) =
                    update.map_or((Amount(1), *capacity), |u| (u.htlc_min, u.htlc_max));
                if here.amount < min || here.amount > max || here.amount > *capacity {
                    continue;
                }
                // What reaches `from`: the payer sends the HTLC as is; a
                // hop must also receive its fee, with its delta on top.
                let (amount, expiry) = match update {
                    Some(u) if *from != req.from => {
                        let Some(amount) =
                            u.fee(here.amount).and_then(|f| here.amount.checked_add(f))
                        else {
                            continue;
                        };
                        (amount, here.expiry.saturating_add(u.expiry_delta))
                    }
                    _ => (here.amount, here.expiry),
                };
                if here.hops + 1 > HOPS_MAX || expiry > limit {
                    too_long = true;
                    continue;
                }
                let lock = amount
                    .0
                    .saturating_mul(u128::from(req.lock_price_ppm))
                    .saturating_mul(u128::from(expiry.saturating_sub(req.height)))
                    / 1_000_000;
                let cost = amount.0.saturating_sub(req.amount.0).saturating_add(lock);
                if done.contains(*from) || best.get(*from).is_some_and(|l| l.cost <= cost) {
                    continue;
                }
                best.insert(
                    from,
                    Label {
                        cost,
                        amount,
                        expiry,
                        hops: here.hops + 1,
                        next: Some((id, node)),
                    },
                );
                queue.push(Reverse((cost, *from)));
            }
        }
        let Some(start) = best.get(req.from) else {
            return Err(if too_long {
                RouteError::TooLong {
                    hops: HOPS_MAX,
                    expiry: req.max_expiry_delta,
                }
            } else {
                no_route
            });
        };
        // Forward from the payer: each hop's HTLC carries what its far
        // end's label says it must receive.
        let mut hops = Vec::new();
        let mut next = start.next;
        while let Some((channel, node)) = next {
            let label = &best[node];
            hops.push(Hop {
                channel: *channel,
                node: node.clone(),
                amount: label.amount,
                expiry: label.expiry,
            });
            next = label.next;
        }
        Ok(Route { hops })
    }
}

/// A node's place in the search.
#[derive(Debug, Clone)]
struct Label<'g> {
    cost: u128,
    amount: Amount,
    expiry: u64,
    hops: usize,
    next: Option<(&'g Hash, &'g PublicKey)>,
}

impl Write for ChannelUpdate {
    fn write(&self, buf: &mut impl BufMut) {
        self.channel.write(buf);
        self.node.write(buf);
        self.fee_base.write(buf);
        UInt(self.fee_ppm).write(buf);
        UInt(self.expiry_delta).write(buf);
        self.htlc_min.write(buf);
        self.htlc_max.write(buf);
        UInt(self.timestamp).write(buf);
    }
}

impl EncodeSize for ChannelUpdate {
    fn encode_size(&self) -> usize {
        self.channel.encode_size()
            + self.node.encode_size()
            + self.fee_base.encode_size()
            + UInt(self.fee_ppm).encode_size()
            + UInt(self.expiry_delta).encode_size()
            + self.htlc_min.encode_size()
            + self.htlc_max.encode_size()
            + UInt(self.timestamp).encode_size()
    }
}

impl Read for ChannelUpdate {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            channel: Hash::read(buf)?,
            node: PublicKey::read(buf)?,
            fee_base: Amount::read(buf)?,
            fee_ppm: UInt::<u32>::read(buf)?.0,
            expiry_delta: UInt::<u64>::read(buf)?.0,
            htlc_min: Amount::read(buf)?,
            htlc_max: Amount::read(buf)?,
            timestamp: UInt::<u64>::read(buf)?.0,
        })
    }
}

impl Write for SignedUpdate {
    fn write(&self, buf: &mut impl BufMut) {
        self.update.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for SignedUpdate {
    fn encode_size(&self) -> usize {
        self.update.encode_size() + self.signature.encode_size()
    }
}

impl Read for SignedUpdate {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            update: ChannelUpdate::read(buf)?,
            signature: Signature::read(buf)?,
        })
    }
}

/// What a route tells each hop: the channel to forward over, the amount
/// and expiry of the HTLC to offer there. The payee's own entry is last
/// (no channel: it settles). Plain, not an onion: every hop sees the
/// path (a Sphinx onion is BOLT 4's, and later work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The next channel, or `None` at the payee.
    pub channel: Option<Hash>,
    /// The HTLC's amount there (at the payee: what it must receive).
    pub amount: Amount,
    /// Its expiry there.
    pub expiry: u64,
}

/// The payload of a route's first HTLC: the instructions of every hop
/// after the payer, in order.
pub fn onion(route: &Route) -> Bytes {
    let mut list: Vec<Forward> = route
        .hops
        .windows(2)
        .map(|w| Forward {
            channel: Some(w[1].channel),
            amount: w[1].amount,
            expiry: w[1].expiry,
        })
        .collect();
    if let Some(last) = route.hops.last() {
        list.push(Forward {
            channel: None,
            amount: last.amount,
            expiry: last.expiry,
        });
    }
    Bytes::from(list.encode().to_vec())
}

/// The first instruction of an HTLC's payload and the payload for the
/// next hop.
pub fn peel(onion: &[u8]) -> Result<(Forward, Bytes), DecodeError> {
    let mut list: Vec<Forward> = terrace_primitives::codec::decode_bounded(
        onion,
        crate::wire::ONION_BYTES_MAX,
        &(RangeCfg::new(1..=HOPS_MAX), ()),
    )?;
    let first = list.remove(0);
    Ok((first, Bytes::from(list.encode().to_vec())))
}

impl Write for Forward {
    fn write(&self, buf: &mut impl BufMut) {
        self.channel.write(buf);
        self.amount.write(buf);
        UInt(self.expiry).write(buf);
    }
}

impl EncodeSize for Forward {
    fn encode_size(&self) -> usize {
        self.channel.encode_size() + self.amount.encode_size() + UInt(self.expiry).encode_size()
    }
}

impl Read for Forward {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            channel: Option::<Hash>::read(buf)?,
            amount: Amount::read(buf)?,
            expiry: UInt::<u64>::read(buf)?.0,
        })
    }
}
