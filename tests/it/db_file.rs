//! What the database file holds on its own: after a clean stop, everything
//! (the `-wal` file is empty or gone); while running, not everything, so a
//! copy of the `.db` alone is refused at start instead of starting empty;
//! and `/healthz` notices when the file can no longer be read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::common::{eventually, spawn_app, TestApp, WsClient, AGENT_TOKEN};
use support_chat::Application;
use support_chat::Config;
use tempfile::TempDir;

const DB_FILE: &str = "support-chat.db";
const WAL_FILE: &str = "support-chat.db-wal";
const MESSAGES: u64 = 20;
/// How soon `/healthz` notices a damaged file (it probes once a second).
const HEALTH_NOTICE: Duration = Duration::from_secs(5);

/// Says `MESSAGES` messages as customer `id`, each acknowledged.
async fn say_some(app: &TestApp, id: &str) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for n in 1..=MESSAGES {
        customer
            .say(&format!("message {n}"), Some(&format!("m-{n}")))
            .await;
        let ack = customer.wait_for("message").await;
        assert_eq!(ack["seq"], n);
    }
    customer.close().await;
}

fn copy_db_alone(from: &Path) -> TempDir {
    let to = TempDir::new().expect("temp dir");
    std::fs::copy(from.join(DB_FILE), to.path().join(DB_FILE)).expect("copy the .db file");
    to
}

#[actix_web::test]
async fn after_a_clean_stop_a_copy_of_the_db_file_alone_has_every_message() {
    let app = spawn_app().await;
    say_some(&app, "backup-1").await;
    let mut stopped = app.stop().await;
    let wal = stopped.data_dir.path().join(WAL_FILE);
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(
        wal_len,
        0,
        "{} is empty or gone after a clean stop",
        wal.display()
    );

    stopped.data_dir = Arc::new(copy_db_alone(stopped.data_dir.path()));
    let app = stopped.start_again();
    let (customer, welcome, history) =
        WsClient::join(&app.ws("/ws/customer/backup-1?since=0")).await;
    assert_eq!(welcome["last_seq"], MESSAGES);
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .expect("history messages")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    let expected: Vec<String> = (1..=MESSAGES).map(|n| format!("message {n}")).collect();
    assert_eq!(texts, expected, "every message is in the copied file");
    customer.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_db_file_copied_without_its_wal_is_refused_saying_what_to_do() {
    let app = spawn_app().await;
    say_some(&app, "backup-2").await;
    // What a naive backup of the running server takes.
    let copy = copy_db_alone(app.data_dir.path());
    let config = Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--agent-token",
        AGENT_TOKEN,
        "--data-dir",
        &copy.path().display().to_string(),
    ])
    .expect("valid config");
    let refusal = match Application::build(&config) {
        Ok(_) => panic!("a server started over a .db without its -wal"),
        Err(e) => e.to_string(),
    };
    for needle in [
        DB_FILE,
        WAL_FILE,
        "not stopped cleanly",
        "put the",
        "move the file aside",
    ] {
        assert!(refusal.contains(needle), "{needle:?} in: {refusal}");
    }
    assert!(
        !copy.path().join(WAL_FILE).exists(),
        "the refused copy is left without a made-up log"
    );
    app.stop().await;
}

/// Overwrites `path` in place (same file, same length) with garbage, as a
/// failing disk or a stray `dd` would.
fn damage(path: &Path) {
    let len = std::fs::metadata(path).expect("file to damage").len() as usize;
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7 + 13) as u8).collect();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open to damage");
    std::io::Write::write_all(&mut file, &garbage).expect("damage");
    file.sync_all().expect("sync the damage");
}

#[actix_web::test]
async fn healthz_reports_failure_once_the_database_cannot_be_read() {
    let app = spawn_app().await;
    say_some(&app, "damaged").await;
    let healthy = app.get("/healthz").await;
    assert_eq!(healthy.status(), 200);
    let health: Value = healthy.json().await.unwrap();
    assert_eq!(health["store"], "ok");

    damage(&app.data_dir.path().join(DB_FILE));
    let health = eventually("healthz to see the damage", HEALTH_NOTICE, || async {
        let response = app.get("/healthz").await;
        (response.status() == 503).then_some(response)
    })
    .await;
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["store"], "failing", "{health}");
    assert_eq!(health["status"], "degraded", "{health}");
}
