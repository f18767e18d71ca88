//! The outbox's SQL, for the sender and the team page.

use crate::domain::{now_millis, AgentId, ClientId, Lang, NoticeKind, Role};
use crate::store::sql::{params, Row, SqlConn, SqlError};
use crate::store::{Store, StoreError};

/// An outbox row due for an attempt.
pub(super) struct Due {
    pub id: i64,
    pub client: ClientId,
    pub kind: NoticeKind,
    pub seq: u64,
    pub recipient: String,
    pub attempts: u32,
    /// The customer's language, if known (`None` on agents' alerts).
    pub lang: Option<Lang>,
}

/// A line of a conversation as the customer saw it.
pub(super) struct Line {
    pub from: Role,
    pub author: Option<String>,
    pub text: String,
    pub ts_millis: i64,
    pub seq: i64,
    /// The files sent with it (filled for the customer's emails).
    pub files: Vec<FileLine>,
}

/// A file sent with a message: what the email lists and links to.
pub(super) struct FileLine {
    pub id: String,
    pub name: String,
    pub size: i64,
}

/// `lines` with the files their messages carry, in upload order.
pub(super) fn with_files(
    conn: &dyn SqlConn,
    client: &ClientId,
    mut lines: Vec<Line>,
) -> Result<Vec<Line>, SqlError> {
    for line in &mut lines {
        line.files = conn.query_map(
            "SELECT id, name, size FROM attachments WHERE client_id = ?1 AND seq = ?2
             ORDER BY created_at, id",
            params![client.as_str(), line.seq],
            |r| {
                Ok(FileLine {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    size: r.get(2)?,
                })
            },
        )?;
    }
    Ok(lines)
}

/// An email given up on, for the admins.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedEmail {
    pub client_id: String,
    pub kind: String,
    pub recipient: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix ms.
    pub failed_at: i64,
}

/// At most this many rows per round of the sender.
const ROUND: i64 = 32;

