//! What the sessions of one conversation on different nodes tell each other
//! through the cluster layer (`cluster`). The store stays the record: a
//! committed message travels only as a doorbell (`Committed`), and each node
//! reads what it is missing from the store, in seq order. The rest is what
//! the store does not hold, or holds without telling anyone (read marks,
//! typing, presence, a changed contact).

use actix::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::{Author, ClientId, Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterNotice {
    /// The conversation's messages up to `seq` are committed.
    Committed { seq: u64 },
    /// `role` has read up to `seq`.
    Read { role: Role, seq: u64 },
    Typing {
        role: Role,
        active: bool,
        author: Option<Author>,
    },
    /// Whether `role` has a socket on the node that says so; coming in, whether
    /// it has one on any other node.
    Presence { role: Role, online: bool },
    /// The customer's contact details changed (read them from the store).
    Contact,
    /// The conversation was erased or anonymised: its sessions close (4004).
    Removed,
}

/// A notice from a local session, for the sessions of the same conversation
/// on the other nodes.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Outgoing {
    pub client: ClientId,
    pub notice: ClusterNotice,
}

/// A notice from another node, for the local session of `client` (the
/// Registry passes it on if there is one).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Incoming {
    pub client: ClientId,
    pub notice: ClusterNotice,
}
