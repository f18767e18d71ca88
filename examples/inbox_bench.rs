//! Measures what the agents' console asks of the store: list pages, search,
//! filtered pages and totals, at many stored conversations.
//!
//! ```text
//! cargo run --release --example inbox_bench                         # 2,000 (smoke)
//! cargo run --release --example inbox_bench -- --conversations 100000
//! cargo run --release --example inbox_bench -- --conversations 100000 --idle-console-secs 30
//! cargo run --release --example inbox_bench -- --conversations 100000 --extra-messages 7 --consoles 20
//! ```
//!
//! Fills a temporary data directory through the backend's own batch commit
//! (three messages per conversation: customer, agent, customer; every third
//! conversation resolved, every fifth read by an agent), then times each
//! query several times and prints one JSON line of median and worst
//! milliseconds. With `--idle-console-secs`, it then starts the whole server
//! on that store, opens one agent console socket, lists its first page and
//! leaves it open and idle, and reports the CPU time the process used
//! meanwhile (from `/proc/self/stat`; the idle client's share is nil).
//! `--extra-messages` adds messages made of searchable words, timed with
//! full-text searches; `--consoles` opens that many agent consoles at once
//! on the running server and times their first page and how soon a message
//! posted through the API reaches every one of them.

use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use support_chat::{now_millis, ChatMessage, ClientId, ConversationStatus, Role};
use support_chat::{Application, Config};
use support_chat::{Backend, Durability, ListQuery, SearchQuery, SqliteBackend, Write, WriteOp};
use tokio_tungstenite::tungstenite::Message;

/// The agent token of the server an idle console is measured against.
const BENCH_TOKEN: &str = "inbox-bench";

#[derive(Parser)]
struct Args {
    /// Stored conversations.
    #[arg(long, default_value_t = 2_000)]
    conversations: usize,
    /// Times each query is run.
    #[arg(long, default_value_t = 30)]
    repeats: usize,
    /// Conversations per fill transaction.
    #[arg(long, default_value_t = 2_000)]
    batch: usize,
    /// Then measure the server's CPU with one idle open console for this
    /// many seconds (0: skip).
    #[arg(long, default_value_t = 0)]
    idle_console_secs: u64,
    /// Messages per conversation beyond the first three, with words to
    /// search for (e.g. 7 with 100,000 conversations: 1,000,000 stored).
    #[arg(long, default_value_t = 0)]
    extra_messages: u64,
    /// Then start the server on that store with this many agent consoles
    /// open, and time their list pages and how soon a new message reaches
    /// them all (0: skip).
    #[arg(long, default_value_t = 0)]
    consoles: usize,
}

/// Words the extra messages are made of: each is in one message in eight.
const WORDS: [&str; 8] = [
    "refund", "delivery", "invoice", "password", "login", "shipping", "broken", "discount",
];

fn message(seq: u64, from: Role) -> ChatMessage {
    ChatMessage {
        seq,
        from,
        text: format!("benchmark message {seq}, about as long as a chat line"),
        ts: now_millis(),
        id: Some(format!("m-{seq}")),
        author: None,
        private: false,
        event: None,
        attachments: Vec::new(),
        prev_public: seq - 1,
    }
}

/// The writes that give conversation `i` its messages and its state.
fn conversation_ops(i: usize, extra: u64) -> Vec<WriteOp> {
    let mut ops = vec![
        WriteOp::Message(message(1, Role::Customer)),
        WriteOp::Message(message(2, Role::Agent)),
        WriteOp::Message(message(3, Role::Customer)),
    ];
    for seq in 4..4 + extra {
        let from = if seq % 2 == 0 {
            Role::Agent
        } else {
            Role::Customer
        };
        let mut m = message(seq, from);
        let word = WORDS[(i + seq as usize) % WORDS.len()];
        m.text = format!("a question about the {word} of order {i}, tracking{i}x{seq}");
        ops.push(WriteOp::Message(m));
    }
    if i.is_multiple_of(5) {
        ops.push(WriteOp::Read {
            role: Role::Agent,
            seq: 3,
        });
    }
    if i.is_multiple_of(3) {
        ops.push(WriteOp::Status(ConversationStatus::Resolved));
    }
    ops
}

fn fill(backend: &dyn Backend, conversations: usize, batch: usize, extra: u64) -> Duration {
    let started = Instant::now();
    for first in (0..conversations).step_by(batch) {
        let last = (first + batch).min(conversations);
        let owned: Vec<(ClientId, Vec<WriteOp>)> = (first..last)
            .map(|i| {
                let client = ClientId::parse(&format!("load-{i}")).expect("valid id");
                (client, conversation_ops(i, extra))
            })
            .collect();
        let writes: Vec<Write<'_>> = owned
            .iter()
            .flat_map(|(client, ops)| ops.iter().map(move |op| Write { client, op }))
            .collect();
        let accepted = backend.commit_batch(&writes).expect("fill commit");
        assert!(accepted.iter().all(|&ok| ok), "every fill write applies");
    }
    started.elapsed()
}

