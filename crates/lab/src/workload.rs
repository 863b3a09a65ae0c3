//! Workloads: named, seeded transaction streams. A workload is a list of
//! abstract operations (who pays whom how much); each design encodes them
//! in its own transaction format, so every design runs the very same
//! stream, checked by [`digest`].

use serde::Serialize;
use terrace_primitives::{Hash, PrivateKey, hash_tagged, keys::private_key_from_seed};

/// SplitMix64: a small, fast, seedable generator (Steele, Lea, Flood).
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Samples ranks 0..n with P(k) ∝ 1 / (k+1)^s.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// Over `n` ranks (at least one) with exponent `s`.
    pub fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n.max(1));
        let mut total = 0.0;
        for k in 0..n.max(1) {
            total += 1.0 / ((k + 1) as f64).powf(s);
            cdf.push(total);
        }
        for c in &mut cdf {
            *c /= total;
        }
        Self { cdf }
    }

    /// One rank.
    pub fn sample(&self, rng: &mut SplitMix) -> usize {
        let u = rng.unit();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// The key of benchmark account `i` (the same on L1 and L2).
pub fn account_key(i: usize) -> PrivateKey {
    private_key_from_seed(hash_tagged(b"terrace/bench/account", &[&(i as u64).to_le_bytes()]).0)
}

/// One payment: account `from` pays `to` an `amount` (aTER).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// Payer (account index).
    pub from: u32,
    /// Payee (account index, never the payer).
    pub to: u32,
    /// Amount in aTER.
    pub amount: u64,
}

/// The `payments` workload: transfers among `accounts` accounts, senders
/// and receivers each Zipf-distributed (rank = account index), amounts
/// uniform in 1..=1,000 nTER.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Payments {
    /// Accounts (at least 2).
    pub accounts: u32,
    /// Zipf exponent of senders and receivers (0: uniform).
    pub zipf_exponent: f64,
    /// Seed.
    pub seed: u64,
}

impl Payments {
    /// The first `n` transfers of the stream.
    pub fn take(&self, n: usize) -> Vec<Transfer> {
        let accounts = self.accounts.max(2) as usize;
        let zipf = Zipf::new(accounts, self.zipf_exponent);
        let mut rng = SplitMix(self.seed);
        (0..n)
            .map(|_| {
                let from = zipf.sample(&mut rng);
                let mut to = zipf.sample(&mut rng);
                if to == from {
                    to = (to + 1) % accounts;
                }
                let nano = 1 + rng.next_u64() % 1_000;
                Transfer {
                    from: from as u32,
                    to: to as u32,
                    amount: nano * 1_000_000_000,
                }
            })
            .collect()
    }
}

/// Each transfer's nonce: its sender's count of transfers before it in
/// the stream.
pub fn nonces(transfers: &[Transfer]) -> Vec<u64> {
    let mut next = std::collections::HashMap::<u32, u64>::new();
    transfers
        .iter()
        .map(|t| {
            let n = next.entry(t.from).or_default();
            *n += 1;
            *n - 1
        })
        .collect()
}

/// A hash of the stream, the same for every design that ran it.
pub fn digest(transfers: &[Transfer]) -> Hash {
    let mut bytes = Vec::with_capacity(transfers.len() * 16);
    for t in transfers {
        bytes.extend_from_slice(&t.from.to_le_bytes());
        bytes.extend_from_slice(&t.to.to_le_bytes());
        bytes.extend_from_slice(&t.amount.to_le_bytes());
    }
    hash_tagged(b"terrace/lab/workload", &[&bytes])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_prefers_low_ranks() {
        let z = Zipf::new(1000, 1.0);
        let mut rng = SplitMix(7);
        let mut low = 0;
        for _ in 0..10_000 {
            if z.sample(&mut rng) < 10 {
                low += 1;
            }
        }
        // P(rank < 10) = H(10)/H(1000) ≈ 0.39.
        assert!((3_500..4_300).contains(&low), "{low}");
    }

    #[test]
    fn the_stream_is_seeded_and_never_self_pays() {
        let w = Payments {
            accounts: 50,
            zipf_exponent: 1.0,
            seed: 3,
        };
        let a = w.take(2_000);
        assert_eq!(digest(&a), digest(&w.take(2_000)));
        assert_eq!(&w.take(100)[..], &a[..100], "a prefix is a prefix");
        assert_ne!(digest(&a), digest(&Payments { seed: 4, ..w }.take(2_000)));
        assert!(
            a.iter()
                .all(|t| t.from != t.to && t.to < 50 && t.amount > 0)
        );
    }
}
