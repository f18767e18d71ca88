//! A stored message as clients see it, its preview, and the clock.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use super::{Author, Role};

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
