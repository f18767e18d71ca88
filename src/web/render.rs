//! What every page response shares: the HTML response itself, the page
//! language, escaping, the error page, and the redirect to the login form.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};

pub use crate::domain::escape_html;

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

/// The words of an error page: title, heading, advice, and the two links.
struct ErrorWords {
    title: &'static str,
    heading: &'static str,
    advice: &'static str,
    new_chat: &'static str,
    back: &'static str,
}

/// What a person is told for `status`, in `lang`: what happened and what to
/// do, in a customer's words. The technical message is shown small below.
fn error_words(status: StatusCode, lang: &str) -> ErrorWords {
    let zh = lang == "zh";
    let (title, heading, advice) = match (status.as_u16(), zh) {
        (400 | 404, false) => (
            "Link not found — Support chat",
            "This chat link does not work",
            "The address may be incomplete or mistyped. You can start a new chat instead.",
        ),
        (400 | 404, true) => (
            "链接无效 — 在线客服",
            "这个聊天链接无法打开",
            "地址可能不完整或有误。您可以开始一个新的聊天。",
        ),
        (401 | 403, false) => (
            "Not allowed — Support chat",
            "This chat cannot be opened here",
            "Please open the chat again from the website that sent you, or start a new chat.",
        ),
        (401 | 403, true) => (
            "无法打开 — 在线客服",
            "无法在此打开这个聊天",
            "请从引导您来的网站重新打开聊天，或开始一个新的聊天。",
        ),
        (429, false) => (
            "Too many requests — Support chat",
            "Too many requests right now",
            "Please wait a minute and try again.",
        ),
        (429, true) => (
            "请求过多 — 在线客服",
            "请求过于频繁",
            "请稍等一分钟后再试。",
        ),
        (_, false) => (
            "Unavailable — Support chat",
            "The chat is unavailable right now",
            "Please try again in a moment.",
        ),
        (_, true) => (
            "暂时无法使用 — 在线客服",
            "聊天暂时无法使用",
            "请稍后再试。",
        ),
    };
    let (new_chat, back) = if zh {
        ("开始新的聊天", "返回首页")
    } else {
        ("Start a new chat", "Back to the start page")
    };
    ErrorWords {
        title,
        heading,
        advice,
        new_chat,
        back,
    }
}

/// The error page for a person, in the language of their request.
pub fn render_error_page(req: &HttpRequest, status: StatusCode, message: &str) -> HttpResponse {
    let lang = page_lang(req);
    let words = error_words(status, lang);
    let body = ERROR_HTML
        .replace("{{lang}}", lang)
        .replace("{{title}}", words.title)
        .replace("{{heading}}", words.heading)
        .replace("{{advice}}", words.advice)
        .replace("{{new_chat}}", words.new_chat)
        .replace("{{back}}", words.back)
        .replace("{{status}}", &escape_html(&status.to_string()))
        .replace("{{message}}", &escape_html(message));
    html(status, body)
}
