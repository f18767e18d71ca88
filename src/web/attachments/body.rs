//! An upload's body: the file itself (its name in `?name=`) or the `file`
//! field of a multipart form, read as it streams in and refused with 413
//! the moment it passes the limit, before it is all received.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::{Stream, StreamExt};

use crate::error::AppError;
use crate::web::security::query_param;

/// A received file and the name its sender gave it.
pub struct Received {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    max: u64,
) -> Result<Received, AppError> {
    let too_large = || AppError::PayloadTooLarge {
        max: usize::try_from(max).unwrap_or(usize::MAX),
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        if declared.is_some_and(|len| len > max) {
            return Err(too_large());
        }
        let name = query_param(req, "name")?.unwrap_or_default();
        let bytes = collect(payload, max).await?.ok_or_else(too_large)?;
        return Ok(Received { name, bytes });
    }
    // A form carries a little more than its file: allow for the boundaries.
    if declared.is_some_and(|len| len > max + 64 * 1024) {
        return Err(too_large());
    }
    let mut form = Multipart::new(req.headers(), payload);
    while let Some(field) = form.next().await {
        let field = field.map_err(|e| AppError::BadRequest(format!("malformed form: {e}")))?;
        if field.name() != Some("file") {
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .unwrap_or_default()
            .to_owned();
        let bytes = collect(field, max).await?.ok_or_else(too_large)?;
        return Ok(Received { name, bytes });
    }
    Err(AppError::BadRequest(
        "the form has no \"file\" field".into(),
    ))
}

/// The whole stream, or `None` once it passes `max` bytes.
async fn collect<E: std::fmt::Display>(
    mut stream: impl Stream<Item = Result<web::Bytes, E>> + Unpin,
    max: u64,
) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("upload interrupted: {e}")))?;
        if (bytes.len() + chunk.len()) as u64 > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}
