//! `SessionActor`: one per conversation. It owns the conversation's recent
//! history, assigns each new message the next `seq`, hands it to the store and,
//! only once the store has committed it, sends it to both sides. It holds the
//! customer's socket and one socket per connected agent as `SocketLink`s
//! and never waits on them: a socket whose backlog of unwritten frames is
//! full is detached as stalled. The handlers at the bottom only unpack
//! messages and delegate; `posting` takes new items (messages, notes,
//! events), `attaching` decides what each socket sees, `delivery` reaches
//! the sockets, `assigning` changes the assignee, `remote` works beside the
//! same conversation's sessions on other nodes.

use std::collections::VecDeque;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;

use super::link::ToSocket;
use super::messages::*;
use super::remote::{ClusterNotice, Incoming, Outgoing};
use super::sockets::Sockets;
use super::window::{Window, RECENT_WINDOW};
use crate::domain::{
    Author, ChatMessage, ClientId, Contact, ConversationStatus, Event, PerRole, Role,
};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::{next_generation, Snapshot, Store, WriteOp, WriteOutcome};

/// How a session behaves; shared by every session of a server.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// A session with no socket for this long leaves memory.
    pub idle_timeout: Duration,
    pub max_text_chars: usize,
    /// Email is on: resolving a conversation whose customer left an email
    /// address queues its transcript for them.
    pub transcripts: bool,
}

/// Who a session reports to.
#[derive(Clone)]
pub struct SessionLinks {
    pub registry: Recipient<SessionEnded>,
    /// Learns who is online, for the agents' conversation list.
    pub inbox: Option<Recipient<PresenceChanged>>,
    /// Learns every change of assignee (alerts, automatic assignment).
    pub assignments: Option<Recipient<AssigneeChanged>>,
    /// Learns when the conversation may have joined the queue or freed its
    /// agent.
    pub queue: Option<Recipient<QueueChanged>>,
    /// Which of the Registry's sessions this is, to report its end.
    pub number: u64,
    /// Whether an agent was online when the session started (then kept up
    /// to date by [`ConsolesOnline`]).
    pub consoles_online: bool,
    /// The cluster, when this node is one of several: told what the other
    /// nodes' sessions of the conversation must know.
    pub cluster: Option<Recipient<Outgoing>>,
}

mod assigning;
mod attaching;
mod contact;
mod delivery;
mod posting;
mod remote;
mod removal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    Ready,
    Closing,
}

/// A message written but not yet committed.
struct Pending {
    message: ChatMessage,
    /// Posters waiting without a socket (REST API).
    acks: Vec<Ack>,
    /// The socket that posted it, told if it is not stored.
    socket: Option<u64>,
    /// Released with the entry, when the message is settled.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// When it reached the session, for the relay latency.
    since: std::time::Instant,
}

pub struct SessionActor {
    client: ClientId,
    store: Store,
    settings: SessionSettings,
    links: SessionLinks,
    phase: Phase,
    status: ConversationStatus,
    /// The agent who has the conversation, if any.
    assignee: Option<Author>,
    read_seq: PerRole<u64>,
    /// The customer's contact details, as stored.
    contact: Contact,
    /// Highest committed seq.
    last_seq: u64,
    /// Seq the next new message gets.
    next_seq: u64,
    /// Highest committed seq the customer sees (their `last_seq`).
    last_public_seq: u64,
    /// `prev_public` of the next item the customer sees: the newest one
    /// they see, committed or in flight.
    next_prev_public: u64,
    window: Window,
    /// Written but not yet committed, in seq order (the writer keeps order).
    pending: VecDeque<Pending>,
    /// A write failed; refuse new ones until those in flight are settled,
    /// so seqs stay gapless.
    degraded: bool,
    sockets: Sockets,
    /// Whether each side was last announced online, so a change is told once.
    announced: PerRole<bool>,
    /// Whether an agent has the console open (see [`ConsolesOnline`]).
    consoles_online: bool,
    idle_timer: Option<SpawnHandle>,
    /// Written into every write (see `WriteRequest::generation`); a new one
    /// after a refused message.
    generation: u64,
    /// With several nodes: whether each side has a socket on another node …
    remote_online: PerRole<bool>,
    /// … and what this node last told the others about its own sockets.
    published: PerRole<bool>,
    /// Reading committed messages this session has not seen (another node's).
    fetch: remote::Fetch,
    /// Messages refused because another node took their seqs, and new ones
    /// held behind them, until this session has caught up.
    resync: Option<remote::Resync>,
}

