//! Routing: who is available, and automatic assignment. The [`Router`]
//! learns from the agents' consoles (inbox sockets) who is `online`, `away`
//! or `offline`, tells colleagues (through the inbox) and customers ("an
//! agent is online" means at least one is `online`), and gives waiting,
//! unassigned conversations to online agents below their capacity, by
//! round robin or to the least busy, oldest wait first. An agent who goes
//! offline keeps their conversations for a grace time; then they go back
//! to the queue.

mod availability;
mod messages;
mod router;
mod strategy;

pub use messages::{
    Active, ConsoleClosed, ConsoleOpened, Drain, ElsewhereRoster, Leader, LocalRoster, SetAway,
};
pub use router::{Router, RouterSettings};
pub use strategy::Strategy;
