//! The writer's transaction, one per batch, as the SQLite backend's
//! `write.rs` applies each write, made safe for several nodes writing the
//! same conversations at once:
//! 1. the rows of conversations the batch starts are inserted if missing
//!    (`ON CONFLICT DO NOTHING`: a node starting the same one waits for
//!    this transaction, then finds it);
//! 2. every conversation of the batch is locked (`FOR UPDATE`), in
//!    client-id order, and the writes run grouped in that order, so every
//!    row lock (conversations, contacts, outbox) is taken in one global
//!    order and two nodes never deadlock;
//! 3. a message is stored only if its seq follows the stored last seq and
//!    its (role, client message id) is new in the conversation, checked
//!    under the lock; a refused write changes nothing and leaves the rest
//!    of the batch as it is, but for the same conversation's later messages,
//!    refused with it;
//! 4. a conversation row inserted in step 1 whose first message was
//!    refused is removed again before the commit.

use tokio_postgres::types::ToSql;

use super::conn::Conn;
use crate::domain::{
    now_millis, AgentId, ChatMessage, ClientId, Contact, ConversationStatus, Notice, Role,
};
use crate::store::{StoreError, Write, WriteOp};

/// What an anonymised message says instead of its text (as on SQLite).
const ANONYMISED_TEXT: &str = "[removed]";

