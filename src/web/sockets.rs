//! WebSocket upgrades. Everything a request can get wrong (the id, the
//! `since` parameter, not being an upgrade at all) is refused with a clear
//! HTTP error before the upgrade: 400 for bad input or a malformed
//! handshake, 426 for another WebSocket version, 401/403 for missing or
//! wrong credentials and foreign origins, 429 over the per-IP limits. Then an
//! actor takes over.

use std::sync::Arc;

use actix::Addr;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use super::handshake;
use super::security::query_param;
use super::AppState;
use crate::accounts::{Authenticated, Revoked};
use crate::domain::{ClientId, Participant};
use crate::error::AppError;
use crate::metrics::{Refusal, SocketKind};
use crate::transport::{ChatSocket, EchoSocket, InboxSocket, SocketCore, Throttled};

pub async fn customer(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_origin(&req)?;
    let client = ClientId::parse(&id)?;
    state.security.require_customer(&req, &client)?;
    handshake::check(&req)?;
    let ip = state.security.client_ip(&req);
    if state.security.ip_limits.counts_new_conversations(ip) {
        // Ask the store, not a session: a refused request starts nothing.
        let known = state
            .store
            .summaries_of(vec![client.clone()])
            .await
            .map_err(|_| AppError::StoreUnavailable)?;
        if known.0.is_empty() && !state.security.ip_limits.start_conversation(ip) {
            state
                .store
                .metrics()
                .refused(Refusal::NewConversationsPerIp);
            return Err(AppError::TooManyConversations);
        }
    }
    chat(Participant::Customer, req, client, body, &state).map(|(_, response)| response)
}

pub async fn agent(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_origin(&req)?;
    let client = ClientId::parse(&id)?;
    let who = state.security.authenticate(&req).await?;
    handshake::check(&req)?;
    let participant = Participant::Agent(who.agent.clone());
    let (socket, response) = chat(participant, req.clone(), client, body, &state)?;
    watch(&state, &req, &who, socket).await;
    Ok(response)
}

pub async fn echo(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_origin(&req)?;
    handshake::check(&req)?;
    let core = socket_core(&req, &state, SocketKind::Echo)?;
    let body = core.throttle(body);
    upgrade(
        EchoSocket::new(core),
        &req,
        body,
        state.limits.max_frame_bytes,
    )
}

pub async fn inbox(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_origin(&req)?;
    let who = state.security.authenticate(&req).await?;
    handshake::check(&req)?;
    let core = socket_core(&req, &state, SocketKind::Inbox)?;
    let body = core.throttle(body);
    let actor = InboxSocket::new(
        state.inbox.clone(),
        state.router.clone(),
        who.agent.author(),
        core,
    );
    let (socket, response) = start(actor, &req, body, state.limits.max_frame_bytes)?;
    watch(&state, &req, &who, socket).await;
    Ok(response)
}

/// Closes the agent's socket when its credential is revoked (4003). A
/// revocation between the check before the upgrade and this would have
/// missed the socket, so the credential is checked again once it is
/// watched (revocations end the credential before closing its sockets).
async fn watch<A>(state: &AppState, req: &HttpRequest, who: &Authenticated, socket: Addr<A>)
where
    A: actix::Actor<Context = ws::WebsocketContext<A>> + actix::Handler<Revoked>,
{
    let revocations = state.security.accounts.revocations();
    revocations.watch(who.agent.id, who.credential, socket.clone().recipient());
    // A store failure here is not a revocation: the socket stays.
    let revoked = match state.security.authenticate(req).await {
        Ok(again) => again.credential != who.credential,
        Err(e) => e == AppError::Unauthorized,
    };
    if revoked {
        socket.do_send(Revoked);
    }
}

fn chat(
    participant: Participant,
    req: HttpRequest,
    client: ClientId,
    body: web::Payload,
    state: &AppState,
) -> Result<(Addr<ChatSocket>, HttpResponse), AppError> {
    let since = match query_param(&req, "since")? {
        None => 0,
        Some(v) => v.parse().map_err(|_| {
            AppError::BadRequest(format!("since must be a non-negative integer, not {v:?}"))
        })?,
    };
    let kind = match participant {
        Participant::Customer => SocketKind::Customer,
        Participant::Agent(_) => SocketKind::Agent,
    };
    let core = socket_core(&req, state, kind)?;
    let body = core.throttle(body);
    let actor = ChatSocket::new(
        client,
        participant,
        since,
        state.registry.clone(),
        state.limits,
        state.rates.clone(),
        core,
    );
    start(actor, &req, body, state.limits.max_frame_bytes)
}

/// Takes this connection's place under the per-IP cap.
fn socket_core(
    req: &HttpRequest,
    state: &AppState,
    kind: SocketKind,
) -> Result<SocketCore, AppError> {
    let ip = state.security.client_ip(req);
    let metrics = state.store.metrics();
    let Some(slot) = state.security.ip_limits.open_connection(ip) else {
        metrics.refused(Refusal::ConnectionsPerIp);
        return Err(AppError::TooManyConnections);
    };
    Ok(SocketCore::new(
        state.limits.max_frame_bytes,
        state.limits.heartbeat,
        Arc::clone(metrics),
        kind,
        ip,
        slot,
    ))
}

fn upgrade<A>(
    actor: A,
    req: &HttpRequest,
    body: Throttled<web::Payload>,
    max_frame_bytes: usize,
) -> Result<HttpResponse, AppError>
where
    A: actix::Actor<Context = ws::WebsocketContext<A>>
        + actix::StreamHandler<Result<ws::Message, ws::ProtocolError>>,
{
    start(actor, req, body, max_frame_bytes).map(|(_, response)| response)
}

/// Like `upgrade`, also giving the started actor's address. The handshake
/// was checked before (see `handshake::check`).
fn start<A>(
    actor: A,
    req: &HttpRequest,
    body: Throttled<web::Payload>,
    max_frame_bytes: usize,
) -> Result<(Addr<A>, HttpResponse), AppError>
where
    A: actix::Actor<Context = ws::WebsocketContext<A>>
        + actix::StreamHandler<Result<ws::Message, ws::ProtocolError>>,
{
    ws::WsResponseBuilder::new(actor, req, body)
        .frame_size(max_frame_bytes)
        .start_with_addr()
        .map_err(|e| AppError::BadRequest(e.to_string()))
}
