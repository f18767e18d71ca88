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

// ---------------------------------------------------------------------------
// Many conversations at full speed against the real binary
// ---------------------------------------------------------------------------

/// What the test knows about one conversation, across all crash cycles.
struct Conversation {
    client: String,
    /// Every message id ever sent (attempted), in order; ids are unique.
    sent: Vec<String>,
    sent_set: HashSet<String>,
    /// Every acknowledgement ever received, by message id.
    acked: HashMap<String, Msg>,
    /// The whole history as last verified.
    stored: Vec<Msg>,
    /// Ids are `c{tag}-{n}`.
    tag: usize,
}

impl Conversation {
    fn new(prefix: &str, tag: usize) -> Conversation {
        Conversation {
            client: format!("{prefix}-{tag}"),
            sent: Vec::new(),
            sent_set: HashSet::new(),
            acked: HashMap::new(),
            stored: Vec::new(),
            tag,
        }
    }

    /// Takes in what one traffic run saw, checking every acknowledgement.
    fn absorb(&mut self, live: &Live) {
        for id in &live.sent {
            assert!(
                self.sent_set.insert(id.clone()),
                "test bug: {id} sent twice"
            );
            self.sent.push(id.clone());
        }
        for ack in &live.acks {
            let id = ack.id();
            assert!(
                self.sent_set.contains(id),
                "{}: acknowledgement for a message never sent: {ack:?}",
                self.client
            );
            assert_eq!(ack.text, text_of(id), "{}: acknowledged text", self.client);
            assert_eq!(ack.from, "customer");
            if let Some(earlier) = self.acked.get(id) {
                assert_eq!(
                    earlier, ack,
                    "{}: two different acknowledgements for {id}",
                    self.client
                );
            } else {
                self.acked.insert(id.to_string(), ack.clone());
            }
        }
    }

