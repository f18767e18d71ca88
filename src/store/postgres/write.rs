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

use super::conn::Conn;
use super::i64_of;
use super::messages::{plain_message, store_message, store_run};
use crate::domain::{now_millis, AgentId, ClientId, Contact, ConversationStatus, Notice, Role};
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
    Ok(conn.execute(sql, &[&client.as_str(), &i64_of(seq)]).await? == 1)
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
            &i64_of(notice.seq),
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
