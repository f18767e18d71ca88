//! The pages in real browsers: headless Chromium driven through chromedriver
//! (WebDriver) with `fantoccini`, against the real server started in-process.
//!
//! Each test is one story told with a `Chat`: its own server, its own
//! chromedriver on a free port, and one browser session (its own Chromium
//! with a fresh profile) per person, a customer and an agent. The agent uses
//! either the single-conversation page (`/chat/server/{id}`) or the console
//! (`/agent`). Everything is checked by polling the DOM against a deadline;
//! no test sleeps for correctness.
//!
//! Chromium and chromedriver come from Debian (`chromium`,
//! `chromium-driver`). The tests are `#[ignore]`d so that a plain
//! `cargo test` says they did not run; `cargo test -- --include-ignored`
//! (the README's test command, and CI's) runs them, and a missing browser
//! fails them.
//!
//! The helpers live by concern in `driver` (chromedriver and sessions),
//! `pages` (reading and driving a chat page), `fixture` (the `Chat`),
//! `inbox` (the console's list) and `marks` ("Seen", typing, labels,
//! languages, layouts); the tests in `chat_pages`, `console` and `defects`.

use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{
    http_client, session_cookie, spawn_app_with, TestApp, WsClient, ADMIN_EMAIL, ADMIN_NAME,
    ADMIN_PASSWORD, AGENT_TOKEN,
};
use fantoccini::cookies::Cookie;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Deserialize;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::{Semaphore, SemaphorePermit};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the DOM may take to show what a test expects.
pub(crate) const WAIT: Duration = Duration::from_secs(10);
/// Coming back after the server went away includes the pages' backoff.
const RECONNECT_WAIT: Duration = Duration::from_secs(30);
/// How often a waiting test looks at the DOM again.
const POLL: Duration = Duration::from_millis(100);

pub(crate) const DESKTOP: (u32, u32) = (1280, 900);
pub(crate) const PHONE: (u32, u32) = (390, 844);

/// At most this many browser tests run at once (each runs two Chromiums).
static BROWSER_SLOTS: Semaphore = Semaphore::const_new(2);

mod chat_pages;
mod console;
mod defects;
mod driver;
mod fixture;
mod inbox;
mod marks;
mod pages;

pub(crate) use driver::*;
pub(crate) use fixture::*;
pub(crate) use inbox::*;
pub(crate) use marks::*;
pub(crate) use pages::*;
