//! Full-text search over the FTS5 index of message and note texts.

use rusqlite::{params, Connection, OptionalExtension};

use super::read::{message_from_row, summaries_of, MESSAGE_COLUMNS};
use crate::domain::ClientId;
use crate::store::list_filter::MAX_PAGE;
use crate::store::search::{fragments, MATCH_END, MATCH_START};
use crate::store::{SearchHit, SearchPage, SearchQuery};

/// Matches looked at per search, the newest first (the index's rowids grow
/// as messages are indexed), then ranked: enough for many pages of
/// conversations, and a bound on the work for a word in every message.
/// Taking the best 5,000 by rank instead had to rank every match: 0.2 s for
/// a word in one message of eight, 0.9 s for two common words, at
/// 1,000,000 messages.
const SEARCH_CANDIDATES: usize = 5000;

/// One hit per conversation (its best match by bm25), best first, a page.
pub(super) fn search(conn: &Connection, query: &SearchQuery) -> rusqlite::Result<SearchPage> {
    // Whole words when they match anything; else the last one is taken as
    // the start of a word (someone still typing it). A prefix of a common
    // word spans the doclists of every word it starts, so it is the slow
    // case: 1 s for "broken order*" at 1,000,000 messages.
    let (Some(exact), Some(prefix)) = (query.fts(false), query.fts(true)) else {
        return Ok(SearchPage::default());
    };
    let any = conn
        .prepare_cached("SELECT 1 FROM messages_fts WHERE messages_fts MATCH ?1 LIMIT 1")?
        .query_row([&exact], |_| Ok(()))
        .optional()?
        .is_some();
    let fts = if any { exact } else { prefix };
    let limit = query.limit.clamp(1, MAX_PAGE);
    let mut best = conn.prepare_cached(
        "SELECT client_id, seq, row FROM (
             SELECT client_id, seq, row, rank,
                    row_number() OVER (PARTITION BY client_id ORDER BY rank) AS nth
             FROM (SELECT client_id, seq, rowid AS row, rank FROM messages_fts
                   WHERE messages_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?4))
         WHERE nth = 1 ORDER BY rank, client_id LIMIT ?2 OFFSET ?3",
    )?;
    let found = best
        .query_map(
            params![
                fts,
                limit as i64 + 1,
                query.offset as i64,
                SEARCH_CANDIDATES as i64
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_offset = (found.len() > limit).then_some(query.offset + limit);
    let mut snippet = conn.prepare_cached(&format!(
        "SELECT snippet(messages_fts, 0, '{MATCH_START}', '{MATCH_END}', '…', 24)
         FROM messages_fts WHERE messages_fts MATCH ?1 AND rowid = ?2"
    ))?;
    let mut message = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE client_id = ?1 AND seq = ?2"
    ))?;
    let mut hits = Vec::with_capacity(limit);
    for (client, seq, row) in found.into_iter().take(limit) {
        let Ok(client) = ClientId::parse(&client) else {
            continue;
        };
        let text: String = snippet.query_row(params![fts, row], |r| r.get(0))?;
        let Some(found) = message
            .query_row(params![client.as_str(), seq], message_from_row)
            .optional()?
        else {
            continue;
        };
        let Some(conversation) = summaries_of(conn, std::slice::from_ref(&client))?.pop() else {
            continue;
        };
        hits.push(SearchHit {
            conversation,
            message: found,
            highlight: fragments(&text),
        });
    }
    Ok(SearchPage { hits, next_offset })
}
