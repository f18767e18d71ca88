//! Durability: what the server acknowledged is stored, through restarts,
//! crashes (SIGKILL), graceful stops (SIGTERM) and idle eviction; and a
//! server that cannot use its data directory refuses to start, saying which
//! path is wrong and what to do about it.
//!
//! The crash and signal tests drive the real binary
//! (`CARGO_BIN_EXE_support-chat`) as a child process.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{
    eventually, on_each_backend, spawn_app, spawn_app_with, store_flags, TestApp, WsClient,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

mod crashes;
mod eviction;
mod startup;

/// The server binary built by cargo for these tests.
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_support-chat");
/// The database file inside a data directory.
const DB_FILE: &str = "support-chat.db";
/// How long the binary may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the binary may take to exit (on SIGTERM, or refusing to start).
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a test waits for acknowledgements, tasks and evictions.
const PATIENCE: Duration = Duration::from_secs(60);
/// Messages a traffic client may have sent without having read their
/// acknowledgement. Below the server's per-socket mailbox (512), so a client
/// that falls behind on reading can never be dropped as stalled (4002).
const IN_FLIGHT: usize = 256;
/// Conversations driven at once by the kill and SIGTERM tests.
const CONVERSATIONS: usize = 8;

// ---------------------------------------------------------------------------
// Messages as the protocol shows them
// ---------------------------------------------------------------------------

/// A stored message, from an acknowledgement or from a `history` frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Msg {
    pub(crate) seq: u64,
    pub(crate) from: String,
    pub(crate) text: String,
    ts: String,
    pub(crate) id: Option<String>,
}

impl Msg {
    pub(crate) fn parse(v: &Value) -> Msg {
        let field = |k: &str| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("message without \"{k}\": {v}"))
                .to_string()
        };
        Msg {
            seq: v["seq"]
                .as_u64()
                .unwrap_or_else(|| panic!("message without seq: {v}")),
            from: field("from"),
            text: field("text"),
            ts: field("ts"),
            id: v.get("id").and_then(Value::as_str).map(str::to_string),
        }
    }

    fn id(&self) -> &str {
        self.id
            .as_deref()
            .unwrap_or_else(|| panic!("message {} has no id: {self:?}", self.seq))
    }
}

