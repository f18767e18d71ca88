//! Several nodes on one store, linked by a real NATS server: a customer on
//! one node and an agent on another. The nodes here share one SQLite store
//! in one process, which behaves as one PostgreSQL database does for them:
//! each node has its own sessions and writer, and the store refuses a seq
//! another node took.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support_chat::{Backend, Durability, SqliteBackend};
use tempfile::TempDir;

use crate::common::{seqs, spawn_node, TestApp, WsClient};
use crate::nats::NatsServer;

/// Two nodes on one store and one NATS server.
struct TwoNodes {
    a: TestApp,
    b: TestApp,
    nats: NatsServer,
    _dir: TempDir,
}

fn two_nodes() -> TwoNodes {
    two_nodes_with(&[])
}

fn two_nodes_with(extra: &[&str]) -> TwoNodes {
    let nats = NatsServer::start();
    let dir = TempDir::new().expect("temp dir");
    let (backend, _lock) = SqliteBackend::open(dir.path(), Durability::Normal).expect("store");
    let backend: Arc<dyn Backend> = Arc::new(backend);
    let url = nats.url();
    let mut flags = vec!["--nats-url", &url, "--rate-limit", "0"];
    flags.extend_from_slice(extra);
    let a = spawn_node(backend.clone(), &flags);
    let b = spawn_node(backend, &flags);
    TwoNodes {
        a,
        b,
        nats,
        _dir: dir,
    }
}

/// Reads `message` frames until `count` have come; other frames are skipped.
async fn messages(client: &mut WsClient, count: usize) -> Vec<Value> {
    let mut got = Vec::new();
    while got.len() < count {
        got.push(client.wait_for("message").await);
    }
    got
}

fn seqs_of(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .map(|m| m["seq"].as_u64().expect("a seq"))
        .collect()
}

#[actix_web::test]
async fn a_customer_on_one_node_and_an_agent_on_another_chat_live_both_ways() {
    let nodes = two_nodes();
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/ana")).await;
    let (mut agent, _, _) = WsClient::join(&nodes.b.ws_as_agent("/ws/agent/ana")).await;

    customer.say("Where is my parcel?", Some("c1")).await;
    let ack = customer.wait_for("message").await;
    let seen = agent.wait_for("message").await;
    assert_eq!(
        ack, seen,
        "the agent on the other node gets the stored message"
    );
    assert_eq!(ack["seq"], 1);

    agent.say("It left the depot today", Some("a1")).await;
    let reply = customer.wait_for("message").await;
    assert_eq!(reply["seq"], 2);
    assert_eq!(reply["text"], "It left the depot today");
    assert_eq!(agent.wait_for("message").await, reply);
}

