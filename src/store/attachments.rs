//! Attachments in the store: an upload kept whole in one statement (within
//! the conversation's quota) or not at all, the files a message may send,
//! what each side may fetch, and the sweep of uploads no message sent.
//! The bytes live in the `attachments` table of the same database (see the
//! schema), so erasing a conversation, backups and the writer's durability
//! cover them with no second place to keep in step.

use super::sql::{params, Row, SqlError};
use super::{Store, StoreError};
use crate::domain::{Attachment, AttachmentId, ClientId, FileName, Role};

/// A file to keep.
pub struct Upload {
    pub client: ClientId,
    pub uploader: Role,
    pub meta: Attachment,
    pub data: Vec<u8>,
    pub thumbnail: Option<Vec<u8>>,
}

/// A file as served.
pub struct Download {
    pub meta: Attachment,
    pub bytes: Vec<u8>,
}

/// Why a message may not send some of its files.
#[derive(Debug, PartialEq, Eq)]
pub enum Unclaimable {
    /// Not an unsent upload of this side of this conversation.
    Unknown(AttachmentId),
}

fn meta_from_row(row: &Row) -> Result<Attachment, SqlError> {
    let id: String = row.get(0)?;
    let name: String = row.get(1)?;
    Ok(Attachment {
        // Only ids this server made are ever stored.
        id: AttachmentId::parse(&id).ok_or_else(|| SqlError::Type {
            column: 0,
            problem: format!("{id:?} is no attachment id"),
        })?,
        name: FileName::sanitise(&name, "file"),
        mime: row.get(2)?,
        size: row.get::<i64>(3)? as u64,
        width: row.get(4)?,
        height: row.get(5)?,
    })
}

const META_COLUMNS: &str = "id, name, mime, size, width, height";

impl Store {
    /// Keeps `upload` unless the conversation's files would then exceed
    /// `quota` bytes; `Ok(false)` when over quota (nothing kept).
    pub async fn put_attachment(&self, upload: Upload, quota: u64) -> Result<bool, StoreError> {
        self.write_sql(move |conn| {
            let m = &upload.meta;
            // The sum is cast: PostgreSQL sums BIGINTs to NUMERIC.
            let kept = conn.execute(
                "INSERT INTO attachments
                     (id, client_id, uploader, name, mime, size, width, height,
                      created_at, data, thumbnail)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                 WHERE CAST((SELECT coalesce(sum(size), 0) FROM attachments
                             WHERE client_id = ?2) AS BIGINT) + ?6 <= ?12",
                params![
                    m.id.as_str(),
                    upload.client.as_str(),
                    upload.uploader.code(),
                    m.name.as_str(),
                    &m.mime,
                    m.size as i64,
                    m.width,
                    m.height,
                    crate::domain::now_millis().timestamp_millis(),
                    &upload.data,
                    upload.thumbnail.as_ref(),
                    i64::try_from(quota).unwrap_or(i64::MAX),
                ],
            )?;
            Ok(kept == 1)
        })
        .await
    }

    /// The metadata of files `role` uploaded to `client` and no message has
    /// sent yet, in the order of `ids`.
    pub async fn claimable(
        &self,
        client: ClientId,
        role: Role,
        ids: Vec<AttachmentId>,
    ) -> Result<Result<Vec<Attachment>, Unclaimable>, StoreError> {
        self.read_sql(move |conn| {
            let sql = format!(
                "SELECT {META_COLUMNS} FROM attachments
                 WHERE id = ?1 AND client_id = ?2 AND uploader = ?3 AND seq IS NULL"
            );
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let meta = conn.query_opt(
                    &sql,
                    params![id.as_str(), client.as_str(), role.code()],
                    meta_from_row,
                )?;
                match meta {
                    Some(meta) => found.push(meta),
                    None => return Ok(Err(Unclaimable::Unknown(id))),
                }
            }
            Ok(Ok(found))
        })
        .await
    }

    /// File `id` of `client` (or its thumbnail) if `reader` may have it:
    /// agents any of the conversation's; the customer their own uploads
    /// and files sent in a message they see, never one only a private note
    /// carries.
    pub async fn attachment(
        &self,
        client: ClientId,
        id: AttachmentId,
        reader: Role,
        thumbnail: bool,
    ) -> Result<Option<Download>, StoreError> {
        let column = if thumbnail { "thumbnail" } else { "data" };
        self.read_sql(move |conn| {
            conn.query_opt(
                &format!(
                    "SELECT {META_COLUMNS}, {column} FROM attachments a
                     WHERE a.id = ?1 AND a.client_id = ?2 AND {column} IS NOT NULL
                       AND (?3 = 1 OR a.uploader = 0 OR EXISTS
                            (SELECT 1 FROM messages m WHERE m.client_id = a.client_id
                               AND m.seq = a.seq AND m.private = 0))"
                ),
                params![id.as_str(), client.as_str(), reader.code()],
                |row| {
                    Ok(Download {
                        meta: meta_from_row(row)?,
                        bytes: row.get(6)?,
                    })
                },
            )
        })
        .await
    }

    /// Every file of `client`, sent or not (for the export).
    pub async fn attachments_of(&self, client: ClientId) -> Result<Vec<Attachment>, StoreError> {
        self.read_sql(move |conn| {
            conn.query_map(
                &format!(
                    "SELECT {META_COLUMNS} FROM attachments WHERE client_id = ?1 ORDER BY created_at"
                ),
                params![client.as_str()],
                meta_from_row,
            )
        })
        .await
    }

    /// Deletes uploads no message sent that are older than `cutoff_ms`
    /// (unix ms); returns how many.
    pub async fn sweep_unsent(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.write_sql(move |conn| {
            conn.execute(
                "DELETE FROM attachments WHERE seq IS NULL AND created_at < ?1",
                params![cutoff_ms],
            )
        })
        .await
    }
}
