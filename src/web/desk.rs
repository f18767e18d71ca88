//! The shared desk over HTTP: saved replies (`/api/replies`), labels
//! (`/api/labels`) and a conversation's labels
//! (`/api/conversations/{id}/labels`). Changes of a conversation's labels
//! are pushed to every open console.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::api::json_body;
use super::audit::record;
use super::AppState;
use crate::desk::{self, LabelRef, NewLabel, NewReply};
use crate::domain::ClientId;
use crate::error::AppError;
use crate::store::{conversation_target, label_target, reply_target, AuditAction, StoreChanged};

/// `GET /api/replies` → `{"replies":[{"id","shortcut","name","text"}]}`
pub async fn replies(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let replies = desk::replies(&state.store).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "replies": replies })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
    shortcut: String,
    name: String,
    text: String,
}

/// `POST /api/replies` `{"shortcut","name","text"}` → 201 and the reply;
/// any agent (the team shares them); 409 if the shortcut is taken.
pub async fn add_reply(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    let ReplyBody {
        shortcut,
        name,
        text,
    } = json_body(&req, body).await?;
    let new = NewReply::parse(&shortcut, &name, text, state.limits.max_text_chars)?;
    let reply = desk::add_reply(&state.store, new).await?;
    let target = Some(reply_target(reply.id));
    record(
        &state,
        &req,
        &agent,
        AuditAction::ReplyCreated,
        target,
        None,
    )
    .await;
    Ok(HttpResponse::Created().json(reply))
}

/// `DELETE /api/replies/{id}` → 204
pub async fn delete_reply(
    req: HttpRequest,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    desk::delete_reply(&state.store, *id).await?;
    let target = Some(reply_target(*id));
    record(
        &state,
        &req,
        &agent,
        AuditAction::ReplyDeleted,
        target,
        None,
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/labels` → `{"labels":[{"id","name","color"}]}`
pub async fn labels(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let labels = desk::labels(&state.store).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "labels": labels })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelBody {
    name: String,
    color: String,
}

/// `POST /api/labels` `{"name","color":"#rrggbb"}` → 201; admins only.
pub async fn add_label(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let LabelBody { name, color } = json_body(&req, body).await?;
    let label = desk::add_label(&state.store, NewLabel::parse(&name, &color)?).await?;
    let target = Some(label_target(label.id));
    record(
        &state,
        &req,
        &admin,
        AuditAction::LabelCreated,
        target,
        None,
    )
    .await;
    Ok(HttpResponse::Created().json(label))
}

/// `DELETE /api/labels/{id}` → 204; admins only. It leaves every
/// conversation that had it.
pub async fn delete_label(
    req: HttpRequest,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let clients = desk::delete_label(&state.store, *id).await?;
    let target = Some(label_target(*id));
    record(
        &state,
        &req,
        &admin,
        AuditAction::LabelDeleted,
        target,
        None,
    )
    .await;
    state.inbox.do_send(StoreChanged { clients });
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    #[serde(default)]
    add: Vec<LabelRef>,
    #[serde(default)]
    remove: Vec<LabelRef>,
}

/// `POST /api/conversations/{id}/labels` `{"add":[…],"remove":[…]}`, each
/// a label id or name → `{"client_id","labels"}`.
pub async fn change_labels(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    let client = ClientId::parse(&id)?;
    let ChangeBody { add, remove } = json_body(&req, body).await?;
    let mut ids = (Vec::new(), Vec::new());
    for label in add {
        ids.0.push(desk::label_id(&state.store, label).await?);
    }
    for label in remove {
        ids.1.push(desk::label_id(&state.store, label).await?);
    }
    let labels =
        desk::change_labels(&state.store, client.clone(), ids.0.clone(), ids.1.clone()).await?;
    // One entry per label asked for, each naming the conversation.
    let asked = (ids.0.iter().map(|id| (AuditAction::LabelAdded, id)))
        .chain(ids.1.iter().map(|id| (AuditAction::LabelRemoved, id)));
    for (action, label) in asked {
        let (target, detail) = (
            Some(conversation_target(&client)),
            Some(label_target(label)),
        );
        record(&state, &req, &agent, action, target, detail).await;
    }
    state.inbox.do_send(StoreChanged {
        clients: vec![client.clone()],
    });
    Ok(HttpResponse::Ok().json(serde_json::json!({ "client_id": client, "labels": labels })))
}
