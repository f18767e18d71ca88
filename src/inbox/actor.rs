//! `Inbox`: the actor behind the agents' live conversation list. It answers
//! page requests from the store (so evicted conversations are listed too),
//! learns from the store writer which conversations changed and from the
//! sessions who is online, and pushes fresh summaries to every subscribed
//! inbox socket, coalesced over `INBOX_FLUSH_INTERVAL`, with the counts of
//! each agent's views (Mine, Unassigned, All) under their status filter. It
//! alerts an agent who was given a conversation. With nobody subscribed it
//! does no work at all.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix::prelude::*;

use futures_util::future::join_all;

use super::messages::{CloseAll, List, ListAnswer, Roster, Subscribe, Unsubscribe};
use crate::conversation::{AssigneeChanged, PresenceChanged, SocketLink, ToSocket};
use crate::domain::{AgentId, ClientId, ConversationStatus, ConversationSummary, Role, Totals};
use crate::domain::{AssigneeCounts, RosterEntry, ViewCounts};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::{Store, StoreChanged, StoreError};

/// Changes are gathered this long before summaries are read and pushed.
pub const INBOX_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// One inbox socket.
struct Subscriber {
    link: SocketLink,
    agent: AgentId,
    /// The status filter of its last list: its view counts follow it.
    status: Option<ConversationStatus>,
    /// The view counts it was last told.
    views: Option<ViewCounts>,
}

pub struct Inbox {
    store: Store,
    subscribers: HashMap<u64, Subscriber>,
    online: HashSet<ClientId>,
    dirty: HashSet<ClientId>,
    /// Alerts for agents given a conversation, sent once a flush reads the
    /// summary that shows the change.
    alerts: HashMap<ClientId, AssigneeChanged>,
    flush_scheduled: bool,
    last_totals: Option<Totals>,
    /// The agents' availability, as the router last told it.
    roster: Vec<RosterEntry>,
}

impl Inbox {
    pub fn new(store: Store) -> Self {
        Inbox {
            store,
            subscribers: HashMap::new(),
            online: HashSet::new(),
            dirty: HashSet::new(),
            alerts: HashMap::new(),
            flush_scheduled: false,
            last_totals: None,
            roster: Vec::new(),
        }
    }

    fn mark_online(&self, summary: &mut ConversationSummary) {
        summary.customer_online = self.online.contains(&summary.client_id);
    }

    fn touch(&mut self, clients: impl IntoIterator<Item = ClientId>, ctx: &mut Context<Self>) {
        if self.subscribers.is_empty() {
            return;
        }
        self.dirty.extend(clients);
        if !self.flush_scheduled && !self.dirty.is_empty() {
            self.flush_scheduled = true;
            ctx.run_later(INBOX_FLUSH_INTERVAL, |act, ctx| act.flush(ctx));
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        let clients: Vec<ClientId> = self.dirty.drain().collect();
        let read = self.store.summaries_of(clients.clone());
        let statuses = self.statuses();
        let counts = join_all(statuses.iter().map(|s| self.store.assignee_counts(*s)));
        let both = async move { (read.await, counts.await) };
        // `wait`: the next flush starts after this one has been pushed, so
        // updates reach subscribers in order.
        ctx.wait(
            both.into_actor(self)
                .map(move |(result, counts), act, _ctx| {
                    act.flush_scheduled = false;
                    match result {
                        Ok((summaries, totals)) => {
                            // Changed but not stored any more: erased.
                            let listed: HashSet<&ClientId> =
                                summaries.iter().map(|s| &s.client_id).collect();
                            for client in clients.iter().filter(|c| !listed.contains(c)) {
                                let frame = ServerEvent::Removed { client_id: client }.encode();
                                act.push(&ToSocket::Frame(frame));
                            }
                            for mut summary in summaries {
                                act.mark_online(&mut summary);
                                let frame = ServerEvent::Conversation {
                                    conversation: &summary,
                                }
                                .encode();
                                act.push(&ToSocket::Frame(frame));
                                act.alert_if_due(&summary);
                            }
                            if act.last_totals != Some(totals) {
                                act.last_totals = Some(totals);
                                act.push(&ToSocket::Frame(ServerEvent::Totals(totals).encode()));
                            }
                        }
                        Err(e) => log::error!("inbox: cannot read summaries: {e}"),
                    }
                    for (status, counts) in statuses.into_iter().zip(counts) {
                        match counts {
                            Ok(counts) => act.push_views(status, &counts),
                            Err(e) => log::error!("inbox: cannot count the views: {e}"),
                        }
                    }
                }),
        );
    }

    /// The status filters the subscribers' view counts follow.
    fn statuses(&self) -> Vec<Option<ConversationStatus>> {
        let mut statuses: Vec<Option<ConversationStatus>> = Vec::new();
        for subscriber in self.subscribers.values() {
            if !statuses.contains(&subscriber.status) {
                statuses.push(subscriber.status);
            }
        }
        statuses
    }

    /// New view counts to each subscriber under `status` whose changed.
    fn push_views(&mut self, status: Option<ConversationStatus>, counts: &AssigneeCounts) {
        let name = status.map_or("all", ConversationStatus::as_str);
        let mut gone = Vec::new();
        for (id, subscriber) in self.subscribers.iter_mut() {
            let views = counts.views(subscriber.agent);
            if subscriber.status != status || subscriber.views == Some(views) {
                continue;
            }
            subscriber.views = Some(views);
            let frame = ServerEvent::Views {
                status: name,
                views,
            }
            .encode();
            if !subscriber.link.offer(ToSocket::Frame(frame)) {
                gone.push(*id);
            }
        }
        self.drop_subscribers(&gone);
    }

    fn push(&mut self, item: &ToSocket) {
        let gone: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(_, s)| !s.link.offer(item.clone()))
            .map(|(id, _)| *id)
            .collect();
        self.drop_subscribers(&gone);
    }

