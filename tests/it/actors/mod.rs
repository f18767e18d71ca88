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
        let _ = env_logger::builder().is_test(true).try_init();
        let (store, writer) = Store::start(backend);
        let registry = Registry::new(store.clone(), settings).start();
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

// ---------------------------------------------------------------------------
// Relay
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_customer_message_reaches_both_sides_and_the_agent_reply_comes_back() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "Hello, my order is late", "c-1")
        .await;
    let ack = customer.message(1).await;
    let seen = agent.message(1).await;
    assert_eq!(ack, seen, "both sides get the very same stored message");
    assert_eq!(ack["type"], "message");
    assert_eq!(ack["from"], "customer");
    assert_eq!(ack["text"], "Hello, my order is late");
    assert_eq!(
        ack["id"], "c-1",
        "the acknowledgement carries the sender's id"
    );
    assert!(ack["ts"].as_str().unwrap().ends_with('Z'));

    chat.post(Role::Agent, "Let me check").await;
    let reply = customer.message(2).await;
    assert_eq!(agent.message(2).await, reply);
    assert_eq!(reply["from"], "agent");
    assert_eq!(reply["text"], "Let me check");
    assert!(reply.get("id").is_none(), "no id when the sender gave none");

    assert_eq!(seqs(&customer.messages()), [1, 2]);
    assert_eq!(seqs(&agent.messages()), [1, 2]);
    assert!(customer.errors().is_empty() && agent.errors().is_empty());
}

#[actix_web::test]
async fn the_welcome_describes_the_conversation_and_the_role() {
    let chat = Chat::start();
    let customer = TestSocket::new();
    chat.attach(Role::Customer, 0, &customer.link).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(
        welcome,
        json!({
            "type": "welcome",
            "role": "customer",
            "client_id": "alice",
            "last_seq": 0,
            "peer_online": false,
            "max_text_chars": 4000,
            "status": "open",
            "read_seq": 0,
            "peer_read_seq": 0,
            "contact": null,
        })
    );
    assert_eq!(
        history,
        json!({"type": "history", "messages": [], "has_more": false})
    );
}

// ---------------------------------------------------------------------------
// History on attach
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_socket_attaching_with_since_gets_welcome_then_exactly_the_newer_messages() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=10).await;
    let acks = customer.messages_through(10).await;
    assert_eq!(seqs(&acks), range(1, 10));

    for since in [0, 1, 6, 9, 10, 11] {
        let agent = chat.connect_since(Role::Agent, since).await;
        let (welcome, history) = agent.greeting().await;
        assert_eq!(welcome["last_seq"], 10);
        assert_eq!(welcome["peer_online"], true);
        let messages = history_messages(&history);
        let expected: Vec<u64> = (since + 1..=10).collect();
        assert_eq!(seqs(&messages), expected, "since={since}");
        assert_eq!(history["has_more"], false, "since={since}");
        let expected_entries: Vec<Value> = acks
            .iter()
            .filter(|m| m["seq"].as_u64().unwrap() > since)
            .map(as_history_entry)
            .collect();
        assert_eq!(
            messages, expected_entries,
            "history holds the stored messages"
        );
    }
}

#[actix_web::test]
async fn more_than_a_page_of_newer_messages_sends_the_newest_200_with_has_more() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=210).await;
    customer.message(210).await;

    for (since, has_more) in [(0, true), (9, true), (10, false), (150, false)] {
        let agent = chat.connect_since(Role::Agent, since).await;
        let (welcome, history) = agent.greeting().await;
        assert_eq!(welcome["last_seq"], 210);
        let messages = history_messages(&history);
        let first = (since + 1).max(11);
        assert_eq!(seqs(&messages), range(first, 210), "since={since}");
        assert_eq!(history["has_more"], has_more, "since={since}");
    }
}

