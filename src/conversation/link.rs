//! `SocketLink`: how a session (or the inbox) reaches one socket actor
//! without ever waiting on it. Frames go through `offer`, which `try_send`s
//! into the socket's bounded mailbox and counts the bytes waiting; a socket
//! whose backlog or mailbox is full is flagged stalled and closes itself.
//!
//! It lives with the conversation, not with the transport: it is the port
//! the conversation defines and every socket actor implements (it handles
//! `ToSocket`), so the conversation never imports the transport.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;

/// A frame or command for a socket actor.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum ToSocket {
    /// An encoded server frame, sent as it is.
    Frame(ByteString),
    /// A newer socket of the same role took over: say so and close (4001).
    Replaced,
    /// The server is going away: close with 1001.
    Shutdown,
    /// The conversation cannot be served (store failure): close with 1011.
    Unavailable,
    /// The conversation was erased (or retention removed it): close with 4004.
    Erased,
}

/// Most bytes of frames that may wait for a socket to write them. A client
/// that lets more pile up is not reading: it is detached and closed (4002)
/// and resyncs with `since` when it comes back. Sized for bursts (thousands
/// of chat frames), small enough that stalled clients cost little memory.
pub const MAX_BACKLOG_BYTES: usize = 256 * 1024;

/// How a session reaches one socket.
#[derive(Clone)]
pub struct SocketLink {
    /// Unique per socket, so a late `Detach` cannot remove its successor.
    pub id: u64,
    pub recipient: Recipient<ToSocket>,
    backlog: Arc<Backlog>,
}

/// What is waiting for a socket, shared by its senders and the socket.
#[derive(Debug, Default)]
struct Backlog {
    /// Frame bytes handed over and not yet written by the socket.
    bytes: AtomicUsize,
    /// Set when a sender gave up on the socket; it closes itself (4002) as
    /// soon as it runs again.
    stalled: AtomicBool,
}

impl SocketLink {
    pub fn new(recipient: Recipient<ToSocket>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SocketLink {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            recipient,
            backlog: Arc::default(),
        }
    }

    /// Hands `item` to the socket without waiting. False when the socket is
    /// gone or stalled (its backlog or mailbox is full: the client stopped
    /// reading); a stalled socket is flagged so it closes itself.
    pub fn offer(&self, item: ToSocket) -> bool {
        if self.is_stalled() {
            return false;
        }
        let bytes = match &item {
            ToSocket::Frame(frame) => frame.len(),
            ToSocket::Replaced | ToSocket::Shutdown | ToSocket::Unavailable | ToSocket::Erased => 0,
        };
        let waiting = self.backlog.bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if waiting > MAX_BACKLOG_BYTES {
            self.backlog.stalled.store(true, Ordering::Release);
            return false;
        }
        match self.recipient.try_send(item) {
            Ok(()) => true,
            Err(SendError::Full(_)) => {
                self.backlog.stalled.store(true, Ordering::Release);
                false
            }
            Err(SendError::Closed(_)) => false,
        }
    }

    /// The socket wrote a frame of `bytes` handed over by `offer`.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub fn is_stalled(&self) -> bool {
        self.backlog.stalled.load(Ordering::Acquire)
    }
}
