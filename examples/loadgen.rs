//! A WebSocket load generator for the support-chat protocol (PROTOCOL.md).
//!
//! ```text
//! cargo run --release --example loadgen -- [COMMON FLAGS] <SCENARIO> [FLAGS]
//!
//!   hold    S idle sessions (a customer and an agent socket each): server RSS per session
//!           (--history H: each conversation first gets H messages, so it is measured
//!           connected with a long history)
//!   relay   S sessions, R msg/s in all for D s: latency, lost/duplicated/reordered, CPU/msg
//!           (--no-ids: messages without a client message id; --raw: the server is a
//!           raw-text relay such as ../shared/bench/actix-floor, the frame is the token)
//!   replay  a conversation of H messages, reconnected N times with since=0 (the whole
//!           history, paging with history_before) and with since=H-10 (only the gap)
//!   flood   one customer sends K messages as fast as it can (--window W: at most W
//!           unanswered), to a reading or a never-reading (--agent-not-reading) agent:
//!           acks, acknowledged-but-not-stored (via the REST API), server RSS growth
//!   table   turns the JSON lines of earlier runs into a Markdown table
//!   compare support-chat against the floor from relay runs labelled (--label)
//!           `ours`, `floor` and `ours-full`: medians, ratios, highest rate
//! ```
//!
//! Common flags: `--url http://127.0.0.1:8000`, `--agent-token`, `--server-pid`
//! (to read the server's RSS, CPU time and disk writes from /proc), `--sources
//! N` (spread client sockets over the loopback source addresses 127.0.0.2 …
//! 127.0.0.N+1, so more than one address's ephemeral ports are usable),
//! `--threads` (the generator's tokio worker threads, default 2) and
//! `--strict` (exit 1 on a failure: something lost, duplicated or reordered,
//! a wrong history, sessions that could not connect). The generator raises
//! its own open-file limit to the hard limit.
//!
//! Progress goes to stderr; every run ends with exactly one line of JSON
//! figures on stdout, with `ok`, `failures` and `warnings` (allowed by the
//! protocol but worth knowing, e.g. a socket closed 4002 as too slow).
//! Latencies are measured inside this one process: the customer puts its
//! send time (µs since the generator started) in the text, and the agent
//! (and the customer's own acknowledgement) subtracts it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::{sleep, sleep_until, timeout};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

#[path = "loadgen/compare.rs"]
mod compare;

type Ws = WebSocketStream<TcpStream>;

#[derive(Parser)]
#[command(name = "loadgen", about = "WebSocket load generator for support-chat")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Args, Clone)]
struct Common {
    /// Base address of the server.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// Agents connect here instead of `--url`: another node of a cluster,
    /// so every message crosses nodes (relay).
    #[arg(long, global = true)]
    agent_url: Option<String>,
    /// The server's agent token (agent sockets send it as `?token=`).
    #[arg(long, global = true, default_value = "bench")]
    agent_token: String,
    /// The server's process id, to read its RSS, CPU time and disk writes
    /// from /proc.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Spread client sockets over this many loopback source addresses
    /// (127.0.0.2, 127.0.0.3, …); 0 lets the system choose (127.0.0.1).
    #[arg(long, global = true, default_value_t = 0)]
    sources: u32,
    /// Worker threads of the generator's tokio runtime.
    #[arg(long, global = true, default_value_t = 2)]
    threads: usize,
    /// Exit with status 1 on a failure: something lost, duplicated or
    /// reordered, a wrong history, or sessions that could not connect.
    #[arg(long, global = true)]
    strict: bool,
    /// Client ids start with this (default: a random run prefix).
    #[arg(long, global = true)]
    prefix: Option<String>,
    /// Copied into the JSON figures as `label` (the `compare` table groups
    /// runs by it).
    #[arg(long, global = true)]
    label: Option<String>,
}

#[derive(Subcommand)]
enum Scenario {
    /// S idle sessions: server RSS per session.
    Hold(HoldArgs),
    /// S sessions relaying R msg/s in all for D seconds.
    Relay(RelayArgs),
    /// Reconnects to a conversation of H messages.
    Replay(ReplayArgs),
    /// One customer sends K messages as fast as it can.
    Flood(FloodArgs),
    /// Markdown table of JSON result lines (files, or stdin without any).
    Table(TableArgs),
    /// support-chat against the framework floor, from labelled relay runs.
    Compare(CompareArgs),
}

#[derive(Args)]
struct HoldArgs {
    /// Sessions (a customer and an agent socket each).
    #[arg(long, default_value_t = 2000)]
    sessions: usize,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Sessions connected and closed before the baseline RSS is read.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Seconds to wait after the last welcome before reading RSS.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Seconds to hold the idle sessions (server CPU is measured meanwhile).
    #[arg(long, default_value_t = 5.0)]
    hold: f64,
    /// Messages each conversation holds before its sockets connect (written
    /// by a customer socket, closed again before the baseline RSS is read):
    /// what a connected conversation with a long history costs.
    #[arg(long, default_value_t = 0)]
    history: u64,
    /// RSS readings while connecting (at every sessions/steps).
    #[arg(long, default_value_t = 4)]
    steps: usize,
}

#[derive(Args)]
struct RelayArgs {
    #[arg(long, default_value_t = 100)]
    sessions: usize,
    /// Messages per second, in all (split evenly over the sessions).
    #[arg(long, default_value_t = 14000.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// After the last send, wait for what is still in flight until nothing
    /// new has arrived for this many seconds.
    #[arg(long, default_value_t = 3.0)]
    grace: f64,
    /// ... but no longer than this many seconds after the last send.
    #[arg(long, default_value_t = 60.0)]
    max_drain: f64,
    /// Bytes of padding in each message text (after the timestamp).
    #[arg(long, default_value_t = 40)]
    text_bytes: usize,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Send messages without a client message `id` (by default each
    /// carries one, as the web pages do, for idempotent retries).
    #[arg(long)]
    no_ids: bool,
    /// Drive a raw-text relay (the framework floor of
    /// ../shared/bench/actix-floor) instead of support-chat: sockets at
    /// /ws/customer/{id} and /ws/agent/{id} with no welcome or history, each
    /// frame is the bare message text (the token), the sender gets it back as
    /// its acknowledgement and the other side gets a copy.
    #[arg(long)]
    raw: bool,
}

#[derive(Args)]
struct ReplayArgs {
    /// Messages in the conversation.
    #[arg(long, default_value_t = 1000)]
    history: u64,
    /// Reconnects with since=0 (the full history is fetched, paging with
    /// history_before after the first page).
    #[arg(long, default_value_t = 200)]
    reconnects: usize,
    /// Reconnects with since=H-10 (only the 10 missing messages must come).
    #[arg(long, default_value_t = 200)]
    gap_reconnects: usize,
    /// Bytes of padding in each message text.
    #[arg(long, default_value_t = 40)]
    text_bytes: usize,
}

#[derive(Args)]
struct FloodArgs {
    /// Messages the customer sends.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// The agent socket connects but never reads (until the flood is over).
    #[arg(long)]
    agent_not_reading: bool,
    /// Most messages in flight (sent, neither acknowledged nor refused);
    /// 0: no limit, everything is sent without waiting.
    #[arg(long, default_value_t = 0)]
    window: usize,
    /// Give up waiting for acknowledgements after this many seconds of silence.
    #[arg(long, default_value_t = 5.0)]
    idle: f64,
    /// Bytes of padding in each message text.
    #[arg(long, default_value_t = 40)]
    text_bytes: usize,
}

#[derive(Args)]
struct TableArgs {
    files: Vec<PathBuf>,
}

#[derive(Args)]
struct CompareArgs {
    /// JSON result lines (stdin without any).
    files: Vec<PathBuf>,
    /// The rates (msg/s) to compare at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5000,14000")]
    rates: Vec<f64>,
    /// Print nothing; exit 0 when every run given sustained its rate (sent
    /// it, lost nothing, p99 under 50 ms), else 1. For a climb through rates.
    #[arg(long)]
    passes: bool,
}

// ---------------------------------------------------------------------------
// Plumbing: clock, /proc, connections, frames.

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the generator started; what the texts carry.
fn now_us() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// Raises the soft open-file limit to the hard one; returns the new limit.
fn raise_nofile_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we own.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let wanted = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                limit = wanted;
            }
        }
    }
    limit.rlim_cur
}

fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// Resident set size of a process, in KiB (`VmRSS`).
fn rss_kb(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time (user + system, all threads, dead ones included) in µs.
fn cpu_us(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); after the name, the state is field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / clock_ticks_per_sec())
}

/// Bytes a process has written to storage (`write_bytes` of /proc/PID/io:
/// what it dirtied in the page cache, the database and its WAL here).
fn disk_write_bytes(pid: &str) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    let line = io.lines().find(|l| l.starts_with("write_bytes:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Where the server is and how to reach it.
struct Ctx {
    common: Common,
    /// `host:port` as written in the URLs.
    host: String,
    addr: SocketAddr,
    /// Where agent sockets of a relay go (`--agent-url`, else the above).
    agent_host: String,
    agent_addr: SocketAddr,
    prefix: String,
    next_source: AtomicU32,
}

impl Ctx {
    fn server_rss(&self) -> Option<u64> {
        rss_kb(&self.common.server_pid?.to_string())
    }

    fn server_cpu(&self) -> Option<u64> {
        cpu_us(&self.common.server_pid?.to_string())
    }

    fn server_disk_writes(&self) -> Option<u64> {
        disk_write_bytes(&self.common.server_pid?.to_string())
    }

    fn customer_path(&self, client: &str, since: u64) -> String {
        format!("/ws/customer/{client}?since={since}")
    }

    fn agent_path(&self, client: &str, since: u64) -> String {
        format!(
            "/ws/agent/{client}?since={since}&token={}",
            self.common.agent_token
        )
    }

    /// Opens a WebSocket to `path`, from the next loopback source address.
    async fn connect(&self, path: &str) -> Result<Ws, String> {
        self.connect_to(self.addr, &self.host, path).await
    }

    /// An agent's socket of a relay (on `--agent-url` if given).
    async fn connect_agent(&self, path: &str) -> Result<Ws, String> {
        self.connect_to(self.agent_addr, &self.agent_host, path)
            .await
    }

    async fn connect_to(&self, addr: SocketAddr, host: &str, path: &str) -> Result<Ws, String> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| format!("socket: {e}"))?;
        if self.common.sources > 0 && addr.is_ipv4() {
            let k = self.next_source.fetch_add(1, Ordering::Relaxed) % self.common.sources;
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + k);
            socket
                .bind(SocketAddr::new(ip.into(), 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let url = format!("ws://{host}{path}");
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| format!("handshake {path}: {e}"))?;
        Ok(ws)
    }
}

/// Every field of a server frame this generator looks at.
#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    seq: Option<u64>,
    #[serde(borrow)]
    from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default)]
    messages: Vec<HistoryItem>,
    has_more: Option<bool>,
}

impl<'a> Frame<'a> {
    /// A raw relay's frame read as a message: the text is the token, and
    /// its number stands in for the sequence number so that order and
    /// duplicates are still checked.
    fn raw(text: &'a str) -> Frame<'a> {
        Frame {
            kind: Cow::Borrowed("message"),
            seq: number_in_text(text).map(|n| n as u64 + 1),
            from: None,
            text: Some(Cow::Borrowed(text)),
            id: None,
            code: None,
            messages: Vec::new(),
            has_more: None,
        }
    }
}

#[derive(Deserialize)]
struct HistoryItem {
    seq: u64,
}

fn parse(text: &str) -> Result<Frame<'_>, String> {
    serde_json::from_str(text).map_err(|e| format!("bad server frame {text:.120}: {e}"))
}

/// The send time (µs) a message text starts with.
fn sent_at(text: &str) -> Option<u64> {
    text.split(' ').next()?.parse().ok()
}

/// `<prefix><n>` → n.
fn number_of(id: &str, prefix: &str) -> Option<usize> {
    id.strip_prefix(prefix)?.parse().ok()
}

fn message_frame(text: String, id: &str) -> Message {
    Message::Text(json!({"type": "message", "text": text, "id": id}).to_string())
}

/// A message without a client id (the server then never looks one up).
fn anonymous_message_frame(text: String) -> Message {
    Message::Text(json!({"type": "message", "text": text}).to_string())
}

/// `<send time µs> <n> <pad>`: what relay messages say.
fn numbered_text(n: usize, pad: &str) -> String {
    format!("{} {n} {pad}", now_us())
}

fn number_in_text(text: &str) -> Option<usize> {
    text.split(' ').nth(1)?.parse().ok()
}

fn padded_text(pad: &str) -> String {
    format!("{} {pad}", now_us())
}

/// Reads until a frame of type `kind` arrives and returns its text. An
/// `error` frame, a close or the timeout is an error.
async fn expect(ws: &mut Ws, kind: &str, within: Duration) -> Result<String, String> {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame = parse(&text)?;
                    if frame.kind == kind {
                        return Ok(text);
                    }
                    if frame.kind == "error" {
                        return Err(format!("error frame while waiting for {kind}: {text}"));
                    }
                }
                Some(Ok(Message::Close(close))) => {
                    return Err(format!("closed while waiting for {kind}: {close:?}"))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("socket error while waiting for {kind}: {e}")),
                None => return Err(format!("connection ended while waiting for {kind}")),
            }
        }
    };
    timeout(within, wait)
        .await
        .map_err(|_| format!("no {kind} within {within:?}"))?
}

/// Sends a close frame and forgets the socket.
async fn close(mut ws: Ws) {
    let _ = timeout(Duration::from_secs(1), ws.close(None)).await;
}

/// Closes `ws` as a client does and waits until the server has answered
/// and ended the TCP connection: how long that took (None: not within 5 s).
async fn timed_close(mut ws: Ws) -> Option<Duration> {
    let started = Instant::now();
    let drained = async {
        ws.close(None).await.ok()?;
        // The WebSocket ends with the server's close frame; the connection
        // only when the server has shut down its side of the TCP stream.
        while let Some(Ok(_)) = ws.next().await {}
        let tcp = ws.get_mut();
        let mut buf = [0u8; 256];
        while let Ok(1..) = tcp.read(&mut buf).await {}
        Some(started.elapsed())
    };
    timeout(Duration::from_secs(5), drained)
        .await
        .ok()
        .flatten()
}

fn describe_close(close: &Option<CloseFrame<'_>>) -> String {
    match close {
        Some(c) => format!("{} {:?}", u16::from(c.code), c.reason),
        None => "without a code".into(),
    }
}

fn close_code(close: &Option<CloseFrame<'_>>) -> u16 {
    close.as_ref().map(|c| u16::from(c.code)).unwrap_or(1005)
}

/// Which seqs one socket has seen: duplicates and reordering.
#[derive(Default)]
struct SeqTrack {
    last: u64,
    seen: Vec<bool>,
    duplicated: u64,
    reordered: u64,
}

impl SeqTrack {
    /// Counts `seq`; false if it was seen before.
    fn see(&mut self, seq: u64) -> bool {
        let i = seq as usize;
        if self.seen.len() <= i {
            self.seen.resize((i + 1).max(self.seen.len() * 2), false);
        }
        if self.seen[i] {
            self.duplicated += 1;
            return false;
        }
        self.seen[i] = true;
        if seq < self.last {
            self.reordered += 1;
        } else {
            self.last = seq;
        }
        true
    }
}

