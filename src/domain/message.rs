//! A stored message as clients see it, its preview, and the clock.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use super::{Attachment, Author, Event, Role};

/// One stored message of a conversation, exactly as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    /// Position in the conversation: 1, 2, 3, … without gaps.
    pub seq: u64,
    pub from: Role,
    pub text: String,
    #[serde(serialize_with = "rfc3339_millis")]
    pub ts: DateTime<Utc>,
    /// The sender's own id for the message, used to make retries idempotent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Which agent wrote it; `None` for the customer's messages (and agent
    /// messages stored before agents had names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    /// Agents only: a private note, or an event the customer does not see.
    /// Never sent to the customer's side in any way.
    #[serde(skip_serializing_if = "is_false")]
    pub private: bool,
    /// Set when this item is an event (a change of assignee or status), not
    /// something a person wrote; `text` is then its line for agents. Boxed:
    /// events are rare, and every message (and write) stays small.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Box<Event>>,
    /// Files sent with it (the text may then be empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// For an item the customer sees: the seq of the previous item they
    /// see (0: none), so their page tells hidden seqs from lost ones.
    #[serde(skip)]
    pub prev_public: u64,
}

impl ChatMessage {
    /// Whether the customer's side may see this item.
    pub fn customer_sees(&self) -> bool {
        !self.private
    }

    /// Whether `reader`'s side may see this item (agents see everything).
    pub fn seen_by(&self, reader: Role) -> bool {
        reader == Role::Agent || self.customer_sees()
    }

    /// The seq of the item before this one that `reader` sees (0: none).
    pub fn prev_for(&self, reader: Role) -> u64 {
        match reader {
            Role::Agent => self.seq.saturating_sub(1),
            Role::Customer => self.prev_public,
        }
    }

    /// Whether this is a chat message a customer wrote or was sent (not a
    /// note, not an event): what waits, unreads and previews count.
    pub fn is_chat(&self) -> bool {
        !self.private && self.event.is_none()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

pub(super) fn rfc3339_millis<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Longest preview in a summary, in characters.
pub const PREVIEW_CHARS: usize = 120;

/// The first non-empty line of `text`, trimmed, at most `PREVIEW_CHARS`.
pub fn preview(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = line.chars().take(PREVIEW_CHARS).collect();
    if line.chars().count() > PREVIEW_CHARS {
        out.push('…');
    }
    out
}

pub(super) fn rfc3339_millis_opt<S: Serializer>(
    ts: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ts {
        Some(ts) => rfc3339_millis(ts, s),
        None => s.serialize_none(),
    }
}

/// The current time, truncated to what the store keeps (milliseconds), so a
/// message looks the same live and after a restart.
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_take_the_first_line_trimmed() {
        assert_eq!(preview("\n  hello there  \nsecond"), "hello there");
        assert_eq!(preview(&"x".repeat(200)).chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(preview("   "), "");
    }
}
