//! Measures what the agents' console asks of the store: list pages, search,
//! filtered pages and totals, at many stored conversations.
//!
//! ```text
//! cargo run --release --example inbox_bench                         # 2,000 (smoke)
//! cargo run --release --example inbox_bench -- --conversations 100000
//! ```
//!
//! Fills a temporary data directory through the backend's own batch commit
//! (three messages per conversation: customer, agent, customer; every third
//! conversation resolved, every fifth read by an agent), then times each
//! query several times and prints one JSON line of median and worst
//! milliseconds.

use std::time::{Duration, Instant};

use clap::Parser;
use support_chat::{now_millis, ChatMessage, ClientId, ConversationStatus, Role};
use support_chat::{Backend, Durability, ListQuery, SqliteBackend, Write, WriteOp};

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
}

fn message(seq: u64, from: Role) -> ChatMessage {
    ChatMessage {
        seq,
        from,
        text: format!("benchmark message {seq}, about as long as a chat line"),
        ts: now_millis(),
        id: Some(format!("m-{seq}")),
        author: None,
    }
}

/// The writes that give conversation `i` its three messages and its state.
fn conversation_ops(i: usize) -> Vec<WriteOp> {
    let mut ops = vec![
        WriteOp::Message(message(1, Role::Customer)),
        WriteOp::Message(message(2, Role::Agent)),
        WriteOp::Message(message(3, Role::Customer)),
    ];
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

fn fill(backend: &dyn Backend, conversations: usize, batch: usize) -> Duration {
    let started = Instant::now();
    for first in (0..conversations).step_by(batch) {
        let last = (first + batch).min(conversations);
        let owned: Vec<(ClientId, Vec<WriteOp>)> = (first..last)
            .map(|i| {
                let client = ClientId::parse(&format!("load-{i}")).expect("valid id");
                (client, conversation_ops(i))
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
        cursor: None,
        limit: 50,
    }
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("open");
    let fill_time = fill(&backend, args.conversations, args.batch);

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

    println!(
        "{}",
        serde_json::json!({
            "conversations": args.conversations,
            "fill_seconds": fill_time.as_secs_f64(),
            "queries": figures,
        })
    );
}
