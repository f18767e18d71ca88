//! The `Router` actor: availability from the consoles, the roster for the
//! inbox, "an agent is online" for customers, automatic assignment from the
//! queue and the offline grace time.

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::availability::Presence;
use super::messages::{
    Active, ConsoleClosed, ConsoleOpened, Drain, ElsewhereRoster, Leader, LocalRoster, SetAway,
};
use super::strategy::{pick, Candidate, Strategy};
use crate::accounts::capacities;
use crate::conversation::{
    lookup, Assign, AssigneeChanged, ConsolesOnline, QueueChanged, Registry,
};
use crate::domain::{AgentId, Availability, ConversationStatus, RosterEntry};
use crate::inbox::{Inbox, Roster};
use crate::store::{Store, Who};

/// Most conversations one drain hands out; the next drain goes on.
const MAX_BATCH: usize = 100;

/// How the router behaves (`--auto-assign`, `--away-after`,
/// `--offline-grace`).
#[derive(Debug, Clone, Copy)]
pub struct RouterSettings {
    pub strategy: Strategy,
    /// A console without activity this long makes its agent `away`.
    pub away_after: Duration,
    /// An agent offline this long loses their open conversations to the
    /// queue.
    pub offline_grace: Duration,
}

pub struct Router {
    store: Store,
    registry: Addr<Registry>,
    inbox: Addr<Inbox>,
    settings: RouterSettings,
    agents: HashMap<AgentId, Presence>,
    /// What customers were last told: whether an agent is online.
    any_online: bool,
    /// Who was given a conversation last (round robin goes on after them).
    last_given: Option<AgentId>,
    draining: bool,
    /// A reason to drain came during a drain: drain again after it.
    drain_again: bool,
    /// Who automatic assignment could give to at the last change, and how
    /// often that changed: a drain gives nothing more once it moved (see
    /// `give_out`).
    online: Vec<AgentId>,
    online_changes: Rc<Cell<u64>>,
    /// With several nodes: told this node's roster …
    cluster: Option<Recipient<LocalRoster>>,
    /// … what was last told …
    published: Vec<RosterEntry>,
    /// … the agents on the other nodes' consoles …
    elsewhere: Vec<RosterEntry>,
    /// … and whether this router gives out the queue (always, on one node).
    leader: bool,
}

impl Router {
    pub fn new(
        store: Store,
        registry: Addr<Registry>,
        inbox: Addr<Inbox>,
        settings: RouterSettings,
    ) -> Router {
        Router {
            store,
            registry,
            inbox,
            settings,
            agents: HashMap::new(),
            any_online: false,
            last_given: None,
            draining: false,
            drain_again: false,
            online: Vec::new(),
            online_changes: Rc::default(),
            cluster: None,
            published: Vec::new(),
            elsewhere: Vec::new(),
            leader: true,
        }
    }

    /// This node is one of several: availability is shared through
    /// `cluster`, and this router gives out the queue only while the
    /// cluster says it leads.
    pub fn with_cluster(mut self, cluster: Recipient<LocalRoster>) -> Self {
        self.cluster = Some(cluster);
        self.leader = false;
        self
    }

    /// Every agent with a console here or on another node, each at their
    /// best availability anywhere.
    fn roster(&self) -> Vec<RosterEntry> {
        let mut all: HashMap<AgentId, RosterEntry> = HashMap::new();
        let local = self.agents.iter().map(|(id, p)| p.entry(*id));
        for entry in local.chain(self.elsewhere.iter().cloned()) {
            match all.get(&entry.id) {
                Some(known) if rank(known.status) <= rank(entry.status) => {}
                _ => {
                    all.insert(entry.id, entry);
                }
            }
        }
        let mut roster: Vec<RosterEntry> = all.into_values().collect();
        roster.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        roster
    }

    /// Whether `agent` has a console open on another node.
    fn elsewhere(&self, agent: AgentId) -> bool {
        self.elsewhere
            .iter()
            .any(|e| e.id == agent && e.status != Availability::Offline)
    }

    /// After any change of availability: the roster to the consoles,
    /// "agent online" to customers, and the queue to whoever is free now.
    fn changed(&mut self, ctx: &mut Context<Self>) {
        let online = self.online();
        if online != self.online {
            self.online = online;
            self.online_changes.set(self.online_changes.get() + 1);
        }
        if let Some(cluster) = &self.cluster {
            let mut local: Vec<_> = self.agents.iter().map(|(id, p)| p.entry(*id)).collect();
            local.sort_by_key(|e| e.id);
            if local != self.published {
                self.published = local.clone();
                cluster.do_send(LocalRoster(local));
            }
        }
        let roster = self.roster();
        let any_online = roster.iter().any(|e| e.status == Availability::Online);
        self.inbox.do_send(Roster(roster));
        if any_online != self.any_online {
            self.any_online = any_online;
            self.registry.do_send(ConsolesOnline(any_online));
        }
        self.drain(ctx);
    }

    /// The agents automatic assignment may give conversations to now, by id.
    fn online(&self) -> Vec<AgentId> {
        let mut online: Vec<AgentId> = self
            .roster()
            .into_iter()
            .filter(|e| e.id != AgentId::SERVICE && e.status == Availability::Online)
            .map(|e| e.id)
            .collect();
        online.sort();
        online
    }

