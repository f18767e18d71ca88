//! A file attached to a message: its id, its display name (sanitised once,
//! here), and what the server found out about its content.

use serde::{Deserialize, Serialize};

/// The server's random id of an upload: 32 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttachmentId(String);

impl AttachmentId {
    pub fn random() -> Self {
        AttachmentId(hex::encode(rand::random::<[u8; 16]>()))
    }

    /// `None` for anything but an id this server could have made.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (s.len() == 32 && hex).then(|| AttachmentId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Most files one message sends.
pub const MAX_FILES_PER_MESSAGE: usize = 10;
/// Most bytes of files one message sends.
pub const MAX_MESSAGE_FILE_BYTES: u64 = 25 * 1024 * 1024;

/// Longest file name kept, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 120;

/// A file name fit for display and for `Content-Disposition`, never a
/// path: only its last component, without control characters, leading dots
/// or characters that mean something to a shell or a file system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    /// Sanitises what a client called the file; `fallback` when nothing is
    /// left of it.
    pub fn sanitise(raw: &str, fallback: &str) -> FileName {
        let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
        let cleaned: String = last
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| match c {
                '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
                c => c,
            })
            .collect();
        let trimmed = cleaned.trim().trim_start_matches('.').trim();
        let name: String = trimmed.chars().take(MAX_FILE_NAME_CHARS).collect();
        if name.is_empty() {
            FileName(fallback.to_owned())
        } else {
            FileName(name)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `Content-Disposition` (RFC 6266): an ASCII `filename` for old
    /// clients and the exact name as UTF-8 in `filename*` (RFC 8187).
    pub fn content_disposition(&self, inline: bool) -> String {
        let ascii: String = self
            .0
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '\\' && c != '"' && c != '%' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut encoded = String::new();
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                encoded.push(b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        let kind = if inline { "inline" } else { "attachment" };
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// An attachment as messages carry it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub name: FileName,
    /// Bytes of the file as served (after re-encoding, for images).
    pub size: u64,
    /// The type found from the content, never from the name.
    #[serde(rename = "type")]
    pub mime: String,
    /// Images only: their pixel size.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height: Option<u32>,
}

impl Attachment {
    /// Whether browsers may show it inline: raster images only (never SVG).
    pub fn is_image(&self) -> bool {
        self.width.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_path_and_dangerous_characters() {
        let n = |s| FileName::sanitise(s, "file").as_str().to_owned();
        assert_eq!(n("../../etc/passwd"), "passwd");
        assert_eq!(n("C:\\Users\\x\\..\\shot.png"), "shot.png");
        assert_eq!(n("..\u{0}"), "file");
        assert_eq!(n(".bashrc"), "bashrc");
        assert_eq!(n("a\"b<c>.txt"), "a_b_c_.txt");
        assert_eq!(n("截图 1.png"), "截图 1.png");
    }

    #[test]
    fn content_disposition_quotes_ascii_and_encodes_utf8() {
        let name = FileName::sanitise("截图 \"1\".png", "file");
        assert_eq!(
            name.content_disposition(false),
            "attachment; filename=\"__ _1_.png\"; filename*=UTF-8''%E6%88%AA%E5%9B%BE%20_1_.png"
        );
    }

    #[test]
    fn ids_are_32_hex_digits() {
        assert!(AttachmentId::parse(AttachmentId::random().as_str()).is_some());
        assert!(AttachmentId::parse("../x").is_none());
    }
}
