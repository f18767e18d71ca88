//! Every message the conversation actors take or send, each a small
//! documented struct: what sockets and the API ask of a `SessionActor`, what
//! the `Registry` answers, and what sessions tell others.

use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

use super::link::SocketLink;
use crate::domain::{
    AgentId, AttachmentId, Author, ChatMessage, ClientId, Contact, ContactUpdate,
    ConversationStatus, Participant, Role,
};
use crate::error::AppError;
use crate::store::{Who, WriteOp};

// ---- to a SessionActor ----

/// Attach a socket of `who`: the customer's, or one of the agents'. It first
/// gets `welcome` and the `history` after `since`; the same person's older
/// socket, if any, is replaced (4001).
#[derive(Message)]
#[rtype(result = "Result<(), AttachError>")]
pub struct Attach {
    pub who: Participant,
    pub since: u64,
    pub socket: SocketLink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachError {
    /// This session is being evicted; look it up again in the Registry.
    Gone,
}

/// The socket `socket_id` of `role` went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub role: Role,
    pub socket_id: u64,
}

/// A new message from `role`. The stored message (its acknowledgement) or
/// the refusal reaches the poster: see [`Poster`].
#[derive(Message)]
#[rtype(result = "()")]
pub struct Post {
    pub role: Role,
    /// The agent who wrote it; `None` from the customer.
    pub author: Option<Author>,
    pub text: String,
    pub id: Option<String>,
    /// An agent's private note: stored and sent to agents only (refused
    /// from the customer).
    pub private: bool,
    /// Uploads of this side the message sends.
    pub attachments: Vec<AttachmentId>,
    pub poster: Poster,
}

/// Who posted, and so where the outcome goes.
pub enum Poster {
    /// A socket (by its link id): the outcome is a frame to it. The permit
    /// counts against the socket's messages in flight and is released once
    /// the message is stored or refused.
    Socket {
        socket_id: u64,
        permit: OwnedSemaphorePermit,
    },
    /// A poster without a socket (the REST API), waiting on this channel.
    Api(Ack),
    /// The session itself, recording an event: nobody waits.
    Server,
}

/// Where a poster without a socket learns the outcome.
pub type Ack = oneshot::Sender<Result<ChatMessage, AppError>>;

/// A socket's bound on its messages in flight: a permit per message.
#[derive(Clone)]
pub struct InFlight(Arc<Semaphore>);

impl InFlight {
    pub fn new(max: usize) -> Self {
        InFlight(Arc::new(Semaphore::new(max)))
    }

    /// A permit if one is free now.
    pub fn try_permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.0).try_acquire_owned().ok()
    }

    /// Resolves once `count` permits are free (taking none of them), so a
    /// socket that ran out waits for a batch rather than for each message.
    pub async fn wait_for(&self, count: u32) {
        // The semaphore is never closed, so this only waits.
        let _free = self.0.acquire_many(count).await;
    }
}

/// `role` started or stopped typing on socket `socket_id`; relayed to
/// everyone else in the conversation (with the agent's name), not stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    pub role: Role,
    pub author: Option<Author>,
    pub socket_id: u64,
    pub active: bool,
}

/// `role` has seen the conversation up to `seq`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MarkRead {
    pub role: Role,
    pub seq: u64,
}

/// Resolve or reopen the conversation (agents only).
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct SetStatus {
    pub role: Role,
    /// The agent who does it, named in the event it records.
    pub by: Option<Author>,
    pub status: ConversationStatus,
    /// Who asks, for the audit log.
    pub who: Who,
}

/// Change the customer's contact details (the customer's own forms, or an
/// agent's correction); answers with the details as they now are.
#[derive(Message)]
#[rtype(result = "Result<Contact, AppError>")]
pub struct SetContact(pub ContactUpdate);

/// Give the conversation to agent `to`, or back to the queue (`None`),
/// recording the event (and `note`, a private note, with a transfer). The
/// answer is the assignee now.
#[derive(Message)]
#[rtype(result = "Result<Option<Author>, AppError>")]
pub struct Assign {
    /// The agent who does it; `None`: automatic assignment.
    pub by: Option<Author>,
    pub to: Option<AgentId>,
    pub note: Option<String>,
    /// Only if the assignee is this now (`Some(None)`: nobody). Automatic
    /// assignment never takes a conversation from someone who just took it.
    pub only_if: Option<Option<AgentId>>,
    /// Who asks, for the audit log ("server" for automatic assignment).
    pub who: Who,
}

/// A `history` frame of up to `limit` items older than `before`.
#[derive(Message)]
#[rtype(result = "Result<ByteString, AppError>")]
pub struct HistoryBefore {
    /// Whose page it is: the customer's holds only what they see.
    pub role: Role,
    pub before: u64,
    pub limit: usize,
}

/// The conversation's last stored seq; 0 means nothing was ever said.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct LastSeq;

/// The server is stopping: close every socket with 1001.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// The conversation is being erased or anonymised: close every socket
/// (4004) and stop, writing nothing more. With `if_idle`, only if nobody
/// is connected; the answer says whether it closed.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Close {
    pub if_idle: bool,
}

/// Whether any agent has the console (the live inbox) open. Customers see
/// an agent online while one is, even before anyone opens their chat. Sent
/// by the inbox to the Registry, which passes it on to every session.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ConsolesOnline(pub bool);

// ---- from a SessionActor ----

/// Told to the Registry when a session stops, so it is looked up no more.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionEnded {
    pub client: ClientId,
    /// The number the Registry started the session under (see
    /// `SessionLinks::number`), so a late notice cannot remove a successor.
    pub number: u64,
}

/// A side of a conversation came or went; the agents' inbox listens.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PresenceChanged {
    pub client: ClientId,
    pub role: Role,
    pub online: bool,
}

/// A conversation's assignee changed; the inbox alerts the new one.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AssigneeChanged {
    pub client: ClientId,
    pub from: Option<AgentId>,
    pub to: Option<Author>,
    pub by: Option<Author>,
    /// The private note that came with a transfer.
    pub note: Option<String>,
}

/// A conversation may have joined the queue (a customer wrote while nobody
/// has it) or freed its agent (resolved): whoever routes looks again.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct QueueChanged {
    pub client: ClientId,
}

// ---- to the Registry ----

/// How many sessions are in memory.
#[derive(Message)]
#[rtype(result = "RegistryStats")]
pub struct GetStats;

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct RegistryStats {
    pub sessions: usize,
}

/// Whether an agent has the console open now: what "online" means for the
/// widget's offline mode.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct AgentsOnline;
/// Erase (`WriteOp::Erase`) or anonymise (`WriteOp::Anonymise`) a
/// conversation: its live session is closed first, and until the store has
/// done it the conversation cannot be joined. `if_idle` (retention) leaves
/// a conversation alone while anyone is connected to it.
#[derive(Message)]
#[rtype(result = "Result<Removed, AppError>")]
pub struct Remove {
    pub client: ClientId,
    pub op: WriteOp,
    pub if_idle: bool,
}

/// What [`Remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Done,
    /// Left alone: someone is connected (only with `if_idle`).
    InUse,
}

/// Stop handing out sessions and close every socket with 1001.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ShutdownAll;
