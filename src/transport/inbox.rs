//! `InboxSocket`: the actor behind one agent's `/ws/inbox` connection. It
//! subscribes to the [`Inbox`] for pushed changes and answers `list` frames
//! with pages of conversation summaries.

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, ProtocolError, WebsocketContext};

use super::core::{reason, Data, SocketCore};
use crate::conversation::ToSocket;
use crate::error::AppError;
use crate::inbox::{Inbox, List, Subscribe, Unsubscribe};
use crate::limits::TokenBucket;
use crate::metrics::Refusal;
use crate::protocol::{ClientFrame, ListRequest, ServerEvent};
use crate::store::ListQuery;

/// `list` requests a console may make per second, and in a burst. A console
/// lists on open, on filter changes and when scrolling; more is an attack.
pub const LIST_RATE: f64 = 5.0;
pub const LIST_BURST: u32 = 20;

pub struct InboxSocket {
    inbox: Addr<Inbox>,
    core: SocketCore,
    lists: Option<TokenBucket>,
}

impl InboxSocket {
    pub fn new(inbox: Addr<Inbox>, core: SocketCore) -> Self {
        InboxSocket {
            inbox,
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
            search: request.search,
            cursor: request.cursor,
            limit: request.limit,
        };
        let id = request.request;
        let answer = self.inbox.send(List(query));
        ctx.wait(answer.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(Ok((page, totals))) => ctx.text(
                    ServerEvent::Conversations {
                        request: id,
                        items: &page.items,
                        next_cursor: page.next_cursor.as_deref(),
                        totals,
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
        self.inbox.do_send(Subscribe { socket });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(link) = self.core.link() {
            self.inbox.do_send(Unsubscribe { socket_id: link.id });
        }
    }
}

impl Handler<ToSocket> for InboxSocket {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, ctx: &mut Self::Context) {
        if self.core.close_if_stalled(ctx) {
            return;
        }
        match msg {
            ToSocket::Frame(frame) => self.core.write(ctx, frame),
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
            Some(Data::Text(text)) => match ClientFrame::decode(&text, 0) {
                Ok(ClientFrame::List(request)) => self.list(request, ctx),
                Ok(_) => self.send_error(
                    ctx,
                    &AppError::UnknownType("only list frames are accepted on /ws/inbox".into()),
                ),
                Err(e) => self.send_error(ctx, &e),
            },
            Some(Data::Binary(_)) => self.send_error(ctx, &AppError::BinaryNotSupported),
            None => {}
        }
    }
}
