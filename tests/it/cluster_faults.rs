//! Three support-chat processes on one PostgreSQL (fsync on) and one NATS
//! server, under faults: `kill -9` of a node and its restart, SIGSTOP and
//! SIGCONT of a node, NATS killed and restarted, PostgreSQL restarted with
//! `-m immediate`. Customers and agents of each conversation sit on
//! different nodes and move to another node when theirs fails, resuming
//! with `since`. Every operation is recorded (invoked, then ok with its seq,
//! or unknown) and checked, Jepsen-style, against the database and against
//! what every socket showed. `FAULT_SECONDS` (default 14) sets the length.

use std::collections::{BTreeMap, HashMap};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{eventually, http_client, AGENT_TOKEN};
use crate::nats::NatsServer;
use crate::test_cluster as pg_cluster;

/// A support-chat process.
struct Node {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn start(database: &str, nats: &str) -> Node {
        let port = free_port();
        let dir = tempfile::TempDir::new().expect("temp dir");
        let args = [
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            &dir.path().display().to_string(),
            "--database-url",
            database,
            "--nats-url",
            nats,
            "--agent-token",
            AGENT_TOKEN,
            "--auto-assign",
            "off",
            "--rate-limit",
            "0",
            "--max-connections-per-ip",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut node = Node {
            port,
            args,
            child: None,
            _dir: dir,
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_support-chat"))
            .args(&self.args)
            .env(
                "RUST_LOG",
                std::env::var("FAULT_LOG_LEVEL").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(log_file(self.port))
            .spawn()
            .expect("start support-chat");
        self.child = Some(child);
    }

    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    fn signal(&self, signal: i32) {
        // SAFETY-free: libc::kill only sends a signal to our own child.
        let sent = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(sent, 0, "signal {signal} to node on port {}", self.port);
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, as a rolling restart does; waits for the process to end.
    async fn terminate(&mut self) {
        self.signal(libc::SIGTERM);
        let mut child = self.child.take().expect("a running node");
        eventually(
            "a node to stop after SIGTERM",
            Duration::from_secs(30),
            || {
                let exited = child.try_wait().expect("wait for a node").is_some();
                async move { exited.then_some(()) }
            },
        )
        .await;
    }

    async fn ready(&self) {
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        let client = http_client();
        eventually("a node to serve", Duration::from_secs(30), || {
            let request = client.get(&url).send();
            async move { request.await.ok().filter(|r| r.status().is_success()) }
        })
        .await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Where a node's log goes: `FAULT_LOGS` (a directory) if set, else nowhere.
fn log_file(port: u16) -> Stdio {
    match std::env::var_os("FAULT_LOGS") {
        Some(dir) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(std::path::Path::new(&dir).join(format!("node-{port}.log")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null()),
        None => Stdio::null(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// What happened to one message a client sent.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Sent, never acknowledged (its socket died, or the store said no).
    Unknown,
    Ok(u64),
}

#[derive(Default)]
struct History {
    /// (conversation, role, client message id) → (text, outcome).
    ops: HashMap<(String, &'static str, String), (String, Outcome)>,
    /// Every message a socket showed, per (conversation, role), by seq.
    seen: HashMap<(String, &'static str), BTreeMap<u64, Value>>,
    violations: Vec<String>,
    reconnects: usize,
    /// Error frames by code (`store_unavailable` while PostgreSQL restarts).
    errors: BTreeMap<String, usize>,
}

/// One side of one conversation: sends a message every `every` until
/// `stop_at`, keeps what it saw, moves to another node when its own fails.
/// When the clients stop: all have stopped sending and had everything
/// they sent acknowledged, and then nothing came for a while.
struct Finish {
    stop_at: Instant,
    give_up: Instant,
    senders: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl Finish {
    fn sending(&self) -> bool {
        Instant::now() < self.stop_at
    }

    fn all_sent(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::SeqCst) == self.senders
    }
}

/// What a side waits for before it stops reading: the other nodes' check
/// interval (1 s) with a margin.
const QUIET: Duration = Duration::from_secs(3);

async fn side(
    conversation: String,
    role: &'static str,
    home: usize,
    ports: Arc<Vec<u16>>,
    history: Arc<Mutex<History>>,
    finish: Arc<Finish>,
) {
    let (stop_at, give_up) = (finish.stop_at, finish.give_up);
    let mut finished = false;
    let mut heard = Instant::now();
    let mut last = 0u64;
    let mut sent = 0usize;
    let mut unacked: Vec<(String, String)> = Vec::new();
    let mut node = home;
    let every = Duration::from_millis(150);
    while Instant::now() < give_up {
        let path = match role {
            "customer" => format!("/ws/customer/{conversation}?since={last}"),
            _ => format!("/ws/agent/{conversation}?since={last}&token={AGENT_TOKEN}"),
        };
        let url = format!("ws://127.0.0.1:{}{path}", ports[node]);
        let since = last;
        let connect = tokio::time::timeout(
            Duration::from_secs(2),
            tokio_tungstenite::connect_async(url),
        );
        let Ok(Ok((mut socket, _))) = connect.await else {
            node = (node + 1) % ports.len();
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        // What is still unacknowledged is sent again (same ids) once the
        // history is in: what it shows needs no retry.
        let mut resent: Option<Vec<String>> = None;
        let mut next_send = Instant::now() + every;
        let mut oldest_unacked = unacked.first().map(|_| Instant::now());
        loop {
            let now = Instant::now();
            if !finished && !finish.sending() && unacked.is_empty() {
                finished = true;
                finish
                    .done
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            if now >= give_up
                || (finished && finish.all_sent() && now.duration_since(heard) > QUIET)
            {
                return;
            }
            if oldest_unacked.is_some_and(|t| now.duration_since(t) > Duration::from_secs(3)) {
                break; // a stopped node or a lost socket: go elsewhere
            }
            if now >= next_send && now < stop_at {
                sent += 1;
                let id = format!("{role}-{sent}");
                let text = format!("{conversation} {role} {sent}");
                history.lock().expect("history").ops.insert(
                    (conversation.clone(), role, id.clone()),
                    (text.clone(), Outcome::Unknown),
                );
                unacked.push((id.clone(), text.clone()));
                oldest_unacked.get_or_insert(now);
                let frame = json!({"type":"message","text":text,"id":id}).to_string();
                if socket.send(Message::Text(frame)).await.is_err() {
                    break;
                }
                next_send = now + every;
            }
            let wait = next_send
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(5));
            let frame = match tokio::time::timeout(wait, socket.next()).await {
                Err(_) => continue,
                Ok(Some(Ok(Message::Text(text)))) => {
                    heard = Instant::now();
                    text
                }
                Ok(Some(Ok(Message::Close(_))) | None | Some(Err(_))) => break,
                Ok(Some(Ok(_))) => continue,
            };
            let frame: Value = serde_json::from_str(&frame).expect("JSON from the server");
            if frame["type"] == "error" {
                let code = frame["code"].as_str().unwrap_or_default().to_owned();
                *history
                    .lock()
                    .expect("history")
                    .errors
                    .entry(code)
                    .or_default() += 1;
            }
            let kind = frame["type"].as_str().unwrap_or_default().to_owned();
            let items: Vec<Value> = match frame["type"].as_str() {
                Some("message") => vec![frame],
                Some("history") => frame["messages"].as_array().cloned().unwrap_or_default(),
                _ => Vec::new(),
            };
            {
                let mut h = history.lock().expect("history");
                for item in items {
                    let seq = item["seq"].as_u64().expect("a seq");
                    // A retry is answered with the stored copy (PROTOCOL.md):
                    // the same message again, to its sender only.
                    let retried = resent.as_ref().is_some_and(|ids| {
                        item["id"]
                            .as_str()
                            .is_some_and(|id| ids.iter().any(|r| r == id))
                    });
                    let seen_before = h
                        .seen
                        .get(&(conversation.clone(), role))
                        .and_then(|s| s.get(&seq))
                        .cloned();
                    if seq <= last
                        && item["from"] == role
                        && retried
                        && seen_before.as_ref() == Some(&item)
                    {
                        continue;
                    }
                    if seq != last + 1 {
                        h.violations.push(format!(
                            "{conversation}/{role}: got seq {seq} after {last} ({kind} on port {}, since {since}): {item} (before: {seen_before:?}, retried {retried})",
                            ports[node]
                        ));
                    }
                    last = last.max(seq);
                    if item["from"] == role {
                        if let Some(id) = item["id"].as_str() {
                            if let Some(i) = unacked.iter().position(|(u, _)| u == id) {
                                unacked.remove(i);
                                oldest_unacked = unacked.first().map(|_| Instant::now());
                            }
                            if let Some(op) =
                                h.ops.get_mut(&(conversation.clone(), role, id.to_owned()))
                            {
                                op.1 = Outcome::Ok(seq);
                            }
                        }
                    }
                    h.seen
                        .entry((conversation.clone(), role))
                        .or_default()
                        .insert(seq, item);
                }
            }
            if kind == "history" && resent.is_none() {
                for (id, text) in &unacked {
                    let frame = json!({"type":"message","text":text,"id":id}).to_string();
                    if socket.send(Message::Text(frame)).await.is_err() {
                        break;
                    }
                }
                resent = Some(unacked.iter().map(|(id, _)| id.clone()).collect());
            }
        }
        history.lock().expect("history").reconnects += 1;
        node = (node + 1) % ports.len();
    }
}

/// Every stored message: (conversation, seq) → (role, client id, text).
async fn stored(database: &str) -> BTreeMap<(String, u64), (String, Option<String>, String)> {
    let (db, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(connection);
    let query = "SELECT client_id, seq,
                        CASE from_role WHEN 0 THEN 'customer' ELSE 'agent' END,
                        client_msg_id, text
                 FROM messages ORDER BY client_id, seq";
    db.query(query, &[])
        .await
        .expect("read the messages")
        .into_iter()
        .map(|row| {
            let (client, seq): (String, i64) = (row.get(0), row.get(1));
            ((client, seq as u64), (row.get(2), row.get(3), row.get(4)))
        })
        .collect()
}

#[actix_web::test]
async fn three_nodes_lose_nothing_under_kill_stop_nats_and_postgres_faults() {
    let seconds: u64 = std::env::var("FAULT_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(14);
    let conversations = 24;
    let postgres = pg_cluster::Cluster::private();
    let database = postgres.fresh_database();
    let mut nats = NatsServer::start();
    let mut nodes: Vec<Node> = (0..3)
        .map(|_| Node::start(&database, &nats.url()))
        .collect();
    for node in &nodes {
        node.ready().await;
    }
    let ports = Arc::new(nodes.iter().map(|n| n.port).collect::<Vec<_>>());
    let history = Arc::new(Mutex::new(History::default()));
    let start = Instant::now();
    let stop_at = start + Duration::from_secs(seconds);
    let finish = Arc::new(Finish {
        stop_at,
        give_up: stop_at + Duration::from_secs(40),
        senders: conversations * 2,
        done: Default::default(),
    });
    let mut clients = Vec::new();
    for c in 0..conversations {
        for (role, home) in [("customer", c % 3), ("agent", (c + 1) % 3)] {
            clients.push(tokio::spawn(side(
                format!("conv{c}"),
                role,
                home,
                ports.clone(),
                history.clone(),
                finish.clone(),
            )));
        }
    }
    let at = |fraction: f64| start + Duration::from_secs_f64(seconds as f64 * fraction);
    let until = |t: Instant| tokio::time::sleep_until(t.into());
    until(at(0.1)).await;
    nodes[2].kill9();
    until(at(0.22)).await;
    nodes[2].spawn();
    nodes[2].ready().await;
    until(at(0.3)).await;
    nodes[1].signal(libc::SIGSTOP);
    until(at(0.42)).await;
    nodes[1].signal(libc::SIGCONT);
    until(at(0.48)).await;
    nats.kill();
    until(at(0.58)).await;
    nats.start_again();
    until(at(0.65)).await;
    postgres.restart_immediately();
    // A rolling restart: SIGTERM one node at a time, start it again.
    for (i, when) in [(0, 0.75), (1, 0.88)] {
        until(at(when)).await;
        nodes[i].terminate().await;
        nodes[i].spawn();
        nodes[i].ready().await;
    }
    for client in clients {
        client.await.expect("a client task");
    }

    let stored = stored(&database).await;
    let history = history.lock().expect("history");
    assert!(
        history.violations.is_empty(),
        "streams broke order: {:?}",
        history.violations
    );
    // Per conversation, seqs 1..n without a gap.
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for (conversation, seq) in stored.keys() {
        let before = last.entry(conversation).or_insert(0);
        assert_eq!(
            *seq,
            *before + 1,
            "{conversation}: seq {seq} after {before}"
        );
        *before = *seq;
    }
    // Each (conversation, role, client id) once; every acknowledged message
    // stored with its seq and text; unknown ones at most once.
    let mut by_id: HashMap<(String, String, String), Vec<u64>> = HashMap::new();
    for ((conversation, seq), (role, id, _)) in &stored {
        if let Some(id) = id {
            by_id
                .entry((conversation.clone(), role.clone(), id.clone()))
                .or_default()
                .push(*seq);
        }
    }
    assert!(
        by_id.values().all(|seqs| seqs.len() == 1),
        "a client id stored twice"
    );
    let (mut ok, mut unknown, mut unknown_stored) = (0, 0, 0);
    for ((conversation, role, id), (text, outcome)) in &history.ops {
        let key = (conversation.clone(), role.to_string(), id.clone());
        match outcome {
            Outcome::Ok(seq) => {
                ok += 1;
                let row = &stored[&(conversation.clone(), *seq)];
                assert_eq!(
                    (&row.0, row.1.as_deref(), &row.2),
                    (&role.to_string(), Some(id.as_str()), text)
                );
            }
            Outcome::Unknown => {
                unknown += 1;
                unknown_stored += usize::from(by_id.contains_key(&key));
            }
        }
    }
    let invoked = history.ops.len();
    assert_eq!(
        stored.len(),
        by_id.len(),
        "every stored message was sent by a client"
    );
    assert!(by_id.len() <= invoked);
    // Both sides of every conversation ended up showing exactly the store.
    for c in 0..conversations {
        let conversation = format!("conv{c}");
        let truth: Vec<(u64, Option<String>)> = stored
            .range((conversation.clone(), 0)..=(conversation.clone(), u64::MAX))
            .map(|((_, seq), (_, id, _))| (*seq, id.clone()))
            .collect();
        for role in ["customer", "agent"] {
            let shown: Vec<(u64, Option<String>)> = history
                .seen
                .get(&(conversation.clone(), role))
                .map(|seen| {
                    seen.iter()
                        .map(|(seq, m)| (*seq, m["id"].as_str().map(str::to_owned)))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                shown, truth,
                "{conversation}: the {role}'s sockets showed the store"
            );
        }
    }
    eprintln!(
        "cluster faults: {invoked} sent, {ok} acknowledged, {unknown} unknown ({unknown_stored} of them stored), \
         {} stored, {} reconnects, errors {:?}, {:.1} s",
        stored.len(),
        history.reconnects,
        history.errors,
        start.elapsed().as_secs_f64()
    );
    assert!(ok > invoked / 2, "most messages were acknowledged");
}

#[actix_web::test]
async fn a_killed_nodes_customer_goes_offline_for_agents_on_other_nodes_within_the_node_timeout() {
    let database = pg_cluster::fresh_database();
    let nats = NatsServer::start();
    let nodes: Vec<Node> = (0..2)
        .map(|_| Node::start(&database, &nats.url()))
        .collect();
    for node in &nodes {
        node.ready().await;
    }
    let mut nodes = nodes;
    let agent_url = format!(
        "ws://127.0.0.1:{}/ws/agent/gone?token={AGENT_TOKEN}",
        nodes[0].port
    );
    let (mut agent, _, _) = crate::common::WsClient::join(&agent_url).await;
    let customer_url = format!("ws://127.0.0.1:{}/ws/customer/gone", nodes[1].port);
    let (_customer, _, _) = crate::common::WsClient::join(&customer_url).await;
    assert_eq!(agent.wait_for("presence").await["online"], true);
    let killed = Instant::now();
    nodes[1].kill9();
    assert_eq!(agent.wait_for("presence").await["online"], false);
    let took = killed.elapsed();
    eprintln!(
        "stale presence cleared {:.1} s after kill -9",
        took.as_secs_f64()
    );
    assert!(
        took < Duration::from_secs(12),
        "cleared within the node timeout and a beat"
    );
}
