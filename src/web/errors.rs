//! How errors look over HTTP: JSON `{"error":{"code","message"}}` for APIs
//! and refused WebSocket upgrades, an HTML page for pages.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::error::AppError;

use super::handshake::WEBSOCKET_VERSION;
use super::render::render_error_page;

pub fn status_of(err: &AppError) -> StatusCode {
    match err {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Unauthorized | AppError::BadCredentials => StatusCode::UNAUTHORIZED,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::RateLimited { .. }
        | AppError::TooManyLoginAttempts { .. }
        | AppError::TooManyConnections
        | AppError::TooManyConversations => StatusCode::TOO_MANY_REQUESTS,
        AppError::TextTooLong { .. }
        | AppError::PayloadTooLarge { .. }
        | AppError::QuotaExceeded { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::UnsupportedMediaType | AppError::FileRefused(_) => {
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        }
        AppError::UnsupportedWebSocketVersion => StatusCode::UPGRADE_REQUIRED,
        AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        AppError::StoreUnavailable | AppError::ShuttingDown | AppError::ServerBusy => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        AppError::InvalidClientId(_)
        | AppError::InvalidJson(_)
        | AppError::UnknownType(_)
        | AppError::InvalidFrame(_)
        | AppError::EmptyText
        | AppError::InvalidMessageId
        | AppError::BinaryNotSupported
        | AppError::InvalidContact(_)
        | AppError::UnknownAttachment(_)
        | AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status_code());
        if *self == AppError::UnsupportedWebSocketVersion {
            // RFC 6455 §4.4: name the version we do speak.
            builder.insert_header((header::SEC_WEBSOCKET_VERSION, WEBSOCKET_VERSION));
        }
        let mut response = builder.json(serde_json::json!({
            "error": { "code": self.code(), "message": self.to_string() }
        }));
        add_retry_after(&mut response, self);
        response
    }
}

/// `Retry-After` (seconds) on the errors that know when to retry.
pub fn add_retry_after(response: &mut HttpResponse, err: &AppError) {
    if let AppError::TooManyLoginAttempts { retry_after_secs } = err {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(*retry_after_secs),
        );
    }
}

/// An error shown to a person in a browser: a page in their language.
pub fn page_error(req: &HttpRequest, err: &AppError) -> HttpResponse {
    render_error_page(req, status_of(err), &err.to_string())
}