#[actix_web::test]
async fn both_sides_writing_at_once_on_two_nodes_get_gapless_seqs_seen_once_in_order() {
    let nodes = two_nodes();
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/bo")).await;
    let (mut agent, _, _) = WsClient::join(&nodes.b.ws_as_agent("/ws/agent/bo")).await;
    const EACH: usize = 40;
    for i in 0..EACH {
        customer.say(&format!("c{i}"), Some(&format!("c{i}"))).await;
        agent.say(&format!("a{i}"), Some(&format!("a{i}"))).await;
    }
    let (seen_by_customer, seen_by_agent) = tokio::join!(
        messages(&mut customer, 2 * EACH),
        messages(&mut agent, 2 * EACH)
    );
    let all: Vec<u64> = (1..=2 * EACH as u64).collect();
    assert_eq!(
        seqs_of(&seen_by_customer),
        all,
        "the customer sees 1, 2, 3 … once each"
    );
    assert_eq!(
        seqs_of(&seen_by_agent),
        all,
        "the agent sees 1, 2, 3 … once each"
    );
    assert_eq!(
        seen_by_customer, seen_by_agent,
        "both see the same messages"
    );
    let ids: HashSet<&str> = seen_by_agent
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 2 * EACH, "every message is stored once");
    let of = |prefix: &str| -> Vec<String> {
        seen_by_agent
            .iter()
            .filter_map(|m| m["id"].as_str())
            .filter(|id| id.starts_with(prefix))
            .map(str::to_owned)
            .collect()
    };
    let in_order = |prefix: &str| {
        (0..EACH)
            .map(|i| format!("{prefix}{i}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("c"),
        in_order("c"),
        "each side's messages keep the order they were sent in"
    );
    assert_eq!(of("a"), in_order("a"));

    let (_, _, history) = WsClient::join(&nodes.a.ws_as_agent("/ws/agent/bo")).await;
    assert_eq!(
        seqs(&history),
        all,
        "the store holds exactly what was shown"
    );
}

#[actix_web::test]
async fn a_retry_sent_to_the_other_node_is_stored_once() {
    let nodes = two_nodes();
    let (mut first, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/cy")).await;
    first.say("Hello?", Some("once")).await;
    let ack = first.wait_for("message").await;
    first.close().await;

    let (mut again, _, _) = WsClient::join(&nodes.b.ws("/ws/customer/cy?since=0")).await;
    again.say("Hello?", Some("once")).await;
    assert_eq!(
        again.wait_for("message").await,
        ack,
        "the stored copy, not a new message"
    );
    again.say("Anyone?", Some("twice")).await;
    assert_eq!(again.wait_for("message").await["seq"], 2);
}

#[actix_web::test]
async fn presence_and_typing_cross_nodes() {
    let nodes = two_nodes();
    let (mut agent, welcome, _) = WsClient::join(&nodes.b.ws_as_agent("/ws/agent/di")).await;
    assert_eq!(welcome["peer_online"], false);
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/di")).await;
    assert_eq!(
        agent.wait_for("presence").await,
        json!({"type":"presence","role":"customer","online":true})
    );
    customer
        .send_json(json!({"type":"typing","active":true}))
        .await;
    let typing = agent.wait_for("typing").await;
    assert_eq!(
        (typing["role"].clone(), typing["active"].clone()),
        (json!("customer"), json!(true))
    );
    customer.close().await;
    assert_eq!(
        agent.wait_for("presence").await,
        json!({"type":"presence","role":"customer","online":false})
    );
}

#[actix_web::test]
async fn read_marks_and_status_cross_nodes() {
    let nodes = two_nodes();
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/ed")).await;
    let (mut agent, _, _) = WsClient::join(&nodes.b.ws_as_agent("/ws/agent/ed")).await;
    customer.say("Hi", None).await;
    customer.wait_for("message").await;
    agent.wait_for("message").await;
    agent.send_json(json!({"type":"read","seq":1})).await;
    assert_eq!(
        customer.wait_for("read").await,
        json!({"type":"read","role":"agent","seq":1})
    );
    agent.send_json(json!({"type":"resolve"})).await;
    assert_eq!(customer.wait_for("status").await["status"], "resolved");
}

#[actix_web::test]
async fn with_nats_down_messages_still_reach_the_other_node_from_the_store() {
    let mut nodes = two_nodes();
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/fa")).await;
    let (mut agent, _, _) = WsClient::join(&nodes.b.ws_as_agent("/ws/agent/fa")).await;
    nodes.nats.kill();
    customer.say("Sent while NATS is down", Some("d1")).await;
    assert_eq!(
        customer.wait_for("message").await["seq"],
        1,
        "acknowledged: it is stored"
    );
    let seen = tokio::time::timeout(Duration::from_secs(5), agent.wait_for("message"))
        .await
        .expect("the other node reads it from the store within its check interval");
    assert_eq!(seen["text"], "Sent while NATS is down");

    nodes.nats.start_again();
    // Typing is never stored: seeing it proves live delivery is back.
    let give_up = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        customer
            .send_json(json!({"type":"typing","active":true}))
            .await;
        let seen = tokio::time::timeout(Duration::from_millis(300), agent.wait_for("typing"));
        if seen.await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "no live delivery after NATS came back"
        );
    }
}

