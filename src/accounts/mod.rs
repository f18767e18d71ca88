//! Agent accounts: who may act as an agent, and how they prove it.
//!
//! Agents are rows of the store's database (schema 4); each file here is
//! one concern: `names` and `passwords` validate what people type,
//! `agents` the team (roles, the last admin, disabling), `sessions` login
//! and server-side sessions, `tokens` per-agent API tokens, `invites`
//! invite links and the first start's setup code, `attempts` login attempt
//! limits, `cache` the recently seen credentials, `revocation` the open
//! sockets to close when a credential ends, `assignees` who may be given a
//! conversation. Secrets are only ever stored
//! as digests (`secret`).

mod agents;
mod assignees;
mod attempts;
mod cache;
mod invites;
mod names;
mod passwords;
mod revocation;
mod secret;
mod sessions;
mod tokens;

use std::future::Future;
use std::time::Duration;

use crate::domain::{Agent, AgentId, AgentRole};
use crate::error::AppError;
use crate::store::sql::{params, Row, SqlConn, SqlError};
use crate::store::{Store, StoreError};
use cache::{Cached, CredentialCache};
use secret::SecretDigest;

pub use agents::AgentChange;
pub use assignees::{assignee, capacities, set_capacity, MAX_CAPACITY};
pub use invites::NewAgent;
pub use names::{DisplayName, Email};
pub use passwords::{Password, MIN_PASSWORD_CHARS};
pub use revocation::{Revocations, Revoked};
pub use secret::Secret;

/// A credential's last use is written at most this often (it is shown to
/// people and drives the idle expiry, neither of which needs seconds)...
pub const LAST_USE_GRANULARITY: Duration = Duration::from_secs(60);
/// ...or, under a short `--session-idle`, at this fraction of it, so that a
/// session in use never reaches its idle expiry between two writes.
const IDLE_FRACTION_BETWEEN_WRITES: u32 = 4;

/// What proved a request or socket is an agent's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credential {
    /// The `--agent-token` service token.
    Service,
    /// A login session, by its row id.
    Session(i64),
    /// A per-agent API token, by its row id.
    Token(i64),
}

/// An agent and the credential it came with.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub agent: Agent,
    pub credential: Credential,
}

/// How long sessions last: since their last use, and at most in all.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

pub struct Accounts {
    store: Store,
    policy: SessionPolicy,
    cache: CredentialCache,
    attempts: attempts::LoginAttempts,
    revocations: Revocations,
}

impl Accounts {
    pub fn new(store: Store, policy: SessionPolicy) -> Accounts {
        Accounts {
            store,
            policy,
            cache: CredentialCache::default(),
            attempts: attempts::LoginAttempts::default(),
            revocations: Revocations::default(),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// Where agent sockets are watched, to be closed when revoked.
    pub fn revocations(&self) -> &Revocations {
        &self.revocations
    }

    /// The credential behind `digest`, from the cache or else `load`ed;
    /// `None` once expired. Its last use (and its agent's last seen) is
    /// written at most once per [`LAST_USE_GRANULARITY`].
    async fn recall(
        &self,
        digest: SecretDigest,
        load: impl Future<Output = Result<Option<Cached>, StoreError>>,
    ) -> Result<Option<Authenticated>, AppError> {
        let now = now_ms();
        let mut cached = match self.cache.get(&digest) {
            Some(cached) => cached,
            None => match load.await.map_err(store_err)? {
                Some(cached) => cached,
                None => return Ok(None),
            },
        };
        let idle_since = now - millis(self.policy.idle);
        let expired = cached.expires_at.is_some_and(|at| at <= now)
            || (matches!(cached.who.credential, Credential::Session(_))
                && cached.last_used <= idle_since);
        if expired {
            self.cache.forget(&digest);
            return Ok(None);
        }
        let between_writes =
            LAST_USE_GRANULARITY.min(self.policy.idle / IDLE_FRACTION_BETWEEN_WRITES);
        if now - cached.last_used >= millis(between_writes) {
            let (credential, agent) = (cached.who.credential, cached.who.agent.id);
            self.store
                .write_sql(move |conn| touch(conn, credential, agent, now))
                .await
                .map_err(store_err)?;
            cached.last_used = now;
        }
        let who = cached.who.clone();
        self.cache.put(digest, cached);
        Ok(Some(who))
    }
}

/// Writes the last use of a credential and its agent's last seen.
fn touch(
    conn: &dyn SqlConn,
    credential: Credential,
    agent: AgentId,
    now: i64,
) -> Result<(), SqlError> {
    let (sql, id) = match credential {
        Credential::Session(id) => ("UPDATE sessions SET last_used_at = ?2 WHERE id = ?1", id),
        Credential::Token(id) => ("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1", id),
        Credential::Service => return Ok(()),
    };
    conn.execute(sql, params![id, now])?;
    conn.execute(
        "UPDATE agents SET last_seen_at = ?2 WHERE id = ?1",
        params![agent.0, now],
    )?;
    Ok(())
}

/// An agent from the columns `id, name, role` starting at `at`.
fn agent_at(row: &Row, at: usize) -> Result<Agent, SqlError> {
    let role: String = row.get(at + 2)?;
    Ok(Agent {
        id: AgentId(row.get(at)?),
        name: row.get(at + 1)?,
        role: AgentRole::parse(&role).unwrap_or(AgentRole::Agent),
    })
}

fn store_err(e: StoreError) -> AppError {
    log::error!("account store: {e}");
    AppError::StoreUnavailable
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Runs CPU-heavy work (password hashing) on the blocking pool.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    actix_rt::task::spawn_blocking(f)
        .await
        .map_err(|_| AppError::ShuttingDown)
}