/// Applies `writes` in one transaction; per write, whether it applied.
pub(super) async fn commit(conn: &mut Conn, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
    conn.batch("BEGIN").await?;
    match apply(conn, writes).await {
        Ok(accepted) => {
            conn.batch("COMMIT").await?;
            Ok(accepted)
        }
        Err(e) => {
            // A broken connection has no transaction left to roll back.
            let _ = conn.batch("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn apply(conn: &mut Conn, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
    let mut order: Vec<usize> = (0..writes.len()).collect();
    // Stable: a conversation's own writes keep their order.
    order.sort_by_key(|&i| writes[i].client.as_str());
    let mut clients: Vec<&str> = order.iter().map(|&i| writes[i].client.as_str()).collect();
    clients.dedup();

    let (starts, times): (Vec<&str>, Vec<i64>) = order
        .iter()
        .filter_map(|&i| match writes[i].op {
            WriteOp::Message(m) if m.seq == 1 => {
                Some((writes[i].client.as_str(), m.ts.timestamp_millis()))
            }
            _ => None,
        })
        .unzip();
    let created: Vec<String> = if starts.is_empty() {
        Vec::new()
    } else {
        conn.query(
            "INSERT INTO conversations (client_id, created_at, last_activity_at)
             SELECT id, ts, ts FROM unnest($1::text[], $2::bigint[]) AS s (id, ts) ORDER BY id
             ON CONFLICT DO NOTHING RETURNING client_id",
            &[&starts, &times],
        )
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?
    };
    conn.query(
        "SELECT client_id FROM conversations WHERE client_id = ANY($1)
         ORDER BY client_id FOR UPDATE",
        &[&clients],
    )
    .await?;

    let mut accepted = vec![false; writes.len()];
    // Once a message is refused, so are its conversation's later ones in
    // the batch (see `store_run`).
    let mut refused: Vec<&ClientId> = Vec::new();
    let mut rest = &order[..];
    while let Some(&first) = rest.first() {
        // A run of plain messages (the bulk of any batch) goes pipelined.
        let run = rest
            .iter()
            .position(|&i| plain_message(writes[i].op).is_none())
            .unwrap_or(rest.len());
        if run > 0 {
            store_run(conn, writes, &rest[..run], &mut accepted, &mut refused).await?;
            rest = &rest[run..];
        } else {
            let Write { client, op } = writes[first];
            let message = matches!(op, WriteOp::Message(_));
            if !(message && refused.contains(&client)) {
                accepted[first] = apply_one(conn, client, op).await?;
                if message && !accepted[first] {
                    refused.push(client);
                }
            }
            rest = &rest[1..];
        }
    }
    if !created.is_empty() {
        conn.execute(
            "DELETE FROM conversations WHERE client_id = ANY($1) AND last_seq = 0",
            &[&created],
        )
        .await?;
    }
    Ok(accepted)
}

/// Stores a run of plain messages, pipelined, one message per conversation
/// at a time: once a message is refused, so are its conversation's later
/// ones in the batch. They were written assuming it, and another node's
/// message in its seq would let the next one through.
async fn store_run<'a>(
    conn: &mut Conn,
    writes: &[Write<'a>],
    run: &[usize],
    accepted: &mut [bool],
    refused: &mut Vec<&'a ClientId>,
) -> Result<(), StoreError> {
    let mut waiting: Vec<usize> = run
        .iter()
        .copied()
        .filter(|&i| !refused.contains(&writes[i].client))
        .collect();
    while !waiting.is_empty() {
        let mut round: Vec<usize> = Vec::new();
        let mut later: Vec<usize> = Vec::new();
        for &i in &waiting {
            let client = writes[i].client;
            if round.iter().any(|&r| writes[r].client == client) {
                later.push(i);
            } else {
                round.push(i);
            }
        }
        let messages: Vec<(&ClientId, &ChatMessage)> = round
            .iter()
            .filter_map(|&i| Some((writes[i].client, plain_message(writes[i].op)?)))
            .collect();
        let stored = store_messages(conn, &messages).await?;
        for (&i, ok) in round.iter().zip(stored) {
            accepted[i] = ok;
            if !ok {
                refused.push(writes[i].client);
            }
        }
        waiting = later
            .into_iter()
            .filter(|&i| !refused.contains(&writes[i].client))
            .collect();
    }
    Ok(())
}

async fn apply_one(conn: &mut Conn, client: &ClientId, op: &WriteOp) -> Result<bool, StoreError> {
    match op {
        WriteOp::Message(m) => store_message(conn, client, m).await,
        WriteOp::Read { role, seq } => mark_read(conn, client, *role, *seq).await,
        WriteOp::Status(status) => set_status(conn, client, *status).await,
        WriteOp::ResolveWithTranscript(notice) => {
            let resolved = set_status(conn, client, ConversationStatus::Resolved).await?;
            if resolved {
                queue_notice(conn, client, notice).await?;
            }
            Ok(resolved)
        }
        WriteOp::Contact(contact) => set_contact(conn, client, contact).await,
        WriteOp::Assign(agent) => assign(conn, client, *agent).await,
        WriteOp::Erase => erase(conn, client).await,
        WriteOp::Anonymise => anonymise(conn, client).await,
    }
}

fn seq_of(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

/// How a chat message (not a note or an event) moves its conversation on:
/// a customer's reopens it, starts (or goes on with) its wait and is one
/// more unread for the agents; an agent's ends the wait, and the agent has
/// read all up to their reply. Parameters as in [`INSERT_MESSAGE`].
const CHAT_TURN: &str = "
    last_seq = $2, last_activity_at = $5, last_from = $3,
    status = CASE WHEN $3::bigint = 0 THEN 'open' ELSE status END,
    waiting_since = CASE WHEN $3::bigint = 0 THEN coalesce(waiting_since, $5) ELSE NULL END,
    agent_unread = CASE WHEN $3::bigint = 0 THEN agent_unread + 1 ELSE 0 END,
    agent_read_seq = CASE WHEN $3::bigint = 0 THEN agent_read_seq ELSE $2 END,
    anonymised_at = NULL";

/// A note or an event answers nobody: the wait, the unread count, the
/// preview and the list order stay as the chat left them.
const NOTE_TURN: &str = "last_seq = $2, anonymised_at = NULL";

/// One statement, one round trip: the conversation moves on only if the
/// message follows its last seq (gapless) and its client message id is new
/// there (the row lock taken before makes both checks hold until commit),
/// and the message is inserted only if it did. `{turn}` is the SET list.
const INSERT_MESSAGE: &str = "
    WITH moved AS (
        UPDATE conversations SET {turn}
        WHERE client_id = $1 AND last_seq = $2::bigint - 1
          AND NOT EXISTS (SELECT 1 FROM messages
                          WHERE client_id = $1 AND from_role = $3 AND client_msg_id = $6)
        RETURNING client_id)
    INSERT INTO messages
        (client_id, seq, from_role, text, ts, client_msg_id, author_id, author_name,
         private, event, prev_public, attachments)
    SELECT $1::text, $2::bigint, $3::bigint, $4::text, $5::bigint, $6::text, $7::bigint,
           $8::text, $9::bigint, $10::text, $11::bigint, $12::text
    FROM moved";

/// A message that sends no file: one statement stores it, whatever came
/// before it in the batch.
fn plain_message(op: &WriteOp) -> Option<&ChatMessage> {
    match op {
        WriteOp::Message(m) if m.attachments.is_empty() => Some(m),
        _ => None,
    }
}

/// The parameters of [`INSERT_MESSAGE`] for `m`.
struct MessageRow<'a> {
    client: &'a str,
    seq: i64,
    from: i64,
    text: &'a str,
    ts: i64,
    id: Option<&'a str>,
    author_id: Option<i64>,
    author_name: Option<&'a str>,
    private: i64,
    event: Option<String>,
    prev_public: Option<i64>,
    attachments: Option<String>,
}

impl<'a> MessageRow<'a> {
    fn of(client: &'a ClientId, m: &'a ChatMessage) -> Result<MessageRow<'a>, StoreError> {
        Ok(MessageRow {
            client: client.as_str(),
            seq: seq_of(m.seq),
            from: m.from.code(),
            text: &m.text,
            ts: m.ts.timestamp_millis(),
            id: m.id.as_deref(),
            author_id: m.author.as_ref().map(|a| a.id.0),
            author_name: m.author.as_ref().map(|a| a.name.as_str()),
            private: i64::from(m.private),
            event: m.event.as_ref().map(json).transpose()?,
            prev_public: m.customer_sees().then_some(seq_of(m.prev_public)),
            attachments: if m.attachments.is_empty() {
                None
            } else {
                Some(json(&m.attachments)?)
            },
        })
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 12] {
        [
            &self.client,
            &self.seq,
            &self.from,
            &self.text,
            &self.ts,
            &self.id,
            &self.author_id,
            &self.author_name,
            &self.private,
            &self.event,
            &self.prev_public,
            &self.attachments,
        ]
    }
}

/// The statement that stores `m` (a chat turn, or a note or event).
fn insert_message(m: &ChatMessage) -> String {
    let turn = if m.is_chat() { CHAT_TURN } else { NOTE_TURN };
    INSERT_MESSAGE.replace("{turn}", turn)
}

/// Stores messages that send no file, in order, in one round trip; per
/// message whether it was stored.
async fn store_messages(
    conn: &mut Conn,
    messages: &[(&ClientId, &ChatMessage)],
) -> Result<Vec<bool>, StoreError> {
    let rows = messages
        .iter()
        .map(|(client, m)| MessageRow::of(client, m))
        .collect::<Result<Vec<_>, _>>()?;
    let sql: Vec<String> = messages.iter().map(|(_, m)| insert_message(m)).collect();
    let params: Vec<[&(dyn ToSql + Sync); 12]> = rows.iter().map(MessageRow::params).collect();
    let items: Vec<(&str, &[&(dyn ToSql + Sync)])> = sql
        .iter()
        .zip(&params)
        .map(|(sql, params)| (sql.as_str(), &params[..]))
        .collect();
    let stored = conn.execute_pipelined(&items).await?;
    Ok(stored.into_iter().map(|n| n == 1).collect())
}

/// Stores one message that sends files, if they are free to claim, it
/// directly follows the conversation's last seq and its client message id
/// is new there; else changes nothing.
async fn store_message(
    conn: &mut Conn,
    client: &ClientId,
    m: &ChatMessage,
) -> Result<bool, StoreError> {
    if !claimable(conn, client, m).await? {
        return Ok(false);
    }
    let row = MessageRow::of(client, m)?;
    if conn.execute(&insert_message(m), &row.params()).await? != 1 {
        return Ok(false);
    }
    for a in &m.attachments {
        conn.execute(
            "UPDATE attachments SET seq = $3 WHERE id = $1 AND client_id = $2",
            &[&a.id.as_str(), &row.client, &row.seq],
        )
        .await?;
    }
    Ok(true)
}

/// Whether every file `m` sends is this conversation's, uploaded by the
/// same side and not sent by another message yet.
async fn claimable(
    conn: &mut Conn,
    client: &ClientId,
    m: &ChatMessage,
) -> Result<bool, StoreError> {
    for a in &m.attachments {
        let free = conn
            .query_opt(
                "SELECT 1 FROM attachments
                 WHERE id = $1 AND client_id = $2 AND uploader = $3 AND seq IS NULL",
                &[&a.id.as_str(), &client.as_str(), &m.from.code()],
            )
            .await?;
        if free.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Moves `role`'s read mark forward to `seq` (at most the last seq); for
/// the agents, the unread count becomes the customer messages after it.
async fn mark_read(
    conn: &mut Conn,
    client: &ClientId,
    role: Role,
    seq: u64,
) -> Result<bool, StoreError> {
    let sql = match role {
        Role::Customer => {
            "UPDATE conversations
             SET customer_read_seq = greatest(customer_read_seq, least($2::bigint, last_seq))
             WHERE client_id = $1 AND last_seq > 0"
        }
        Role::Agent => {
            "UPDATE conversations
             SET agent_read_seq = greatest(agent_read_seq, least($2::bigint, last_seq)),
                 agent_unread = (SELECT count(*) FROM messages m
                                 WHERE m.client_id = $1 AND m.from_role = 0
                                   AND m.seq > greatest(conversations.agent_read_seq,
                                                        least($2::bigint, conversations.last_seq)))
             WHERE client_id = $1 AND last_seq > 0"
        }
    };
    Ok(conn.execute(sql, &[&client.as_str(), &seq_of(seq)]).await? == 1)
}

async fn set_status(
    conn: &mut Conn,
    client: &ClientId,
    status: ConversationStatus,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "UPDATE conversations SET status = $2 WHERE client_id = $1 AND last_seq > 0",
            &[&client.as_str(), &status.as_str()],
        )
        .await?
        == 1)
}

/// Replaces the contact details; an empty contact removes the row.
async fn set_contact(
    conn: &mut Conn,
    client: &ClientId,
    contact: &Contact,
) -> Result<bool, StoreError> {
    if contact.is_empty() {
        conn.execute(
            "DELETE FROM contacts WHERE client_id = $1",
            &[&client.as_str()],
        )
        .await?;
        return Ok(true);
    }
    conn.execute(
        "INSERT INTO contacts (client_id, name, email, updated_at, lang, transcript)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (client_id) DO UPDATE
         SET name = excluded.name, email = excluded.email, updated_at = excluded.updated_at,
             lang = excluded.lang, transcript = excluded.transcript",
        &[
            &client.as_str(),
            &contact.name.as_ref().map(|n| n.as_str()),
            &contact.email.as_ref().map(|e| e.as_str()),
            &now_millis().timestamp_millis(),
            &contact.lang.map(|l| l.as_str()),
            &i64::from(contact.transcript),
        ],
    )
    .await?;
    Ok(true)
}

/// Queues an email in the outbox; a notice already queued (same
/// conversation, kind and seq) stays as it is, and a customer who
/// unsubscribed gets none.
async fn queue_notice(
    conn: &mut Conn,
    client: &ClientId,
    notice: &Notice,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO outbox (client_id, kind, seq, recipient, created_at, next_attempt_at)
         SELECT $1, $2, $3, $4, $5, $5
         WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE client_id = $1 AND email_optout = 1)
         ON CONFLICT DO NOTHING",
        &[
            &client.as_str(),
            &notice.kind.as_str(),
            &seq_of(notice.seq),
            &notice.to.as_str(),
            &now_millis().timestamp_millis(),
        ],
    )
    .await?;
    Ok(())
}

