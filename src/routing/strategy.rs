//! Which free agent gets the next conversation of the queue.

use crate::domain::AgentId;

/// How waiting conversations are given to agents (`--auto-assign`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// Nobody is given anything automatically.
    Off,
    /// In turn, skipping agents at capacity.
    #[default]
    RoundRobin,
    /// To the agent with the fewest open conversations.
    LeastBusy,
}

impl std::str::FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "off" => Ok(Strategy::Off),
            "round-robin" => Ok(Strategy::RoundRobin),
            "least-busy" => Ok(Strategy::LeastBusy),
            _ => Err(format!(
                "unknown strategy {s:?}: use off, round-robin or least-busy"
            )),
        }
    }
}

/// An online agent who may be given conversations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub agent: AgentId,
    /// Open conversations they have now.
    pub load: u32,
    pub capacity: u32,
}

impl Candidate {
    fn free(&self) -> bool {
        self.load < self.capacity
    }
}

/// The agent for the next conversation, among `candidates` (sorted by id),
/// if one is below capacity. `last` is who was given one last (round robin
/// goes on after them).
pub fn pick(
    strategy: Strategy,
    candidates: &[Candidate],
    last: Option<AgentId>,
) -> Option<AgentId> {
    let free = candidates.iter().filter(|c| c.free());
    match strategy {
        Strategy::Off => None,
        Strategy::RoundRobin => {
            let after = |c: &&Candidate| last.is_none_or(|last| c.agent > last);
            free.clone()
                .find(after)
                .or_else(|| free.clone().next())
                .map(|c| c.agent)
        }
        Strategy::LeastBusy => free.min_by_key(|c| (c.load, c.agent)).map(|c| c.agent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(agent: i64, load: u32, capacity: u32) -> Candidate {
        Candidate {
            agent: AgentId(agent),
            load,
            capacity,
        }
    }

    #[test]
    fn round_robin_takes_turns_and_skips_agents_at_capacity() {
        let team = [c(1, 0, 10), c(2, 10, 10), c(3, 4, 10)];
        let rr = |last| pick(Strategy::RoundRobin, &team, last);
        assert_eq!(rr(None), Some(AgentId(1)));
        assert_eq!(rr(Some(AgentId(1))), Some(AgentId(3)), "2 is full");
        assert_eq!(rr(Some(AgentId(3))), Some(AgentId(1)), "round again");
    }

    #[test]
    fn least_busy_takes_the_fewest_open_conversations() {
        let team = [c(1, 5, 10), c(2, 2, 10), c(3, 2, 2)];
        assert_eq!(pick(Strategy::LeastBusy, &team, None), Some(AgentId(2)));
    }

    #[test]
    fn nobody_is_picked_when_everyone_is_full_or_routing_is_off() {
        let team = [c(1, 3, 3), c(2, 0, 0)];
        assert_eq!(pick(Strategy::RoundRobin, &team, None), None);
        assert_eq!(pick(Strategy::LeastBusy, &team, None), None);
        assert_eq!(pick(Strategy::Off, &[c(1, 0, 5)], None), None);
        assert_eq!("least-busy".parse(), Ok(Strategy::LeastBusy));
        assert!("fastest".parse::<Strategy>().is_err());
    }
}