// ---------------------------------------------------------------------------
// Idempotent message ids
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_retried_message_id_is_stored_once_and_acknowledged_again() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "Where is my parcel?", "m1")
        .await;
    let original = customer.message(1).await;
    agent.message(1).await;

    chat.post_with_id(Role::Customer, "Where is my parcel? (retry)", "m1")
        .await;
    // A later message marks the point by which the retry was answered.
    chat.post(Role::Customer, "hello?").await;
    customer.message(2).await;
    agent.message(2).await;

    let acks = customer.messages();
    assert_eq!(
        seqs(&acks),
        [1, 1, 2],
        "the sender gets the stored copy again"
    );
    assert_eq!(
        acks[1], original,
        "the stored message, not the retried text"
    );
    assert_eq!(seqs(&agent.messages()), [1, 2], "the peer sees it once");

    // The same id from the other role is a different message.
    chat.post_with_id(Role::Agent, "On its way", "m1").await;
    let reply = agent.message(3).await;
    assert_eq!(reply["from"], "agent");
    assert_eq!(reply["id"], "m1");
    assert_eq!(customer.message(3).await, reply);

    let stored = chat.whole_history().await;
    assert_eq!(seqs(&stored), [1, 2, 3]);
    assert_eq!(
        texts(&stored),
        ["Where is my parcel?", "hello?", "On its way"]
    );
}

#[actix_web::test]
async fn a_retry_sent_before_the_original_is_acknowledged_is_stored_once() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    let session = chat.session().await;
    for _ in 0..3 {
        session.do_send(plain_post(
            Role::Customer,
            "quick".into(),
            Some("fast"),
            chat.poster(Role::Customer),
        ));
    }
    chat.post(Role::Customer, "marker").await;
    customer.message(2).await;
    agent.message(2).await;

    assert_eq!(seqs(&agent.messages()), [1, 2], "stored once");
    let acks = customer.messages();
    assert!(!acks.is_empty() && acks.iter().all(|m| m["seq"] == 1 || m["seq"] == 2));
    assert!(
        acks.iter().filter(|m| m["seq"] == 1).all(|m| *m == acks[0]),
        "every acknowledgement of the retried id is the same stored message"
    );
    assert_eq!(seqs(&chat.whole_history().await), [1, 2]);
}

#[actix_web::test]
async fn an_id_older_than_the_memory_window_is_still_recognised() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post_with_id(Role::Customer, "the very first", "old-1")
        .await;
    let original = customer.message(1).await;
    let newer = RECENT_WINDOW as u64 + 50;
    chat.post_many(Role::Agent, 2..=newer + 1).await;
    customer.message(newer + 1).await;
    agent.message(newer + 1).await;

    chat.post_with_id(Role::Customer, "the very first, again", "old-1")
        .await;
    // A fresh id also goes through the store lookup, and is stored.
    chat.post_with_id(Role::Customer, "something new", "new-1")
        .await;
    let fresh = customer.message(newer + 2).await;
    assert_eq!(fresh["id"], "new-1");
    agent.message(newer + 2).await;

    let acks = customer.messages();
    let again: Vec<&Value> = acks.iter().filter(|m| m["seq"] == 1).collect();
    assert_eq!(
        again.len(),
        2,
        "the retry was answered with the stored copy"
    );
    assert_eq!(*again[1], original);
    assert_eq!(
        agent.messages().len() as u64,
        newer + 2,
        "the peer never sees the retry"
    );
    let last = chat.history_before(u64::MAX, 1).await;
    assert_eq!(seqs(&history_messages(&last)), [newer + 2]);
}

// ---------------------------------------------------------------------------
// Takeover and presence
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_second_socket_of_the_same_role_takes_over_without_the_peer_seeing_it_leave() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let first_tab = chat.connect(Role::Agent).await;
    customer.presence_frame(1).await;

    let second_tab = chat.connect(Role::Agent).await;
    first_tab.replaced().await;
    let (welcome, _) = second_tab.greeting().await;
    assert_eq!(welcome["peer_online"], true);
    assert!(!second_tab.was_replaced());

    chat.post(Role::Customer, "still there?").await;
    customer.message(1).await;
    second_tab.message(1).await;
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true)],
        "no offline/online flicker on takeover"
    );
    assert!(
        first_tab.messages().is_empty(),
        "the replaced socket gets nothing more"
    );
    assert!(
        matches!(first_tab.events().last(), Some(Got::Replaced)),
        "replaced is the last thing the old socket hears"
    );
}

#[actix_web::test]
async fn the_peer_learns_when_the_other_side_comes_and_goes() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;

    let agent = chat.connect(Role::Agent).await;
    assert_eq!(
        customer.presence_frame(1).await,
        json!({"type": "presence", "role": "agent", "online": true})
    );
    chat.detach(Role::Agent, &agent).await;
    assert_eq!(
        customer.presence_frame(2).await,
        json!({"type": "presence", "role": "agent", "online": false})
    );

    let agent = chat.connect(Role::Agent).await;
    assert_eq!(customer.presence_frame(3).await["online"], true);
    chat.detach(Role::Customer, &customer).await;
    assert_eq!(
        agent.presence_frame(1).await,
        json!({"type": "presence", "role": "customer", "online": false})
    );
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(welcome["peer_online"], true);
    assert_eq!(agent.presence_frame(2).await["online"], true);
}

