//! Writes, all inside the writer's one transaction per batch. Each keeps the
//! conversation's counters (`agent_unread`, the read marks, the wait) up to
//! date as it goes; the schema's triggers carry the changes to `totals`.

use rusqlite::{params, Connection};

use crate::domain::{
    now_millis, AgentId, ChatMessage, ClientId, Contact, ConversationStatus, Notice, Role,
};
use crate::store::{Write, WriteOp};

/// The writes of one transaction; per write, whether it was applied.
pub(super) fn apply(conn: &Connection, writes: &[Write<'_>]) -> rusqlite::Result<Vec<bool>> {
    // Once a message of a conversation is refused, so are its later ones in
    // the batch: they were written assuming it (with several writers,
    // another one's message may take its seq and let the next one through).
    let mut refused: Vec<&ClientId> = Vec::new();
    writes
        .iter()
        .map(|w| match w.op {
            WriteOp::Message(_) if refused.contains(&w.client) => Ok(false),
            WriteOp::Message(m) => {
                let stored = store_message(conn, w.client, m)?;
                if !stored {
                    refused.push(w.client);
                }
                Ok(stored)
            }
            WriteOp::Read { role, seq } => mark_read(conn, w.client, *role, *seq),
            WriteOp::Status(status) => set_status(conn, w.client, *status),
            WriteOp::ResolveWithTranscript(notice) => {
                let resolved = set_status(conn, w.client, ConversationStatus::Resolved)?;
                if resolved {
                    queue_notice(conn, w.client, notice)?;
                }
                Ok(resolved)
            }
            WriteOp::Contact(contact) => set_contact(conn, w.client, contact),
            WriteOp::Assign(agent) => assign(conn, w.client, *agent),
            WriteOp::Erase => erase(conn, w.client),
            WriteOp::Anonymise => anonymise(conn, w.client),
        })
        .collect()
}

/// Stores one message if it directly follows the conversation's last seq.
fn store_message(conn: &Connection, client: &ClientId, m: &ChatMessage) -> rusqlite::Result<bool> {
    let ts = m.ts.timestamp_millis();
    let seq = m.seq as i64;
    if !claimable(conn, client, m)? || is_stored(conn, client, m)? {
        return Ok(false);
    }
    if seq == 1 {
        // A new conversation is open and not waiting: listed by its activity.
        conn.prepare_cached(
            "INSERT INTO conversations (client_id, created_at, last_activity_at, list_key)
             VALUES (?1, ?2, ?2, -?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![client.as_str(), ts])?;
    }
    let moved = if m.is_chat() {
        chat_turn(conn, client, m, seq, ts)?
    } else {
        // A note or an event answers nobody: the wait, the unread count,
        // the preview and the list order stay as the chat left them.
        conn.prepare_cached(
            "UPDATE conversations SET last_seq = ?2, anonymised_at = NULL
             WHERE client_id = ?1 AND last_seq = ?2 - 1",
        )?
        .execute(params![client.as_str(), seq])?
    };
    if moved == 1 {
        let event = match &m.event {
            Some(event) => Some(
                serde_json::to_string(event)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            ),
            None => None,
        };
        let attachments = if m.attachments.is_empty() {
            None
        } else {
            for a in &m.attachments {
                conn.prepare_cached(
                    "UPDATE attachments SET seq = ?3 WHERE id = ?1 AND client_id = ?2",
                )?
                .execute(params![a.id.as_str(), client.as_str(), seq])?;
            }
            Some(
                serde_json::to_string(&m.attachments)
                    .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            )
        };
        conn.prepare_cached(
            "INSERT INTO messages
                 (client_id, seq, from_role, text, ts, client_msg_id, author_id, author_name,
                  private, event, prev_public, attachments)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
            m.private,
            event,
            m.customer_sees().then_some(m.prev_public as i64),
            attachments,
        ])?;
    }
    Ok(moved == 1)
}

/// Whether a message with `m`'s client message id is stored already (by
/// another writer: a session never writes a known id twice).
fn is_stored(conn: &Connection, client: &ClientId, m: &ChatMessage) -> rusqlite::Result<bool> {
    let Some(id) = &m.id else {
        return Ok(false);
    };
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM messages
                        WHERE client_id = ?1 AND from_role = ?2 AND client_msg_id = ?3)",
    )?
    .query_row(params![client.as_str(), m.from.code(), id], |r| r.get(0))
}

