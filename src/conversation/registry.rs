//! `Registry`: the one actor that knows every live conversation. A socket (or
//! any other caller) looks its session up here; the Registry starts a
//! `SessionActor` the first time an id is asked for, and forgets it when the
//! session ends (idle eviction). [`join`] wraps lookup and attach.

use std::collections::{HashMap, HashSet};

use actix::prelude::*;

use super::actor::{SessionActor, SessionLinks, SessionSettings};
use super::link::SocketLink;
use super::messages::*;
use super::remote::{ClusterNotice, Incoming, Outgoing};
use crate::domain::{ClientId, Participant};
use crate::error::AppError;
use crate::store::Store;

/// How often `join` retries when it meets a session that is being evicted.
const JOIN_ATTEMPTS: usize = 8;

/// With several nodes, how often the live sessions compare their last seq
/// with the store's: what another node committed reaches sockets within
/// this time even if its doorbell was lost (NATS down, a node killed
/// between commit and publish).
pub const CLUSTER_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Conversations asked about in one read of that check.
const CHECK_CHUNK: usize = 500;

pub struct Registry {
    /// Live sessions with the number each was started under.
    sessions: HashMap<ClientId, (u64, Addr<SessionActor>)>,
    /// Sessions started so far; numbers them.
    started: u64,
    store: Store,
    settings: SessionSettings,
    inbox: Option<Recipient<PresenceChanged>>,
    assignments: Option<Recipient<AssigneeChanged>>,
    queue: Option<Recipient<QueueChanged>>,
    /// Whether an agent has the console open, for new sessions.
    consoles_online: bool,
    shutting_down: bool,
    /// The other nodes, if this node is one of several.
    cluster: Option<Recipient<Outgoing>>,
    /// Conversations being erased or anonymised: not joined meanwhile.
    removing: HashSet<ClientId>,
}

impl Registry {
    pub fn new(store: Store, settings: SessionSettings) -> Self {
        Registry {
            sessions: HashMap::new(),
            started: 0,
            store,
            settings,
            inbox: None,
            assignments: None,
            queue: None,
            consoles_online: false,
            shutting_down: false,
            cluster: None,
            removing: HashSet::new(),
        }
    }

    /// Sessions will tell `inbox` who comes and goes.
    pub fn with_inbox(mut self, inbox: Recipient<PresenceChanged>) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// Sessions will tell the router every change of assignee, and when a
    /// conversation may have joined the queue or freed its agent.
    pub fn with_router(
        mut self,
        assignments: Recipient<AssigneeChanged>,
        queue: Recipient<QueueChanged>,
    ) -> Self {
        self.assignments = Some(assignments);
        self.queue = Some(queue);
        self
    }
}

impl Registry {
    /// This node is one of several: sessions tell the others through
    /// `cluster`, and check the store for what they missed.
    pub fn with_cluster(mut self, cluster: Recipient<Outgoing>) -> Self {
        self.cluster = Some(cluster);
        self
    }

    /// Asks the store for the last seq of every live session, and rings
    /// each one whose conversation moved on.
    fn check_sessions(&mut self, ctx: &mut Context<Self>) {
        let clients: Vec<ClientId> = self.sessions.keys().cloned().collect();
        for chunk in clients.chunks(CHECK_CHUNK) {
            let read = self.store.summaries_of(chunk.to_vec());
            ctx.spawn(read.into_actor(self).map(|result, act, _| match result {
                Ok((summaries, _)) => {
                    for summary in summaries {
                        if let Some((_, session)) = act.sessions.get(&summary.client_id) {
                            session.do_send(Incoming {
                                client: summary.client_id,
                                notice: ClusterNotice::Committed {
                                    seq: summary.last_seq,
                                },
                            });
                        }
                    }
                }
                Err(e) => log::warn!("cannot check the sessions' last seqs: {e}"),
            }));
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.cluster.is_some() {
            ctx.run_interval(CLUSTER_CHECK_INTERVAL, |act, ctx| act.check_sessions(ctx));
        }
    }
}

impl Handler<Incoming> for Registry {
    type Result = ();

    /// To the live session of the conversation; presence without one goes
    /// to the inbox, which shows who is online in the list.
    fn handle(&mut self, msg: Incoming, _ctx: &mut Context<Self>) {
        if let Some((_, session)) = self.sessions.get(&msg.client) {
            match msg.notice {
                ClusterNotice::Removed => session.do_send(Close { if_idle: false }),
                _ => session.do_send(msg),
            }
        } else if let (ClusterNotice::Presence { role, online }, Some(inbox)) =
            (&msg.notice, &self.inbox)
        {
            inbox.do_send(PresenceChanged {
                client: msg.client,
                role: *role,
                online: *online,
            });
        }
    }
}

/// The session of `client`, started if needed on the `home` arbiter.
#[derive(Message)]
#[rtype(result = "Result<Addr<SessionActor>, AppError>")]
pub struct Lookup {
    pub client: ClientId,
    /// Where a new session runs: the thread of the socket that asked, so a
    /// conversation and its first socket talk without crossing threads.
    pub home: ArbiterHandle,
}

impl Handler<Lookup> for Registry {
    type Result = Result<Addr<SessionActor>, AppError>;

