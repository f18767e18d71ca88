//! Whether an agent can take conversations now, as colleagues see it.

use serde::{Deserialize, Serialize};

use super::AgentId;

/// `offline` without an open console, `away` by hand or after a time
/// without activity, else `online`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    Online,
    Away,
    Offline,
}

/// One agent on the consoles' roster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub id: AgentId,
    pub name: String,
    pub status: Availability,
}
