//! The agents' list query as both backends filter and page it: which
//! clauses a [`ListQuery`] asks for, their parameters in binding order, the
//! page size, and the page cut from one row more than it. Each backend
//! says only how its SQL spells a parameter and the search ([`ListSql`]),
//! and where the filter goes in its statement.

use super::cursor::Cursor;
use super::{ListPage, ListQuery, StoreError};
use crate::domain::{ConversationSummary, View};

/// Largest page of the list (and of a search).
pub(super) const MAX_PAGE: usize = 200;

/// How one backend's SQL spells the list's filter.
pub(super) trait ListSql {
    /// A bound parameter.
    type Value;
    /// What the filtered columns of `conversations` are prefixed with.
    const COLUMNS: &'static str;
    fn text(value: String) -> Self::Value;
    fn int(value: i64) -> Self::Value;
    /// The placeholder of the `n`-th parameter (from 1); one placeholder
    /// may stand several times.
    fn placeholder(n: usize) -> String;
    /// The clause matching the LIKE pattern bound at `pattern` (`\`
    /// escapes) against the client id and the contact's name and email,
    /// ignoring case.
    fn search(pattern: &str) -> String;
}

/// A list query's filter: `WHERE …` (or nothing), then the row limit, one
/// more than the page (which tells whether there is a next page).
pub(super) struct ListFilter<V> {
    /// `WHERE …`, or nothing when the query filters on nothing.
    pub(super) where_sql: String,
    /// The placeholder of the row limit.
    pub(super) limit: String,
    /// Every parameter, in the order of their placeholders.
    pub(super) values: Vec<V>,
    /// The page size.
    pub(super) page: usize,
}

impl<V> ListFilter<V> {
    pub(super) fn new<S: ListSql<Value = V>>(query: &ListQuery) -> Result<Self, StoreError> {
        let cursor = match query.cursor.as_deref() {
            Some(raw) => Some(Cursor::parse(raw).ok_or(StoreError::InvalidCursor)?),
            None => None,
        };
        let page = query.limit.clamp(1, MAX_PAGE);
        let c = S::COLUMNS;
        let mut clauses: Vec<String> = Vec::new();
        let mut values: Vec<V> = Vec::new();
        let mut arg = |value: V| {
            values.push(value);
            S::placeholder(values.len())
        };
        if let Some(status) = query.status {
            let p = arg(S::text(status.as_str().to_owned()));
            clauses.push(format!("{c}status = {p}"));
        }
        match query.view {
            View::All => {}
            View::Mine => {
                let p = arg(S::int(query.me.0));
                clauses.push(format!("{c}assignee_id = {p}"));
            }
            View::Unassigned => clauses.push(format!("{c}assignee_id IS NULL")),
        }
        if let Some(label) = query.label {
            let p = arg(S::int(label));
            clauses.push(format!(
                "{c}client_id IN (SELECT client_id FROM conversation_labels WHERE label_id = {p})"
            ));
        }
        if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
            let p = arg(S::text(like_pattern(search)));
            clauses.push(S::search(&p));
        }
        if let Some(cursor) = cursor {
            let g = arg(S::int(cursor.group));
            let k = arg(S::int(cursor.key));
            let client = arg(S::text(cursor.client));
            clauses.push(format!(
                "({c}list_group, {c}list_key, {c}client_id) > ({g}, {k}, {client})"
            ));
        }
        let limit = arg(S::int((page + 1) as i64));
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        Ok(ListFilter {
            where_sql,
            limit,
            values,
            page,
        })
    }

    /// The page of `rows` (at most one more than the page, in the list's
    /// order), and where the next one starts if there is one.
    pub(super) fn page(&self, mut rows: Vec<ConversationSummary>) -> ListPage {
        let next_cursor = if rows.len() > self.page {
            rows.truncate(self.page);
            rows.last().map(|last| Cursor::of(last).encode())
        } else {
            None
        };
        ListPage {
            items: rows,
            next_cursor,
        }
    }
}

/// `search` anywhere in a text: `%search%`, where `_` (allowed in ids), `%`
/// and `\` match only themselves.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for ch in search.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}
