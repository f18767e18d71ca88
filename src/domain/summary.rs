//! What the agents' conversation list shows: status, one row per
//! conversation, and the totals of the tab title.

use chrono::{DateTime, Utc};
use serde::Serialize;

use std::collections::HashMap;

use super::message::{rfc3339_millis, rfc3339_millis_opt};
use super::{AgentId, Author, ClientId, Contact, Label, Role};

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
    /// The customer's name and email, if they gave any (`null` otherwise).
    pub contact: Option<Contact>,
    /// The agent who has it; `None`: unassigned (in the queue).
    pub assignee: Option<Author>,
    /// Its labels, by name.
    pub labels: Vec<Label>,
}

/// Which conversations a list shows by assignee.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    #[default]
    All,
    /// Assigned to the agent who asks.
    Mine,
    /// Assigned to nobody: the queue.
    Unassigned,
}

impl View {
    pub fn parse(raw: &str) -> Option<View> {
        match raw {
            "all" => Some(View::All),
            "mine" => Some(View::Mine),
            "unassigned" => Some(View::Unassigned),
            _ => None,
        }
    }
}

/// How many conversations each view holds (under one status filter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ViewCounts {
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

/// Conversations per assignee, from which every agent's [`ViewCounts`]
/// follow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssigneeCounts {
    pub unassigned: u64,
    pub by_agent: HashMap<AgentId, u64>,
}

impl AssigneeCounts {
    pub fn views(&self, me: AgentId) -> ViewCounts {
        ViewCounts {
            mine: self.by_agent.get(&me).copied().unwrap_or(0),
            unassigned: self.unassigned,
            all: self.unassigned + self.by_agent.values().sum::<u64>(),
        }
    }
}

/// What the agents' tab title and badge show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Customer messages not yet read by an agent, in open conversations.
    pub unread: u64,
    /// Open conversations whose last message is the customer's.
    pub waiting: u64,
}
