//! Agent login and logout. A valid token sets an HttpOnly, SameSite=Strict
//! cookie derived from the token (see `auth`), then sends the agent back to
//! where they were going.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::render::{escape_html, html, page_lang};
use super::security::{Security, AGENT_COOKIE};
use super::AppState;
use crate::auth::AGENT_SESSION_SECS;

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
        Some(token) => attempt(&req, &state.security, &token, next),
        None if state.security.is_agent(&req) => redirect(next),
        None => form_page(&req, StatusCode::OK, next, ""),
    }
}

/// `POST /agent/login` from the form.
pub async fn login_submit(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let form: LoginForm = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let next = safe_next(form.next.as_deref());
    attempt(
        &req,
        &state.security,
        form.token.as_deref().unwrap_or(""),
        next,
    )
}

/// `/agent/logout`: forget the cookie.
pub async fn logout() -> HttpResponse {
    let mut gone = Cookie::new(AGENT_COOKIE, "");
    gone.set_path("/");
    gone.make_removal();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/agent/login"))
        .cookie(gone)
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

/// Only paths on this server: no open redirect to another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => AGENT_HOME,
    }
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
}
