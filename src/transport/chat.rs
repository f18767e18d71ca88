//! `ChatSocket`: the actor behind one customer or agent WebSocket. It joins
//! its conversation's SessionActor, turns client frames into session
//! messages, and writes the frames the session sends it. What waits for it
//! is bounded (`MAX_BACKLOG_BYTES`, `SOCKET_MAILBOX`): the session gives up on
//! a socket that falls that far behind instead of buffering without limit.
//! At most `MAX_IN_FLIGHT` of its messages wait to be stored; beyond that the
//! socket stops reading, so a client that pipelines thousands of messages is
//! read only as fast as they are stored.

use std::sync::Arc;

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, ProtocolError, WebsocketContext};

use super::core::{reason, Data, Heartbeat, SocketCore, CLOSE_REPLACED};
use super::fragments::send_text;
use super::CLOSE_ERASED;
use crate::conversation::{
    join, Assign, Detach, HistoryBefore, InFlight, MarkRead, Post, Poster, Registry, SessionActor,
    SetContact, SetStatus, ToSocket, Typing,
};
use crate::domain::{AgentId, AttachmentId, ClientId, Participant, Role};
use crate::error::AppError;
use crate::limits::KeyedBuckets;
use crate::metrics::Refusal;
use crate::protocol::{ClientFrame, ServerEvent};
use crate::store::Who;

/// Messages a socket may have waiting to be stored before it stops reading.
pub const MAX_IN_FLIGHT: usize = 256;

/// The frame rate buckets of every conversation side.
pub type MessageRates = KeyedBuckets<(ClientId, Role)>;

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
    participant: Participant,
    /// `participant.role()`, the side of the conversation this socket is.
    role: Role,
    since: u64,
    registry: Addr<Registry>,
    limits: SocketLimits,
    core: SocketCore,
    /// Frame rate limits, one bucket per conversation side, shared by every
    /// socket of that side: reconnecting does not refill it.
    rates: Arc<MessageRates>,
    /// A permit for each of this socket's messages not yet stored or refused.
    in_flight: InFlight,
    /// Set once joined; `None` again when the session dropped us.
    session: Option<Addr<SessionActor>>,
}

impl ChatSocket {
    pub fn new(
        client: ClientId,
        participant: Participant,
        since: u64,
        registry: Addr<Registry>,
        limits: SocketLimits,
        rates: Arc<MessageRates>,
        core: SocketCore,
    ) -> Self {
        ChatSocket {
            client,
            role: participant.role(),
            participant,
            since,
            registry,
            limits,
            core,
            rates,
            in_flight: InFlight::new(MAX_IN_FLIGHT),
            session: None,
        }
    }

    /// Closes a socket its session gave up on; the session already
    /// detached it.
    fn close_if_stalled(&mut self, ctx: &mut WebsocketContext<Self>) -> bool {
        let stalled = self.core.close_if_stalled(ctx);
        if stalled {
            self.session = None;
        }
        stalled
    }

    /// This socket's link id, how its session tells it from others.
    fn socket_id(&self) -> u64 {
        self.core.link().map_or(0, |link| link.id)
    }

    fn send_error(&self, ctx: &mut WebsocketContext<Self>, err: &AppError) {
        ctx.text(ServerEvent::error(err, None).encode());
    }

    /// Hands a message to the session with one of the socket's in-flight
    /// permits. When they run out the socket stops reading until half of
    /// them are back: a client that pipelines without limit is read only as
    /// fast as its messages are stored.
    fn post(
        &mut self,
        text: String,
        id: Option<String>,
        private: bool,
        attachments: Vec<AttachmentId>,
        ctx: &mut WebsocketContext<Self>,
    ) {
        let Some(session) = &self.session else {
            return;
        };
        let Some(permit) = self.in_flight.try_permit() else {
            // Only this socket takes permits and it waits whenever the last
            // one is gone, so this is never reached.
            return self.send_error(ctx, &AppError::ShuttingDown);
        };
        session.do_send(Post {
            role: self.role,
            author: self.participant.author(),
            text,
            id,
            private,
            attachments,
            poster: Poster::Socket {
                socket_id: self.socket_id(),
                permit,
            },
        });
        if self.in_flight.try_permit().is_none() {
            let in_flight = self.in_flight.clone();
            let half_back = async move { in_flight.wait_for(MAX_IN_FLIGHT as u32 / 2).await };
            ctx.wait(half_back.into_actor(self));
        }
    }

