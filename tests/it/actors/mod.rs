//! Whole conversations driven through the actors, with no network: a real
//! `Registry` and `Store` (over an in-memory SQLite database) and small test
//! actors standing in for the customer and agent WebSockets.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::eventually;
use actix::prelude::*;
use serde_json::{json, Value};
use support_chat::{
    join, lookup, Agent, AgentId, AppError, AssigneeCounts, Attach, Backend, ChatMessage, ClientId,
    ConversationStatus, ConversationSummary, Detach, GetStats, HistoryBefore, InFlight, LastSeq,
    ListPage, ListQuery, MarkRead, Participant, Post, Poster, Registry, Role, SearchPage,
    SearchQuery, SessionActor, SessionSettings, SetStatus, ShutdownAll, Snapshot, SocketLink,
    SqliteBackend, Store, StoreError, ToSocket, Totals, Typing, Who, Write, Writer, RECENT_WINDOW,
};

/// A poster as a socket is: the outcome comes as a frame to that socket.
fn socket_poster(socket_id: u64) -> Poster {
    Poster::Socket {
        socket_id,
        permit: InFlight::new(1)
            .try_permit()
            .expect("a fresh semaphore has a permit"),
    }
}

/// Who a test socket of `role` is: the customer, or the service agent.
fn participant(role: Role) -> Participant {
    match role {
        Role::Customer => Participant::Customer,
        Role::Agent => Participant::Agent(Agent::service()),
    }
}

/// How long a test waits for something it expects before failing.
const WAIT: Duration = Duration::from_secs(5);
/// Mailbox of a test socket: large enough never to look stalled.
const ROOMY_MAILBOX: usize = 1_000_000;

// ---------------------------------------------------------------------------
// Test sockets
// ---------------------------------------------------------------------------

/// What a test socket was told, in order.
#[derive(Debug, Clone)]
enum Got {
    Frame(Value),
    Replaced,
    Shutdown,
    Unavailable,
    Erased,
}

/// Records everything it is sent; stands in for a `ChatSocket`, and like
/// one gives each item back to its link's backlog as it takes it.
struct Recorder {
    log: Arc<Mutex<Vec<Got>>>,
    link: SocketLink,
}

impl Actor for Recorder {
    type Context = Context<Self>;
}

impl Handler<ToSocket> for Recorder {
    type Result = ();

    fn handle(&mut self, msg: ToSocket, _ctx: &mut Context<Self>) {
        self.link.taken(&msg);
        let got = match msg {
            ToSocket::Frame(bytes) => Got::Frame(
                serde_json::from_str(&bytes).expect("the server sends valid JSON frames"),
            ),
            ToSocket::Replaced => Got::Replaced,
            ToSocket::Shutdown => Got::Shutdown,
            ToSocket::Unavailable => Got::Unavailable,
            ToSocket::Erased => Got::Erased,
        };
        self.log.lock().unwrap().push(got);
    }
}

/// Stops the recorder, as when a client disconnects.
#[derive(Message)]
#[rtype(result = "()")]
struct Hangup;

impl Handler<Hangup> for Recorder {
    type Result = ();

    fn handle(&mut self, _: Hangup, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// A socket that never reads its mailbox, like a client that stopped reading.
struct StalledSocket;

impl Actor for StalledSocket {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Holds the mailbox forever: no message is ever handled.
        ctx.wait(std::future::pending::<()>().into_actor(self));
    }
}

impl Handler<ToSocket> for StalledSocket {
    type Result = ();

