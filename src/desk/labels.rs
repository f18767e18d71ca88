//! Labels: admins define them (name, colour); agents put them on
//! conversations and remove them; the inbox filters by them.

use serde::Deserialize;

use super::{store_err, taken};
use crate::domain::{ClientId, Label};
use crate::error::AppError;
use crate::store::sql::{params, Row, SqlError};
use crate::store::Store;

const MAX_NAME: usize = 50;

/// A label checked before it is stored.
#[derive(Clone, Debug)]
pub struct NewLabel {
    name: String,
    color: String,
}

impl NewLabel {
    /// `name`: 1 to 50 characters; `color`: `#rrggbb`.
    pub fn parse(name: &str, color: &str) -> Result<NewLabel, AppError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(AppError::BadRequest(format!(
                "name must be 1 to {MAX_NAME} printable characters"
            )));
        }
        let hex = color.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(AppError::BadRequest("color must be #rrggbb".into()));
        }
        Ok(NewLabel {
            name: name.to_owned(),
            color: format!("#{}", hex.to_lowercase()),
        })
    }
}

/// A label named in a request: by id or by name (any case).
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum LabelRef {
    Id(i64),
    Name(String),
}

fn label_row(r: &Row) -> Result<Label, SqlError> {
    Ok(Label {
        id: r.get(0)?,
        name: r.get(1)?,
        color: r.get(2)?,
    })
}

pub async fn labels(store: &Store) -> Result<Vec<Label>, AppError> {
    store
        .read_sql(|conn| {
            conn.query_map(
                "SELECT id, name, color FROM labels ORDER BY name",
                params![],
                label_row,
            )
        })
        .await
        .map_err(store_err)
}

/// The id of the label `label` names; 400 if there is none.
pub async fn label_id(store: &Store, label: LabelRef) -> Result<i64, AppError> {
    let shown = format!("{label:?}");
    let found = store
        .read_sql(move |conn| match label {
            LabelRef::Id(id) => {
                conn.query_opt("SELECT id FROM labels WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })
            }
            // The column compares names whatever their case (COLLATE
            // NOCASE in SQLite, CITEXT in PostgreSQL).
            LabelRef::Name(name) => conn.query_opt(
                "SELECT id FROM labels WHERE name = ?1",
                params![&name],
                |r| r.get(0),
            ),
        })
        .await
        .map_err(store_err)?;
    found.ok_or_else(|| AppError::BadRequest(format!("there is no label {shown}")))
}

/// Stores `new`; 409 if its name is taken.
pub async fn add_label(store: &Store, new: NewLabel) -> Result<Label, AppError> {
    let stored = new.clone();
    let id = store
        .write_sql(move |conn| {
            conn.query_row(
                "INSERT INTO labels (name, color) VALUES (?1, ?2) RETURNING id",
                params![&new.name, &new.color],
                |r| r.get(0),
            )
        })
        .await
        .map_err(|e| match taken(&e) {
            true => AppError::Conflict(format!("the label {:?} exists", stored.name)),
            false => store_err(e),
        })?;
    Ok(Label {
        id,
        name: stored.name,
        color: stored.color,
    })
}

/// Deletes label `id` and takes it off every conversation; returns those.
pub async fn delete_label(store: &Store, id: i64) -> Result<Vec<ClientId>, AppError> {
    let (deleted, clients) = store
        .write_sql(move |conn| {
            let clients: Vec<String> = conn.query_map(
                "SELECT client_id FROM conversation_labels WHERE label_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            conn.execute(
                "DELETE FROM conversation_labels WHERE label_id = ?1",
                params![id],
            )?;
            let deleted = conn.execute("DELETE FROM labels WHERE id = ?1", params![id])?;
            Ok((deleted, clients))
        })
        .await
        .map_err(store_err)?;
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(clients
        .iter()
        .filter_map(|c| ClientId::parse(c).ok())
        .collect())
}

/// Adds and removes labels (by id) on `client`'s conversation, which must
/// exist; returns its labels now.
pub async fn change_labels(
    store: &Store,
    client: ClientId,
    add: Vec<i64>,
    remove: Vec<i64>,
) -> Result<Vec<Label>, AppError> {
    let changed = store
        .write_sql(move |conn| {
            let exists: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM conversations WHERE client_id = ?1)",
                params![client.as_str()],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(None);
            }
            for id in &add {
                conn.execute(
                    "INSERT INTO conversation_labels (client_id, label_id) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                    params![client.as_str(), id],
                )?;
            }
            for id in &remove {
                conn.execute(
                    "DELETE FROM conversation_labels WHERE client_id = ?1 AND label_id = ?2",
                    params![client.as_str(), id],
                )?;
            }
            let labels = conn.query_map(
                "SELECT l.id, l.name, l.color FROM conversation_labels cl
                 JOIN labels l ON l.id = cl.label_id
                 WHERE cl.client_id = ?1 ORDER BY l.name",
                params![client.as_str()],
                label_row,
            )?;
            Ok(Some(labels))
        })
        .await
        .map_err(store_err)?;
    changed.ok_or(AppError::NotFound)
}
