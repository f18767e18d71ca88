//! Stored items as each side sees them: agents see every item whole; the
//! customer sees only what they may, without agents-only details, with
//! `prev` over the seqs hidden from them (PROTOCOL.md, "Private notes and
//! events").

use serde::Serialize;

use crate::domain::{Attachment, Author, ChatMessage, CustomerEvent, Role};

/// One stored item as `reader`'s side sees it: agents see it whole; the
/// customer sees only items they may see, without agents-only details, with
/// `prev` when items hidden from them came in between.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    pub message: &'a ChatMessage,
    pub reader: Role,
}

/// The customer's copy of an item they see.
#[derive(Serialize)]
struct CustomerItem<'a> {
    seq: u64,
    /// Only when it is not `seq - 1` (items hidden from the customer came
    /// in between): the page then knows no message is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<u64>,
    from: Role,
    text: &'a str,
    ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a Author>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a CustomerEvent<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attachments: &'a [Attachment],
}

impl Serialize for Item<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.message;
        if self.reader == Role::Agent {
            return m.serialize(s);
        }
        if !m.customer_sees() {
            // Callers filter first; an agents-only item must never reach a
            // customer, so refuse rather than send it.
            return Err(serde::ser::Error::custom("agents-only item"));
        }
        let view = m.event.as_ref().and_then(|e| e.customer_view());
        let (text, event) = match &view {
            Some((text, event)) => (text.as_str(), Some(event)),
            None => (m.text.as_str(), None),
        };
        CustomerItem {
            seq: m.seq,
            prev: (m.prev_public + 1 != m.seq).then_some(m.prev_public),
            from: m.from,
            text,
            ts: m.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            id: m.id.as_deref(),
            author: m.author.as_ref(),
            event,
            attachments: &m.attachments,
        }
        .serialize(s)
    }
}

/// The items of a `history` frame as `reader` sees them (already filtered
/// to what that side may see).
#[derive(Debug, Clone, Copy)]
pub struct Items<'a> {
    pub messages: &'a [ChatMessage],
    pub reader: Role,
}

impl Serialize for Items<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.messages.iter().map(|message| Item {
            message,
            reader: self.reader,
        }))
    }
}
