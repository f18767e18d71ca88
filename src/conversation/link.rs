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

impl ToSocket {
    /// What it counts against a socket's backlog while it waits.
    fn cost(&self) -> usize {
        ITEM_OVERHEAD
            + match self {
                ToSocket::Frame(frame) => frame.len(),
                ToSocket::Replaced
                | ToSocket::Shutdown
                | ToSocket::Unavailable
                | ToSocket::Erased => 0,
            }
    }
}

/// Most bytes that may wait for a socket to write them: the frames, and
/// `ITEM_OVERHEAD` for each. A client that lets more pile up is not reading:
/// it is detached and closed (4002) and resyncs with `since` when it comes
/// back. Room for bursts (about a thousand chat frames), small enough that a
/// client that floods and never reads pins little memory. The cap is checked
/// against what waits before a new item, so one frame larger than the cap
/// (a history page of long messages) still goes through.
pub const MAX_BACKLOG_BYTES: usize = 128 * 1024;

/// What one waiting item costs besides its frame: the mailbox envelope and
/// its node, the frame's handle, the allocator's headers. Counting it makes
/// the cap bound memory, not only text.
const ITEM_OVERHEAD: usize = 96;

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
        let bytes = item.cost();
        let before = self.backlog.bytes.fetch_add(bytes, Ordering::AcqRel);
        if before > MAX_BACKLOG_BYTES {
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

    /// The socket has taken `item`, handed over by `offer`, from its
    /// mailbox (and written it, if a frame).
    pub fn taken(&self, item: &ToSocket) {
        self.backlog.bytes.fetch_sub(item.cost(), Ordering::AcqRel);
    }

    pub fn is_stalled(&self) -> bool {
        self.backlog.stalled.load(Ordering::Acquire)
    }
}
