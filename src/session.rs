//! `SessionActor`: one per conversation. It owns the conversation's recent
//! history, assigns each new message the next `seq`, hands it to the store and,
//! only once the store has committed it, sends it to both sides. It holds the
//! current customer and agent sockets as [`SocketLink`]s and never waits on
//! them: a socket whose backlog of unwritten frames is full is detached as
//! stalled.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;
use tokio::sync::oneshot;

use crate::domain::{now_millis, ChatMessage, ClientId, ConversationStatus, Role};
use crate::error::AppError;
use crate::inbox::PresenceChanged;
use crate::protocol::{ServerEvent, HISTORY_PAGE_MAX};
use crate::store::{
    Snapshot, Store, StoreError, WriteOp, WriteOutcome, WriteRequest, MAX_KNOWN_IDS,
};

/// Newest messages a session keeps in memory; older pages come from the
/// store. At least one history page, so a (re)connect is served from memory.
pub const RECENT_WINDOW: usize = 256;
const _: () = assert!(RECENT_WINDOW >= HISTORY_PAGE_MAX);

/// How a session behaves; shared by every session of a server.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// A session with no socket for this long leaves memory.
    pub idle_timeout: Duration,
    pub max_text_chars: usize,
}

/// A frame or command for a socket actor.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum ToSocket {
    /// An encoded server frame, sent as it is.
    Frame(ByteString),
    /// A newer socket of the same role took over: say so and close (4001).
    Replaced,
    /// The server is going away: close with 1001.
    Shutdown,
    /// The conversation cannot be served (store failure): close with 1011.
    Unavailable,
}

/// Most bytes of frames that may wait for a socket to write them. A client
/// that lets more pile up is not reading: it is detached and closed (4002)
/// and resyncs with `since` when it comes back. Sized for bursts (thousands
/// of chat frames), small enough that stalled clients cost little memory.
pub const MAX_BACKLOG_BYTES: usize = 256 * 1024;

/// How a session reaches one socket.
#[derive(Clone)]
pub struct SocketLink {
    /// Unique per socket, so a late `Detach` cannot remove its successor.
    pub id: u64,
    pub recipient: Recipient<ToSocket>,
    backlog: Arc<Backlog>,
}

/// What is waiting for a socket, shared by its senders and the socket.
#[derive(Debug, Default)]
struct Backlog {
    /// Frame bytes handed over and not yet written by the socket.
    bytes: AtomicUsize,
    /// Set when a sender gave up on the socket; it closes itself (4002) as
    /// soon as it runs again.
    stalled: AtomicBool,
}

impl SocketLink {
    pub fn new(recipient: Recipient<ToSocket>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SocketLink {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            recipient,
            backlog: Arc::default(),
        }
    }

    /// Hands `item` to the socket without waiting. False when the socket is
    /// gone or stalled (its backlog or mailbox is full: the client stopped
    /// reading); a stalled socket is flagged so it closes itself.
    pub fn offer(&self, item: ToSocket) -> bool {
        if self.is_stalled() {
            return false;
        }
        let bytes = match &item {
            ToSocket::Frame(frame) => frame.len(),
            ToSocket::Replaced | ToSocket::Shutdown | ToSocket::Unavailable => 0,
        };
        let waiting = self.backlog.bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if waiting > MAX_BACKLOG_BYTES {
            self.backlog.stalled.store(true, Ordering::Release);
            return false;
        }
        match self.recipient.try_send(item) {
            Ok(()) => true,
            Err(SendError::Full(_)) => {
                self.backlog.stalled.store(true, Ordering::Release);
                false
            }
            Err(SendError::Closed(_)) => false,
        }
    }

    /// The socket wrote a frame of `bytes` handed over by `offer`.
    pub fn written(&self, bytes: usize) {
        self.backlog.bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub fn is_stalled(&self) -> bool {
        self.backlog.stalled.load(Ordering::Acquire)
    }
}

/// Attach a socket as the current `role` side; it first gets `welcome` and
/// the `history` after `since`.
#[derive(Message)]
#[rtype(result = "Result<(), AttachError>")]
pub struct Attach {
    pub role: Role,
    pub since: u64,
    pub socket: SocketLink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachError {
    /// This session is being evicted; look it up again in the Registry.
    Gone,
}

/// The socket `socket_id` of `role` went away.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Detach {
    pub role: Role,
    pub socket_id: u64,
}

/// A new message from `role`. The outcome reaches the role's socket: the
/// stored message (its acknowledgement) or an `error` frame; and `ack`, if
/// given (the REST API waits on it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Post {
    pub role: Role,
    pub text: String,
    pub id: Option<String>,
    pub ack: Option<Ack>,
    /// Dropped once the message is stored or refused: lets a socket bound
    /// how many of its messages are in flight.
    pub settled: Option<Settled>,
}

