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

/// Maps `f(offset, chunk)` over contiguous chunks of `items` (each at
/// least `min_chunk` long) on up to `threads` threads, and returns the
/// results in chunk order. Chunks are handed out one at a time, so a thread
/// slowed by other work does not hold everyone up. With one chunk it runs on
/// the caller's thread.
pub fn map_chunks<'a, T, R, F>(items: &'a [T], threads: Threads, min_chunk: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(usize, &'a [T]) -> R + Sync,
{
    map_chunks_beside(items, threads, min_chunk, f, || ()).1
}

/// As [`map_chunks`], while the caller's thread first runs `side` (a
/// sequential job) and then helps with the remaining chunks: `threads`
/// workers start on the chunks at once.
pub fn map_chunks_beside<'a, T, R, F, A, S>(
    items: &'a [T],
    threads: Threads,
    min_chunk: usize,
    f: F,
    side: S,
) -> (A, Vec<R>)
where
    T: Sync,
    R: Send,
    F: Fn(usize, &'a [T]) -> R + Sync,
    S: FnOnce() -> A,
{
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };
    // About four chunks per thread: small enough to balance, large enough
    // that per-chunk work (a batch equation) stays efficient.
    let chunk_len = items
        .len()
        .div_ceil(threads.get() * 4)
        .max(min_chunk)
        .max(1);
    let chunks: Vec<(usize, &'a [T])> = items
        .chunks(chunk_len)
        .enumerate()
        .map(|(i, c)| (i * chunk_len, c))
        .collect();
    if chunks.len() <= 1 {
        let side_result = side();
        let out = match chunks.first() {
            Some(&(offset, chunk)) => vec![f(offset, chunk)],
            None => vec![f(0, items)],
        };
        return (side_result, out);
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = chunks.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&(offset, chunk)) = chunks.get(i) else {
                break;
            };
            let r = f(offset, chunk);
            if let Ok(mut slot) = slots[i].lock() {
                *slot = Some(r);
            }
        }
    };
    let side_result = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.get()).map(|_| scope.spawn(work)).collect();
        let side_result = side();
        work();
        for w in workers {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
        side_result
    });
    let out = slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| unreachable!("every chunk is mapped before the scope ends"))
        })
        .collect();
    (side_result, out)
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
            let offsets: Vec<usize> = sums.iter().map(|s| s.0).collect();
            let mut sorted = offsets.clone();
            sorted.sort_unstable();
            assert_eq!(offsets, sorted, "results come back in chunk order");
        }
        assert_eq!(
            map_chunks(&[] as &[u8], Threads::new(4), 1, |_, c| c.len()),
            vec![0]
        );
    }

    #[test]
    fn the_side_job_runs_once_beside_the_chunks() {
        let items: Vec<u64> = (0..10_000).collect();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let (side, sums) = map_chunks_beside(
            &items,
            Threads::new(2),
            100,
            |_, c| c.iter().sum::<u64>(),
            || {
                runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                "side done"
            },
        );
        assert_eq!(side, "side done");
        assert_eq!(runs.into_inner(), 1);
        assert_eq!(sums.iter().sum::<u64>(), 49_995_000);
        assert!(sums.len() > 2, "work is split into several chunks");
    }
}