#[actix_web::test]
async fn a_late_detach_from_a_replaced_socket_changes_nothing() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let old_tab = chat.connect(Role::Agent).await;
    let new_tab = chat.connect(Role::Agent).await;
    old_tab.replaced().await;

    chat.detach(Role::Agent, &old_tab).await;
    // The wrong role with the current id changes nothing either.
    chat.detach_id(Role::Customer, new_tab.link.id).await;

    chat.post(Role::Customer, "hello?").await;
    customer.message(1).await;
    new_tab.message(1).await;
    assert_eq!(customer.presence(), [("agent".to_owned(), true)]);
    assert!(new_tab.presence().is_empty());

    // The current socket's detach does count.
    chat.detach(Role::Agent, &new_tab).await;
    assert_eq!(customer.presence_frame(2).await["online"], false);
}

#[actix_web::test]
async fn an_agent_who_comes_first_is_seen_by_the_customer_later() {
    let chat = Chat::start();
    let agent = chat.connect(Role::Agent).await;
    let (welcome, _) = agent.greeting().await;
    assert_eq!(welcome["peer_online"], false);

    chat.post(Role::Agent, "Hi! How can we help?").await;
    let said = agent.message(1).await;

    let customer = chat.connect(Role::Customer).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(welcome["last_seq"], 1);
    assert_eq!(welcome["peer_online"], true);
    assert_eq!(history_messages(&history), [as_history_entry(&said)]);
    assert_eq!(history["has_more"], false);
    assert_eq!(
        agent.presence_frame(1).await,
        json!({"type": "presence", "role": "customer", "online": true})
    );
}

// ---------------------------------------------------------------------------
// Sockets that stop reading or are gone
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_stalled_agent_is_detached_without_holding_up_the_customer() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // Room for welcome, history and two messages; the third finds it full.
    let agent = stalled_socket(4);
    chat.attach(Role::Agent, 0, &agent).await;
    assert_eq!(customer.presence_frame(1).await["online"], true);

    let started = Instant::now();
    chat.post_many(Role::Customer, 1..=50).await;
    let acks = customer.messages_through(50).await;
    assert_eq!(seqs(&acks), range(1, 50), "every message acknowledged");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "acknowledgements took {:?}",
        started.elapsed()
    );
    assert!(agent.is_stalled(), "marked stalled");
    assert_eq!(
        customer.presence(),
        [("agent".to_owned(), true), ("agent".to_owned(), false)]
    );

    // The conversation goes on without it, and a new agent socket can join.
    let agent = chat.connect_since(Role::Agent, 48).await;
    let (welcome, history) = agent.greeting().await;
    assert_eq!(welcome["last_seq"], 50);
    assert_eq!(seqs(&history_messages(&history)), [49, 50]);
    assert_eq!(customer.presence_frame(3).await["online"], true);
}

#[actix_web::test]
async fn a_replaced_socket_that_cannot_be_told_is_marked_stalled() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // Its mailbox is full once welcome and history are in: `Replaced` cannot
    // reach it, so only the stalled flag can make it close.
    let old_tab = stalled_socket(2);
    chat.attach(Role::Agent, 0, &old_tab).await;
    assert_eq!(customer.presence_frame(1).await["online"], true);
    assert!(!old_tab.is_stalled());

    let new_tab = chat.connect(Role::Agent).await;
    chat.post(Role::Customer, "hello?").await;
    new_tab.message(1).await;
    assert_eq!(customer.presence(), [("agent".to_owned(), true)]);
    assert!(
        old_tab.is_stalled(),
        "the old socket was neither told it was replaced nor marked stalled"
    );
}

/// The stall of the brief: a socket whose mailbox holds one frame. It is
/// full after `welcome`, so the session gives up on it during `Attach`.
#[actix_web::test]
async fn an_agent_that_stalls_while_attaching_is_not_announced_online() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = stalled_socket(1);
    chat.attach(Role::Agent, 0, &agent).await;

    chat.post_many(Role::Customer, 1..=50).await;
    let acks = customer.messages_through(50).await;
    assert_eq!(seqs(&acks), range(1, 50), "every message acknowledged");
    assert!(agent.is_stalled(), "marked stalled");
    let presence = customer.presence();
    assert!(
        !presence.contains(&("agent".to_owned(), true)),
        "the customer must never see the stalled agent online, got {presence:?}"
    );
}