/// Where a poster without a socket learns the outcome.
pub type Ack = oneshot::Sender<Result<ChatMessage, AppError>>;

/// Dropped (never sent on) when a message is settled.
pub type Settled = oneshot::Sender<()>;

/// `role` started or stopped typing; relayed to the other side, not stored.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Typing {
    pub role: Role,
    pub active: bool,
}

/// `role` has seen the conversation up to `seq`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MarkRead {
    pub role: Role,
    pub seq: u64,
}

/// Resolve the conversation (agents only).
#[derive(Message)]
#[rtype(result = "Result<(), AppError>")]
pub struct Resolve {
    pub role: Role,
}

/// A `history` frame of up to `limit` messages older than `before`.
#[derive(Message)]
#[rtype(result = "Result<ByteString, AppError>")]
pub struct HistoryBefore {
    pub before: u64,
    pub limit: usize,
}

/// The conversation's last stored seq; 0 means nothing was ever said.
#[derive(Message)]
#[rtype(result = "u64")]
pub struct LastSeq;

/// The server is stopping: close every socket with 1001.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Told to the Registry when a session stops, so it is looked up no more.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionEnded {
    pub client: ClientId,
    pub session: Addr<SessionActor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Loading,
    Ready,
    Closing,
}

/// Who a session reports to.
#[derive(Clone)]
pub struct SessionLinks {
    pub registry: Recipient<SessionEnded>,
    /// Learns who is online, for the agents' conversation list.
    pub inbox: Option<Recipient<PresenceChanged>>,
}

/// A message written but not yet committed.
struct Pending {
    message: ChatMessage,
    /// Posters waiting without a socket (REST API).
    acks: Vec<Ack>,
    /// Dropped with the entry, when the message is settled.
    _settled: Option<Settled>,
}

