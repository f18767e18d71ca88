//! `GET /api/email`: for admins, whether email is on and the emails the
//! sender gave up on (the team page shows them); and `GET /r/{token}`, the
//! reopen link of an email.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::api::json_body;
use super::render::render_error_page;
use super::AppState;
use crate::domain::{now_millis, ClientId, Lang};
use crate::error::AppError;
use crate::mail::{
    failed_emails, request_transcript, set_waiting_alerts, unsubscribe, waiting_alerts, LinkError,
    TranscriptRequest,
};

/// Failed emails the team page lists, newest first.
const FAILED_SHOWN: usize = 50;

/// `GET /api/email` → `{"on": bool, "failed": [FailedEmail]}`
pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_admin(&req).await?;
    let failed = failed_emails(&state.store, FAILED_SHOWN)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "on": state.reopen.is_some(), "failed": failed })))
}

/// `GET /api/me/alerts` → `{"waiting": bool}`: whether the agent gets an
/// email when a customer waits (`--notify-waiting-after`).
pub async fn alerts(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent(&req).await?;
    let waiting = waiting_alerts(&state.store, agent.id)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "waiting": waiting })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsBody {
    waiting: bool,
}

/// `PUT /api/me/alerts` `{"waiting": bool}`: each agent chooses for themselves.
pub async fn set_alerts(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    let wanted: AlertsBody = json_body(&req, body).await?;
    set_waiting_alerts(&state.store, agent.id, wanted.waiting)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "waiting": wanted.waiting })))
}

/// `POST /api/conversations/{id}/transcript`: emails the customer the
/// conversation so far (as they saw it). `202 {"queued": true}`, or
/// `{"queued": false}` when that transcript is already queued or sent; 409
/// when email is off or the customer left no address.
pub async fn transcript(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent_write(&req).await?;
    let client = ClientId::parse(&id)?;
    if state.reopen.is_none() {
        return Err(AppError::Conflict("email is off on this server".into()));
    }
    let outcome = request_transcript(&state.store, client)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    let queued = match outcome {
        TranscriptRequest::Queued => true,
        TranscriptRequest::AlreadyQueued => false,
        TranscriptRequest::NoAddress => {
            return Err(AppError::Conflict(
                "the customer left no email address".into(),
            ))
        }
    };
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "queued": queued })))
}

/// `POST /u/{token}`: the one-click unsubscribe of an email's
/// `List-Unsubscribe` (RFC 8058); the token is the email's own, so no
/// cookie and no Origin are involved. The customer gets no more email.
pub async fn unsubscribe_customer(
    token: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let key = state.reopen.as_ref().ok_or(AppError::NotFound)?;
    let client = key
        .open(&token, now_millis().timestamp())
        .map_err(|_| AppError::NotFound)?;
    unsubscribe(&state.store, client)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "unsubscribed": true })))
}

/// The query of a reopen link.
#[derive(serde::Deserialize)]
pub struct ReopenQuery {
    lang: Option<String>,
}

/// `GET /r/{token}`: the link in an email takes the customer back to their
/// conversation (with its identity signature when the server checks them);
/// a forged link is 404 and an expired one 410.
pub async fn reopen(
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<ReopenQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let opened = match &state.reopen {
        Some(key) => key.open(&token, now_millis().timestamp()),
        None => Err(LinkError::Invalid),
    };
    match opened {
        Ok(client) => {
            let mut params = Vec::new();
            if let Some(secret) = &state.security.identity {
                params.push(format!("sig={}", secret.signature(&client)));
            }
            // The email's language, for the page (only one we speak).
            if let Some(lang) = query.lang.as_deref().and_then(Lang::parse) {
                params.push(format!("lang={}", lang.as_str()));
            }
            let query = if params.is_empty() {
                String::new()
            } else {
                format!("?{}", params.join("&"))
            };
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/chat/client/{client}{query}")))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        Err(e) => {
            let status = match e {
                LinkError::Expired => StatusCode::GONE,
                LinkError::Invalid => StatusCode::NOT_FOUND,
            };
            render_error_page(&req, status, &e.to_string())
        }
    }
}