/// What went wrong in a run. Failures are broken guarantees (a message
/// lost, duplicated or reordered, a wrong history, sessions that could not
/// be opened): `--strict` exits 1 on them. Warnings are worth knowing but
/// allowed by the protocol (a socket closed 4002 as too slow, refusals).
#[derive(Default)]
struct Notes {
    failures: Vec<String>,
    warnings: Vec<String>,
}

impl Notes {
    const KEEP: usize = 20;

    fn fail(&mut self, what: String) {
        if self.failures.len() < Self::KEEP {
            self.failures.push(what);
        }
    }

    fn warn(&mut self, what: String) {
        if self.warnings.len() < Self::KEEP {
            self.warnings.push(what);
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

/// Latency figures in milliseconds.
fn summary(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "mean_ms": (h.mean() / 10.0).round() / 100.0,
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

fn kb_per(delta_kb: Option<i64>, n: usize) -> Option<f64> {
    delta_kb
        .filter(|_| n > 0)
        .map(|d| (d as f64 / n as f64 * 100.0).round() / 100.0)
}

fn diff(after: Option<u64>, before: Option<u64>) -> Option<i64> {
    Some(after? as i64 - before? as i64)
}

/// A float as an integer when it is one (for tidy JSON).
fn whole(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Connects a customer and then an agent socket to `client` and waits for
/// both welcomes and histories (a raw relay sends neither).
async fn connect_session(ctx: &Ctx, client: &str, raw: bool) -> Result<(Ws, Ws), String> {
    if raw {
        let customer = ctx.connect(&format!("/ws/customer/{client}")).await?;
        let agent = ctx.connect_agent(&format!("/ws/agent/{client}")).await?;
        return Ok((customer, agent));
    }
    let wait = Duration::from_secs(30);
    let mut customer = ctx.connect(&ctx.customer_path(client, 0)).await?;
    expect(&mut customer, "welcome", wait).await?;
    expect(&mut customer, "history", wait).await?;
    let mut agent = ctx.connect_agent(&ctx.agent_path(client, 0)).await?;
    expect(&mut agent, "welcome", wait).await?;
    expect(&mut agent, "history", wait).await?;
    Ok((customer, agent))
}

/// Connects `n` sessions named `<prefix>-<tag>-<i>`, `concurrency` at a time.
async fn connect_sessions(
    ctx: &Arc<Ctx>,
    tag: &str,
    n: usize,
    concurrency: usize,
    raw: bool,
) -> Result<Vec<(String, Ws, Ws)>, String> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (ctx, gate) = (Arc::clone(ctx), Arc::clone(&gate));
        let client = format!("{}-{tag}-{i}", ctx.prefix);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore open");
            let (c, a) = connect_session(&ctx, &client, raw).await?;
            Ok::<_, String>((client, c, a))
        }));
    }
    let mut sessions = Vec::with_capacity(n);
    for task in tasks {
        sessions.push(task.await.map_err(|e| e.to_string())??);
    }
    Ok(sessions)
}

// ---------------------------------------------------------------------------
// hold

/// Fills every hold conversation with `args.history` messages from a
/// customer socket of its own, closed afterwards.
async fn write_histories(ctx: &Arc<Ctx>, args: &HoldArgs) -> Result<(), String> {
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let pad = "x".repeat(40);
    let tasks: Vec<_> = (0..args.sessions)
        .map(|i| {
            let (ctx, gate, pad, count) = (
                Arc::clone(ctx),
                Arc::clone(&gate),
                pad.clone(),
                args.history,
            );
            tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore open");
                let client = format!("{}-hold-{i}", ctx.prefix);
                let mut ws = ctx.connect(&ctx.customer_path(&client, 0)).await?;
                fill(&mut ws, count, "h", &pad).await?;
                close(ws).await;
                Ok::<_, String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

async fn hold(ctx: Arc<Ctx>, args: HoldArgs) -> (Value, Notes) {
    let mut notes = Notes::default();
    if args.warmup > 0 {
        eprintln!("hold: warm-up with {} sessions", args.warmup);
        match connect_sessions(&ctx, "warm", args.warmup, args.concurrency, false).await {
            Ok(sessions) => {
                for (_, c, a) in sessions {
                    close(c).await;
                    close(a).await;
                }
            }
            Err(e) => notes.fail(format!("warm-up failed: {e}")),
        }
        sleep(Duration::from_secs(1)).await;
    }
    if args.history > 0 {
        eprintln!(
            "hold: writing {} messages into each of {} conversations",
            args.history, args.sessions
        );
        if let Err(e) = write_histories(&ctx, &args).await {
            notes.fail(format!("writing the histories failed: {e}"));
        }
        sleep(Duration::from_secs(1)).await;
    }
    let rss_before = ctx.server_rss();
    eprintln!(
        "hold: server RSS before: {:?} KiB; connecting {} sessions",
        rss_before, args.sessions
    );
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let (ctx, gate, ready, failed) = (
            Arc::clone(&ctx),
            Arc::clone(&gate),
            Arc::clone(&ready),
            Arc::clone(&failed),
        );
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let client = format!("{}-hold-{i}", ctx.prefix);
            let permit = gate.acquire().await.expect("semaphore open");
            let (mut customer, mut agent) = match connect_session(&ctx, &client, false).await {
                Ok(pair) => pair,
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            drop(permit);
            ready.fetch_add(1, Ordering::Relaxed);
            // Idle, but read (pings are answered while reading).
            let mut dropped = None;
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    f = customer.next() => if !matches!(f, Some(Ok(_))) {
                        dropped = Some(format!("{client}: customer socket ended: {f:?}"));
                        break;
                    },
                    f = agent.next() => if !matches!(f, Some(Ok(_))) {
                        dropped = Some(format!("{client}: agent socket ended: {f:?}"));
                        break;
                    },
                }
            }
            close(customer).await;
            close(agent).await;
            dropped.map_or(Ok(()), Err)
        }));
    }
    let mut curve = Vec::new();
    let step = (args.sessions / args.steps.max(1)).max(1);
    let mut next_mark = step;
    let limit = Duration::from_secs(60) + Duration::from_millis(20 * args.sessions as u64);
    loop {
        let (r, f) = (
            ready.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        if r >= next_mark && r < args.sessions {
            curve.push(json!([r, ctx.server_rss()]));
            eprintln!("hold: {r} sessions, server RSS {:?} KiB", ctx.server_rss());
            next_mark = (r / step + 1) * step;
        }
        if r + f >= args.sessions {
            break;
        }
        if started.elapsed() > limit {
            notes.fail(format!(
                "only {r} of {} sessions connected in {limit:?}",
                args.sessions
            ));
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let connected = ready.load(Ordering::Relaxed);
    eprintln!("hold: {connected} sessions connected in {connect_secs:.1} s; settling");
    sleep(Duration::from_secs_f64(args.settle)).await;
    let rss_after = ctx.server_rss();
    curve.push(json!([connected, rss_after]));
    let cpu_before = ctx.server_cpu();
    let held = Instant::now();
    sleep(Duration::from_secs_f64(args.hold)).await;
    let idle_cpu_pct = diff(ctx.server_cpu(), cpu_before)
        .map(|d| round2(d as f64 / held.elapsed().as_micros() as f64 * 100.0));
    let rss_end = ctx.server_rss();
    let _ = stop_tx.send(true);
    let mut dropped = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                notes.fail(e);
                dropped += 1;
            }
            Err(e) => notes.fail(e.to_string()),
        }
    }
    let failed_n = failed.load(Ordering::Relaxed);
    let dropped_n = dropped - failed_n;
    let delta = diff(rss_after, rss_before);
    eprintln!(
        "hold: server RSS {:?} -> {:?} KiB: {:?} KiB per session",
        rss_before,
        rss_after,
        kb_per(delta, connected)
    );
    let figures = json!({
        "scenario": "hold",
        "sessions": args.sessions,
        "history": args.history,
        "connected": connected,
        "failed": failed_n,
        "dropped": dropped_n,
        "connect_secs": round2(connect_secs),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "rss_end_kb": rss_end,
        "rss_per_session_kb": kb_per(delta, connected),
        "rss_curve": curve,
        "idle_server_cpu_pct": idle_cpu_pct,
    });
    (figures, notes)
}

