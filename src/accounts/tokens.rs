//! Per-agent API tokens: `Authorization: Bearer <token>` acts as the agent
//! who made it. Shown once when created, kept as a digest, named, with the
//! time of its last use; deleting one closes the sockets it opened. The
//! tokens of a disabled agent are refused until the agent is enabled again.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::cache::Cached;
use super::names::DisplayName;
use super::secret::{digest, Secret};
use super::{agent_at, now_ms, store_err, Accounts, Authenticated, Credential};
use crate::domain::{Agent, AgentId};
use crate::error::AppError;
use crate::store::sql::{params, SqlConn, SqlError};

/// A token as its owner sees it later: never the token itself.
#[derive(Clone, Debug, Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub created: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
}

impl Accounts {
    /// A new token of `agent`: its id and the token, the only time it is
    /// shown.
    pub async fn create_token(
        &self,
        agent: &Agent,
        name: DisplayName,
    ) -> Result<(i64, Secret), AppError> {
        if agent.id == AgentId::SERVICE {
            return Err(AppError::Forbidden(
                "the service token cannot make tokens: log in as an agent".into(),
            ));
        }
        let secret = Secret::generate();
        let hash = secret.digest();
        let owner = agent.id;
        let id = self
            .store
            .write_sql(move |conn| {
                conn.query_row(
                    "INSERT INTO api_tokens (hash, agent_id, name, created_at)
                     VALUES (?1, ?2, ?3, ?4) RETURNING id",
                    params![&hash[..], owner.0, name.as_str(), now_ms()],
                    |r| r.get(0),
                )
            })
            .await
            .map_err(store_err)?;
        Ok((id, secret))
    }

    pub async fn tokens_of(&self, agent: AgentId) -> Result<Vec<TokenInfo>, AppError> {
        self.store
            .read_sql(move |conn| {
                conn.query_map(
                    "SELECT id, name, created_at, last_used_at FROM api_tokens
                     WHERE agent_id = ?1 ORDER BY id",
                    params![agent.0],
                    |r| {
                        let time =
                            |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
                        Ok(TokenInfo {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            created: time(r.get(2)?),
                            last_used: r.get::<Option<i64>>(3)?.map(time),
                        })
                    },
                )
            })
            .await
            .map_err(store_err)
    }

    /// Deletes token `id` of `agent` (404 if it is not theirs) and closes
    /// the sockets it opened.
    pub async fn delete_token(&self, agent: AgentId, id: i64) -> Result<(), AppError> {
        let deleted = self
            .store
            .write_sql(move |conn| {
                conn.execute(
                    "DELETE FROM api_tokens WHERE id = ?1 AND agent_id = ?2",
                    params![id, agent.0],
                )
            })
            .await
            .map_err(store_err)?;
        if deleted == 0 {
            return Err(AppError::NotFound);
        }
        self.cache.forget_agent(agent);
        self.revocations
            .revoke(agent, |c| c == Credential::Token(id));
        Ok(())
    }

    /// The agent of an API token, if it exists and its agent is enabled.
    pub async fn authenticate_token(&self, token: &str) -> Result<Option<Authenticated>, AppError> {
        let hash = digest(token);
        let load = self.store.read_sql(move |conn| token_of(conn, &hash));
        self.recall(hash, load).await
    }
}

fn token_of(conn: &dyn SqlConn, hash: &[u8]) -> Result<Option<Cached>, SqlError> {
    conn.query_opt(
        "SELECT t.id, t.last_used_at, a.id, a.name, a.role
         FROM api_tokens t JOIN agents a ON a.id = t.agent_id
         WHERE t.hash = ?1 AND a.disabled = 0",
        params![hash],
        |r| {
            Ok(Cached {
                who: Authenticated {
                    agent: agent_at(r, 2)?,
                    credential: Credential::Token(r.get(0)?),
                },
                // Never used yet: the first use is written at once.
                last_used: r.get::<Option<i64>>(1)?.unwrap_or(0),
                expires_at: None,
            })
        },
    )
}