/// Median and worst of `repeats` runs of `f`, in milliseconds, and what
/// the last run returned.
fn time<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut samples = Vec::with_capacity(repeats);
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        last = Some(f());
        samples.push(started.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    (median, worst, last.expect("at least one run"))
}

fn query(status: Option<ConversationStatus>, search: Option<&str>) -> ListQuery {
    ListQuery {
        status,
        search: search.map(str::to_owned),
        limit: 50,
        ..ListQuery::default()
    }
}

/// CPU time (user and system) this process has used, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The command name may hold spaces; the fields after it start at the
    // third (state), so utime and stime (14th and 15th) are the 12th and 13th.
    let (_, after_name) = stat.rsplit_once(')').expect("stat format");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / per_second
}

/// The whole server, started on a filled data directory in a thread.
struct Server {
    addr: std::net::SocketAddr,
    shutdown: support_chat::ShutdownHandle,
    thread: std::thread::JoinHandle<()>,
}

fn serve(data_dir: &std::path::Path) -> Server {
    let config = Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &data_dir.display().to_string(),
        "--agent-token",
        BENCH_TOKEN,
        "--rate-limit",
        "0",
    ])
    .expect("valid config");
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_rt::System::new().block_on(async move {
            let app = Application::build(&config).expect("server starts");
            started_tx
                .send((app.local_addr(), app.shutdown_handle()))
                .expect("report the address");
            app.run_until_stopped().await.expect("clean stop");
        })
    });
    let (addr, shutdown) = started_rx.recv().expect("server address");
    Server {
        addr,
        shutdown,
        thread,
    }
}

impl Server {
    fn stop(self) {
        self.shutdown.shutdown();
        self.thread.join().expect("server thread");
    }
}