#[actix_web::test]
async fn a_socket_that_is_gone_before_its_attach_is_not_announced_online() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;

    // The client hung up while its socket was still joining.
    let agent = TestSocket::new();
    agent.addr.send(Hangup).await.unwrap();
    eventually("the recorder to stop", WAIT, || async {
        (!agent.addr.connected()).then_some(())
    })
    .await;
    chat.attach(Role::Agent, 0, &agent.link).await;

    chat.post(Role::Customer, "anyone?").await;
    customer.message(1).await;
    let presence = customer.presence();
    assert_ne!(
        presence.last(),
        Some(&("agent".to_owned(), true)),
        "the customer is told a vanished agent is online: {presence:?}"
    );
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(
        welcome["peer_online"], false,
        "the session knows it is gone"
    );
}

// ---------------------------------------------------------------------------
// Paging back
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn history_before_pages_back_to_the_first_message_from_memory() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_many(Role::Customer, 1..=30).await;
    customer.message(30).await;

    let page = chat.history_before(31, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(21, 30));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(21, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(11, 20));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(11, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, 10));
    assert_eq!(page["has_more"], false);
    assert_eq!(
        texts(&history_messages(&page))[0],
        "message 1",
        "oldest first"
    );

    // Beyond the end is clamped; a partial last page; nothing before 1.
    let page = chat.history_before(u64::MAX, 5).await;
    assert_eq!(seqs(&history_messages(&page)), range(26, 30));
    let page = chat.history_before(4, 10).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, 3));
    assert_eq!(page["has_more"], false);
    for before in [0, 1] {
        let page = chat.history_before(before, 10).await;
        assert_eq!(
            page,
            json!({"type": "history", "messages": [], "has_more": false})
        );
    }
}

#[actix_web::test]
async fn history_before_pages_back_to_the_first_message_from_the_store() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    // More than a page and more than memory: the first seqs only in the store.
    let total = 300;
    assert!((RECENT_WINDOW as u64) < total - 200);
    chat.post_many(Role::Customer, 1..=total).await;
    let acks = customer.messages_through(total).await;

    let page = chat.history_before(total + 1, 200).await;
    assert_eq!(seqs(&history_messages(&page)), range(total - 199, total));
    assert_eq!(page["has_more"], true);
    let page = chat.history_before(total - 199, 200).await;
    assert_eq!(seqs(&history_messages(&page)), range(1, total - 200));
    assert_eq!(page["has_more"], false);
    let page = chat.history_before(60, 50).await;
    assert_eq!(seqs(&history_messages(&page)), range(10, 59));
    assert_eq!(page["has_more"], true);

    // Small pages all the way back: every message exactly once, in order,
    // the same from the store as it was live.
    let mut all = Vec::new();
    let mut before = total + 1;
    loop {
        let page = chat.history_before(before, 64).await;
        let mut messages = history_messages(&page);
        assert!(!messages.is_empty());
        before = messages[0]["seq"].as_u64().unwrap();
        assert_eq!(page["has_more"], before > 1);
        messages.extend(all);
        all = messages;
        if before == 1 {
            break;
        }
    }
    let live: Vec<Value> = acks.iter().map(as_history_entry).collect();
    assert_eq!(all, live);
}

// ---------------------------------------------------------------------------
// Idle eviction
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn an_idle_session_leaves_memory_and_comes_back_with_identical_history() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    for i in 1..=6 {
        let (role, id) = if i % 2 == 1 {
            (Role::Customer, format!("c{i}"))
        } else {
            (Role::Agent, format!("a{i}"))
        };
        chat.post_with_id(role, &format!("line {i}"), &id).await;
    }
    chat.post(Role::Agent, "no id").await;
    let before: Vec<Value> = customer
        .messages_through(7)
        .await
        .iter()
        .map(as_history_entry)
        .collect();
    assert_eq!(chat.sessions_in_memory().await, 1);

    chat.detach(Role::Customer, &customer).await;
    chat.detach(Role::Agent, &agent).await;
    chat.wait_for_eviction().await;

    let customer = chat.connect(Role::Customer).await;
    let (welcome, history) = customer.greeting().await;
    assert_eq!(chat.sessions_in_memory().await, 1);
    assert_eq!(welcome["last_seq"], 7);
    assert_eq!(welcome["peer_online"], false);
    assert_eq!(
        history_messages(&history),
        before,
        "same seqs, texts, ts, ids"
    );

    // Numbering continues, and ids from before eviction are still known.
    chat.post_with_id(Role::Customer, "line 1 (retry)", "c1")
        .await;
    chat.post(Role::Customer, "back again").await;
    let acks = customer.messages_through(8).await;
    assert_eq!(acks[0], {
        let mut first = before[0].clone();
        first["type"] = json!("message");
        first
    });
    assert_eq!(seqs(&acks), [1, 8]);
    assert_eq!(acks[1]["text"], "back again");
}