pub struct SessionActor {
    client: ClientId,
    store: Store,
    settings: SessionSettings,
    links: SessionLinks,
    phase: Phase,
    status: ConversationStatus,
    customer_read_seq: u64,
    agent_read_seq: u64,
    /// Highest committed seq.
    last_seq: u64,
    /// Seq the next new message gets.
    next_seq: u64,
    /// The newest committed messages, oldest first, gapless: all of the
    /// newest `RECENT_WINDOW` while `window_loaded`, else empty.
    recent: VecDeque<ChatMessage>,
    /// False while nobody is connected: the window is dropped then, so idle
    /// conversations cost memory for their metadata only, and is read again
    /// from the store on the next attach.
    window_loaded: bool,
    /// Written but not yet committed, in seq order (the writer keeps order).
    pending: VecDeque<Pending>,
    /// Client message ids of `recent` and `pending`, to answer retries.
    ids: HashMap<(Role, String), u64>,
    /// Hashes of every client message id of the conversation, so a new id
    /// is known to be new without asking the store; a hit (a retry of an
    /// old message, or a rare collision) is checked against the store.
    known_ids: HashSet<u64>,
    /// Whether `known_ids` covers the whole conversation.
    known_ids_complete: bool,
    /// A write failed; refuse new ones until those in flight are settled,
    /// so seqs stay gapless.
    degraded: bool,
    customer: Option<SocketLink>,
    agent: Option<SocketLink>,
    idle_timer: Option<SpawnHandle>,
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
            links,
            phase: Phase::Loading,
            status: ConversationStatus::Open,
            customer_read_seq: 0,
            agent_read_seq: 0,
            last_seq: 0,
            next_seq: 1,
            recent: VecDeque::new(),
            window_loaded: false,
            pending: VecDeque::new(),
            ids: HashMap::new(),
            known_ids: HashSet::new(),
            known_ids_complete: true,
            degraded: false,
            customer: None,
            agent: None,
            idle_timer: None,
        }
    }

    fn ready(&mut self, snapshot: Snapshot, ctx: &mut Context<Self>) {
        self.last_seq = snapshot.last_seq;
        self.next_seq = snapshot.last_seq + 1;
        self.status = snapshot.status;
        self.customer_read_seq = snapshot.customer_read_seq;
        self.agent_read_seq = snapshot.agent_read_seq;
        self.load_window(snapshot);
        self.phase = Phase::Ready;
        self.arm_idle_timer(ctx);
    }

    /// Takes the recent messages and known ids of a snapshot. Messages past
    /// `last_seq` are left out: their outcomes are still in the mailbox and
    /// will add them.
    fn load_window(&mut self, snapshot: Snapshot) {
        self.recent.clear();
        self.ids.clear();
        for m in snapshot
            .recent
            .into_iter()
            .filter(|m| m.seq <= self.last_seq)
        {
            if let Some(id) = &m.id {
                self.ids.insert((m.from, id.clone()), m.seq);
            }
            self.recent.push_back(m);
        }
        for p in &self.pending {
            if let Some(id) = &p.message.id {
                self.ids.insert((p.message.from, id.clone()), p.message.seq);
            }
        }
        self.known_ids = snapshot
            .known_ids
            .iter()
            .map(|(role, id)| id_hash(*role, id))
            .collect();
        self.known_ids_complete = snapshot.known_ids_complete;
        self.window_loaded = true;
    }

    /// Once nobody is connected and nothing is in flight, drops the window
    /// and starts the eviction countdown.
    fn settle_down(&mut self, ctx: &mut Context<Self>) {
        let idle = self.customer.is_none() && self.agent.is_none() && self.pending.is_empty();
        if idle && self.window_loaded && self.phase == Phase::Ready {
            self.unload_window();
        }
        self.arm_idle_timer(ctx);
    }

    /// Nobody is connected: keep only what numbering and retries need.
    fn unload_window(&mut self) {
        self.recent = VecDeque::new();
        self.ids = HashMap::new();
        self.known_ids = HashSet::new();
        self.known_ids_complete = false;
        self.window_loaded = false;
    }

    fn slot(&mut self, role: Role) -> &mut Option<SocketLink> {
        match role {
            Role::Customer => &mut self.customer,
            Role::Agent => &mut self.agent,
        }
    }

    fn is_online(&self, role: Role) -> bool {
        match role {
            Role::Customer => self.customer.is_some(),
            Role::Agent => self.agent.is_some(),
        }
    }

    /// Sends to the `role` socket without ever waiting; a full mailbox means
    /// the client stopped reading, so the socket is detached as stalled.
    fn deliver(&mut self, role: Role, item: ToSocket) {
        let Some(link) = self.slot(role).as_ref() else {
            return;
        };
        if !link.offer(item) {
            if link.is_stalled() {
                log::warn!(
                    "{}: {role} socket stalled (not reading); detached",
                    self.client
                );
            }
            *self.slot(role) = None;
            self.announce(role, false);
        }
    }

    /// Tells the peer of `role` (and the inbox) that `role` came or went.
    fn announce(&mut self, role: Role, online: bool) {
        let frame = ServerEvent::Presence { role, online }.encode();
        self.deliver(role.peer(), ToSocket::Frame(frame));
        if let Some(inbox) = &self.links.inbox {
            inbox.do_send(PresenceChanged {
                client: self.client.clone(),
                role,
                online,
            });
        }
    }

    fn read_seq(&self, role: Role) -> u64 {
        match role {
            Role::Customer => self.customer_read_seq,
            Role::Agent => self.agent_read_seq,
        }
    }

    fn broadcast(&mut self, frame: ByteString) {
        self.deliver(Role::Customer, ToSocket::Frame(frame.clone()));
        self.deliver(Role::Agent, ToSocket::Frame(frame));
    }

    /// Queues a write whose outcome nobody waits for (read marks, status).
    fn submit_meta(&self, op: WriteOp) {
        let request = WriteRequest {
            client: self.client.clone(),
            op,
            reply: None,
        };
        if let Err(e) = self.store.submit(request) {
            log::error!("{}: cannot queue a write: {e}", self.client);
        }
    }

    fn send_error(&mut self, role: Role, err: &AppError, id: Option<&str>) {
        let frame = ServerEvent::Error {
            code: err.code(),
            message: err.to_string(),
            id,
        }
        .encode();
        self.deliver(role, ToSocket::Frame(frame));
    }

    /// Makes `msg.socket` the `role` side: welcome, history, presence.
    fn attach(&mut self, msg: Attach) {
        let role = msg.role;
        let socket_id = msg.socket.id;
        let was_online = match self.slot(role).replace(msg.socket) {
            Some(old) => {
                // Full: flagged stalled, so it closes itself (4002) instead.
                old.offer(ToSocket::Replaced);
                true
            }
            None => false,
        };
        log::info!("{}: {role} connected", self.client);
        let welcome = ServerEvent::Welcome {
            role,
            client_id: &self.client,
            last_seq: self.last_seq,
            peer_online: self.is_online(role.peer()),
            max_text_chars: self.settings.max_text_chars,
            status: self.status,
            read_seq: self.read_seq(role),
            peer_read_seq: self.read_seq(role.peer()),
        }
        .encode();
        let history = self.history_after(msg.since);
        self.deliver(role, ToSocket::Frame(welcome));
        self.deliver(role, ToSocket::Frame(history));
        // The new socket may already be gone or stalled: then it was
        // detached above and must not be announced.
        let still_attached = self.slot(role).as_ref().map(|l| l.id) == Some(socket_id);
        if !was_online && still_attached {
            self.announce(role, true);
        }
    }

    /// Whether `(role, id)` may name a stored message older than memory.
    fn maybe_stored(&self, role: Role, id: &str) -> bool {
        let window_is_complete =
            self.window_loaded && self.recent.front().is_none_or(|m| m.seq == 1);
        !window_is_complete
            && (!self.known_ids_complete || self.known_ids.contains(&id_hash(role, id)))
    }

    fn remember_id(&mut self, role: Role, id: &str, seq: u64) {
        self.ids.insert((role, id.to_owned()), seq);
        if self.known_ids_complete {
            self.known_ids.insert(id_hash(role, id));
            if self.known_ids.len() > MAX_KNOWN_IDS {
                // Bound the memory of huge conversations; from now on
                // unknown ids are checked against the store.
                self.known_ids = HashSet::new();
                self.known_ids_complete = false;
            }
        }
    }

    fn recent_by_seq(&self, seq: u64) -> Option<&ChatMessage> {
        let first = self.recent.front()?.seq;
        self.recent
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// The `history` frame for a socket that has everything up to `since`.
    fn history_after(&self, since: u64) -> ByteString {
        let newer = self.recent.iter().filter(|m| m.seq > since);
        let count = newer.clone().count();
        let page: Vec<ChatMessage> = newer
            .skip(count.saturating_sub(HISTORY_PAGE_MAX))
            .cloned()
            .collect();
        let has_more = page.first().is_some_and(|m| m.seq > since + 1);
        ServerEvent::History {
            messages: &page,
            has_more,
        }
        .encode()
    }

    fn append(
        &mut self,
        role: Role,
        text: String,
        id: Option<String>,
        (ack, settled): (Option<Ack>, Option<Settled>),
        ctx: &mut Context<Self>,
    ) {
        let message = ChatMessage {
            seq: self.next_seq,
            from: role,
            text,
            ts: now_millis(),
            id,
        };
        let request = WriteRequest {
            client: self.client.clone(),
            op: WriteOp::Message(message.clone()),
            reply: Some(ctx.address().recipient()),
        };
        match self.store.submit(request) {
            Ok(()) => {
                self.next_seq += 1;
                if let Some(id) = &message.id {
                    self.remember_id(role, id, message.seq);
                }
                self.pending.push_back(Pending {
                    message,
                    acks: ack.into_iter().collect(),
                    _settled: settled,
                });
            }
            Err(e) => {
                log::error!("{}: cannot queue a write: {e}", self.client);
                self.refuse(role, AppError::StoreUnavailable, message.id.as_deref(), ack);
            }
        }
    }

    /// Tells a poster its message was not stored.
    fn refuse(&mut self, role: Role, err: AppError, id: Option<&str>, ack: Option<Ack>) {
        match ack {
            Some(ack) => {
                let _ = ack.send(Err(err));
            }
            None => self.send_error(role, &err, id),
        }
    }

    /// A stored message again, for a retry: to the poster only.
    fn resend(&mut self, role: Role, stored: &ChatMessage, ack: Option<Ack>) {
        match ack {
            Some(ack) => {
                let _ = ack.send(Ok(stored.clone()));
            }
            None => {
                let frame = ServerEvent::Message(stored).encode();
                self.deliver(role, ToSocket::Frame(frame));
            }
        }
    }

    fn committed(&mut self, pending: Pending) {
        let message = pending.message;
        self.last_seq = message.seq;
        let frame = ServerEvent::Message(&message).encode();
        for ack in pending.acks {
            let _ = ack.send(Ok(message.clone()));
        }
        let reopens = message.from == Role::Customer && self.status == ConversationStatus::Resolved;
        if self.window_loaded {
            self.recent.push_back(message);
        } else if let Some(id) = message.id {
            self.ids.remove(&(message.from, id));
        }
        while self.recent.len() > RECENT_WINDOW {
            if let Some(old) = self.recent.pop_front() {
                if let Some(id) = old.id {
                    self.ids.remove(&(old.from, id));
                }
            }
        }
        self.broadcast(frame);
        if reopens {
            // The store reopened it in the same transaction, unless a
            // Resolve queued after this message re-resolved it: say open last.
            self.status = ConversationStatus::Open;
            self.submit_meta(WriteOp::Status(self.status));
            self.broadcast(
                ServerEvent::Status {
                    status: self.status,
                }
                .encode(),
            );
        }
    }

    /// The store's verdict on the pending message `seq`.
    fn settle(&mut self, seq: u64, result: Result<(), StoreError>) {
        let Some(position) = self.pending.iter().position(|p| p.message.seq == seq) else {
            log::error!("{}: outcome for unknown seq {seq}", self.client);
            return;
        };
        let Some(pending) = self.pending.remove(position) else {
            return;
        };
        if let Err(e) = result {
            let message = pending.message;
            log::error!("{}: message {} not stored: {e}", self.client, message.seq);
            if let Some(id) = &message.id {
                self.ids.remove(&(message.from, id.clone()));
            }
            self.degraded = true;
            if pending.acks.is_empty() {
                let id = message.id.as_deref();
                self.send_error(message.from, &AppError::StoreUnavailable, id);
            }
            for ack in pending.acks {
                let _ = ack.send(Err(AppError::StoreUnavailable));
            }
            return;
        }
        self.committed(pending);
    }

    /// Starts the eviction countdown once nothing keeps the session alive.
    fn arm_idle_timer(&mut self, ctx: &mut Context<Self>) {
        let idle = self.customer.is_none() && self.agent.is_none() && self.pending.is_empty();
        if idle && self.idle_timer.is_none() && self.phase == Phase::Ready {
            let timer = ctx.run_later(self.settings.idle_timeout, |act, ctx| {
                act.idle_timer = None;
                let still_idle =
                    act.customer.is_none() && act.agent.is_none() && act.pending.is_empty();
                if still_idle && act.phase == Phase::Ready {
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
            session: ctx.address(),
        });
        ctx.stop();
    }
}

/// A fixed-key hash of a client message id (deterministic in the process).
fn id_hash(role: Role, id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (role, id).hash(&mut hasher);
    hasher.finish()
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
        if self.window_loaded {
            self.attach(msg);
            return Ok(());
        }
        // `wait`: nothing else happens here until the window is back.
        let load = self.store.load(self.client.clone(), RECENT_WINDOW);
        ctx.wait(
            load.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok(snapshot) => {
                        act.load_window(snapshot);
                        act.attach(msg);
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
        let current = self.slot(msg.role).as_ref().map(|link| link.id);
        if current == Some(msg.socket_id) {
            *self.slot(msg.role) = None;
            log::info!("{}: {} disconnected", self.client, msg.role);
            self.announce(msg.role, false);
        }
        self.settle_down(ctx);
    }
}

impl Handler<Post> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) {
        let Post {
            role,
            text,
            id,
            ack,
            settled,
        } = msg;
        if self.phase != Phase::Ready {
            return self.refuse(role, AppError::ShuttingDown, id.as_deref(), ack);
        }
        if self.degraded {
            return self.refuse(role, AppError::StoreUnavailable, id.as_deref(), ack);
        }
        if let Some(client_msg_id) = &id {
            let key = (role, client_msg_id.clone());
            if let Some(&seq) = self.ids.get(&key) {
                // Committed: send the stored copy again to the poster only.
                // Pending: its acknowledgement is on its way.
                if let Some(stored) = self.recent_by_seq(seq).cloned() {
                    self.resend(role, &stored, ack);
                } else if let Some(waiting) = self.pending.iter_mut().find(|p| p.message.seq == seq)
                {
                    waiting.acks.extend(ack);
                }
                return;
            }
            if self.maybe_stored(role, client_msg_id) {
                // Older than what memory holds: one indexed lookup keeps
                // retries idempotent however old the original is.
                let lookup =
                    self.store
                        .find_by_client_id(self.client.clone(), role, client_msg_id.clone());
                ctx.wait(
                    lookup
                        .into_actor(self)
                        .map(move |found, act, ctx| match found {
                            Ok(Some(stored)) => act.resend(role, &stored, ack),
                            Ok(None) => act.append(role, text, id, (ack, settled), ctx),
                            Err(e) => {
                                log::error!("{}: id lookup failed: {e}", act.client);
                                act.refuse(role, AppError::StoreUnavailable, id.as_deref(), ack);
                            }
                        }),
                );
                return;
            }
        }
        self.append(role, text, id, (ack, settled), ctx);
    }
}

impl Handler<Typing> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Typing, _ctx: &mut Context<Self>) {
        let frame = ServerEvent::Typing {
            role: msg.role,
            active: msg.active,
        }
        .encode();
        self.deliver(msg.role.peer(), ToSocket::Frame(frame));
    }
}

