//! A conversation's export and erasure (GDPR access and erasure):
//! `GET /api/conversations/{id}/export` and `DELETE /api/conversations/{id}`
//! for admins, and `DELETE /chat/client/{id}` for the customer themselves
//! (with identity verification on, only with their own signature). Each is
//! recorded in the audit log.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::SecondsFormat;

use super::audit::record;
use super::AppState;
use crate::conversation::{Remove, Removed};
use crate::domain::{now_millis, ClientId};
use crate::error::AppError;
use crate::store::{conversation_target, AuditAction, AuditEvent, Who, WriteOp};

/// `GET /api/conversations/{id}/export`: everything stored about it, as a
/// JSON download.
pub async fn export(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin(&req).await?;
    let client = ClientId::parse(&id)?;
    let export = state
        .store
        .export(client.clone())
        .await
        .map_err(|_| AppError::StoreUnavailable)?
        .ok_or(AppError::NotFound)?;
    let target = Some(conversation_target(&client));
    record(&state, &req, &admin, AuditAction::Export, target, None).await;
    let body = serde_json::json!({
        "client_id": client,
        "exported_at": now_millis().to_rfc3339_opts(SecondsFormat::Millis, true),
        "conversation": export.conversation,
        "anonymised": export.anonymised,
        "messages": export.messages,
        "attachments": export.attachments,
        "audit": export.audit,
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"conversation-{client}.json\""),
        ))
        .json(body))
}

/// `DELETE /api/conversations/{id}` → 204: the conversation and every
/// message, gone from the database file too.
pub async fn erase(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let client = ClientId::parse(&id)?;
    remove(&state, &client).await?;
    let target = Some(conversation_target(&client));
    record(&state, &req, &admin, AuditAction::Erase, target, None).await;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /chat/client/{id}` → 204: the customer deletes their own
/// conversation from its page (which asks them to confirm first).
pub async fn customer_erase(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_browser_write(&req)?;
    let client = ClientId::parse(&id)?;
    state.security.require_customer(&req, &client)?;
    remove(&state, &client).await?;
    let customer = Who::named("customer", Some(state.security.client_ip(&req)));
    let event = AuditEvent::new(customer, AuditAction::Erase)
        .target(conversation_target(&client))
        .detail("by the customer");
    state.store.audit(event).await;
    Ok(HttpResponse::NoContent().finish())
}

async fn remove(state: &AppState, client: &ClientId) -> Result<(), AppError> {
    let (known, _) = state
        .store
        .summaries_of(vec![client.clone()])
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    if known.is_empty() {
        return Err(AppError::NotFound);
    }
    let removed = state
        .registry
        .send(Remove {
            client: client.clone(),
            op: WriteOp::Erase,
            if_idle: false,
        })
        .await
        .map_err(|_| AppError::ShuttingDown)??;
    match removed {
        Removed::Done => Ok(()),
        Removed::InUse => Err(AppError::Conflict("the conversation is in use".into())),
    }
}
