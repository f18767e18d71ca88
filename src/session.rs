//! `SessionActor`: one per conversation. It owns the conversation's recent
//! history, assigns each new message the next `seq`, hands it to the store and,
//! only once the store has committed it, sends it to both sides. It holds the
//! current customer and agent sockets as [`SocketLink`]s and never waits on
//! them: a socket whose bounded mailbox is full is detached as stalled.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use bytestring::ByteString;

use crate::domain::{now_millis, ChatMessage, ClientId, Role};
use crate::error::AppError;
use crate::protocol::{ServerEvent, HISTORY_PAGE_MAX};
use crate::store::{Snapshot, Store, WriteOutcome, WriteRequest};

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
}

/// How a session reaches one socket.
#[derive(Clone)]
pub struct SocketLink {
    /// Unique per socket, so a late `Detach` cannot remove its successor.
    pub id: u64,
    pub recipient: Recipient<ToSocket>,
    /// Set by the session when it gave up on a socket whose mailbox was
    /// full; the socket closes itself (4002) as soon as it runs again.
    pub stalled: Arc<AtomicBool>,
}

impl SocketLink {
    pub fn new(recipient: Recipient<ToSocket>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SocketLink {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            recipient,
            stalled: Arc::new(AtomicBool::new(false)),
        }
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
/// stored message (its acknowledgement) or an `error` frame.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Post {
    pub role: Role,
    pub text: String,
    pub id: Option<String>,
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

pub struct SessionActor {
    client: ClientId,
    store: Store,
    settings: SessionSettings,
    registry: Recipient<SessionEnded>,
    phase: Phase,
    /// Highest committed seq.
    last_seq: u64,
    /// Seq the next new message gets.
    next_seq: u64,
    /// The newest committed messages, oldest first, gapless.
    recent: VecDeque<ChatMessage>,
    /// Written but not yet committed, in seq order (the writer keeps order).
    pending: VecDeque<ChatMessage>,
    /// Client message ids of `recent` and `pending`, to answer retries.
    ids: HashMap<(Role, String), u64>,
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
        registry: Recipient<SessionEnded>,
    ) -> Self {
        SessionActor {
            client,
            store,
            settings,
            registry,
            phase: Phase::Loading,
            last_seq: 0,
            next_seq: 1,
            recent: VecDeque::new(),
            pending: VecDeque::new(),
            ids: HashMap::new(),
            degraded: false,
            customer: None,
            agent: None,
            idle_timer: None,
        }
    }

    fn ready(&mut self, snapshot: Snapshot, ctx: &mut Context<Self>) {
        self.last_seq = snapshot.last_seq;
        self.next_seq = snapshot.last_seq + 1;
        for m in snapshot.recent {
            if let Some(id) = &m.id {
                self.ids.insert((m.from, id.clone()), m.seq);
            }
            self.recent.push_back(m);
        }
        self.phase = Phase::Ready;
        self.arm_idle_timer(ctx);
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
        match link.recipient.try_send(item) {
            Ok(()) => {}
            Err(SendError::Full(_)) => {
                link.stalled.store(true, Ordering::Release);
                log::warn!(
                    "{} {role} socket stalled (not reading); detached",
                    self.client
                );
                *self.slot(role) = None;
                self.announce(role, false);
            }
            Err(SendError::Closed(_)) => {
                *self.slot(role) = None;
                self.announce(role, false);
            }
        }
    }

    /// Tells the peer of `role` that `role` came or went.
    fn announce(&mut self, role: Role, online: bool) {
        let frame = ServerEvent::Presence { role, online }.encode();
        self.deliver(role.peer(), ToSocket::Frame(frame));
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

    fn window_is_complete(&self) -> bool {
        self.recent.front().is_none_or(|m| m.seq == 1)
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

    fn append(&mut self, role: Role, text: String, id: Option<String>, ctx: &mut Context<Self>) {
        let message = ChatMessage {
            seq: self.next_seq,
            from: role,
            text,
            ts: now_millis(),
            id,
        };
        let request = WriteRequest {
            client: self.client.clone(),
            message: message.clone(),
            reply: ctx.address().recipient(),
        };
        match self.store.submit(request) {
            Ok(()) => {
                self.next_seq += 1;
                if let Some(id) = &message.id {
                    self.ids.insert((role, id.clone()), message.seq);
                }
                self.pending.push_back(message);
            }
            Err(e) => {
                log::error!("{}: cannot queue a write: {e}", self.client);
                self.send_error(role, &AppError::StoreUnavailable, message.id.as_deref());
            }
        }
    }

    fn committed(&mut self, message: ChatMessage) {
        self.last_seq = message.seq;
        let frame = ServerEvent::Message(&message).encode();
        self.recent.push_back(message);
        while self.recent.len() > RECENT_WINDOW {
            if let Some(old) = self.recent.pop_front() {
                if let Some(id) = old.id {
                    self.ids.remove(&(old.from, id));
                }
            }
        }
        self.deliver(Role::Customer, ToSocket::Frame(frame.clone()));
        self.deliver(Role::Agent, ToSocket::Frame(frame));
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
        self.registry.do_send(SessionEnded {
            client: self.client.clone(),
            session: ctx.address(),
        });
        ctx.stop();
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
        let role = msg.role;
        let was_online = match self.slot(role).replace(msg.socket) {
            Some(old) => {
                let _ = old.recipient.try_send(ToSocket::Replaced);
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
        }
        .encode();
        let history = self.history_after(msg.since);
        self.deliver(role, ToSocket::Frame(welcome));
        self.deliver(role, ToSocket::Frame(history));
        if !was_online {
            self.announce(role, true);
        }
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
        self.arm_idle_timer(ctx);
    }
}

impl Handler<Post> for SessionActor {
    type Result = ();

    fn handle(&mut self, msg: Post, ctx: &mut Context<Self>) {
        let Post { role, text, id } = msg;
        if self.phase != Phase::Ready {
            return self.send_error(role, &AppError::ShuttingDown, id.as_deref());
        }
        if self.degraded {
            return self.send_error(role, &AppError::StoreUnavailable, id.as_deref());
        }
        if let Some(client_msg_id) = &id {
            let key = (role, client_msg_id.clone());
            if let Some(&seq) = self.ids.get(&key) {
                // Pending: its acknowledgement is on its way. Committed:
                // send the stored copy again to the sender only.
                if let Some(stored) = self.recent_by_seq(seq) {
                    let frame = ServerEvent::Message(stored).encode();
                    self.deliver(role, ToSocket::Frame(frame));
                }
                return;
            }
            if !self.window_is_complete() {
                // Older than what memory holds: one indexed lookup keeps
                // retries idempotent however old the original is.
                let lookup =
                    self.store
                        .find_by_client_id(self.client.clone(), role, client_msg_id.clone());
                ctx.wait(
                    lookup
                        .into_actor(self)
                        .map(move |found, act, ctx| match found {
                            Ok(Some(stored)) => {
                                let frame = ServerEvent::Message(&stored).encode();
                                act.deliver(role, ToSocket::Frame(frame));
                            }
                            Ok(None) => act.append(role, text, id, ctx),
                            Err(e) => {
                                log::error!("{}: id lookup failed: {e}", act.client);
                                act.send_error(role, &AppError::StoreUnavailable, id.as_deref());
                            }
                        }),
                );
                return;
            }
        }
        self.append(role, text, id, ctx);
    }
}

impl Handler<WriteOutcome> for SessionActor {
    type Result = ();

    fn handle(&mut self, outcome: WriteOutcome, ctx: &mut Context<Self>) {
        let Some(position) = self.pending.iter().position(|m| m.seq == outcome.seq) else {
            log::error!("{}: outcome for unknown seq {}", self.client, outcome.seq);
            return;
        };
        let Some(message) = self.pending.remove(position) else {
            return;
        };
        match outcome.result {
            Ok(()) => self.committed(message),
            Err(e) => {
                log::error!("{}: message {} not stored: {e}", self.client, message.seq);
                if let Some(id) = &message.id {
                    self.ids.remove(&(message.from, id.clone()));
                }
                self.degraded = true;
                self.send_error(
                    message.from,
                    &AppError::StoreUnavailable,
                    message.id.as_deref(),
                );
            }
        }
        if self.degraded && self.pending.is_empty() {
            // Everything in flight is settled: resume right after the last
            // stored message.
            self.next_seq = self.last_seq + 1;
            self.degraded = false;
        }
        self.arm_idle_timer(ctx);
    }
}

impl Handler<HistoryBefore> for SessionActor {
    type Result = ResponseActFuture<Self, Result<ByteString, AppError>>;

    fn handle(&mut self, msg: HistoryBefore, _ctx: &mut Context<Self>) -> Self::Result {
        let before = msg.before.min(self.last_seq + 1);
        let limit = msg.limit.clamp(1, HISTORY_PAGE_MAX);
        let wanted_from = before.saturating_sub(limit as u64).max(1);
        let in_memory = self.recent.front().is_none_or(|m| m.seq <= wanted_from);
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
                let _ = link.recipient.try_send(ToSocket::Shutdown);
            }
        }
    }
}
