//! Events: changes of a conversation's assignee or status, kept in its
//! history as items with their own seq, like messages. Each kind decides
//! whether the customer sees it (PROTOCOL.md, "Events").

use serde::{Deserialize, Serialize};

use super::Author;

/// One change recorded in a conversation's history. `by` is the agent who
/// made it; `None` when the server did (automatic assignment, the queue,
/// a customer's message reopening the conversation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Nobody had it; now `to` has. The customer sees "`to` joined".
    Assigned { by: Option<Author>, to: Author },
    /// Handed from one agent to another: agents only.
    Transferred {
        by: Option<Author>,
        from: Author,
        to: Author,
    },
    /// Back to nobody (the queue): agents only.
    Unassigned { by: Option<Author>, from: Author },
    /// Agents only; the customer gets the `status` frame.
    Resolved { by: Option<Author> },
    /// Agents only; the customer gets the `status` frame.
    Reopened { by: Option<Author> },
}

impl Event {
    /// Whether the customer's side shows this event at all.
    pub fn customer_sees(&self) -> bool {
        matches!(self, Event::Assigned { .. })
    }

    /// The line agents read (English; pages render their own language
    /// from the event's fields).
    pub fn agent_text(&self) -> String {
        let who = |by: &Option<Author>| by.as_ref().map(|a| a.name.clone());
        match self {
            Event::Assigned { by, to } => match who(by) {
                Some(by) if by == to.name => format!("{by} took this conversation"),
                Some(by) => format!("{by} assigned this to {}", to.name),
                None => format!("Assigned to {} automatically", to.name),
            },
            Event::Transferred { by, from, to } => match who(by) {
                Some(by) if by == from.name => format!("{by} transferred this to {}", to.name),
                Some(by) => format!("{by} transferred this from {} to {}", from.name, to.name),
                None => format!("Moved from {} to {} automatically", from.name, to.name),
            },
            Event::Unassigned { by, from } => match who(by) {
                Some(by) => format!("{by} unassigned {}", from.name),
                None => format!("{} went offline; back in the queue", from.name),
            },
            Event::Resolved { by } => match who(by) {
                Some(by) => format!("Resolved by {by}"),
                None => "Resolved".to_owned(),
            },
            Event::Reopened { by } => match who(by) {
                Some(by) => format!("Reopened by {by}"),
                None => "Reopened: the customer wrote again".to_owned(),
            },
        }
    }

    /// What the customer is told of an event they see: the agent who
    /// joined, never who assigned them.
    pub fn customer_view(&self) -> Option<(String, CustomerEvent<'_>)> {
        match self {
            Event::Assigned { to, .. } => Some((
                format!("{} joined the conversation", to.name),
                CustomerEvent::Joined { agent: to },
            )),
            _ => None,
        }
    }
}

/// The customer's projection of an event they see.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CustomerEvent<'a> {
    Joined { agent: &'a Author },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentId;

    fn agent(id: i64, name: &str) -> Author {
        Author {
            id: AgentId(id),
            name: name.into(),
        }
    }

    #[test]
    fn only_a_first_assignment_reaches_the_customer_and_without_who_made_it() {
        let ana = agent(1, "Ana");
        let ben = agent(2, "Ben");
        let assigned = Event::Assigned {
            by: Some(ana.clone()),
            to: ben.clone(),
        };
        assert_eq!(assigned.agent_text(), "Ana assigned this to Ben");
        let (text, view) = assigned.customer_view().unwrap();
        assert_eq!(text, "Ben joined the conversation");
        let json = serde_json::to_value(view).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind":"joined","agent":{"id":2,"name":"Ben"}})
        );
        let internal = [
            Event::Transferred {
                by: Some(ana.clone()),
                from: ana.clone(),
                to: ben.clone(),
            },
            Event::Unassigned {
                by: None,
                from: ben,
            },
            Event::Resolved { by: Some(ana) },
            Event::Reopened { by: None },
        ];
        for event in internal {
            assert!(!event.customer_sees(), "{event:?}");
            assert!(event.customer_view().is_none());
        }
    }

    #[test]
    fn events_round_trip_through_their_stored_json() {
        let event = Event::Transferred {
            by: None,
            from: agent(1, "Ana"),
            to: agent(2, "Ben"),
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), event);
    }
}
