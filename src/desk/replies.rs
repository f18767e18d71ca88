//! Saved replies: named texts with a shortcut, shared by the team.

use serde::Serialize;

use super::{store_err, taken};
use crate::error::AppError;
use crate::protocol::validate_message;
use crate::store::sql::params;
use crate::store::Store;

/// Longest shortcut and name, in characters.
const MAX_SHORTCUT: usize = 32;
const MAX_NAME: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SavedReply {
    pub id: i64,
    pub shortcut: String,
    pub name: String,
    pub text: String,
}

/// A saved reply checked before it is stored.
#[derive(Clone, Debug)]
pub struct NewReply {
    shortcut: String,
    name: String,
    text: String,
}

impl NewReply {
    /// `shortcut`: 1 to 32 of `a-z 0-9 _ -` (typed after `/`, any case,
    /// kept lowercase); `name`: 1 to 100 characters; `text`: what a message
    /// may be.
    pub fn parse(
        shortcut: &str,
        name: &str,
        text: String,
        max_text_chars: usize,
    ) -> Result<NewReply, AppError> {
        let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
        let valid = (1..=MAX_SHORTCUT).contains(&shortcut.chars().count())
            && shortcut
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(AppError::BadRequest(format!(
                "shortcut must be 1 to {MAX_SHORTCUT} of a-z 0-9 _ -"
            )));
        }
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(AppError::BadRequest(format!(
                "name must be 1 to {MAX_NAME} characters"
            )));
        }
        validate_message(&text, None, max_text_chars, false)?;
        Ok(NewReply {
            shortcut,
            name: name.to_owned(),
            text,
        })
    }
}

/// Every saved reply, by shortcut.
pub async fn replies(store: &Store) -> Result<Vec<SavedReply>, AppError> {
    store
        .read_sql(|conn| {
            conn.query_map(
                "SELECT id, shortcut, name, text FROM saved_replies ORDER BY shortcut",
                params![],
                |r| {
                    Ok(SavedReply {
                        id: r.get(0)?,
                        shortcut: r.get(1)?,
                        name: r.get(2)?,
                        text: r.get(3)?,
                    })
                },
            )
        })
        .await
        .map_err(store_err)
}

/// Stores `new`; 409 if its shortcut is taken.
pub async fn add_reply(store: &Store, new: NewReply) -> Result<SavedReply, AppError> {
    let stored = new.clone();
    let id = store
        .write_sql(move |conn| {
            conn.query_row(
                "INSERT INTO saved_replies (shortcut, name, text, created_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING id",
                params![
                    &new.shortcut,
                    &new.name,
                    &new.text,
                    chrono::Utc::now().timestamp_millis()
                ],
                |r| r.get(0),
            )
        })
        .await
        .map_err(|e| match taken(&e) {
            true => AppError::Conflict(format!("the shortcut /{} is taken", stored.shortcut)),
            false => store_err(e),
        })?;
    Ok(SavedReply {
        id,
        shortcut: stored.shortcut,
        name: stored.name,
        text: stored.text,
    })
}

pub async fn delete_reply(store: &Store, id: i64) -> Result<(), AppError> {
    let deleted = store
        .write_sql(move |conn| conn.execute("DELETE FROM saved_replies WHERE id = ?1", params![id]))
        .await
        .map_err(store_err)?;
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
