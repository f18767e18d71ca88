//! # support-chat
//!
//! A real-time, one-to-one customer-service chat server. Every customer (a
//! client id) has one private conversation with the support agents; both
//! sides talk over WebSockets, and every message is stored before anyone is
//! told about it. The modules, bottom to top:
//!
//! - [`domain`]: validated input and the core values: `ClientId`, `Role`,
//!   `ChatMessage`, conversation summaries. Nothing here knows about actors
//!   or HTTP.
//! - [`error`]: `AppError`, the one error enum, with a stable code per
//!   variant for WebSocket `error` frames and JSON bodies.
//! - [`protocol`]: wire protocol v1 (PROTOCOL.md): decoding client frames
//!   with precise errors, encoding server events once into shared bytes.
//! - [`store`]: the storage seam (`Backend` trait), its SQLite implementation,
//!   and `Store`, which adds the group-commit writer thread and off-thread
//!   reads to any backend.
//! - [`auth`] and [`limits`]: agent tokens and login cookies, customer
//!   identity signatures; token buckets and per-IP counters.
//! - [`session`]: `SessionActor`, one per conversation: recent history, seq
//!   assignment, acknowledgement after commit, typing, read marks, status,
//!   relaying to the customer and agent sockets without ever waiting on them.
//! - [`registry`]: `Registry`, the actor mapping client ids to live sessions,
//!   starting them on demand and forgetting evicted ones; `join` for sockets.
//! - [`inbox`]: `Inbox`, the actor behind the agents' live conversation list.
//! - [`socket_core`]: what every WebSocket actor shares: reassembly of
//!   fragments with a cap, control frames, heartbeat, close codes, and a
//!   read-ahead window on incoming bytes.
//! - [`socket`], [`inbox_socket`], [`echo`]: the actors of one chat socket,
//!   one console inbox socket, and the `/ws/echo` diagnostic.
//! - [`http`]: routes, pages, upgrades, security checks, the REST API,
//!   `/healthz`; the only module that knows HTTP.
//! - [`config`] and [`app`]: the command line, and `Application`, which wires
//!   it all up and shuts it down gracefully.
//!
//! A message's path: the customer's `ChatSocket` decodes a frame into a
//! `Post` for the `SessionActor`, which gives it the next seq and submits it
//! to the store writer; once the transaction commits, the writer sends a
//! `WriteOutcome` back, and the session encodes the message once and
//! `try_send`s it to both sockets (the sender's copy is its acknowledgement).

pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod echo;
pub mod error;
pub mod http;
pub mod inbox;
pub mod inbox_socket;
pub mod limits;
pub mod protocol;
pub mod registry;
pub mod session;
pub mod socket;
pub mod socket_core;
pub mod store;
