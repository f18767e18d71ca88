//! The pages and their static files, embedded in the binary from
//! `templates/` (HTML) and `static/` (scripts and styles) so the server is
//! one file to run.

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::page_error;
use super::render::{html, login_redirect, page_lang, render_error_page};
use super::security::query_param;
use super::AppState;
use crate::domain::{ClientId, Role};
use crate::error::AppError;

const INDEX_HTML: &str = include_str!("../../templates/index.html");
const CHAT_HTML: &str = include_str!("../../templates/chat.html");
const CONSOLE_HTML: &str = include_str!("../../templates/console.html");

/// Page scripts and styles from `static/`, embedded in the binary (also in
/// debug builds, so tests serve exactly what a release serves).
#[derive(rust_embed::Embed)]
#[folder = "static/"]
pub(super) struct Assets;

/// The content type of a static file, by its extension.
fn asset_type(name: &str) -> Option<&'static str> {
    match name.rsplit_once('.')?.1 {
        "js" | "mjs" => Some("text/javascript; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

pub async fn index(req: HttpRequest) -> HttpResponse {
    html(
        StatusCode::OK,
        INDEX_HTML.replace("{{lang}}", page_lang(&req)),
    )
}

/// `/agent`: the console of all conversations.
pub async fn console(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.security.is_agent(&req).await {
        return login_redirect("/agent");
    }
    html(
        StatusCode::OK,
        CONSOLE_HTML.replace("{{lang}}", page_lang(&req)),
    )
}

/// Cookie that remembers a customer's conversation on this site, so that
/// `/chat/client` takes them back to it.
const CONVERSATION_COOKIE: &str = "support_chat_conversation";
/// How long a customer's conversation is remembered: a year.
const REMEMBER_SECS: i64 = 365 * 24 * 3600;

/// `/chat/client`: the customer's remembered conversation, or (first
/// visit, or `?new`) a fresh, unguessable one. With identity verification
/// on, conversations start only from the website's links. The chosen
/// language (`?lang=`) goes along.
pub async fn new_customer(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.security.identity.is_some() {
        let err = AppError::Forbidden(
            "this server verifies customer identity: open the chat from the website's link".into(),
        );
        return page_error(&req, &err);
    }
    let lang = match query_param(&req, "lang") {
        Ok(Some(_)) => format!("?lang={}", page_lang(&req)),
        _ => String::new(),
    };
    let wants_new = matches!(query_param(&req, "new"), Ok(Some(_)));
    let remembered = req
        .cookie(CONVERSATION_COOKIE)
        .and_then(|c| ClientId::parse(c.value()).ok())
        .filter(|_| !wants_new);
    let client = remembered.unwrap_or_else(ClientId::random);
    HttpResponse::Found()
        .insert_header((header::LOCATION, format!("/chat/client/{client}{lang}")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

pub async fn customer(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    customer_page(&req, &id, &state).unwrap_or_else(|e| page_error(&req, &e))
}

fn customer_page(req: &HttpRequest, id: &str, state: &AppState) -> Result<HttpResponse, AppError> {
    let client = ClientId::parse(id)?;
    state.security.require_customer(req, &client)?;
    let mut page = chat_page(req, Role::Customer, &client);
    if state.security.identity.is_none() {
        // This conversation is the one `/chat/client` comes back to. With
        // identity verification a link needs its sig, so none is kept.
        let cookie = Cookie::build(CONVERSATION_COOKIE, client.as_str())
            .path("/chat/client")
            .max_age(CookieDuration::seconds(REMEMBER_SECS))
            .same_site(SameSite::Lax)
            .http_only(true)
            .secure(state.security.scheme(req) == "https")
            .finish();
        page.add_cookie(&cookie)
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
    }
    // Only the customer page may be embedded, by the allowed origins.
    let csp = header::HeaderValue::from_str(&state.security.csp(true))
        .map_err(|_| AppError::BadRequest("invalid --allowed-origin".into()))?;
    page.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, csp);
    Ok(page)
}

pub async fn agent(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let client = match ClientId::parse(&id) {
        Ok(client) => client,
        Err(e) => return page_error(&req, &e.into()),
    };
    if !state.security.is_agent(&req).await {
        return login_redirect(req.path());
    }
    chat_page(&req, Role::Agent, &client)
}

fn chat_page(req: &HttpRequest, role: Role, client: &ClientId) -> HttpResponse {
    // The id is validated to [A-Za-z0-9_-], so it is safe in HTML as is.
    let body = CHAT_HTML
        .replace("{{role}}", role.as_str())
        .replace("{{client_id}}", client.as_str())
        .replace("{{lang}}", page_lang(req));
    html(StatusCode::OK, body)
}

pub async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = name.into_inner();
    let content_type = asset_type(&name).ok_or(AppError::NotFound)?;
    let file = Assets::get(&name).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.data.into_owned()))
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    render_error_page(
        &req,
        StatusCode::NOT_FOUND,
        "There is no page at this address.",
    )
}