type Console =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a console and reads until its first page has come.
async fn open_console(addr: std::net::SocketAddr) -> (Console, Duration) {
    let url = format!("ws://{addr}/ws/inbox?token={BENCH_TOKEN}");
    let started = Instant::now();
    let (mut console, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("console");
    console
        .send(Message::Text(r#"{"type":"list","request":1}"#.into()))
        .await
        .expect("list");
    wait_for(&mut console, "\"conversations\"").await;
    (console, started.elapsed())
}

/// Reads `console` until a text frame holds `needle`.
async fn wait_for(console: &mut Console, needle: &str) {
    while let Some(frame) = console.next().await {
        if matches!(&frame, Ok(Message::Text(t)) if t.contains(needle)) {
            return;
        }
    }
    panic!("the console closed before {needle}");
}

fn millis(mut samples: Vec<Duration>) -> serde_json::Value {
    samples.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1e3;
    serde_json::json!({
        "median_ms": samples.get(samples.len() / 2).map(ms),
        "worst_ms": samples.last().map(ms),
    })
}

/// `n` consoles open at once on the filled store: how long each waits for
/// its first page, and how soon a message sent through the API shows in
/// every one of them (ten messages, to ten conversations).
fn consoles(data_dir: &std::path::Path, n: usize) -> serde_json::Value {
    let server = serve(data_dir);
    let addr = server.addr;
    let runtime = tokio::runtime::Runtime::new().expect("client runtime");
    let figures = runtime.block_on(async move {
        let opened = futures_util::future::join_all((0..n).map(|_| open_console(addr))).await;
        let (mut open, first_pages): (Vec<Console>, Vec<Duration>) = opened.into_iter().unzip();
        let http = reqwest::Client::new();
        let mut updates = Vec::new();
        for i in 0..10 {
            let id = format!("load-{}", i * 11);
            let started = Instant::now();
            let response = http
                .post(format!("http://{addr}/api/conversations/{id}/messages"))
                .bearer_auth(BENCH_TOKEN)
                .json(&serde_json::json!({"text": format!("an answer, number {i}")}))
                .send()
                .await
                .expect("post");
            assert_eq!(response.status(), 201, "the message is stored");
            let needle = format!("\"client_id\":\"{id}\"");
            futures_util::future::join_all(open.iter_mut().map(|c| wait_for(c, &needle))).await;
            updates.push(started.elapsed());
        }
        serde_json::json!({
            "consoles": n,
            "first_page": millis(first_pages),
            "message_to_every_console": millis(updates),
        })
    });
    server.stop();
    figures
}

/// Starts the server on `data_dir`, opens one console, lists, idles for
/// `idle` and returns the CPU seconds used meanwhile.
fn idle_console(data_dir: &std::path::Path, idle: Duration) -> f64 {
    let server = serve(data_dir);
    let addr = server.addr;
    let runtime = tokio::runtime::Runtime::new().expect("client runtime");
    let used = runtime.block_on(async move {
        let (mut console, _) = open_console(addr).await;
        let before = cpu_seconds();
        // Keep reading, so that the server's pings are answered.
        let _ = tokio::time::timeout(idle, async { while console.next().await.is_some() {} }).await;
        cpu_seconds() - before
    });
    server.stop();
    used
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("open");
    let batch = (args.batch * 3 / (3 + args.extra_messages as usize)).max(1);
    let fill_time = fill(&backend, args.conversations, batch, args.extra_messages);
    backend.catch_up().expect("index what the fill queued");

    let mut figures = serde_json::Map::new();
    let mut record = |name: &str, (median, worst): (f64, f64), extra: serde_json::Value| {
        figures.insert(
            name.to_owned(),
            serde_json::json!({ "median_ms": median, "worst_ms": worst, "result": extra }),
        );
    };

    let (m, w, page) = time(args.repeats, || {
        backend.summaries(&query(None, None)).expect("list")
    });
    record("first_page_50", (m, w), page.items.len().into());

    // Twenty pages deep, following the cursors as a scrolling console does.
    let mut cursor = page.next_cursor.clone();
    let mut deep = Vec::new();
    for _ in 0..20 {
        let Some(at) = cursor.take() else { break };
        let (m, _, page) = time(1, || {
            let mut q = query(None, None);
            q.cursor = Some(at.clone());
            backend.summaries(&q).expect("next page")
        });
        deep.push(m);
        cursor = page.next_cursor;
    }
    deep.sort_by(f64::total_cmp);
    let deep_median = deep.get(deep.len() / 2).copied().unwrap_or(0.0);
    let deep_worst = deep.last().copied().unwrap_or(0.0);
    record("next_pages", (deep_median, deep_worst), deep.len().into());

    let (m, w, page) = time(args.repeats, || {
        backend
            .summaries(&query(Some(ConversationStatus::Resolved), None))
            .expect("resolved")
    });
    record("resolved_page", (m, w), page.items.len().into());

    let (m, w, page) = time(args.repeats, || {
        backend
            .summaries(&query(None, Some("LOAD-12")))
            .expect("search")
    });
    record("search_LOAD-12", (m, w), page.items.len().into());

    let (m, w, page) = time(args.repeats, || {
        backend
            .summaries(&query(None, Some("no-such-id")))
            .expect("search")
    });
    record("search_no_match", (m, w), page.items.len().into());

    let (m, w, totals) = time(args.repeats, || backend.totals().expect("totals"));
    record(
        "totals",
        (m, w),
        serde_json::json!({ "unread": totals.unread, "waiting": totals.waiting }),
    );

    let some: Vec<ClientId> = (0..10)
        .map(|i| ClientId::parse(&format!("load-{}", i * 7)).expect("valid id"))
        .collect();
    let (m, w, found) = time(args.repeats, || {
        backend.summaries_of(&some).expect("summaries_of")
    });
    record("summaries_of_10", (m, w), found.len().into());

    for (name, text) in [
        ("text_search_common_word", "refund"),
        ("text_search_rare_word", "tracking4242x5"),
        ("text_search_two_words", "broken order"),
        ("text_search_no_match", "zebra"),
    ] {
        let (m, w, page) = time(args.repeats, || {
            backend
                .search(&SearchQuery {
                    text: text.into(),
                    offset: 0,
                    limit: 50,
                })
                .expect("text search")
        });
        record(name, (m, w), page.hits.len().into());
    }

    let mut result = serde_json::json!({
        "conversations": args.conversations,
        "stored_messages": args.conversations as u64 * (3 + args.extra_messages),
        "fill_seconds": fill_time.as_secs_f64(),
        "queries": figures,
    });
    if args.idle_console_secs > 0 || args.consoles > 0 {
        backend.close().expect("close the filled store");
        drop((backend, lock));
    }
    if args.consoles > 0 {
        result["consoles"] = consoles(dir.path(), args.consoles);
    }
    if args.idle_console_secs > 0 {
        let idle = Duration::from_secs(args.idle_console_secs);
        let used = idle_console(dir.path(), idle);
        result["idle_console"] = serde_json::json!({
            "seconds": idle.as_secs(),
            "cpu_seconds": used,
            "percent_of_a_core": 100.0 * used / idle.as_secs_f64(),
        });
    }
    println!("{result}");
}