impl SessionActor {
    pub fn new(
        client: ClientId,
        store: Store,
        settings: SessionSettings,
        links: SessionLinks,
    ) -> Self {
        SessionActor {
            client,
            store,
            settings,
            phase: Phase::Loading,
            status: ConversationStatus::Open,
            assignee: None,
            read_seq: PerRole::default(),
            contact: Contact::default(),
            last_seq: 0,
            next_seq: 1,
            last_public_seq: 0,
            next_prev_public: 0,
            window: Window::default(),
            pending: VecDeque::new(),
            degraded: false,
            sockets: Sockets::default(),
            announced: PerRole::new(false, links.consoles_online),
            consoles_online: links.consoles_online,
            idle_timer: None,
            generation: next_generation(),
            remote_online: PerRole::new(false, false),
            published: PerRole::new(false, false),
            fetch: remote::Fetch::default(),
            resync: None,
            links,
        }
    }

    // ---- lifecycle: loading, idling, eviction ----

    fn ready(&mut self, mut snapshot: Snapshot, ctx: &mut Context<Self>) {
        self.last_seq = snapshot.last_seq;
        self.next_seq = snapshot.last_seq + 1;
        self.last_public_seq = snapshot.last_public_seq;
        self.next_prev_public = snapshot.last_public_seq;
        self.status = snapshot.status;
        self.assignee = snapshot.assignee.clone();
        self.read_seq = PerRole::new(snapshot.customer_read_seq, snapshot.agent_read_seq);
        self.contact = std::mem::take(&mut snapshot.contact);
        self.load_window(snapshot);
        self.phase = Phase::Ready;
        self.arm_idle_timer(ctx);
    }

    fn load_window(&mut self, snapshot: Snapshot) {
        let in_flight = self.pending.iter().map(|p| &p.message);
        self.window.load(
            snapshot.recent,
            self.last_seq,
            &snapshot.known_ids,
            snapshot.known_ids_complete,
            in_flight,
        );
    }

    fn is_idle(&self) -> bool {
        self.sockets.is_empty() && self.pending.is_empty() && self.resync.is_none()
    }

    /// Once nobody is connected and nothing is in flight, drops the window
    /// and starts the eviction countdown.
    fn settle_down(&mut self, ctx: &mut Context<Self>) {
        if self.is_idle() && self.window.is_loaded() && self.phase == Phase::Ready {
            self.window.unload();
        }
        self.arm_idle_timer(ctx);
    }

    /// Starts the eviction countdown once nothing keeps the session alive.
    fn arm_idle_timer(&mut self, ctx: &mut Context<Self>) {
        if self.is_idle() && self.idle_timer.is_none() && self.phase == Phase::Ready {
            let timer = ctx.run_later(self.settings.idle_timeout, |act, ctx| {
                act.idle_timer = None;
                if act.is_idle() && act.phase == Phase::Ready {
                    log::debug!("{}: idle, evicted from memory", act.client);
                    act.stop_session(ctx);
                }
            });
            self.idle_timer = Some(timer);
        }
    }

    fn disarm_idle_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.idle_timer.take() {
            ctx.cancel_future(timer);
        }
    }

    fn stop_session(&mut self, ctx: &mut Context<Self>) {
        self.phase = Phase::Closing;
        self.links.registry.do_send(SessionEnded {
            client: self.client.clone(),
            number: self.links.number,
        });
        ctx.stop();
    }

    // ---- conversation state: read marks, status, history ----

    fn mark_read(&mut self, role: Role, seq: u64) {
        if self.move_read_mark(role, seq.min(self.last_seq)) {
            let seq = self.read_seq[role];
            self.submit_meta(WriteOp::Read { role, seq });
            self.publish(ClusterNotice::Read { role, seq });
        }
    }

    /// Moves `role`'s read mark forward to `seq` and tells the peer;
    /// whether it moved.
    fn move_read_mark(&mut self, role: Role, seq: u64) -> bool {
        if seq <= self.read_seq[role] || self.phase != Phase::Ready {
            return false;
        }
        let told = self.read_mark_for(role, role.peer());
        self.read_seq[role] = seq;
        let tell = self.read_mark_for(role, role.peer());
        if tell > told {
            let frame = ServerEvent::Read { role, seq: tell }.encode();
            self.deliver(role.peer(), ToSocket::Frame(frame), None);
        }
        true
    }

    fn set_status(&mut self, status: ConversationStatus) {
        self.status = status;
        self.submit_meta(self.status_write(status));
        self.broadcast(ServerEvent::Status { status }.encode());
    }

    fn change_status(&mut self, msg: SetStatus, ctx: &mut Context<Self>) -> Result<(), AppError> {
        let SetStatus {
            role,
            by,
            status,
            who,
        } = msg;
        if role != Role::Agent {
            return Err(AppError::Forbidden(
                "only agents resolve or reopen conversations".into(),
            ));
        }
        if self.phase != Phase::Ready {
            return Err(AppError::ShuttingDown);
        }
        if self.last_seq == 0 {
            return Err(AppError::NotFound);
        }
        if self.status != status {
            self.set_status(status);
            self.record(
                match status {
                    ConversationStatus::Resolved => Event::Resolved { by },
                    ConversationStatus::Open => Event::Reopened { by },
                },
                ctx,
            );
            self.audit_status(who, status);
        }
        Ok(())
    }

    fn shutdown(&mut self) {
        self.phase = Phase::Closing;
        for link in self.sockets.take_all() {
            link.offer(ToSocket::Shutdown);
        }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // `wait` holds the mailbox until the conversation is loaded, so every
        // Attach and Post sees the stored history.
        let load = self.store.load(self.client.clone(), RECENT_WINDOW);
        ctx.wait(load.into_actor(self).map(|result, act, ctx| match result {
            Ok(snapshot) => act.ready(snapshot, ctx),
            Err(e) => {
                log::error!("{}: cannot load conversation: {e}", act.client);
                act.stop_session(ctx);
            }
        }));
    }
}

