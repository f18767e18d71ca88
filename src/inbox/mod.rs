//! The agents' live conversation list: the `Inbox` actor and its messages.

mod actor;
mod messages;

pub use actor::Inbox;
pub use messages::{CloseAll, List, Roster, Subscribe, Unsubscribe};
