//! The one integration-test binary: every test module shares `common`
//! (`spawn_app()`, `WsClient`, `eventually`), compiled once.

mod accounts;
mod actors;
mod assignment;
mod browser;
mod browser_routing;
mod browser_team;
mod common;
mod conformance;
mod console;
mod db_file;
mod desk;
mod durability;
mod handshake;
mod hardening;
mod notes;
mod protocol_props;
mod raw;
mod routing;
mod search;
mod security;
mod sessions;
mod shutdown;
mod slow_clients;
mod team;
mod websocket;
