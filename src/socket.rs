//! `ChatSocket`: the actor behind one customer or agent WebSocket. It joins
//! its conversation's SessionActor, turns client frames into session
//! messages, and writes the frames the session sends it. What waits for it
//! is bounded (`MAX_BACKLOG_BYTES`, `SOCKET_MAILBOX`): the session gives up on
//! a socket that falls that far behind instead of buffering without limit.
//! At most `MAX_IN_FLIGHT` of its messages wait to be stored; beyond that the
//! socket stops reading, so a client that pipelines thousands of messages is
//! read only as fast as they are stored.

use std::collections::VecDeque;

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, ProtocolError, WebsocketContext};
use tokio::sync::oneshot;

use crate::domain::{ClientId, Role};
use crate::error::AppError;
use crate::limits::TokenBucket;
use crate::protocol::{ClientFrame, ServerEvent};
use crate::registry::{join, Registry};
use crate::session::{
    Detach, HistoryBefore, MarkRead, Post, Resolve, SessionActor, SocketLink, ToSocket, Typing,
};
use crate::socket_core::{reason, write_frame, Data, Heartbeat, SocketCore};

/// Frames a socket may have waiting before its session detaches it (the byte
/// backlog usually binds first).
pub const SOCKET_MAILBOX: usize = 8192;

/// Messages a socket may have waiting to be stored before it stops reading.
pub const MAX_IN_FLIGHT: usize = 256;

/// Close code: a newer socket of the same role took over.
pub const CLOSE_REPLACED: u16 = 4001;
/// Close code: the client read too slowly and fell behind.
pub const CLOSE_STALLED: u16 = 4002;

/// Limits every chat socket enforces.
#[derive(Debug, Clone, Copy)]
pub struct SocketLimits {
    pub max_text_chars: usize,
    pub max_frame_bytes: usize,
    /// Frames per second a client may send; 0 for no limit.
    pub rate_limit: f64,
    pub rate_burst: u32,
    pub heartbeat: Heartbeat,
}

pub struct ChatSocket {
    client: ClientId,
    role: Role,
    since: u64,
    registry: Addr<Registry>,
    limits: SocketLimits,
    core: SocketCore,
    /// Message rate limit; `None` when off.
    rate: Option<TokenBucket>,
    /// This socket's messages not yet stored or refused, oldest first.
    in_flight: VecDeque<oneshot::Receiver<()>>,
    /// How sessions reach this socket; set when started.
    link: Option<SocketLink>,
    /// Set once joined; `None` again when the session dropped us.
    session: Option<Addr<SessionActor>>,
}

impl ChatSocket {
    pub fn new(
        client: ClientId,
        role: Role,
        since: u64,
        registry: Addr<Registry>,
        limits: SocketLimits,
        core: SocketCore,
    ) -> Self {
        ChatSocket {
            client,
            role,
            since,
            registry,
            limits,
            core,
            rate: TokenBucket::new(limits.rate_limit, limits.rate_burst),
            in_flight: VecDeque::new(),
            link: None,
            session: None,
        }
    }

    fn stalled(&self) -> bool {
        self.link.as_ref().is_some_and(SocketLink::is_stalled)
    }

    fn close_stalled(&mut self, ctx: &mut WebsocketContext<Self>) {
        self.session = None;
        ctx.close(Some(reason(
            CloseCode::Other(CLOSE_STALLED),
            "too slow: reconnect with since",
        )));
        ctx.stop();
    }

    fn send_error(&self, ctx: &mut WebsocketContext<Self>, err: &AppError) {
        ctx.text(ServerEvent::error(err).encode());
    }