    fn drop_subscribers(&mut self, gone: &[u64]) {
        for id in gone {
            log::warn!("inbox socket gone or stalled; detached");
            self.subscribers.remove(id);
        }
    }

    /// Alerts `to` that they were given `client` (unless they took it),
    /// once the store has it: with the summary that shows them as its
    /// assignee.
    fn alert_later(&mut self, msg: AssigneeChanged, ctx: &mut Context<Self>) {
        let wanted = msg.to.as_ref().is_some_and(|to| {
            let took_it = msg.by.as_ref().is_some_and(|by| by.id == to.id);
            !took_it && self.subscribers.values().any(|s| s.agent == to.id)
        });
        let client = msg.client.clone();
        if wanted {
            // Only the newest change of a conversation is worth an alert.
            self.alerts.insert(client.clone(), msg);
        } else {
            self.alerts.remove(&client);
        }
        self.touch([client], ctx);
    }

    /// The alert waiting for `summary`, if the store now shows it.
    fn alert_if_due(&mut self, summary: &ConversationSummary) {
        let due = self.alerts.get(&summary.client_id).is_some_and(|alert| {
            alert.to.as_ref().map(|a| a.id) == summary.assignee.as_ref().map(|a| a.id)
        });
        let Some(alert) = due
            .then(|| self.alerts.remove(&summary.client_id))
            .flatten()
        else {
            return;
        };
        let Some(to) = alert.to else {
            return;
        };
        let frame = ServerEvent::Assigned {
            conversation: summary,
            by: alert.by.as_ref(),
            note: alert.note.as_deref(),
        }
        .encode();
        let gone: Vec<u64> = self
            .subscribers
            .iter()
            .filter(|(_, s)| s.agent == to.id && !s.link.offer(ToSocket::Frame(frame.clone())))
            .map(|(id, _)| *id)
            .collect();
        self.drop_subscribers(&gone);
    }
}

impl Actor for Inbox {
    type Context = Context<Self>;
}

impl Handler<StoreChanged> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: StoreChanged, ctx: &mut Context<Self>) {
        self.touch(msg.clients, ctx);
    }
}

impl Handler<PresenceChanged> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: PresenceChanged, ctx: &mut Context<Self>) {
        if msg.role != Role::Customer {
            return;
        }
        if msg.online {
            self.online.insert(msg.client.clone());
        } else {
            self.online.remove(&msg.client);
        }
        self.touch([msg.client], ctx);
    }
}

impl Handler<Subscribe> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _ctx: &mut Context<Self>) {
        let roster = ServerEvent::Agents {
            agents: &self.roster,
        }
        .encode();
        msg.socket.offer(ToSocket::Frame(roster));
        let subscriber = Subscriber {
            link: msg.socket,
            agent: msg.agent,
            status: None,
            views: None,
        };
        self.subscribers.insert(subscriber.link.id, subscriber);
    }
}

impl Handler<Unsubscribe> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _ctx: &mut Context<Self>) {
        self.subscribers.remove(&msg.socket_id);
        if self.subscribers.is_empty() {
            self.dirty.clear();
            self.alerts.clear();
        }
    }
}

impl Handler<List> for Inbox {
    type Result = ResponseActFuture<Self, Result<ListAnswer, AppError>>;

    fn handle(&mut self, msg: List, _ctx: &mut Context<Self>) -> Self::Result {
        let (status, me) = (msg.query.status, msg.query.me);
        let read = self.store.summaries(msg.query);
        let counts = self.store.assignee_counts(status);
        let both = async move { (read.await, counts.await) };
        Box::pin(both.into_actor(self).map(move |(page, counts), act, _| {
            let result = page.and_then(|(page, totals)| Ok((page, totals, counts?)));
            match result {
                Ok((mut page, totals, counts)) => {
                    for summary in &mut page.items {
                        act.mark_online(summary);
                    }
                    let views = counts.views(me);
                    if let Some(subscriber) =
                        msg.socket_id.and_then(|id| act.subscribers.get_mut(&id))
                    {
                        subscriber.status = status;
                        subscriber.views = Some(views);
                    }
                    Ok(ListAnswer {
                        page,
                        totals,
                        views,
                    })
                }
                Err(StoreError::InvalidCursor) => Err(AppError::BadRequest(
                    "invalid cursor: use next_cursor as given".into(),
                )),
                Err(e) => {
                    log::error!("inbox: cannot list conversations: {e}");
                    Err(AppError::StoreUnavailable)
                }
            }
        }))
    }
}

impl Handler<Roster> for Inbox {
    type Result = ();

    fn handle(&mut self, Roster(roster): Roster, _ctx: &mut Context<Self>) {
        self.roster = roster;
        let frame = ServerEvent::Agents {
            agents: &self.roster,
        }
        .encode();
        self.push(&ToSocket::Frame(frame));
    }
}

impl Handler<AssigneeChanged> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: AssigneeChanged, ctx: &mut Context<Self>) {
        self.alert_later(msg, ctx);
    }
}

impl Handler<CloseAll> for Inbox {
    type Result = ();

    fn handle(&mut self, _: CloseAll, _ctx: &mut Context<Self>) {
        for (_, subscriber) in self.subscribers.drain() {
            subscriber.link.offer(ToSocket::Shutdown);
        }
    }
}
