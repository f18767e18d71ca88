//! The messages the `Inbox` takes from inbox sockets and the application.

use actix::prelude::*;

use crate::conversation::SocketLink;
use crate::domain::{AgentId, RosterEntry, Totals, ViewCounts};
use crate::error::AppError;
use crate::store::{ListPage, ListQuery};

/// Start pushing changes to this socket of `agent` (alerts for them, and
/// the counts of their views).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub socket: SocketLink,
    pub agent: AgentId,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub socket_id: u64,
}

/// A page of the conversation list with the totals and view counts. From
/// an inbox socket (`socket_id`), its status filter is the one whose view
/// counts it is pushed from then on.
#[derive(Message)]
#[rtype(result = "Result<ListAnswer, AppError>")]
pub struct List {
    pub query: ListQuery,
    pub socket_id: Option<u64>,
}

/// What a list request gets.
#[derive(Debug, Clone)]
pub struct ListAnswer {
    pub page: ListPage,
    pub totals: Totals,
    /// Under the query's status filter, for the agent who asked.
    pub views: ViewCounts,
}

/// The agents and their availability, for every console (kept for
/// consoles that open later).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Roster(pub Vec<RosterEntry>);

/// Close every inbox socket (server shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAll;