fn history_messages(history: &Value) -> Vec<Msg> {
    history["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("history without messages: {history}"))
        .iter()
        .map(Msg::parse)
        .collect()
}

fn last_seq(welcome: &Value) -> u64 {
    welcome["last_seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("welcome without last_seq: {welcome}"))
}

/// The text every traffic message carries, derived from its id so a stored
/// message can be checked against what was sent.
fn text_of(id: &str) -> String {
    format!("durable message {id}: the parcel has not arrived yet")
}

/// Says `text` and returns the sender's acknowledgement, checking that the
/// peer (if any) got the very same message.
async fn say_and_ack(
    sender: &mut WsClient,
    peer: Option<&mut WsClient>,
    text: &str,
    id: Option<&str>,
) -> Msg {
    sender.say(text, id).await;
    let ack = Msg::parse(&sender.wait_for("message").await);
    assert_eq!(ack.text, text);
    assert_eq!(ack.id.as_deref(), id);
    if let Some(peer) = peer {
        assert_eq!(
            Msg::parse(&peer.wait_for("message").await),
            ack,
            "the peer gets the message the sender was acknowledged with"
        );
    }
    ack
}

/// Every message of a conversation, joining at `url` (which should ask for
/// `since=0`) and paging back with `history_before`; also returns the
/// welcome's `last_seq`.
pub(crate) async fn full_history(url: &str) -> (u64, Vec<Msg>) {
    let (mut socket, welcome, first) = WsClient::join(url).await;
    let mut messages = history_messages(&first);
    let mut has_more = first["has_more"].as_bool().expect("has_more");
    while has_more {
        let before = messages
            .first()
            .map(|m| m.seq)
            .expect("has_more on an empty history");
        socket
            .send_json(json!({"type": "history_before", "before": before, "limit": 200}))
            .await;
        let page = socket.wait_for("history").await;
        let older = history_messages(&page);
        assert!(
            !older.is_empty(),
            "history_before {before} at {url} is empty although has_more was true"
        );
        has_more = page["has_more"].as_bool().expect("has_more");
        messages.splice(0..0, older);
    }
    hang_up(socket).await;
    (last_seq(&welcome), messages)
}

/// Sends a close frame and goes without waiting for the server's answer
/// (`WsClient::close` waits for the server to end the connection, which
/// actix only does after its 1 s client disconnect timeout).
async fn hang_up(mut client: WsClient) {
    let _ = client.socket.close(None).await;
}

// ---------------------------------------------------------------------------
// The real binary as a child process
// ---------------------------------------------------------------------------

/// A running (or exited) `support-chat` process. Its stderr is read on a
/// thread until EOF, so the pipe never fills; every line is kept for
/// diagnostics and forwarded through a channel. Dropping it kills the
/// process, so a failing test never leaves a server behind.
pub(crate) struct Process {
    child: Child,
    exited: Option<ExitStatus>,
    lines: mpsc::UnboundedReceiver<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Process {
    fn spawn(data_dir: &Path) -> Process {
        Process::spawn_with(data_dir, &[])
    }

    /// Like `spawn`, with `extra` flags.
    pub(crate) fn spawn_with(data_dir: &Path, extra: &[&str]) -> Process {
        let mut command = Command::new(BIN);
        command
            .args([
                "--bind",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--rate-limit",
                "0",
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SUPPORT_CHAT_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::unbounded_channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                        kept.lock().unwrap().push(line.clone());
                        // The test may have stopped listening; keep draining.
                        let _ = tx.send(line);
                    }
                }
            }
        });
        Process {
            child,
            exited: None,
            lines,
            log,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits for the "listening on" log line and returns the address.
    pub(crate) async fn listening(&mut self) -> SocketAddr {
        const MARK: &str = "support-chat listening on http://";
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    if let Some(at) = line.find(MARK) {
                        // Up to the end of the address (a JSON log line goes on).
                        let addr: String = line[at + MARK.len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c))
                            .collect();
                        return addr.parse().unwrap_or_else(|e| {
                            panic!("bad address {addr:?} in log line {line:?}: {e}")
                        });
                    }
                }
                Ok(None) => panic!(
                    "support-chat ended its stderr before listening (exit: {:?}):\n{}",
                    self.child.try_wait(),
                    self.stderr()
                ),
                Err(_) => panic!(
                    "support-chat did not listen within {START_TIMEOUT:?}:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    /// Waits for the process to exit; panics (with `why`) if it does not
    /// within `within`.
    pub(crate) async fn wait_exit(&mut self, within: Duration, why: &str) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(status);
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "support-chat (pid {}) still running after {within:?}: {why}\nstderr:\n{}",
                    self.pid(),
                    self.stderr()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// All of stderr, once the process has exited and the pipe is drained.
    pub(crate) async fn final_stderr(&mut self) -> String {
        assert!(self.exited.is_some(), "final_stderr before the exit");
        let deadline = tokio::time::Instant::now() + EXIT_TIMEOUT;
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, self.lines.recv()).await {}
        self.stderr()
    }

    /// SIGKILL (what `Child::kill` sends on unix), and wait for the death.
    pub(crate) async fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL support-chat");
        self.wait_exit(EXIT_TIMEOUT, "SIGKILL did not end it").await;
    }

    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {} failed", self.pid());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.log.lock().map(|l| l.clone()).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(60)..];
            eprintln!(
                "--- last stderr lines of support-chat pid {} ---\n{}",
                self.child.id(),
                tail.join("\n")
            );
        }
    }
}

/// Starts the binary on `data_dir` with `extra` flags and waits until it
/// listens.
async fn start_server(data_dir: &Path, extra: &[String]) -> (Process, SocketAddr) {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let mut process = Process::spawn_with(data_dir, &extra);
    let addr = process.listening().await;
    (process, addr)
}

/// Starts the binary on `data_dir`, which must refuse to start: returns its
/// stderr after checking the failure exit.
async fn start_expecting_refusal(data_dir: &Path) -> String {
    let mut process = Process::spawn(data_dir);
    let status = process
        .wait_exit(EXIT_TIMEOUT, "it should have refused to start")
        .await;
    let stderr = process.final_stderr().await;
    assert!(
        !status.success(),
        "support-chat on {} should fail, but exited with {status}; stderr:\n{stderr}",
        data_dir.display()
    );
    assert!(
        !stderr.contains("listening on"),
        "a refusing server must not listen first; stderr:\n{stderr}"
    );
    stderr
}

fn assert_mentions(stderr: &str, expected: &[&str]) {
    for needle in expected {
        assert!(
            stderr.contains(needle),
            "stderr should mention {needle:?}; it was:\n{stderr}"
        );
    }
}
