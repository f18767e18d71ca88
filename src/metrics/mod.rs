//! What `/metrics` reports, in the Prometheus (OpenMetrics) text format
//! through `prometheus-client`. One [`Metrics`] per server, reached through
//! the [`Store`](crate::store::Store) handle every actor already holds.
//!
//! Everything on the path of a message is a pre-made counter, gauge or
//! [`AtomicHistogram`]: a relaxed atomic add, no lock and no label lookup.
//! Only HTTP requests go through a labelled family (a read lock per
//! request, never per chat message).

mod histogram;

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use histogram::AtomicHistogram;

/// The kinds of WebSocket, as `/metrics` labels them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    Customer,
    Agent,
    Inbox,
    Echo,
}

impl SocketKind {
    const ALL: [SocketKind; 4] = [
        SocketKind::Customer,
        SocketKind::Agent,
        SocketKind::Inbox,
        SocketKind::Echo,
    ];

    fn label(self) -> &'static str {
        match self {
            SocketKind::Customer => "customer",
            SocketKind::Agent => "agent",
            SocketKind::Inbox => "inbox",
            SocketKind::Echo => "echo",
        }
    }
}

/// What a limit refused, as `/metrics` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A socket frame over the per-socket message rate.
    SocketMessage,
    /// An API write over the per-IP rate.
    ApiRequest,
    /// A login while the attempt limit holds.
    LoginAttempt,
    /// A WebSocket over the per-IP connection cap.
    ConnectionsPerIp,
    /// An HTTP request over the per-IP requests-in-progress cap.
    RequestsPerIp,
    /// A new conversation over the per-IP rate.
    NewConversationsPerIp,
    /// A connection over the server-wide cap (503).
    ServerBusy,
}

impl Refusal {
    const ALL: [Refusal; 7] = [
        Refusal::SocketMessage,
        Refusal::ApiRequest,
        Refusal::LoginAttempt,
        Refusal::ConnectionsPerIp,
        Refusal::RequestsPerIp,
        Refusal::NewConversationsPerIp,
        Refusal::ServerBusy,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::SocketMessage => "socket_message",
            Refusal::ApiRequest => "api_request",
            Refusal::LoginAttempt => "login_attempt",
            Refusal::ConnectionsPerIp => "connections_per_ip",
            Refusal::RequestsPerIp => "requests_per_ip",
            Refusal::NewConversationsPerIp => "new_conversations_per_ip",
            Refusal::ServerBusy => "server_busy",
        }
    }
}