#[actix_web::test]
async fn an_inbox_on_one_node_shows_a_customer_writing_on_another() {
    let nodes = two_nodes();
    let mut inbox = WsClient::connect(&nodes.b.ws_as_agent("/ws/inbox")).await;
    inbox.send_json(json!({"type": "list"})).await;
    inbox.wait_for("conversations").await;
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/gil")).await;
    customer.say("Is anyone there?", None).await;
    customer.wait_for("message").await;
    let push = inbox.wait_for("conversation").await;
    assert_eq!(push["conversation"]["client_id"], "gil", "{push}");
    assert_eq!(push["conversation"]["preview"], "Is anyone there?");
}

#[actix_web::test]
async fn erasing_on_one_node_closes_the_conversation_on_the_other() {
    let nodes = two_nodes();
    let admin = nodes.a.admin_cookie().await;
    let (mut customer, _, _) = WsClient::join(&nodes.b.ws("/ws/customer/hal")).await;
    customer.say("Please forget me", None).await;
    customer.wait_for("message").await;
    assert_eq!(nodes.a.erase("hal", &admin).await, 204);
    assert_eq!(customer.expect_close().await, Some(4004));
}

#[actix_web::test]
async fn a_cluster_on_a_sqlite_file_is_refused_at_start_saying_what_to_give() {
    let data = TempDir::new().expect("temp dir");
    let dir = data.path().display().to_string();
    let config = support_chat::Config::from_args([
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        &dir,
        "--nats-url",
        "nats://127.0.0.1:4222",
    ])
    .expect("flags parse");
    let refused = support_chat::Application::build(&config)
        .err()
        .expect("does not start");
    assert!(refused.to_string().contains("--database-url"), "{refused}");
}

#[actix_web::test]
async fn an_agent_online_on_one_node_is_online_everywhere_and_gets_conversations_from_another() {
    let nodes = two_nodes_with(&["--auto-assign", "round-robin"]);
    let team = crate::routing::team(&nodes.a, &["Bo"]).await;
    let (ada, bo) = (&team[0], &team[1]);
    let mut bos_console = crate::routing::console(&nodes.b, bo).await;
    let mut adas_console = crate::routing::console(&nodes.a, ada).await;
    adas_console.roster_says(bo.id, "online").await;
    bos_console.roster_says(ada.id, "online").await;
    adas_console
        .ws
        .send_json(json!({"type": "status", "value": "away"}))
        .await;
    bos_console.roster_says(ada.id, "away").await;

    // Only Bo is online, on node B; the customer writes on node A.
    let _customer = {
        let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/ivy")).await;
        customer.say("hello, anyone?", None).await;
        customer.wait_for("message").await;
        customer
    };
    let summary = crate::routing::assigned(&nodes.a, "ivy", Some(bo.id)).await;
    assert_eq!(summary["assignee"]["name"], "Bo");
}

#[actix_web::test]
async fn an_assignment_on_one_node_reaches_agents_on_another() {
    let nodes = two_nodes();
    let team = crate::routing::team(&nodes.a, &["Bo"]).await;
    let (ada, bo) = (&team[0], &team[1]);
    let (mut customer, _, _) = WsClient::join(&nodes.a.ws("/ws/customer/jo")).await;
    customer.say("Who can help?", None).await;
    customer.wait_for("message").await;
    let path = "/ws/agent/jo";
    let mut on_a = WsClient::connect_with_cookie(&nodes.a.ws(path), &ada.cookie).await;
    let mut on_b = WsClient::connect_with_cookie(&nodes.b.ws(path), &bo.cookie).await;
    on_b.wait_for("history").await;
    on_a.send_json(json!({"type": "assign", "agent_id": bo.id}))
        .await;
    // The event comes with the history it is part of, then what it changed.
    let event = on_b.wait_for("message").await;
    assert_eq!(event["event"]["kind"], "assigned", "{event}");
    let told = on_b.wait_for("assignee").await;
    assert_eq!(told["assignee"]["name"], "Bo", "{told}");
}
