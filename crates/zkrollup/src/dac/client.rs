//! How the operator and full nodes reach a committee's members: in the
//! same process ([`LocalCommittee`]: tests and the lab's deterministic
//! simulation, where a member can crash, restart or collude) or over
//! JSON-RPC ([`HttpCommittee`]: the devnet and real deployments).

use super::{
    member::{DacError, Member, MemberView, StoreRequest, Stored},
    rpc::{DacApiClient as _, StoreParams, commitment_param, parse_signature},
};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::{
    future::Future,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use terrace_l1::modules::validity::{DAC_NAMESPACE, Felt, MemberSignature, attestation_message};
use terrace_primitives::{PrivateKey, keys};

/// A committee as its clients see it: members by index.
pub trait Committee: Clone + Send + Sync + 'static {
    /// How many members there are.
    fn members(&self) -> usize;
    /// Offers batch data to member `member`; its signature, or why not.
    fn store(
        &self,
        member: u8,
        req: StoreRequest,
    ) -> impl Future<Output = Result<MemberSignature, DacError>> + Send;
    /// Asks member `member` for the data of batch `index` with
    /// `commitment`.
    fn get(
        &self,
        member: u8,
        index: u64,
        commitment: Felt,
    ) -> impl Future<Output = Result<Option<Stored>, DacError>> + Send;
}

/// How an in-process member behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conduct {
    /// Checks, stores, signs and serves.
    #[default]
    Honest,
    /// Colludes with the operator: signs whatever commitment it is asked
    /// to, stores nothing and serves nothing.
    Withhold,
}

struct Slot {
    key: PrivateKey,
    view: MemberView,
    dir: PathBuf,
    /// `None` while crashed.
    member: Option<Member>,
    conduct: Conduct,
}

/// Members running in this process, each with its own store directory.
#[derive(Clone)]
pub struct LocalCommittee {
    slots: Arc<Vec<Mutex<Slot>>>,
}

impl std::fmt::Debug for LocalCommittee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCommittee")
            .field("members", &self.slots.len())
            .finish()
    }
}

impl LocalCommittee {
    /// Opens members with `keys` and views, storing under `dirs`.
    pub fn open(members: Vec<(PrivateKey, MemberView, PathBuf)>) -> Result<Self, DacError> {
        let slots = members
            .into_iter()
            .map(|(key, view, dir)| {
                let member = Member::open(&dir, key.clone(), view.clone())?;
                Ok(Mutex::new(Slot {
                    key,
                    view,
                    dir,
                    member: Some(member),
                    conduct: Conduct::Honest,
                }))
            })
            .collect::<Result<Vec<_>, DacError>>()?;
        Ok(Self {
            slots: Arc::new(slots),
        })
    }

    fn slot(&self, member: u8) -> Result<MutexGuard<'_, Slot>, DacError> {
        let slot = self
            .slots
            .get(usize::from(member))
            .ok_or(DacError::Unavailable {
                member,
                reason: "no such member".into(),
            })?;
        Ok(slot.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Crashes member `member`: it answers nothing until restarted (its
    /// directory stays as the crash left it).
    pub fn crash(&self, member: u8) -> Result<(), DacError> {
        self.slot(member)?.member = None;
        Ok(())
    }

    /// Restarts member `member` from its directory.
    pub fn restart(&self, member: u8) -> Result<(), DacError> {
        let mut slot = self.slot(member)?;
        let reopened = Member::open(&slot.dir, slot.key.clone(), slot.view.clone())?;
        slot.member = Some(reopened);
        Ok(())
    }

    /// Sets how member `member` behaves from now on.
    pub fn set_conduct(&self, member: u8, conduct: Conduct) -> Result<(), DacError> {
        self.slot(member)?.conduct = conduct;
        Ok(())
    }

    /// Runs `f` over member `member` if it is up.
    pub fn with_member<T>(&self, member: u8, f: impl FnOnce(&Member) -> T) -> Option<T> {
        self.slot(member).ok()?.member.as_ref().map(f)
    }
}

fn down(member: u8) -> DacError {
    DacError::Unavailable {
        member,
        reason: "crashed".into(),
    }
}

impl Committee for LocalCommittee {
    fn members(&self) -> usize {
        self.slots.len()
    }

    async fn store(&self, member: u8, req: StoreRequest) -> Result<MemberSignature, DacError> {
        let mut slot = self.slot(member)?;
        let conduct = slot.conduct;
        let view = slot.view.clone();
        let key = slot.key.clone();
        let m = slot.member.as_mut().ok_or_else(|| down(member))?;
        match conduct {
            Conduct::Honest => m.store(&req),
            Conduct::Withhold => Ok(MemberSignature {
                member: view.member,
                signature: keys::sign(
                    &key,
                    DAC_NAMESPACE,
                    &attestation_message(&view.domain, req.index, &req.commitment),
                ),
            }),
        }
    }

    async fn get(
        &self,
        member: u8,
        index: u64,
        commitment: Felt,
    ) -> Result<Option<Stored>, DacError> {
        let slot = self.slot(member)?;
        let m = slot.member.as_ref().ok_or_else(|| down(member))?;
        Ok(match slot.conduct {
            Conduct::Honest => m.get(index, &commitment),
            Conduct::Withhold => None,
        })
    }
}

/// Members reached over their `dac_*` JSON-RPC, by URL in member order.
#[derive(Clone)]
pub struct HttpCommittee {
    clients: Arc<Vec<HttpClient>>,
}

impl std::fmt::Debug for HttpCommittee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpCommittee")
            .field("members", &self.clients.len())
            .finish()
    }
}