// ---------------------------------------------------------------------------
// Store failure
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn a_failing_store_refuses_messages_and_numbering_resumes_without_a_gap() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.post(Role::Customer, "one").await;
    customer.message(1).await;
    agent.message(1).await;
    assert!(chat.store.is_healthy());

    backend.fail(true);
    chat.post_with_id(Role::Customer, "two", "c-2").await;
    let error = customer.error(1).await;
    assert_eq!(error["code"], "store_unavailable");
    assert_eq!(error["id"], "c-2");
    assert!(!chat.store.is_healthy());

    // A burst while failing: every one refused, none acknowledged.
    let session = chat.session().await;
    for i in 3..=7 {
        session.do_send(plain_post(
            Role::Customer,
            format!("burst {i}"),
            Some(&format!("c-{i}")),
            chat.poster(Role::Customer),
        ));
    }
    customer.error(6).await;
    let ids: Vec<Value> = customer.errors().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(ids, ["c-2", "c-3", "c-4", "c-5", "c-6", "c-7"]);
    assert!(customer
        .errors()
        .iter()
        .all(|e| e["code"] == "store_unavailable"));
    assert_eq!(seqs(&customer.messages()), [1], "nothing acknowledged");
    assert!(agent.errors().is_empty(), "the peer hears nothing of it");
    let scraped = chat.store.metrics().encode();
    let failed_commits = scraped
        .lines()
        .find_map(|l| l.strip_prefix("support_chat_store_errors_total{kind=\"commit\"} "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(
        failed_commits.is_some_and(|n| n >= 1),
        "/metrics counts the failed commits: {failed_commits:?}"
    );

    backend.fail(false);
    chat.post_with_id(Role::Customer, "two", "c-2").await;
    let stored = customer.message(2).await;
    assert_eq!(stored["text"], "two");
    assert_eq!(stored["id"], "c-2", "the retried id is stored now");
    assert_eq!(agent.message(2).await, stored);
    assert!(chat.store.is_healthy());
    chat.post(Role::Agent, "three").await;
    customer.message(3).await;

    assert_eq!(seqs(&customer.messages()), [1, 2, 3]);
    assert_eq!(seqs(&agent.messages()), [1, 2, 3]);
    assert_eq!(texts(&chat.whole_history().await), ["one", "two", "three"]);
}

// ---------------------------------------------------------------------------
// Typing, read marks, resolving, posting without a socket
// ---------------------------------------------------------------------------

fn quick_eviction() -> SessionSettings {
    SessionSettings {
        idle_timeout: Duration::from_millis(200),
        ..settings()
    }
}

#[actix_web::test]
async fn typing_reaches_only_the_other_side_and_is_never_stored() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;

    chat.typing(Role::Customer, true).await;
    chat.typing(Role::Customer, false).await;
    chat.typing(Role::Agent, true).await;
    chat.post(Role::Customer, "done typing").await;
    customer.message(1).await;
    agent.message(1).await;

    assert_eq!(
        agent.frames_of_type("typing"),
        [
            json!({"type": "typing", "role": "customer", "active": true}),
            json!({"type": "typing", "role": "customer", "active": false}),
        ]
    );
    assert_eq!(
        customer.frames_of_type("typing"),
        [json!({"type": "typing", "role": "agent", "active": true,
                "author": {"id": 0, "name": "API"}})]
    );
    assert_eq!(seqs(&chat.whole_history().await), [1]);
}