    /// Checks a full history read back from the server: gapless seqs from 1,
    /// no id twice, nothing that was never sent, every acknowledged message
    /// present with the seq, ts and text it was acknowledged with, and all
    /// of the previously verified history unchanged.
    fn check(&self, last_seq: u64, history: &[Msg]) {
        let mut problems = Vec::new();
        if last_seq != history.len() as u64 {
            problems.push(format!(
                "welcome last_seq {last_seq} but the history holds {} messages",
                history.len()
            ));
        }
        let mut by_id: HashMap<&str, &Msg> = HashMap::new();
        for (i, m) in history.iter().enumerate() {
            if m.seq != i as u64 + 1 {
                problems.push(format!(
                    "position {i} holds seq {} (gap or disorder)",
                    m.seq
                ));
            }
            let Some(id) = m.id.as_deref() else {
                problems.push(format!("seq {} has no id", m.seq));
                continue;
            };
            if let Some(first) = by_id.insert(id, m) {
                problems.push(format!(
                    "id {id} stored twice: seq {} and {}",
                    first.seq, m.seq
                ));
            }
            if !self.sent_set.contains(id) {
                problems.push(format!("seq {} has id {id}, which was never sent", m.seq));
            }
            if m.text != text_of(id) || m.from != "customer" {
                problems.push(format!("seq {} is not what was sent: {m:?}", m.seq));
            }
        }
        let mut acked: Vec<&Msg> = self.acked.values().collect();
        acked.sort_by_key(|m| m.seq);
        for ack in acked {
            match by_id.get(ack.id()) {
                None => problems.push(format!("acknowledged {ack:?} is lost")),
                Some(stored) if *stored != ack => problems.push(format!(
                    "acknowledged {ack:?} is stored differently: {stored:?}"
                )),
                Some(_) => {}
            }
        }
        let kept = self.stored.len().min(history.len());
        if history[..kept] != self.stored[..kept] || kept < self.stored.len() {
            problems.push(format!(
                "the {} messages verified before are not all unchanged",
                self.stored.len()
            ));
        }
        assert!(
            problems.is_empty(),
            "{}: {} problems in a history of {} messages (showing 20):\n  {}",
            self.client,
            problems.len(),
            history.len(),
            problems
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }

    /// After a restart: reads and checks the whole history, then resends
    /// every message that was sent without acknowledgement (same ids) plus a
    /// few acknowledged ones, and checks that each id ends up stored exactly
    /// once, the new ones continuing the numbering.
    async fn verify_and_resend(&mut self, base_ws: &str) {
        let url = format!("{base_ws}/ws/customer/{}?since=0", self.client);
        let (last, history) = full_history(&url).await;
        self.check(last, &history);
        self.stored = history;
        let n = self.stored.len() as u64;
        let stored: HashMap<String, Msg> = self
            .stored
            .iter()
            .map(|m| (m.id().to_string(), m.clone()))
            .collect();

        let mut resend: Vec<String> = self
            .sent
            .iter()
            .filter(|id| !self.acked.contains_key(*id))
            .cloned()
            .collect();
        // The oldest (from the store, beyond the in-memory window once the
        // conversation is long), one in the middle and the newest.
        let mut acked: Vec<&Msg> = self.acked.values().collect();
        acked.sort_by_key(|m| m.seq);
        if !acked.is_empty() {
            for i in [0, acked.len() / 2, acked.len() - 1] {
                let id = acked[i].id().to_string();
                if !resend.contains(&id) {
                    resend.push(id);
                }
            }
        }

        let url = format!("{base_ws}/ws/customer/{}?since={n}", self.client);
        let (mut socket, welcome, gap) = WsClient::join(&url).await;
        assert_eq!(last_seq(&welcome), n);
        assert!(history_messages(&gap).is_empty());
        let mut answers: HashMap<String, Msg> = HashMap::new();
        // In chunks, reading the answers in between, so the server never
        // holds more unread frames for this socket than its mailbox allows.
        for chunk in resend.chunks(100) {
            for id in chunk {
                socket.say(&text_of(id), Some(id)).await;
            }
            let mut waiting: HashSet<&str> = chunk.iter().map(String::as_str).collect();
            while !waiting.is_empty() {
                let frame = socket.next_json().await;
                match frame["type"].as_str() {
                    Some("message") => {
                        let m = Msg::parse(&frame);
                        assert!(
                            waiting.remove(m.id()),
                            "{}: unexpected or second answer {m:?} while resending",
                            self.client
                        );
                        answers.insert(m.id().to_string(), m);
                    }
                    Some("error") => panic!("{}: a resend was refused: {frame}", self.client),
                    _ => {}
                }
            }
        }
        hang_up(socket).await;

        let mut next = n + 1;
        for id in &resend {
            let answer = &answers[id];
            match stored.get(id) {
                Some(original) => assert_eq!(
                    answer, original,
                    "{}: resending stored {id} must return the stored message, not a new one",
                    self.client
                ),
                None => {
                    assert_eq!(
                        answer.seq, next,
                        "{}: resent {id} should get the next seq",
                        self.client
                    );
                    assert_eq!(answer.text, text_of(id));
                    next += 1;
                }
            }
        }
        self.absorb(&Live {
            acks: answers.into_values().collect(),
            ..Live::default()
        });

        let url = format!("{base_ws}/ws/customer/{}?since=0", self.client);
        let (last, history) = full_history(&url).await;
        self.check(last, &history);
        assert_eq!(
            history.len(),
            self.sent.len(),
            "{}: every message sent is now stored exactly once",
            self.client
        );
        assert_eq!(history.len() as u64, next - 1);
        self.stored = history;
    }
}

/// What one conversation's traffic tasks saw.
#[derive(Default)]
struct Live {
    /// Ids in the order their frames were (attempted to be) sent.
    sent: Vec<String>,
    /// Every `message` frame received: the acknowledgements.
    acks: Vec<Msg>,
    errors: Vec<Value>,
    /// The close frame's code, if a close frame came.
    close: Option<Option<u16>>,
}

struct Lane {
    live: Arc<Mutex<Live>>,
    writer: JoinHandle<()>,
    reader: JoinHandle<()>,
}

/// Every conversation's customer sending as fast as it can, never waiting
/// for an acknowledgement unless `IN_FLIGHT` are outstanding, while a reader
/// task per socket records every acknowledgement.
struct Traffic {
    acks: Arc<AtomicUsize>,
    lanes: Vec<Lane>,
}

impl Traffic {
    async fn start(addr: SocketAddr, conversations: &[Conversation]) -> Traffic {
        let acks = Arc::new(AtomicUsize::new(0));
        let mut lanes = Vec::new();
        for conv in conversations {
            let n = conv.stored.len();
            let url = format!("ws://{addr}/ws/customer/{}?since={n}", conv.client);
            let (client, welcome, _) = WsClient::join(&url).await;
            assert_eq!(last_seq(&welcome), n as u64, "{}", conv.client);
            let (mut sink, mut stream) = client.socket.split();
            let window = Arc::new(Semaphore::new(IN_FLIGHT));
            let live = Arc::new(Mutex::new(Live::default()));

            let (tag, first) = (conv.tag, conv.sent.len() + 1);
            let (w_window, w_live) = (Arc::clone(&window), Arc::clone(&live));
            let writer = tokio::spawn(async move {
                for k in first.. {
                    match w_window.acquire().await {
                        Ok(permit) => permit.forget(),
                        Err(_) => break, // the reader has ended
                    }
                    let id = format!("c{tag}-{k}");
                    let frame = json!({"type": "message", "text": text_of(&id), "id": id});
                    w_live.lock().unwrap().sent.push(id);
                    if sink.send(Message::Text(frame.to_string())).await.is_err() {
                        break;
                    }
                }
            });

            let (r_acks, r_live) = (Arc::clone(&acks), Arc::clone(&live));
            let reader = tokio::spawn(async move {
                while let Some(Ok(frame)) = stream.next().await {
                    match frame {
                        Message::Text(text) => {
                            let v: Value = serde_json::from_str(&text).expect("server sends JSON");
                            match v["type"].as_str() {
                                Some("message") => {
                                    r_live.lock().unwrap().acks.push(Msg::parse(&v));
                                    r_acks.fetch_add(1, Ordering::Relaxed);
                                    window.add_permits(1);
                                }
                                Some("error") => {
                                    r_live.lock().unwrap().errors.push(v);
                                    window.add_permits(1);
                                }
                                _ => {}
                            }
                        }
                        Message::Close(frame) => {
                            r_live.lock().unwrap().close = Some(frame.map(|f| u16::from(f.code)));
                        }
                        _ => {}
                    }
                }
                window.close();
            });
            lanes.push(Lane {
                live,
                writer,
                reader,
            });
        }
        Traffic { acks, lanes }
    }

