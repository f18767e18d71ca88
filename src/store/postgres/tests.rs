//! The PostgreSQL backend's own concerns: migrations when several nodes
//! start at once, a database that is not ours or is newer, concurrent
//! writers on one conversation, recovery after the server restarts, and
//! use from an actor thread. The semantics it shares with SQLite are
//! tested on both by `store/semantics`.

use std::sync::{Arc, Barrier};

use super::test_cluster::{fresh_database, Cluster};
use super::*;
use crate::store::semantics::{client, exec, message, try_commit, Engine};
use crate::store::WriteOp;

/// A connection of the test's own, outside any backend.
fn connect(url: &str) -> (Driver, Conn) {
    let driver = Driver::start().expect("driver");
    let conn = driver
        .connect(&Config::from_str(url).expect("url"))
        .expect("connects");
    (driver, conn)
}

fn count(conn: &mut Conn, sql: &str) -> i64 {
    block_on(conn.query_one(sql, &[])).expect("count").get(0)
}

#[test]
fn nodes_migrating_an_empty_database_at_once_all_end_at_the_current_version() {
    let url = fresh_database();
    let start = Arc::new(Barrier::new(6));
    let nodes: Vec<_> = (0..6)
        .map(|_| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                PostgresBackend::open(&url).map(|b| b.probe())
            })
        })
        .collect();
    for node in nodes {
        let opened = node.join().expect("no panic");
        assert!(matches!(opened, Ok(Ok(()))), "every node opens: {opened:?}");
    }
    let (_driver, mut conn) = connect(&url);
    assert_eq!(
        count(&mut conn, "SELECT max(version) FROM schema_migrations"),
        PG_SCHEMA_VERSION
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) FROM schema_migrations"),
        PG_SCHEMA_VERSION,
        "each migration ran once"
    );
}

#[test]
fn a_newer_or_foreign_database_is_refused_and_left_as_it_was() {
    let url = fresh_database();
    let backend = PostgresBackend::open(&url).expect("opens");
    exec(
        &backend,
        "INSERT INTO schema_migrations (version) VALUES (999)",
    );
    drop(backend);
    let refusal = PostgresBackend::open(&url).err().expect("refused");
    assert!(
        matches!(refusal, OpenError::TooNew { found: 999 }),
        "{refusal}"
    );
    assert!(refusal.to_string().contains("upgrade support-chat"));

    let foreign = fresh_database();
    let (_driver, mut conn) = connect(&foreign);
    block_on(conn.batch("CREATE TABLE invoices (id BIGINT)")).expect("their table");
    let refusal = PostgresBackend::open(&foreign).err().expect("refused");
    assert!(
        matches!(refusal, OpenError::Foreign { tables: 1 }),
        "{refusal}"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ),
        1,
        "nothing added to it"
    );
}

/// Two nodes append to one conversation at once, each taking the next
/// seq it believes free, retrying a refused one with the seq after what
/// it finds stored, as a session does; some messages are sent by both
/// (a retry that reached the other node).
#[test]
fn concurrent_appends_from_two_nodes_keep_seqs_gapless_and_ids_unique() {
    let url = fresh_database();
    let nodes: Vec<Arc<PostgresBackend>> = (0..2)
        .map(|_| Arc::new(PostgresBackend::open(&url).expect("opens")))
        .collect();
    let c = client("shared");
    const PER_NODE: usize = 60;
    let workers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let (node, c) = (Arc::clone(node), c.clone());
            std::thread::spawn(move || {
                let mut stored = 0;
                for i in 0..PER_NODE {
                    // Every fifth message is the same on both nodes.
                    let id = if i % 5 == 0 {
                        format!("both-{i}")
                    } else {
                        format!("node{n}-{i}")
                    };
                    loop {
                        let last = node.load(&c, 0).expect("load").last_seq;
                        let WriteOp::Message(mut m) = message(last + 1, Role::Customer) else {
                            unreachable!()
                        };
                        m.id = Some(id.clone());
                        let op = WriteOp::Message(m);
                        let write = Write {
                            client: &c,
                            op: &op,
                        };
                        if node.commit_batch(&[write]).expect("commit")[0] {
                            stored += 1;
                            break;
                        }
                        if node
                            .find_by_client_id(&c, Role::Customer, &id)
                            .expect("find")
                            .is_some()
                        {
                            break; // the other node stored it
                        }
                    }
                }
                stored
            })
        })
        .collect();
    let stored: usize = workers
        .into_iter()
        .map(|w| w.join().expect("no panic"))
        .sum();
    let distinct = 2 * PER_NODE - PER_NODE / 5;
    assert_eq!(stored, distinct, "each distinct message stored once");
    let all = nodes[0].after(&c, 0, 10_000).expect("history");
    let seqs: Vec<u64> = all.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=distinct as u64).collect::<Vec<_>>(), "gapless");
    let mut ids: Vec<&str> = all.iter().filter_map(|m| m.id.as_deref()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), distinct, "no id twice");
    let summary = &nodes[1]
        .summaries_of(std::slice::from_ref(&c))
        .expect("summary")[0];
    assert_eq!(
        (summary.last_seq, summary.unread),
        (distinct as u64, distinct as u64)
    );
}

