//! Large text frames go out as WebSocket fragments, one piece per turn of
//! the event loop. actix-http grows a connection's write buffer to the
//! largest chunk it has had to hold and keeps it (up to 128 KiB) for the
//! connection's life, and the context's encoding buffer keeps its size too:
//! one 27 KB history page made a socket cost about 24 KiB more for as long
//! as it stayed connected. Written a piece at a time, each piece has left
//! both buffers before the next is encoded. Clients see one message:
//! fragments are reassembled below every WebSocket API.

use std::time::Duration;

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::web::Bytes;
use actix_web_actors::ws::{Message, WebsocketContext};
use bytestring::ByteString;

/// The largest frame sent whole, and the size of each piece of a larger
/// one: well inside the connection's first 8 KiB write buffer.
pub const FRAGMENT_BYTES: usize = 4 * 1024;

/// At most this many pieces (so pauses): a frame larger than this many
/// fragments (a history of 4,000-character messages, up to 800 KB) goes in
/// larger pieces and keeps a larger buffer, rather than taking long.
const MAX_PIECES: usize = 16;

/// The pause before each next piece: a timer, so the connection has
/// written the previous piece out in between (a mere yield would let
/// actix-http gather every piece into its buffer before writing).
const FRAGMENT_PAUSE: Duration = Duration::from_millis(1);

/// Sends `frame`, in pieces when it is larger than [`FRAGMENT_BYTES`].
pub fn send_text<A>(ctx: &mut WebsocketContext<A>, frame: ByteString)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    if frame.len() <= FRAGMENT_BYTES {
        return ctx.text(frame);
    }
    let bytes = frame.into_bytes();
    let piece = FRAGMENT_BYTES.max(bytes.len().div_ceil(MAX_PIECES));
    let first = bytes.slice(..piece);
    ctx.write_raw(Message::Continuation(Item::FirstText(first)));
    send_rest(ctx, bytes, piece, piece);
}

/// The pieces of `bytes` from `from` on, `piece` bytes each. `wait`: the actor handles nothing
/// else until the last piece is out, so no other frame lands between the
/// pieces of this one (what waits meanwhile counts against the socket's
/// backlog as usual).
fn send_rest<A>(ctx: &mut WebsocketContext<A>, bytes: Bytes, from: usize, piece: usize)
where
    A: Actor<Context = WebsocketContext<A>>,
{
    let pause = fut::wrap_future::<_, A>(actix_rt::time::sleep(FRAGMENT_PAUSE));
    ctx.wait(pause.map(move |(), _, ctx| {
        let to = (from + piece).min(bytes.len());
        let part = bytes.slice(from..to);
        if to == bytes.len() {
            ctx.write_raw(Message::Continuation(Item::Last(part)));
        } else {
            ctx.write_raw(Message::Continuation(Item::Continue(part)));
            send_rest(ctx, bytes, to, piece);
        }
    }));
}
