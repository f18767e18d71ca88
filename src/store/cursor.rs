//! A position in the agents' list, as both backends page it: after
//! (group, key, client id), the list's order (`list_group`, `list_key`,
//! `client_id`). One encoding, so a cursor means the same on either.

use crate::domain::{ClientId, ConversationSummary};

pub(super) struct Cursor {
    pub(super) group: i64,
    pub(super) key: i64,
    pub(super) client: String,
}

impl Cursor {
    /// The position of `summary`: waiting conversations by their wait,
    /// the others by their newest activity, newest first.
    pub(super) fn of(summary: &ConversationSummary) -> Cursor {
        let (group, key) = match summary.waiting_since.filter(|_| summary.waiting) {
            Some(since) => (0, since.timestamp_millis()),
            None => (1, -summary.last_activity.timestamp_millis()),
        };
        Cursor {
            group,
            key,
            client: summary.client_id.as_str().to_owned(),
        }
    }

    pub(super) fn encode(&self) -> String {
        format!("{}.{}.{}", self.group, self.key, self.client)
    }

    pub(super) fn parse(raw: &str) -> Option<Cursor> {
        let mut parts = raw.splitn(3, '.');
        let group = parts.next()?.parse().ok()?;
        let key = parts.next()?.parse().ok()?;
        let client = ClientId::parse(parts.next()?).ok()?;
        Some(Cursor {
            group,
            key,
            client: client.as_str().to_owned(),
        })
    }
}