    fn handle(&mut self, _: ToSocket, _ctx: &mut Context<Self>) {
        unreachable!("a stalled socket never reads its mailbox");
    }
}

/// A stalled socket whose mailbox holds `capacity` messages. The capacity is
/// set before the actor runs, so it is in force for the very first message.
fn stalled_socket(capacity: usize) -> SocketLink {
    let mut ctx = Context::new();
    ctx.set_mailbox_capacity(capacity);
    let addr = ctx.run(StalledSocket);
    SocketLink::new(addr.recipient())
}

/// The test's handle on one recording socket.
struct TestSocket {
    link: SocketLink,
    log: Arc<Mutex<Vec<Got>>>,
    addr: Addr<Recorder>,
}

impl TestSocket {
    fn new() -> TestSocket {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut ctx = Context::new();
        ctx.set_mailbox_capacity(ROOMY_MAILBOX);
        let link = SocketLink::new(ctx.address().recipient());
        let addr = ctx.run(Recorder {
            log: Arc::clone(&log),
            link: link.clone(),
        });
        TestSocket { link, log, addr }
    }

    fn events(&self) -> Vec<Got> {
        self.log.lock().unwrap().clone()
    }

    fn frames(&self) -> Vec<Value> {
        frames_of(&self.log.lock().unwrap())
    }

    fn frames_of_type(&self, kind: &str) -> Vec<Value> {
        of_type(&self.frames(), kind)
    }

    /// Every live `message` frame received, in order.
    fn messages(&self) -> Vec<Value> {
        self.frames_of_type("message")
    }

    fn errors(&self) -> Vec<Value> {
        self.frames_of_type("error")
    }

