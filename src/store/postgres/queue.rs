//! Reads for routing: the queue, an agent's open conversations, and the
//! conversations per assignee.

use super::conn::Conn;
use super::corrupt;
use crate::domain::{AgentId, AssigneeCounts, ClientId, ConversationStatus};
use crate::store::StoreError;

/// Waiting (list group 0), open and unassigned, by the wait.
pub(super) async fn queue(conn: &mut Conn, limit: usize) -> Result<Vec<ClientId>, StoreError> {
    let rows = conn
        .query(
            "SELECT client_id FROM conversations
             WHERE status = 'open' AND assignee_id IS NULL AND list_group = 0
             ORDER BY list_key, client_id LIMIT $1",
            &[&(limit as i64)],
        )
        .await?;
    client_ids(&rows)
}

pub(super) async fn assigned_to(
    conn: &mut Conn,
    agent: AgentId,
) -> Result<Vec<ClientId>, StoreError> {
    let rows = conn
        .query(
            "SELECT client_id FROM conversations
             WHERE status = 'open' AND assignee_id = $1",
            &[&agent.0],
        )
        .await?;
    client_ids(&rows)
}

fn client_ids(rows: &[tokio_postgres::Row]) -> Result<Vec<ClientId>, StoreError> {
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0)?;
            ClientId::parse(&id).map_err(|_| corrupt(&id))
        })
        .collect()
}

/// Conversations per assignee, of one status or all.
pub(super) async fn assignee_counts(
    conn: &mut Conn,
    status: Option<ConversationStatus>,
) -> Result<AssigneeCounts, StoreError> {
    let rows = conn
        .query(
            "SELECT assignee_id, count(*) FROM conversations
             WHERE $1::text IS NULL OR status = $1
             GROUP BY assignee_id",
            &[&status.map(ConversationStatus::as_str)],
        )
        .await?;
    let mut counts = AssigneeCounts::default();
    for row in rows {
        let n = u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0);
        match row.try_get::<_, Option<i64>>(0)? {
            Some(id) => {
                counts.by_agent.insert(AgentId(id), n);
            }
            None => counts.unassigned = n,
        }
    }
    Ok(counts)
}
