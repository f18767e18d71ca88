//! What an uploaded file is, decided from its bytes and never from its name
//! or the client's `Content-Type`, and what is kept of it: images decoded
//! within a pixel budget (so a decompression bomb is refused before it is
//! unpacked), re-encoded without their metadata (EXIF, GPS position) and
//! given a thumbnail; other allowed types kept as they came.

mod image;
mod kind;

pub use kind::{Kind, ALLOWED_DESCRIPTION};

/// Largest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// What the server keeps of an accepted upload.
#[derive(Debug)]
pub struct Processed {
    /// The detected type, served as `Content-Type`.
    pub mime: &'static str,
    pub data: Vec<u8>,
    /// Images only.
    pub thumbnail: Option<Vec<u8>>,
    pub size: Option<(u32, u32)>,
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("files of this type are not accepted ({0}); accepted: {ALLOWED_DESCRIPTION}")]
    Type(String),
    #[error("the image is {width}×{height} pixels; at most {max} pixels are accepted")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image cannot be read: {0}")]
    BadImage(String),
}

/// Decides the type of `bytes` and prepares them for keeping; images may
/// have at most `max_pixels` pixels.
pub fn process(bytes: Vec<u8>, max_pixels: u64) -> Result<Processed, Refused> {
    match kind::detect(&bytes)? {
        Kind::Image(format) => image::reencode(&bytes, format, max_pixels),
        Kind::File(mime) => Ok(Processed {
            mime,
            data: bytes,
            thumbnail: None,
            size: None,
        }),
    }
}