pub(super) fn due(conn: &dyn SqlConn) -> Result<Vec<Due>, SqlError> {
    let rows = conn.query_map(
        "SELECT id, client_id, kind, seq, recipient, attempts,
                (SELECT k.lang FROM contacts k WHERE k.client_id = outbox.client_id)
         FROM outbox
         WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?1
         ORDER BY next_attempt_at LIMIT ?2",
        params![now_millis().timestamp_millis(), ROUND],
        |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<String>(1)?,
                r.get::<String>(2)?,
                r.get::<i64>(3)?,
                r.get::<String>(4)?,
                r.get::<u32>(5)?,
                r.get::<Option<String>>(6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (id, client, kind, seq, recipient, attempts, lang) = row;
        // A row this build cannot read (a newer kind, a hand-edited id) is
        // left for whoever can; it is not the sender's to delete.
        let (Ok(client), Some(kind)) = (ClientId::parse(&client), NoticeKind::parse(&kind)) else {
            continue;
        };
        out.push(Due {
            id,
            client,
            kind,
            seq: u64::try_from(seq).unwrap_or(0),
            recipient,
            attempts,
            // Agents' alerts stay in English: the team shares one console
            // language more often than it shares the customer's.
            lang: match kind {
                NoticeKind::Waiting => None,
                _ => lang.as_deref().and_then(Lang::parse),
            },
        });
    }
    Ok(out)
}

/// The chat messages (no private note, no event) up to `seq`, oldest first.
pub(super) fn customer_lines(
    conn: &dyn SqlConn,
    client: &ClientId,
    seq: u64,
) -> Result<Vec<Line>, SqlError> {
    conn.query_map(
        "SELECT from_role, author_name, text, ts, seq FROM messages
         WHERE client_id = ?1 AND seq <= ?2 AND private = 0 AND event IS NULL
         ORDER BY seq",
        params![client.as_str(), i64::try_from(seq).unwrap_or(i64::MAX)],
        line,
    )
}

fn line(r: &Row) -> Result<Line, SqlError> {
    Ok(Line {
        from: Role::from_code(r.get(0)?).unwrap_or(Role::Agent),
        author: r.get(1)?,
        text: r.get(2)?,
        ts_millis: r.get(3)?,
        seq: r.get(4)?,
        files: Vec::new(),
    })
}

/// Queues an "unseen" email for every open conversation whose customer
/// left an email and has not read an agent reply (one they can see) for
/// `unseen_after_ms`: one per burst, covering every reply since the
/// customer's read mark or the previous such email, keyed by the newest.
pub(super) fn queue_unseen(conn: &dyn SqlConn, unseen_after_ms: i64) -> Result<usize, SqlError> {
    let now = now_millis().timestamp_millis();
    conn.execute(
        "INSERT INTO outbox (client_id, kind, seq, recipient, created_at, next_attempt_at)
         SELECT c.client_id, 'unseen',
                (SELECT max(m.seq) FROM messages m
                 WHERE m.client_id = c.client_id AND m.from_role = 1
                   AND m.private = 0 AND m.event IS NULL),
                k.email, ?1, ?1
         FROM contacts k JOIN conversations c ON c.client_id = k.client_id
         WHERE k.email IS NOT NULL AND k.email_optout = 0 AND c.status = 'open'
           AND c.customer_read_seq < c.last_seq
           AND EXISTS (
               SELECT 1 FROM messages m
               WHERE m.client_id = c.client_id AND m.from_role = 1
                 AND m.private = 0 AND m.event IS NULL
                 AND m.seq > c.customer_read_seq AND m.ts <= ?2
                 AND m.seq > coalesce((SELECT max(o.seq) FROM outbox o
                                       WHERE o.client_id = c.client_id AND o.kind = 'unseen'), 0))
         ON CONFLICT DO NOTHING",
        params![now, now - unseen_after_ms],
    )
}

/// Queues a "waiting" alert for every open conversation whose customer
/// has waited `waiting_after_ms` for an answer: to its assignee, or for an
/// unassigned one to every agent, if they asked for these alerts. One per
/// wait, keyed by the seq of the last reply before it (0: none yet).
pub(super) fn queue_waiting(conn: &dyn SqlConn, waiting_after_ms: i64) -> Result<usize, SqlError> {
    let now = now_millis().timestamp_millis();
    conn.execute(
        "INSERT INTO outbox (client_id, kind, seq, recipient, created_at, next_attempt_at)
         SELECT client_id, 'waiting', answered, recipients, ?1, ?1 FROM (
             SELECT c.client_id,
                    coalesce((SELECT max(m.seq) FROM messages m
                              WHERE m.client_id = c.client_id AND m.from_role = 1
                                AND m.private = 0 AND m.event IS NULL), 0) AS answered,
                    (SELECT string_agg(a.email, ',') FROM agents a
                     WHERE a.email_waiting_alerts = 1 AND a.disabled = 0
                       AND a.password_hash IS NOT NULL
                       AND (c.assignee_id IS NULL OR a.id = c.assignee_id)) AS recipients
             FROM conversations c
             WHERE c.status = 'open' AND c.waiting_since IS NOT NULL AND c.waiting_since <= ?2) AS due
         WHERE recipients IS NOT NULL
         ON CONFLICT DO NOTHING",
        params![now, now - waiting_after_ms],
    )
}

/// The customer messages a "waiting" alert shows: those after the last
/// reply (`answered`); none once an agent has answered since.
pub(super) fn waiting_lines(
    conn: &dyn SqlConn,
    client: &ClientId,
    answered: u64,
) -> Result<Vec<Line>, SqlError> {
    conn.query_map(
        "SELECT from_role, author_name, text, ts, seq FROM messages
         WHERE client_id = ?1 AND seq > ?2 AND from_role = 0
           AND NOT EXISTS (SELECT 1 FROM messages a
                           WHERE a.client_id = ?1 AND a.seq > ?2 AND a.from_role = 1
                             AND a.private = 0 AND a.event IS NULL)
         ORDER BY seq",
        params![client.as_str(), i64::try_from(answered).unwrap_or(i64::MAX)],
        line,
    )
}

/// Whether `agent` gets "waiting" alerts.
pub async fn waiting_alerts(store: &Store, agent: AgentId) -> Result<bool, StoreError> {
    store
        .read_sql(move |conn| {
            conn.query_opt(
                "SELECT email_waiting_alerts FROM agents WHERE id = ?1",
                params![agent.0],
                |r| r.get(0),
            )
            .map(|on| on.unwrap_or(false))
        })
        .await
}

/// Turns `agent`'s "waiting" alerts on or off.
pub async fn set_waiting_alerts(store: &Store, agent: AgentId, on: bool) -> Result<(), StoreError> {
    store
        .write_sql(move |conn| {
            conn.execute(
                "UPDATE agents SET email_waiting_alerts = ?2 WHERE id = ?1",
                params![agent.0, on],
            )
            .map(drop)
        })
        .await
}

/// The agent replies an "unseen" email up to `seq` carries: those after the
/// customer's read mark and after the previous such email.
pub(super) fn unseen_lines(
    conn: &dyn SqlConn,
    client: &ClientId,
    seq: u64,
) -> Result<Vec<Line>, SqlError> {
    conn.query_map(
        "SELECT from_role, author_name, text, ts, seq FROM messages
         WHERE client_id = ?1 AND seq <= ?2 AND private = 0 AND event IS NULL AND from_role = 1
           AND seq > (SELECT customer_read_seq FROM conversations WHERE client_id = ?1)
           AND seq > coalesce((SELECT max(seq) FROM outbox
                               WHERE client_id = ?1 AND kind = 'unseen' AND seq < ?2), 0)
         ORDER BY seq",
        params![client.as_str(), i64::try_from(seq).unwrap_or(i64::MAX)],
        line,
    )
}

/// What asking for a transcript did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptRequest {
    Queued,
    /// The transcript up to the conversation's last seq is already queued
    /// (or sent).
    AlreadyQueued,
    /// The customer left no email address, or unsubscribed (or there is
    /// no conversation).
    NoAddress,
}