#[test]
fn a_duplicate_client_message_id_is_refused_without_using_up_a_seq() {
    let engine = Engine::postgres();
    assert_eq!(
        try_commit(&*engine, "dup", &[message(1, Role::Customer)]),
        [true]
    );
    let WriteOp::Message(mut again) = message(2, Role::Customer) else {
        unreachable!()
    };
    again.id = Some("id-1".into());
    let accepted = try_commit(&*engine, "dup", &[WriteOp::Message(again)]);
    assert_eq!(accepted, [false], "the retry refused");
    let accepted = try_commit(&*engine, "dup", &[message(2, Role::Agent)]);
    assert_eq!(accepted, [true], "its seq still free");
    let stored = engine.after(&client("dup"), 0, 10).expect("after");
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[1].from, Role::Agent);
}

/// `pg_ctl restart -m immediate` breaks every connection: operations fail
/// while it is down or on the connection that broke, and the backend
/// reconnects by itself, with nothing committed lost.
#[test]
fn the_backend_recovers_by_itself_after_postgresql_restarts() {
    let server = Cluster::private();
    let engine = Engine::Postgres(Box::new(
        PostgresBackend::open(&server.fresh_database()).expect("opens"),
    ));
    assert_eq!(
        try_commit(&*engine, "r", &[message(1, Role::Customer)]),
        [true]
    );
    server.stop();
    assert!(engine.probe().is_err(), "down: the probe says so");
    let refused = engine.commit_batch(&[Write {
        client: &client("r"),
        op: &message(2, Role::Agent),
    }]);
    assert!(
        matches!(refused, Err(StoreError::Backend(_))),
        "{refused:?}"
    );
    assert!(engine.load(&client("r"), 1).is_err());
    server.start_again();
    server.restart_immediately();
    let recovered = (0..50).find_map(|_| {
        let ok = engine.probe().is_ok()
            && engine
                .commit_batch(&[Write {
                    client: &client("r"),
                    op: &message(2, Role::Agent),
                }])
                .is_ok_and(|a| a == [true]);
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        ok.then_some(())
    });
    assert!(recovered.is_some(), "the backend reconnects");
    let snapshot = engine.load(&client("r"), 10).expect("load");
    assert_eq!(snapshot.last_seq, 2);
}

/// The store calls a backend from actor threads too (`Application::build`
/// issues the setup link on one): no "runtime within a runtime".
#[actix_rt::test]
async fn the_backend_works_when_called_on_an_async_thread() {
    let engine = Engine::postgres();
    assert_eq!(
        try_commit(&*engine, "async", &[message(1, Role::Customer)]),
        [true]
    );
    assert_eq!(engine.load(&client("async"), 1).expect("load").last_seq, 1);
    let Engine::Postgres(backend) = engine else {
        unreachable!()
    };
    let (store, writer) = crate::store::Store::start(Arc::new(*backend));
    let loaded = store.load(client("async"), 5).await.expect("load");
    assert_eq!(loaded.recent.len(), 1);
    store.probe().await.expect("probe");
    writer.shutdown(&store);
}

/// As on SQLite (`store/tests.rs`): a burst of reads waits for the read
/// connections instead of opening more.
#[actix_rt::test]
async fn a_burst_of_reads_waits_for_a_few_connections_instead_of_opening_more() {
    let url = fresh_database();
    let backend = PostgresBackend::open(&url).expect("opens");
    let slots = backend.read_slots();
    let (store, writer) = crate::store::Store::start(Arc::new(backend));
    let query = crate::store::ListQuery {
        limit: 50,
        ..Default::default()
    };
    let burst = (0..64).map(|_| store.summaries(query.clone()));
    for result in futures_util::future::join_all(burst).await {
        result.expect("every read is answered");
    }
    let (_driver, mut conn) = connect(&url);
    let open = count(
        &mut conn,
        "SELECT count(*) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    assert!(
        open <= 1 + slots as i64,
        "one writer and {slots} readers at most, found {open}"
    );
    writer.shutdown(&store);
}