// ---------------------------------------------------------------------------
// relay

/// What one relay session saw.
struct RelayResult {
    sent: usize,
    acked: usize,
    delivered: usize,
    lost: usize,
    duplicated: u64,
    reordered: u64,
    errors: BTreeMap<String, u64>,
    closed: Vec<String>,
    latency: Histogram<u64>,
    ack_latency: Histogram<u64>,
    max_send_lag_us: u64,
    /// From the customer's close frame to the end of its TCP connection.
    close_us: Option<u64>,
    /// When the last new acknowledgement or delivery arrived.
    last_receipt: Option<tokio::time::Instant>,
}

struct RelayPlan {
    first_send: tokio::time::Instant,
    period: Duration,
    stop_sending: tokio::time::Instant,
    grace: Duration,
    hard_stop: tokio::time::Instant,
    pad: String,
    ids: bool,
    raw: bool,
}

impl RelayPlan {
    fn frame(&self, n: usize) -> Message {
        let text = numbered_text(n, &self.pad);
        if self.raw {
            Message::Text(text)
        } else if self.ids {
            message_frame(text, &format!("m{n}"))
        } else {
            anonymous_message_frame(text)
        }
    }

    fn parse<'a>(&self, text: &'a str) -> Result<Frame<'a>, String> {
        if self.raw {
            Ok(Frame::raw(text))
        } else {
            parse(text)
        }
    }
}

