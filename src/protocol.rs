//! Wire protocol v1: the JSON text frames exchanged over the chat WebSockets
//! (see PROTOCOL.md). Decoding validates everything a client controls;
//! encoding happens once per event and the bytes are shared by every socket
//! that receives them.

use bytestring::ByteString;
use serde::{Deserialize, Serialize};

use crate::domain::{
    present, AgentId, AttachmentId, Author, ClientId, Contact, ContactUpdate, ConversationStatus,
    ConversationSummary, Role, RosterEntry, Totals, View, ViewCounts, MAX_FILES_PER_MESSAGE,
    MAX_MESSAGE_ID_LEN,
};
use crate::error::AppError;

mod items;

pub use items::{Item, Items};

/// Most messages a `history` frame carries.
pub const HISTORY_PAGE_MAX: usize = 200;

/// A frame a client may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A chat message; `id` makes retries idempotent. `private`: an
    /// agent's note that only agents see.
    Message {
        text: String,
        id: Option<String>,
        private: bool,
        /// Uploads the message sends (then `text` may be empty).
        attachments: Vec<AttachmentId>,
    },
    /// Ask for up to `limit` messages older than `before`.
    HistoryBefore { before: u64, limit: usize },
    /// The sender started or stopped typing.
    Typing { active: bool },
    /// The sender has seen the conversation up to `seq`.
    Read { seq: u64 },
    /// An agent resolves (`resolve`) or reopens (`reopen`) the conversation.
    SetStatus(ConversationStatus),
    /// Inbox sockets: a page of the conversation list.
    List(ListRequest),
    /// The customer's contact details change (pre-chat or offline form).
    Contact(ContactUpdate),
    /// Inbox sockets: the agent sets themselves `away` (true) or `online`.
    Availability { away: bool },
    /// Inbox sockets: the agent is using the console (ends an idle away).
    Active,
    /// Agents: give the conversation to an agent, or back to the queue
    /// (`unassign`, or `agent_id` null), with an optional private note.
    Assign {
        agent_id: Option<AgentId>,
        note: Option<String>,
    },
}

/// What an inbox client asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListRequest {
    pub status: Option<ConversationStatus>,
    pub view: View,
    /// Only conversations with this label (id).
    pub label: Option<i64>,
    pub search: Option<String>,
    pub cursor: Option<String>,
    pub limit: usize,
    /// Echoed back so a client can match answers to requests.
    pub request: Option<u64>,
}

/// Default page size of the conversation list.
pub const LIST_PAGE_DEFAULT: usize = 50;

/// Every field any client frame may carry; one pass of serde, then the
/// per-type checks below give precise errors.
#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    id: Option<String>,
    before: Option<u64>,
    limit: Option<u64>,
    active: Option<bool>,
    seq: Option<u64>,
    status: Option<String>,
    search: Option<String>,
    cursor: Option<String>,
    request: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
    lang: Option<String>,
    transcript: Option<bool>,
    private: Option<bool>,
    attachments: Option<Vec<String>>,
    view: Option<String>,
    /// Present and null (`Some(None)`) is not the same as missing (`None`).
    #[serde(default, deserialize_with = "present")]
    agent_id: Option<Option<AgentId>>,
    note: Option<String>,
    value: Option<String>,
    label: Option<i64>,
}