    async fn wait_for_acks(&self, at_least: usize) {
        let what = format!("{at_least} acknowledgements");
        eventually(&what, PATIENCE, || async {
            (self.acks.load(Ordering::Relaxed) >= at_least).then_some(())
        })
        .await;
    }

    /// Once the server is gone: waits for every task and hands each
    /// conversation what its socket saw.
    async fn finish(self, conversations: &mut [Conversation]) -> Vec<Live> {
        let mut seen = Vec::new();
        for (lane, conv) in self.lanes.into_iter().zip(conversations.iter_mut()) {
            for task in [lane.writer, lane.reader] {
                tokio::time::timeout(PATIENCE, task)
                    .await
                    .unwrap_or_else(|_| panic!("{}: traffic task did not end", conv.client))
                    .expect("traffic task panicked");
            }
            let live = std::mem::take(&mut *lane.live.lock().unwrap());
            conv.absorb(&live);
            seen.push(live);
        }
        seen
    }
}

/// Sent but not acknowledged, over all conversations' last traffic run.
fn in_flight(seen: &[Live]) -> usize {
    seen.iter()
        .map(|l| l.sent.len().saturating_sub(l.acks.len()))
        .sum()
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

on_each_backend! {
    async fn history_survives_a_restart_and_seqs_continue() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/restart-1")).await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/restart-1")).await;
        let mut before = Vec::new();
        for i in 1..=6 {
            let (text, id) = (format!("customer says {i}"), format!("c-{i}"));
            before.push(say_and_ack(&mut customer, Some(&mut agent), &text, Some(&id)).await);
            if i % 2 == 0 {
                let text = format!("agent answers {i}");
                before.push(say_and_ack(&mut agent, Some(&mut customer), &text, None).await);
            }
        }
        let seqs: Vec<u64> = before.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=9).collect::<Vec<u64>>());
        customer.close().await;
        agent.close().await;

        let app = app.restart().await;
        for url in [
            app.ws("/ws/customer/restart-1?since=0"),
            app.ws_as_agent("/ws/agent/restart-1?since=0"),
        ] {
            let (last, history) = full_history(&url).await;
            assert_eq!(last, 9, "welcome of {url} after the restart");
            assert_eq!(history, before, "history of {url} after the restart");
        }

        let (mut customer, _, gap) = WsClient::join(&app.ws("/ws/customer/restart-1?since=9")).await;
        assert!(history_messages(&gap).is_empty());
        let next = say_and_ack(&mut customer, None, "after the restart", Some("c-7")).await;
        assert_eq!(next.seq, 10, "the numbering continues after the restart");
        // A retry of a message from before the restart is not stored again.
        customer.say("customer says 1", Some("c-1")).await;
        assert_eq!(Msg::parse(&customer.wait_for("message").await), before[0]);
        let last_one = say_and_ack(&mut customer, None, "one more", Some("c-8")).await;
        assert_eq!(last_one.seq, 11);
        before.extend([next, last_one]);
        customer.close().await;

        let app = app.restart().await;
        let (last, history) = full_history(&app.ws_as_agent("/ws/agent/restart-1?since=0")).await;
        assert_eq!(last, 11);
        assert_eq!(history, before, "history after a second restart");
    }
}

