//! An email the server owes someone about a conversation: what kind, up to
//! which seq, and to whom. Stored in the outbox (one row per conversation,
//! kind and seq, so the same notice is never queued twice) and turned into
//! a message only when it is sent, from what is stored then.

use super::ContactEmail;

/// What an outbox email is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// The conversation, as the customer saw it (private notes and internal
    /// events left out), sent to the customer.
    Transcript,
    /// Agent replies the customer has not read for a while, with a link
    /// back to the conversation.
    Unseen,
    /// A customer waiting too long for an answer, sent to the agents who
    /// asked for it (the assignee, or anyone for an unassigned one).
    Waiting,
}

impl NoticeKind {
    /// Its name in the outbox table.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Transcript => "transcript",
            NoticeKind::Unseen => "unseen",
            NoticeKind::Waiting => "waiting",
        }
    }

    pub fn parse(raw: &str) -> Option<NoticeKind> {
        match raw {
            "transcript" => Some(NoticeKind::Transcript),
            "unseen" => Some(NoticeKind::Unseen),
            "waiting" => Some(NoticeKind::Waiting),
            _ => None,
        }
    }
}

/// One email to queue, in the transaction of the write that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The conversation's seq it covers (its last message when queued).
    pub seq: u64,
    pub to: ContactEmail,
}
