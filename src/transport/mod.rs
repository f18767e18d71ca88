//! Everything about one WebSocket: the shared frame plumbing (`core`) and
//! one actor per kind of socket: a chat side (`chat`), an agent's live
//! inbox (`inbox`), and the `/ws/echo` diagnostic (`echo`).

mod chat;
mod core;
mod declared;
mod echo;
mod fragments;
mod inbox;
mod revoke;

pub use self::core::{
    Heartbeat, SocketCore, Throttled, CLOSE_REPLACED, CLOSE_STALLED, READ_AHEAD_BYTES,
    SOCKET_MAILBOX,
};
pub use chat::{ChatSocket, MessageRates, SocketLimits, MAX_IN_FLIGHT};
pub use echo::EchoSocket;
pub use fragments::FRAGMENT_BYTES;
pub use inbox::{InboxSocket, LIST_BURST, LIST_RATE};
pub use revoke::CLOSE_REVOKED;

/// Close code: the conversation was erased (by an admin, the customer or
/// retention); reconnecting starts an empty one.
pub const CLOSE_ERASED: u16 = 4004;
