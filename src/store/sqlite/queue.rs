//! Reads for routing: the queue, an agent's open conversations, and the
//! conversations per assignee (the views' counts and agents' loads).

use rusqlite::Connection;

use crate::domain::{AgentId, AssigneeCounts, ClientId, ConversationStatus};

/// Waiting (list group 0), open and unassigned, by the wait (list key):
/// a range of `conversations_by_status_assignee`.
pub(super) fn queue(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<ClientId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT client_id FROM conversations
         WHERE status = 'open' AND assignee_id IS NULL AND list_group = 0
         ORDER BY list_key, client_id LIMIT ?1",
    )?;
    let ids = client_ids(stmt.query([limit as i64])?);
    ids
}

pub(super) fn assigned_to(conn: &Connection, agent: AgentId) -> rusqlite::Result<Vec<ClientId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT client_id FROM conversations WHERE status = 'open' AND assignee_id = ?1",
    )?;
    let ids = client_ids(stmt.query([agent.0])?);
    ids
}

/// The client ids of the first column (ids the store holds are valid).
fn client_ids(mut rows: rusqlite::Rows<'_>) -> rusqlite::Result<Vec<ClientId>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        out.push(ClientId::parse(&id).map_err(|_| rusqlite::Error::InvalidColumnName(id))?);
    }
    Ok(out)
}

/// Conversations per assignee: one walk of an index that holds both.
pub(super) fn assignee_counts(
    conn: &Connection,
    status: Option<ConversationStatus>,
) -> rusqlite::Result<AssigneeCounts> {
    let mut counts = AssigneeCounts::default();
    let mut tally = |row: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
        let n = row.get::<_, i64>(1)? as u64;
        match row.get::<_, Option<i64>>(0)? {
            Some(id) => {
                counts.by_agent.insert(AgentId(id), n);
            }
            None => counts.unassigned = n,
        }
        Ok(())
    };
    match status {
        Some(status) => {
            let mut stmt = conn.prepare_cached(
                "SELECT assignee_id, count(*) FROM conversations WHERE status = ?1
                 GROUP BY assignee_id",
            )?;
            let mut rows = stmt.query([status.as_str()])?;
            while let Some(row) = rows.next()? {
                tally(row)?;
            }
        }
        None => {
            let mut stmt = conn.prepare_cached(
                "SELECT assignee_id, count(*) FROM conversations GROUP BY assignee_id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                tally(row)?;
            }
        }
    }
    Ok(counts)
}