impl Handler<Attach> for SessionActor {
    type Result = Result<(), AttachError>;

    fn handle(&mut self, msg: Attach, ctx: &mut Context<Self>) -> Self::Result {
        if self.phase != Phase::Ready {
            return Err(AttachError::Gone);
        }
        self.disarm_idle_timer(ctx);
        if self.window.is_loaded() {
            self.attach_caught_up(msg, ctx);
            return Ok(());
        }
        // `wait`: nothing else happens here until the window is back.
        let load = self.store.load(self.client.clone(), RECENT_WINDOW);
        ctx.wait(
            load.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(snapshot) => {
                        act.load_window(snapshot);
                        act.attach_caught_up(msg, ctx);
                    }
                    Err(e) => {
                        log::error!("{}: cannot load conversation: {e}", act.client);
                        msg.socket.offer(ToSocket::Unavailable);
                        act.arm_idle_timer(ctx);
                    }
                }),
        );
        Ok(())
    }
}

impl Handler<Detach> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Detach, ctx: &mut Context<Self>) {
        self.detach(msg.role, msg.socket_id);
        self.settle_down(ctx);
    }
}

impl Handler<Post> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) {
        self.post(msg, ctx);
    }
}

impl Handler<Typing> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Typing, _ctx: &mut Context<Self>) {
        self.relay_typing(msg.role, msg.active, msg.author.as_ref(), msg.socket_id);
        self.publish(ClusterNotice::Typing {
            role: msg.role,
            active: msg.active,
            author: msg.author,
        });
    }
}

impl Handler<Incoming> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Incoming, ctx: &mut Context<Self>) {
        self.remote(msg.notice, ctx);
    }
}

impl Handler<ConsolesOnline> for SessionActor {
    type Result = ();

    fn handle(&mut self, ConsolesOnline(online): ConsolesOnline, _ctx: &mut Context<Self>) {
        self.consoles_online = online;
        self.presence_changed(Role::Agent);
    }
}

impl Handler<MarkRead> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: MarkRead, _ctx: &mut Context<Self>) {
        self.mark_read(msg.role, msg.seq);
    }
}

impl Handler<SetStatus> for SessionActor {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: SetStatus, ctx: &mut Context<Self>) -> Self::Result {
        self.change_status(msg, ctx)
    }
}

impl Handler<WriteOutcome> for SessionActor {
    type Result = ();

    fn handle(&mut self, outcome: WriteOutcome, ctx: &mut Context<Self>) {
        self.outcome(outcome, ctx);
        self.settle_down(ctx);
    }
}

impl Handler<Assign> for SessionActor {
    type Result = ResponseFuture<Result<Option<Author>, AppError>>;

    fn handle(&mut self, msg: Assign, ctx: &mut Context<Self>) -> Self::Result {
        self.assign(msg, ctx)
    }
}

impl Handler<HistoryBefore> for SessionActor {
    type Result = ResponseActFuture<Self, Result<ByteString, AppError>>;

    fn handle(&mut self, msg: HistoryBefore, _ctx: &mut Context<Self>) -> Self::Result {
        self.history_before(msg)
    }
}

impl Handler<LastSeq> for SessionActor {
    type Result = u64;

    fn handle(&mut self, _: LastSeq, _ctx: &mut Context<Self>) -> u64 {
        self.last_seq
    }
}

impl Handler<Close> for SessionActor {
    type Result = bool;

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) -> bool {
        self.close_for_removal(msg.if_idle, ctx)
    }
}

impl Handler<Shutdown> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _ctx: &mut Context<Self>) {
        self.shutdown();
    }
}
