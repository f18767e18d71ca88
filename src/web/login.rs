//! Agent login and logout. Email and password (JSON or the form) start a
//! server-side session (`accounts`), whose random id goes into an HttpOnly,
//! SameSite=Strict cookie; the form then sends the agent back to where they
//! were going. Logout ends the session in the database, so a copied cookie
//! stops working too. There is no token login any more: a browser session
//! belongs to a named agent, and scripts send their token with every request.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::audit::{record, AUDIT_PAGE};
use super::errors::{add_retry_after, page_error, status_of};
use super::forms::{body_kind, logged_in, parse_body, refused, removal_cookie, BodyKind};
use super::render::{escape_html, html, page_lang};
use super::security::AGENT_COOKIE;
use super::AppState;
use crate::accounts::Secret;
use crate::domain::{Agent, ClientId};
use crate::error::AppError;
use crate::store::{AuditAction, AuditEvent, Who};

const LOGIN_HTML: &str = include_str!("../../templates/login.html");
/// Where an agent lands after logging in when nothing else was asked for.
pub const AGENT_HOME: &str = "/agent";
/// The team page (accounts, tokens).
pub const TEAM_PAGE: &str = "/agent/team";
/// Where an agent lands after logging out.
const LOGIN_PAGE: &str = "/agent/login";

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
    next: Option<String>,
}

/// `GET /agent/login`: the form, or straight on for an agent already
/// logged in.
pub async fn login_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query: NextQuery = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = safe_next(query.next.as_deref());
    if state.security.is_agent(&req).await {
        return redirect(&next);
    }
    form_page(&req, StatusCode::OK, &next, "", "")
}

/// `POST /agent/login` `{"email","password"}` (JSON or the form), only
/// from this server's pages (no login CSRF).
pub async fn login_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let kind = body_kind(&req).unwrap_or(BodyKind::Form);
    let login: Result<LoginBody, AppError> = state
        .security
        .check_browser_write(&req)
        .and_then(|()| body_kind(&req))
        .and_then(|kind| parse_body(kind, &body));
    let login = match login {
        Ok(login) => login,
        Err(e) => return refused(&req, kind, &e),
    };
    let next = safe_next(login.next.as_deref());
    let ip = state.security.client_ip(&req);
    let result = state
        .security
        .accounts
        .login(&login.email, login.password, ip)
        .await;
    audit_login(&state, &req, &login.email, &result).await;
    match result {
        Ok((agent, session)) => logged_in(
            &req,
            &state.security,
            kind,
            StatusCode::OK,
            &agent,
            &session,
            &next,
        ),
        Err(e) if kind == BodyKind::Json => refused(&req, kind, &e),
        Err(e) => {
            // The form again, with the email kept and what went wrong.
            let mut page = form_page(&req, status_of(&e), &next, &login.email, &e.to_string());
            add_retry_after(&mut page, &e);
            page
        }
    }
}

/// `POST /agent/logout`: ends this session. POST only, and only from this
/// server's pages, so no link on another site can log an agent out.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.security.check_browser_write(&req) {
        return page_error(&req, &e);
    }
    if let Some(cookie) = req.cookie(AGENT_COOKIE) {
        let who = state.security.authenticate(&req).await.ok();
        if let Err(e) = state.security.accounts.logout(cookie.value()).await {
            return page_error(&req, &e);
        }
        if let Some(who) = who {
            record(&state, &req, &who.agent, AuditAction::Logout, None, None).await;
        }
    }
    logged_out()
}

/// `POST /agent/logout-everywhere`: ends every session of the agent, on
/// every device, and closes their sockets.
pub async fn logout_everywhere(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ended = async {
        let agent = state.security.require_agent_write(&req).await?;
        state.security.accounts.logout_everywhere(agent.id).await?;
        let action = AuditAction::LogoutEverywhere;
        record(&state, &req, &agent, action, None, None).await;
        Ok::<(), AppError>(())
    };
    match ended.await {
        Ok(()) => logged_out(),
        Err(e) => page_error(&req, &e),
    }
}

fn logged_out() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, LOGIN_PAGE))
        .cookie(removal_cookie())
        .finish()
}

/// Any other method on the logout endpoints.
pub async fn logout_needs_post() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .finish()
}

fn redirect(next: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next.to_owned()))
        .finish()
}

