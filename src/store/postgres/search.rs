//! Full-text search on PostgreSQL: the generated `messages.search`
//! tsvector (text search configuration `support_chat`: words lowercased,
//! accents removed, no stemming, any script) and its GIN index. The same
//! semantics as SQLite's FTS5 search: every word must match (each as a
//! phrase of its tokens); the last one also as a prefix when nothing
//! matches it whole; one hit per conversation, its best match; the newest
//! matches looked at, within a cap. Like SQLite's unicode61, a run of CJK
//! characters without spaces is one word (pg_trgm would find parts of it,
//! but ranks and highlights differently; not used).

use super::conn::Conn;
use super::read::{message_from_row, summaries_of, MESSAGE_COLUMNS};
use crate::domain::ClientId;
use crate::store::list_filter::MAX_PAGE;
use crate::store::search::{fragments, MATCH_END, MATCH_START};
use crate::store::{SearchHit, SearchPage, SearchQuery, StoreError};

/// Matches looked at per search, the newest first, then ranked (as on
/// SQLite: a bound on the work for a word in every message).
const SEARCH_CANDIDATES: i64 = 5000;

/// The query as a tsquery's text: every word a phrase of its tokens, all
/// required, the last a prefix (every token of it) if `last_as_prefix`.
/// `None` without a word. Words are parameters: nothing typed is syntax.
async fn tsquery(
    conn: &mut Conn,
    words: &[&str],
    last_as_prefix: bool,
) -> Result<Option<String>, StoreError> {
    let Some(last) = words.len().checked_sub(1) else {
        return Ok(None);
    };
    let mut values: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
    let parts: Vec<String> = (1..=words.len())
        .map(|n| {
            if n == last + 1 && last_as_prefix {
                format!("to_tsquery('support_chat', ${n})")
            } else {
                format!("phraseto_tsquery('support_chat', ${n})")
            }
        })
        .collect();
    if last_as_prefix {
        // A quoted lexeme in to_tsquery's own syntax.
        values[last] = format!(
            "'{}':*",
            words[last].replace('\\', "\\\\").replace('\'', "''")
        );
    }
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
        .iter()
        .map(|v| v as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let sql = format!("SELECT ({})::text", parts.join(" && "));
    let row = conn.query_one(&sql, &params).await?;
    Ok(Some(row.try_get(0)?))
}

pub(super) async fn search(conn: &mut Conn, query: &SearchQuery) -> Result<SearchPage, StoreError> {
    let words: Vec<&str> = query.text.split_whitespace().collect();
    let (Some(exact), Some(prefix)) = (
        tsquery(conn, &words, false).await?,
        tsquery(conn, &words, true).await?,
    ) else {
        return Ok(SearchPage::default());
    };
    let any = conn
        .query_opt(
            "SELECT 1 FROM messages WHERE search @@ $1::text::tsquery LIMIT 1",
            &[&exact],
        )
        .await?
        .is_some();
    let q = if any { exact } else { prefix };
    let limit = query.limit.clamp(1, MAX_PAGE);
    let found = conn
        .query(
            "SELECT client_id, seq FROM (
                 SELECT client_id, seq, rank,
                        row_number() OVER (PARTITION BY client_id ORDER BY rank DESC, seq DESC)
                            AS nth
                 FROM (SELECT client_id, seq, ts_rank(search, $1::text::tsquery, 1) AS rank
                       FROM messages WHERE search @@ $1::text::tsquery
                       ORDER BY ts DESC, seq DESC LIMIT $4) candidates) ranked
             WHERE nth = 1 ORDER BY rank DESC, client_id LIMIT $2 OFFSET $3",
            &[
                &q,
                &(limit as i64 + 1),
                &(query.offset as i64),
                &SEARCH_CANDIDATES,
            ],
        )
        .await?;
    let next_offset = (found.len() > limit).then_some(query.offset + limit);
    let options = format!(
        "StartSel=\"{MATCH_START}\", StopSel=\"{MATCH_END}\", MaxWords=24, MinWords=12, \
         ShortWord=0"
    );
    let mut hits = Vec::with_capacity(limit);
    for row in found.iter().take(limit) {
        let client: String = row.try_get(0)?;
        let seq: i64 = row.try_get(1)?;
        let Ok(client) = ClientId::parse(&client) else {
            continue;
        };
        let Some(message) = conn
            .query_opt(
                &format!(
                    "SELECT {MESSAGE_COLUMNS},
                            ts_headline('support_chat', text, $3::text::tsquery, $4)
                     FROM messages WHERE client_id = $1 AND seq = $2"
                ),
                &[&client.as_str(), &seq, &q, &options],
            )
            .await?
        else {
            continue;
        };
        let highlight: String = message.try_get(11)?;
        let Some(conversation) = summaries_of(conn, std::slice::from_ref(&client))
            .await?
            .pop()
        else {
            continue;
        };
        hits.push(SearchHit {
            conversation,
            message: message_from_row(&message, 0)?,
            highlight: fragments(&highlight),
        });
    }
    Ok(SearchPage { hits, next_offset })
}
