//! The sockets attached to one conversation: at most one for the customer,
//! and one per connected agent (a colleague helping, a supervisor watching).
//! A newer tab replaces only the same person's older one.

use super::link::{SocketLink, ToSocket};
use crate::domain::{AgentId, Participant, Role};

/// One agent's socket in a conversation.
struct AgentSocket {
    agent: AgentId,
    link: SocketLink,
}

#[derive(Default)]
pub(super) struct Sockets {
    customer: Option<SocketLink>,
    agents: Vec<AgentSocket>,
}

impl Sockets {
    /// Attaches `link` for `who`; returns the same person's socket it
    /// replaces, if any.
    pub(super) fn attach(&mut self, who: &Participant, link: SocketLink) -> Option<SocketLink> {
        match who {
            Participant::Customer => self.customer.replace(link),
            Participant::Agent(agent) => {
                match self.agents.iter_mut().find(|s| s.agent == agent.id) {
                    Some(slot) => Some(std::mem::replace(&mut slot.link, link)),
                    None => {
                        self.agents.push(AgentSocket {
                            agent: agent.id,
                            link,
                        });
                        None
                    }
                }
            }
        }
    }

    /// Removes the socket `socket_id` of `role`; whether it was attached.
    pub(super) fn detach(&mut self, role: Role, socket_id: u64) -> bool {
        match role {
            Role::Customer => {
                let attached = self.customer.as_ref().map(|l| l.id) == Some(socket_id);
                if attached {
                    self.customer = None;
                }
                attached
            }
            Role::Agent => {
                let before = self.agents.len();
                self.agents.retain(|s| s.link.id != socket_id);
                self.agents.len() != before
            }
        }
    }

    /// Whether `role` has at least one socket here.
    pub(super) fn any(&self, role: Role) -> bool {
        match role {
            Role::Customer => self.customer.is_some(),
            Role::Agent => !self.agents.is_empty(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        !self.any(Role::Customer) && !self.any(Role::Agent)
    }

    #[cfg(test)]
    pub(super) fn is_attached(&self, role: Role, socket_id: u64) -> bool {
        self.of(role).any(|l| l.id == socket_id)
    }

    /// Offers `item` to every socket of `role` but `except`; detaches and
    /// returns those that did not take it (gone, or stalled: not reading).
    pub(super) fn offer(
        &mut self,
        role: Role,
        item: &ToSocket,
        except: Option<u64>,
    ) -> Vec<SocketLink> {
        let refused: Vec<SocketLink> = self
            .of(role)
            .filter(|link| Some(link.id) != except && !link.offer(item.clone()))
            .cloned()
            .collect();
        for link in &refused {
            self.detach(role, link.id);
        }
        refused
    }

    /// Offers `item` to the one socket `socket_id` of `role`, if attached;
    /// detaches and returns it if it did not take it.
    pub(super) fn offer_to(
        &mut self,
        role: Role,
        socket_id: u64,
        item: ToSocket,
    ) -> Option<SocketLink> {
        // Offered through the attached link itself: a clone of its recipient
        // would be another sender, with a mailbox slot of its own.
        let link = self.of(role).find(|l| l.id == socket_id)?;
        if link.offer(item) {
            return None;
        }
        let refused = link.clone();
        self.detach(role, socket_id);
        Some(refused)
    }

    /// Detaches every socket, for the server's shutdown.
    pub(super) fn take_all(&mut self) -> Vec<SocketLink> {
        let agents = self.agents.drain(..).map(|s| s.link);
        self.customer.take().into_iter().chain(agents).collect()
    }

    /// The sockets of `role`; runs on every delivery, so it allocates nothing.
    fn of(&self, role: Role) -> impl Iterator<Item = &SocketLink> + '_ {
        let customer = self.customer.iter().filter(move |_| role == Role::Customer);
        let agents = self.agents.iter().map(|s| &s.link);
        customer.chain(agents.filter(move |_| role == Role::Agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Agent;

    fn link() -> SocketLink {
        struct Sink;
        impl actix::Actor for Sink {
            type Context = actix::Context<Self>;
        }
        impl actix::Handler<ToSocket> for Sink {
            type Result = ();
            fn handle(&mut self, _: ToSocket, _: &mut Self::Context) {}
        }
        let addr = actix::Actor::create(|_| Sink);
        SocketLink::new(addr.recipient())
    }

    fn agent(id: i64) -> Participant {
        Participant::Agent(Agent {
            id: AgentId(id),
            name: format!("agent {id}"),
            role: crate::domain::AgentRole::Agent,
        })
    }

    #[actix::test]
    async fn a_newer_tab_replaces_only_the_same_agents_older_tab() {
        let mut sockets = Sockets::default();
        let (ana_1, ana_2, ben) = (link(), link(), link());
        let ana_1_id = ana_1.id;
        assert!(sockets.attach(&agent(1), ana_1).is_none());
        assert!(sockets.attach(&agent(2), ben.clone()).is_none());
        let replaced = sockets.attach(&agent(1), ana_2.clone());
        assert_eq!(replaced.map(|l| l.id), Some(ana_1_id));
        assert!(sockets.is_attached(Role::Agent, ana_2.id));
        assert!(sockets.is_attached(Role::Agent, ben.id));
        assert!(!sockets.is_attached(Role::Agent, ana_1_id));
        assert!(!sockets.any(Role::Customer));
    }

    #[actix::test]
    async fn agents_stay_online_until_the_last_one_leaves() {
        let mut sockets = Sockets::default();
        let (ana, ben) = (link(), link());
        sockets.attach(&agent(1), ana.clone());
        sockets.attach(&agent(2), ben.clone());
        assert!(!sockets.detach(Role::Agent, 999), "an unknown socket");
        assert!(sockets.detach(Role::Agent, ana.id));
        assert!(sockets.any(Role::Agent));
        assert!(sockets.detach(Role::Agent, ben.id));
        assert!(sockets.is_empty());
    }
}