    /// An agent gives the conversation to someone (or the queue); the
    /// `assignee` frame every agent socket gets is the answer.
    fn assign(
        &mut self,
        to: Option<AgentId>,
        note: Option<String>,
        ctx: &mut WebsocketContext<Self>,
    ) {
        let (Some(session), Participant::Agent(agent)) = (&self.session, &self.participant) else {
            let err = AppError::Forbidden("only agents assign conversations".into());
            return self.send_error(ctx, &err);
        };
        let request = session.send(Assign {
            by: Some(agent.author()),
            to,
            note,
            only_if: None,
            who: Who::agent(agent, self.core.peer()),
        });
        self.tell_refusal(request, ctx);
    }

    /// Waits for the session's answer to a request of this socket and
    /// tells the client only if it was refused (success shows as a frame
    /// to everyone).
    fn tell_refusal<T: 'static>(
        &self,
        request: impl std::future::Future<Output = Result<Result<T, AppError>, MailboxError>> + 'static,
        ctx: &mut WebsocketContext<Self>,
    ) {
        ctx.spawn(
            request
                .into_actor(self)
                .map(|result, act, ctx| match result {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => act.send_error(ctx, &e),
                    Err(_) => act.send_error(ctx, &AppError::ShuttingDown),
                }),
        );
    }

    fn on_text(&mut self, text: &str, ctx: &mut WebsocketContext<Self>) {
        let Some(session) = &self.session else {
            return;
        };
        let frame = ClientFrame::decode(text, self.limits.max_text_chars);
        // Every frame counts against the rate, bad ones included.
        if !self.rates.try_take((self.client.clone(), self.role)) {
            self.core.metrics().refused(Refusal::SocketMessage);
            let (per_second, burst) = self.rates.limits();
            let err = AppError::RateLimited { per_second, burst };
            let id = match &frame {
                Ok(ClientFrame::Message { id, .. }) => id.as_deref(),
                _ => None,
            };
            return ctx.text(ServerEvent::error(&err, id).encode());
        }
        match frame {
            Ok(ClientFrame::Message {
                text,
                id,
                private,
                attachments,
            }) => self.post(text, id, private, attachments, ctx),
            Ok(ClientFrame::Typing { active }) => session.do_send(Typing {
                role: self.role,
                author: self.participant.author(),
                socket_id: self.socket_id(),
                active,
            }),
            Ok(ClientFrame::Read { seq }) => session.do_send(MarkRead {
                role: self.role,
                seq,
            }),
            Ok(ClientFrame::SetStatus(status)) => {
                let peer = Some(self.core.peer());
                let who = match &self.participant {
                    Participant::Agent(agent) => Who {
                        agent: Some(agent.id),
                        name: agent.name.clone(),
                        ip: peer,
                    },
                    Participant::Customer => Who::named("customer", peer),
                };
                let request = session.send(SetStatus {
                    role: self.role,
                    by: self.participant.author(),
                    status,
                    who,
                });
                self.tell_refusal(request, ctx);
            }
            Ok(ClientFrame::Contact(update)) => {
                let request = session.send(SetContact(update));
                self.tell_refusal(request, ctx);
            }
            Ok(ClientFrame::Assign { agent_id, note }) => self.assign(agent_id, note, ctx),
            Ok(ClientFrame::List(_) | ClientFrame::Availability { .. } | ClientFrame::Active) => {
                self.send_error(
                    ctx,
                    &AppError::UnknownType("list, status, active (only on /ws/inbox)".into()),
                )
            }
            Ok(ClientFrame::HistoryBefore { before, limit }) => {
                let request = session.send(HistoryBefore {
                    role: self.role,
                    before,
                    limit,
                });
                ctx.spawn(
                    request
                        .into_actor(self)
                        .map(|result, act, ctx| match result {
                            Ok(Ok(frame)) => send_text(ctx, frame),
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
        let link = self.core.start_linked(ctx, |act: &Self| &act.core);
        let registry = self.registry.clone();
        let (client, who, since) = (self.client.clone(), self.participant.clone(), self.since);
        let joining = async move { join(&registry, &client, &who, since, link).await };
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
        if let (Some(session), Some(link)) = (self.session.take(), self.core.link()) {
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
        self.core.taken(&msg);
        if self.close_if_stalled(ctx) {
            return;
        }
        match msg {
            ToSocket::Frame(frame) => send_text(ctx, frame),
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
            ToSocket::Erased => {
                self.session = None;
                ctx.close(Some(reason(
                    CloseCode::Other(CLOSE_ERASED),
                    "conversation erased",
                )));
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
        if self.close_if_stalled(ctx) {
            return;
        }
        match self.core.feed(event, ctx) {
            Some(Data::Text(text)) => self.on_text(&text, ctx),
            Some(Data::Binary(_)) => self.send_error(ctx, &AppError::BinaryNotSupported),
            None => {}
        }
    }
}
