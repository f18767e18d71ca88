//! `InboxSocket`: the actor behind one agent's `/ws/inbox` connection. It
//! subscribes to the [`Inbox`] for pushed changes and answers `list` frames
//! with pages of conversation summaries.

use actix::prelude::*;
use actix_web_actors::ws::{self, CloseCode, ProtocolError, WebsocketContext};

use crate::error::AppError;
use crate::inbox::{Inbox, List, Subscribe, Unsubscribe};
use crate::protocol::{ClientFrame, ListRequest, ServerEvent};
use crate::session::{SocketLink, ToSocket};
use crate::socket::{CLOSE_STALLED, SOCKET_MAILBOX};
use crate::socket_core::{reason, write_frame, Data, SocketCore};
use crate::store::ListQuery;

pub struct InboxSocket {
    inbox: Addr<Inbox>,
    core: SocketCore,
    link: Option<SocketLink>,
}

impl InboxSocket {
    pub fn new(inbox: Addr<Inbox>, core: SocketCore) -> Self {
        InboxSocket {
            inbox,
            core,
            link: None,
        }
    }

    fn stalled(&self) -> bool {
        self.link.as_ref().is_some_and(SocketLink::is_stalled)
    }

    fn list(&mut self, request: ListRequest, ctx: &mut WebsocketContext<Self>) {
        let query = ListQuery {
            status: request.status,
            search: request.search,
            cursor: request.cursor,
            limit: request.limit,
        };
        let id = request.request;
        let answer = self.inbox.send(List(query));
        ctx.spawn(answer.into_actor(self).map(move |result, _act, ctx| {
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
                Ok(Err(e)) => ctx.text(ServerEvent::error(&e).encode()),
                Err(_) => ctx.text(ServerEvent::error(&AppError::ShuttingDown).encode()),
            }
        }));
    }
}

impl Actor for InboxSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(SOCKET_MAILBOX);
        self.core.start_heartbeat(ctx, |act: &Self| &act.core);
        let link = SocketLink::new(ctx.address().recipient());
        self.inbox.do_send(Subscribe {
            socket: link.clone(),
        });
        self.link = Some(link);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(link) = self.link.take() {
            self.inbox.do_send(Unsubscribe { socket_id: link.id });
        }
    }
}

impl Handler<ToSocket> for InboxSocket {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, ctx: &mut Self::Context) {
        if self.stalled() {
            ctx.close(Some(reason(
                CloseCode::Other(CLOSE_STALLED),
                "too slow: reconnect",
            )));
            return ctx.stop();
        }
        match msg {
            ToSocket::Frame(frame) => write_frame(ctx, self.link.as_ref(), frame),
            ToSocket::Replaced | ToSocket::Shutdown | ToSocket::Unavailable => {
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
                Ok(_) => ctx.text(
                    ServerEvent::error(&AppError::UnknownType(
                        "only list frames are accepted on /ws/inbox".into(),
                    ))
                    .encode(),
                ),
                Err(e) => ctx.text(ServerEvent::error(&e).encode()),
            },
            Some(Data::Binary(_)) => {
                ctx.text(ServerEvent::error(&AppError::BinaryNotSupported).encode())
            }
            None => {}
        }
    }
}
