//! Writes, all inside the writer's one transaction per batch. Each keeps the
//! conversation's counters (`agent_unread`, the read marks, the wait) up to
//! date as it goes; the schema's triggers carry the changes to `totals`.

use rusqlite::{params, Connection};

use crate::domain::{ChatMessage, ClientId, ConversationStatus, Role};
use crate::store::{Write, WriteOp};

/// The writes of one transaction; per write, whether it was applied.
pub(super) fn apply(conn: &Connection, writes: &[Write<'_>]) -> rusqlite::Result<Vec<bool>> {
    writes
        .iter()
        .map(|w| match w.op {
            WriteOp::Message(m) => store_message(conn, w.client, m),
            WriteOp::Read { role, seq } => mark_read(conn, w.client, *role, *seq),
            WriteOp::Status(status) => set_status(conn, w.client, *status),
            WriteOp::Erase => erase(conn, w.client),
            WriteOp::Anonymise => anonymise(conn, w.client),
        })
        .collect()
}

/// Stores one message if it directly follows the conversation's last seq.
fn store_message(conn: &Connection, client: &ClientId, m: &ChatMessage) -> rusqlite::Result<bool> {
    let ts = m.ts.timestamp_millis();
    let seq = m.seq as i64;
    // A new conversation is open and not waiting: listed by its activity.
    conn.prepare_cached(
        "INSERT INTO conversations (client_id, created_at, last_activity_at, list_key)
         VALUES (?1, ?2, ?2, -?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![client.as_str(), ts])?;
    // The WHERE clause keeps seqs gapless: a write whose predecessor failed
    // is refused instead of stored after a hole. A customer message reopens
    // the conversation, starts (or continues) its wait, is one more unread
    // for the agents and lists it among the waiting, by the wait. An agent
    // message ends the wait (listed by activity), and the agent has read
    // everything up to their own reply. Setting the list order here rather
    // than by trigger saves a second update of the row per message.
    let moved = conn
        .prepare_cached(
            "UPDATE conversations
             SET last_seq = ?2, last_activity_at = ?3, last_from = ?4,
                 status = CASE WHEN ?4 = 0 THEN 'open' ELSE status END,
                 waiting_since = CASE WHEN ?4 = 0 THEN coalesce(waiting_since, ?3) ELSE NULL END,
                 agent_unread = CASE WHEN ?4 = 0 THEN agent_unread + 1 ELSE 0 END,
                 agent_read_seq = CASE WHEN ?4 = 0 THEN agent_read_seq ELSE ?2 END,
                 list_group = CASE WHEN ?4 = 0 THEN 0 ELSE 1 END,
                 list_key = CASE WHEN ?4 = 0 THEN coalesce(waiting_since, ?3) ELSE -?3 END,
                 anonymised_at = NULL
             WHERE client_id = ?1 AND last_seq = ?2 - 1",
        )?
        .execute(params![client.as_str(), seq, ts, m.from.code()])?;
    if moved == 1 {
        conn.prepare_cached(
            "INSERT INTO messages
                 (client_id, seq, from_role, text, ts, client_msg_id, author_id, author_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            client.as_str(),
            seq,
            m.from.code(),
            m.text,
            ts,
            m.id,
            m.author.as_ref().map(|a| a.id.0),
            m.author.as_ref().map(|a| a.name.as_str()),
        ])?;
    }
    Ok(moved == 1)
}

/// Moves `role`'s read mark forward to `seq` (at most the last seq). For the
/// agents, the unread count becomes the customer messages after the new
/// mark: a range of this conversation's keys, not a scan.
fn mark_read(conn: &Connection, client: &ClientId, role: Role, seq: u64) -> rusqlite::Result<bool> {
    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
    let sql = match role {
        Role::Customer => {
            "UPDATE conversations
             SET customer_read_seq = max(customer_read_seq, min(?2, last_seq))
             WHERE client_id = ?1"
        }
        Role::Agent => {
            "UPDATE conversations
             SET agent_read_seq = max(agent_read_seq, min(?2, last_seq)),
                 agent_unread = (SELECT count(*) FROM messages m
                                 WHERE m.client_id = ?1 AND m.from_role = 0
                                   AND m.seq > max(conversations.agent_read_seq,
                                                   min(?2, conversations.last_seq)))
             WHERE client_id = ?1"
        }
    };
    Ok(conn
        .prepare_cached(sql)?
        .execute(params![client.as_str(), seq])?
        == 1)
}

fn set_status(
    conn: &Connection,
    client: &ClientId,
    status: ConversationStatus,
) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE conversations SET status = ?2 WHERE client_id = ?1")?
        .execute(params![client.as_str(), status.as_str()])?
        == 1)
}

/// What an anonymised message says instead of its text.
pub const ANONYMISED_TEXT: &str = "[removed]";

/// Deletes the conversation and its messages. With `secure_delete` on (see
/// `open`) the freed bytes are zeroed, and the commit checkpoints them into
/// the database file.
fn erase(conn: &Connection, client: &ClientId) -> rusqlite::Result<bool> {
    conn.prepare_cached("DELETE FROM messages WHERE client_id = ?1")?
        .execute([client.as_str()])?;
    Ok(conn
        .prepare_cached("DELETE FROM conversations WHERE client_id = ?1")?
        .execute([client.as_str()])?
        == 1)
}

/// Replaces the texts and client message ids; the numbering, roles, times
/// and every counter stay.
fn anonymise(conn: &Connection, client: &ClientId) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "UPDATE messages SET text = ?2, client_msg_id = NULL WHERE client_id = ?1",
    )?
    .execute(params![client.as_str(), ANONYMISED_TEXT])?;
    Ok(conn
        .prepare_cached("UPDATE conversations SET anonymised_at = ?2 WHERE client_id = ?1")?
        .execute(params![
            client.as_str(),
            crate::domain::now_millis().timestamp_millis()
        ])?
        == 1)
}
