//! # support-chat
//!
//! A real-time customer-service chat server. Every customer (a client id)
//! has one private conversation with the support agents; both sides talk
//! over WebSockets, and every message is stored before anyone is told about
//! it. The crate map, bottom to top (a module imports only those above it in
//! this list, never one below):
//!
//! | module | what lives there |
//! |---|---|
//! | `domain` | validated values: `ClientId`, `Role`, `PerRole`, `ChatMessage` (messages, private notes, events), `Event`, summaries and views, availability, a customer's `Contact` |
//! | `files` | what an upload is, from its bytes (the allow-list), and images re-encoded without metadata, with thumbnails, within a pixel budget |
//! | `error` | `AppError`, the one error enum, with a stable code per variant |
//! | `protocol` | wire protocol v1 (PROTOCOL.md): client frames decoded, server events encoded once |
//! | `auth`, `limits` | the service token, identity signatures; token buckets, per-IP counters |
//! | `metrics` | `Metrics`: the counters, gauges and lock-free histograms `/metrics` reports |
//! | `store` | the `Backend` seam, SQLite (one node) and PostgreSQL (`postgres`: several nodes on one database, its schema and migrations, migrating from SQLite), and `Store`: plain SQL that runs on every engine (`sql`); group-commit writer thread (on SQLite, one transaction open for up to 2 s behind a redo journal), off-thread reads; the search index fed in bulk from a queue; attachments as blobs; online backup and restore; the audit log; export, erase and retention's queries |
//! | `accounts` | agent accounts on the store: passwords, sessions, API tokens, invites and the setup code, login limits, revocation of open sockets, who may be given conversations and their capacity |
//! | `desk` | the team's saved replies and labels, plain SQL on the store beside the accounts |
//! | `mail` | email: `MailSettings` (SMTP through `lettre`), the outbox's SQL (unseen replies, waiting alerts, transcripts, reply tokens, unsubscribes), `ReopenKey` (signed reopen links), and `MailSender`, the thread that delivers the outbox with retries |
//! | `conversation` | `SessionActor` (one per conversation: messages, notes, events, the assignee), `Registry`, their messages, the recent `Window`, `SocketLink`, the port sessions reach sockets through, and what sessions of one conversation on different nodes tell each other (`remote`) |
//! | `inbox` | `Inbox`, the actor behind the agents' live conversation list (views and their counts, alerts, the roster) |
//! | `routing` | `Router`: agents' availability from their consoles, automatic assignment from the queue, the offline grace time |
//! | `retention` | `Retention`, the actor that deletes or anonymises conversations past `--retention` and old audit entries |
//! | `cluster` | `Cluster`: several nodes on one PostgreSQL database, linked by NATS: doorbells for committed messages, read marks, typing, presence (with node timeouts), the inboxes' changes, the agents' rosters, and which node gives out the queue |
//! | `inbound` | the inbound SMTP listener: customers' email replies, parsed (`mail-parser`), quotes and signatures dropped, posted in their conversation |
//! | `transport` | one actor per WebSocket (`ChatSocket`, `InboxSocket`, `EchoSocket`) over shared frame plumbing |
//! | `web` | routes, pages, REST API, login, setup and invites, the team, the website widget (`widget.js`, its config and frame), upgrades, security checks; the only module that knows HTTP |
//! | `config`, `logging`, `app` | the command line, log output (text or JSON), and `Application`, which wires it all and shuts it down |
//!
//! A message's path: the customer's `ChatSocket` decodes a frame into a
//! `Post` for the `SessionActor`, which gives it the next seq and submits it
//! to the store writer; once the write is durable (committed, or on SQLite
//! in the writer's journal), the writer sends a `WriteOutcome` back, and the session encodes the message once and
//! `try_send`s it to both sockets through their `SocketLink`s (the sender's
//! copy is its acknowledgement). Nothing ever waits on a socket: one that
//! stops reading is detached as stalled.
//!
//! Modules are private; what the binary, the tests and the examples need is
//! re-exported below.

#![deny(clippy::unwrap_used)]

mod accounts;
mod app;
mod auth;
mod cluster;
mod config;
mod conversation;
mod desk;
mod domain;
mod error;
mod files;
mod inbound;
mod inbox;
mod limits;
mod logging;
mod mail;
mod metrics;
mod protocol;
mod retention;
mod routing;
mod store;
mod transport;
mod web;

pub use app::{Application, BuildError, ShutdownHandle};
pub use config::{Command, Config};
pub use conversation::*;
pub use domain::*;
pub use error::AppError;
pub use logging::{init_logging, LogFormat};
pub use metrics::Metrics;
pub use protocol::{ClientFrame, ServerEvent, HISTORY_PAGE_MAX};
pub use store::{
    backup, migrate_sqlite_to_postgres, restore, Backend, BackupError, Copied, Durability,
    ImportError, Imported, ListPage, ListQuery, PgOpenError, PostgresBackend, SearchPage,
    SearchQuery, Snapshot, SqlConn, SqlError, SqlFn, SqliteBackend, StartupError, Store,
    StoreError, Who, Write, WriteOp, WriteOutcome, WriteRequest, Writer, MAX_KNOWN_IDS,
    PG_SCHEMA_VERSION, SCHEMA_VERSION,
};
pub use transport::*;
