//! `EchoSocket`: the `/ws/echo` diagnostic. It sends every text and binary
//! message back exactly, through the same plumbing as the chat sockets
//! (frame limit, reassembly, heartbeat), so operators can test upgrades
//! through a proxy and conformance suites can test the plumbing.

use actix::prelude::*;
use actix_web_actors::ws::{self, ProtocolError, WebsocketContext};

use super::core::{Data, SocketCore};

pub struct EchoSocket {
    core: SocketCore,
}

impl EchoSocket {
    pub fn new(core: SocketCore) -> Self {
        EchoSocket { core }
    }
}

impl Actor for EchoSocket {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.core.start_heartbeat(ctx, |act: &Self| &act.core);
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for EchoSocket {
    fn handle(&mut self, event: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        match self.core.feed(event, ctx) {
            Some(Data::Text(text)) => ctx.text(text),
            Some(Data::Binary(bytes)) => ctx.binary(bytes),
            None => {}
        }
    }
}
