//! The REST API for agents, bots and integrations. Every endpoint needs agent
//! credentials (writes by cookie only from this server's pages), JSON
//! bodies must be `application/json`, and writes share the per-socket
//! message rate (per client IP); errors are JSON `{"error":{"code","message"}}`. Posting goes
//! through the conversation's SessionActor, like a socket would, so live
//! pages see API messages at once and retries with the same `id` are
//! idempotent.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::oneshot;

use super::security::query_param;
use super::AppState;
use crate::conversation::{lookup, Post, Poster, SetContact, SetStatus};
use crate::desk::{label_id, LabelRef};
use crate::domain::{
    present, ChatMessage, ClientId, ContactUpdate, ConversationStatus, Role, View,
};
use crate::error::AppError;
use crate::inbox::List;
use crate::metrics::Refusal;
use crate::protocol::{attachment_ids, validate_message, HISTORY_PAGE_MAX, LIST_PAGE_DEFAULT};
use crate::store::ListQuery;
use crate::store::Who;

/// Largest JSON body accepted by the API.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// `GET /api/conversations?status=&search=&cursor=&limit=`
pub async fn conversations(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent(&req).await?;
    let status =
        match query_param(&req, "status")?.as_deref() {
            None | Some("all") | Some("") => None,
            Some(s) => Some(ConversationStatus::parse(s).ok_or_else(|| {
                AppError::BadRequest("status must be open, resolved or all".into())
            })?),
        };
    let view = match query_param(&req, "view")?.as_deref() {
        None | Some("") => View::All,
        Some(v) => View::parse(v)
            .ok_or_else(|| AppError::BadRequest("view must be mine, unassigned or all".into()))?,
    };
    let label = match query_param(&req, "label")?.filter(|l| !l.is_empty()) {
        Some(raw) => {
            let named = match raw.parse::<i64>() {
                Ok(id) => LabelRef::Id(id),
                Err(_) => LabelRef::Name(raw),
            };
            Some(label_id(&state.store, named).await?)
        }
        None => None,
    };
    let query = ListQuery {
        status,
        view,
        me: agent.id,
        label,
        search: query_param(&req, "search")?.filter(|s| !s.is_empty()),
        cursor: query_param(&req, "cursor")?.filter(|s| !s.is_empty()),
        limit: limit_param(&req, LIST_PAGE_DEFAULT)?,
    };
    let answer = state
        .inbox
        .send(List {
            query,
            socket_id: None,
        })
        .await
        .map_err(|_| AppError::ShuttingDown)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": answer.page.items,
        "next_cursor": answer.page.next_cursor,
        "totals": answer.totals,
        "views": answer.views,
    })))
}

/// `GET /api/conversations/{id}/messages?before=&after=&limit=`: oldest
/// first; without `before`/`after`, the newest page.
pub async fn messages(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let client = ClientId::parse(&id)?;
    let before = seq_param(&req, "before")?;
    let after = seq_param(&req, "after")?;
    let limit = limit_param(&req, LIST_PAGE_DEFAULT)?;
    let (summaries, _) = state
        .store
        .summaries_of(vec![client.clone()])
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    let last_seq = summaries.first().ok_or(AppError::NotFound)?.last_seq;
    let (messages, has_more) = match (before, after) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(
                "give before or after, not both".into(),
            ))
        }
        (None, Some(after)) => {
            let page = state.store.after(client, after, limit).await;
            let page = page.map_err(|_| AppError::StoreUnavailable)?;
            let more = page.last().is_some_and(|m| m.seq < last_seq);
            (page, more)
        }
        (before, None) => {
            let before = before.unwrap_or(u64::MAX);
            let page = state.store.before(client, before, limit, Role::Agent).await;
            let page = page.map_err(|_| AppError::StoreUnavailable)?;
            let more = page.first().is_some_and(|m| m.seq > 1);
            (page, more)
        }
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "messages": messages,
        "has_more": has_more,
        "last_seq": last_seq,
    })))
}

#[derive(Deserialize)]
struct NewMessage {
    text: String,
    id: Option<String>,
    /// A private note, for agents only.
    #[serde(default)]
    private: bool,
    /// Uploads the message sends.
    #[serde(default)]
    attachments: Vec<String>,
}

