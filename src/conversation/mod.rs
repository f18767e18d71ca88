//! The conversation core: one `SessionActor` per client id, the `Registry`
//! that starts and finds them, the messages they take, the in-memory window
//! of recent messages, and `SocketLink`, the port through which a session
//! reaches a socket without waiting on it.

mod actor;
mod link;
mod messages;
mod registry;
mod remote;
mod sockets;
mod window;

pub use actor::{SessionActor, SessionLinks, SessionSettings};
pub use link::{SocketLink, ToSocket, MAX_BACKLOG_BYTES};
pub use messages::*;
pub use registry::{join, lookup, Lookup, Registry};
pub use remote::{ClusterNotice, Incoming, Outgoing};
pub use window::{Window, RECENT_WINDOW};
