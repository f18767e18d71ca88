//! Agents as assignees of conversations: who may be given one.

use std::future::Future;

use rusqlite::OptionalExtension;

use super::store_err;
use crate::domain::{AgentId, Author};
use crate::error::AppError;
use crate::store::Store;

/// Agent `id` as an assignee: an account that is set up (has a password)
/// and not disabled. The built-in API agent has no row and is never one.
pub fn assignee(store: &Store, id: AgentId) -> impl Future<Output = Result<Author, AppError>> {
    let read = store.read_sql(move |conn| {
        conn.query_row(
            "SELECT name, password_hash IS NOT NULL AND disabled = 0 FROM agents WHERE id = ?1",
            [id.0],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
        )
        .optional()
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