/// `POST /api/conversations/{id}/messages` `{"text":…,"id":…,"private":…}`:
/// sends as the agent (a private note with `"private":true`); answers once
/// it is stored.
pub async fn post_message(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    require_json(&req)?;
    take_api_token(&req, &state)?;
    let client = ClientId::parse(&id)?;
    let body = read_body(body).await?;
    let new: NewMessage =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    let attachments = attachment_ids(new.attachments)?;
    let has_files = !attachments.is_empty();
    validate_message(
        &new.text,
        new.id.as_deref(),
        state.limits.max_text_chars,
        has_files,
    )?;
    let session = lookup(&state.registry, &client).await?;
    let (ack, stored) = oneshot::channel();
    session
        .send(Post {
            role: Role::Agent,
            author: Some(agent.author()),
            text: new.text,
            id: new.id,
            private: new.private,
            attachments,
            poster: Poster::Api(ack),
        })
        .await
        .map_err(|_| AppError::ShuttingDown)?;
    let message: ChatMessage = stored.await.map_err(|_| AppError::ShuttingDown)??;
    Ok(HttpResponse::build(StatusCode::CREATED).json(message))
}

/// `POST /api/conversations/{id}/resolve`
pub async fn resolve(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    set_status(req, id, state, ConversationStatus::Resolved).await
}

/// `POST /api/conversations/{id}/reopen`
pub async fn reopen(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    set_status(req, id, state, ConversationStatus::Open).await
}

async fn set_status(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
    status: ConversationStatus,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent_write(&req).await?;
    take_api_token(&req, &state)?;
    let client = ClientId::parse(&id)?;
    let session = lookup(&state.registry, &client).await?;
    session
        .send(SetStatus {
            role: Role::Agent,
            by: Some(agent.author()),
            status,
            who: Who::agent(&agent, state.security.client_ip(&req)),
        })
        .await
        .map_err(|_| AppError::ShuttingDown)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "client_id": client,
        "status": status,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    email: Option<Option<String>>,
}

/// `PATCH /api/conversations/{id}/contact` `{"name"?,"email"?}`: an agent
/// corrects the customer's contact details (`null` or `""` clears a
/// field, an absent one stays); answers with the details as they now are.
pub async fn set_contact(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent_write(&req).await?;
    require_json(&req)?;
    take_api_token(&req, &state)?;
    let client = ClientId::parse(&id)?;
    let body = read_body(body).await?;
    let body: ContactBody =
        serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))?;
    let update = ContactUpdate::parse(body.name, body.email)?;
    let session = lookup(&state.registry, &client).await?;
    let contact = session
        .send(SetContact(update))
        .await
        .map_err(|_| AppError::ShuttingDown)??;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "client_id": client,
        "contact": contact,
    })))
}

/// A JSON body must say so: a cross-site form or `text/plain` fetch cannot
/// send `application/json` without a CORS preflight, which we never allow.
pub(super) fn require_json(req: &HttpRequest) -> Result<(), AppError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    match essence {
        Some(mime) if mime.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(AppError::UnsupportedMediaType),
    }
}

/// A JSON body of type `T`: declared as JSON, within the size limit, and
/// well formed (`invalid_json` otherwise, whatever is wrong with it).
pub(super) async fn json_body<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: web::Payload,
) -> Result<T, AppError> {
    require_json(req)?;
    let body = read_body(body).await?;
    serde_json::from_slice(&body).map_err(|e| AppError::InvalidJson(e.to_string()))
}

pub(super) async fn read_body(mut body: web::Payload) -> Result<web::BytesMut, AppError> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(e.to_string()))?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AppError::PayloadTooLarge {
                max: MAX_BODY_BYTES,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn seq_param(req: &HttpRequest, name: &str) -> Result<Option<u64>, AppError> {
    query_param(req, name)?
        .map(|v| {
            v.parse()
                .map_err(|_| AppError::BadRequest(format!("{name} must be a non-negative integer")))
        })
        .transpose()
}

fn limit_param(req: &HttpRequest, default: usize) -> Result<usize, AppError> {
    match seq_param(req, "limit")? {
        None => Ok(default),
        Some(n) if (1..=HISTORY_PAGE_MAX as u64).contains(&n) => Ok(n as usize),
        Some(_) => Err(AppError::BadRequest(format!(
            "limit must be 1 to {HISTORY_PAGE_MAX}"
        ))),
    }
}

/// A token from the client's API bucket, counting a refusal.
pub(super) fn take_api_token(req: &HttpRequest, state: &AppState) -> Result<(), AppError> {
    state
        .security
        .take_api_token(req)
        .inspect_err(|_| state.store.metrics().refused(Refusal::ApiRequest))
}