/// Whether every file `m` sends is this conversation's, uploaded by the
/// same side and not sent by another message yet. The session checked
/// before; this keeps a file from ever belonging to two messages.
fn claimable(conn: &Connection, client: &ClientId, m: &ChatMessage) -> rusqlite::Result<bool> {
    for a in &m.attachments {
        let free: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM attachments
                 WHERE id = ?1 AND client_id = ?2 AND uploader = ?3 AND seq IS NULL",
            )?
            .query_row(
                params![a.id.as_str(), client.as_str(), m.from.code()],
                |r| r.get(0),
            )?;
        if free != 1 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Moves the conversation on by a chat message (not a note or an event);
/// 1 if it directly followed the last seq.
fn chat_turn(
    conn: &Connection,
    client: &ClientId,
    m: &ChatMessage,
    seq: i64,
    ts: i64,
) -> rusqlite::Result<usize> {
    let args = params![client.as_str(), seq, ts, m.from.code()];
    // Most messages continue what the one before did (a customer writes
    // again while waiting, an agent again after answering): then the list
    // order and status stay as they are, and an UPDATE that does not name
    // those columns leaves the two list indexes alone. Only a change of turn
    // (or new text in a conversation retention anonymised) takes the full
    // update below.
    let continued = match m.from {
        Role::Customer => {
            "UPDATE conversations
             SET last_seq = ?2, last_activity_at = ?3, agent_unread = agent_unread + 1
             WHERE client_id = ?1 AND last_seq = ?2 - 1 AND last_from = ?4
               AND status = 'open' AND waiting_since IS NOT NULL AND anonymised_at IS NULL"
        }
        Role::Agent => {
            "UPDATE conversations
             SET last_seq = ?2, last_activity_at = ?3, agent_read_seq = ?2, list_key = -?3
             WHERE client_id = ?1 AND last_seq = ?2 - 1 AND last_from = ?4
               AND waiting_since IS NULL AND agent_unread = 0 AND anonymised_at IS NULL"
        }
    };
    let mut moved = conn.prepare_cached(continued)?.execute(args)?;
    if moved == 0 {
        // The WHERE clause keeps seqs gapless: a write whose predecessor
        // failed is refused instead of stored after a hole. A customer
        // message reopens the conversation, starts (or continues) its wait,
        // is one more unread for the agents and lists it among the waiting,
        // by the wait. An agent message ends the wait (listed by activity),
        // and the agent has read everything up to their own reply. Setting
        // the list order here rather than by trigger saves a second update
        // of the row per message.
        moved = conn
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
            .execute(args)?;
    }
    Ok(moved)
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

/// Replaces the contact details; an empty contact removes the row.
fn set_contact(conn: &Connection, client: &ClientId, contact: &Contact) -> rusqlite::Result<bool> {
    if contact.is_empty() {
        conn.prepare_cached("DELETE FROM contacts WHERE client_id = ?1")?
            .execute([client.as_str()])?;
        return Ok(true);
    }
    conn.prepare_cached(
        "INSERT INTO contacts (client_id, name, email, updated_at, lang, transcript)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (client_id) DO UPDATE
         SET name = excluded.name, email = excluded.email, updated_at = excluded.updated_at,
             lang = excluded.lang, transcript = excluded.transcript",
    )?
    .execute(params![
        client.as_str(),
        contact.name.as_ref().map(|n| n.as_str()),
        contact.email.as_ref().map(|e| e.as_str()),
        now_millis().timestamp_millis(),
        contact.lang.map(|l| l.as_str()),
        contact.transcript,
    ])?;
    Ok(true)
}

/// Queues an email in the outbox; a notice already queued (same
/// conversation, kind and seq) stays as it is.
fn queue_notice(conn: &Connection, client: &ClientId, notice: &Notice) -> rusqlite::Result<()> {
    let now = now_millis().timestamp_millis();
    conn.prepare_cached(
        "INSERT INTO outbox (client_id, kind, seq, recipient, created_at, next_attempt_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?5
         WHERE NOT EXISTS (SELECT 1 FROM contacts WHERE client_id = ?1 AND email_optout = 1)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        client.as_str(),
        notice.kind.as_str(),
        i64::try_from(notice.seq).unwrap_or(i64::MAX),
        notice.to.as_str(),
        now,
    ])?;
    Ok(())
}

fn assign(conn: &Connection, client: &ClientId, agent: Option<AgentId>) -> rusqlite::Result<bool> {
    Ok(conn
        .prepare_cached("UPDATE conversations SET assignee_id = ?2 WHERE client_id = ?1")?
        .execute(params![client.as_str(), agent.map(|a| a.0)])?
        == 1)
}

/// What an anonymised message says instead of its text.
pub const ANONYMISED_TEXT: &str = "[removed]";

/// Deletes the conversation and its messages. With `secure_delete` on (see
/// `open`) the freed bytes are zeroed, and the commit checkpoints them into
/// the database file.
fn erase(conn: &Connection, client: &ClientId) -> rusqlite::Result<bool> {
    for sql in [
        "DELETE FROM messages WHERE client_id = ?1",
        "DELETE FROM messages_fts WHERE client_id = ?1",
        "DELETE FROM search_pending WHERE client_id = ?1",
        "DELETE FROM contacts WHERE client_id = ?1",
        "DELETE FROM conversation_labels WHERE client_id = ?1",
        "DELETE FROM attachments WHERE client_id = ?1",
        "DELETE FROM outbox WHERE client_id = ?1",
        "DELETE FROM reply_tokens WHERE client_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([client.as_str()])?;
    }
    Ok(conn
        .prepare_cached("DELETE FROM conversations WHERE client_id = ?1")?
        .execute([client.as_str()])?
        == 1)
}

/// Replaces the texts and client message ids; the numbering, roles, times
/// and every counter stay.
fn anonymise(conn: &Connection, client: &ClientId) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "UPDATE messages SET text = ?2, client_msg_id = NULL, attachments = NULL
         WHERE client_id = ?1",
    )?
    .execute(params![client.as_str(), ANONYMISED_TEXT])?;
    // Nothing of the old texts stays searchable; no contact details, and
    // no files (their content is as personal as a text).
    for sql in [
        "DELETE FROM messages_fts WHERE client_id = ?1",
        "DELETE FROM search_pending WHERE client_id = ?1",
        "DELETE FROM attachments WHERE client_id = ?1",
        "DELETE FROM contacts WHERE client_id = ?1",
        "DELETE FROM outbox WHERE client_id = ?1",
        "DELETE FROM reply_tokens WHERE client_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([client.as_str()])?;
    }
    Ok(conn
        .prepare_cached("UPDATE conversations SET anonymised_at = ?2 WHERE client_id = ?1")?
        .execute(params![
            client.as_str(),
            crate::domain::now_millis().timestamp_millis()
        ])?
        == 1)
}

/// Adds the messages queued since the last call to the search index, in
/// one go; returns how many. Run inside a transaction of the writer.
pub(super) fn index_pending(conn: &Connection) -> rusqlite::Result<usize> {
    let indexed = conn
        .prepare_cached(
            "INSERT INTO messages_fts (text, client_id, seq, private)
             SELECT m.text, m.client_id, m.seq, m.private
             FROM search_pending p JOIN messages m USING (client_id, seq)",
        )?
        .execute([])?;
    conn.prepare_cached("DELETE FROM search_pending")?
        .execute([])?;
    Ok(indexed)
}
