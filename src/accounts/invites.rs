//! One-time links: the setup code of a server without agents, and invites.
//!
//! Setup: while no agent exists, every start issues a fresh setup code and
//! logs its link. Only digests are stored, so a code cannot be logged again
//! after a restart; instead the codes of earlier starts stay valid too,
//! until one of them is used, which uses them all. A printed link therefore
//! survives any number of restarts, and exactly one first admin is made.
//!
//! Invites: an admin adds an agent (or resets a password) and gets a link,
//! valid for [`INVITE_VALIDITY`], where the agent chooses a password. A new
//! invite replaces the agent's older ones; accepting one ends the agent's
//! other sessions (it is how a forgotten or leaked password is replaced).

use std::time::Duration;

use super::agents::{any_agent, insert_agent};
use super::names::{DisplayName, Email};
use super::passwords::{self, Password};
use super::secret::{digest, Secret};
use super::{agent_at, millis, now_ms, off_thread, store_err, Accounts};
use crate::domain::{Agent, AgentId, AgentRole};
use crate::error::AppError;
use crate::store::sql::{params, SqlConn, SqlError};
use crate::store::StoreError;

/// How long an invite link works.
pub const INVITE_VALIDITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// A new agent: their name, email and role.
pub struct NewAgent {
    pub name: DisplayName,
    pub email: Email,
    pub role: AgentRole,
}

fn bad_setup_code() -> AppError {
    AppError::Forbidden("this setup link is not valid or was already used".into())
}

fn bad_invite() -> AppError {
    AppError::Forbidden("this invite link is not valid, has expired or was already used".into())
}

impl Accounts {
    /// At start: a new setup code if no agent exists yet (see the module
    /// comment). Blocking; runs before the server accepts requests.
    pub fn issue_setup_code(&self) -> Result<Option<Secret>, StoreError> {
        let secret = Secret::generate();
        let hash = secret.digest();
        let issued = self.store.write_sql_now(|conn| {
            if any_agent(conn)? {
                return Ok(false);
            }
            conn.execute(
                "INSERT INTO setup_codes (hash, created_at) VALUES (?1, ?2)",
                params![&hash[..], now_ms()],
            )?;
            Ok(true)
        })?;
        Ok(issued.then_some(secret))
    }

    /// Whether `code` is an unused setup code (for the setup page).
    pub async fn setup_code_valid(&self, code: &str) -> Result<bool, AppError> {
        let hash = digest(code);
        self.store
            .read_sql(move |conn| setup_code_open(conn, &hash))
            .await
            .map_err(store_err)
    }

    /// The first admin, from a setup code, logged in. 403 if the code is
    /// wrong or used (by anyone, including a concurrent request).
    pub async fn complete_setup(
        &self,
        code: &str,
        admin: NewAgent,
        password: Password,
    ) -> Result<(Agent, Secret), AppError> {
        if !self.setup_code_valid(code).await? {
            return Err(bad_setup_code());
        }
        let hash = digest(code);
        let password_hash = off_thread(move || passwords::hash(&password)).await??;
        let made = self
            .store
            .write_sql(move |conn| {
                if !setup_code_open(conn, &hash)? || any_agent(conn)? {
                    return Ok(None);
                }
                conn.execute("UPDATE setup_codes SET used = 1", params![])?;
                let id = insert_agent(conn, &admin.name, admin.email.as_str(), AgentRole::Admin)?;
                if let Some(id) = id {
                    set_password(conn, id, &password_hash)?;
                }
                Ok(id.map(|id| Agent {
                    id,
                    name: admin.name.as_str().to_owned(),
                    role: AgentRole::Admin,
                }))
            })
            .await
            .map_err(store_err)?;
        let agent = made.ok_or_else(bad_setup_code)?;
        log::info!("first admin {} set up the server", agent.id.0);
        let session = self.start_session(agent.id).await?;
        Ok((agent, session))
    }

    /// Adds an agent without a password and returns their invite code.
    /// 409 if the email belongs to someone already.
    pub async fn add_agent(&self, new: NewAgent) -> Result<(AgentId, Secret), AppError> {
        let secret = Secret::generate();
        let hash = secret.digest();
        let expires = now_ms() + millis(INVITE_VALIDITY);
        let id = self
            .store
            .write_sql(move |conn| {
                let id = insert_agent(conn, &new.name, new.email.as_str(), new.role)?;
                if let Some(id) = id {
                    replace_invite(conn, id, &hash, expires)?;
                }
                Ok(id)
            })
            .await
            .map_err(store_err)?;
        let id = id.ok_or_else(|| AppError::Conflict("an agent has this email already".into()))?;
        Ok((id, secret))
    }

