//! What the account endpoints share: bodies that are JSON or an HTML form
//! (scripts send JSON, the pages plain forms that work without scripts),
//! the session cookie, and the answer to a successful login.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

use super::errors::page_error;
use super::security::{Security, AGENT_COOKIE};
use crate::accounts::Secret;
use crate::domain::Agent;
use crate::error::AppError;

/// How a body was sent, which decides how the answer looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json`: answered with JSON.
    Json,
    /// `application/x-www-form-urlencoded`: answered with a redirect or a page.
    Form,
}

/// The kind of the request's body by its `Content-Type`; 415 for others.
pub fn body_kind(req: &HttpRequest) -> Result<BodyKind, AppError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("application/json") => Ok(BodyKind::Json),
        Some("application/x-www-form-urlencoded") => Ok(BodyKind::Form),
        _ => Err(AppError::UnsupportedMediaType),
    }
}

/// Decodes a JSON or form body.
pub fn parse_body<T: DeserializeOwned>(kind: BodyKind, body: &[u8]) -> Result<T, AppError> {
    match kind {
        BodyKind::Json => {
            serde_json::from_slice(body).map_err(|e| AppError::InvalidJson(e.to_string()))
        }
        BodyKind::Form => serde_urlencoded::from_bytes(body)
            .map_err(|e| AppError::BadRequest(format!("malformed form: {e}"))),
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure behind https,
/// living as long as the session may.
pub fn session_cookie(req: &HttpRequest, security: &Security, session: &Secret) -> Cookie<'static> {
    let max_age = security.accounts.policy().absolute.as_secs();
    Cookie::build(AGENT_COOKIE, session.reveal().to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(security.scheme(req) == "https")
        .max_age(time::Duration::seconds(
            i64::try_from(max_age).unwrap_or(i64::MAX),
        ))
        .finish()
}

/// The cookie that makes the browser forget the session.
pub fn removal_cookie() -> Cookie<'static> {
    let mut gone = Cookie::new(AGENT_COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    gone
}

/// A successful login (or setup, or accepted invite): the session cookie,
/// with the agent as JSON (`status`) for scripts, or a redirect to `next`
/// for forms.
pub fn logged_in(
    req: &HttpRequest,
    security: &Security,
    kind: BodyKind,
    status: StatusCode,
    agent: &Agent,
    session: &Secret,
    next: &str,
) -> HttpResponse {
    let mut response = match kind {
        BodyKind::Json => HttpResponse::build(status).json(serde_json::json!({
            "id": agent.id,
            "name": agent.name,
            "role": agent.role,
        })),
        BodyKind::Form => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next.to_owned()))
            .finish(),
    };
    let _ = response.add_cookie(&session_cookie(req, security, session));
    response
}

/// A refused submission: JSON for scripts, an error page for the form.
pub fn refused(req: &HttpRequest, kind: BodyKind, err: &AppError) -> HttpResponse {
    match kind {
        BodyKind::Json => err.error_response(),
        BodyKind::Form => page_error(req, err),
    }
}
