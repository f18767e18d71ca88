//! What the `Router` takes from consoles, the API and the application.

use actix::prelude::*;

use crate::domain::{AgentId, Author, RosterEntry};

/// An agent's console (inbox socket `socket`) opened.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConsoleOpened {
    pub agent: Author,
    pub socket: u64,
}

/// That console closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ConsoleClosed {
    pub agent: AgentId,
    pub socket: u64,
}

/// The agent set themselves away (or back online) by hand.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetAway {
    pub agent: AgentId,
    pub away: bool,
}

/// Activity in one of the agent's consoles (ends an idle away).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Active {
    pub agent: AgentId,
}

/// Something freed an agent or filled the queue (a capacity was raised):
/// give out what waits.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// With several nodes: this node's own roster, for the others (to the
/// cluster, on every change).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct LocalRoster(pub Vec<RosterEntry>);

/// With several nodes: the agents whose consoles are on the other live
/// nodes (from the cluster, on every change).
#[derive(Message, Debug, Clone, PartialEq, Eq)]
#[rtype(result = "()")]
pub struct ElsewhereRoster(pub Vec<RosterEntry>);

/// With several nodes: whether this node's router is the one that gives
/// out the queue and requeues absent agents' conversations (the live node
/// with the lowest id), so two routers do not give one conversation twice.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Leader(pub bool);