    /// `(role, online)` of every `presence` frame, in order.
    fn presence(&self) -> Vec<(String, bool)> {
        self.frames_of_type("presence")
            .iter()
            .map(|p| {
                (
                    p["role"].as_str().unwrap().to_owned(),
                    p["online"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    fn was_replaced(&self) -> bool {
        self.events().iter().any(|g| matches!(g, Got::Replaced))
    }

    fn was_shut_down(&self) -> bool {
        self.events().iter().any(|g| matches!(g, Got::Shutdown))
    }

    /// Polls the log until `check` finds what it wants; fails after `WAIT`.
    async fn wait_until<T>(&self, what: &str, mut check: impl FnMut(&[Got]) -> Option<T>) -> T {
        eventually(what, WAIT, || {
            let found = check(&self.log.lock().unwrap());
            async move { found }
        })
        .await
    }

    /// The first two frames, which must be `welcome` then `history`.
    async fn greeting(&self) -> (Value, Value) {
        let frames = self
            .wait_until("welcome and history", |log| {
                let frames = frames_of(log);
                (frames.len() >= 2).then_some(frames)
            })
            .await;
        assert_eq!(frames[0]["type"], "welcome", "welcome comes first");
        assert_eq!(frames[1]["type"], "history", "history comes second");
        (frames[0].clone(), frames[1].clone())
    }

    /// The first `message` frame with `seq`.
    async fn message(&self, seq: u64) -> Value {
        self.wait_until(&format!("message {seq}"), |log| {
            of_type(&frames_of(log), "message")
                .into_iter()
                .find(|m| m["seq"] == seq)
        })
        .await
    }

    /// Every `message` frame, once the one with `seq` has arrived.
    async fn messages_through(&self, seq: u64) -> Vec<Value> {
        self.message(seq).await;
        self.messages()
    }

    /// The `n`th `error` frame (1-based).
    async fn error(&self, n: usize) -> Value {
        self.wait_until(&format!("error frame #{n}"), |log| {
            of_type(&frames_of(log), "error").into_iter().nth(n - 1)
        })
        .await
    }

    /// The `n`th `presence` frame (1-based).
    async fn presence_frame(&self, n: usize) -> Value {
        self.wait_until(&format!("presence frame #{n}"), |log| {
            of_type(&frames_of(log), "presence").into_iter().nth(n - 1)
        })
        .await
    }

    async fn replaced(&self) {
        self.wait_until("replaced", |log| {
            log.iter().any(|g| matches!(g, Got::Replaced)).then_some(())
        })
        .await
    }

    async fn shut_down(&self) {
        self.wait_until("shutdown", |log| {
            log.iter().any(|g| matches!(g, Got::Shutdown)).then_some(())
        })
        .await
    }
}

fn frames_of(log: &[Got]) -> Vec<Value> {
    log.iter()
        .filter_map(|g| match g {
            Got::Frame(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn of_type(frames: &[Value], kind: &str) -> Vec<Value> {
    frames
        .iter()
        .filter(|f| f["type"] == kind)
        .cloned()
        .collect()
}

fn seqs(messages: &[Value]) -> Vec<u64> {
    messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect()
}

fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The messages of a `history` frame.
fn history_messages(history: &Value) -> Vec<Value> {
    assert_eq!(history["type"], "history");
    history["messages"].as_array().unwrap().clone()
}

/// A live `message` frame as it appears inside `history` (no `type`).
fn as_history_entry(frame: &Value) -> Value {
    let mut entry = frame.clone();
    entry.as_object_mut().unwrap().remove("type");
    entry
}

fn range(from: u64, to: u64) -> Vec<u64> {
    (from..=to).collect()
}

// ---------------------------------------------------------------------------
// The chat under test
// ---------------------------------------------------------------------------

/// A public message of `text` by `role`, without files or an author,
/// answered to `poster`.
fn plain_post(role: Role, text: String, id: Option<&str>, poster: Poster) -> Post {
    Post {
        role,
        author: None,
        text,
        id: id.map(str::to_owned),
        private: false,
        attachments: Vec::new(),
        poster,
    }
}

fn settings() -> SessionSettings {
    SessionSettings {
        idle_timeout: Duration::from_secs(60),
        max_text_chars: 4000,
        transcripts: false,
    }
}

/// A Registry and Store, and the conversation of one client id.
struct Chat {
    registry: Addr<Registry>,
    store: Store,
    _writer: Arc<Writer>,
    client: ClientId,
    /// The newest socket connected for each role: where posts of that role
    /// come from.
    newest: Arc<Mutex<HashMap<Role, u64>>>,
}

impl Chat {
    fn start() -> Chat {
        Chat::start_with(in_memory_backend(), settings())
    }

    fn start_with(backend: Arc<dyn Backend>, settings: SessionSettings) -> Chat {
        Chat::start_linked(backend, settings, |registry| registry)
    }

    /// A chat whose Registry `link` connects to more actors first.
    fn start_linked(
        backend: Arc<dyn Backend>,
        settings: SessionSettings,
        link: impl FnOnce(Registry) -> Registry,
    ) -> Chat {
        let _ = env_logger::builder().is_test(true).try_init();
        let (store, writer) = Store::start(backend);
        let registry = link(Registry::new(store.clone(), settings)).start();
        Chat {
            registry,
            store,
            _writer: Arc::new(writer),
            client: ClientId::parse("alice").unwrap(),
            newest: Arc::default(),
        }
    }

    /// The same server, another customer's conversation.
    fn conversation(&self, client: &str) -> Chat {
        Chat {
            registry: self.registry.clone(),
            store: self.store.clone(),
            _writer: Arc::clone(&self._writer),
            client: ClientId::parse(client).unwrap(),
            newest: Arc::default(),
        }
    }

    /// A new socket of `role`, joined with `since=0`, greeted.
    async fn connect(&self, role: Role) -> TestSocket {
        self.connect_since(role, 0).await
    }

    async fn connect_since(&self, role: Role, since: u64) -> TestSocket {
        let socket = TestSocket::new();
        self.attach(role, since, &socket.link).await;
        socket.greeting().await;
        socket
    }

    async fn attach(&self, role: Role, since: u64, link: &SocketLink) {
        join(
            &self.registry,
            &self.client,
            &participant(role),
            since,
            link.clone(),
        )
        .await
        .expect("joining the conversation");
        self.newest.lock().unwrap().insert(role, link.id);
    }

    fn newest_socket(&self, role: Role) -> u64 {
        let newest = self.newest.lock().unwrap().get(&role).copied();
        newest.expect("a socket of that role connected first")
    }

    /// A poster on the newest socket of `role`.
    fn poster(&self, role: Role) -> Poster {
        socket_poster(self.newest_socket(role))
    }

    async fn session(&self) -> Addr<SessionActor> {
        lookup(&self.registry, &self.client)
            .await
            .expect("the registry hands out the session")
    }

    async fn post(&self, role: Role, text: &str) {
        self.send_post(role, text, None).await;
    }

    async fn post_with_id(&self, role: Role, text: &str, id: &str) {
        self.send_post(role, text, Some(id)).await;
    }

    async fn send_post(&self, role: Role, text: &str, id: Option<&str>) {
        self.session()
            .await
            .send(plain_post(role, text.to_owned(), id, self.poster(role)))
            .await
            .expect("the session takes the post");
    }

    /// Posts "message {i}" for every `i` in `numbers`, as `role`.
    async fn post_many(&self, role: Role, numbers: std::ops::RangeInclusive<u64>) {
        let session = self.session().await;
        for i in numbers {
            session.do_send(plain_post(
                role,
                format!("message {i}"),
                None,
                self.poster(role),
            ));
        }
    }

    async fn detach(&self, role: Role, socket: &TestSocket) {
        self.detach_id(role, socket.link.id).await;
    }

    async fn detach_id(&self, role: Role, socket_id: u64) {
        self.session()
            .await
            .send(Detach { role, socket_id })
            .await
            .expect("the session takes the detach");
    }

    /// The decoded `history` frame answering `history_before`.
    async fn history_before(&self, before: u64, limit: usize) -> Value {
        let frame = self
            .session()
            .await
            .send(HistoryBefore {
                role: Role::Agent,
                before,
                limit,
            })
            .await
            .expect("the session answers")
            .expect("a history page");
        serde_json::from_str(&frame).unwrap()
    }

    /// Posts as a poster without a socket (the REST API) and waits for the
    /// outcome on the post's `ack`.
    async fn post_acked(
        &self,
        role: Role,
        text: &str,
        id: Option<&str>,
    ) -> Result<ChatMessage, AppError> {
        let (ack, outcome) = tokio::sync::oneshot::channel();
        self.session()
            .await
            .send(plain_post(role, text.to_owned(), id, Poster::Api(ack)))
            .await
            .expect("the session takes the post");
        tokio::time::timeout(WAIT, outcome)
            .await
            .expect("the ack is answered in time")
            .expect("the ack is answered, not dropped")
    }

    async fn typing(&self, role: Role, active: bool) {
        let socket_id = self.newest_socket(role);
        self.session()
            .await
            .send(Typing {
                role,
                author: participant(role).author(),
                socket_id,
                active,
            })
            .await
            .unwrap();
    }

    async fn mark_read(&self, role: Role, seq: u64) {
        self.session()
            .await
            .send(MarkRead { role, seq })
            .await
            .unwrap();
    }

    async fn resolve(&self, role: Role) -> Result<(), AppError> {
        self.session()
            .await
            .send(SetStatus {
                role,
                by: None,
                status: ConversationStatus::Resolved,
                who: Who::named("actor test", None),
            })
            .await
            .unwrap()
    }

    async fn last_seq(&self) -> u64 {
        self.session().await.send(LastSeq).await.unwrap()
    }

    /// Detaches both sockets and waits until the idle session has left
    /// memory (needs a short `idle_timeout`).
    async fn leave_and_wait_for_eviction(&self, customer: &TestSocket, agent: &TestSocket) {
        self.detach(Role::Customer, customer).await;
        self.detach(Role::Agent, agent).await;
        self.wait_for_eviction().await;
    }

    async fn wait_for_eviction(&self) {
        eventually("the idle session to be evicted", WAIT, || async {
            (self.sessions_in_memory().await == 0).then_some(())
        })
        .await;
    }

    /// Every stored message, paging back with `history_before`.
    async fn whole_history(&self) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before = u64::MAX;
        loop {
            let page = self.history_before(before, 200).await;
            let mut messages = history_messages(&page);
            let Some(first) = messages.first() else {
                break;
            };
            before = first["seq"].as_u64().unwrap();
            messages.extend(all);
            all = messages;
            if page["has_more"] == false {
                break;
            }
        }
        all
    }

    async fn sessions_in_memory(&self) -> usize {
        self.registry.send(GetStats).await.unwrap().sessions
    }
}

fn in_memory_backend() -> Arc<dyn Backend> {
    Arc::new(SqliteBackend::open_in_memory().expect("in-memory SQLite"))
}

/// The in-memory SQLite backend, whose commits the test can make fail
/// (`fail`) or hold back (`hold` until `release`).
struct ControlledBackend {
    inner: SqliteBackend,
    failing: AtomicBool,
    held: Mutex<bool>,
    released: Condvar,
}

impl ControlledBackend {
    fn new() -> Arc<ControlledBackend> {
        Arc::new(ControlledBackend {
            inner: SqliteBackend::open_in_memory().expect("in-memory SQLite"),
            failing: AtomicBool::new(false),
            held: Mutex::new(false),
            released: Condvar::new(),
        })
    }

    /// Every commit from now on fails (`true`) or works again (`false`).
    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Commits wait until `release` (at most `WAIT`, so a failed test
    /// cannot leave the writer thread stuck).
    fn hold(&self) {
        *self.held.lock().unwrap() = true;
    }

    fn release(&self) {
        *self.held.lock().unwrap() = false;
        self.released.notify_all();
    }
}

impl Backend for ControlledBackend {
    fn load(&self, client: &ClientId, recent: usize) -> Result<Snapshot, StoreError> {
        self.inner.load(client, recent)
    }

    fn before(
        &self,
        client: &ClientId,
        before: u64,
        limit: usize,
        reader: Role,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner.before(client, before, limit, reader)
    }

    fn find_by_client_id(
        &self,
        client: &ClientId,
        role: Role,
        id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.inner.find_by_client_id(client, role, id)
    }

    fn after(
        &self,
        client: &ClientId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner.after(client, after, limit)
    }

    fn summaries(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        self.inner.summaries(query)
    }

    fn summaries_of(&self, clients: &[ClientId]) -> Result<Vec<ConversationSummary>, StoreError> {
        self.inner.summaries_of(clients)
    }

    fn queue(&self, limit: usize) -> Result<Vec<ClientId>, StoreError> {
        self.inner.queue(limit)
    }

    fn search(&self, query: &SearchQuery) -> Result<SearchPage, StoreError> {
        self.inner.search(query)
    }

    fn assigned_to(&self, agent: AgentId) -> Result<Vec<ClientId>, StoreError> {
        self.inner.assigned_to(agent)
    }

    fn assignee_counts(
        &self,
        status: Option<ConversationStatus>,
    ) -> Result<AssigneeCounts, StoreError> {
        self.inner.assignee_counts(status)
    }

    fn totals(&self) -> Result<Totals, StoreError> {
        self.inner.totals()
    }

    fn commit_batch(&self, writes: &[Write<'_>]) -> Result<Vec<bool>, StoreError> {
        let held = self.held.lock().unwrap();
        drop(
            self.released
                .wait_timeout_while(held, WAIT, |held| *held)
                .unwrap(),
        );
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("disk unplugged (test)".into()));
        }
        self.inner.commit_batch(writes)
    }
}

/// Sessions evicted after 200 ms without sockets.
fn quick_eviction() -> SessionSettings {
    SessionSettings {
        idle_timeout: Duration::from_millis(200),
        ..settings()
    }
}

mod contact;
mod ids;
mod lifecycle;
mod marks;
mod paging;
mod presence;
mod relay;
mod routing;
mod shutdown;
mod stalled;
mod team;