#[actix_web::test]
async fn read_marks_reach_the_peer_only_move_forward_and_survive_eviction() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    chat.post_many(Role::Customer, 1..=3).await;
    agent.message(3).await;

    chat.mark_read(Role::Agent, 2).await;
    chat.mark_read(Role::Agent, 1).await; // backwards: ignored
    chat.mark_read(Role::Agent, 2).await; // no news: ignored
    chat.mark_read(Role::Agent, 99).await; // beyond the end: clamped
    chat.post(Role::Customer, "marker").await;
    customer.message(4).await;
    assert_eq!(
        customer.frames_of_type("read"),
        [
            json!({"type": "read", "role": "agent", "seq": 2}),
            json!({"type": "read", "role": "agent", "seq": 3}),
        ]
    );
    assert!(
        agent.frames_of_type("read").is_empty(),
        "only the peer is told"
    );

    chat.leave_and_wait_for_eviction(&customer, &agent).await;
    let agent = chat.connect(Role::Agent).await;
    let (welcome, _) = agent.greeting().await;
    assert_eq!(welcome["read_seq"], 3, "the mark was stored");
    assert_eq!(welcome["peer_read_seq"], 0);
    let (welcome, _) = chat.connect(Role::Customer).await.greeting().await;
    assert_eq!(welcome["read_seq"], 0);
    assert_eq!(welcome["peer_read_seq"], 3);
}

