//! `Cluster`: this node's link to the others when several run on one
//! PostgreSQL database, through NATS core publish/subscribe. NATS carries
//! only what is live: doorbells for committed messages, read marks, typing,
//! presence, and which conversations changed (for the inbox). Everything
//! acknowledged is in the database, and every node reads what it missed
//! from there (`Registry`'s periodic check), so NATS being down delays
//! delivery across nodes by at most that check's interval and loses
//! nothing. No home-made broker, no consensus: the database's row lock on a
//! conversation decides each seq.

mod presence;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use actix::prelude::*;
use futures_util::stream::select_all;
use serde::{Deserialize, Serialize};

use crate::conversation::{ClusterNotice, Incoming, Outgoing};
use crate::domain::{ClientId, Role, RosterEntry};
use crate::routing::{ElsewhereRoster, Leader, LocalRoster};
use crate::store::StoreChanged;
use presence::{Key, PresenceBook, SNAPSHOT_INTERVAL};

/// Subjects, one per kind of traffic; every node listens to all of them.
const CONVERSATIONS: &str = "support-chat.conversation";
const CHANGED: &str = "support-chat.changed";
const PRESENCE: &str = "support-chat.presence";
const ROSTER: &str = "support-chat.roster";

/// A conversation's notice, as it travels.
#[derive(Serialize, Deserialize)]
struct ConversationWire {
    node: u64,
    client: String,
    notice: ClusterNotice,
}

/// Conversations a node's commits changed (the inboxes re-read them).
#[derive(Serialize, Deserialize)]
struct ChangedWire {
    node: u64,
    clients: Vec<String>,
}

/// A node's whole list of sockets (also its heartbeat).
#[derive(Serialize, Deserialize)]
struct PresenceWire {
    node: u64,
    online: Vec<(String, Role)>,
}

/// The agents on a node's consoles (on every change, and with each beat).
#[derive(Serialize, Deserialize)]
struct RosterWire {
    node: u64,
    roster: Vec<RosterEntry>,
}

pub struct Cluster {
    /// Random per process: a restarted node is a new node.
    node: u64,
    url: String,
    nats: Option<async_nats::Client>,
    /// The local sessions.
    registry: Recipient<Incoming>,
    /// The local inbox.
    inbox: Recipient<StoreChanged>,
    /// The local router: told the other nodes' rosters, and whether it
    /// leads.
    router: Recipient<ElsewhereRoster>,
    leads: Recipient<Leader>,
    book: PresenceBook,
    /// This node's roster, and the other nodes' (kept while they live).
    roster: Vec<RosterEntry>,
    rosters: HashMap<u64, Vec<RosterEntry>>,
    leader: Option<bool>,
    /// Beats since the start: a node leads only once it has heard the others.
    beats: u32,
}

impl Cluster {
    pub fn new(
        url: String,
        registry: Recipient<Incoming>,
        inbox: Recipient<StoreChanged>,
        router: Recipient<ElsewhereRoster>,
        leads: Recipient<Leader>,
    ) -> Self {
        Cluster {
            node: rand::random(),
            url,
            nats: None,
            registry,
            inbox,
            router,
            leads,
            book: PresenceBook::default(),
            roster: Vec::new(),
            rosters: HashMap::new(),
            leader: None,
            beats: 0,
        }
    }

    /// The other live nodes' agents, to the router.
    fn tell_router(&self) {
        let roster = self
            .rosters
            .iter()
            .filter(|(node, _)| self.book.is_live(**node))
            .flat_map(|(_, roster)| roster.iter().cloned())
            .collect();
        self.router.do_send(ElsewhereRoster(roster));
    }

    /// The live node with the lowest id gives out the queue; a node starts
    /// leading only after two beats, once it has heard the others.
    fn elect(&mut self) {
        self.beats = self.beats.saturating_add(1);
        let lowest = self.book.live_nodes().all(|other| self.node < other);
        let leader = self.beats > 2 && lowest;
        if self.leader != Some(leader) {
            self.leader = Some(leader);
            self.leads.do_send(Leader(leader));
        }
    }

    fn publish<T: Serialize>(&self, subject: &'static str, body: &T) {
        let Some(nats) = self.nats.clone() else {
            return;
        };
        let payload = match serde_json::to_vec(body) {
            Ok(payload) => payload,
            Err(e) => return log::error!("cluster: cannot encode a notice: {e}"),
        };
        actix::spawn(async move {
            // While NATS is away this fails or waits in the client's
            // buffer; the registry's check covers what is lost.
            if let Err(e) = nats.publish(subject, payload.into()).await {
                log::debug!("cluster: publish failed: {e}");
            }
        });
    }

    fn tell_sessions(&self, changes: Vec<(Key, bool)>) {
        for ((client, role), online) in changes {
            self.registry.do_send(Incoming {
                client,
                notice: ClusterNotice::Presence { role, online },
            });
        }
    }

