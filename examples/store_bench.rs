//! Measures the durable store on its own: group-commit throughput for a
//! durability mode, and what a restart costs with many stored messages.
//!
//! ```text
//! cargo run --release --example store_bench -- --durability normal --messages 500000
//! cargo run --release --example store_bench -- --durability full --messages 50000
//! cargo run --release --example store_bench -- --restart-messages 1000000
//! ```
//!
//! Writes go through the real `Store` (bounded queue, one writer thread,
//! one transaction per batch), submitted round-robin by many conversations
//! as SessionActors would. Prints one JSON line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use support_chat::{now_millis, ChatMessage, ClientId, Role};
use support_chat::{Backend, Durability, SqliteBackend, Store, StoreError, WriteOp, WriteRequest};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value = "normal")]
    durability: Durability,
    /// Messages to write in the throughput run.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Conversations the messages are spread over.
    #[arg(long, default_value_t = 100)]
    conversations: u64,
    /// Instead: fill this many messages over 10,000 conversations, then time a restart.
    #[arg(long)]
    restart_messages: Option<u64>,
    /// Conversation ids are this prefix and a number.
    #[arg(long, default_value = "bench-")]
    id_prefix: String,
    /// Keep the database here (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

fn message(seq: u64, n: u64) -> ChatMessage {
    ChatMessage {
        seq,
        from: if n.is_multiple_of(2) {
            Role::Customer
        } else {
            Role::Agent
        },
        text: format!("benchmark message number {n}, about as long as a chat line"),
        ts: now_millis(),
        id: Some(format!("m-{n}")),
        author: None,
        private: false,
        event: None,
        attachments: Vec::new(),
        prev_public: seq - 1,
    }
}

/// Writes `total` messages round-robin over `conversations`; returns the time
/// until all are committed.
fn write_all(store: &Store, prefix: &str, total: u64, conversations: u64) -> Duration {
    let clients: Vec<ClientId> = (0..conversations)
        .map(|i| ClientId::parse(&format!("{prefix}{i}")).expect("valid id"))
        .collect();
    let started = Instant::now();
    for n in 0..total {
        let conv = n % conversations;
        let op = WriteOp::Message(message(n / conversations + 1, n));
        // A full queue is the store's back-pressure: wait for room.
        loop {
            let request = WriteRequest {
                client: clients[conv as usize].clone(),
                op: op.clone(),
                reply: None,
                generation: 0,
            };
            match store.submit(request) {
                Ok(()) => break,
                Err(StoreError::Overloaded) => std::thread::sleep(Duration::from_micros(200)),
                Err(e) => panic!("store failed: {e}"),
            }
        }
    }
    store.flush_blocking();
    started.elapsed()
}

fn main() {
    let args = Args::parse();
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    if let Some(total) = args.restart_messages {
        let (backend, lock) = SqliteBackend::open(dir.as_path(), args.durability).expect("open");
        let (store, writer) = Store::start(Arc::new(backend));
        let fill = write_all(&store, &args.id_prefix, total, 10_000);
        writer.shutdown(&store);
        drop((store, lock));
        let started = Instant::now();
        let (backend, _lock) = SqliteBackend::open(dir.as_path(), args.durability).expect("reopen");
        let open = started.elapsed();
        let started = Instant::now();
        let client = ClientId::parse(&format!("{}42", args.id_prefix)).expect("valid id");
        let snapshot = backend.load(&client, 256).expect("load");
        let load = started.elapsed();
        let size = std::fs::metadata(dir.as_path().join("support-chat.db"))
            .map(|m| m.len())
            .unwrap_or(0);
        println!(
            "{}",
            serde_json::json!({
                "scenario": "restart",
                "stored_messages": total,
                "fill_seconds": fill.as_secs_f64(),
                "open_ms": open.as_secs_f64() * 1e3,
                "first_conversation_load_ms": load.as_secs_f64() * 1e3,
                "loaded_messages": snapshot.recent.len(),
                "db_bytes": size,
            })
        );
        return;
    }
    let (backend, _lock) = SqliteBackend::open(dir.as_path(), args.durability).expect("open");
    let (store, writer) = Store::start(Arc::new(backend));
    let elapsed = write_all(&store, &args.id_prefix, args.messages, args.conversations);
    writer.shutdown(&store);
    println!(
        "{}",
        serde_json::json!({
            "scenario": "group_commit",
            "durability": format!("{:?}", args.durability).to_lowercase(),
            "messages": args.messages,
            "conversations": args.conversations,
            "seconds": elapsed.as_secs_f64(),
            "messages_per_second": (args.messages as f64 / elapsed.as_secs_f64()).round(),
        })
    );
}
