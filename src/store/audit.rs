//! The audit log: every agent action that changes or reveals data, with
//! who, when and from where, in the append-only `audit_log` table (schema
//! 5; a trigger refuses any UPDATE, and nothing but the audit retention
//! deletes). Recorded through the write connection like the accounts.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::sql::{params, Row, SqlConn, SqlError};
use super::{Store, StoreError};
use crate::domain::{now_millis, Agent, AgentId, ClientId};

/// How an audit entry names a conversation (`conversation:<id>`), an
/// agent (`agent:<id>`) and an API token (`token:<id>`), so the targets of
/// different kinds never collide.
pub fn conversation_target(client: &ClientId) -> String {
    format!("conversation:{client}")
}

pub fn agent_target(agent: impl std::fmt::Display) -> String {
    format!("agent:{agent}")
}

pub fn token_target(token: impl std::fmt::Display) -> String {
    format!("token:{token}")
}

pub fn label_target(label: impl std::fmt::Display) -> String {
    format!("label:{label}")
}

pub fn reply_target(reply: impl std::fmt::Display) -> String {
    format!("reply:{reply}")
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// `None` when not an agent: a failed login, a customer, the server.
    pub agent: Option<AgentId>,
    /// The agent's name as it was, the email a failed login tried,
    /// "customer" or "server".
    pub name: String,
    pub ip: Option<IpAddr>,
}

impl Who {
    pub fn agent(agent: &Agent, ip: IpAddr) -> Who {
        Who {
            agent: Some(agent.id),
            name: agent.name.clone(),
            ip: Some(ip),
        }
    }

    pub fn named(name: &str, ip: Option<IpAddr>) -> Who {
        Who {
            agent: None,
            name: name.to_owned(),
            ip,
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Login,
    LoginFailed,
    Logout,
    LogoutEverywhere,
    Setup,
    Invite,
    InviteAccepted,
    Reinvite,
    RoleChange,
    Rename,
    Disable,
    Enable,
    TokenCreated,
    TokenDeleted,
    Resolve,
    Reopen,
    Assign,
    Transfer,
    Unassign,
    CapacityChange,
    LabelCreated,
    LabelDeleted,
    LabelAdded,
    LabelRemoved,
    ReplyCreated,
    ReplyDeleted,
    Export,
    Erase,
    RetentionDelete,
    RetentionAnonymise,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Logout => "logout",
            AuditAction::LogoutEverywhere => "logout_everywhere",
            AuditAction::Setup => "setup",
            AuditAction::Invite => "invite",
            AuditAction::InviteAccepted => "invite_accepted",
            AuditAction::Reinvite => "reinvite",
            AuditAction::RoleChange => "role_change",
            AuditAction::Rename => "rename",
            AuditAction::Disable => "disable",
            AuditAction::Enable => "enable",
            AuditAction::TokenCreated => "token_created",
            AuditAction::TokenDeleted => "token_deleted",
            AuditAction::Resolve => "resolve",
            AuditAction::Reopen => "reopen",
            AuditAction::Assign => "assign",
            AuditAction::Transfer => "transfer",
            AuditAction::Unassign => "unassign",
            AuditAction::CapacityChange => "capacity_change",
            AuditAction::LabelCreated => "label_created",
            AuditAction::LabelDeleted => "label_deleted",
            AuditAction::LabelAdded => "label_added",
            AuditAction::LabelRemoved => "label_removed",
            AuditAction::ReplyCreated => "reply_created",
            AuditAction::ReplyDeleted => "reply_deleted",
            AuditAction::Export => "export",
            AuditAction::Erase => "erase",
            AuditAction::RetentionDelete => "retention_delete",
            AuditAction::RetentionAnonymise => "retention_anonymise",
        }
    }
}

/// One thing to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: Who,
    pub action: AuditAction,
    pub target: Option<String>,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(actor: Who, action: AuditAction) -> AuditEvent {
        AuditEvent {
            actor,
            action,
            target: None,
            detail: None,
        }
    }

    pub fn target(mut self, target: impl ToString) -> AuditEvent {
        self.target = Some(target.to_string());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = Some(detail.into());
        self
    }
}

/// One recorded entry, as `GET /api/audit` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub agent_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page.
    pub next_cursor: Option<String>,
}

impl Store {
    /// Records `event`. The action it records has happened already, so a
    /// failure is logged loudly rather than undoing it.
    pub async fn audit(&self, event: AuditEvent) {
        let action = event.action.as_str();
        let recorded = self
            .write_sql(move |conn| {
                let ip = event.actor.ip.map(|ip| ip.to_string());
                conn.execute(
                    "INSERT INTO audit_log (at, agent_id, actor, action, target, detail, ip)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        now_millis().timestamp_millis(),
                        event.actor.agent.map(|a| a.0),
                        &event.actor.name,
                        event.action.as_str(),
                        event.target.as_ref(),
                        event.detail.as_ref(),
                        ip.as_ref(),
                    ],
                )
                .map(drop)
            })
            .await;
        if let Err(e) = recorded {
            log::error!("audit entry {action} could not be recorded: {e}");
        }
    }

    /// Up to `limit` entries older than `cursor`, newest first.
    pub async fn audit_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<AuditPage, StoreError> {
        let before = match cursor.as_deref() {
            None | Some("") => i64::MAX,
            Some(c) => c.parse().map_err(|_| StoreError::InvalidCursor)?,
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let items = self
            .read_sql(move |conn| {
                conn.query_map(
                    "SELECT id, at, agent_id, actor, action, target, detail, ip FROM audit_log
                     WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
                    params![before, limit],
                    entry,
                )
            })
            .await?;
        let next_cursor = (items.len() as i64 == limit)
            .then(|| items.last().map(|e| e.id.to_string()))
            .flatten();
        Ok(AuditPage { items, next_cursor })
    }
}

fn entry(r: &Row) -> Result<AuditEntry, SqlError> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: DateTime::from_timestamp_millis(r.get(1)?).unwrap_or_default(),
        agent_id: r.get(2)?,
        actor: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        detail: r.get(6)?,
        ip: r.get(7)?,
    })
}

/// The entries whose target is the conversation `client`, oldest first.
pub(super) fn entries_about(
    conn: &dyn SqlConn,
    client: &ClientId,
) -> Result<Vec<AuditEntry>, SqlError> {
    conn.query_map(
        "SELECT id, at, agent_id, actor, action, target, detail, ip FROM audit_log
         WHERE target = ?1 ORDER BY id",
        params![&conversation_target(client)],
        entry,
    )
}
