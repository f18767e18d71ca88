//! `GET /api/search?q=&cursor=&limit=`: full-text search for agents over
//! every message and private note; conversations, best first, each with
//! its best matching message and the words that matched.

use actix_web::{web, HttpRequest, HttpResponse};

use super::security::query_param;
use super::AppState;
use crate::error::AppError;
use crate::protocol::LIST_PAGE_DEFAULT;
use crate::store::SearchQuery;

/// Longest query, in characters.
const MAX_QUERY_CHARS: usize = 200;

pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let text = query_param(&req, "q")?.unwrap_or_default();
    if text.trim().is_empty() || text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "q must hold 1 to {MAX_QUERY_CHARS} characters, not only spaces"
        )));
    }
    let offset = match query_param(&req, "cursor")?.filter(|c| !c.is_empty()) {
        Some(c) => c
            .parse()
            .map_err(|_| AppError::BadRequest("invalid cursor: use next_cursor as given".into()))?,
        None => 0,
    };
    let limit = match query_param(&req, "limit")? {
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| AppError::BadRequest("limit must be 1 to 100".into()))?,
        None => LIST_PAGE_DEFAULT,
    };
    let page = state
        .store
        .search(SearchQuery {
            text,
            offset,
            limit,
        })
        .await
        .map_err(|e| {
            log::error!("search failed: {e}");
            AppError::StoreUnavailable
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "results": page.hits,
        "next_cursor": page.next_offset.map(|o| o.to_string()),
    })))
}
