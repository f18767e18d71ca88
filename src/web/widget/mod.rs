//! The website widget: `/widget.js`, the script a site embeds (a launcher
//! on the host page), `/widget/config`, what it and the chat frame need to
//! know, and `/widget/frame`, the chat itself in an iframe of our origin.
//! Only the host origins allowed by `--allowed-origin` (and this server)
//! get a config or may frame the chat; anyone else gets a clear refusal.

mod settings;

use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::errors::page_error;
use super::pages::Assets;
use super::render::{escape_html, html, page_lang};
use super::security::{csp_framed_by, query_param};
use super::AppState;
use crate::conversation::AgentsOnline;
use crate::error::AppError;

pub use settings::{Ask, BusinessHours, Prechat, Texts, TimeZoneName, WeeklyHours, WidgetSettings};

const FRAME_HTML: &str = include_str!("../../../templates/widget.html");

/// `widget.js` as served: the DOM-free checks of `widget-core.mjs` (the
/// node-tested module, its `export`s dropped) and the launcher of
/// `widget.js`, in one classic script, so a host page loads one small file
/// and no module.
static SCRIPT: LazyLock<String> = LazyLock::new(|| {
    let file = |name: &str| {
        Assets::get(name)
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
            .unwrap_or_default()
    };
    let core: String = file("widget-core.mjs")
        .lines()
        .map(|line| line.strip_prefix("export ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "/* support-chat widget: see the README */\n(() => {{\n'use strict';\n{core}\n{}}})();\n",
        file("widget.js")
    )
});

/// `GET /widget.js`
pub async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(SCRIPT.as_str())
}

/// `GET /widget/config`: for the launcher on an allowed host page (CORS)
/// and the chat frame. A page of another origin is answered 403 with a
/// message it can read, so the script can say why there is no chat.
pub async fn config(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o != "null")
        .map(str::to_owned);
    let allowed = origin
        .as_deref()
        .is_none_or(|o| state.security.allows_origin(&req, o));
    let mut response = if allowed {
        let agents_online = state.registry.send(AgentsOnline).await.unwrap_or(false);
        let settings = &*state.widget;
        HttpResponse::Ok().json(serde_json::json!({
            "agents_online": agents_online,
            "identity": state.security.identity.is_some(),
            "prechat": settings.prechat,
            "greeting": settings.greeting,
            "away": settings.away,
            "hours": settings.hours,
        }))
    } else {
        let origin = origin.as_deref().unwrap_or_default();
        let err = AppError::Forbidden(format!(
            "{origin} may not embed this chat: start the chat server with --allowed-origin {origin}"
        ));
        HttpResponse::build(StatusCode::FORBIDDEN).json(serde_json::json!({
            "error": {"code": err.code(), "message": err.to_string()}
        }))
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|o| header::HeaderValue::from_str(&o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response
}

/// `GET /widget/frame?host=<origin>`: the chat inside the widget. It may be
/// framed only by `host`, which must be an allowed origin; it talks to that
/// origin alone.
pub async fn frame(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    frame_page(&req, &state).unwrap_or_else(|e| page_error(&req, &e))
}

fn frame_page(req: &HttpRequest, state: &AppState) -> Result<HttpResponse, AppError> {
    let host = query_param(req, "host")?.ok_or_else(|| {
        AppError::BadRequest("host (the embedding page's origin) is missing".into())
    })?;
    let is_origin = url_origin_shape(&host);
    if !is_origin || !state.security.allows_origin(req, &host) {
        return Err(AppError::Forbidden(format!(
            "{host} may not embed this chat: start the chat server with --allowed-origin {host}"
        )));
    }
    let body = FRAME_HTML
        .replace("{{lang}}", page_lang(req))
        .replace("{{host}}", &escape_html(&host));
    let mut page = html(StatusCode::OK, body);
    let csp = header::HeaderValue::from_str(&csp_framed_by(&host))
        .map_err(|_| AppError::BadRequest("host is not a valid origin".into()))?;
    page.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, csp);
    Ok(page)
}

/// `scheme://host[:port]` and nothing more: no path, spaces or quotes, so
/// it is safe in a CSP header and exactly what `event.origin` will say.
fn url_origin_shape(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}
