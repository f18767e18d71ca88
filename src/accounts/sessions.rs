//! Logging in and server-side sessions. The cookie holds a random session
//! id; the database keeps its digest, the agent, when it was created and
//! last used, and its absolute expiry. A session ends at logout, at "log
//! out everywhere", when its agent is disabled or resets their password,
//! after `--session-idle` without use, or at `--session-max-age` in all.

use std::net::IpAddr;

use super::cache::Cached;
use super::names::Email;
use super::passwords;
use super::secret::{digest, Secret};
use super::{agent_at, millis, now_ms, off_thread, store_err, Accounts, Authenticated, Credential};
use crate::domain::{Agent, AgentId};
use crate::error::AppError;
use crate::metrics::Refusal;
use crate::store::sql::{params, SqlConn, SqlError};

impl Accounts {
    /// Email and password to a new session. Unknown email, wrong password
    /// and disabled agent get the same answer in the same time; over the
    /// attempt limits, 429 before any password is checked.
    pub async fn login(
        &self,
        email: &str,
        password: String,
        ip: IpAddr,
    ) -> Result<(Agent, Secret), AppError> {
        let key = email.trim().to_lowercase();
        if let Err(refused) = self.attempts.check(&key, ip) {
            self.store.metrics().refused(Refusal::LoginAttempt);
            return Err(refused);
        }
        let found = match Email::parse(email) {
            Ok(email) => self
                .store
                .read_sql(move |conn| credentials_of(conn, email.as_str()))
                .await
                .map_err(store_err)?,
            Err(_) => None,
        };
        let (agent, hash) = match found {
            Some((agent, hash)) => (Some(agent), hash),
            None => (None, None),
        };
        let matches = off_thread(move || passwords::verify(hash.as_deref(), &password)).await?;
        match agent.filter(|_| matches) {
            Some(agent) => {
                self.attempts.succeeded(&key);
                let session = self.start_session(agent.id).await?;
                Ok((agent, session))
            }
            None => {
                self.attempts.failed(&key, ip);
                log::warn!("failed agent login from {ip}");
                Err(AppError::BadCredentials)
            }
        }
    }

    /// A new session of `agent`; expired sessions are swept meanwhile.
    pub async fn start_session(&self, agent: AgentId) -> Result<Secret, AppError> {
        let secret = Secret::generate();
        let hash = secret.digest();
        let now = now_ms();
        let expires = now + millis(self.policy.absolute);
        let idle_since = now - millis(self.policy.idle);
        self.store
            .write_sql(move |conn| {
                conn.execute(
                    "DELETE FROM sessions WHERE expires_at <= ?1 OR last_used_at <= ?2",
                    params![now, idle_since],
                )?;
                conn.execute(
                    "INSERT INTO sessions (hash, agent_id, created_at, last_used_at, expires_at)
                     VALUES (?1, ?2, ?3, ?3, ?4)",
                    params![&hash[..], agent.0, now, expires],
                )?;
                conn.execute(
                    "UPDATE agents SET last_seen_at = ?2 WHERE id = ?1",
                    params![agent.0, now],
                )
            })
            .await
            .map_err(store_err)?;
        Ok(secret)
    }

    /// The agent of a session cookie, if it is a live session of an
    /// enabled agent.
    pub async fn authenticate_session(
        &self,
        cookie: &str,
    ) -> Result<Option<Authenticated>, AppError> {
        let hash = digest(cookie);
        let load = self.store.read_sql(move |conn| session_of(conn, &hash));
        self.recall(hash, load).await
    }

    /// Ends the session of `cookie` and closes the sockets it opened.
    pub async fn logout(&self, cookie: &str) -> Result<(), AppError> {
        let hash = digest(cookie);
        self.cache.forget(&hash);
        let ended = self
            .store
            .write_sql(move |conn| {
                conn.query_opt(
                    "DELETE FROM sessions WHERE hash = ?1 RETURNING id, agent_id",
                    params![&hash[..]],
                    |r| Ok((r.get::<i64>(0)?, AgentId(r.get(1)?))),
                )
            })
            .await
            .map_err(store_err)?;
        if let Some((id, agent)) = ended {
            self.revocations
                .revoke(agent, |c| c == Credential::Session(id));
        }
        Ok(())
    }

    /// Ends every session of `agent` and closes the sockets they opened
    /// (API tokens stay).
    pub async fn logout_everywhere(&self, agent: AgentId) -> Result<(), AppError> {
        self.end_sessions(agent, None).await
    }

    /// Ends the sessions of `agent` except `keep`.
    pub(super) async fn end_sessions(
        &self,
        agent: AgentId,
        keep: Option<i64>,
    ) -> Result<(), AppError> {
        self.store
            .write_sql(move |conn| {
                conn.execute(
                    "DELETE FROM sessions WHERE agent_id = ?1 AND id IS DISTINCT FROM ?2",
                    params![agent.0, keep],
                )
            })
            .await
            .map_err(store_err)?;
        self.cache.forget_agent(agent);
        self.revocations.revoke(
            agent,
            |c| matches!(c, Credential::Session(id) if Some(id) != keep),
        );
        Ok(())
    }
}

/// The agent of an email and their password hash, if enabled.
fn credentials_of(
    conn: &dyn SqlConn,
    email: &str,
) -> Result<Option<(Agent, Option<String>)>, SqlError> {
    conn.query_opt(
        "SELECT id, name, role, password_hash FROM agents WHERE email = ?1 AND disabled = 0",
        params![email],
        |r| Ok((agent_at(r, 0)?, r.get(3)?)),
    )
}

fn session_of(conn: &dyn SqlConn, hash: &[u8]) -> Result<Option<Cached>, SqlError> {
    conn.query_opt(
        "SELECT s.id, s.last_used_at, s.expires_at, a.id, a.name, a.role
         FROM sessions s JOIN agents a ON a.id = s.agent_id
         WHERE s.hash = ?1 AND a.disabled = 0",
        params![hash],
        |r| {
            Ok(Cached {
                who: Authenticated {
                    agent: agent_at(r, 3)?,
                    credential: Credential::Session(r.get(0)?),
                },
                last_used: r.get(1)?,
                expires_at: Some(r.get(2)?),
            })
        },
    )
}
