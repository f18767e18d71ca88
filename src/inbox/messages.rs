//! The messages the `Inbox` takes from inbox sockets and the application.

use actix::prelude::*;

use crate::conversation::SocketLink;
use crate::domain::Totals;
use crate::error::AppError;
use crate::store::{ListPage, ListQuery};

/// Start pushing changes to this socket.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub socket: SocketLink,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub socket_id: u64,
}

/// A page of the conversation list with the totals.
#[derive(Message)]
#[rtype(result = "Result<(ListPage, Totals), AppError>")]
pub struct List(pub ListQuery);

/// Close every inbox socket (server shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseAll;
