//! What every WebSocket actor shares, whatever it speaks: reassembly of
//! fragmented messages with a size cap, control frames (ping, pong, close),
//! protocol errors mapped to close codes, the heartbeat, the gauge of open
//! sockets, and a read-ahead window on the incoming bytes (actix-web-actors
//! would otherwise read everything a client sends into memory before the
//! actor has handled any of it), and the start-up of sockets that sessions
//! write to (bounded mailbox, link, the stalled check). Every socket actor
//! builds on it.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_http::ws::Item;
use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError, WebsocketContext};
use bytestring::ByteString;
use futures_util::task::AtomicWaker;
use futures_util::Stream;

use super::declared::DeclaredLengths;
use crate::conversation::{SocketLink, ToSocket};
use crate::limits::ConnectionSlot;
use crate::metrics::{Metrics, SocketKind};

/// Bytes of client frames read from the connection ahead of what the socket
/// actor has handled. A client that sends faster than its frames are handled
/// waits in its own TCP buffers, not in the server's memory.
pub const READ_AHEAD_BYTES: usize = 64 * 1024;

/// Frames a socket may have waiting before its session detaches it (the byte
/// backlog usually binds first).
pub const SOCKET_MAILBOX: usize = 8192;

/// Close code: a newer socket of the same role took over.
pub const CLOSE_REPLACED: u16 = 4001;
/// Close code: the client read too slowly and fell behind.
pub const CLOSE_STALLED: u16 = 4002;

/// When to ping, and when to give up on a silent client (any frame, pongs
/// included, counts as a sign of life).
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    pub interval: Duration,
    pub timeout: Duration,
}

/// One complete data message.
#[derive(Debug, PartialEq, Eq)]
pub enum Data {
    Text(ByteString),
    Binary(Bytes),
}

/// Per-socket frame state.
pub struct SocketCore {
    max_message_bytes: usize,
    /// A fragmented message being reassembled: is it text, and the bytes.
    partial: Option<(bool, BytesMut)>,
    last_heard: Instant,
    heartbeat: Heartbeat,
    metrics: Arc<Metrics>,
    kind: SocketKind,
    /// The client's address (the proxy's word for it with `--trust-proxy`).
    peer: IpAddr,
    window: Arc<ReadWindow>,
    /// How sessions and the inbox reach this socket, once started linked.
    link: Option<SocketLink>,
    /// This connection's place in the per-IP cap, given back on drop.
    _slot: ConnectionSlot,
}

/// Shared by a socket's incoming stream and its actor.
#[derive(Default)]
struct ReadWindow {
    read: AtomicUsize,
    handled: AtomicUsize,
    /// The stream, waiting for the actor to catch up.
    reader: AtomicWaker,
    /// The stream met a frame header declaring more than the cap, and
    /// ended the stream with an error that the actor answers with 1009.
    oversized: AtomicBool,
}

impl ReadWindow {
    fn ahead(&self) -> usize {
        let handled = self.handled.load(Ordering::Acquire);
        self.read.load(Ordering::Acquire).saturating_sub(handled)
    }
}

/// The incoming bytes of a socket, read no further than `READ_AHEAD_BYTES`
/// ahead of what its actor has handled, and cut off at the first frame
/// header that declares more than the frame cap.
pub struct Throttled<S> {
    inner: S,
    window: Arc<ReadWindow>,
    lengths: DeclaredLengths,
}

impl<S> Stream for Throttled<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.window.ahead() >= READ_AHEAD_BYTES {
            this.window.reader.register(cx.waker());
            // Check again: the actor may have caught up meanwhile.
            if this.window.ahead() >= READ_AHEAD_BYTES {
                return Poll::Pending;
            }
        }
        if this.window.oversized.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        let next = Pin::new(&mut this.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &next {
            if let Err(oversized) = this.lengths.feed(chunk) {
                log::debug!("frame declares {} bytes; refusing it", oversized.declared);
                this.window.oversized.store(true, Ordering::Release);
                return Poll::Ready(Some(Err(PayloadError::Overflow)));
            }
            this.window.read.fetch_add(chunk.len(), Ordering::AcqRel);
        }
        next
    }
}

