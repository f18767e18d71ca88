//! Full-text search over what people wrote (messages and private notes;
//! not events), for agents: one hit per conversation, its best match,
//! best conversations first.

use serde::Serialize;

use crate::domain::{ChatMessage, ConversationSummary};

/// A search as the store runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// What the person typed; every word must match (the last one also as
    /// a prefix when nothing matches it whole, so results come while
    /// typing). Case and accents are ignored.
    pub text: String,
    /// Conversations to skip (the cursor).
    pub offset: usize,
    pub limit: usize,
}

impl SearchQuery {
    /// The FTS5 query: each word quoted (nothing the person types is
    /// syntax), all required, the last a prefix if `last_as_prefix`.
    /// `None` without a word.
    pub fn fts(&self, last_as_prefix: bool) -> Option<String> {
        let words: Vec<String> = self
            .text
            .split_whitespace()
            .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
            .collect();
        let last = words.len().checked_sub(1)?;
        Some(
            words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    if i == last && last_as_prefix {
                        format!("{w}*")
                    } else {
                        w.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

/// A piece of a matching message: the words that matched are `matched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    pub text: String,
    #[serde(rename = "match")]
    pub matched: bool,
}

/// One conversation found, with its best matching message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchHit {
    pub conversation: ConversationSummary,
    pub message: ChatMessage,
    /// The message around what matched, cut into plain and matched pieces
    /// (pages show them with text nodes; nothing is markup).
    pub highlight: Vec<Fragment>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    pub next_offset: Option<usize>,
}

/// Marks around a match in a snippet, split off again into fragments.
pub(crate) const MATCH_START: char = '\u{2}';
pub(crate) const MATCH_END: char = '\u{3}';

/// A snippet with marks, as fragments.
pub(crate) fn fragments(snippet: &str) -> Vec<Fragment> {
    let mut out = Vec::new();
    let mut rest = snippet;
    while let Some(start) = rest.find(MATCH_START) {
        if start > 0 {
            out.push(Fragment {
                text: rest[..start].to_owned(),
                matched: false,
            });
        }
        let after = &rest[start + MATCH_START.len_utf8()..];
        let end = after.find(MATCH_END).unwrap_or(after.len());
        out.push(Fragment {
            text: after[..end].to_owned(),
            matched: true,
        });
        rest = after.get(end + MATCH_END.len_utf8()..).unwrap_or("");
    }
    if !rest.is_empty() {
        out.push(Fragment {
            text: rest.to_owned(),
            matched: false,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_type_is_never_query_syntax() {
        let q = |text: &str| SearchQuery {
            text: text.into(),
            offset: 0,
            limit: 10,
        };
        assert_eq!(q("order late").fts(true).unwrap(), r#""order" "late"*"#);
        assert_eq!(q("order late").fts(false).unwrap(), r#""order" "late""#);
        assert_eq!(q(r#"a"b OR"#).fts(true).unwrap(), r#""a""b" "OR"*"#);
        assert_eq!(q("   ").fts(true), None);
    }

    #[test]
    fn snippets_become_plain_and_matched_fragments() {
        let f = fragments("my \u{2}order\u{3} is \u{2}late\u{3}");
        let parts: Vec<(&str, bool)> = f.iter().map(|f| (f.text.as_str(), f.matched)).collect();
        assert_eq!(
            parts,
            [
                ("my ", false),
                ("order", true),
                (" is ", false),
                ("late", true)
            ]
        );
    }
}
