//! The one error type of the server. Each variant has a stable machine code
//! (sent in WebSocket `error` frames and JSON bodies) and a human message;
//! the web layer maps variants to statuses in `web::errors`.

use crate::domain::{InvalidClientId, MAX_MESSAGE_ID_LEN};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    InvalidClientId(#[from] InvalidClientId),
    #[error("frame is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("unknown frame type {0:?}")]
    UnknownType(String),
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    #[error("message text is empty")]
    EmptyText,
    #[error("message text is longer than {max} characters")]
    TextTooLong { max: usize },
    #[error("message id must be 1 to {MAX_MESSAGE_ID_LEN} printable characters")]
    InvalidMessageId,
    #[error("binary frames are not part of the chat protocol; send JSON text frames")]
    BinaryNotSupported,
    #[error("the message store is unavailable; the message was not saved, retry later")]
    StoreUnavailable,
    #[error("the server is shutting down; reconnect in a moment")]
    ShuttingDown,
    #[error("invalid contact details: {0}")]
    InvalidContact(String),
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error(
        "agent credentials required: log in at /agent/login, or send Authorization: Bearer <token>"
    )]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The same answer for an unknown email and a wrong password.
    #[error("wrong email or password")]
    BadCredentials,
    #[error("too many failed logins; retry in {retry_after_secs} s")]
    TooManyLoginAttempts { retry_after_secs: u64 },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("too many messages: at most {per_second} per second (bursts of {burst}); this one was not stored")]
    RateLimited { per_second: f64, burst: u32 },
    #[error("too many open connections from your address; close some and retry")]
    TooManyConnections,
    #[error("too many new conversations from your address; retry in a minute")]
    TooManyConversations,
    #[error("request body larger than {max} bytes")]
    PayloadTooLarge { max: usize },
    #[error("this conversation's files would exceed its quota of {max} bytes; nothing was stored")]
    QuotaExceeded { max: u64 },
    #[error("file refused: {0}")]
    FileRefused(String),
    #[error("attachment {0} is not an unsent upload of yours in this conversation")]
    UnknownAttachment(String),
    #[error("send the body as JSON, with Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("this server speaks WebSocket version 13 only (RFC 6455)")]
    UnsupportedWebSocketVersion,
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("the server is at its connection limit; retry in a moment")]
    ServerBusy,
}

impl AppError {
    /// Stable code for clients to act on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidClientId(_) => "invalid_client_id",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::UnknownType(_) => "unknown_type",
            AppError::InvalidFrame(_) => "invalid_frame",
            AppError::EmptyText => "empty_text",
            AppError::TextTooLong { .. } => "text_too_long",
            AppError::InvalidMessageId => "invalid_message_id",
            AppError::BinaryNotSupported => "binary_not_supported",
            AppError::StoreUnavailable => "store_unavailable",
            AppError::ShuttingDown => "shutting_down",
            AppError::InvalidContact(_) => "invalid_contact",
            AppError::BadRequest(_) => "bad_request",
            AppError::NotFound => "not_found",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::BadCredentials => "bad_credentials",
            AppError::TooManyLoginAttempts { .. } => "too_many_login_attempts",
            AppError::Conflict(_) => "conflict",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::TooManyConnections => "too_many_connections",
            AppError::TooManyConversations => "too_many_conversations",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::QuotaExceeded { .. } => "quota_exceeded",
            AppError::FileRefused(_) => "file_refused",
            AppError::UnknownAttachment(_) => "unknown_attachment",
            AppError::UnsupportedMediaType => "unsupported_media_type",
            AppError::UnsupportedWebSocketVersion => "unsupported_websocket_version",
            AppError::RequestTimeout => "request_timeout",
            AppError::ServerBusy => "server_busy",
        }
    }
}

impl From<crate::domain::InvalidContact> for AppError {
    fn from(e: crate::domain::InvalidContact) -> Self {
        AppError::InvalidContact(e.0)
    }
}