async fn relay_session(
    mut customer: Ws,
    mut agent: Ws,
    plan: Arc<RelayPlan>,
    offset: Duration,
) -> RelayResult {
    let mut r = RelayResult {
        sent: 0,
        acked: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        reordered: 0,
        errors: BTreeMap::new(),
        closed: Vec::new(),
        latency: new_histogram(),
        ack_latency: new_histogram(),
        max_send_lag_us: 0,
        close_us: None,
        last_receipt: None,
    };
    let (mut acked, mut delivered) = (Vec::<bool>::new(), Vec::<bool>::new());
    let (mut cust_seqs, mut agent_seqs) = (SeqTrack::default(), SeqTrack::default());
    let mut next_send = plan.first_send + offset;
    let tick = sleep_until(next_send);
    tokio::pin!(tick);
    let give_up = sleep_until(plan.stop_sending + plan.grace);
    tokio::pin!(give_up);
    let (mut customer_open, mut agent_open) = (true, true);
    loop {
        let sending = next_send < plan.stop_sending && customer_open;
        if !sending && r.acked == r.sent && r.delivered == r.sent {
            break;
        }
        tokio::select! {
            () = &mut tick, if sending => {
                let lag = tokio::time::Instant::now().saturating_duration_since(next_send);
                r.max_send_lag_us = r.max_send_lag_us.max(lag.as_micros() as u64);
                if let Err(e) = customer.send(plan.frame(r.sent)).await {
                    r.closed.push(format!("customer send failed: {e}"));
                    customer_open = false;
                } else {
                    r.sent += 1;
                    acked.push(false);
                    delivered.push(false);
                }
                next_send += plan.period;
                tick.as_mut().reset(next_send);
            }
            f = customer.next(), if customer_open => match f {
                Some(Ok(Message::Text(text))) => {
                    let now = now_us();
                    let Ok(frame) = plan.parse(&text) else { continue };
                    match &*frame.kind {
                        "message" => {
                            if let Some(seq) = frame.seq {
                                cust_seqs.see(seq);
                            }
                            let n = frame.text.as_deref().and_then(number_in_text);
                            if let Some(n) = n.filter(|&n| n < acked.len()) {
                                if !acked[n] {
                                    acked[n] = true;
                                    r.acked += 1;
                                    r.last_receipt = Some(tokio::time::Instant::now());
                                    if let Some(t) = frame.text.as_deref().and_then(sent_at) {
                                        r.ack_latency.saturating_record(now.saturating_sub(t));
                                    }
                                }
                            }
                        }
                        "error" => {
                            let code = frame.code.as_deref().unwrap_or("?").to_string();
                            *r.errors.entry(code).or_default() += 1;
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    r.closed.push(format!("customer closed by the server: {}", describe_close(&c)));
                    customer_open = false;
                }
                Some(Ok(_)) => {}
                other => {
                    r.closed.push(format!("customer socket ended: {other:?}"));
                    customer_open = false;
                }
            },
            f = agent.next(), if agent_open => match f {
                Some(Ok(Message::Text(text))) => {
                    let now = now_us();
                    let Ok(frame) = plan.parse(&text) else { continue };
                    if frame.kind == "message" {
                        if let Some(seq) = frame.seq {
                            agent_seqs.see(seq);
                        }
                        let n = frame.text.as_deref().and_then(number_in_text);
                        if let Some(n) = n.filter(|&n| n < delivered.len()) {
                            if !delivered[n] {
                                delivered[n] = true;
                                r.delivered += 1;
                                r.last_receipt = Some(tokio::time::Instant::now());
                                if let Some(t) = frame.text.as_deref().and_then(sent_at) {
                                    r.latency.saturating_record(now.saturating_sub(t));
                                }
                            }
                        }
                    } else if frame.kind == "error" {
                        let code = frame.code.as_deref().unwrap_or("?").to_string();
                        *r.errors.entry(format!("agent:{code}")).or_default() += 1;
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    r.closed.push(format!("agent closed by the server: {}", describe_close(&c)));
                    agent_open = false;
                }
                Some(Ok(_)) => {}
                other => {
                    r.closed.push(format!("agent socket ended: {other:?}"));
                    agent_open = false;
                }
            },
            () = &mut give_up => {
                // Still draining: wait on while something keeps arriving.
                let quiet_until = r.last_receipt.map(|t| t + plan.grace);
                match quiet_until {
                    Some(t) if t > tokio::time::Instant::now() && t < plan.hard_stop => {
                        give_up.as_mut().reset(t);
                    }
                    _ => break,
                }
            }
        }
        if !customer_open && !agent_open {
            break;
        }
    }
    r.lost = acked
        .iter()
        .zip(&delivered)
        .filter(|(a, d)| !(**a && **d))
        .count();
    r.duplicated = cust_seqs.duplicated + agent_seqs.duplicated;
    r.reordered = cust_seqs.reordered + agent_seqs.reordered;
    r.close_us = timed_close(customer).await.map(|d| d.as_micros() as u64);
    close(agent).await;
    r
}

async fn relay(ctx: Arc<Ctx>, args: RelayArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let sessions = args.sessions.max(1);
    eprintln!("relay: connecting {sessions} sessions");
    let pairs = connect_sessions(&ctx, "relay", sessions, args.concurrency, args.raw).await?;
    let period = Duration::from_secs_f64(sessions as f64 / args.rate);
    let first_send = tokio::time::Instant::now() + Duration::from_millis(500);
    let plan = Arc::new(RelayPlan {
        first_send,
        period,
        stop_sending: first_send + Duration::from_secs_f64(args.duration),
        grace: Duration::from_secs_f64(args.grace),
        hard_stop: first_send + Duration::from_secs_f64(args.duration + args.max_drain),
        pad: "x".repeat(args.text_bytes),
        ids: !args.no_ids && !args.raw,
        raw: args.raw,
    });
    eprintln!(
        "relay: {} msg/s in all ({:.1} per session, every {:?}) for {} s",
        args.rate,
        args.rate / sessions as f64,
        period,
        args.duration
    );
    sleep_until(first_send).await;
    let (cpu_before, own_cpu_before) = (ctx.server_cpu(), cpu_us("self"));
    let rss_before = ctx.server_rss();
    let disk_before = ctx.server_disk_writes();
    let started = Instant::now();
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, (_, customer, agent))| {
            let offset = period.mul_f64(i as f64 / sessions as f64);
            tokio::spawn(relay_session(customer, agent, Arc::clone(&plan), offset))
        })
        .collect();
    let mut all = Vec::with_capacity(tasks.len());
    for task in tasks {
        all.push(task.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, own_cpu_after) = (ctx.server_cpu(), cpu_us("self"));
    let rss_after = ctx.server_rss();
    let disk = diff(ctx.server_disk_writes(), disk_before);
    let mut latency = new_histogram();
    let mut ack_latency = new_histogram();
    let mut close_time = new_histogram();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let (mut sent, mut acked, mut delivered, mut lost, mut dup, mut reord, mut lag) =
        (0, 0, 0, 0, 0, 0, 0);
    let last_receipt = all.iter().filter_map(|r| r.last_receipt).max();
    let closed_by_server: usize = all.iter().map(|r| r.closed.len()).sum();
    let mut closes: BTreeMap<String, usize> = BTreeMap::new();
    let busy = last_receipt.map_or(0.0, |t| (t - plan.first_send).as_secs_f64());
    let drain = last_receipt.map_or(0.0, |t| {
        t.saturating_duration_since(plan.stop_sending).as_secs_f64()
    });
    for r in &all {
        let _ = latency.add(&r.latency);
        let _ = ack_latency.add(&r.ack_latency);
        sent += r.sent;
        acked += r.acked;
        delivered += r.delivered;
        lost += r.lost;
        dup += r.duplicated;
        reord += r.reordered;
        lag = lag.max(r.max_send_lag_us);
        if let Some(us) = r.close_us {
            close_time.saturating_record(us);
        }
        for (code, n) in &r.errors {
            *errors.entry(code.clone()).or_default() += n;
        }
        for c in &r.closed {
            *closes.entry(c.clone()).or_default() += 1;
        }
    }
    for (what, n) in &closes {
        notes.warn(format!("{n} × {what}"));
    }
    let unclosed = all.len() - close_time.len() as usize;
    if unclosed > 0 {
        notes.warn(format!(
            "{unclosed} customer sockets still open 5 s after their close frame"
        ));
    }
    let cpu = diff(cpu_after, cpu_before);
    let cpu_per_msg = cpu.map(|c| round2(c as f64 / (acked.max(1)) as f64));
    let own_cpu = diff(own_cpu_after, own_cpu_before);
    if lost > 0 || dup > 0 || reord > 0 || !errors.is_empty() {
        notes.fail(format!(
            "lost {lost}, duplicated {dup}, reordered {reord}, errors {errors:?}"
        ));
    }
    let s = summary(&latency);
    eprintln!(
        "relay: sent {sent}, acked {acked}, delivered {delivered}, lost {lost}; p50 {} ms, p99 {} ms, max {} ms; server CPU {:?} µs/msg",
        s["p50_ms"], s["p99_ms"], s["max_ms"], cpu_per_msg
    );
    let figures = json!({
        "scenario": "relay",
        "sessions": sessions,
        "rate": whole(args.rate),
        "duration_secs": whole(args.duration),
        "ids": !args.no_ids && !args.raw,
        "raw": args.raw,
        "sent": sent,
        "achieved_rate": round2(sent as f64 / args.duration),
        "delivered_per_sec": round2(delivered as f64 / busy.max(1e-6)),
        "drain_secs": round2(drain),
        "acked": acked,
        "delivered": delivered,
        "lost": lost,
        "duplicated": dup,
        "reordered": reord,
        "errors": errors,
        "sockets_closed": closed_by_server,
        "latency": s,
        "ack_latency": summary(&ack_latency),
        "max_send_lag_ms": ms(lag),
        "client_close": summary(&close_time),
        "server_cpu_us_per_msg": cpu_per_msg,
        "server_cpu_pct": cpu.map(|c| round2(c as f64 / (elapsed * 1e4))),
        "server_disk_bytes_per_msg": disk.map(|d| d / acked.max(1) as i64),
        "generator_cpu_pct": own_cpu.map(|c| round2(c as f64 / (elapsed * 1e4))),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
    });
    Ok((figures, notes))
}

// ---------------------------------------------------------------------------
// replay

/// Sends `count` messages (ids `<tag><n>`) from an open socket without
/// waiting, and waits until every one is acknowledged.
async fn fill(ws: &mut Ws, count: u64, tag: &str, pad: &str) -> Result<(), String> {
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut seen = vec![false; count as usize];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while acked < count {
        if sent < count {
            // Keep up to 256 unacknowledged messages in flight.
            while sent < count && sent - acked < 256 {
                ws.feed(message_frame(padded_text(pad), &format!("{tag}{sent}")))
                    .await
                    .map_err(|e| e.to_string())?;
                sent += 1;
            }
            ws.flush().await.map_err(|e| e.to_string())?;
        }
        let frame = timeout(
            deadline.saturating_duration_since(tokio::time::Instant::now()),
            ws.next(),
        )
        .await
        .map_err(|_| format!("fill: only {acked} of {count} acknowledged"))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let f = parse(&text)?;
                if f.kind == "error" {
                    return Err(format!("fill: {text}"));
                }
                if f.kind == "message" {
                    let n = f.id.as_deref().and_then(|id| number_of(id, tag));
                    if let Some(n) = n.filter(|&n| n < seen.len() && !seen[n]) {
                        seen[n] = true;
                        acked += 1;
                    }
                }
            }
            Some(Ok(Message::Close(c))) => return Err(format!("fill: closed {c:?}")),
            Some(Ok(_)) => {}
            other => return Err(format!("fill: {other:?}")),
        }
    }
    Ok(())
}

/// Reads one reconnect's history frame; checks seqs and returns
/// (lowest seq, highest seq, count, has_more).
fn history_page(text: &str) -> Result<(u64, u64, usize, bool), String> {
    let f = parse(text)?;
    let first = f.messages.first().map_or(0, |m| m.seq);
    let last = f.messages.last().map_or(0, |m| m.seq);
    for pair in f.messages.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(format!(
                "history not contiguous: {} then {}",
                pair[0].seq, pair[1].seq
            ));
        }
    }
    Ok((first, last, f.messages.len(), f.has_more.unwrap_or(false)))
}

