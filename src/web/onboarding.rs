//! The one-time links: `/setup?code=…` makes the first admin, and
//! `/invite/{code}` lets an invited agent choose a password. Each is a page
//! with a plain form and a POST taking JSON or that form; success logs the
//! agent in (session cookie), a wrong or used code is 403.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::audit::record;
use super::errors::page_error;
use super::forms::{body_kind, logged_in, parse_body, refused, BodyKind};
use super::login::{AGENT_HOME, TEAM_PAGE};
use super::render::{escape_html, html, page_lang};
use super::security::query_param;
use super::AppState;
use crate::accounts::{DisplayName, Email, NewAgent, Password, MIN_PASSWORD_CHARS};
use crate::domain::AgentRole;
use crate::error::AppError;
use crate::store::{agent_target, AuditAction};

const SETUP_HTML: &str = include_str!("../../templates/setup.html");
const INVITE_HTML: &str = include_str!("../../templates/invite.html");

#[derive(Deserialize)]
struct SetupBody {
    code: String,
    name: String,
    email: String,
    password: String,
}

#[derive(Deserialize)]
struct InviteBody {
    password: String,
    name: Option<String>,
}

/// `GET /setup?code=…`
pub async fn setup_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let code = query_param(&req, "code").ok().flatten().unwrap_or_default();
    match state.security.accounts.setup_code_valid(&code).await {
        Ok(true) => {
            let body = SETUP_HTML
                .replace("{{lang}}", page_lang(&req))
                .replace("{{min_password}}", &MIN_PASSWORD_CHARS.to_string())
                .replace("{{code}}", &escape_html(&code));
            html(StatusCode::OK, body)
        }
        Ok(false) => page_error(
            &req,
            &AppError::Forbidden("this setup link is not valid or was already used".into()),
        ),
        Err(e) => page_error(&req, &e),
    }
}

/// `POST /setup` `{"code","name","email","password"}`
pub async fn setup_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let kind = body_kind(&req).unwrap_or(BodyKind::Form);
    let done = async {
        state.security.check_browser_write(&req)?;
        let setup: SetupBody = parse_body(body_kind(&req)?, &body)?;
        let admin = NewAgent {
            name: DisplayName::parse(&setup.name)?,
            email: Email::parse(&setup.email)?,
            role: AgentRole::Admin,
        };
        let password = Password::parse(setup.password)?;
        state
            .security
            .accounts
            .complete_setup(&setup.code, admin, password)
            .await
    };
    let done = done.await;
    if let Ok((agent, _)) = &done {
        record(&state, &req, agent, AuditAction::Setup, None, None).await;
    }
    match done {
        Ok((agent, session)) => logged_in(
            &req,
            &state.security,
            kind,
            StatusCode::CREATED,
            &agent,
            &session,
            // The first admin goes on to invite colleagues.
            TEAM_PAGE,
        ),
        Err(e) => refused(&req, kind, &e),
    }
}

/// `GET /invite/{code}`
pub async fn invite_page(
    req: HttpRequest,
    code: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    match state.security.accounts.invited(&code).await {
        Ok(agent) => {
            let body = INVITE_HTML
                .replace("{{lang}}", page_lang(&req))
                .replace("{{min_password}}", &MIN_PASSWORD_CHARS.to_string())
                .replace("{{code}}", &escape_html(&code))
                .replace("{{name}}", &escape_html(&agent.name));
            html(StatusCode::OK, body)
        }
        Err(e) => page_error(&req, &e),
    }
}

/// `POST /invite/{code}` `{"password","name"?}`
pub async fn invite_submit(
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let kind = body_kind(&req).unwrap_or(BodyKind::Form);
    let done = async {
        state.security.check_browser_write(&req)?;
        let accept: InviteBody = parse_body(body_kind(&req)?, &body)?;
        let name = accept
            .name
            .filter(|n| !n.trim().is_empty())
            .map(|n| DisplayName::parse(&n))
            .transpose()?;
        let password = Password::parse(accept.password)?;
        state
            .security
            .accounts
            .accept_invite(&code, password, name)
            .await
    };
    let done = done.await;
    if let Ok((agent, _)) = &done {
        let target = Some(agent_target(agent.id.0));
        record(
            &state,
            &req,
            agent,
            AuditAction::InviteAccepted,
            target,
            None,
        )
        .await;
    }
    match done {
        Ok((agent, session)) => logged_in(
            &req,
            &state.security,
            kind,
            StatusCode::OK,
            &agent,
            &session,
            AGENT_HOME,
        ),
        Err(e) => refused(&req, kind, &e),
    }
}