on_each_backend! {
    async fn every_acknowledged_message_survives_kill_9() {
        let dir = TempDir::new().expect("temp dir");
        let store = store_flags();
        let mut conversations: Vec<Conversation> = (0..CONVERSATIONS)
            .map(|tag| Conversation::new("k9", tag))
            .collect();
        let (mut server, mut addr) = start_server(dir.path(), &store).await;
        for (cycle, kill_after) in [200, 600, 1000].into_iter().enumerate() {
            let traffic = Traffic::start(addr, &conversations).await;
            traffic.wait_for_acks(kill_after).await;
            server.kill_9().await;
            let seen = traffic.finish(&mut conversations).await;
            for (live, conv) in seen.iter().zip(&conversations) {
                assert!(
                    live.errors.is_empty(),
                    "{}: {} errors during traffic, the first: {:?}",
                    conv.client,
                    live.errors.len(),
                    &live.errors[..live.errors.len().min(3)]
                );
            }
            let acked: usize = seen.iter().map(|l| l.acks.len()).sum();
            let sent: usize = seen.iter().map(|l| l.sent.len()).sum();
            let unacked = in_flight(&seen);
            eprintln!("cycle {cycle}: killed with {acked} of {sent} messages acknowledged");
            assert!(
                unacked > 0,
                "the kill should land mid-stream, with messages unacknowledged"
            );

            (server, addr) = start_server(dir.path(), &store).await;
            for conv in &mut conversations {
                conv.verify_and_resend(&format!("ws://{addr}")).await;
            }
        }
        let total: usize = conversations.iter().map(|c| c.stored.len()).sum();
        eprintln!("{total} messages stored over {CONVERSATIONS} conversations, 3 kills");
        server.kill_9().await;
    }
}