#[actix_web::test]
async fn only_an_agent_resolves_and_a_customer_message_reopens() {
    let chat = Chat::start_with(in_memory_backend(), quick_eviction());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    assert_eq!(chat.resolve(Role::Agent).await, Err(AppError::NotFound));

    chat.post(Role::Customer, "my order is late").await;
    agent.message(1).await;
    assert!(matches!(
        chat.resolve(Role::Customer).await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(chat.resolve(Role::Agent).await, Ok(()));
    assert_eq!(
        chat.resolve(Role::Agent).await,
        Ok(()),
        "resolving twice is fine"
    );
    let resolved = json!({"type": "status", "status": "resolved"});
    // Seq 2 is the "Resolved" event, which only agents see.
    chat.post(Role::Agent, "it is on its way").await;
    customer.message(3).await;
    for socket in [&customer, &agent] {
        assert_eq!(
            socket.frames_of_type("status"),
            std::slice::from_ref(&resolved)
        );
    }

    chat.post(Role::Customer, "it did not come").await;
    let reopened = json!({"type": "status", "status": "open"});
    for socket in [&customer, &agent] {
        socket.message(4).await;
        let frames = socket.frames();
        let after_message = frames
            .iter()
            .skip_while(|f| f["seq"] != 4)
            .cloned()
            .collect::<Vec<_>>();
        assert_eq!(
            of_type(&after_message, "status"),
            std::slice::from_ref(&reopened),
            "the customer's message reopens it, and is announced after it"
        );
    }

    chat.resolve(Role::Agent).await.unwrap();
    chat.leave_and_wait_for_eviction(&customer, &agent).await;
    let (welcome, _) = chat.connect(Role::Agent).await.greeting().await;
    assert_eq!(welcome["status"], "resolved", "the status was stored");
}

/// A customer message still being written when the agent resolves: the
/// session reopens the conversation when the message commits, so the store
/// must end up open too (the inbox and every reload read the store).
#[actix_web::test]
async fn a_customer_message_racing_a_resolve_leaves_the_store_agreeing_with_the_session() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;
    let agent = chat.connect(Role::Agent).await;
    chat.post(Role::Customer, "my order is late").await;
    chat.post(Role::Agent, "it is on its way, bye").await;
    customer.message(2).await;

    backend.hold();
    chat.post(Role::Customer, "wait, one more thing").await;
    let resolved = chat.resolve(Role::Agent).await;
    backend.release();
    assert_eq!(resolved, Ok(()));
    agent.message(3).await;
    let told = agent
        .wait_until("status open", |log| {
            let statuses = of_type(&frames_of(log), "status");
            (statuses.len() >= 2).then_some(statuses)
        })
        .await;
    assert_eq!(
        told.last().unwrap()["status"],
        "open",
        "the sockets are told the conversation is open again"
    );

    chat.store.flush_blocking();
    let stored = backend.inner.load(&chat.client, 1).unwrap();
    assert_eq!(
        stored.last_seq, 5,
        "the message, then the events Resolved (4) and Reopened (5)"
    );
    let summary = &backend
        .inner
        .summaries_of(std::slice::from_ref(&chat.client))
        .unwrap()[0];
    assert_eq!(
        (stored.status, summary.waiting),
        (ConversationStatus::Open, true),
        "the store must agree with the session: open, the customer waiting"
    );
}

#[actix_web::test]
async fn a_post_without_a_socket_learns_its_outcome_through_its_ack() {
    let backend = ControlledBackend::new();
    let chat = Chat::start_with(backend.clone(), settings());
    let customer = chat.connect(Role::Customer).await;

    let stored = chat
        .post_acked(Role::Agent, "Hello from the API", Some("api-1"))
        .await
        .expect("stored");
    assert_eq!((stored.seq, stored.from), (1, Role::Agent));
    let seen = customer.message(1).await;
    assert_eq!(seen["text"], "Hello from the API");
    assert_eq!(seen["id"], "api-1");
    assert_eq!(chat.last_seq().await, 1);

    let again = chat
        .post_acked(Role::Agent, "Hello from the API (retry)", Some("api-1"))
        .await;
    assert_eq!(again, Ok(stored.clone()), "a retry gets the stored message");

    backend.fail(true);
    let refused = chat.post_acked(Role::Agent, "lost", Some("api-2")).await;
    assert_eq!(refused, Err(AppError::StoreUnavailable));
    backend.fail(false);

    let next = chat.post_acked(Role::Agent, "found", None).await.unwrap();
    assert_eq!(next.seq, 2, "no seq was used up by the failure");
    customer.message(2).await;
    assert_eq!(
        seqs(&customer.messages()),
        [1, 2],
        "the retry was not relayed"
    );
    assert!(customer.errors().is_empty());
    assert_eq!(chat.last_seq().await, 2);
}

#[actix_web::test]
async fn a_conversation_nobody_watches_drops_its_window_and_serves_it_again() {
    let chat = Chat::start();
    let customer = chat.connect(Role::Customer).await;
    chat.post_with_id(Role::Customer, "before", "c-1").await;
    customer.message(1).await;
    chat.detach(Role::Customer, &customer).await;

    // While nobody is connected: an API post, and a retry of an old id.
    let stored = chat
        .post_acked(Role::Agent, "while away", Some("a-1"))
        .await
        .unwrap();
    assert_eq!(stored.seq, 2);
    let retry = chat
        .post_acked(Role::Customer, "before", Some("c-1"))
        .await
        .unwrap();
    assert_eq!(retry.seq, 1, "the old id is still known");

    let agent = chat.connect(Role::Agent).await;
    let (welcome, history) = agent.greeting().await;
    assert_eq!(welcome["last_seq"], 2);
    assert_eq!(texts(&history_messages(&history)), ["before", "while away"]);
    chat.post(Role::Agent, "after").await;
    assert_eq!(agent.message(3).await["text"], "after");
}

// ---------------------------------------------------------------------------
// Shutdown
// ---------------------------------------------------------------------------

#[actix_web::test]
async fn shutdown_closes_every_socket_and_refuses_later_lookups() {
    let chat = Chat::start();
    let alice = chat.connect(Role::Customer).await;
    let alices_agent = chat.connect(Role::Agent).await;
    let bob_chat = chat.conversation("bob");
    let bob = bob_chat.connect(Role::Customer).await;
    let session = chat.session().await;

    chat.registry.send(ShutdownAll).await.unwrap();
    for socket in [&alice, &alices_agent, &bob] {
        socket.shut_down().await;
        assert!(matches!(socket.events().last(), Some(Got::Shutdown)));
    }
    assert!(!alice.was_replaced());

    let refused = lookup(&chat.registry, &chat.client).await;
    assert!(matches!(refused, Err(AppError::ShuttingDown)));
    let newcomer = chat.conversation("carol");
    let refused = lookup(&newcomer.registry, &newcomer.client).await;
    assert!(matches!(refused, Err(AppError::ShuttingDown)));
    let late = TestSocket::new();
    let joined = join(
        &chat.registry,
        &chat.client,
        &participant(Role::Agent),
        0,
        late.link.clone(),
    )
    .await;
    assert!(joined.is_err(), "no one joins a server that is stopping");

    // The session itself refuses attaches from now on.
    let attach = session
        .send(Attach {
            who: participant(Role::Agent),
            since: 0,
            socket: late.link.clone(),
        })
        .await
        .unwrap();
    assert!(attach.is_err());
    assert!(late.events().is_empty());
    assert!(!late.was_shut_down());
}

mod contact;
mod team;
