//! Agent login and logout. A valid token sets an HttpOnly, SameSite=Strict
//! cookie derived from the token (see `auth`), then sends the agent back to
//! where they were going.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::errors::page_error;
use super::render::{escape_html, html, page_lang};
use super::security::{Security, AGENT_COOKIE};
use super::AppState;
use crate::auth::AGENT_SESSION_SECS;
use crate::domain::ClientId;

const LOGIN_HTML: &str = include_str!("../../templates/login.html");
/// Where an agent lands after logging in when nothing else was asked for.
pub const AGENT_HOME: &str = "/agent";

#[derive(Deserialize, Default)]
pub struct LoginForm {
    token: Option<String>,
    next: Option<String>,
}

/// `GET /agent/login`: the form, or a one-click login with `?token=`.
pub async fn login_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let form: LoginForm = serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = safe_next(form.next.as_deref());
    match form.token {
        Some(token) => attempt(&req, &state.security, &token, &next),
        None if state.security.is_agent(&req) => redirect(&next),
        None => form_page(&req, StatusCode::OK, &next, ""),
    }
}

/// `POST /agent/login` from the form, only from this server's pages (no
/// login CSRF).
pub async fn login_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    if let Err(e) = state.security.check_browser_write(&req) {
        return page_error(&req, &e);
    }
    let form: LoginForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = safe_next(form.next.as_deref());
    attempt(
        &req,
        &state.security,
        form.token.as_deref().unwrap_or(""),
        &next,
    )
}

/// `POST /agent/logout`: forget the cookie. POST only, and only from this
/// server's pages, so no link on another site can log an agent out.
pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.security.check_browser_write(&req) {
        return page_error(&req, &e);
    }
    let mut gone = Cookie::new(AGENT_COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/agent/login"))
        .cookie(gone)
        .finish()
}

/// Any other method on `/agent/logout`.
pub async fn logout_needs_post() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .finish()
}

fn attempt(req: &HttpRequest, security: &Security, token: &str, next: &str) -> HttpResponse {
    if !security.agent_token.matches(token) {
        log::warn!("failed agent login from {}", security.client_ip(req));
        return form_page(
            req,
            StatusCode::UNAUTHORIZED,
            next,
            "That token is not valid.",
        );
    }
    let expires = chrono::Utc::now().timestamp() + AGENT_SESSION_SECS;
    let cookie = Cookie::build(AGENT_COOKIE, security.agent_token.session_cookie(expires))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(security.scheme(req) == "https")
        .max_age(time::Duration::seconds(AGENT_SESSION_SECS))
        .finish();
    let mut response = redirect(next);
    let _ = response.add_cookie(&cookie);
    response
}

fn redirect(next: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next.to_owned()))
        .finish()
}

fn form_page(req: &HttpRequest, status: StatusCode, next: &str, error: &str) -> HttpResponse {
    let body = LOGIN_HTML
        .replace("{{lang}}", page_lang(req))
        .replace("{{next}}", &escape_html(next))
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
