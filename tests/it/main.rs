//! The one integration-test binary: every test module shares `common`
//! (`spawn_app()`, `WsClient`, `eventually`), compiled once.

mod accounts;
mod actors;
mod assignment;
mod attachments;
mod audit;
mod backup;
mod browser;
mod browser_privacy;
mod browser_proxy;
mod browser_routing;
mod browser_team;
mod browser_widget;
mod common;
mod conformance;
mod console;
mod db_file;
mod durability;
mod handshake;
mod hardening;
mod identity;
mod logs;
mod metrics;
mod notes;
mod privacy;
mod protocol_props;
mod raw;
mod retention;
mod routing;
mod security;
mod sessions;
mod shutdown;
mod slow_clients;
mod team;
mod websocket;
mod widget;
