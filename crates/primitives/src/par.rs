//! Data parallelism for pure code: split a slice into contiguous chunks and
//! map them on scoped threads. Results come back in order, so the outcome
//! never depends on scheduling. Threads live only for the call.

use std::num::NonZeroUsize;

/// How many threads a data-parallel step may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threads(NonZeroUsize);

impl Threads {
    /// Exactly `n` threads (at least one).
    pub fn new(n: usize) -> Self {
        Self(NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN))
    }

    /// One thread: everything runs on the caller.
    pub const ONE: Self = Self(NonZeroUsize::MIN);

    /// As many threads as the machine has cores.
    pub fn available() -> Self {
        Self(std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN))
    }

    /// The count.
    pub fn get(self) -> usize {
        self.0.get()
    }
}

/// Maps `f(offset, chunk)` over at most `threads` contiguous chunks of
/// `items`, each at least `min_chunk` long, and returns the results in
/// order. With one chunk it runs on the caller's thread.
pub fn map_chunks<'a, T, R, F>(items: &'a [T], threads: Threads, min_chunk: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &'a [T]) -> R + Sync,
{
    let chunks = threads.get().min(items.len() / min_chunk.max(1)).max(1);
    if chunks == 1 {
        return vec![f(0, items)];
    }
    let size = items.len().div_ceil(chunks);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(size)
            .enumerate()
            .skip(1)
            .map(|(i, chunk)| scope.spawn(move || f(i * size, chunk)))
            .collect();
        // The caller works on the first chunk instead of waiting.
        let mut out = Vec::with_capacity(chunks);
        out.push(f(0, &items[..size.min(items.len())]));
        for h in handles {
            out.push(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_in_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..1000).collect();
        for t in [1, 2, 3, 8] {
            let sums = map_chunks(&items, Threads::new(t), 10, |off, c| {
                (off, c.iter().sum::<u64>())
            });
            assert_eq!(sums.iter().map(|s| s.1).sum::<u64>(), 499_500);
            let mut expected_off = 0;
            for (off, _) in &sums {
                assert_eq!(*off, expected_off);
                expected_off += items.len().div_ceil(sums.len());
            }
        }
        assert_eq!(
            map_chunks(&[] as &[u8], Threads::new(4), 1, |_, c| c.len()),
            vec![0]
        );
    }
}
