//! Domain types: who is talking (`Role`, and for agents `Agent`), about which conversation
//! (`ClientId`), and what was said (`ChatMessage`). Input is validated once,
//! here, so everything above can trust these values. Nothing in `domain`
//! imports anything above it.

mod agent;
mod attachment;
mod availability;
mod contact;
mod event;
mod html;
mod ids;
mod label;
mod lang;
mod message;
mod notice;
mod role;
mod summary;

pub use agent::{Agent, AgentId, AgentRole, Author, Participant, SERVICE_AGENT_NAME};
pub use attachment::{
    Attachment, AttachmentId, FileName, MAX_FILES_PER_MESSAGE, MAX_FILE_NAME_CHARS,
    MAX_MESSAGE_FILE_BYTES,
};
pub use availability::{Availability, RosterEntry};
pub use contact::{
    present, Contact, ContactEmail, ContactName, ContactUpdate, InvalidContact,
    MAX_CONTACT_EMAIL_CHARS, MAX_CONTACT_NAME_CHARS,
};
pub use event::{CustomerEvent, Event};
pub use html::escape_html;
pub use ids::{ClientId, InvalidClientId, MAX_CLIENT_ID_LEN, MAX_MESSAGE_ID_LEN};
pub use label::Label;
pub use lang::Lang;
pub use message::{now_millis, preview, ChatMessage, PREVIEW_CHARS};
pub use notice::{Notice, NoticeKind};
pub use role::{PerRole, Role};
pub use summary::{
    AssigneeCounts, ConversationStatus, ConversationSummary, Totals, View, ViewCounts,
};
