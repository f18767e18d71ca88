//! The frames this generator reads and sends, and the texts it sends.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Instant;

use serde::Deserialize;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

pub static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the generator started; what the texts carry.
pub fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Every field of a server frame this generator looks at.
#[derive(Deserialize)]
pub struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub seq: Option<u64>,
    #[serde(borrow)]
    pub from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub code: Option<Cow<'a, str>>,
    #[serde(default)]
    pub messages: Vec<HistoryItem>,
    pub has_more: Option<bool>,
}

impl<'a> Frame<'a> {
    /// A raw relay's frame read as a message: the text is the token, and
    /// its number stands in for the sequence number so that order and
    /// duplicates are still checked.
    pub fn raw(text: &'a str) -> Frame<'a> {
        Frame {
            kind: Cow::Borrowed("message"),
            seq: number_in_text(text).map(|n| n as u64 + 1),
            from: None,
            text: Some(Cow::Borrowed(text)),
            id: None,
            code: None,
            messages: Vec::new(),
            has_more: None,
        }
    }
}

#[derive(Deserialize)]
pub struct HistoryItem {
    pub seq: u64,
}

pub fn parse(text: &str) -> Result<Frame<'_>, String> {
    serde_json::from_str(text).map_err(|e| format!("bad server frame {text:.120}: {e}"))
}

/// The send time (µs) a message text starts with.
pub fn sent_at(text: &str) -> Option<u64> {
    text.split(' ').next()?.parse().ok()
}

/// `<prefix><n>` → n.
pub fn number_of(id: &str, prefix: &str) -> Option<usize> {
    id.strip_prefix(prefix)?.parse().ok()
}

pub fn message_frame(text: String, id: &str) -> Message {
    Message::Text(json!({"type": "message", "text": text, "id": id}).to_string())
}

/// A client message id shaped like the pages' (`newMessageId` in
/// static/text.mjs): the prefix, the time in ms as 11 hex digits and 40
/// random bits. The ids' length and order are part of what a message costs
/// the server (its index of ids), so the load sends what the pages send.
pub fn page_message_id(prefix: &str) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{prefix}{ms:011x}{:010x}", rand::random::<u64>() >> 24)
}

/// A message without a client id (the server then never looks one up).
pub fn anonymous_message_frame(text: String) -> Message {
    Message::Text(json!({"type": "message", "text": text}).to_string())
}

/// `<send time µs> <n> <pad>`: what relay messages say.
pub fn numbered_text(n: usize, pad: &str) -> String {
    format!("{} {n} {pad}", now_us())
}

pub fn number_in_text(text: &str) -> Option<usize> {
    text.split(' ').nth(1)?.parse().ok()
}

pub fn padded_text(pad: &str) -> String {
    format!("{} {pad}", now_us())
}