    fn received(&mut self, msg: async_nats::Message) {
        let now = Instant::now();
        match msg.subject.as_str() {
            CONVERSATIONS => {
                let Some(wire) = decode::<ConversationWire>(&msg.payload, self.node) else {
                    return;
                };
                let Ok(client) = ClientId::parse(&wire.client) else {
                    return;
                };
                if let ClusterNotice::Presence { role, online } = wire.notice {
                    let changes = self.book.change(wire.node, (client, role), online, now);
                    return self.tell_sessions(changes);
                }
                self.registry.do_send(Incoming {
                    client,
                    notice: wire.notice,
                });
            }
            CHANGED => {
                if let Some(wire) = decode::<ChangedWire>(&msg.payload, self.node) {
                    let clients = parse_all(wire.clients.iter().map(String::as_str));
                    self.inbox.do_send(StoreChanged { clients });
                }
            }
            ROSTER => {
                if let Some(wire) = decode::<RosterWire>(&msg.payload, self.node) {
                    self.book.heard(wire.node, now);
                    if self.rosters.get(&wire.node) != Some(&wire.roster) {
                        self.rosters.insert(wire.node, wire.roster);
                        self.tell_router();
                    }
                }
            }
            PRESENCE => {
                if let Some(wire) = decode::<PresenceWire>(&msg.payload, self.node) {
                    let keys: HashSet<Key> = wire
                        .online
                        .iter()
                        .filter_map(|(c, role)| Some((ClientId::parse(c).ok()?, *role)))
                        .collect();
                    let changes = self.book.snapshot(wire.node, keys, now);
                    self.tell_sessions(changes);
                }
            }
            _ => {}
        }
    }

    /// The list of this node's sockets, and the end of silent nodes.
    fn beat(&mut self) {
        let online = self
            .book
            .local_keys()
            .map(|(c, role)| (c.to_string(), *role))
            .collect();
        self.publish(
            PRESENCE,
            &PresenceWire {
                node: self.node,
                online,
            },
        );
        self.publish(
            ROSTER,
            &RosterWire {
                node: self.node,
                roster: self.roster.clone(),
            },
        );
        let changes = self.book.expire(Instant::now());
        self.tell_sessions(changes);
        let before = self.rosters.len();
        self.rosters.retain(|node, _| self.book.is_live(*node));
        if self.rosters.len() != before {
            self.tell_router();
        }
        self.elect();
    }
}

/// A message of another node (`None`: ours, or not one we understand).
fn decode<'a, T: Deserialize<'a> + HasNode>(payload: &'a [u8], me: u64) -> Option<T> {
    match serde_json::from_slice::<T>(payload) {
        Ok(wire) if wire.node() != me => Some(wire),
        Ok(_) => None,
        Err(e) => {
            log::warn!("cluster: an unreadable message: {e}");
            None
        }
    }
}

trait HasNode {
    fn node(&self) -> u64;
}

macro_rules! has_node {
    ($($t:ty),*) => {$(impl HasNode for $t { fn node(&self) -> u64 { self.node } })*};
}
has_node!(ConversationWire, ChangedWire, PresenceWire, RosterWire);

fn parse_all<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<ClientId> {
    ids.filter_map(|id| ClientId::parse(id).ok()).collect()
}

impl Actor for Cluster {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        log::info!("cluster: node {:016x}, NATS at {}", self.node, self.url);
        let url = self.url.clone();
        let connect = async move {
            let nats = async_nats::ConnectOptions::new()
                .name("support-chat")
                .retry_on_initial_connect()
                .connect(url)
                .await?;
            let mut subscriptions = Vec::new();
            for subject in [CONVERSATIONS, CHANGED, PRESENCE, ROSTER] {
                subscriptions.push(nats.subscribe(subject).await?);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((nats, subscriptions))
        };
        // `wait`: notices that come before the connection queue behind it.
        ctx.wait(
            connect
                .into_actor(self)
                .map(|result, act, ctx| match result {
                    Ok((nats, subscriptions)) => {
                        act.nats = Some(nats);
                        ctx.add_stream(select_all(subscriptions));
                    }
                    Err(e) => log::error!("cluster: cannot reach NATS at {}: {e}", act.url),
                }),
        );
        ctx.run_interval(SNAPSHOT_INTERVAL, |act, _| act.beat());
    }
}

impl StreamHandler<async_nats::Message> for Cluster {
    fn handle(&mut self, msg: async_nats::Message, _ctx: &mut Context<Self>) {
        self.received(msg);
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {
        log::error!("cluster: the NATS subscriptions ended");
    }
}

impl Handler<Outgoing> for Cluster {
    type Result = ();

    fn handle(&mut self, msg: Outgoing, _ctx: &mut Context<Self>) {
        if let ClusterNotice::Presence { role, online } = &msg.notice {
            self.book.local((msg.client.clone(), *role), *online);
        }
        let wire = ConversationWire {
            node: self.node,
            client: msg.client.to_string(),
            notice: msg.notice,
        };
        self.publish(CONVERSATIONS, &wire);
    }
}

impl Handler<StoreChanged> for Cluster {
    type Result = ();

    /// What this node committed: to the local inbox, and to the others'.
    fn handle(&mut self, msg: StoreChanged, _ctx: &mut Context<Self>) {
        let wire = ChangedWire {
            node: self.node,
            clients: msg.clients.iter().map(ToString::to_string).collect(),
        };
        self.publish(CHANGED, &wire);
        self.inbox.do_send(msg);
    }
}

impl Handler<LocalRoster> for Cluster {
    type Result = ();

    fn handle(&mut self, LocalRoster(roster): LocalRoster, _ctx: &mut Context<Self>) {
        self.roster = roster;
        let wire = RosterWire {
            node: self.node,
            roster: self.roster.clone(),
        };
        self.publish(ROSTER, &wire);
    }
}