impl HttpCommittee {
    /// Clients of the members at `urls` (index order), each request
    /// bounded by `timeout`.
    pub fn new(urls: &[String], timeout: Duration) -> Result<Self, DacError> {
        let clients = urls
            .iter()
            .map(|url| {
                HttpClientBuilder::default()
                    .request_timeout(timeout)
                    .max_response_size(super::rpc::MAX_RESPONSE_BYTES)
                    .build(url)
                    .map_err(|e| DacError::Malformed(format!("member URL {url}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            clients: Arc::new(clients),
        })
    }

    fn client(&self, member: u8) -> Result<&HttpClient, DacError> {
        self.clients
            .get(usize::from(member))
            .ok_or(DacError::Unavailable {
                member,
                reason: "no such member".into(),
            })
    }
}

fn unavailable(member: u8) -> impl Fn(jsonrpsee::core::client::Error) -> DacError {
    move |e| DacError::Unavailable {
        member,
        reason: e.to_string(),
    }
}

impl Committee for HttpCommittee {
    fn members(&self) -> usize {
        self.clients.len()
    }

    async fn store(&self, member: u8, req: StoreRequest) -> Result<MemberSignature, DacError> {
        let answer = self
            .client(member)?
            .store(StoreParams::new(&req))
            .await
            .map_err(unavailable(member))?;
        parse_signature(&answer)
    }

    async fn get(
        &self,
        member: u8,
        index: u64,
        commitment: Felt,
    ) -> Result<Option<Stored>, DacError> {
        let answer = self
            .client(member)?
            .get_batch(index, commitment_param(&commitment))
            .await
            .map_err(unavailable(member))?;
        answer.map(|a| a.parse()).transpose()
    }
}

/// Either kind of committee, so a node's configuration names one without
/// a type parameter.
#[derive(Debug, Clone)]
pub enum AnyCommittee {
    /// Members in this process.
    Local(LocalCommittee),
    /// Members over JSON-RPC.
    Http(HttpCommittee),
}

impl Committee for AnyCommittee {
    fn members(&self) -> usize {
        match self {
            AnyCommittee::Local(c) => c.members(),
            AnyCommittee::Http(c) => c.members(),
        }
    }

    async fn store(&self, member: u8, req: StoreRequest) -> Result<MemberSignature, DacError> {
        match self {
            AnyCommittee::Local(c) => c.store(member, req).await,
            AnyCommittee::Http(c) => c.store(member, req).await,
        }
    }

    async fn get(
        &self,
        member: u8,
        index: u64,
        commitment: Felt,
    ) -> Result<Option<Stored>, DacError> {
        match self {
            AnyCommittee::Local(c) => c.get(member, index, commitment).await,
            AnyCommittee::Http(c) => c.get(member, index, commitment).await,
        }
    }
}
