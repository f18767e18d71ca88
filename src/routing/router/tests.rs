use std::sync::Arc;

use super::*;
use crate::conversation::SessionSettings;
use crate::domain::ClientId;
use crate::store::SqliteBackend;

fn settings() -> SessionSettings {
    SessionSettings {
        idle_timeout: Duration::from_secs(60),
        max_text_chars: 4000,
        transcripts: false,
    }
}

/// Who was online when a drain began: `changed` says whether the router
/// learned of a change since.
fn online_at_start(agent: AgentId, changed: bool) -> OnlineAtStart {
    OnlineAtStart {
        agents: vec![agent],
        changes: Rc::new(Cell::new(u64::from(changed))),
        seen: 0,
    }
}

#[actix_web::test]
async fn a_drain_gives_nothing_once_who_is_online_changed_under_it() {
    let (store, _writer) = Store::start(Arc::new(
        SqliteBackend::open_in_memory().expect("in-memory SQLite"),
    ));
    // Ben can take conversations; one waits in the queue.
    store
        .write_sql_now(|conn| {
            conn.execute(
                "INSERT INTO agents (id, name, email, role, password_hash, created_at)
                 VALUES (7, 'Ben', 'ben@example.com', 'agent', 'set', 0)",
                &[],
            )?;
            conn.execute(
                "INSERT INTO conversations (client_id, created_at, last_activity_at, last_seq,
                     last_from, waiting_since, agent_unread, list_group, list_key)
                 VALUES ('waiting', 0, 0, 1, 0, 1, 1, 0, 1)",
                &[],
            )?;
            conn.execute(
                "INSERT INTO messages (client_id, seq, from_role, text, ts)
                 VALUES ('waiting', 1, 0, 'Hello?', 0)",
                &[],
            )
        })
        .expect("set-up");
    let registry = Registry::new(store.clone(), settings()).start();
    let ben = AgentId(7);
    let waiting = || async { store.queue(10).await.expect("the queue") };
    assert_eq!(waiting().await, [ClientId::parse("waiting").unwrap()]);

    let stale = give_out(
        store.clone(),
        registry.clone(),
        Strategy::RoundRobin,
        online_at_start(ben, true),
        None,
    )
    .await;
    assert_eq!(stale, Ok(None), "nobody was given anything");
    assert_eq!(waiting().await.len(), 1, "it still waits");

    let current = give_out(
        store.clone(),
        registry,
        Strategy::RoundRobin,
        online_at_start(ben, false),
        None,
    )
    .await;
    assert_eq!(current, Ok(Some(ben)));
    // The session answered once it queued the change; wait for the commit.
    store.flush_blocking();
    assert!(waiting().await.is_empty(), "Ben has it");
}
