//! Block time, enforced in front of the application rather than inside
//! it.
//!
//! A leader must not propose before parent time + block time. Waiting
//! inside the application's `propose` would hold glue's processor, which
//! runs no finalization while a proposal is being built: the next leader
//! would learn that the parent finalized only when its own wait ended (a
//! whole block time late), and its finalize vote would be late too. So the
//! wait happens here, in a wrapper around the consensus automaton, before
//! the request reaches glue. The application still refuses to stamp a
//! block earlier than parent time + block time.

use crate::{app::now_ms, chain::Chain};
use commonware_consensus::{Automaton, CertifiableAutomaton, Handoff, simplex, types::Round};
use commonware_runtime::{Clock, Spawner};
use commonware_utils::channel::oneshot;
use std::{sync::Arc, time::Duration};
use terrace_primitives::{Hash, PublicKey};

/// The consensus automaton `A`, with proposals held until parent time +
/// block time.
pub struct Paced<E, A> {
    context: Arc<E>,
    chain: Arc<Chain>,
    inner: A,
}

impl<E, A> Paced<E, A> {
    /// Wraps `inner`.
    pub fn new(context: E, chain: Arc<Chain>, inner: A) -> Self {
        Self {
            context: Arc::new(context),
            chain,
            inner,
        }
    }
}

impl<E, A: Clone> Clone for Paced<E, A> {
    fn clone(&self) -> Self {
        Self {
            context: self.context.clone(),
            chain: self.chain.clone(),
            inner: self.inner.clone(),
        }
    }
}

impl<E, A> std::fmt::Debug for Paced<E, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Paced")
    }
}

type Context = simplex::types::Context<Hash, PublicKey>;

impl<E, A> Paced<E, A>
where
    E: Spawner + Clock,
    A: Send + 'static,
{
    /// Answers at once with a receiver; after the wait, asks `inner` via
    /// `ask` and forwards its answer. Stops early if consensus drops the
    /// receiver.
    fn after_wait<T, F, Fut>(&self, parent: Hash, ask: F) -> oneshot::Receiver<T>
    where
        T: Send + 'static,
        F: FnOnce(A) -> Fut + Send + 'static,
        Fut: Future<Output = oneshot::Receiver<T>> + Send,
        A: Clone,
    {
        let (mut tx, rx) = oneshot::channel();
        let wait = self.chain.block_timestamp(&parent).and_then(|ts| {
            let earliest = ts.saturating_add(self.chain.params.block_time_ms);
            earliest
                .checked_sub(now_ms(self.context.as_ref()))
                .filter(|ms| *ms > 0)
        });
        let inner = self.inner.clone();
        self.context
            .child("paced")
            .spawn(move |context| async move {
                if let Some(ms) = wait {
                    tokio::select! {
                        biased;
                        _ = context.sleep(Duration::from_millis(ms)) => {}
                        _ = tx.closed() => return,
                    }
                }
                let answer = ask(inner).await;
                tokio::select! {
                    biased;
                    result = answer => {
                        if let Ok(value) = result {
                            let _ = tx.send(value);
                        }
                    }
                    _ = tx.closed() => {}
                }
            });
        rx
    }
}

impl<E, A> Automaton for Paced<E, A>
where
    E: Spawner + Clock + Send + Sync + 'static,
    A: Automaton<Context = Context, Digest = Hash> + Sync,
{
    type Context = Context;
    type Digest = Hash;

    #[allow(clippy::async_yields_async)]
    async fn propose(&mut self, context: Context) -> oneshot::Receiver<Hash> {
        let parent = context.parent.1;
        // The closure's future yields the inner receiver, awaited later.
        #[allow(clippy::async_yields_async)]
        self.after_wait(parent, move |mut inner| async move {
            inner.propose(context).await
        })
    }

    async fn verify(&mut self, context: Context, payload: Hash) -> oneshot::Receiver<bool> {
        self.inner.verify(context, payload).await
    }
}

impl<E, A> CertifiableAutomaton for Paced<E, A>
where
    E: Spawner + Clock + Send + Sync + 'static,
    A: CertifiableAutomaton<Context = Context, Digest = Hash> + Sync,
{
    #[allow(clippy::async_yields_async)]
    async fn prepare(&mut self, context: Context) -> oneshot::Receiver<Handoff<Hash>> {
        let parent = context.parent.1;
        #[allow(clippy::async_yields_async)]
        self.after_wait(parent, move |mut inner| async move {
            inner.prepare(context).await
        })
    }

    async fn certify(&mut self, round: Round, payload: Hash) -> oneshot::Receiver<bool> {
        self.inner.certify(round, payload).await
    }
}
