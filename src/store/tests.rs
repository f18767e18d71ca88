//! The `Store` handle over a real SQLite file.

use std::sync::Arc;

use super::*;

/// Open file descriptors of this process on `path`.
#[cfg(target_os = "linux")]
fn open_descriptors(path: &std::path::Path) -> usize {
    let path = path.canonicalize().expect("the database exists");
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

#[cfg(target_os = "linux")]
#[actix_rt::test]
async fn a_burst_of_reads_waits_for_a_few_connections_instead_of_opening_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("open");
    let slots = backend.read_slots();
    let (store, writer) = Store::start(Arc::new(backend));
    let query = ListQuery {
        limit: 50,
        ..ListQuery::default()
    };
    let burst = (0..64).map(|_| store.summaries(query.clone()));
    for result in futures_util::future::join_all(burst).await {
        result.expect("every read is answered");
    }
    let db = dir.path().join("support-chat.db");
    assert!(
        open_descriptors(&db) <= 2 + slots,
        "one writer, one checkpointer and {slots} readers at most, found {}",
        open_descriptors(&db)
    );
    writer.shutdown(&store);
}