    fn availability(&self, agent: AgentId) -> Availability {
        self.agents
            .get(&agent)
            .map_or(Availability::Offline, Presence::availability)
    }

    /// Gives waiting conversations, oldest first, to online agents below
    /// their capacity. One drain at a time; it reads the store's truth.
    fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.settings.strategy == Strategy::Off || !self.leader {
            return;
        }
        if self.draining {
            self.drain_again = true;
            return;
        }
        let online = self.online();
        if online.is_empty() {
            return;
        }
        self.draining = true;
        let job = give_out(
            self.store.clone(),
            self.registry.clone(),
            self.settings.strategy,
            OnlineAtStart {
                agents: online,
                changes: Rc::clone(&self.online_changes),
                seen: self.online_changes.get(),
            },
            self.last_given,
        );
        ctx.spawn(job.into_actor(self).map(|result, act, ctx| {
            act.draining = false;
            match result {
                Ok(last) => act.last_given = last,
                Err(e) => log::error!("routing: cannot give out the queue: {e}"),
            }
            if std::mem::take(&mut act.drain_again) {
                act.drain(ctx);
            }
        }));
    }

    /// `agent`'s last console closed at `since`: once the grace time is
    /// over and they are still away since then, their open conversations
    /// go back to the queue.
    fn start_grace(&mut self, agent: AgentId, since: Instant, ctx: &mut Context<Self>) {
        ctx.run_later(self.settings.offline_grace, move |act, _ctx| {
            let still_gone = act
                .agents
                .get(&agent)
                .is_some_and(|p| p.offline_since == Some(since));
            if !still_gone || agent == AgentId::SERVICE || !act.leader || act.elsewhere(agent) {
                return;
            }
            let (store, registry) = (act.store.clone(), act.registry.clone());
            actix::spawn(async move {
                if let Err(e) = requeue(store, registry, agent).await {
                    log::error!(
                        "routing: cannot requeue agent {}'s conversations: {e}",
                        agent.0
                    );
                }
            });
        });
    }

    /// Requeues the open conversations of every agent who has not had a
    /// console open since the start (those who left later have their own
    /// grace time).
    fn requeue_absent(&self) {
        if !self.leader {
            return;
        }
        let elsewhere = self.elsewhere.iter().map(|e| e.id);
        let seen: Vec<AgentId> = self.agents.keys().copied().chain(elsewhere).collect();
        let (store, registry) = (self.store.clone(), self.registry.clone());
        actix::spawn(async move {
            let counts = match store.assignee_counts(Some(ConversationStatus::Open)).await {
                Ok(counts) => counts,
                Err(e) => return log::error!("routing: cannot find absent agents: {e}"),
            };
            for agent in counts.by_agent.keys().filter(|a| !seen.contains(a)) {
                if let Err(e) = requeue(store.clone(), registry.clone(), *agent).await {
                    log::error!(
                        "routing: cannot requeue agent {}'s conversations: {e}",
                        agent.0
                    );
                }
            }
        });
    }

    /// Checks every console for idleness, often enough for `away_after`.
    fn watch_idle(&self, ctx: &mut Context<Self>) {
        let tick =
            (self.settings.away_after / 4).clamp(Duration::from_millis(20), Duration::from_secs(5));
        ctx.run_interval(tick, |act, ctx| {
            let now = Instant::now();
            let mut moved = false;
            for presence in act.agents.values_mut() {
                let before = presence.availability();
                presence.check_idle(act.settings.away_after, now);
                moved |= presence.availability() != before;
            }
            if moved {
                act.changed(ctx);
            }
        });
    }
}

/// Which availability wins when an agent is on several nodes.
fn rank(status: Availability) -> u8 {
    match status {
        Availability::Online => 0,
        Availability::Away => 1,
        Availability::Offline => 2,
    }
}

/// Who was online when a drain began, and how to tell that it changed.
struct OnlineAtStart {
    agents: Vec<AgentId>,
    changes: Rc<Cell<u64>>,
    seen: u64,
}

impl OnlineAtStart {
    /// Whether `agents` are still who the router knows to be online. A
    /// drain's reads take a while: an agent who turned away meanwhile must
    /// not be given a conversation from the old list (one that came in
    /// meanwhile, say); the change drains again anyway.
    fn current(&self) -> bool {
        self.changes.get() == self.seen
    }
}

