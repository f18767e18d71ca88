//! Domain types: who is talking (`Role`), about which conversation
//! (`ClientId`), and what was said (`ChatMessage`). Input is validated once,
//! here, so everything above can trust these values.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};

use crate::error::AppError;

/// Longest accepted client id, in characters.
pub const MAX_CLIENT_ID_LEN: usize = 64;
/// Longest accepted client-generated message id, in characters.
pub const MAX_MESSAGE_ID_LEN: usize = 64;

/// The id of a customer, and so of their one conversation.
///
/// 1 to 64 characters of `A-Z a-z 0-9 _ -`. Compared exactly: `1` and `01`
/// are different customers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// Validates a client id taken from a URL or a frame.
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let ok_len = (1..=MAX_CLIENT_ID_LEN).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(AppError::InvalidClientId)
        }
    }

    /// A fresh unguessable id: 128 random bits, URL-safe (32 hex digits).
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        Self(format!("{bits:032x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The two sides of every conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Agent,
}

impl Role {
    pub fn peer(self) -> Role {
        match self {
            Role::Customer => Role::Agent,
            Role::Agent => Role::Customer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
        }
    }

    /// Compact form used by the store.
    pub fn code(self) -> i64 {
        match self {
            Role::Customer => 0,
            Role::Agent => 1,
        }
    }

    pub fn from_code(code: i64) -> Option<Role> {
        match code {
            0 => Some(Role::Customer),
            1 => Some(Role::Agent),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
}

fn rfc3339_millis<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ts.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Where a conversation stands for the agents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    #[default]
    Open,
    Resolved,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Resolved => "resolved",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(ConversationStatus::Open),
            "resolved" => Some(ConversationStatus::Resolved),
            _ => None,
        }
    }
}

/// One row of the agents' conversation list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    pub client_id: ClientId,
    pub status: ConversationStatus,
    /// The last message is the customer's and the conversation is open.
    pub waiting: bool,
    /// When the customer's unanswered messages began.
    #[serde(serialize_with = "rfc3339_millis_opt")]
    pub waiting_since: Option<DateTime<Utc>>,
    #[serde(serialize_with = "rfc3339_millis")]
    pub created: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339_millis")]
    pub last_activity: DateTime<Utc>,
    pub last_seq: u64,
    pub last_from: Option<Role>,
    /// First line of the last message, trimmed and shortened.
    pub preview: String,
    /// The customer's messages after the agents' read mark.
    pub unread: u64,
    pub customer_read_seq: u64,
    pub agent_read_seq: u64,
    /// Filled in by the inbox, which knows who is connected.
    pub customer_online: bool,
}

/// What the agents' tab title and badge show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Customer messages not yet read by an agent, in open conversations.
    pub unread: u64,
    /// Open conversations whose last message is the customer's.
    pub waiting: u64,
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

fn rfc3339_millis_opt<S: Serializer>(ts: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
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
    fn client_ids_are_validated_exactly() {
        assert!(ClientId::parse("abc-DEF_123").is_ok());
        assert!(ClientId::parse(&"a".repeat(64)).is_ok());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("é").is_err());
        assert!(ClientId::parse("../x").is_err());
        assert_ne!(
            ClientId::parse("1").unwrap(),  // ok: test
            ClientId::parse("01").unwrap()  // ok: test
        );
    }

    #[test]
    fn previews_take_the_first_line_trimmed() {
        assert_eq!(preview("\n  hello there  \nsecond"), "hello there");
        assert_eq!(preview(&"x".repeat(200)).chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(preview("   "), "");
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = ClientId::random();
        let b = ClientId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(ClientId::parse(a.as_str()).is_ok());
    }
}