on_each_backend! {
    async fn sigterm_during_traffic_keeps_every_acknowledged_message_and_exits_0() {
        let dir = TempDir::new().expect("temp dir");
        let store = store_flags();
        let mut conversations: Vec<Conversation> = (0..CONVERSATIONS)
            .map(|tag| Conversation::new("term", tag))
            .collect();
        let (mut server, addr) = start_server(dir.path(), &store).await;
        let traffic = Traffic::start(addr, &conversations).await;
        traffic.wait_for_acks(200).await;
        server.sigterm();
        let status = server
            .wait_exit(EXIT_TIMEOUT, "SIGTERM should stop it gracefully")
            .await;
        assert!(
            status.success(),
            "SIGTERM: exit {status}, expected 0; stderr:\n{}",
            server.stderr()
        );
        let seen = traffic.finish(&mut conversations).await;
        for (live, conv) in seen.iter().zip(&conversations) {
            assert_eq!(
                live.close,
                Some(Some(1001)),
                "{}: the socket should be closed with 1001 (going away)",
                conv.client
            );
            for error in &live.errors {
                assert_eq!(
                    error["code"], "shutting_down",
                    "{}: unexpected error during shutdown",
                    conv.client
                );
            }
        }
        drop(server);

        let (mut server, addr) = start_server(dir.path(), &store).await;
        for conv in &mut conversations {
            conv.verify_and_resend(&format!("ws://{addr}")).await;
        }
        server.sigterm();
        let status = server.wait_exit(EXIT_TIMEOUT, "idle SIGTERM").await;
        assert!(status.success(), "idle SIGTERM: exit {status}");
    }
}

#[actix_web::test]
async fn startup_fails_when_another_instance_uses_the_data_dir() {
    let dir = TempDir::new().expect("temp dir");
    let (mut first, addr) = start_server(dir.path(), &[]).await;
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(
        &stderr,
        &[&dir.path().display().to_string(), "in use", "--data-dir"],
    );
    // The running instance is unharmed.
    let health = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("healthz of the first instance");
    assert!(health.status().is_success());
    assert!(first.child.try_wait().expect("try_wait").is_none());
    first.sigterm();
    let status = first.wait_exit(EXIT_TIMEOUT, "SIGTERM").await;
    assert!(status.success());
}

#[actix_web::test]
async fn startup_fails_on_a_corrupt_database_and_leaves_it_untouched() {
    let binary: Vec<u8> = (0..16_384u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = b"this is not a database, just some notes\n".to_vec();
    for garbage in [binary, text] {
        let dir = TempDir::new().expect("temp dir");
        let db = dir.path().join(DB_FILE);
        std::fs::write(&db, &garbage).unwrap();
        let stderr = start_expecting_refusal(dir.path()).await;
        assert_mentions(
            &stderr,
            &[
                &db.display().to_string(),
                "not a valid support-chat database",
                "backup",
            ],
        );
        assert!(
            std::fs::read(&db).unwrap() == garbage,
            "the corrupt file must be left untouched"
        );
    }
}

#[actix_web::test]
async fn startup_fails_on_a_database_of_another_application_and_leaves_it_untouched() {
    let dir = TempDir::new().expect("temp dir");
    let db = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER);
             INSERT INTO invoices (amount) VALUES (42);",
        )
        .unwrap();
    }
    let original = std::fs::read(&db).unwrap();
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(
        &stderr,
        &[
            &db.display().to_string(),
            "not a valid support-chat database",
        ],
    );
    let after = std::fs::read(&db).unwrap();
    let changed: Vec<String> = original
        .iter()
        .zip(&after)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(at, (a, b))| format!("byte {at}: {a} -> {b}"))
        .collect();
    assert!(
        changed.is_empty() && after.len() == original.len(),
        "the other application's database must be left byte for byte as it was, but \
         {} bytes changed ({}; bytes 18 and 19 are SQLite's journal mode, 2 = WAL) \
         and its length went from {} to {}",
        changed.len(),
        changed[..changed.len().min(6)].join(", "),
        original.len(),
        after.len()
    );
    let journals: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with("-wal") || name.ends_with("-shm")
        })
        .collect();
    assert!(
        journals.is_empty(),
        "no journal files are left beside it: {journals:?}"
    );
}