async fn assign(
    conn: &mut Conn,
    client: &ClientId,
    agent: Option<AgentId>,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            "UPDATE conversations SET assignee_id = $2 WHERE client_id = $1 AND last_seq > 0",
            &[&client.as_str(), &agent.map(|a| a.0)],
        )
        .await?
        == 1)
}

/// Rows of a conversation's own that go with it, on erase and anonymise.
const PERSONAL: [&str; 4] = [
    "DELETE FROM contacts WHERE client_id = $1",
    "DELETE FROM attachments WHERE client_id = $1",
    "DELETE FROM outbox WHERE client_id = $1",
    "DELETE FROM reply_tokens WHERE client_id = $1",
];

/// Deletes the conversation, its messages (and so their search entries),
/// labels, contact, files and emails.
async fn erase(conn: &mut Conn, client: &ClientId) -> Result<bool, StoreError> {
    let id = client.as_str();
    for sql in [
        "DELETE FROM messages WHERE client_id = $1",
        "DELETE FROM conversation_labels WHERE client_id = $1",
    ]
    .into_iter()
    .chain(PERSONAL)
    {
        conn.execute(sql, &[&id]).await?;
    }
    Ok(conn
        .execute(
            "DELETE FROM conversations WHERE client_id = $1 AND last_seq > 0",
            &[&id],
        )
        .await?
        == 1)
}

/// Replaces the texts (and so their search entries) and client message
/// ids; the numbering, roles, times and every counter stay.
async fn anonymise(conn: &mut Conn, client: &ClientId) -> Result<bool, StoreError> {
    let id = client.as_str();
    conn.execute(
        "UPDATE messages SET text = $2, client_msg_id = NULL, attachments = NULL
         WHERE client_id = $1",
        &[&id, &ANONYMISED_TEXT],
    )
    .await?;
    for sql in PERSONAL {
        conn.execute(sql, &[&id]).await?;
    }
    Ok(conn
        .execute(
            "UPDATE conversations SET anonymised_at = $2 WHERE client_id = $1 AND last_seq > 0",
            &[&id, &now_millis().timestamp_millis()],
        )
        .await?
        == 1)
}
