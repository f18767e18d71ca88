//! WebSocket upgrades. Everything a request can get wrong (the id, the
//! `since` parameter, not being an upgrade at all) is refused with a clear
//! HTTP error before the upgrade; then an actor takes over.

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use super::AppState;
use crate::domain::{ClientId, Role};
use crate::echo::EchoSocket;
use crate::error::AppError;
use crate::socket::ChatSocket;

pub async fn customer(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    chat(Role::Customer, req, &id, body, &state)
}

pub async fn agent(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    chat(Role::Agent, req, &id, body, &state)
}

pub async fn echo(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let max = state.limits.max_frame_bytes;
    let actor = EchoSocket::new(max, state.gauges.clone());
    upgrade(actor, &req, body, max)
}

fn chat(
    role: Role,
    req: HttpRequest,
    raw_id: &str,
    body: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let client = ClientId::parse(raw_id)?;
    let since = since_param(&req)?;
    let actor = ChatSocket::new(
        client,
        role,
        since,
        state.registry.clone(),
        state.limits,
        state.gauges.clone(),
    );
    upgrade(actor, &req, body, state.limits.max_frame_bytes)
}

fn since_param(req: &HttpRequest) -> Result<u64, AppError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))?;
    match query.iter().find(|(k, _)| k == "since") {
        None => Ok(0),
        Some((_, v)) => v.parse().map_err(|_| {
            AppError::BadRequest(format!("since must be a non-negative integer, not {v:?}"))
        }),
    }
}

fn upgrade<A>(
    actor: A,
    req: &HttpRequest,
    body: web::Payload,
    max_frame_bytes: usize,
) -> Result<HttpResponse, AppError>
where
    A: actix::Actor<Context = ws::WebsocketContext<A>>
        + actix::StreamHandler<Result<ws::Message, ws::ProtocolError>>,
{
    ws::handshake(req)
        .map_err(|e| AppError::BadRequest(format!("expected a WebSocket upgrade request ({e})")))?;
    ws::WsResponseBuilder::new(actor, req, body)
        .frame_size(max_frame_bytes)
        .start()
        .map_err(|e| AppError::BadRequest(e.to_string()))
}
