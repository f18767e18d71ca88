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

use backend::*;
use sockets::*;

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

/// Sessions evicted after 200 ms without sockets.
fn quick_eviction() -> SessionSettings {
    SessionSettings {
        idle_timeout: Duration::from_millis(200),
        ..settings()
    }
}

mod backend;
mod contact;
mod ids;
mod lifecycle;
mod marks;
mod paging;
mod presence;
mod relay;
mod routing;
mod shutdown;
mod sockets;
mod stalled;
mod team;
