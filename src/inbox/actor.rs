//! `Inbox`: the actor behind the agents' live conversation list. It answers
//! page requests from the store (so evicted conversations are listed too),
//! learns from the store writer which conversations changed and from the
//! sessions who is online, and pushes fresh summaries to every subscribed
//! inbox socket, coalesced over `INBOX_FLUSH_INTERVAL`. With nobody
//! subscribed it does no work at all.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix::prelude::*;

use super::messages::{CloseAll, List, Subscribe, Unsubscribe};
use crate::conversation::{ConsolesOnline, PresenceChanged, SocketLink, ToSocket};
use crate::domain::{ClientId, ConversationSummary, Role, Totals};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::{ListPage, Store, StoreChanged, StoreError};

/// Changes are gathered this long before summaries are read and pushed.
pub const INBOX_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

pub struct Inbox {
    store: Store,
    subscribers: HashMap<u64, SocketLink>,
    online: HashSet<ClientId>,
    dirty: HashSet<ClientId>,
    flush_scheduled: bool,
    last_totals: Option<Totals>,
    /// Told whether any console is open (customers see an agent online).
    consoles: Option<Recipient<ConsolesOnline>>,
    /// What `consoles` was last told.
    consoles_online: bool,
}

impl Inbox {
    pub fn new(store: Store) -> Self {
        Inbox {
            store,
            subscribers: HashMap::new(),
            online: HashSet::new(),
            dirty: HashSet::new(),
            flush_scheduled: false,
            last_totals: None,
            consoles: None,
            consoles_online: false,
        }
    }

    /// `consoles` (the Registry) learns when the first console opens and
    /// the last one closes.
    pub fn with_consoles(mut self, consoles: Recipient<ConsolesOnline>) -> Self {
        self.consoles = Some(consoles);
        self
    }

    /// Called after every change of subscribers.
    fn subscribers_changed(&mut self) {
        let online = !self.subscribers.is_empty();
        if online == self.consoles_online {
            return;
        }
        self.consoles_online = online;
        if let Some(consoles) = &self.consoles {
            consoles.do_send(ConsolesOnline(online));
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
        // `wait`: the next flush starts after this one has been pushed, so
        // updates reach subscribers in order.
        ctx.wait(read.into_actor(self).map(move |result, act, _ctx| {
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
                    }
                    if act.last_totals != Some(totals) {
                        act.last_totals = Some(totals);
                        act.push(&ToSocket::Frame(ServerEvent::Totals(totals).encode()));
                    }
                }
                Err(e) => log::error!("inbox: cannot read summaries: {e}"),
            }
        }));
    }

    fn push(&mut self, item: &ToSocket) {
        self.subscribers.retain(|_, link| {
            let alive = link.offer(item.clone());
            if !alive {
                log::warn!("inbox socket gone or stalled; detached");
            }
            alive
        });
        self.subscribers_changed();
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
        self.subscribers.insert(msg.socket.id, msg.socket);
        self.subscribers_changed();
    }
}

impl Handler<Unsubscribe> for Inbox {
    type Result = ();

    fn handle(&mut self, msg: Unsubscribe, _ctx: &mut Context<Self>) {
        self.subscribers.remove(&msg.socket_id);
        if self.subscribers.is_empty() {
            self.dirty.clear();
        }
        self.subscribers_changed();
    }
}

impl Handler<List> for Inbox {
    type Result = ResponseActFuture<Self, Result<(ListPage, Totals), AppError>>;

    fn handle(&mut self, msg: List, _ctx: &mut Context<Self>) -> Self::Result {
        let read = self.store.summaries(msg.0);
        Box::pin(read.into_actor(self).map(|result, act, _| match result {
            Ok((mut page, totals)) => {
                for summary in &mut page.items {
                    act.mark_online(summary);
                }
                Ok((page, totals))
            }
            Err(StoreError::InvalidCursor) => Err(AppError::BadRequest(
                "invalid cursor: use next_cursor as given".into(),
            )),
            Err(e) => {
                log::error!("inbox: cannot list conversations: {e}");
                Err(AppError::StoreUnavailable)
            }
        }))
    }
}

impl Handler<CloseAll> for Inbox {
    type Result = ();

    fn handle(&mut self, _: CloseAll, _ctx: &mut Context<Self>) {
        for (_, link) in self.subscribers.drain() {
            link.offer(ToSocket::Shutdown);
        }
        self.subscribers_changed();
    }
}