/// Why the store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFailure {
    /// A transaction failed (every write in it was refused).
    Commit,
    /// A write was refused because the writer's queue was full.
    QueueFull,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HttpLabels {
    route: String,
    status: u16,
}

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    open_sockets: [Gauge; SocketKind::ALL.len()],
    refused: [Counter; Refusal::ALL.len()],
    store_errors: [Counter; 2],
    http: Family<HttpLabels, Counter>,
    pub live_sessions: Gauge,
    pub messages_stored: Counter,
    pub commit_batch_writes: AtomicHistogram,
    pub commit_seconds: AtomicHistogram,
    pub write_queue_depth: Gauge,
    pub relay_seconds: AtomicHistogram,
    pub stalled_sockets: Counter,
    pub emails_sent: Counter,
    pub email_attempts_failed: Counter,
    pub outbox_pending: Gauge,
    pub outbox_failed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("support_chat");
        let sockets = Family::<KindLabel, Gauge>::default();
        let open_sockets = SocketKind::ALL.map(|k| sockets.get_or_create(&kind(k.label())).clone());
        registry.register("open_sockets", "Open WebSockets by kind", sockets);
        let refusals = Family::<KindLabel, Counter>::default();
        let refused = Refusal::ALL.map(|r| refusals.get_or_create(&kind(r.label())).clone());
        registry.register(
            "rate_limited",
            "Requests, connections and frames refused by a limit, by kind",
            refusals,
        );
        let failures = Family::<KindLabel, Counter>::default();
        let store_errors =
            ["commit", "queue_full"].map(|k| failures.get_or_create(&kind(k)).clone());
        registry.register(
            "store_errors",
            "Failed commits, and writes refused because the writer's queue was full",
            failures,
        );
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route pattern and status (WebSocket upgrades are 101)",
            http.clone(),
        );
        let metrics = Metrics {
            open_sockets,
            refused,
            store_errors,
            http,
            live_sessions: Gauge::default(),
            messages_stored: Counter::default(),
            commit_batch_writes: AtomicHistogram::counts(),
            commit_seconds: AtomicHistogram::seconds(),
            write_queue_depth: Gauge::default(),
            relay_seconds: AtomicHistogram::seconds(),
            stalled_sockets: Counter::default(),
            emails_sent: Counter::default(),
            email_attempts_failed: Counter::default(),
            outbox_pending: Gauge::default(),
            outbox_failed: Gauge::default(),
            registry,
        };
        metrics.register_plain()
    }

    fn register_plain(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "live_sessions",
            "Conversations in memory (a SessionActor each)",
            self.live_sessions.clone(),
        );
        r.register(
            "messages_stored",
            "Chat messages committed to the store",
            self.messages_stored.clone(),
        );
        r.register(
            "commit_batch_writes",
            "Writes per round of the store writer (group commit)",
            self.commit_batch_writes.clone(),
        );
        r.register(
            "commit_seconds",
            "Time per round of the store writer: its writes made durable (committed, or journaled on SQLite) and any commit it was due",
            self.commit_seconds.clone(),
        );
        r.register(
            "write_queue_depth",
            "Writes waiting for the store writer",
            self.write_queue_depth.clone(),
        );
        r.register(
            "relay_seconds",
            "From a message reaching its conversation to both sides being sent it (stored first)",
            self.relay_seconds.clone(),
        );
        r.register(
            "stalled_sockets_detached",
            "Sockets closed with 4002 because their client stopped reading",
            self.stalled_sockets.clone(),
        );
        self.register_mail()
    }

    fn register_mail(mut self) -> Metrics {
        let r = &mut self.registry;
        r.register(
            "emails_sent",
            "Emails the SMTP server accepted",
            self.emails_sent.clone(),
        );
        r.register(
            "email_attempts_failed",
            "Attempts to send an email that failed (each retry counts)",
            self.email_attempts_failed.clone(),
        );
        r.register(
            "outbox_pending",
            "Emails in the outbox waiting to be sent (or retried)",
            self.outbox_pending.clone(),
        );
        r.register(
            "outbox_failed",
            "Emails given up on after their last attempt (see the team page)",
            self.outbox_failed.clone(),
        );
        self
    }

    pub fn open_sockets(&self, kind: SocketKind) -> &Gauge {
        &self.open_sockets[kind as usize]
    }

    /// Open sockets of every kind.
    pub fn open_sockets_total(&self) -> u64 {
        let sum: i64 = self.open_sockets.iter().map(Gauge::get).sum();
        u64::try_from(sum).unwrap_or(0)
    }

    pub fn refused(&self, refusal: Refusal) {
        self.refused[refusal as usize].inc();
    }

    pub fn store_failed(&self, failure: StoreFailure) {
        self.store_errors[failure as usize].inc();
    }

    pub fn commit(&self, writes: usize, took: Duration) {
        self.commit_batch_writes.observe_count(writes as u64);
        self.commit_seconds.observe_duration(took);
    }

    pub fn http_request(&self, route: &str, status: u16) {
        let labels = HttpLabels {
            route: route.to_owned(),
            status,
        };
        self.http.get_or_create(&labels).inc();
    }

    /// Everything, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

fn kind(kind: &'static str) -> KindLabel {
    KindLabel { kind }
}