    fn on_text(&mut self, text: &str, ctx: &mut WebsocketContext<Self>) {
        let Some(session) = &self.session else {
            return;
        };
        let frame = ClientFrame::decode(text, self.limits.max_text_chars);
        // Every frame counts against the rate, bad ones included.
        if let Some(bucket) = &mut self.rate {
            if !bucket.try_take() {
                let err = AppError::RateLimited {
                    per_second: self.limits.rate_limit,
                    burst: self.limits.rate_burst,
                };
                let id = match &frame {
                    Ok(ClientFrame::Message { id, .. }) => id.as_deref(),
                    _ => None,
                };
                let event = ServerEvent::Error {
                    code: err.code(),
                    message: err.to_string(),
                    id,
                };
                return ctx.text(event.encode());
            }
        }
        match frame {
            Ok(ClientFrame::Message { text, id }) => {
                let (settled, on_settled) = oneshot::channel();
                session.do_send(Post {
                    role: self.role,
                    text,
                    id,
                    ack: None,
                    settled: Some(settled),
                });
                self.in_flight.push_back(on_settled);
                // Forget what is settled (the session drops the sender).
                while let Some(oldest) = self.in_flight.front_mut() {
                    match oldest.try_recv() {
                        Err(oneshot::error::TryRecvError::Empty) => break,
                        _ => drop(self.in_flight.pop_front()),
                    }
                }
                if self.in_flight.len() >= MAX_IN_FLIGHT {
                    // Stop reading until the older half is settled: a client
                    // that pipelines without limit is read only as fast as
                    // its messages are stored.
                    let older: Vec<_> = self.in_flight.drain(..MAX_IN_FLIGHT / 2).collect();
                    let settled = async move {
                        for message in older {
                            let _ = message.await;
                        }
                    };
                    ctx.wait(settled.into_actor(self));
                }
            }
            Ok(ClientFrame::Typing { active }) => session.do_send(Typing {
                role: self.role,
                active,
            }),
            Ok(ClientFrame::Read { seq }) => session.do_send(MarkRead {
                role: self.role,
                seq,
            }),
            Ok(ClientFrame::Resolve) => {
                let request = session.send(Resolve { role: self.role });
                ctx.spawn(
                    request
                        .into_actor(self)
                        .map(|result, act, ctx| match result {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => act.send_error(ctx, &e),
                            Err(_) => act.send_error(ctx, &AppError::ShuttingDown),
                        }),
                );
            }
            Ok(ClientFrame::List(_)) => self.send_error(
                ctx,
                &AppError::UnknownType("list (only on /ws/inbox)".into()),
            ),
            Ok(ClientFrame::HistoryBefore { before, limit }) => {
                let request = session.send(HistoryBefore { before, limit });
                ctx.spawn(
                    request
                        .into_actor(self)
                        .map(|result, act, ctx| match result {
                            Ok(Ok(frame)) => ctx.text(frame),
                            Ok(Err(e)) => act.send_error(ctx, &e),
                            Err(_) => act.send_error(ctx, &AppError::ShuttingDown),
                        }),
                );
            }
            Err(e) => self.send_error(ctx, &e),
        }
    }
}

impl Actor for ChatSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SOCKET_MAILBOX);
        self.core.start_heartbeat(ctx, |act: &Self| &act.core);
        let link = SocketLink::new(ctx.address().recipient());
        self.link = Some(link.clone());
        let registry = self.registry.clone();
        let (client, role, since) = (self.client.clone(), self.role, self.since);
        let joining = async move { join(&registry, &client, role, since, link).await };
        // `wait`: no client frame is handled before the session is joined.
        ctx.wait(
            joining
                .into_actor(self)
                .map(|result, act, ctx| match result {
                    Ok(joined) => act.session = Some(joined),
                    Err(e) => {
                        log::warn!("{}: {} could not join: {e}", act.client, act.role);
                        act.send_error(ctx, &e);
                        let code = match e {
                            AppError::ShuttingDown => CloseCode::Away,
                            _ => CloseCode::Error,
                        };
                        ctx.close(Some(reason(code, &e.to_string())));
                        ctx.stop();
                    }
                }),
        );
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let (Some(session), Some(link)) = (self.session.take(), &self.link) {
            session.do_send(Detach {
                role: self.role,
                socket_id: link.id,
            });
        }
    }
}

impl Handler<ToSocket> for ChatSocket {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, ctx: &mut Self::Context) {
        if self.stalled() {
            return self.close_stalled(ctx);
        }
        match msg {
            ToSocket::Frame(frame) => write_frame(ctx, self.link.as_ref(), frame),
            ToSocket::Replaced => {
                self.session = None;
                ctx.text(ServerEvent::Replaced.encode());
                ctx.close(Some(reason(
                    CloseCode::Other(CLOSE_REPLACED),
                    "replaced by a newer connection",
                )));
                ctx.stop();
            }
            ToSocket::Shutdown => {
                self.session = None;
                ctx.close(Some(reason(CloseCode::Away, "server shutting down")));
                ctx.stop();
            }
            ToSocket::Unavailable => {
                self.session = None;
                self.send_error(ctx, &AppError::StoreUnavailable);
                ctx.close(Some(reason(CloseCode::Error, "conversation unavailable")));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for ChatSocket {
    fn handle(&mut self, event: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        if self.stalled() {
            return self.close_stalled(ctx);
        }
        match self.core.feed(event, ctx) {
            Some(Data::Text(text)) => self.on_text(&text, ctx),
            Some(Data::Binary(_)) => self.send_error(ctx, &AppError::BinaryNotSupported),
            None => {}
        }
    }
}
