//! Measures the server memory a client pins when it floods messages and
//! never reads what the server sends back, against an idle socket, and
//! whether RSS comes back down once those clients are gone.
//!
//! ```text
//! cargo build --release && cargo run --release --example flood_memory -- --clients 50
//! ```
//!
//! Starts the server binary (`--server`, default `target/release/support-chat`)
//! on a scratch data directory, and reads its RSS from `/proc/<pid>/status`:
//! at start; with `--clients` idle customer sockets; with as many customers
//! each sending messages as fast as the server takes them and reading
//! nothing, once every one of them is blocked (a send has waited
//! `--blocked-after`) or was closed by the server; once more after the
//! server's `--client-timeout` (how many of the blocked ones it dropped);
//! and after all are gone. Prints one JSON line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// How long the server gets to settle before RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Parser)]
struct Args {
    /// The server binary.
    #[arg(long, default_value = "target/release/support-chat")]
    server: String,
    /// Clients of each kind.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// A flooding client whose send has waited this long is blocked.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    blocked_after: Duration,
    /// The server's `--client-timeout`: how long a client may leave data
    /// unread before the server drops its connection.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    client_timeout: Duration,
}

/// Resident set size of process `pid`, in KiB.
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("server status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

/// Starts the server and returns it with the address it listens on.
fn start(server: &str, data_dir: &std::path::Path, client_timeout: Duration) -> (Child, String) {
    let mut child = Command::new(server)
        .args(["--bind", "127.0.0.1:0", "--agent-token", "flood-memory"])
        .arg("--client-timeout")
        .arg(humantime::format_duration(client_timeout).to_string())
        .args(["--rate-limit", "0", "--max-connections-per-ip", "0"])
        .args(["--new-conversations-per-ip", "0", "--data-dir"])
        .arg(data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {server}: {e} (cargo build --release first)"));
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    const MARK: &str = "listening on http://";
    let addr = loop {
        let line = lines.next().expect("server log").expect("server log line");
        if let Some(at) = line.find(MARK) {
            break line[at + MARK.len()..].trim().to_string();
        }
    };
    // Keep draining the log so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn idle_customer(addr: &str, n: usize) -> Socket {
    let url = format!("ws://{addr}/ws/customer/idle-{n}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("idle");
    // Welcome and history: the socket is fully set up.
    for _ in 0..2 {
        socket.next().await.expect("frame").expect("frame");
    }
    socket
}

/// Floods until blocked; returns the socket (still open, never read) and
/// the messages that got out, or `None` if the server closed it.
async fn flooder(addr: String, n: usize, blocked_after: Duration) -> (Option<Socket>, u64) {
    let url = format!("ws://{addr}/ws/customer/flood-{n}");
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("flooder");
    let mut sent = 0u64;
    loop {
        let frame =
            format!(r#"{{"type":"message","text":"flood {sent} of a client that never reads"}}"#);
        match tokio::time::timeout(blocked_after, socket.send(Message::Text(frame))).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) => return (None, sent),
            Err(_) => return (Some(socket), sent),
        }
    }
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut server, addr) = start(&args.server, dir.path(), args.client_timeout);
    let pid = server.id();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime.block_on(async {
        tokio::time::sleep(SETTLE).await;
        let start_kb = rss_kb(pid);

        let mut idle = Vec::new();
        for n in 0..args.clients {
            idle.push(idle_customer(&addr, n).await);
        }
        tokio::time::sleep(SETTLE).await;
        let idle_kb = rss_kb(pid);
        drop(idle);
        tokio::time::sleep(SETTLE).await;
        let after_idle_kb = rss_kb(pid);

        let floods: Vec<_> = (0..args.clients)
            .map(|n| tokio::spawn(flooder(addr.clone(), n, args.blocked_after)))
            .collect();
        let mut blocked = Vec::new();
        let (mut sent, mut closed) = (0, 0);
        for flood in floods {
            let (socket, n) = flood.await.expect("flooder task");
            sent += n;
            match socket {
                Some(socket) => blocked.push(socket),
                None => closed += 1,
            }
        }
        tokio::time::sleep(SETTLE).await;
        let flood_kb = rss_kb(pid);
        // Still there, never reading: the server drops them once their data
        // has waited unread for the client timeout.
        tokio::time::sleep(args.client_timeout + SETTLE).await;
        let mut dropped = 0;
        for socket in &mut blocked {
            let probe = socket.send(Message::Ping(Vec::new()));
            if let Ok(Err(_)) = tokio::time::timeout(Duration::from_millis(200), probe).await {
                dropped += 1;
            }
        }
        let after_timeout_kb = rss_kb(pid);
        drop(blocked);
        tokio::time::sleep(SETTLE * 2).await;
        let end_kb = rss_kb(pid);

        let per = |kb: u64, base: u64| (kb.saturating_sub(base)) as f64 / args.clients as f64;
        serde_json::json!({
            "clients": args.clients,
            "rss_start_kb": start_kb,
            "rss_idle_kb": idle_kb,
            "idle_kb_per_socket": per(idle_kb, start_kb),
            "rss_before_flood_kb": after_idle_kb,
            "rss_flood_kb": flood_kb,
            "flood_kb_per_client": per(flood_kb, after_idle_kb),
            "messages_sent_per_client": sent / args.clients as u64,
            "closed_by_server": closed,
            "dropped_after_client_timeout": dropped,
            "rss_after_client_timeout_kb": after_timeout_kb,
            "rss_after_all_gone_kb": end_kb,
        })
    });
    let _ = server.kill();
    let _ = server.wait();
    println!("{report}");
}
