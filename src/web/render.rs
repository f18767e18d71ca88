//! What every page response shares: the HTML response itself, the page
//! language, escaping, the error page, and the redirect to the login form.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

const ERROR_HTML: &str = include_str!("../../templates/error.html");
/// Cookie the pages set when a user picks a language.
const LANG_COOKIE: &str = "support_chat_lang";

pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The page language: `?lang=`, else the remembered choice, else the
/// browser's preference (Accept-Language), else English.
pub fn page_lang(req: &HttpRequest) -> &'static str {
    let pick = |value: &str| {
        let value = value.trim().to_ascii_lowercase();
        if value.starts_with("zh") {
            Some("zh")
        } else if value.starts_with("en") {
            Some("en")
        } else {
            None
        }
    };
    let from_query = serde_urlencoded::from_str::<Vec<(String, String)>>(req.query_string())
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == "lang"))
        .and_then(|(_, v)| pick(&v));
    let from_cookie = || req.cookie(LANG_COOKIE).and_then(|c| pick(c.value()));
    let from_header = || {
        let header = req.headers().get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        let mut choices: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let lang = pick(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse().ok())
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        choices.sort_by(|a, b| b.0.total_cmp(&a.0));
        choices.first().map(|(_, lang)| *lang)
    };
    from_query
        .or_else(from_cookie)
        .or_else(from_header)
        .unwrap_or("en")
}

/// Where the login page sends an agent who is not logged in.
pub fn login_redirect(next: &str) -> HttpResponse {
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/agent/login?{query}")))
        .finish()
}

pub fn render_error_page(status: StatusCode, message: &str) -> HttpResponse {
    let body = ERROR_HTML
        .replace("{{lang}}", "en")
        .replace("{{status}}", &escape_html(&status.to_string()))
        .replace("{{message}}", &escape_html(message));
    html(status, body)
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
