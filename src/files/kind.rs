//! The allow-list: a type is recognised from the content's magic bytes
//! (`infer`); what has none is accepted only as plain UTF-8 text that is
//! not markup, so HTML or SVG renamed `.txt` or `.png` is refused.

use image::ImageFormat;

use super::Refused;

/// What the README and the error message say is accepted.
pub const ALLOWED_DESCRIPTION: &str =
    "JPEG, PNG, GIF and WebP images, PDF, plain text, Word, Excel, PowerPoint, OpenDocument and zip";

/// An accepted type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A raster image this server decodes and re-encodes.
    Image(ImageFormat),
    /// Any other allowed file, kept byte for byte, with its type.
    File(&'static str),
}

const FILES: &[&str] = &[
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

pub fn detect(bytes: &[u8]) -> Result<Kind, Refused> {
    if let Some(found) = infer::get(bytes) {
        let mime = found.mime_type();
        let image = match mime {
            "image/jpeg" => Some(ImageFormat::Jpeg),
            "image/png" => Some(ImageFormat::Png),
            "image/gif" => Some(ImageFormat::Gif),
            "image/webp" => Some(ImageFormat::WebP),
            _ => None,
        };
        if let Some(format) = image {
            return Ok(Kind::Image(format));
        }
        return FILES
            .iter()
            .find(|allowed| **allowed == mime)
            .map(|allowed| Kind::File(allowed))
            .ok_or_else(|| Refused::Type(mime.to_owned()));
    }
    if is_plain_text(bytes) {
        Ok(Kind::File("text/plain; charset=utf-8"))
    } else {
        Err(Refused::Type("unknown or markup".into()))
    }
}

/// UTF-8 without NUL bytes, and nothing a browser would sniff as markup
/// (some sniff despite `nosniff` when a type is missing or wrong).
fn is_plain_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    if text.contains('\0') {
        return false;
    }
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    !["<script", "<svg", "<html", "<!doctype", "<iframe", "<?xml"]
        .iter()
        .any(|tag| lower.contains(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_never_text() {
        assert!(detect(b"<!DOCTYPE html><script>alert(1)</script>").is_err());
        assert!(detect(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>").is_err());
        assert!(detect(b"hello\n<ScRiPt>x</script>").is_err());
        assert_eq!(
            detect("a receipt: 12 €".as_bytes()),
            Ok(Kind::File("text/plain; charset=utf-8"))
        );
    }

    #[test]
    fn types_come_from_magic_bytes() {
        assert_eq!(detect(b"%PDF-1.7\n..."), Ok(Kind::File("application/pdf")));
        assert_eq!(
            detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Ok(Kind::Image(ImageFormat::Png))
        );
        assert!(detect(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff").is_err());
        assert!(detect(&[0xff, 0xfe, 0, 0, 1, 2]).is_err());
    }
}
