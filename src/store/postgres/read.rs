//! Reads: a conversation's snapshot and history, and the agents' list, as
//! the SQLite backend's `read.rs` does them (same order, same counters).

use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::conn::Conn;
use super::{corrupt, i64_of};
use crate::domain::{
    preview, AgentId, Author, ChatMessage, ClientId, Contact, ConversationStatus,
    ConversationSummary, Label, Lang, Role, Totals,
};
use crate::store::list_filter::{ListFilter, ListSql};
use crate::store::{ListPage, ListQuery, Snapshot, StoreError, MAX_KNOWN_IDS};

pub(super) const MESSAGE_COLUMNS: &str = "seq, from_role, text, ts, client_msg_id, author_id, \
     author_name, private, event, prev_public, attachments";

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn time_of(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| corrupt(format!("time {ms}")))
}

fn role_of(code: i64) -> Result<Role, StoreError> {
    Role::from_code(code).ok_or_else(|| corrupt(format!("role {code}")))
}

/// A message from the columns of [`MESSAGE_COLUMNS`], from `at` on.
pub(super) fn message_from_row(row: &Row, at: usize) -> Result<ChatMessage, StoreError> {
    let seq = u64_of(row.try_get(at)?);
    Ok(ChatMessage {
        seq,
        from: role_of(row.try_get(at + 1)?)?,
        text: row.try_get(at + 2)?,
        ts: time_of(row.try_get(at + 3)?)?,
        id: row.try_get(at + 4)?,
        author: match (
            row.try_get::<_, Option<i64>>(at + 5)?,
            row.try_get::<_, Option<String>>(at + 6)?,
        ) {
            (Some(id), Some(name)) => Some(Author {
                id: AgentId(id),
                name,
            }),
            _ => None,
        },
        private: row.try_get::<_, i64>(at + 7)? != 0,
        event: match row.try_get::<_, Option<String>>(at + 8)? {
            Some(json) => Some(Box::new(serde_json::from_str(&json).map_err(corrupt)?)),
            None => None,
        },
        prev_public: match row.try_get::<_, Option<i64>>(at + 9)? {
            Some(prev) => u64_of(prev),
            None => seq.saturating_sub(1),
        },
        attachments: match row.try_get::<_, Option<String>>(at + 10)? {
            Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
            None => Vec::new(),
        },
    })
}

fn messages(rows: Vec<Row>) -> Result<Vec<ChatMessage>, StoreError> {
    rows.iter().map(|r| message_from_row(r, 0)).collect()
}

/// Up to `limit` items `reader` may see with `seq < before`: newest first
/// from SQL, returned oldest first.
pub(super) async fn before(
    conn: &mut Conn,
    client: &ClientId,
    before: u64,
    limit: usize,
    reader: Role,
) -> Result<Vec<ChatMessage>, StoreError> {
    let hidden = match reader {
        Role::Agent => "",
        Role::Customer => "AND private = 0",
    };
    let rows = conn
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE client_id = $1 AND seq < $2 {hidden} ORDER BY seq DESC LIMIT $3"
            ),
            &[&client.as_str(), &i64_of(before), &i64_of(limit as u64)],
        )
        .await?;
    let mut messages = messages(rows)?;
    messages.reverse();
    Ok(messages)
}

pub(super) async fn after(
    conn: &mut Conn,
    client: &ClientId,
    after: u64,
    limit: usize,
) -> Result<Vec<ChatMessage>, StoreError> {
    let rows = conn
        .query(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE client_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ),
            &[&client.as_str(), &i64_of(after), &i64_of(limit as u64)],
        )
        .await?;
    messages(rows)
}

pub(super) async fn find_by_client_id(
    conn: &mut Conn,
    client: &ClientId,
    role: Role,
    id: &str,
) -> Result<Option<ChatMessage>, StoreError> {
    let row = conn
        .query_opt(
            &format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages
                 WHERE client_id = $1 AND from_role = $2 AND client_msg_id = $3"
            ),
            &[&client.as_str(), &role.code(), &id],
        )
        .await?;
    row.map(|r| message_from_row(&r, 0)).transpose()
}