    /// A new invite for agent `id` (a password reset), replacing older ones.
    pub async fn reinvite(&self, id: AgentId) -> Result<Secret, AppError> {
        let secret = Secret::generate();
        let hash = secret.digest();
        let expires = now_ms() + millis(INVITE_VALIDITY);
        let found = self
            .store
            .write_sql(move |conn| {
                let exists: bool = conn.query_row(
                    "SELECT EXISTS (SELECT 1 FROM agents WHERE id = ?1 AND disabled = 0)",
                    params![id.0],
                    |r| r.get(0),
                )?;
                if exists {
                    replace_invite(conn, id, &hash, expires)?;
                }
                Ok(exists)
            })
            .await
            .map_err(store_err)?;
        if !found {
            return Err(AppError::NotFound);
        }
        Ok(secret)
    }

    /// The agent an open invite is for (for the invite page), or 403.
    pub async fn invited(&self, code: &str) -> Result<Agent, AppError> {
        let hash = digest(code);
        let now = now_ms();
        self.store
            .read_sql(move |conn| invitee(conn, &hash, now))
            .await
            .map_err(store_err)?
            .ok_or_else(bad_invite)
    }

    /// Sets the password (and the name, if given) of an invite's agent, who
    /// is then logged in with a new session; their other sessions end.
    pub async fn accept_invite(
        &self,
        code: &str,
        password: Password,
        name: Option<DisplayName>,
    ) -> Result<(Agent, Secret), AppError> {
        self.invited(code).await?;
        let hash = digest(code);
        let password_hash = off_thread(move || passwords::hash(&password)).await??;
        let now = now_ms();
        let accepted = self
            .store
            .write_sql(move |conn| {
                let Some(agent) = invitee(conn, &hash, now)? else {
                    return Ok(None);
                };
                conn.execute(
                    "UPDATE invites SET used = 1 WHERE hash = ?1",
                    params![&hash[..]],
                )?;
                set_password(conn, agent.id, &password_hash)?;
                if let Some(name) = &name {
                    conn.execute(
                        "UPDATE agents SET name = ?2 WHERE id = ?1",
                        params![agent.id.0, name.as_str()],
                    )?;
                }
                Ok(Some(Agent {
                    name: name.map_or(agent.name, |n| n.as_str().to_owned()),
                    ..agent
                }))
            })
            .await
            .map_err(store_err)?;
        let agent = accepted.ok_or_else(bad_invite)?;
        self.end_sessions(agent.id, None).await?;
        let session = self.start_session(agent.id).await?;
        Ok((agent, session))
    }
}

fn setup_code_open(conn: &dyn SqlConn, hash: &[u8]) -> Result<bool, SqlError> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM setup_codes WHERE hash = ?1 AND used = 0)",
        params![hash],
        |r| r.get(0),
    )
}

fn set_password(conn: &dyn SqlConn, id: AgentId, hash: &str) -> Result<(), SqlError> {
    conn.execute(
        "UPDATE agents SET password_hash = ?2 WHERE id = ?1",
        params![id.0, hash],
    )
    .map(drop)
}

fn replace_invite(
    conn: &dyn SqlConn,
    id: AgentId,
    hash: &[u8],
    expires: i64,
) -> Result<(), SqlError> {
    conn.execute("DELETE FROM invites WHERE agent_id = ?1", params![id.0])?;
    conn.execute(
        "INSERT INTO invites (hash, agent_id, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, id.0, expires],
    )
    .map(drop)
}

/// The enabled agent of an unused, unexpired invite.
fn invitee(conn: &dyn SqlConn, hash: &[u8], now: i64) -> Result<Option<Agent>, SqlError> {
    conn.query_opt(
        "SELECT a.id, a.name, a.role FROM invites i JOIN agents a ON a.id = i.agent_id
         WHERE i.hash = ?1 AND i.used = 0 AND i.expires_at > ?2 AND a.disabled = 0",
        params![hash, now],
        |r| agent_at(r, 0),
    )
}