/// Queues the transcript of `client` up to its last seq, on an agent's
/// request: its own transaction, keyed like the one a resolve queues, so
/// asking twice (or after the resolve) sends it once.
pub async fn request_transcript(
    store: &Store,
    client: ClientId,
) -> Result<TranscriptRequest, StoreError> {
    let now = now_millis().timestamp_millis();
    store
        .write_sql(move |conn| {
            let queued = conn.execute(
                "INSERT INTO outbox (client_id, kind, seq, recipient, created_at, next_attempt_at)
                     SELECT c.client_id, 'transcript', c.last_seq, k.email, ?2, ?2
                     FROM conversations c JOIN contacts k ON k.client_id = c.client_id
                     WHERE c.client_id = ?1 AND k.email IS NOT NULL AND k.email_optout = 0
                     ON CONFLICT DO NOTHING",
                params![client.as_str(), now],
            )?;
            if queued == 1 {
                return Ok(TranscriptRequest::Queued);
            }
            let addressed: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM contacts k JOIN conversations c
                                ON c.client_id = k.client_id
                                WHERE k.client_id = ?1 AND k.email IS NOT NULL
                                  AND k.email_optout = 0)",
                params![client.as_str()],
                |r| r.get(0),
            )?;
            Ok(if addressed {
                TranscriptRequest::AlreadyQueued
            } else {
                TranscriptRequest::NoAddress
            })
        })
        .await
}

