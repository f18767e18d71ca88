//! The one integration-test binary: every test module shares `common`
//! (`spawn_app()`, `WsClient`, `eventually`), compiled once.

mod accounts;
mod actors;
mod assignment;
mod attachments;
mod audit;
mod backup;
mod browser;
mod browser_attachments;
mod browser_email;
mod browser_privacy;
mod browser_proxy;
mod browser_routing;
mod browser_team;
mod browser_widget;
mod common;
mod conformance;
mod console;
mod db;
mod db_file;
mod desk;
mod durability;
mod email;
mod email_files;
mod email_lang;
mod email_replies;
mod email_unseen;
mod handshake;
mod hardening;
mod identity;
mod logs;
mod metrics;
mod notes;
mod postgres;
mod privacy;
mod protocol_props;
mod raw;
mod retention;
mod routing;
mod search;
mod security;
mod sessions;
mod shutdown;
mod slow_clients;
mod smtp;
mod team;
// The unit tests' throwaway PostgreSQL; its helpers for stopping and
// restarting the server serve those tests only.
#[allow(dead_code)]
#[path = "../../src/store/postgres/test_cluster.rs"]
mod test_cluster;
mod websocket;
mod widget;
