//! Reads: a conversation's snapshot and history, and the agents' list.
//! The list never counts messages: it reads the counters the writes keep
//! and walks the index of its own order.

use chrono::DateTime;
use rusqlite::types::{Type, Value};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::domain::{
    preview, AgentId, Author, ChatMessage, ClientId, Contact, ConversationStatus,
    ConversationSummary, Label, Lang, Role, Totals,
};
use crate::store::list_filter::{ListFilter, ListSql};
use crate::store::{ListPage, ListQuery, Snapshot, StoreError, MAX_KNOWN_IDS};

pub(super) const MESSAGE_COLUMNS: &str = "seq, from_role, text, ts, client_msg_id, author_id, \
     author_name, private, event, prev_public, attachments";

pub(super) fn message_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    let role_code: i64 = row.get(1)?;
    let ts_ms: i64 = row.get(3)?;
    Ok(ChatMessage {
        seq: row.get::<_, i64>(0)? as u64,
        from: Role::from_code(role_code)
            .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(1, role_code))?,
        text: row.get(2)?,
        ts: DateTime::from_timestamp_millis(ts_ms)
            .ok_or(rusqlite::Error::IntegralValueOutOfRange(3, ts_ms))?,
        id: row.get(4)?,
        author: match (
            row.get::<_, Option<i64>>(5)?,
            row.get::<_, Option<String>>(6)?,
        ) {
            (Some(id), Some(name)) => Some(Author {
                id: AgentId(id),
                name,
            }),
            _ => None,
        },
        private: row.get::<_, i64>(7)? != 0,
        event: match row.get::<_, Option<String>>(8)? {
            Some(json) => Some(Box::new(serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(8, Type::Text, Box::new(e))
            })?)),
            None => None,
        },
        prev_public: match row.get::<_, Option<i64>>(9)? {
            Some(prev) => prev as u64,
            None => (row.get::<_, i64>(0)? as u64).saturating_sub(1),
        },
        attachments: match row.get::<_, Option<String>>(10)? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(10, Type::Text, Box::new(e))
            })?,
            None => Vec::new(),
        },
    })
}

/// Up to `limit` items `reader` may see with `seq < before`: newest first
/// from SQL, returned oldest first.
pub(super) fn before(
    conn: &Connection,
    client: &ClientId,
    before: u64,
    limit: usize,
    reader: Role,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let hidden = match reader {
        Role::Agent => "",
        Role::Customer => "AND private = 0",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE client_id = ?1 AND seq < ?2 {hidden} ORDER BY seq DESC LIMIT ?3"
    ))?;
    let before = i64::try_from(before).unwrap_or(i64::MAX);
    let mut messages = stmt
        .query_map(
            params![client.as_str(), before, limit as i64],
            message_from_row,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    messages.reverse();
    Ok(messages)
}

pub(super) fn after(
    conn: &Connection,
    client: &ClientId,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE client_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
    ))?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = stmt.query_map(
        params![client.as_str(), after, limit as i64],
        message_from_row,
    )?;
    rows.collect()
}

pub(super) fn find_by_client_id(
    conn: &Connection,
    client: &ClientId,
    role: Role,
    id: &str,
) -> rusqlite::Result<Option<ChatMessage>> {
    conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE client_id = ?1 AND from_role = ?2 AND client_msg_id = ?3"
    ))?
    .query_row(params![client.as_str(), role.code(), id], message_from_row)
    .optional()
}

