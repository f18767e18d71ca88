//! The team: listing agents, and changes to one (name, role, disabled).
//! The last enabled admin can be neither demoted nor disabled, decided in
//! the transaction of the change. Disabling ends the agent's sessions and
//! closes their sockets at once.

use crate::store::sql::{params, Row, SqlConn, SqlError};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::names::DisplayName;
use super::{agent_at, now_ms, store_err, Accounts};
use crate::domain::{Agent, AgentId, AgentRole};
use crate::error::AppError;

/// An agent as the team page and the API show them.
#[derive(Clone, Debug, Serialize)]
pub struct AgentRecord {
    pub id: AgentId,
    pub name: String,
    pub email: String,
    pub role: AgentRole,
    /// Set a password (accepted an invite or set the server up).
    pub active: bool,
    pub disabled: bool,
    pub created: DateTime<Utc>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Open conversations automatic assignment gives them at most.
    pub capacity: u32,
}

/// A change to an agent; absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct AgentChange {
    pub name: Option<DisplayName>,
    pub role: Option<AgentRole>,
    pub disabled: Option<bool>,
}

const RECORD_COLUMNS: &str =
    "id, name, role, email, password_hash IS NOT NULL, disabled, created_at, last_seen_at, capacity";

fn record(row: &Row) -> Result<AgentRecord, SqlError> {
    let agent = agent_at(row, 0)?;
    let time = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    Ok(AgentRecord {
        id: agent.id,
        name: agent.name,
        role: agent.role,
        email: row.get(3)?,
        active: row.get(4)?,
        disabled: row.get(5)?,
        created: time(row.get(6)?),
        last_seen: row.get::<Option<i64>>(7)?.map(time),
        capacity: row.get(8)?,
    })
}

pub(super) fn record_of(conn: &dyn SqlConn, id: AgentId) -> Result<Option<AgentRecord>, SqlError> {
    conn.query_opt(
        &format!("SELECT {RECORD_COLUMNS} FROM agents WHERE id = ?1"),
        params![id.0],
        record,
    )
}

/// Whether anyone has an account yet.
pub(super) fn any_agent(conn: &dyn SqlConn) -> Result<bool, SqlError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM agents)", params![], |r| {
        r.get(0)
    })
}

/// Adds an agent (without a password); `None` if the email is taken.
pub(super) fn insert_agent(
    conn: &dyn SqlConn,
    name: &DisplayName,
    email: &str,
    role: AgentRole,
) -> Result<Option<AgentId>, SqlError> {
    let taken: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM agents WHERE email = ?1)",
        params![email],
        |r| r.get(0),
    )?;
    if taken {
        return Ok(None);
    }
    conn.query_row(
        "INSERT INTO agents (name, email, role, created_at) VALUES (?1, ?2, ?3, ?4)
         RETURNING id",
        params![name.as_str(), email, role.as_str(), now_ms()],
        |r| Ok(Some(AgentId(r.get(0)?))),
    )
}

/// Why a change was refused, decided inside its transaction.
enum Refusal {
    NotFound,
    LastAdmin,
}

impl Accounts {
    pub async fn agents(&self) -> Result<Vec<AgentRecord>, AppError> {
        self.store
            .read_sql(|conn| {
                conn.query_map(
                    &format!("SELECT {RECORD_COLUMNS} FROM agents ORDER BY id"),
                    params![],
                    record,
                )
            })
            .await
            .map_err(store_err)
    }

    pub async fn agent(&self, id: AgentId) -> Result<AgentRecord, AppError> {
        self.store
            .read_sql(move |conn| record_of(conn, id))
            .await
            .map_err(store_err)?
            .ok_or(AppError::NotFound)
    }

    /// Changes agent `id` as `by` asks: admins change anyone; an agent may
    /// change only their own name.
    pub async fn change_agent(
        &self,
        by: &Agent,
        id: AgentId,
        change: AgentChange,
    ) -> Result<AgentRecord, AppError> {
        let only_own_name = by.id == id && change.role.is_none() && change.disabled.is_none();
        if !by.is_admin() && !only_own_name {
            return Err(AppError::Forbidden(
                "only an admin changes roles, other agents or who is disabled".into(),
            ));
        }
        let disables = change.disabled == Some(true);
        let applied = self
            .store
            .write_sql(move |conn| apply(conn, id, &change))
            .await
            .map_err(store_err)?;
        let record = match applied {
            Ok(record) => record,
            Err(Refusal::NotFound) => return Err(AppError::NotFound),
            Err(Refusal::LastAdmin) => {
                return Err(AppError::Conflict(
                    "this is the last admin: make another agent admin first".into(),
                ))
            }
        };
        self.cache.forget_agent(id);
        if disables {
            self.revocations.revoke(id, |_| true);
        }
        Ok(record)
    }
}

/// One change in one transaction (`write_sql`'s): the last-admin rule
/// sees the team as it is when the change is written.
fn apply(
    tx: &dyn SqlConn,
    id: AgentId,
    change: &AgentChange,
) -> Result<Result<AgentRecord, Refusal>, SqlError> {
    let Some(before) = record_of(tx, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let leaves_admins = before.role == AgentRole::Admin
        && !before.disabled
        && (change.role == Some(AgentRole::Agent) || change.disabled == Some(true));
    if leaves_admins {
        let others: i64 = tx.query_row(
            "SELECT count(*) FROM agents WHERE role = 'admin' AND disabled = 0 AND id != ?1",
            params![id.0],
            |r| r.get(0),
        )?;
        if others == 0 {
            return Ok(Err(Refusal::LastAdmin));
        }
    }
    if let Some(name) = &change.name {
        tx.execute(
            "UPDATE agents SET name = ?2 WHERE id = ?1",
            params![id.0, name.as_str()],
        )?;
    }
    if let Some(role) = change.role {
        tx.execute(
            "UPDATE agents SET role = ?2 WHERE id = ?1",
            params![id.0, role.as_str()],
        )?;
    }
    if let Some(disabled) = change.disabled {
        tx.execute(
            "UPDATE agents SET disabled = ?2 WHERE id = ?1",
            params![id.0, disabled],
        )?;
        if disabled {
            tx.execute("DELETE FROM sessions WHERE agent_id = ?1", params![id.0])?;
            tx.execute("DELETE FROM invites WHERE agent_id = ?1", params![id.0])?;
        }
    }
    Ok(record_of(tx, id)?.ok_or(Refusal::NotFound))
}
