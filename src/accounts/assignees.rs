//! Agents as assignees of conversations: who may be given one.

use std::future::Future;

use super::store_err;
use crate::domain::{AgentId, Author};
use crate::error::AppError;
use crate::store::sql::params;
use crate::store::Store;

/// Agent `id` as an assignee: an account that is set up (has a password)
/// and not disabled. The built-in API agent has no row and is never one.
pub fn assignee(store: &Store, id: AgentId) -> impl Future<Output = Result<Author, AppError>> {
    let read = store.read_sql(move |conn| {
        conn.query_opt(
            "SELECT name, password_hash IS NOT NULL AND disabled = 0 FROM agents WHERE id = ?1",
            params![id.0],
            |r| Ok((r.get::<String>(0)?, r.get::<bool>(1)?)),
        )
    });
    async move {
        match read.await.map_err(store_err)? {
            Some((name, true)) => Ok(Author { id, name }),
            Some((_, false)) => Err(AppError::BadRequest(format!(
                "agent {} cannot take conversations (disabled, or not set up yet)",
                id.0
            ))),
            None => Err(AppError::BadRequest(format!("there is no agent {}", id.0))),
        }
    }
}

/// Most open conversations automatic assignment gives one agent, at most.
pub const MAX_CAPACITY: u32 = 1000;

/// Every agent who may be given conversations, with their capacity.
pub fn capacities(store: &Store) -> impl Future<Output = Result<Vec<(Author, u32)>, AppError>> {
    let read = store.read_sql(|conn| {
        conn.query_map(
            "SELECT id, name, capacity FROM agents
             WHERE password_hash IS NOT NULL AND disabled = 0 ORDER BY id",
            params![],
            |r| {
                Ok((
                    Author {
                        id: AgentId(r.get(0)?),
                        name: r.get(1)?,
                    },
                    r.get::<i64>(2)?.clamp(0, i64::from(MAX_CAPACITY)) as u32,
                ))
            },
        )
    });
    async move { read.await.map_err(store_err) }
}

/// Sets agent `id`'s capacity (0 to [`MAX_CAPACITY`]).
pub fn set_capacity(
    store: &Store,
    id: AgentId,
    capacity: u32,
) -> impl Future<Output = Result<(), AppError>> {
    let write = store.write_sql(move |conn| {
        conn.execute(
            "UPDATE agents SET capacity = ?2 WHERE id = ?1",
            params![id.0, capacity],
        )
    });
    async move {
        match write.await.map_err(store_err)? {
            0 => Err(AppError::NotFound),
            _ => Ok(()),
        }
    }
}
