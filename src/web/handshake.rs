//! The WebSocket opening handshake, checked as RFC 6455 §4.2.1 asks before
//! anything is created for the socket: HTTP/1.1, an upgrade to `websocket`,
//! version 13 (anything else is 426 naming the one we speak), and a key that
//! is the base64 of 16 bytes. actix-web-actors accepts versions 7 and 8,
//! any key, and HTTP/1.0.

use actix_web::http::{header, Version};
use actix_web::HttpRequest;
use actix_web_actors::ws::{self, HandshakeError};
use base64::Engine;

use crate::error::AppError;

/// The one protocol version this server speaks (RFC 6455).
pub const WEBSOCKET_VERSION: &str = "13";

/// Bytes a `Sec-WebSocket-Key` must decode to (RFC 6455 §4.1).
const KEY_BYTES: usize = 16;

pub fn check(req: &HttpRequest) -> Result<(), AppError> {
    if req.version() != Version::HTTP_11 {
        return Err(AppError::BadRequest(
            "a WebSocket upgrade needs HTTP/1.1".into(),
        ));
    }
    match ws::handshake(req) {
        Ok(_) => {}
        Err(HandshakeError::UnsupportedVersion) => {
            return Err(AppError::UnsupportedWebSocketVersion)
        }
        Err(e) => {
            return Err(AppError::BadRequest(format!(
                "expected a WebSocket upgrade request ({e})"
            )))
        }
    }
    let version = req.headers().get(header::SEC_WEBSOCKET_VERSION);
    if version.is_none_or(|v| v != WEBSOCKET_VERSION) {
        return Err(AppError::UnsupportedWebSocketVersion);
    }
    let key = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| base64::engine::general_purpose::STANDARD.decode(key.as_bytes()));
    match key {
        Some(Ok(bytes)) if bytes.len() == KEY_BYTES => Ok(()),
        _ => Err(AppError::BadRequest(
            "Sec-WebSocket-Key must be the base64 of 16 random bytes".into(),
        )),
    }
}
