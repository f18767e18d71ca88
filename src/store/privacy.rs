//! What the store does for privacy: a conversation's export (everything
//! stored about it), its erasure through the writer (after any write of it
//! still queued), anonymisation, and the conversations retention is due for.

use std::sync::mpsc;

use serde::Serialize;

use super::audit::AuditEntry;
use super::sql::params;
use super::{Store, StoreError, WriteOp, WriteRequest, WriterCommand};
use crate::domain::{Attachment, ChatMessage, ClientId, ConversationSummary};

/// Everything stored about one conversation.
#[derive(Debug, Clone, Serialize)]
pub struct ConversationExport {
    pub conversation: ConversationSummary,
    pub anonymised: bool,
    pub messages: Vec<ChatMessage>,
    /// Its files (sent or not yet), without their bytes.
    pub attachments: Vec<Attachment>,
    /// The audit entries about it (resolves, earlier exports).
    pub audit: Vec<AuditEntry>,
}

impl Store {
    /// Everything stored about `client`, or `None` if nothing is.
    pub async fn export(&self, client: ClientId) -> Result<Option<ConversationExport>, StoreError> {
        let (summaries, _) = self.summaries_of(vec![client.clone()]).await?;
        let Some(conversation) = summaries.into_iter().next() else {
            return Ok(None);
        };
        let messages = self.after(client.clone(), 0, usize::MAX).await?;
        let attachments = self.attachments_of(client.clone()).await?;
        let (anonymised, audit) = self
            .read_sql(move |conn| {
                let anonymised: Option<i64> = conn.query_row(
                    "SELECT anonymised_at FROM conversations WHERE client_id = ?1",
                    params![client.as_str()],
                    |r| r.get(0),
                )?;
                let audit = super::audit::entries_about(conn, &client)?;
                Ok((anonymised.is_some(), audit))
            })
            .await?;
        Ok(Some(ConversationExport {
            conversation,
            anonymised,
            messages,
            attachments,
            audit,
        }))
    }

    /// Erases or anonymises `client` through the writer, behind every
    /// write of it already queued, and returns once that is committed and
    /// checked. The caller makes sure no session writes it meanwhile.
    pub async fn remove(&self, client: ClientId, op: WriteOp) -> Result<(), StoreError> {
        debug_assert!(op.removes_data());
        let erase = op == WriteOp::Erase;
        self.submit(WriteRequest {
            client: client.clone(),
            op,
            reply: None,
            generation: 0,
        })?;
        let writes = self.writes.clone();
        actix_rt::task::spawn_blocking(move || {
            let (tx, rx) = mpsc::channel();
            if writes.send_control(WriterCommand::Flush(tx)).is_ok() {
                let _ = rx.recv();
            }
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?;
        let id = client.as_str().to_owned();
        let left: i64 = self
            .read_sql(move |conn| {
                if erase {
                    conn.query_row(
                        "SELECT (SELECT count(*) FROM messages WHERE client_id = ?1)
                              + (SELECT count(*) FROM conversations WHERE client_id = ?1)
                              + (SELECT count(*) FROM attachments WHERE client_id = ?1)",
                        params![&id],
                        |r| r.get(0),
                    )
                } else {
                    conn.query_row(
                        "SELECT count(*) FROM conversations
                         WHERE client_id = ?1 AND anonymised_at IS NULL",
                        params![&id],
                        |r| r.get(0),
                    )
                }
            })
            .await?;
        if left == 0 {
            Ok(())
        } else {
            Err(StoreError::Backend(format!("{client} was not removed")))
        }
    }

    /// Up to `limit` conversations whose last activity is before `cutoff_ms`
    /// (unix ms): for anonymising, only those not anonymised yet.
    pub async fn expired(
        &self,
        cutoff_ms: i64,
        anonymise: bool,
        limit: usize,
    ) -> Result<Vec<ClientId>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let ids: Vec<String> = self
            .read_sql(move |conn| {
                conn.query_map(
                    "SELECT client_id FROM conversations
                     WHERE last_activity_at < ?1 AND (?2 = 0 OR anonymised_at IS NULL)
                     ORDER BY last_activity_at LIMIT ?3",
                    params![cutoff_ms, anonymise, limit],
                    |r| r.get(0),
                )
            })
            .await?;
        // Every stored id was valid when it was written.
        Ok(ids
            .iter()
            .filter_map(|id| ClientId::parse(id).ok())
            .collect())
    }

    /// Deletes audit entries older than `cutoff_ms` (unix ms), a thousand
    /// per transaction; returns how many.
    pub async fn expire_audit(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut total = 0;
        loop {
            let deleted = self
                .write_sql(move |conn| {
                    conn.execute(
                        "DELETE FROM audit_log WHERE id IN
                           (SELECT id FROM audit_log WHERE at < ?1 ORDER BY id LIMIT 1000)",
                        params![cutoff_ms],
                    )
                })
                .await?;
            total += deleted;
            if deleted < 1000 {
                return Ok(total);
            }
        }
    }
}
