//! `InboxSocket`: the actor behind one agent's `/ws/inbox` connection. It
//! subscribes to the [`Inbox`] for pushed changes and answers `list` frames
//! with pages of conversation summaries.

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, ProtocolError, WebsocketContext};

use super::core::{reason, Data, SocketCore};
use super::fragments::send_text;
use crate::conversation::ToSocket;
use crate::domain::Author;
use crate::error::AppError;
use crate::inbox::{Inbox, List, Subscribe, Unsubscribe};
use crate::limits::TokenBucket;
use crate::metrics::Refusal;
use crate::protocol::{ClientFrame, ListRequest, ServerEvent};
use crate::routing::{Active, ConsoleClosed, ConsoleOpened, Router, SetAway};
use crate::store::ListQuery;

/// `list` requests a console may make per second, and in a burst. A console
/// lists on open, on filter changes and when scrolling; more is an attack.
pub const LIST_RATE: f64 = 5.0;
pub const LIST_BURST: u32 = 20;

pub struct InboxSocket {
    inbox: Addr<Inbox>,
    /// Learns the agent's availability from this console.
    router: Addr<Router>,
    /// The agent whose console this is ("Mine", alerts, availability).
    agent: Author,
    core: SocketCore,
    lists: Option<TokenBucket>,
}

impl InboxSocket {
    pub fn new(inbox: Addr<Inbox>, router: Addr<Router>, agent: Author, core: SocketCore) -> Self {
        InboxSocket {
            inbox,
            router,
            agent,
            core,
            lists: TokenBucket::new(LIST_RATE, LIST_BURST),
        }
    }

    fn send_error(&self, ctx: &mut WebsocketContext<Self>, err: &AppError) {
        ctx.text(ServerEvent::error(err, None).encode());
    }

    /// Answers one `list` at a time: the socket reads no further frame
    /// until the page is sent, so a client that pipelines lists queues them
    /// in its own buffers, not in the server's read pool.
    fn list(&mut self, request: ListRequest, ctx: &mut WebsocketContext<Self>) {
        if let Some(bucket) = &mut self.lists {
            if !bucket.try_take() {
                self.core.metrics().refused(Refusal::SocketMessage);
                let err = AppError::RateLimited {
                    per_second: LIST_RATE,
                    burst: LIST_BURST,
                };
                return self.send_error(ctx, &err);
            }
        }
        let query = ListQuery {
            status: request.status,
            view: request.view,
            me: self.agent.id,
            label: request.label,
            search: request.search,
            cursor: request.cursor,
            limit: request.limit,
        };
        let id = request.request;
        let socket_id = self.core.link().map(|link| link.id);
        let answer = self.inbox.send(List { query, socket_id });
        ctx.wait(answer.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(Ok(answer)) => send_text(
                    ctx,
                    ServerEvent::Conversations {
                        request: id,
                        items: &answer.page.items,
                        next_cursor: answer.page.next_cursor.as_deref(),
                        totals: answer.totals,
                        views: answer.views,
                    }
                    .encode(),
                ),
                Ok(Err(e)) => act.send_error(ctx, &e),
                Err(_) => act.send_error(ctx, &AppError::ShuttingDown),
            }
        }));
    }
}

impl Actor for InboxSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let socket = self.core.start_linked(ctx, |act: &Self| &act.core);
        let id = socket.id;
        self.inbox.do_send(Subscribe {
            socket,
            agent: self.agent.id,
        });
        self.router.do_send(ConsoleOpened {
            agent: self.agent.clone(),
            socket: id,
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(link) = self.core.link() {
            self.inbox.do_send(Unsubscribe { socket_id: link.id });
            self.router.do_send(ConsoleClosed {
                agent: self.agent.id,
                socket: link.id,
            });
        }
    }
}

impl Handler<ToSocket> for InboxSocket {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, ctx: &mut Self::Context) {
        self.core.taken(&msg);
        if self.core.close_if_stalled(ctx) {
            return;
        }
        match msg {
            ToSocket::Frame(frame) => send_text(ctx, frame),
            ToSocket::Replaced | ToSocket::Shutdown | ToSocket::Unavailable | ToSocket::Erased => {
                ctx.close(Some(reason(CloseCode::Away, "server shutting down")));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for InboxSocket {
    fn handle(&mut self, event: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        match self.core.feed(event, ctx) {
            Some(Data::Text(text)) => {
                // Any frame is the agent at the console.
                let agent = self.agent.id;
                self.router.do_send(Active { agent });
                match ClientFrame::decode(&text, 0) {
                    Ok(ClientFrame::List(request)) => self.list(request, ctx),
                    Ok(ClientFrame::Availability { away }) => {
                        self.router.do_send(SetAway { agent, away })
                    }
                    Ok(ClientFrame::Active) => {}
                    Ok(_) => self.send_error(
                        ctx,
                        &AppError::UnknownType(
                            "only list, status and active frames are accepted on /ws/inbox".into(),
                        ),
                    ),
                    Err(e) => self.send_error(ctx, &e),
                }
            }
            Some(Data::Binary(_)) => self.send_error(ctx, &AppError::BinaryNotSupported),
            None => {}
        }
    }
}