pub(super) async fn load(
    conn: &mut Conn,
    client: &ClientId,
    recent: usize,
) -> Result<Snapshot, StoreError> {
    let row = conn
        .query_opt(
            "SELECT last_seq, status, customer_read_seq, agent_read_seq, assignee_id,
                    (SELECT name FROM agents a WHERE a.id = c.assignee_id)
             FROM conversations c WHERE client_id = $1",
            &[&client.as_str()],
        )
        .await?;
    let contact = contact(conn, client).await?;
    let Some(row) = row else {
        return Ok(Snapshot {
            known_ids_complete: true,
            contact,
            ..Snapshot::default()
        });
    };
    let last_seq = u64_of(row.try_get(0)?);
    let status: String = row.try_get(1)?;
    // Any order will do: beyond the cap the set is marked incomplete.
    let known_ids = conn
        .query(
            "SELECT from_role, client_msg_id FROM messages
             WHERE client_id = $1 AND client_msg_id IS NOT NULL LIMIT $2",
            &[&client.as_str(), &(MAX_KNOWN_IDS as i64 + 1)],
        )
        .await?
        .iter()
        .map(|r| Ok((role_of(r.try_get(0)?)?, r.try_get::<_, String>(1)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let last_public_seq = conn
        .query_opt(
            "SELECT seq FROM messages WHERE client_id = $1 AND private = 0
             ORDER BY seq DESC LIMIT 1",
            &[&client.as_str()],
        )
        .await?
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map_or(0, u64_of);
    Ok(Snapshot {
        last_seq,
        last_public_seq,
        recent: before(conn, client, last_seq + 1, recent, Role::Agent).await?,
        status: ConversationStatus::parse(&status).unwrap_or_default(),
        customer_read_seq: u64_of(row.try_get(2)?),
        agent_read_seq: u64_of(row.try_get(3)?),
        assignee: author_at(&row, 4)?,
        known_ids_complete: known_ids.len() <= MAX_KNOWN_IDS,
        known_ids,
        contact,
    })
}

/// The stored contact details of `client` (empty if none).
async fn contact(conn: &mut Conn, client: &ClientId) -> Result<Contact, StoreError> {
    let row = conn
        .query_opt(
            "SELECT name, email, lang, transcript FROM contacts WHERE client_id = $1",
            &[&client.as_str()],
        )
        .await?;
    let Some(row) = row else {
        return Ok(Contact::default());
    };
    let lang: Option<String> = row.try_get(2)?;
    Ok(Contact {
        lang: lang.as_deref().and_then(Lang::parse),
        transcript: row.try_get::<_, i64>(3)? != 0,
        ..Contact::from_stored(row.try_get(0)?, row.try_get(1)?)
    })
}

/// Summary columns of `conversations c`; the preview is the newest
/// message, found by its key (one without text shows its files' names).
pub(super) const SUMMARY_COLUMNS: &str = "
    SELECT c.client_id, c.status, c.waiting_since, c.created_at, c.last_activity_at,
           c.last_seq, c.last_from,
           (SELECT CASE WHEN trim(text) = '' AND attachments IS NOT NULL
                        THEN '📎 ' || (SELECT string_agg(f->>'name', ', ')
                                       FROM json_array_elements(m.attachments::json) f)
                        ELSE text END
              FROM messages m WHERE m.client_id = c.client_id AND m.seq <= c.last_seq
                AND m.private = 0 AND m.event IS NULL ORDER BY m.seq DESC LIMIT 1),
           c.agent_unread, c.customer_read_seq, c.agent_read_seq,
           c.assignee_id, (SELECT name FROM agents a WHERE a.id = c.assignee_id),
           (SELECT json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color))::text
            FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id
            WHERE cl.client_id = c.client_id),
           ct.name, ct.email";

/// What follows [`SUMMARY_COLUMNS`]'s select list: the contact's join.
const SUMMARY_FROM: &str =
    "FROM conversations c LEFT JOIN contacts ct ON ct.client_id = c.client_id";

/// How PostgreSQL spells the list's filter: `$n` parameters, columns of
/// `conversations c`, the contact joined in.
struct Pg;

impl ListSql for Pg {
    type Value = Box<dyn ToSql + Sync + Send>;
    const COLUMNS: &'static str = "c.";

    fn text(value: String) -> Self::Value {
        Box::new(value)
    }

    fn int(value: i64) -> Self::Value {
        Box::new(value)
    }

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn search(p: &str) -> String {
        format!(
            r"(c.client_id ILIKE {p} ESCAPE '\' OR ct.name ILIKE {p} ESCAPE '\'
               OR ct.email ILIKE {p} ESCAPE '\')"
        )
    }
}

/// A list query as SQL: the list's index walked in its order, filtered.
pub(super) struct ListPlan {
    sql: String,
    filter: ListFilter<Box<dyn ToSql + Sync + Send>>,
}

impl ListPlan {
    pub(super) fn new(query: &ListQuery) -> Result<ListPlan, StoreError> {
        let filter = ListFilter::new::<Pg>(query)?;
        let (filter_sql, limit) = (&filter.where_sql, &filter.limit);
        Ok(ListPlan {
            sql: format!(
                "{SUMMARY_COLUMNS} {SUMMARY_FROM} {filter_sql}
                 ORDER BY c.list_group, c.list_key, c.client_id LIMIT {limit}"
            ),
            filter,
        })
    }

    pub(super) async fn run(&self, conn: &mut Conn) -> Result<ListPage, StoreError> {
        let params: Vec<&(dyn ToSql + Sync)> = self
            .filter
            .values
            .iter()
            .map(|v| &**v as &(dyn ToSql + Sync))
            .collect();
        let rows = conn.query(&self.sql, &params).await?;
        let items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.filter.page(items))
    }
}