impl Handler<MarkRead> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: MarkRead, _ctx: &mut Context<Self>) {
        let seq = msg.seq.min(self.last_seq);
        let mark = match msg.role {
            Role::Customer => &mut self.customer_read_seq,
            Role::Agent => &mut self.agent_read_seq,
        };
        if seq <= *mark || self.phase != Phase::Ready {
            return;
        }
        *mark = seq;
        self.submit_meta(WriteOp::Read {
            role: msg.role,
            seq,
        });
        let frame = ServerEvent::Read {
            role: msg.role,
            seq,
        }
        .encode();
        self.deliver(msg.role.peer(), ToSocket::Frame(frame));
    }
}

impl Handler<Resolve> for SessionActor {
    type Result = Result<(), AppError>;

    fn handle(&mut self, msg: Resolve, _ctx: &mut Context<Self>) -> Self::Result {
        if msg.role != Role::Agent {
            return Err(AppError::Forbidden(
                "only agents resolve conversations".into(),
            ));
        }
        if self.phase != Phase::Ready {
            return Err(AppError::ShuttingDown);
        }
        if self.last_seq == 0 {
            return Err(AppError::NotFound);
        }
        if self.status != ConversationStatus::Resolved {
            self.status = ConversationStatus::Resolved;
            self.submit_meta(WriteOp::Status(self.status));
            self.broadcast(
                ServerEvent::Status {
                    status: self.status,
                }
                .encode(),
            );
        }
        Ok(())
    }
}