/// Bytes a masked client frame with `payload` bytes takes on the wire.
fn wire_len(payload: usize) -> usize {
    let extended = match payload {
        0..=125 => 0,
        126..=65_535 => 2,
        _ => 8,
    };
    2 + extended + 4 + payload
}

impl SocketCore {
    pub fn new(
        max_message_bytes: usize,
        heartbeat: Heartbeat,
        metrics: Arc<Metrics>,
        kind: SocketKind,
        peer: IpAddr,
        slot: ConnectionSlot,
    ) -> Self {
        metrics.open_sockets(kind).inc();
        SocketCore {
            max_message_bytes,
            partial: None,
            last_heard: Instant::now(),
            heartbeat,
            metrics,
            kind,
            peer,
            window: Arc::default(),
            link: None,
            _slot: slot,
        }
    }

    /// Wraps the connection's incoming bytes in this socket's read window.
    pub fn throttle<S>(&self, incoming: S) -> Throttled<S> {
        Throttled {
            inner: incoming,
            window: Arc::clone(&self.window),
            lengths: DeclaredLengths::new(self.max_message_bytes),
        }
    }

    /// Starts the heartbeat on `ctx`: ping every `heartbeat.interval`, stop
    /// the actor when the client has been silent for `heartbeat.timeout`.
    pub fn start_heartbeat<A>(&self, ctx: &mut WebsocketContext<A>, core: fn(&A) -> &SocketCore)
    where
        A: Actor<Context = WebsocketContext<A>>,
    {
        ctx.run_interval(self.heartbeat.interval, move |act, ctx| {
            let core = core(act);
            if core.last_heard.elapsed() > core.heartbeat.timeout {
                log::info!("socket timed out (no pong)");
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
    }

    /// Start-up of a socket that others write to: a bounded mailbox, the
    /// heartbeat, and the link they reach it by (returned and kept).
    pub fn start_linked<A>(
        &mut self,
        ctx: &mut WebsocketContext<A>,
        core: fn(&A) -> &SocketCore,
    ) -> SocketLink
    where
        A: Actor<Context = WebsocketContext<A>> + Handler<ToSocket>,
    {
        ctx.set_mailbox_capacity(SOCKET_MAILBOX);
        self.start_heartbeat(ctx, core);
        let link = SocketLink::new(ctx.address().recipient());
        self.link = Some(link.clone());
        link
    }

    pub fn peer(&self) -> IpAddr {
        self.peer
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn link(&self) -> Option<&SocketLink> {
        self.link.as_ref()
    }

    /// If a sender gave up on this socket (it read too slowly), closes it
    /// with 4002 and says so.
    pub fn close_if_stalled<A>(&self, ctx: &mut WebsocketContext<A>) -> bool
    where
        A: Actor<Context = WebsocketContext<A>>,
    {
        let stalled = self.link.as_ref().is_some_and(SocketLink::is_stalled);
        if stalled {
            self.metrics.stalled_sockets.inc();
            ctx.close(Some(reason(
                CloseCode::Other(CLOSE_STALLED),
                "too slow: reconnect with since",
            )));
            ctx.stop();
        }
        stalled
    }

    /// Gives what `item` counted back to the link's backlog: the socket has
    /// taken it from its mailbox. First thing in every `ToSocket` handler.
    pub fn taken(&self, item: &ToSocket) {
        if let Some(link) = &self.link {
            link.taken(item);
        }
    }

    /// Takes one event of the socket's stream. Control frames and protocol
    /// errors are dealt with here (the context is closed and stopped when the
    /// client must go); a complete data message is returned.
    pub fn feed<A>(
        &mut self,
        event: Result<ws::Message, ProtocolError>,
        ctx: &mut WebsocketContext<A>,
    ) -> Option<Data>
    where
        A: Actor<Context = WebsocketContext<A>>,
    {
        self.last_heard = Instant::now();
        let payload = match &event {
            Ok(ws::Message::Text(t)) => t.len(),
            Ok(ws::Message::Binary(b) | ws::Message::Ping(b) | ws::Message::Pong(b)) => b.len(),
            Ok(ws::Message::Continuation(
                Item::FirstText(b) | Item::FirstBinary(b) | Item::Continue(b) | Item::Last(b),
            )) => b.len(),
            Ok(ws::Message::Close(_) | ws::Message::Nop) | Err(_) => 0,
        };
        self.window
            .handled
            .fetch_add(wire_len(payload), Ordering::AcqRel);
        self.window.reader.wake();
        match self.assemble(event) {
            Ok(Step::Data(data)) => Some(data),
            Ok(Step::Ping(payload)) => {
                ctx.pong(&payload);
                None
            }
            Ok(Step::Nothing) => None,
            Ok(Step::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
                None
            }
            Err(reason) => {
                log::debug!("closing socket: {reason:?}");
                ctx.close(Some(reason));
                ctx.stop();
                None
            }
        }
    }

    fn assemble(&mut self, event: Result<ws::Message, ProtocolError>) -> Result<Step, CloseReason> {
        let message = event.map_err(|error| {
            if self.window.oversized.load(Ordering::Acquire) {
                // The stream's own error, whatever actix made of it.
                reason(CloseCode::Size, "frame too big")
            } else {
                close_for(error)
            }
        })?;
        match message {
            ws::Message::Text(text) => {
                self.refuse_interleaved()?;
                Ok(Step::Data(Data::Text(text)))
            }
            ws::Message::Binary(bytes) => {
                self.refuse_interleaved()?;
                Ok(Step::Data(Data::Binary(bytes)))
            }
            ws::Message::Continuation(item) => self.continuation(item),
            ws::Message::Ping(payload) => Ok(Step::Ping(payload)),
            ws::Message::Pong(_) | ws::Message::Nop => Ok(Step::Nothing),
            ws::Message::Close(reason) => Ok(Step::Close(reason.map(|r| CloseReason {
                code: r.code,
                description: None,
            }))),
        }
    }

    fn refuse_interleaved(&self) -> Result<(), CloseReason> {
        match self.partial {
            Some(_) => Err(reason(
                CloseCode::Protocol,
                "new message before the fragmented one ended",
            )),
            None => Ok(()),
        }
    }

    fn continuation(&mut self, item: Item) -> Result<Step, CloseReason> {
        let (is_text, chunk, last) = match item {
            Item::FirstText(b) => (Some(true), b, false),
            Item::FirstBinary(b) => (Some(false), b, false),
            Item::Continue(b) => (None, b, false),
            Item::Last(b) => (None, b, true),
        };
        match (is_text, &mut self.partial) {
            (Some(_), Some(_)) => {
                return Err(reason(
                    CloseCode::Protocol,
                    "fragmented message already started",
                ))
            }
            (Some(text), None) => self.partial = Some((text, BytesMut::new())),
            (None, None) => {
                return Err(reason(
                    CloseCode::Protocol,
                    "continuation without a first fragment",
                ))
            }
            (None, Some(_)) => {}
        }
        let Some((is_text, buffer)) = self.partial.as_mut() else {
            return Ok(Step::Nothing);
        };
        if buffer.len() + chunk.len() > self.max_message_bytes {
            self.partial = None;
            return Err(reason(CloseCode::Size, "message too big"));
        }
        buffer.extend_from_slice(&chunk);
        if !last {
            return Ok(Step::Nothing);
        }
        let is_text = *is_text;
        let bytes = std::mem::take(buffer).freeze();
        self.partial = None;
        if is_text {
            ByteString::try_from(bytes)
                .map(|t| Step::Data(Data::Text(t)))
                .map_err(|_| reason(CloseCode::Invalid, "text is not valid UTF-8"))
        } else {
            Ok(Step::Data(Data::Binary(bytes)))
        }
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        self.metrics.open_sockets(self.kind).dec();
    }
}

enum Step {
    Data(Data),
    Ping(Bytes),
    Close(Option<CloseReason>),
    Nothing,
}

pub fn reason(code: CloseCode, description: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(description.to_owned()),
    }
}

fn close_for(error: ProtocolError) -> CloseReason {
    match error {
        ProtocolError::Overflow => reason(CloseCode::Size, "frame too big"),
        // actix-http reports reserved bits as InvalidData I/O, and
        // actix-web-actors a text frame that is not UTF-8 as Other I/O.
        ProtocolError::Io(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            reason(CloseCode::Protocol, &e.to_string())
        }
        ProtocolError::Io(_) => reason(CloseCode::Invalid, "text is not valid UTF-8"),
        other => reason(CloseCode::Protocol, &other.to_string()),
    }
}