/// The customer of `client` wants no more email (List-Unsubscribe); their
/// emails not yet sent are dropped.
pub async fn unsubscribe(store: &Store, client: ClientId) -> Result<(), StoreError> {
    store
        .write_sql(move |conn| {
            conn.execute(
                "UPDATE contacts SET email_optout = 1 WHERE client_id = ?1",
                params![client.as_str()],
            )?;
            conn.execute(
                "DELETE FROM outbox WHERE client_id = ?1 AND kind <> 'waiting'
                   AND sent_at IS NULL AND failed_at IS NULL",
                params![client.as_str()],
            )
            .map(drop)
        })
        .await
}

/// A new reply address token for `client`, valid until `expires_ms`:
/// 20 random bytes in hex, so `reply+<token>@…` fits an address's
/// 64-character local part whatever the client id.
pub(super) fn issue_reply_token(
    conn: &dyn SqlConn,
    client: &ClientId,
    expires_ms: i64,
) -> Result<String, SqlError> {
    let mut bytes = [0u8; 20];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    let token = hex::encode(bytes);
    conn.execute(
        "INSERT INTO reply_tokens (token, client_id, expires_at) VALUES (?1, ?2, ?3)",
        params![&token, client.as_str(), expires_ms],
    )?;
    Ok(token)
}

/// The conversation a reply address token names, if it exists and has
/// not expired (any case: mail servers may change it).
pub async fn reply_conversation(
    store: &Store,
    token: &str,
) -> Result<Option<ClientId>, StoreError> {
    let token = token.to_ascii_lowercase();
    let now = now_millis().timestamp_millis();
    let found: Option<String> = store
        .read_sql(move |conn| {
            conn.query_opt(
                "SELECT client_id FROM reply_tokens WHERE token = ?1 AND expires_at > ?2",
                params![&token, now],
                |r| r.get(0),
            )
        })
        .await?;
    Ok(found.and_then(|id| ClientId::parse(&id).ok()))
}

/// Drops a row that has nothing left to say (the customer read it all).
pub(super) fn drop_row(conn: &dyn SqlConn, id: i64) -> Result<(), SqlError> {
    conn.execute("DELETE FROM outbox WHERE id = ?1", params![id])?;
    Ok(())
}

pub(super) fn mark_sent(conn: &dyn SqlConn, id: i64) -> Result<(), SqlError> {
    conn.execute(
        "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
        params![id, now_millis().timestamp_millis()],
    )?;
    Ok(())
}

/// Records a failed attempt: due again at `retry_at` (unix ms), or given
/// up (`retry_at` `None`).
pub(super) fn mark_failed(
    conn: &dyn SqlConn,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
) -> Result<(), SqlError> {
    let now = now_millis().timestamp_millis();
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2,
             next_attempt_at = coalesce(?3, next_attempt_at),
             failed_at = CASE WHEN ?3 IS NULL THEN CAST(?4 AS BIGINT) END
         WHERE id = ?1",
        params![id, error, retry_at, now],
    )?;
    Ok(())
}

/// Rows still to send, and rows given up.
pub(super) fn counts(conn: &dyn SqlConn) -> Result<(i64, i64), SqlError> {
    conn.query_row(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                count(*) FILTER (WHERE failed_at IS NOT NULL)
         FROM outbox",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The newest emails given up on, at most `limit`.
pub async fn failed_emails(store: &Store, limit: usize) -> Result<Vec<FailedEmail>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    store
        .read_sql(move |conn| {
            conn.query_map(
                "SELECT client_id, kind, recipient, attempts, last_error, failed_at FROM outbox
                 WHERE failed_at IS NOT NULL ORDER BY failed_at DESC LIMIT ?1",
                params![limit],
                |r| {
                    Ok(FailedEmail {
                        client_id: r.get(0)?,
                        kind: r.get(1)?,
                        recipient: r.get(2)?,
                        attempts: r.get(3)?,
                        last_error: r.get(4)?,
                        failed_at: r.get(5)?,
                    })
                },
            )
        })
        .await
}
