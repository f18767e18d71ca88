//! The audit log over HTTP: `GET /api/audit?cursor=&limit=` (admins only;
//! newest first, `next_cursor` for older entries), the `/agent/audit` page
//! that shows it, and `record`, which the handlers call after each action
//! they audit. Nothing here or anywhere edits or deletes an entry.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::render::{html, login_redirect, page_lang};
use super::security::query_param;
use super::AppState;
use crate::domain::Agent;
use crate::error::AppError;
use crate::store::{AuditAction, AuditEvent, StoreError, Who};

const AUDIT_HTML: &str = include_str!("../../templates/audit.html");
pub(super) const AUDIT_PAGE: &str = "/agent/audit";
const PAGE_DEFAULT: usize = 100;
const PAGE_MAX: usize = 1000;

/// Records that `agent` did `action` (to `target`), from the request's address.
pub(super) async fn record(
    state: &AppState,
    req: &HttpRequest,
    agent: &Agent,
    action: AuditAction,
    target: Option<String>,
    detail: Option<String>,
) {
    let who = Who::agent(agent, state.security.client_ip(req));
    let event = AuditEvent {
        actor: who,
        action,
        target,
        detail,
    };
    state.store.audit(event).await;
}

/// `GET /api/audit?cursor=&limit=`
pub async fn entries(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_admin(&req).await?;
    let limit = match query_param(&req, "limit")? {
        None => PAGE_DEFAULT,
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| AppError::BadRequest(format!("limit must be 1 to {PAGE_MAX}")))?,
    };
    let cursor = query_param(&req, "cursor")?;
    let page = state
        .store
        .audit_page(cursor, limit)
        .await
        .map_err(|e| match e {
            StoreError::InvalidCursor => AppError::BadRequest("invalid cursor".into()),
            _ => AppError::StoreUnavailable,
        })?;
    Ok(HttpResponse::Ok().json(page))
}

/// `GET /agent/audit`: the page (its script reads `/api/audit`).
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.security.is_agent(&req).await {
        return login_redirect(AUDIT_PAGE);
    }
    html(
        StatusCode::OK,
        AUDIT_HTML.replace("{{lang}}", page_lang(&req)),
    )
}