impl ClientFrame {
    /// Decodes and validates one text frame. Never panics.
    pub fn decode(frame: &str, max_text_chars: usize) -> Result<ClientFrame, AppError> {
        // One pass straight into the flat struct; serde tells syntax errors
        // (not JSON at all) from data errors (JSON of the wrong shape).
        let raw: RawFrame = serde_json::from_str(frame).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => AppError::InvalidFrame(e.to_string()),
            _ => AppError::InvalidJson(e.to_string()),
        })?;
        match raw.kind.as_deref() {
            Some("message") => {
                let text = raw
                    .text
                    .ok_or_else(|| AppError::InvalidFrame("\"text\" is missing".into()))?;
                let attachments = attachment_ids(raw.attachments.unwrap_or_default())?;
                validate_message(
                    &text,
                    raw.id.as_deref(),
                    max_text_chars,
                    !attachments.is_empty(),
                )?;
                Ok(ClientFrame::Message {
                    text,
                    id: raw.id,
                    private: raw.private.unwrap_or(false),
                    attachments,
                })
            }
            Some("history_before") => {
                let before = raw
                    .before
                    .ok_or_else(|| AppError::InvalidFrame("\"before\" is missing".into()))?;
                let limit = raw.limit.unwrap_or(HISTORY_PAGE_MAX as u64);
                if limit == 0 || limit > HISTORY_PAGE_MAX as u64 {
                    return Err(AppError::InvalidFrame(format!(
                        "\"limit\" must be 1 to {HISTORY_PAGE_MAX}"
                    )));
                }
                Ok(ClientFrame::HistoryBefore {
                    before,
                    limit: limit as usize,
                })
            }
            Some("typing") => Ok(ClientFrame::Typing {
                active: raw
                    .active
                    .ok_or_else(|| AppError::InvalidFrame("\"active\" is missing".into()))?,
            }),
            Some("read") => Ok(ClientFrame::Read {
                seq: raw
                    .seq
                    .ok_or_else(|| AppError::InvalidFrame("\"seq\" is missing".into()))?,
            }),
            Some("resolve") => Ok(ClientFrame::SetStatus(ConversationStatus::Resolved)),
            Some("reopen") => Ok(ClientFrame::SetStatus(ConversationStatus::Open)),
            Some("list") => {
                let status = match raw.status.as_deref() {
                    None | Some("all") => None,
                    Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
                        AppError::InvalidFrame("\"status\" must be open, resolved or all".into())
                    })?),
                };
                let limit = raw.limit.unwrap_or(LIST_PAGE_DEFAULT as u64);
                if limit == 0 || limit > HISTORY_PAGE_MAX as u64 {
                    return Err(AppError::InvalidFrame(format!(
                        "\"limit\" must be 1 to {HISTORY_PAGE_MAX}"
                    )));
                }
                let view = match raw.view.as_deref() {
                    None => View::All,
                    Some(v) => View::parse(v).ok_or_else(|| {
                        AppError::InvalidFrame("\"view\" must be mine, unassigned or all".into())
                    })?,
                };
                Ok(ClientFrame::List(ListRequest {
                    status,
                    view,
                    label: raw.label,
                    search: raw.search.filter(|s| !s.is_empty()),
                    cursor: raw.cursor,
                    limit: limit as usize,
                    request: raw.request,
                }))
            }
            Some("contact") => Ok(ClientFrame::Contact(
                ContactUpdate::parse(raw.name, raw.email)?
                    .from_customer(raw.lang.as_deref(), raw.transcript)?,
            )),
            Some("assign") => {
                let agent_id = raw.agent_id.ok_or_else(|| {
                    AppError::InvalidFrame("\"agent_id\" is missing (null unassigns)".into())
                })?;
                if let Some(note) = &raw.note {
                    validate_message(note, None, max_text_chars, false)?;
                }
                Ok(ClientFrame::Assign {
                    agent_id,
                    note: raw.note,
                })
            }
            Some("status") => match raw.value.as_deref() {
                Some("online") => Ok(ClientFrame::Availability { away: false }),
                Some("away") => Ok(ClientFrame::Availability { away: true }),
                _ => Err(AppError::InvalidFrame(
                    "\"value\" must be online or away".into(),
                )),
            },
            Some("active") => Ok(ClientFrame::Active),
            Some("unassign") => Ok(ClientFrame::Assign {
                agent_id: None,
                note: None,
            }),
            Some(other) => Err(AppError::UnknownType(other.chars().take(64).collect())),
            None => Err(AppError::InvalidFrame("\"type\" is missing".into())),
        }
    }
}

