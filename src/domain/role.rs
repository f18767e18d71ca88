//! The two sides of every conversation, and `PerRole`, a value for each.

use std::fmt;
use std::ops::{Index, IndexMut};

use serde::{Deserialize, Serialize};

/// The two sides of every conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Agent,
}

impl Role {
    pub fn peer(self) -> Role {
        match self {
            Role::Customer => Role::Agent,
            Role::Agent => Role::Customer,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
        }
    }

    /// Compact form used by the store.
    pub fn code(self) -> i64 {
        match self {
            Role::Customer => 0,
            Role::Agent => 1,
        }
    }

    pub fn from_code(code: i64) -> Option<Role> {
        match code {
            0 => Some(Role::Customer),
            1 => Some(Role::Agent),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `T` for each side of a conversation, indexed by `Role`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerRole<T> {
    pub customer: T,
    pub agent: T,
}

impl<T> PerRole<T> {
    pub fn new(customer: T, agent: T) -> Self {
        PerRole { customer, agent }
    }
}

impl<T> Index<Role> for PerRole<T> {
    type Output = T;

    fn index(&self, role: Role) -> &T {
        match role {
            Role::Customer => &self.customer,
            Role::Agent => &self.agent,
        }
    }
}

impl<T> IndexMut<Role> for PerRole<T> {
    fn index_mut(&mut self, role: Role) -> &mut T {
        match role {
            Role::Customer => &mut self.customer,
            Role::Agent => &mut self.agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_role_values_are_indexed_by_role() {
        let mut seen = PerRole::new(1, 2);
        seen[Role::Agent] += 10;
        assert_eq!((seen[Role::Customer], seen[Role::Agent]), (1, 12));
        assert_eq!(Role::Customer.peer(), Role::Agent);
        assert_eq!(Role::from_code(Role::Agent.code()), Some(Role::Agent));
    }
}
