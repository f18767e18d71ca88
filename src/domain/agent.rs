//! Agents: the named people (and the built-in API agent) who answer
//! customers. Who a request or socket acts as is an [`Agent`]; what a
//! message keeps of its writer is an [`Author`].

use serde::{Deserialize, Serialize};

use super::Role;

/// An agent's database id. The built-in API agent, which the service token
/// (`--agent-token`) acts as, is [`AgentId::SERVICE`] (the default) and has
/// no row.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct AgentId(pub i64);

impl AgentId {
    /// The built-in API agent of the service token.
    pub const SERVICE: AgentId = AgentId(0);
}

/// What an agent may do: admins also manage the team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentRole {
    Admin,
    Agent,
}

impl AgentRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentRole::Admin => "admin",
            AgentRole::Agent => "agent",
        }
    }

    pub fn parse(raw: &str) -> Option<AgentRole> {
        match raw {
            "admin" => Some(AgentRole::Admin),
            "agent" => Some(AgentRole::Agent),
            _ => None,
        }
    }
}

/// Who an authenticated request or socket acts as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    pub id: AgentId,
    pub name: String,
    pub role: AgentRole,
}

/// Display name of the built-in API agent.
pub const SERVICE_AGENT_NAME: &str = "API";

impl Agent {
    /// The built-in agent the service token acts as: full agent rights.
    pub fn service() -> Agent {
        Agent {
            id: AgentId::SERVICE,
            name: SERVICE_AGENT_NAME.to_owned(),
            role: AgentRole::Agent,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == AgentRole::Admin
    }

    /// What a message written by this agent records of them.
    pub fn author(&self) -> Author {
        Author {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

/// Who wrote an agent's message, as the message keeps it: the name is the
/// one the agent had when writing, like the signature of a letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub id: AgentId,
    pub name: String,
}

/// Who is behind a socket or a request in a conversation: its customer, or
/// a named agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Participant {
    Customer,
    Agent(Agent),
}

impl Participant {
    pub fn role(&self) -> Role {
        match self {
            Participant::Customer => Role::Customer,
            Participant::Agent(_) => Role::Agent,
        }
    }

    /// What a message from this participant records of its writer.
    pub fn author(&self) -> Option<Author> {
        match self {
            Participant::Customer => None,
            Participant::Agent(agent) => Some(agent.author()),
        }
    }
}
