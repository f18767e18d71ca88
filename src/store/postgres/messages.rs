//! Storing messages: the one statement that stores a message only if it
//! follows its conversation's last seq and its client message id is new
//! there, run pipelined for runs of messages that send no file.

use tokio_postgres::types::ToSql;

use super::conn::Conn;
use super::i64_of;
use crate::domain::{ChatMessage, ClientId};
use crate::store::{StoreError, Write, WriteOp};

/// Stores a run of plain messages, pipelined, one message per conversation
/// at a time: once a message is refused, so are its conversation's later
/// ones in the batch. They were written assuming it, and another node's
/// message in its seq would let the next one through.
pub(super) async fn store_run<'a>(
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
pub(super) fn plain_message(op: &WriteOp) -> Option<&ChatMessage> {
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
            seq: i64_of(m.seq),
            from: m.from.code(),
            text: &m.text,
            ts: m.ts.timestamp_millis(),
            id: m.id.as_deref(),
            author_id: m.author.as_ref().map(|a| a.id.0),
            author_name: m.author.as_ref().map(|a| a.name.as_str()),
            private: i64::from(m.private),
            event: m.event.as_ref().map(json).transpose()?,
            prev_public: m.customer_sees().then_some(i64_of(m.prev_public)),
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
pub(super) async fn store_message(
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