async fn replay(ctx: Arc<Ctx>, args: ReplayArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let h = args.history.max(11);
    let client = format!("{}-replay", ctx.prefix);
    let pad = "y".repeat(args.text_bytes);
    eprintln!("replay: filling {client} with {h} messages");
    let filled = Instant::now();
    let mut customer = ctx.connect(&ctx.customer_path(&client, 0)).await?;
    expect(&mut customer, "welcome", Duration::from_secs(10)).await?;
    expect(&mut customer, "history", Duration::from_secs(10)).await?;
    fill(&mut customer, h, "p", &pad).await?;
    close(customer).await;
    let fill_secs = filled.elapsed().as_secs_f64();
    let wait = Duration::from_secs(10);
    let (mut first_page, mut full) = (new_histogram(), new_histogram());
    let rss_before = ctx.server_rss();
    let cpu_before = ctx.server_cpu();
    for i in 0..args.reconnects {
        let t0 = Instant::now();
        let mut ws = ctx.connect(&ctx.agent_path(&client, 0)).await?;
        expect(&mut ws, "welcome", wait).await?;
        let text = expect(&mut ws, "history", wait).await?;
        first_page.saturating_record(t0.elapsed().as_micros() as u64);
        let (mut low, high, mut got, mut more) = history_page(&text)?;
        if high != h {
            notes.fail(format!("reconnect {i}: history ends at {high}, not {h}"));
        }
        while more {
            let ask = json!({"type": "history_before", "before": low, "limit": 200});
            ws.send(Message::Text(ask.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            let text = expect(&mut ws, "history", wait).await?;
            let (l, hi, n, m) = history_page(&text)?;
            if n > 0 && hi + 1 != low {
                notes.fail(format!(
                    "reconnect {i}: page ends at {hi}, wanted {}",
                    low - 1
                ));
            }
            (low, got, more) = (l, got + n, m && n > 0);
        }
        full.saturating_record(t0.elapsed().as_micros() as u64);
        if got as u64 != h || low != 1 {
            notes.fail(format!(
                "reconnect {i}: got {got} messages from {low}, not {h}"
            ));
        }
        close(ws).await;
    }
    let reconnect_cpu = diff(ctx.server_cpu(), cpu_before);
    let mut gap = new_histogram();
    let since = h - 10;
    let mut gap_extra = 0;
    for i in 0..args.gap_reconnects {
        let t0 = Instant::now();
        let mut ws = ctx.connect(&ctx.agent_path(&client, since)).await?;
        expect(&mut ws, "welcome", wait).await?;
        let text = expect(&mut ws, "history", wait).await?;
        gap.saturating_record(t0.elapsed().as_micros() as u64);
        let (low, high, n, more) = history_page(&text)?;
        if (low, high, n, more) != (since + 1, h, 10, false) {
            gap_extra += 1;
            {
                notes.fail(format!(
                    "gap reconnect {i}: got seqs {low}..={high} ({n}, has_more {more}), wanted {}..={h}",
                    since + 1
                ));
            }
        }
        close(ws).await;
    }
    let rss_after = ctx.server_rss();
    let (f, a, g) = (summary(&first_page), summary(&full), summary(&gap));
    eprintln!(
        "replay: first page p50 {} p99 {} ms; full {h} p50 {} p99 {} ms; since={since}: p50 {} p99 {} ms",
        f["p50_ms"], f["p99_ms"], a["p50_ms"], a["p99_ms"], g["p50_ms"], g["p99_ms"]
    );
    let figures = json!({
        "scenario": "replay",
        "history": h,
        "fill_secs": round2(fill_secs),
        "reconnects": args.reconnects,
        "first_page": f,
        "full_history": a,
        "server_cpu_us_per_full_reconnect": reconnect_cpu
            .map(|c| round2(c as f64 / args.reconnects.max(1) as f64)),
        "gap_reconnects": args.gap_reconnects,
        "gap": g,
        "gap_wrong": gap_extra,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
    });
    Ok((figures, notes))
}

// ---------------------------------------------------------------------------
// flood

/// What the reading agent of a flood saw.
#[derive(Default)]
struct AgentTally {
    received: usize,
    duplicated: u64,
    reordered: u64,
    close_code: Option<u16>,
}

fn tally_agent_frame(t: &mut AgentTally, seqs: &mut SeqTrack, msg: Message) -> bool {
    match msg {
        Message::Text(text) => {
            if let Ok(f) = parse(&text) {
                if f.kind == "message" && f.from.as_deref() == Some("customer") {
                    if let Some(seq) = f.seq {
                        if seqs.see(seq) {
                            t.received += 1;
                        }
                    }
                }
            }
            true
        }
        Message::Close(c) => {
            t.close_code = Some(close_code(&c));
            false
        }
        _ => true,
    }
}

/// Reads `agent` until the server closes it, `stop` fires, or (when
/// `quiet` is given) nothing arrives for that long.
async fn read_agent(
    mut agent: Ws,
    mut stop: watch::Receiver<bool>,
    quiet: Option<Duration>,
) -> AgentTally {
    let mut t = AgentTally::default();
    let mut seqs = SeqTrack::default();
    loop {
        let next = async {
            match quiet {
                Some(q) => timeout(q, agent.next()).await.ok(),
                None => Some(agent.next().await),
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            f = next => match f {
                None => break,
                Some(Some(Ok(msg))) => if !tally_agent_frame(&mut t, &mut seqs, msg) { break },
                Some(_) => {
                    t.close_code.get_or_insert(1006);
                    break;
                }
            },
        }
    }
    t.duplicated = seqs.duplicated;
    t.reordered = seqs.reordered;
    close(agent).await;
    t
}

/// The stored messages of `client` through the REST API: the customer's
/// ids (`f<n>`) found, total count, and whether the seqs are gapless.
async fn stored_messages(
    ctx: &Ctx,
    client: &str,
    count: usize,
) -> Result<(Vec<bool>, u64, bool), String> {
    let http = reqwest::Client::new();
    let mut stored = vec![false; count];
    let (mut after, mut total, mut gapless) = (0u64, 0u64, true);
    loop {
        let url = format!(
            "{}/api/conversations/{client}/messages?after={after}&limit=200",
            ctx.common.url.trim_end_matches('/')
        );
        let page: Value = http
            .get(&url)
            .bearer_auth(&ctx.common.agent_token)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?
            .error_for_status()
            .map_err(|e| format!("GET {url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        let messages = page["messages"].as_array().cloned().unwrap_or_default();
        for m in &messages {
            let seq = m["seq"].as_u64().unwrap_or(0);
            if seq != after + 1 {
                gapless = false;
            }
            after = seq;
            total += 1;
            if m["from"] == "customer" {
                let n = m["id"].as_str().and_then(|id| number_of(id, "f"));
                if let Some(n) = n.filter(|&n| n < count) {
                    stored[n] = true;
                }
            }
        }
        if messages.is_empty() || !page["has_more"].as_bool().unwrap_or(false) {
            break;
        }
    }
    Ok((stored, total, gapless))
}

async fn flood(ctx: Arc<Ctx>, args: FloodArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let reading = !args.agent_not_reading;
    let k = args.count as usize;
    let client = format!(
        "{}-flood-{}",
        ctx.prefix,
        if reading { "read" } else { "noread" }
    );
    let wait = Duration::from_secs(10);
    let mut agent = ctx.connect(&ctx.agent_path(&client, 0)).await?;
    expect(&mut agent, "welcome", wait).await?;
    expect(&mut agent, "history", wait).await?;
    let mut customer = ctx.connect(&ctx.customer_path(&client, 0)).await?;
    expect(&mut customer, "welcome", wait).await?;
    expect(&mut customer, "history", wait).await?;
    sleep(Duration::from_millis(500)).await;
    let rss_before = ctx.server_rss();
    let cpu_before = ctx.server_cpu();
    let disk_before = ctx.server_disk_writes();

    // Server RSS, sampled every 20 ms while the flood lasts.
    let (stop_tx, stop_rx) = watch::channel(false);
    let sampler = {
        let ctx = Arc::clone(&ctx);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut peak = ctx.server_rss();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    () = sleep(Duration::from_millis(20)) => {
                        peak = peak.max(ctx.server_rss());
                    }
                }
            }
            peak.max(ctx.server_rss())
        })
    };
    let (agent_task, idle_agent) = if reading {
        (
            Some(tokio::spawn(read_agent(agent, stop_rx.clone(), None))),
            None,
        )
    } else {
        (None, Some(agent))
    };

    eprintln!(
        "flood: {k} messages as fast as possible, agent {}",
        if reading { "reading" } else { "NOT reading" }
    );
    let started = Instant::now();
    let (mut tx, mut rx) = customer.split();
    let pad = "z".repeat(args.text_bytes);
    // Messages answered so far (acknowledged or refused), for the window.
    let answered = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Notify::new());
    let window = args.window;
    let writer = tokio::spawn({
        let (answered, progress) = (Arc::clone(&answered), Arc::clone(&progress));
        async move {
            let mut sent = 0usize;
            let mut failure = None;
            for n in 0..k {
                if window > 0 && n >= answered.load(Ordering::Acquire) + window {
                    if let Err(e) = tx.flush().await {
                        failure = Some(e.to_string());
                        break;
                    }
                    while n >= answered.load(Ordering::Acquire) + window {
                        progress.notified().await;
                    }
                }
                if let Err(e) = tx
                    .feed(message_frame(padded_text(&pad), &format!("f{n}")))
                    .await
                {
                    failure = Some(e.to_string());
                    break;
                }
                sent += 1;
                if n % 256 == 255 {
                    if let Err(e) = tx.flush().await {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            if failure.is_none() {
                if let Err(e) = tx.flush().await {
                    failure = Some(e.to_string());
                }
            }
            (tx, sent, started.elapsed(), failure)
        }
    });

    let mut acked = vec![false; k];
    let (mut acks, mut dup_acks) = (0usize, 0u64);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut refused = 0usize;
    let mut customer_close = None;
    let mut seqs = SeqTrack::default();
    let mut last_ack = started.elapsed();
    let idle = Duration::from_secs_f64(args.idle);
    loop {
        if window > 0 {
            answered.store(acks + refused, Ordering::Release);
            progress.notify_one();
        }
        if acks + refused >= k {
            break;
        }
        match timeout(idle, rx.next()).await {
            Err(_) => {
                notes.warn(format!("no frame for {idle:?}; {acks} of {k} acknowledged"));
                break;
            }
            Ok(Some(Ok(Message::Text(text)))) => {
                let f = parse(&text)?;
                match &*f.kind {
                    "message" if f.from.as_deref() == Some("customer") => {
                        if let Some(seq) = f.seq {
                            seqs.see(seq);
                        }
                        let n = f.id.as_deref().and_then(|id| number_of(id, "f"));
                        if let Some(n) = n.filter(|&n| n < k) {
                            if acked[n] {
                                dup_acks += 1;
                            } else {
                                acked[n] = true;
                                acks += 1;
                                last_ack = started.elapsed();
                            }
                        }
                    }
                    "error" => {
                        let code = f.code.as_deref().unwrap_or("?").to_string();
                        *errors.entry(code).or_default() += 1;
                        if f.id.is_some() {
                            refused += 1;
                        }
                    }
                    _ => {}
                }
            }
            Ok(Some(Ok(Message::Close(c)))) => {
                customer_close = Some(close_code(&c));
                notes.warn(format!(
                    "customer closed by the server: {}",
                    describe_close(&c)
                ));
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => {
                customer_close = Some(1006);
                notes.warn(format!("customer socket ended: {other:?}"));
                break;
            }
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();
    // Unblock a writer waiting for a window that will not open any more.
    answered.store(usize::MAX / 2, Ordering::Release);
    progress.notify_one();
    let (tx, sent, send_time, send_failure) = writer.await.map_err(|e| e.to_string())?;
    if let Some(e) = send_failure {
        notes.warn(format!("customer send failed after {sent}: {e}"));
    }
    sleep(Duration::from_millis(500)).await;
    let rss_after_flood = ctx.server_rss();
    let cpu = diff(ctx.server_cpu(), cpu_before);
    let disk = diff(ctx.server_disk_writes(), disk_before);
    let _ = stop_tx.send(true);
    let rss_peak = sampler.await.map_err(|e| e.to_string())?;
    let agent_tally = match (agent_task, idle_agent) {
        (Some(task), _) => task.await.map_err(|e| e.to_string())?,
        (None, Some(agent)) => {
            // Now read what the idle agent was sent, up to its close.
            let (_never, quiet) = watch::channel(false);
            read_agent(agent, quiet, Some(Duration::from_secs(2))).await
        }
        (None, None) => AgentTally::default(),
    };
    if let Ok(customer) = tx.reunite(rx) {
        close(customer).await;
    }
    let rss_end = ctx.server_rss();

    eprintln!("flood: verifying the stored conversation through the REST API");
    let (stored, total_stored, gapless) = stored_messages(&ctx, &client, k).await?;
    let lost = acked
        .iter()
        .zip(&stored)
        .filter(|(a, s)| **a && !**s)
        .count();
    let stored_unacked = acked
        .iter()
        .zip(&stored)
        .filter(|(a, s)| !**a && **s)
        .count();
    let unanswered = sent.saturating_sub(acks + refused);
    if lost > 0 || dup_acks > 0 || seqs.duplicated > 0 || seqs.reordered > 0 || !gapless {
        notes.fail(format!(
            "lost {lost}, duplicate acks {dup_acks}, dup seqs {}, reordered {}, gapless {gapless}",
            seqs.duplicated, seqs.reordered
        ));
    }
    if unanswered > 0 {
        notes.warn(format!(
            "{unanswered} messages neither acknowledged nor refused"
        ));
    }
    if agent_tally.duplicated > 0 || agent_tally.reordered > 0 {
        notes.fail(format!(
            "agent: duplicated {}, reordered {}",
            agent_tally.duplicated, agent_tally.reordered
        ));
    }
    if let (true, Some(code)) = (reading, agent_tally.close_code) {
        notes.warn(format!(
            "the reading agent was closed by the server: {code}"
        ));
    }
    let growth_peak = diff(rss_peak, rss_before);
    eprintln!(
        "flood: sent {sent}, acked {acks}, refused {refused}, lost {lost}; agent got {} (close {:?}); server RSS +{:?} KiB at peak",
        agent_tally.received, agent_tally.close_code, growth_peak
    );
    let figures = json!({
        "scenario": "flood",
        "agent_reading": reading,
        "count": k,
        "window": window,
        "sent": sent,
        "send_secs": round2(send_time.as_secs_f64()),
        "acked": acks,
        "refused": refused,
        "errors": errors,
        "unanswered": unanswered,
        "duplicate_acks": dup_acks,
        "duplicated": seqs.duplicated + agent_tally.duplicated,
        "reordered": seqs.reordered + agent_tally.reordered,
        "acks_per_sec": round2(acks as f64 / last_ack.as_secs_f64().max(1e-6)),
        "flood_secs": round2(flood_secs),
        "customer_close_code": customer_close,
        "agent_received": agent_tally.received,
        "agent_close_code": agent_tally.close_code,
        "stored_total": total_stored,
        "stored_gapless": gapless,
        "lost": lost,
        "stored_unacked": stored_unacked,
        "server_cpu_us_per_msg": cpu.map(|c| round2(c as f64 / sent.max(1) as f64)),
        "server_disk_bytes_per_msg": disk.map(|d| d / sent.max(1) as i64),
        "rss_before_kb": rss_before,
        "rss_peak_kb": rss_peak,
        "rss_after_flood_kb": rss_after_flood,
        "rss_end_kb": rss_end,
        "rss_growth_peak_kb": growth_peak,
    });
    Ok((figures, notes))
}

// ---------------------------------------------------------------------------
// table

fn f(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn mb(v: &Value) -> String {
    v.as_f64()
        .map_or("–".into(), |kb| format!("{:.1} MiB", kb / 1024.0))
}

/// One Markdown row per result: scenario, load, figures, correctness.
fn table_row(r: &Value) -> String {
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(f).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    };
    let mut ok = if r["ok"].as_bool().unwrap_or(false) {
        "ok".to_string()
    } else {
        format!("**FAILED: {}**", list(&r["failures"]))
    };
    let warnings = list(&r["warnings"]);
    if !warnings.is_empty() {
        ok += &format!(" (warnings: {})", warnings.replace('|', "/"));
    }
    let (name, load, figures) = match r["scenario"].as_str().unwrap_or("?") {
        "hold" => (
            "hold".to_string(),
            match r["history"].as_u64() {
                Some(h) if h > 0 => format!(
                    "{} idle sessions, {h} messages of history each",
                    f(&r["connected"])
                ),
                _ => format!("{} idle sessions", f(&r["connected"])),
            },
            format!(
                "{} KiB RSS/session ({} → {}); connect {} s; idle CPU {} %",
                f(&r["rss_per_session_kb"]),
                mb(&r["rss_before_kb"]),
                mb(&r["rss_after_kb"]),
                f(&r["connect_secs"]),
                f(&r["idle_server_cpu_pct"])
            ),
        ),
        "relay" => {
            let l = &r["latency"];
            (
                if r["raw"].as_bool().unwrap_or(false) {
                    "relay (raw-text floor)".to_string()
                } else {
                    "relay".to_string()
                },
                format!(
                    "{} msg/s × {} s over {} sessions (sent {}/s, delivered {}/s, {} s to drain)",
                    f(&r["rate"]),
                    f(&r["duration_secs"]),
                    f(&r["sessions"]),
                    f(&r["achieved_rate"]),
                    f(&r["delivered_per_sec"]),
                    f(&r["drain_secs"])
                ),
                format!(
                    "p50 {} / p90 {} / p99 {} / p99.9 {} / max {} ms; server CPU {} µs/msg ({} % of a core), {} B/msg to disk; client close p50 {} / max {} ms; lost {}, dup {}, reordered {}, sockets closed {}",
                    f(&l["p50_ms"]),
                    f(&l["p90_ms"]),
                    f(&l["p99_ms"]),
                    f(&l["p999_ms"]),
                    f(&l["max_ms"]),
                    f(&r["server_cpu_us_per_msg"]),
                    f(&r["server_cpu_pct"]),
                    f(&r["server_disk_bytes_per_msg"]),
                    f(&r["client_close"]["p50_ms"]),
                    f(&r["client_close"]["max_ms"]),
                    f(&r["lost"]),
                    f(&r["duplicated"]),
                    f(&r["reordered"]),
                    f(&r["sockets_closed"])
                ),
            )
        }
        "replay" => {
            let (p, a, g) = (&r["first_page"], &r["full_history"], &r["gap"]);
            (
                "replay".to_string(),
                format!(
                    "history {}, {} + {} reconnects",
                    f(&r["history"]),
                    f(&r["reconnects"]),
                    f(&r["gap_reconnects"])
                ),
                format!(
                    "first page p50 {} / p99 {} ms; full history p50 {} / p99 {} ms; since=H-10 p50 {} / p99 {} ms ({} wrong)",
                    f(&p["p50_ms"]),
                    f(&p["p99_ms"]),
                    f(&a["p50_ms"]),
                    f(&a["p99_ms"]),
                    f(&g["p50_ms"]),
                    f(&g["p99_ms"]),
                    f(&r["gap_wrong"])
                ),
            )
        }
        "flood" => (
            format!(
                "flood ({})",
                if r["agent_reading"].as_bool().unwrap_or(true) {
                    "agent reads"
                } else {
                    "agent never reads"
                }
            ),
            match r["window"].as_u64() {
                Some(w) if w > 0 => format!("{} messages, at most {w} in flight", f(&r["count"])),
                _ => format!("{} messages pipelined", f(&r["count"])),
            },
            format!(
                "acked {} ({} /s), refused {}, lost {}; agent got {} (close {}); customer close {}; RSS +{} KiB at peak; {} µs CPU/msg",
                f(&r["acked"]),
                f(&r["acks_per_sec"]),
                f(&r["refused"]),
                f(&r["lost"]),
                f(&r["agent_received"]),
                f(&r["agent_close_code"]),
                f(&r["customer_close_code"]),
                f(&r["rss_growth_peak_kb"]),
                f(&r["server_cpu_us_per_msg"])
            ),
        ),
        other => (other.to_string(), String::new(), r.to_string()),
    };
    format!("| {name} | {load} | {figures} | {ok} |")
}

/// The JSON result lines of `files` (stdin without any).
fn read_results(files: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut text = String::new();
    if files.is_empty() {
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| e.to_string())?;
    }
    for file in files {
        text += &std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        text.push('\n');
    }
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{line}: {e}")))
        .collect()
}

fn table(args: &TableArgs) -> Result<(), String> {
    println!("| scenario | load | figures | correctness |");
    println!("|---|---|---|---|");
    for r in read_results(&args.files)? {
        println!("{}", table_row(&r));
    }
    Ok(())
}

// ---------------------------------------------------------------------------

/// `host:port` of a base URL, and its address.
async fn resolve(url: &str) -> Result<(String, SocketAddr), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest).to_string();
    let addr = tokio::net::lookup_host(&host)
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    Ok((host, addr))
}

async fn run(common: Common, scenario: Scenario) -> Result<(Value, Notes), String> {
    let (host, addr) = resolve(&common.url).await?;
    let (agent_host, agent_addr) = match &common.agent_url {
        Some(url) => resolve(url).await?,
        None => (host.clone(), addr),
    };
    let prefix = common
        .prefix
        .clone()
        .unwrap_or_else(|| format!("lg{:08x}", rand::random::<u32>()));
    let ctx = Arc::new(Ctx {
        common,
        host,
        addr,
        agent_host,
        agent_addr,
        prefix,
        next_source: AtomicU32::new(0),
    });
    eprintln!(
        "loadgen: server {} (pid {:?}), client ids {}-…, {} source addresses",
        ctx.addr, ctx.common.server_pid, ctx.prefix, ctx.common.sources
    );
    match scenario {
        Scenario::Hold(a) => Ok(hold(ctx, a).await),
        Scenario::Relay(a) => relay(ctx, a).await,
        Scenario::Replay(a) => replay(ctx, a).await,
        Scenario::Flood(a) => flood(ctx, a).await,
        Scenario::Table(_) | Scenario::Compare(_) => {
            unreachable!("handled before the runtime starts")
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    EPOCH.get_or_init(Instant::now);
    let offline = match &cli.scenario {
        Scenario::Table(args) => Some(table(args)),
        Scenario::Compare(args) => Some(read_results(&args.files).and_then(|results| {
            if args.passes {
                compare::sustained(&results)
                    .then_some(())
                    .ok_or_else(|| "not sustained".to_string())
            } else {
                compare::run(&results, &args.rates)
            }
        })),
        _ => None,
    };
    if let Some(result) = offline {
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let nofile = raise_nofile_limit();
    eprintln!("loadgen: open-file limit {nofile}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.common.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    let strict = cli.common.strict;
    let threads = cli.common.threads;
    let name = match &cli.scenario {
        Scenario::Hold(_) => "hold",
        Scenario::Relay(_) => "relay",
        Scenario::Replay(_) => "replay",
        Scenario::Flood(_) => "flood",
        Scenario::Table(_) | Scenario::Compare(_) => "table",
    };
    let label = cli.common.label.clone();
    let outcome = runtime.block_on(run(cli.common, cli.scenario));
    let (mut figures, notes) = match outcome {
        Ok(result) => result,
        Err(e) => {
            let mut notes = Notes::default();
            notes.fail(e);
            (json!({"scenario": name}), notes)
        }
    };
    for w in &notes.warnings {
        eprintln!("loadgen: warning: {w}");
    }
    for f in &notes.failures {
        eprintln!("loadgen: FAILURE: {f}");
    }
    let ok = notes.failures.is_empty();
    figures["ok"] = json!(ok);
    figures["failures"] = json!(notes.failures);
    figures["warnings"] = json!(notes.warnings);
    figures["generator_threads"] = json!(threads);
    if let Some(label) = label {
        figures["label"] = json!(label);
    }
    println!("{figures}");
    runtime.shutdown_timeout(Duration::from_secs(1));
    if strict && !ok {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
