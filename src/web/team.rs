//! The team: `/api/me`, `/api/agents` (admins add agents, change roles,
//! disable and re-invite; everyone renames themselves), `/api/tokens` (each
//! agent's own API tokens), and the `/agent/team` page that uses them.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::api::json_body;
use super::audit::record;
use super::login::TEAM_PAGE;
use super::render::{html, login_redirect, page_lang};
use super::security::Security;
use super::AppState;
use crate::accounts::{AgentChange, DisplayName, Email, NewAgent, Secret};
use crate::domain::{AgentId, AgentRole};
use crate::error::AppError;
use crate::store::{agent_target, token_target, AuditAction};

const TEAM_HTML: &str = include_str!("../../templates/team.html");

/// `GET /agent/team`
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.security.is_agent(&req).await {
        return login_redirect(TEAM_PAGE);
    }
    html(
        StatusCode::OK,
        TEAM_HTML.replace("{{lang}}", page_lang(&req)),
    )
}

/// `GET /api/me`: who the credentials act as.
pub async fn me(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent(&req).await?;
    if agent.id == AgentId::SERVICE {
        return Ok(HttpResponse::Ok().json(serde_json::json!({
            "id": agent.id,
            "name": agent.name,
            "role": agent.role,
            "service": true,
        })));
    }
    let record = state.security.accounts.agent(agent.id).await?;
    Ok(HttpResponse::Ok().json(record))
}

/// `GET /api/agents`
pub async fn agents(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let agents = state.security.accounts.agents().await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "agents": agents })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAgentBody {
    name: String,
    email: String,
    role: AgentRole,
}

/// `POST /api/agents` `{"name","email","role"}` → `201 {"id","invite_url"}`
pub async fn add_agent(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let new: NewAgentBody = json_body(&req, body).await?;
    let new = NewAgent {
        name: DisplayName::parse(&new.name)?,
        email: Email::parse(&new.email)?,
        role: new.role,
    };
    let detail = format!(
        "{} <{}> as {}",
        new.name.as_str(),
        new.email.as_str(),
        new.role.as_str()
    );
    let (id, invite) = state.security.accounts.add_agent(new).await?;
    let target = Some(agent_target(id.0));
    record(
        &state,
        &req,
        &admin,
        AuditAction::Invite,
        target,
        Some(detail),
    )
    .await;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id,
        "invite_url": invite_url(&req, &state.security, &invite),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    name: Option<String>,
    role: Option<AgentRole>,
    disabled: Option<bool>,
}

/// `PATCH /api/agents/{id}` `{"name"|"role"|"disabled"}`
pub async fn change_agent(
    req: HttpRequest,
    id: web::Path<i64>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let by = state.security.require_agent_write(&req).await?;
    let change: ChangeBody = json_body(&req, body).await?;
    let change = AgentChange {
        name: change.name.as_deref().map(DisplayName::parse).transpose()?,
        role: change.role,
        disabled: change.disabled,
    };
    let audited = audited_changes(&change);
    let changed = state
        .security
        .accounts
        .change_agent(&by, AgentId(*id), change)
        .await?;
    for (action, detail) in audited {
        let target = Some(agent_target(*id));
        record(&state, &req, &by, action, target, detail).await;
    }
    Ok(HttpResponse::Ok().json(changed))
}

/// What a change of an agent records in the audit log.
fn audited_changes(change: &AgentChange) -> Vec<(AuditAction, Option<String>)> {
    let mut audited = Vec::new();
    if let Some(name) = &change.name {
        audited.push((AuditAction::Rename, Some(format!("to {}", name.as_str()))));
    }
    if let Some(role) = change.role {
        audited.push((
            AuditAction::RoleChange,
            Some(format!("to {}", role.as_str())),
        ));
    }
    match change.disabled {
        Some(true) => audited.push((AuditAction::Disable, None)),
        Some(false) => audited.push((AuditAction::Enable, None)),
        None => {}
    }
    audited
}

/// `POST /api/agents/{id}/invite` → `201 {"invite_url"}`: a new invite
/// (a password reset), replacing older ones.
pub async fn reinvite(
    req: HttpRequest,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let admin = state.security.require_admin_write(&req).await?;
    let invite = state.security.accounts.reinvite(AgentId(*id)).await?;
    let target = Some(agent_target(*id));
    record(&state, &req, &admin, AuditAction::Reinvite, target, None).await;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "invite_url": invite_url(&req, &state.security, &invite),
    })))
}

/// `GET /api/tokens`: the agent's own tokens (never the tokens themselves).
pub async fn tokens(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent(&req).await?;
    let tokens = state.security.accounts.tokens_of(agent.id).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "tokens": tokens })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
}

/// `POST /api/tokens` `{"name"}` → `201 {"id","name","token"}`, the only
/// time the token is shown.
pub async fn create_token(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    let new: NewTokenBody = json_body(&req, body).await?;
    let name = DisplayName::parse(&new.name)?;
    let (id, token) = state
        .security
        .accounts
        .create_token(&agent, name.clone())
        .await?;
    let (target, detail) = (Some(token_target(id)), Some(name.as_str().to_owned()));
    record(
        &state,
        &req,
        &agent,
        AuditAction::TokenCreated,
        target,
        detail,
    )
    .await;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id,
        "name": name,
        "token": token.into_string(),
    })))
}

/// `DELETE /api/tokens/{id}` → 204
pub async fn delete_token(
    req: HttpRequest,
    id: web::Path<i64>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    state.security.accounts.delete_token(agent.id, *id).await?;
    let target = Some(token_target(*id));
    record(
        &state,
        &req,
        &agent,
        AuditAction::TokenDeleted,
        target,
        None,
    )
    .await;
    Ok(HttpResponse::NoContent().finish())
}

/// The link an invited agent opens, on this server as the admin reached it.
fn invite_url(req: &HttpRequest, security: &Security, invite: &Secret) -> String {
    format!("{}/invite/{}", security.own_origin(req), invite.reveal())
}