#[actix_web::test]
async fn startup_fails_on_a_database_written_by_a_newer_version() {
    let dir = TempDir::new().expect("temp dir");
    let (mut server, addr) = start_server(dir.path(), &[]).await;
    let (mut customer, _, _) = WsClient::join(&format!("ws://{addr}/ws/customer/future-1")).await;
    say_and_ack(&mut customer, None, "kept", Some("c-1")).await;
    customer.close().await;
    server.sigterm();
    assert!(server.wait_exit(EXIT_TIMEOUT, "SIGTERM").await.success());
    drop(server);

    let db = dir.path().join(DB_FILE);
    let user_version = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        assert!(
            user_version(&conn) >= 1,
            "the server wrote a schema version"
        );
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let stderr = start_expecting_refusal(dir.path()).await;
    assert_mentions(&stderr, &[&db.display().to_string(), "newer", "upgrade"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    assert_eq!(
        user_version(&conn),
        99,
        "the newer database is left as it was"
    );
    let kept: i64 = conn
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, 1);
}

#[actix_web::test]
async fn startup_fails_when_the_data_dir_is_not_usable() {
    let tmp = TempDir::new().expect("temp dir");
    let file = tmp.path().join("file");
    std::fs::write(&file, "a regular file, not a directory\n").unwrap();
    let data_dir = file.join("sub");
    let stderr = start_expecting_refusal(&data_dir).await;
    assert_mentions(&stderr, &[&data_dir.display().to_string(), "--data-dir"]);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a regular file, not a directory\n"
    );
}

/// The number of conversations the server holds in memory.
async fn sessions(app: &TestApp) -> u64 {
    let health: Value = app
        .get("/healthz")
        .await
        .json()
        .await
        .expect("healthz JSON");
    health["sessions"]
        .as_u64()
        .unwrap_or_else(|| panic!("healthz without sessions: {health}"))
}

async fn wait_for_eviction(app: &TestApp) {
    eventually("the idle conversation to be evicted", PATIENCE, || async {
        (sessions(app).await == 0).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn an_evicted_conversation_is_rebuilt_with_identical_history() {
    let app = spawn_app_with(&["--idle-timeout", "300ms"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/evict-1")).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/evict-1")).await;
    let mut before = Vec::new();
    for i in 1..=4 {
        let (text, id) = (format!("question {i}"), format!("c-{i}"));
        before.push(say_and_ack(&mut customer, Some(&mut agent), &text, Some(&id)).await);
        let (text, id) = (format!("answer {i}"), format!("a-{i}"));
        before.push(say_and_ack(&mut agent, Some(&mut customer), &text, Some(&id)).await);
    }
    assert_eq!(
        sessions(&app).await,
        1,
        "the live conversation is in memory"
    );
    customer.close().await;
    agent.close().await;
    wait_for_eviction(&app).await;

    let (mut customer, welcome, history) =
        WsClient::join(&app.ws("/ws/customer/evict-1?since=0")).await;
    assert_eq!(last_seq(&welcome), 8);
    assert_eq!(
        history_messages(&history),
        before,
        "customer history rebuilt"
    );
    let (mut agent, welcome, history) =
        WsClient::join(&app.ws_as_agent("/ws/agent/evict-1?since=0")).await;
    assert_eq!(last_seq(&welcome), 8);
    assert_eq!(history_messages(&history), before, "agent history rebuilt");

    let next = say_and_ack(&mut customer, Some(&mut agent), "still there?", Some("c-5")).await;
    assert_eq!(next.seq, 9, "the numbering continues after the eviction");
    // Retries of messages from before the eviction are recognised.
    customer.say("question 1", Some("c-1")).await;
    assert_eq!(Msg::parse(&customer.wait_for("message").await), before[0]);
    agent.say("answer 4", Some("a-4")).await;
    assert_eq!(Msg::parse(&agent.wait_for("message").await), before[7]);
    let reply = say_and_ack(&mut agent, Some(&mut customer), "yes", Some("a-5")).await;
    assert_eq!(reply.seq, 10);
    before.extend([next, reply]);
    customer.close().await;
    agent.close().await;

    wait_for_eviction(&app).await;
    let (last, history) = full_history(&app.ws_as_agent("/ws/agent/evict-1?since=0")).await;
    assert_eq!(last, 10);
    assert_eq!(history, before, "history after a second eviction");
}