/// The summaries of `clients`, in that order (missing ones skipped).
pub(super) async fn summaries_of(
    conn: &mut Conn,
    clients: &[ClientId],
) -> Result<Vec<ConversationSummary>, StoreError> {
    let ids: Vec<&str> = clients.iter().map(ClientId::as_str).collect();
    let rows = conn
        .query(
            &format!(
                "{SUMMARY_COLUMNS}, array_position($1::text[], c.client_id::text) AS nth
                 {SUMMARY_FROM} WHERE c.client_id = ANY($1) ORDER BY nth"
            ),
            &[&ids],
        )
        .await?;
    rows.iter().map(summary_from_row).collect()
}

/// Summed over the open conversations (an index-only walk).
pub(super) async fn totals(conn: &mut Conn) -> Result<Totals, StoreError> {
    let row = conn
        .query_one(
            "SELECT coalesce(sum(agent_unread), 0)::bigint, count(waiting_since)
             FROM conversations WHERE status = 'open'",
            &[],
        )
        .await?;
    Ok(Totals {
        unread: u64_of(row.try_get(0)?),
        waiting: u64_of(row.try_get(1)?),
    })
}

pub(super) fn summary_from_row(row: &Row) -> Result<ConversationSummary, StoreError> {
    let client: String = row.try_get(0)?;
    let status: String = row.try_get(1)?;
    let status = ConversationStatus::parse(&status).unwrap_or_default();
    let waiting_since = row.try_get::<_, Option<i64>>(2)?.map(time_of).transpose()?;
    let text: Option<String> = row.try_get(7)?;
    let mut labels: Vec<Label> = match row.try_get::<_, Option<String>>(13)? {
        Some(json) => serde_json::from_str(&json).map_err(corrupt)?,
        None => Vec::new(),
    };
    labels.sort_by_key(|l| l.name.to_lowercase());
    Ok(ConversationSummary {
        client_id: ClientId::parse(&client).map_err(|_| corrupt(&client))?,
        status,
        waiting: status == ConversationStatus::Open && waiting_since.is_some(),
        waiting_since,
        created: time_of(row.try_get(3)?)?,
        last_activity: time_of(row.try_get(4)?)?,
        last_seq: u64_of(row.try_get(5)?),
        last_from: row.try_get::<_, Option<i64>>(6)?.and_then(Role::from_code),
        preview: preview(text.as_deref().unwrap_or("")),
        unread: u64_of(row.try_get(8)?),
        customer_read_seq: u64_of(row.try_get(9)?),
        agent_read_seq: u64_of(row.try_get(10)?),
        customer_online: false,
        assignee: author_at(row, 11)?,
        labels,
        contact: Some(Contact::from_stored(row.try_get(14)?, row.try_get(15)?))
            .filter(|c| !c.is_empty()),
    })
}

/// An agent from an id column and the name column after it (NULL: none).
fn author_at(row: &Row, i: usize) -> Result<Option<Author>, StoreError> {
    Ok(match row.try_get::<_, Option<i64>>(i)? {
        Some(id) => Some(Author {
            id: AgentId(id),
            name: row.try_get::<_, Option<String>>(i + 1)?.unwrap_or_default(),
        }),
        None => None,
    })
}