/// The upload ids a message sends: well formed, distinct, not too many.
pub fn attachment_ids(raw: Vec<String>) -> Result<Vec<AttachmentId>, AppError> {
    if raw.len() > MAX_FILES_PER_MESSAGE {
        return Err(AppError::InvalidFrame(format!(
            "at most {MAX_FILES_PER_MESSAGE} attachments per message"
        )));
    }
    let mut ids: Vec<AttachmentId> = Vec::with_capacity(raw.len());
    for s in raw {
        let id = AttachmentId::parse(&s)
            .ok_or_else(|| AppError::UnknownAttachment(s.chars().take(64).collect()))?;
        if ids.contains(&id) {
            return Err(AppError::InvalidFrame(format!(
                "attachment {s} is listed twice"
            )));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The rules every new message obeys, whatever way it arrives; one that
/// sends files may have no text (a caption is optional).
pub fn validate_message(
    text: &str,
    id: Option<&str>,
    max_text_chars: usize,
    has_files: bool,
) -> Result<(), AppError> {
    if text.trim().is_empty() && !has_files {
        return Err(AppError::EmptyText);
    }
    if text.chars().count() > max_text_chars {
        return Err(AppError::TextTooLong {
            max: max_text_chars,
        });
    }
    match id {
        Some(id) => validate_message_id(id),
        None => Ok(()),
    }
}

fn validate_message_id(id: &str) -> Result<(), AppError> {
    let len = id.chars().count();
    if len == 0 || len > MAX_MESSAGE_ID_LEN || id.chars().any(char::is_control) {
        Err(AppError::InvalidMessageId)
    } else {
        Ok(())
    }
}

/// A frame the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent<'a> {
    Welcome {
        role: Role,
        client_id: &'a ClientId,
        last_seq: u64,
        peer_online: bool,
        max_text_chars: usize,
        status: ConversationStatus,
        read_seq: u64,
        peer_read_seq: u64,
        /// On an agent's socket: the agent it acts as, so a page tells its
        /// own replies from its colleagues'.
        #[serde(skip_serializing_if = "Option::is_none")]
        me: Option<&'a Author>,
        /// The customer's contact details; `null` when none were given.
        contact: Option<&'a Contact>,
        /// On an agent's socket: who has the conversation (`null`: nobody).
        #[serde(skip_serializing_if = "Option::is_none")]
        assignee: Option<Option<&'a Author>>,
    },
    History {
        messages: Items<'a>,
        has_more: bool,
    },
    Message(Item<'a>),
    Presence {
        role: Role,
        online: bool,
    },
    Typing {
        role: Role,
        active: bool,
        /// Which agent is typing; absent for the customer.
        #[serde(skip_serializing_if = "Option::is_none")]
        author: Option<&'a Author>,
    },
    Read {
        role: Role,
        seq: u64,
    },
    Status {
        status: ConversationStatus,
    },
    /// The customer's contact details changed (to both sides).
    Contact {
        contact: &'a Contact,
    },
    /// Agents: who has the conversation (`null`: nobody, in the queue).
    Assignee {
        assignee: Option<&'a Author>,
    },
    /// Inbox: a page of the conversation list.
    Conversations {
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<u64>,
        items: &'a [ConversationSummary],
        next_cursor: Option<&'a str>,
        totals: Totals,
        /// How many conversations each view holds under the list's status.
        views: ViewCounts,
    },
    /// Inbox: one conversation changed.
    Conversation {
        conversation: &'a ConversationSummary,
    },
    /// Inbox: the unread and waiting totals moved.
    Totals(Totals),
    /// Inbox: the counts of the views under the list's status filter moved.
    Views {
        status: &'a str,
        views: ViewCounts,
    },
    /// Inbox: every agent and their availability.
    Agents {
        agents: &'a [RosterEntry],
    },
    /// Inbox: this agent was given a conversation by someone else.
    Assigned {
        conversation: &'a ConversationSummary,
        by: Option<&'a Author>,
        note: Option<&'a str>,
    },
    /// Inbox: a conversation is gone (erased, or deleted by retention).
    Removed {
        client_id: &'a ClientId,
    },
    Error {
        code: &'a str,
        message: String,
        /// The client id of the message the error is about, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
    },
    Replaced,
}

impl ServerEvent<'_> {
    /// Encodes the event once; the result is cheap to clone.
    pub fn encode(&self) -> ByteString {
        // Serializing these plain structs cannot fail; an agents-only item
        // for a customer is refused (an empty frame, never the item), and
        // every caller filters those out first.
        ByteString::from(serde_json::to_string(self).unwrap_or_default())
    }

    /// The `error` frame for `err`, about the client's message `id` if any.
    pub fn error<'a>(err: &AppError, id: Option<&'a str>) -> ServerEvent<'a> {
        ServerEvent::Error {
            code: err.code(),
            message: err.to_string(),
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatMessage;

    fn decode(s: &str) -> Result<ClientFrame, AppError> {
        ClientFrame::decode(s, 10)
    }

    #[test]
    fn decodes_a_message_with_and_without_id() {
        assert_eq!(
            decode(r#"{"type":"message","text":"hi"}"#),
            Ok(ClientFrame::Message {
                text: "hi".into(),
                id: None,
                private: false,
                attachments: Vec::new(),
            })
        );
        assert_eq!(
            decode(r#"{"type":"message","text":"hi","id":"m1"}"#),
            Ok(ClientFrame::Message {
                text: "hi".into(),
                id: Some("m1".into()),
                private: false,
                attachments: Vec::new(),
            })
        );
        assert_eq!(
            decode(r#"{"type":"message","text":"psst","private":true}"#),
            Ok(ClientFrame::Message {
                text: "psst".into(),
                id: None,
                private: true,
                attachments: Vec::new(),
            })
        );
    }

    #[test]
    fn rejects_bad_frames_with_precise_codes() {
        let code = |s: &str| decode(s).unwrap_err().code();
        assert_eq!(code("{"), "invalid_json");
        assert_eq!(code("[1]"), "invalid_frame");
        assert_eq!(code(r#"{"text":"x"}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"dance"}"#), "unknown_type");
        assert_eq!(code(r#"{"type":"message"}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"message","text":42}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"message","text":" \n\t"}"#), "empty_text");
        assert_eq!(
            code(r#"{"type":"message","text":"12345678901"}"#),
            "text_too_long"
        );
        assert_eq!(
            code(r#"{"type":"message","text":"x","id":""}"#),
            "invalid_message_id"
        );
        assert_eq!(code(r#"{"type":"history_before"}"#), "invalid_frame");
        assert_eq!(code(r#"{"type":"contact"}"#), "invalid_contact");
        assert_eq!(
            code(r#"{"type":"contact","email":"not an address"}"#),
            "invalid_contact"
        );
        assert_eq!(code(r#"{"type":"contact","name":7}"#), "invalid_frame");
        assert_eq!(
            code(r#"{"type":"history_before","before":5,"limit":0}"#),
            "invalid_frame"
        );
    }

    #[test]
    fn assign_tells_null_from_missing() {
        assert_eq!(
            decode(r#"{"type":"assign","agent_id":3,"note":"vip"}"#),
            Ok(ClientFrame::Assign {
                agent_id: Some(AgentId(3)),
                note: Some("vip".into())
            })
        );
        assert_eq!(
            decode(r#"{"type":"assign","agent_id":null}"#),
            Ok(ClientFrame::Assign {
                agent_id: None,
                note: None
            })
        );
        assert_eq!(
            decode(r#"{"type":"assign"}"#).unwrap_err().code(),
            "invalid_frame"
        );
        assert_eq!(
            decode(r#"{"type":"assign","agent_id":"x"}"#)
                .unwrap_err()
                .code(),
            "invalid_frame"
        );
        assert_eq!(
            decode(r#"{"type":"assign","agent_id":3,"note":" "}"#)
                .unwrap_err()
                .code(),
            "empty_text"
        );
    }

    #[test]
    fn text_limit_counts_characters_not_bytes() {
        assert!(decode(r#"{"type":"message","text":"你好你好你好你好你好"}"#).is_ok());
    }

    #[test]
    fn encodes_messages_with_rfc3339_millis() {
        let msg = ChatMessage {
            seq: 3,
            from: Role::Agent,
            text: "hello".into(),
            ts: chrono::DateTime::from_timestamp_millis(1_795_000_000_123).unwrap(),
            id: Some("a1".into()),
            author: Some(Author {
                id: AgentId(7),
                name: "Ana".into(),
            }),
            private: false,
            event: None,
            attachments: Vec::new(),
            prev_public: 2,
        };
        let item = Item {
            message: &msg,
            reader: Role::Agent,
        };
        let json: serde_json::Value =
            serde_json::from_str(&ServerEvent::Message(item).encode()).unwrap();
        assert_eq!(json["type"], "message");
        assert_eq!(json["seq"], 3);
        assert_eq!(json["from"], "agent");
        assert_eq!(json["id"], "a1");
        assert_eq!(json["author"], serde_json::json!({"id": 7, "name": "Ana"}));
        assert!(json["ts"].as_str().unwrap().ends_with(".123Z"));
    }
}
