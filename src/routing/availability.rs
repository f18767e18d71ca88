//! An agent's availability from their consoles: `offline` without one,
//! `away` by hand or after a time without activity, else `online`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::domain::{AgentId, Availability, RosterEntry};

/// What the router knows of one agent.
#[derive(Debug)]
pub(super) struct Presence {
    pub name: String,
    /// Their open consoles (inbox sockets), by link id.
    sockets: HashSet<u64>,
    /// Set away by hand (kept across consoles and reconnects).
    chose_away: bool,
    /// No activity in any console for the idle time.
    idle: bool,
    last_active: Instant,
    /// When the last console closed, while offline.
    pub offline_since: Option<Instant>,
}

impl Presence {
    pub fn new(name: String, now: Instant) -> Presence {
        Presence {
            name,
            sockets: HashSet::new(),
            chose_away: false,
            idle: false,
            last_active: now,
            offline_since: Some(now),
        }
    }

    pub fn availability(&self) -> Availability {
        if self.sockets.is_empty() {
            Availability::Offline
        } else if self.chose_away || self.idle {
            Availability::Away
        } else {
            Availability::Online
        }
    }

    pub fn open(&mut self, socket: u64, now: Instant) {
        self.sockets.insert(socket);
        self.offline_since = None;
        self.active(now);
    }

    pub fn close(&mut self, socket: u64, now: Instant) {
        if self.sockets.remove(&socket) && self.sockets.is_empty() {
            self.offline_since = Some(now);
        }
    }

    pub fn active(&mut self, now: Instant) {
        self.last_active = now;
        self.idle = false;
    }

    pub fn choose_away(&mut self, away: bool, now: Instant) {
        self.chose_away = away;
        self.active(now);
    }

    /// Marks the agent idle once `after` has passed without activity.
    pub fn check_idle(&mut self, after: Duration, now: Instant) {
        if !self.sockets.is_empty() && now.duration_since(self.last_active) >= after {
            self.idle = true;
        }
    }

    pub fn entry(&self, id: AgentId) -> RosterEntry {
        RosterEntry {
            id,
            name: self.name.clone(),
            status: self.availability(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consoles_idle_time_and_the_agents_choice_make_the_status() {
        let start = Instant::now();
        let mut ana = Presence::new("Ana".into(), start);
        assert_eq!(ana.availability(), Availability::Offline);
        ana.open(1, start);
        ana.open(2, start);
        assert_eq!(ana.availability(), Availability::Online);
        ana.close(1, start);
        assert_eq!(ana.availability(), Availability::Online, "one console left");

        let later = start + Duration::from_secs(60);
        ana.check_idle(Duration::from_secs(30), later);
        assert_eq!(ana.availability(), Availability::Away, "idle");
        ana.active(later);
        assert_eq!(ana.availability(), Availability::Online);

        ana.choose_away(true, later);
        assert_eq!(ana.availability(), Availability::Away);
        ana.active(later);
        assert_eq!(
            ana.availability(),
            Availability::Away,
            "activity keeps a chosen away"
        );
        ana.choose_away(false, later);

        ana.close(2, later);
        assert_eq!(ana.availability(), Availability::Offline);
        assert_eq!(ana.offline_since, Some(later));
    }
}