/// One drain: the capacities, the open conversations per agent and the
/// queue, read from the store; each conversation then to the agent the
/// strategy picks, only if still unassigned and while `online` is current.
/// Returns who was given one last.
async fn give_out(
    store: Store,
    registry: Addr<Registry>,
    strategy: Strategy,
    online: OnlineAtStart,
    mut last: Option<AgentId>,
) -> Result<Option<AgentId>, String> {
    let team = capacities(&store).await.map_err(|e| e.to_string())?;
    let counts = store
        .assignee_counts(Some(ConversationStatus::Open))
        .await
        .map_err(|e| e.to_string())?;
    let mut candidates: Vec<Candidate> = team
        .into_iter()
        .filter(|(agent, _)| online.agents.contains(&agent.id))
        .map(|(agent, capacity)| Candidate {
            agent: agent.id,
            load: counts.by_agent.get(&agent.id).copied().unwrap_or(0) as u32,
            capacity,
        })
        .collect();
    let free: u32 = candidates
        .iter()
        .map(|c| c.capacity.saturating_sub(c.load))
        .sum();
    if free == 0 {
        return Ok(last);
    }
    let queue = store
        .queue((free as usize).min(MAX_BATCH))
        .await
        .map_err(|e| e.to_string())?;
    for client in queue {
        if !online.current() {
            break;
        }
        let Some(agent) = pick(strategy, &candidates, last) else {
            break;
        };
        let session = lookup(&registry, &client)
            .await
            .map_err(|e| e.to_string())?;
        let given = session
            .send(Assign {
                by: None,
                to: Some(agent),
                note: None,
                only_if: Some(None),
                who: Who::named("server", None),
            })
            .await;
        if let Ok(Ok(Some(now))) = given {
            if now.id == agent {
                last = Some(agent);
                if let Some(c) = candidates.iter_mut().find(|c| c.agent == agent) {
                    c.load += 1;
                }
            }
        }
    }
    Ok(last)
}

/// Puts `agent`'s open conversations back in the queue (unless someone
/// else took them meanwhile).
async fn requeue(store: Store, registry: Addr<Registry>, agent: AgentId) -> Result<(), String> {
    for client in store.assigned_to(agent).await.map_err(|e| e.to_string())? {
        let session = lookup(&registry, &client)
            .await
            .map_err(|e| e.to_string())?;
        let _ = session
            .send(Assign {
                by: None,
                to: None,
                note: None,
                only_if: Some(Some(agent)),
                who: Who::named("server", None),
            })
            .await;
    }
    Ok(())
}

impl Actor for Router {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.watch_idle(ctx);
        // After a start nobody is online: whoever has open conversations
        // and is not back within the grace time loses them to the queue.
        ctx.run_later(self.settings.offline_grace, |act, _ctx| {
            act.requeue_absent()
        });
        self.changed(ctx);
    }
}

impl Handler<ConsoleOpened> for Router {
    type Result = ();

    fn handle(&mut self, msg: ConsoleOpened, ctx: &mut Context<Self>) {
        let now = Instant::now();
        self.agents
            .entry(msg.agent.id)
            .or_insert_with(|| Presence::new(msg.agent.name.clone(), now))
            .open(msg.socket, now);
        self.changed(ctx);
    }
}

impl Handler<ConsoleClosed> for Router {
    type Result = ();

    fn handle(&mut self, msg: ConsoleClosed, ctx: &mut Context<Self>) {
        let now = Instant::now();
        let Some(presence) = self.agents.get_mut(&msg.agent) else {
            return;
        };
        presence.close(msg.socket, now);
        if presence.offline_since == Some(now) {
            self.start_grace(msg.agent, now, ctx);
        }
        self.changed(ctx);
    }
}

impl Handler<SetAway> for Router {
    type Result = ();

    fn handle(&mut self, msg: SetAway, ctx: &mut Context<Self>) {
        if let Some(presence) = self.agents.get_mut(&msg.agent) {
            presence.choose_away(msg.away, Instant::now());
            self.changed(ctx);
        }
    }
}

impl Handler<Active> for Router {
    type Result = ();

    fn handle(&mut self, msg: Active, ctx: &mut Context<Self>) {
        let before = self.availability(msg.agent);
        if let Some(presence) = self.agents.get_mut(&msg.agent) {
            presence.active(Instant::now());
        }
        if self.availability(msg.agent) != before {
            self.changed(ctx);
        }
    }
}

impl Handler<Drain> for Router {
    type Result = ();

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) {
        self.drain(ctx);
    }
}

impl Handler<QueueChanged> for Router {
    type Result = ();

    fn handle(&mut self, _: QueueChanged, ctx: &mut Context<Self>) {
        self.drain(ctx);
    }
}

impl Handler<AssigneeChanged> for Router {
    type Result = ();

    fn handle(&mut self, msg: AssigneeChanged, _ctx: &mut Context<Self>) {
        // For the alert. The queue is looked at again once the store has
        // the change (`QueueChanged` from the session, after the commit).
        self.inbox.do_send(msg);
    }
}

impl Handler<ElsewhereRoster> for Router {
    type Result = ();

    fn handle(&mut self, ElsewhereRoster(roster): ElsewhereRoster, ctx: &mut Context<Self>) {
        self.elsewhere = roster;
        self.changed(ctx);
    }
}

impl Handler<Leader> for Router {
    type Result = ();

    fn handle(&mut self, Leader(leader): Leader, ctx: &mut Context<Self>) {
        if leader != self.leader {
            log::info!(
                "routing: this node {} the queue",
                if leader {
                    "now gives out"
                } else {
                    "no longer gives out"
                }
            );
            self.leader = leader;
            self.drain(ctx);
        }
    }
}

#[cfg(test)]
mod tests;
