//! Closing an agent's socket when its credential is revoked (logout,
//! disabled agent, deleted token: `accounts::revocation`). The page then
//! reconnects, is refused, and shows the login.

use actix::prelude::*;
use actix_web_actors::ws::{CloseCode, WebsocketContext};

use super::core::reason;
use super::{ChatSocket, InboxSocket};
use crate::accounts::Revoked;

/// Close code: the credential the socket was opened with was revoked.
pub const CLOSE_REVOKED: u16 = 4003;

fn close<A>(ctx: &mut WebsocketContext<A>)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    ctx.close(Some(reason(
        CloseCode::Other(CLOSE_REVOKED),
        "logged out: log in again",
    )));
    ctx.stop();
}

impl Handler<Revoked> for ChatSocket {
    type Result = ();

    fn handle(&mut self, _: Revoked, ctx: &mut Self::Context) {
        close(ctx);
    }
}

impl Handler<Revoked> for InboxSocket {
    type Result = ();

    fn handle(&mut self, _: Revoked, ctx: &mut Self::Context) {
        close(ctx);
    }
}
