//! `POST /api/conversations/{id}/assign`: give a conversation to an agent,
//! hand it over (a transfer, with an optional private note), or put it
//! back in the queue. It goes through the conversation's SessionActor like
//! the agent socket's `assign` frame, so the event is in the history and
//! every open page sees the change at once. `PUT /api/agents/{id}/capacity`:
//! how many open conversations automatic assignment gives an agent.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::api::{json_body, read_body, require_json, take_api_token};
use super::audit::record;
use super::AppState;
use crate::accounts::{set_capacity, MAX_CAPACITY};
use crate::conversation::{lookup, Assign};
use crate::domain::{AgentId, ClientId};
use crate::error::AppError;
use crate::protocol::validate_message;
use crate::routing::Drain;
use crate::store::{agent_target, AuditAction, Who};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// Required; null puts the conversation back in the queue.
    agent_id: Option<AgentId>,
    note: Option<String>,
}

/// `{"agent_id": 3 | null, "note": "…"}` → `{"client_id", "assignee"}`.
pub async fn assign(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    require_json(&req)?;
    take_api_token(&req, &state)?;
    let client = ClientId::parse(&id)?;
    let body = read_body(body).await?;
    let raw: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    if raw.get("agent_id").is_none() {
        return Err(AppError::BadRequest(
            "agent_id is required (null puts the conversation back in the queue)".into(),
        ));
    }
    let AssignBody { agent_id, note } =
        serde_json::from_value(raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if let Some(note) = &note {
        validate_message(note, None, state.limits.max_text_chars, false)?;
    }
    let session = lookup(&state.registry, &client).await?;
    let assignee = session
        .send(Assign {
            by: Some(agent.author()),
            to: agent_id,
            note,
            only_if: None,
            who: Who::agent(&agent, state.security.client_ip(&req)),
        })
        .await
        .map_err(|_| AppError::ShuttingDown)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "client_id": client,
        "assignee": assignee,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacityBody {
    capacity: u32,
}

/// Admins: `{"capacity": n}` (0 to 1000; 0 gives the agent nothing
/// automatically). A raise gives out what waits at once.
pub async fn capacity(
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let CapacityBody { capacity } = json_body(&req, body).await?;
    if capacity > MAX_CAPACITY {
        return Err(AppError::BadRequest(format!(
            "capacity must be 0 to {MAX_CAPACITY}"
        )));
    }
    let agent = AgentId(*id);
    set_capacity(&state.store, agent, capacity).await?;
    let (target, detail) = (
        Some(agent_target(agent.0)),
        Some(format!("capacity {capacity}")),
    );
    record(
        &state,
        &req,
        &admin,
        AuditAction::CapacityChange,
        target,
        detail,
    )
    .await;
    state.router.do_send(Drain);
    Ok(HttpResponse::Ok().json(serde_json::json!({"id": agent, "capacity": capacity})))
}
