//! Servers on PostgreSQL: a single node moved from SQLite with the real
//! binary; two nodes sharing one database; and PostgreSQL going away under
//! a running server (a private PostgreSQL server, so the other tests keep
//! theirs): senders are told `store_unavailable` and nothing is
//! acknowledged, `/healthz` says the store is failing, and once PostgreSQL
//! is back the server recovers by itself, storing what is sent again with
//! the next seq.

use std::time::Duration;

use serde_json::Value;

use crate::common::{eventually, spawn_app_with, TestApp, WsClient, ADMIN_EMAIL, ADMIN_PASSWORD};
use crate::test_cluster::Cluster;

/// How soon `/healthz` notices (it probes at most once a second).
const HEALTH_NOTICE: Duration = Duration::from_secs(10);

async fn health(app: &TestApp) -> (u16, Value) {
    let response = app.get("/healthz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Runs a `pg_ctl` action off the actor thread.
async fn on_server(server: &std::sync::Arc<Cluster>, action: fn(&Cluster)) {
    let server = std::sync::Arc::clone(server);
    actix_web::rt::task::spawn_blocking(move || action(&server))
        .await
        .expect("pg_ctl");
}

#[actix_web::test]
async fn while_postgresql_is_down_senders_are_told_and_the_server_recovers_by_itself() {
    let server = std::sync::Arc::new(Cluster::private());
    let url = server.fresh_database();
    let app = spawn_app_with(&["--database-url", &url]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/pg-down")).await;
    customer.say("before", Some("b1")).await;
    assert_eq!(customer.expect("message").await["seq"], 1);
    assert_eq!(health(&app).await.1["store"], "ok");

    on_server(&server, Cluster::stop).await;
    customer.say("during", Some("d1")).await;
    let error = customer.wait_for("error").await;
    assert_eq!(error["code"], "store_unavailable", "{error}");
    let (status, report) = eventually("healthz to see PostgreSQL down", HEALTH_NOTICE, || async {
        let (status, report) = health(&app).await;
        (status == 503).then_some((status, report))
    })
    .await;
    assert_eq!((status, &report["store"]), (503, &Value::from("failing")));

    on_server(&server, Cluster::start_again).await;
    eventually("healthz to see PostgreSQL back", HEALTH_NOTICE, || async {
        (health(&app).await.0 == 200).then_some(())
    })
    .await;
    // The refused message was not stored: its retry gets the next seq.
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/pg-down")).await;
    assert_eq!(welcome["last_seq"], 1);
    customer.say("during", Some("d1")).await;
    let stored = customer.wait_for("message").await;
    assert_eq!(
        (stored["seq"].as_u64(), stored["text"].as_str()),
        (Some(2), Some("during"))
    );
}

/// Two servers on one database, as two nodes behind a load balancer: a
/// customer who moves from one to the other finds their history, the
/// numbering goes on, and a retry of a message the first node stored is
/// acknowledged with its seq, not stored again. (Live delivery between
/// nodes is the cluster layer's; here a node only reads the store.)
#[actix_web::test]
async fn a_customer_moving_between_two_nodes_keeps_one_gapless_history() {
    let url = crate::test_cluster::fresh_database();
    let node_a = spawn_app_with(&["--database-url", &url]).await;
    let node_b = spawn_app_with(&["--database-url", &url]).await;
    let (mut on_a, _, _) = WsClient::join(&node_a.ws("/ws/customer/mover")).await;
    for i in 1..=3 {
        on_a.say(&format!("on a {i}"), Some(&format!("a{i}"))).await;
        assert_eq!(on_a.expect("message").await["seq"], i);
    }
    on_a.close().await;

    let (mut on_b, welcome, history) = WsClient::join(&node_b.ws("/ws/customer/mover")).await;
    assert_eq!(welcome["last_seq"], 3);
    assert_eq!(crate::common::seqs(&history), [1, 2, 3]);
    on_b.say("on a 1", Some("a1")).await;
    let again = on_b.expect("message").await;
    assert_eq!(
        (again["seq"].as_u64(), again["id"].as_str()),
        (Some(1), Some("a1"))
    );
    on_b.say("on b", Some("b1")).await;
    assert_eq!(on_b.expect("message").await["seq"], 4);
    on_b.close().await;

    // A node that starts now reads it all from the store. (Node A's
    // session still holds what it had: keeping it current is the cluster
    // layer's work.)
    let node_c = spawn_app_with(&["--database-url", &url]).await;
    let (_agent, welcome, history) =
        WsClient::join(&node_c.ws_as_agent("/ws/agent/mover?since=0")).await;
    assert_eq!(welcome["last_seq"], 4);
    assert_eq!(crate::common::seqs(&history), [1, 2, 3, 4]);
}

/// `support-chat migrate-sqlite-to-postgres` moves a single node's data
/// directory, and the server started on PostgreSQL afterwards has its
/// conversations and its accounts.
#[actix_web::test]
async fn a_single_node_moves_to_postgresql_with_its_conversations_and_accounts() {
    let app = spawn_app_with(&[]).await;
    app.admin_cookie().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/moved")).await;
    for (i, text) in ["before the move", "still before"].iter().enumerate() {
        customer.say(text, Some(&format!("m{i}"))).await;
        customer.wait_for("message").await;
    }
    customer.close().await;
    let stopped = app.stop().await;

    let url = crate::test_cluster::fresh_database();
    let moved = std::process::Command::new(env!("CARGO_BIN_EXE_support-chat"))
        .arg("migrate-sqlite-to-postgres")
        .arg("--from")
        .arg(stopped.data_dir.path())
        .args(["--to", &url])
        .env("RUST_LOG", "info")
        .output()
        .expect("run the migration");
    let log = String::from_utf8_lossy(&moved.stderr);
    assert!(moved.status.success(), "the migration fails: {log}");
    assert!(log.contains("copied messages: 2 rows"), "{log}");

    let app = spawn_app_with(&["--database-url", &url]).await;
    assert_eq!(app.setup_url, None, "the admin came along: no setup link");
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(login.status().is_success(), "{}", login.status());
    let (_customer, welcome, history) = WsClient::join(&app.ws("/ws/customer/moved")).await;
    assert_eq!(welcome["last_seq"], 2);
    assert_eq!(
        crate::common::texts(&history),
        ["before the move", "still before"]
    );
}