pub(super) fn load(
    conn: &Connection,
    client: &ClientId,
    recent: usize,
) -> rusqlite::Result<Snapshot> {
    let row = conn
        .prepare_cached(
            "SELECT last_seq, status, customer_read_seq, agent_read_seq, assignee_id,
                    (SELECT name FROM agents a WHERE a.id = c.assignee_id)
             FROM conversations c WHERE client_id = ?1",
        )?
        .query_row([client.as_str()], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, i64>(3)? as u64,
                author_at(r, 4)?,
            ))
        })
        .optional()?;
    let contact = contact(conn, client)?;
    let Some((last_seq, status, customer_read_seq, agent_read_seq, assignee)) = row else {
        return Ok(Snapshot {
            known_ids_complete: true,
            contact,
            ..Snapshot::default()
        });
    };
    // Any order will do: beyond the cap the set is marked incomplete.
    let known_ids = conn
        .prepare_cached(
            "SELECT from_role, client_msg_id FROM messages
             WHERE client_id = ?1 AND client_msg_id IS NOT NULL LIMIT ?2",
        )?
        .query_map(params![client.as_str(), MAX_KNOWN_IDS as i64 + 1], |r| {
            let role: i64 = r.get(0)?;
            let role =
                Role::from_code(role).ok_or(rusqlite::Error::IntegralValueOutOfRange(0, role))?;
            Ok((role, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // The newest item the customer sees: a walk back from the newest,
    // which stops at once unless notes and events came last.
    let last_public_seq = conn
        .prepare_cached(
            "SELECT seq FROM messages WHERE client_id = ?1 AND private = 0
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([client.as_str()], |r| r.get::<_, i64>(0))
        .optional()?
        .unwrap_or(0) as u64;
    Ok(Snapshot {
        last_seq,
        last_public_seq,
        recent: before(conn, client, last_seq + 1, recent, Role::Agent)?,
        status: ConversationStatus::parse(&status).unwrap_or_default(),
        customer_read_seq,
        agent_read_seq,
        assignee,
        known_ids_complete: known_ids.len() <= MAX_KNOWN_IDS,
        known_ids,
        contact,
    })
}

/// The stored contact details of `client` (empty if none).
fn contact(conn: &Connection, client: &ClientId) -> rusqlite::Result<Contact> {
    let row = conn
        .prepare_cached("SELECT name, email, lang, transcript FROM contacts WHERE client_id = ?1")?
        .query_row([client.as_str()], |r| {
            let lang = r.get::<_, Option<String>>(2)?;
            Ok(Contact {
                lang: lang.as_deref().and_then(Lang::parse),
                transcript: r.get(3)?,
                ..Contact::from_stored(r.get::<_, Option<String>>(0)?, r.get(1)?)
            })
        })
        .optional()?;
    Ok(row.unwrap_or_default())
}

/// Summary columns of `conversations c`; the preview is the newest
/// message, found by its key (one without text shows its files' names).
const SUMMARY_COLUMNS: &str = "
    SELECT c.client_id, c.status, c.waiting_since, c.created_at, c.last_activity_at,
           c.last_seq, c.last_from,
           (SELECT CASE WHEN trim(text) = '' AND attachments IS NOT NULL
                        THEN '📎 ' || (SELECT group_concat(json_extract(value, '$.name'), ', ')
                                       FROM json_each(m.attachments))
                        ELSE text END
              FROM messages m WHERE m.client_id = c.client_id AND m.seq <= c.last_seq
                AND m.private = 0 AND m.event IS NULL ORDER BY m.seq DESC LIMIT 1),
           c.agent_unread, c.customer_read_seq, c.agent_read_seq,
           c.assignee_id, (SELECT name FROM agents a WHERE a.id = c.assignee_id),
           (SELECT json_group_array(json_object('id', l.id, 'name', l.name, 'color', l.color))
            FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
            WHERE cl.client_id = c.client_id),
           (SELECT name FROM contacts ct WHERE ct.client_id = c.client_id),
           (SELECT email FROM contacts ct WHERE ct.client_id = c.client_id)";

/// A list query as SQL. The inner query walks the `conversations_by_list`
/// index (`conversations_by_status` when filtered) in the list's order and
/// reads nothing else, since the index holds every column it filters on;
/// only the page's rows are then looked up. (Reading the table row of every
/// entry walked, as one flat query does on a WITHOUT ROWID table, made a
/// search without matches several times slower.) Each clause is present only
/// when used: `?n IS NULL OR …` would keep SQLite from seeking the index.
pub(super) struct ListPlan {
    pub(super) sql: String,
    pub(super) filter: ListFilter<Value>,
}

/// How SQLite spells the list's filter: numbered parameters, the columns of
/// `conversations` (the inner query reads no other table).
struct Sqlite;

impl ListSql for Sqlite {
    type Value = Value;
    const COLUMNS: &'static str = "";

    fn text(value: String) -> Value {
        Value::Text(value)
    }

    fn int(value: i64) -> Value {
        Value::Integer(value)
    }

    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    /// LIKE ignores ASCII case. A correlated EXISTS (one key lookup per
    /// row walked) keeps the walk of the list's index; `IN (SELECT …)` made
    /// SQLite drop it and sort.
    fn search(p: &str) -> String {
        format!(
            r"(client_id LIKE {p} ESCAPE '\' OR EXISTS
               (SELECT 1 FROM contacts ct WHERE ct.client_id = conversations.client_id
                AND (ct.name LIKE {p} ESCAPE '\' OR ct.email LIKE {p} ESCAPE '\')))"
        )
    }
}

impl ListPlan {
    pub(super) fn new(query: &ListQuery) -> Result<ListPlan, StoreError> {
        let filter = ListFilter::new::<Sqlite>(query)?;
        let (filter_sql, limit) = (&filter.where_sql, &filter.limit);
        Ok(ListPlan {
            sql: format!(
                "{SUMMARY_COLUMNS}
                 FROM (SELECT client_id, list_group, list_key FROM conversations {filter_sql}
                       ORDER BY list_group, list_key, client_id LIMIT {limit}) p
                 JOIN conversations c ON c.client_id = p.client_id
                 ORDER BY p.list_group, p.list_key, p.client_id"
            ),
            filter,
        })
    }

    pub(super) fn run(&self, conn: &Connection) -> rusqlite::Result<ListPage> {
        let items = conn
            .prepare_cached(&self.sql)?
            .query_map(params_from_iter(&self.filter.values), summary_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(self.filter.page(items))
    }
}

pub(super) fn summaries_of(
    conn: &Connection,
    clients: &[ClientId],
) -> rusqlite::Result<Vec<ConversationSummary>> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SUMMARY_COLUMNS} FROM conversations c WHERE c.client_id = ?1"
    ))?;
    let mut out = Vec::with_capacity(clients.len());
    for client in clients {
        if let Some(summary) = stmt
            .query_row([client.as_str()], summary_from_row)
            .optional()?
        {
            out.push(summary);
        }
    }
    Ok(out)
}

/// One row, kept by the triggers of schema 2.
pub(super) fn totals(conn: &Connection) -> rusqlite::Result<Totals> {
    conn.prepare_cached("SELECT unread, waiting FROM totals")?
        .query_row([], |r| {
            Ok(Totals {
                unread: r.get::<_, i64>(0)? as u64,
                waiting: r.get::<_, i64>(1)? as u64,
            })
        })
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    let ms = |i: usize| -> rusqlite::Result<chrono::DateTime<chrono::Utc>> {
        let v: i64 = row.get(i)?;
        DateTime::from_timestamp_millis(v).ok_or(rusqlite::Error::IntegralValueOutOfRange(i, v))
    };
    let client: String = row.get(0)?;
    let status: String = row.get(1)?;
    let status = ConversationStatus::parse(&status).unwrap_or_default();
    let waiting_since = match row.get::<_, Option<i64>>(2)? {
        Some(_) => Some(ms(2)?),
        None => None,
    };
    let text: Option<String> = row.get(7)?;
    Ok(ConversationSummary {
        client_id: ClientId::parse(&client)
            .map_err(|_| rusqlite::Error::InvalidColumnName(client.clone()))?,
        status,
        waiting: status == ConversationStatus::Open && waiting_since.is_some(),
        waiting_since,
        created: ms(3)?,
        last_activity: ms(4)?,
        last_seq: row.get::<_, i64>(5)? as u64,
        last_from: row.get::<_, Option<i64>>(6)?.and_then(Role::from_code),
        preview: preview(text.as_deref().unwrap_or("")),
        unread: row.get::<_, i64>(8)? as u64,
        customer_read_seq: row.get::<_, i64>(9)? as u64,
        agent_read_seq: row.get::<_, i64>(10)? as u64,
        customer_online: false,
        assignee: author_at(row, 11)?,
        labels: {
            let json: Option<String> = row.get(13)?;
            let mut labels: Vec<Label> = match json {
                Some(json) => serde_json::from_str(&json).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(13, Type::Text, Box::new(e))
                })?,
                None => Vec::new(),
            };
            labels.sort_by_key(|l| l.name.to_lowercase());
            labels
        },
        contact: Some(Contact::from_stored(row.get(14)?, row.get(15)?)).filter(|c| !c.is_empty()),
    })
}

/// An agent from an id column and the name column after it (NULL: none).
fn author_at(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Author>> {
    Ok(match row.get::<_, Option<i64>>(i)? {
        Some(id) => Some(Author {
            id: AgentId(id),
            // An agent row is never deleted; a name is always there.
            name: row.get::<_, Option<String>>(i + 1)?.unwrap_or_default(),
        }),
        None => None,
    })
}