    fn handle(&mut self, msg: Lookup, ctx: &mut Context<Self>) -> Self::Result {
        if self.shutting_down {
            return Err(AppError::ShuttingDown);
        }
        if self.removing.contains(&msg.client) {
            return Err(AppError::ServerBusy);
        }
        if let Some((_, session)) = self.sessions.get(&msg.client) {
            if session.connected() {
                return Ok(session.clone());
            }
        }
        self.started += 1;
        let number = self.started;
        let session = SessionActor::new(
            msg.client.clone(),
            self.store.clone(),
            self.settings.clone(),
            SessionLinks {
                registry: ctx.address().recipient(),
                inbox: self.inbox.clone(),
                assignments: self.assignments.clone(),
                queue: self.queue.clone(),
                number,
                consoles_online: self.consoles_online,
                cluster: self.cluster.clone(),
            },
        );
        let session = SessionActor::start_in_arbiter(&msg.home, move |_| session);
        self.sessions.insert(msg.client, (number, session.clone()));
        self.count_sessions();
        Ok(session)
    }
}

impl Handler<SessionEnded> for Registry {
    type Result = ();

    fn handle(&mut self, msg: SessionEnded, _ctx: &mut Context<Self>) {
        // Only if it is still the same session: a newer one may have started.
        if self.sessions.get(&msg.client).map(|(n, _)| *n) == Some(msg.number) {
            self.sessions.remove(&msg.client);
            self.count_sessions();
        }
    }
}

impl Registry {
    fn count_sessions(&self) {
        let live = i64::try_from(self.sessions.len()).unwrap_or(i64::MAX);
        self.store.metrics().live_sessions.set(live);
    }
}

impl Handler<GetStats> for Registry {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(RegistryStats {
            sessions: self.sessions.len(),
        })
    }
}

impl Handler<ConsolesOnline> for Registry {
    type Result = ();

    fn handle(&mut self, msg: ConsolesOnline, _ctx: &mut Context<Self>) {
        self.consoles_online = msg.0;
        // Only on a change between none and some consoles, so rarely.
        for (_, session) in self.sessions.values() {
            session.do_send(msg);
        }
    }
}

impl Handler<Remove> for Registry {
    type Result = ResponseActFuture<Self, Result<Removed, AppError>>;

    fn handle(&mut self, msg: Remove, _ctx: &mut Context<Self>) -> Self::Result {
        let Remove {
            client,
            op,
            if_idle,
        } = msg;
        if self.shutting_down {
            return Box::pin(fut::ready(Err(AppError::ShuttingDown)));
        }
        if !self.removing.insert(client.clone()) {
            let busy = AppError::Conflict("this conversation is being removed already".into());
            return Box::pin(fut::ready(Err(busy)));
        }
        let session = self.sessions.get(&client).map(|(_, s)| s.clone());
        let store = self.store.clone();
        let id = client.clone();
        let work = async move {
            if let Some(session) = session {
                // A session already gone has nothing left to write.
                if session.send(Close { if_idle }).await == Ok(false) {
                    return Ok(Removed::InUse);
                }
            }
            store.remove(id.clone(), op).await.map_err(|e| {
                log::error!("{id}: could not be removed: {e}");
                AppError::StoreUnavailable
            })?;
            Ok(Removed::Done)
        };
        Box::pin(work.into_actor(self).map(move |result, act, _| {
            if let (Ok(Removed::Done), Some(cluster)) = (&result, &act.cluster) {
                cluster.do_send(Outgoing {
                    client: client.clone(),
                    notice: ClusterNotice::Removed,
                });
            }
            act.removing.remove(&client);
            result
        }))
    }
}

impl Handler<ShutdownAll> for Registry {
    type Result = ();

    fn handle(&mut self, _: ShutdownAll, _ctx: &mut Context<Self>) {
        self.shutting_down = true;
        for (_, session) in self.sessions.values() {
            session.do_send(Shutdown);
        }
    }
}

/// Attaches `socket` of `who` to `client`'s conversation and returns the
/// session. Retries when the session found was just evicted.
pub async fn join(
    registry: &Addr<Registry>,
    client: &ClientId,
    who: &Participant,
    since: u64,
    socket: SocketLink,
) -> Result<Addr<SessionActor>, AppError> {
    for _ in 0..JOIN_ATTEMPTS {
        let session = lookup(registry, client).await?;
        let attach = Attach {
            who: who.clone(),
            since,
            socket: socket.clone(),
        };
        match session.send(attach).await {
            Ok(Ok(())) => return Ok(session),
            Ok(Err(AttachError::Gone)) | Err(_) => continue,
        }
    }
    Err(AppError::StoreUnavailable)
}

/// The session of `client`, started if needed (on the caller's arbiter).
pub async fn lookup(
    registry: &Addr<Registry>,
    client: &ClientId,
) -> Result<Addr<SessionActor>, AppError> {
    registry
        .send(Lookup {
            client: client.clone(),
            home: Arbiter::current(),
        })
        .await
        .map_err(|_| AppError::ShuttingDown)?
}

impl Handler<AgentsOnline> for Registry {
    type Result = bool;

    fn handle(&mut self, _: AgentsOnline, _ctx: &mut Context<Self>) -> bool {
        self.consoles_online
    }
}