fn form_page(
    req: &HttpRequest,
    status: StatusCode,
    next: &str,
    email: &str,
    error: &str,
) -> HttpResponse {
    let body = LOGIN_HTML
        .replace("{{lang}}", page_lang(req))
        .replace("{{next}}", &escape_html(next))
        .replace("{{email}}", &escape_html(email))
        .replace("{{error}}", &escape_html(error));
    html(status, body)
}

/// Besides [`AGENT_HOME`], the pages an agent may be sent back to after
/// logging in: one conversation, by id.
const NEXT_CONVERSATION_PREFIXES: [&str; 2] = ["/chat/server/", "/chat/client/"];

/// Only a known page of this server: `next` is split into path, query and
/// fragment, each checked, and rebuilt. Browsers drop tabs and newlines from
/// URLs (so `/\t/evil.example` becomes `//evil.example`) and a header value
/// cannot hold control characters, hence only printable ASCII, no
/// whitespace and no backslash anywhere.
fn safe_next(next: Option<&str>) -> String {
    next.and_then(rebuild_next)
        .unwrap_or_else(|| AGENT_HOME.to_owned())
}

fn rebuild_next(next: &str) -> Option<String> {
    if !next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        return None;
    }
    let (rest, fragment) = match next.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (next, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    let known = path == AGENT_HOME
        || path == TEAM_PAGE
        || path == AUDIT_PAGE
        || NEXT_CONVERSATION_PREFIXES.iter().any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|id| ClientId::parse(id).is_ok())
        });
    if !known {
        return None;
    }
    let mut rebuilt = path.to_owned();
    if let Some(query) = query {
        rebuilt.push('?');
        rebuilt.push_str(query);
    }
    if let Some(fragment) = fragment {
        rebuilt.push('#');
        rebuilt.push_str(fragment);
    }
    Some(rebuilt)
}

/// A login in the audit log: who logged in, or the email a failed or
/// refused login tried (never the password).
async fn audit_login(
    state: &AppState,
    req: &HttpRequest,
    email: &str,
    result: &Result<(Agent, Secret), AppError>,
) {
    let (actor, detail) = match result {
        Ok((agent, _)) => return record(state, req, agent, AuditAction::Login, None, None).await,
        Err(AppError::BadCredentials) => (email, None),
        Err(AppError::TooManyLoginAttempts { .. }) => (email, Some("refused: too many attempts")),
        Err(_) => return,
    };
    // An email is at most 254 characters; a longer "email" is cut.
    let tried: String = actor.trim().chars().take(254).collect();
    let mut event = AuditEvent::new(
        Who::named(&tried, Some(state.security.client_ip(req))),
        AuditAction::LoginFailed,
    );
    event.detail = detail.map(str::to_owned);
    state.store.audit(event).await;
}

#[cfg(test)]
mod tests {
    use super::{safe_next, AGENT_HOME};

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/chat/server/7")), "/chat/server/7");
        assert_eq!(safe_next(Some("//evil.example")), AGENT_HOME);
        assert_eq!(safe_next(Some("https://evil.example")), AGENT_HOME);
        assert_eq!(safe_next(Some("/\\evil.example")), AGENT_HOME);
        assert_eq!(safe_next(None), AGENT_HOME);
    }

    #[test]
    fn next_keeps_the_query_and_fragment_of_a_known_page() {
        for ok in [
            "/agent",
            "/agent#abc",
            "/agent?filter=open#c-1",
            "/chat/server/x?lang=zh",
            "/chat/client/c_1-2#end",
            "/agent/team",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
    }

    #[test]
    fn next_refuses_unknown_paths_and_odd_characters() {
        for bad in [
            "/\t/evil.example",
            "/x\r\nSet-Cookie:a=b",
            "/agent\0",
            "/agent\x7f",
            "/agent\t",
            "/agent#a b",
            "/agent?\\evil",
            "/chat/server/a\nb",
            "/agentx",
            "/agent/",
            "/chat/server/",
            "/chat/server/../../evil",
            "/chat/server/a/b",
            "/chat/server/%2e%2e",
            "/static/chat.js",
            "/chat/client/é",
            "",
            "agent",
        ] {
            assert_eq!(safe_next(Some(bad)), AGENT_HOME, "{bad:?}");
        }
    }
}
