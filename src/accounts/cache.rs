//! The credentials of recent requests, so that a session cookie or API
//! token costs a database read only once in a while. Everything that ends a
//! credential or changes an agent goes through this server (one server per
//! data directory), and forgets the affected entries right away: a logout,
//! a disabled agent or a deleted token is refused on the very next request.
//! Entries also age out after [`CACHE_TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::secret::SecretDigest;
use super::Authenticated;
use crate::domain::AgentId;

/// How long a looked-up credential is trusted without reading it again.
/// Revocations do not wait for it (they forget entries at once); it bounds
/// how stale the remembered last-use time and agent name can get.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Most entries; when full it starts over (a burst of valid credentials
/// costs reads, never memory).
const MAX_ENTRIES: usize = 10_000;

/// A looked-up credential, valid until `expires_at` (unix ms, `None` for
/// API tokens), last used at `last_used` (unix ms, as stored).
#[derive(Clone, Debug)]
pub struct Cached {
    pub who: Authenticated,
    pub expires_at: Option<i64>,
    pub last_used: i64,
}

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<SecretDigest, (Cached, Instant)>>,
}

impl CredentialCache {
    pub fn get(&self, digest: &SecretDigest) -> Option<Cached> {
        let entries = self.lock();
        let (cached, at) = entries.get(digest)?;
        (at.elapsed() < CACHE_TTL).then(|| cached.clone())
    }

    pub fn put(&self, digest: SecretDigest, cached: Cached) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(digest, (cached, Instant::now()));
    }

    pub fn forget(&self, digest: &SecretDigest) {
        self.lock().remove(digest);
    }

    /// Forgets every credential of `agent` (disabled, renamed, new role,
    /// logged out everywhere, token deleted).
    pub fn forget_agent(&self, agent: AgentId) {
        self.lock().retain(|_, (c, _)| c.who.agent.id != agent);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SecretDigest, (Cached, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