impl Handler<WriteOutcome> for SessionActor {
    type Result = ();

    fn handle(&mut self, outcome: WriteOutcome, ctx: &mut Context<Self>) {
        for (seq, result) in outcome.results {
            self.settle(seq, result);
        }
        if self.degraded && self.pending.is_empty() {
            // Everything in flight is settled: resume right after the last
            // stored message.
            self.next_seq = self.last_seq + 1;
            self.degraded = false;
        }
        self.settle_down(ctx);
    }
}

impl Handler<HistoryBefore> for SessionActor {
    type Result = ResponseActFuture<Self, Result<ByteString, AppError>>;

    fn handle(&mut self, msg: HistoryBefore, _ctx: &mut Context<Self>) -> Self::Result {
        let before = msg.before.min(self.last_seq + 1);
        let limit = msg.limit.clamp(1, HISTORY_PAGE_MAX);
        let wanted_from = before.saturating_sub(limit as u64).max(1);
        let in_memory =
            self.window_loaded && self.recent.front().is_none_or(|m| m.seq <= wanted_from);
        let page = |messages: &[ChatMessage]| {
            ServerEvent::History {
                messages,
                has_more: messages.first().is_some_and(|m| m.seq > 1),
            }
            .encode()
        };
        if in_memory {
            let messages: Vec<ChatMessage> = self
                .recent
                .iter()
                .filter(|m| m.seq >= wanted_from && m.seq < before)
                .cloned()
                .collect();
            return Box::pin(fut::ready(Ok(page(&messages))));
        }
        let read = self.store.before(self.client.clone(), before, limit);
        Box::pin(
            read.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(messages) => Ok(page(&messages)),
                    Err(e) => {
                        log::error!("{}: history read failed: {e}", act.client);
                        Err(AppError::StoreUnavailable)
                    }
                }),
        )
    }
}

impl Handler<LastSeq> for SessionActor {
    type Result = u64;

    fn handle(&mut self, _: LastSeq, _ctx: &mut Context<Self>) -> u64 {
        self.last_seq
    }
}

impl Handler<Shutdown> for SessionActor {
    type Result = ();

    fn handle(&mut self, _: Shutdown, _ctx: &mut Context<Self>) {
        self.phase = Phase::Closing;
        for role in [Role::Customer, Role::Agent] {
            if let Some(link) = self.slot(role).take() {
                link.offer(ToSocket::Shutdown);
            }
        }
    }
}
