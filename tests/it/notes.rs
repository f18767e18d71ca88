//! Private notes and events (issue 13): agents see them, with their own
//! seq; the customer never gets a note or an internal event by any path
//! (live socket, history, `since` resume, history paging), and the seqs
//! they do not see come with `prev`, so their page sees no false gap.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{
    http_client, seqs, spawn_app, spawn_app_with, texts, TestApp, WsClient, AGENT_TOKEN,
};

const SECRET: &str = "customer is a known fraudster";

fn items(history: &Value) -> &Vec<Value> {
    history["messages"].as_array().expect("messages")
}

/// Every text a customer's frames carry, to check no note leaked.
fn assert_no_secret(frames: &[Value]) {
    for frame in frames {
        let text = frame.to_string();
        assert!(!text.contains("fraudster"), "a note leaked: {text}");
        assert!(!text.contains("\"private\""), "agents-only item: {text}");
    }
}

async fn note_over_socket(agent: &mut WsClient, text: &str) -> Value {
    agent
        .send_json(json!({"type":"message","text":text,"private":true,"id":"n-1"}))
        .await;
    agent.wait_for("message").await
}

/// A customer message (seq 1), a note (2), an agent reply (3), a note (4).
async fn conversation_with_notes(app: &TestApp, id: &str) -> (WsClient, WsClient) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{id}"))).await;
    customer.expect("presence").await;
    customer.say("where is my parcel?", Some("c-1")).await;
    customer.expect("message").await;
    agent.expect("message").await;
    let note = note_over_socket(&mut agent, SECRET).await;
    assert_eq!(
        (note["seq"].as_u64(), note["private"].as_bool()),
        (Some(2), Some(true))
    );
    agent.say("It ships today", None).await;
    // The note marked the conversation read for the agents: a `read` comes
    // first.
    let reply = customer.wait_for("message").await;
    assert_eq!(reply["seq"], 3);
    assert_eq!(
        reply["prev"], 1,
        "seq 2 is hidden from the customer, not lost"
    );
    agent.wait_for("message").await;
    agent
        .send_json(json!({"type":"message","text":"second note","private":true}))
        .await;
    agent.wait_for("message").await;
    (customer, agent)
}

on_each_backend! {
    async fn a_private_note_reaches_every_agent_and_never_the_customers_socket() {
        let app = spawn_app().await;
        let (mut customer, mut agent) = conversation_with_notes(&app, "note-live").await;
        let admin = app.admin_cookie().await;
        let mut colleague = WsClient::connect_with_cookie(&app.ws("/ws/agent/note-live"), &admin).await;
        colleague.expect("welcome").await;
        let history = colleague.expect("history").await;
        assert_eq!(seqs(&history), [1, 2, 3, 4], "agents see every item");
        assert_eq!(items(&history)[1]["text"], SECRET);
        assert_eq!(items(&history)[1]["private"], true);

        agent.say("anything else?", None).await;
        let live = customer.wait_for("message").await;
        assert_eq!(
            (live["seq"].as_u64(), live["prev"].as_u64()),
            (Some(5), Some(3))
        );
        let mut seen = vec![live];
        // Nothing else reached the customer: every frame up to their next
        // message is checked.
        customer.say("no, thanks", None).await;
        let next = loop {
            let frame = customer.next_json().await;
            if frame["type"] == "message" {
                break frame;
            }
            seen.push(frame);
        };
        assert_eq!(next["seq"], 6);
        assert!(next.get("prev").is_none(), "no hidden seq before it");
        seen.push(next);
        assert_no_secret(&seen);
        drop(agent);
    }
}

on_each_backend! {
    async fn the_customers_history_resume_and_paging_skip_notes_without_a_false_gap() {
        let app = spawn_app().await;
        let (customer, agent) = conversation_with_notes(&app, "note-history").await;
        customer.close().await;
        agent.close().await;

        let (_, welcome, history) = WsClient::join(&app.ws("/ws/customer/note-history")).await;
        assert_eq!(
            welcome["last_seq"], 3,
            "the customer's newest item, not the note after it"
        );
        assert_eq!(seqs(&history), [1, 3]);
        assert_eq!(
            history["has_more"], false,
            "nothing the customer sees is missing"
        );
        assert_no_secret(&[welcome, history.clone()]);

        // Resuming after seq 1 and after seq 3.
        let (_, _, resumed) = WsClient::join(&app.ws("/ws/customer/note-history?since=1")).await;
        assert_eq!(seqs(&resumed), [3]);
        assert_eq!(items(&resumed)[0]["prev"], 1);
        assert_eq!(resumed["has_more"], false);
        let (mut customer, _, resumed) =
            WsClient::join(&app.ws("/ws/customer/note-history?since=3")).await;
        assert_eq!(seqs(&resumed), Vec::<u64>::new());

        // Paging back over the note.
        customer
            .send_json(json!({"type":"history_before","before":4,"limit":1}))
            .await;
        let page = customer.expect("history").await;
        assert_eq!(seqs(&page), [3]);
        assert_eq!(page["has_more"], true);
        customer
            .send_json(json!({"type":"history_before","before":3,"limit":5}))
            .await;
        let page = customer.expect("history").await;
        assert_eq!(seqs(&page), [1]);
        assert_eq!(page["has_more"], false);
        assert_no_secret(&[resumed, page]);
    }
}

on_each_backend! {
    async fn a_customer_behind_many_notes_gets_their_history_from_the_store() {
        let app = spawn_app_with(&["--rate-limit", "0"]).await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/note-many")).await;
        customer.say("hello", None).await;
        customer.expect("message").await;
        customer.close().await;
        let client = http_client();
        // More notes than a session keeps in memory (256 items).
        for i in 0..300 {
            let response = client
                .post(app.http("/api/conversations/note-many/messages"))
                .bearer_auth(AGENT_TOKEN)
                .json(&json!({"text": format!("{SECRET} #{i}"), "private": true}))
                .send()
                .await
                .expect("POST a note");
            assert_eq!(response.status(), 201);
            let stored: Value = response.json().await.expect("the stored note");
            assert_eq!(stored["private"], true);
        }
        let reply = client
            .post(app.http("/api/conversations/note-many/messages"))
            .bearer_auth(AGENT_TOKEN)
            .json(&json!({"text": "we are on it"}))
            .send()
            .await
            .expect("POST a reply");
        assert_eq!(reply.status(), 201);

        let (mut customer, welcome, history) = WsClient::join(&app.ws("/ws/customer/note-many")).await;
        assert_eq!(welcome["last_seq"], 302);
        assert_eq!(texts(&history), ["hello", "we are on it"]);
        assert_eq!(items(&history)[1]["prev"], 1);
        assert_eq!(history["has_more"], false);
        customer
            .send_json(json!({"type":"history_before","before":302,"limit":50}))
            .await;
        let page = customer.expect("history").await;
        assert_eq!(seqs(&page), [1]);
        assert_no_secret(&[welcome, history, page]);

        // The agents' API lists the notes, flagged.
        let agents: Value = client
            .get(app.http("/api/conversations/note-many/messages?after=1&limit=2"))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .expect("GET messages")
            .json()
            .await
            .expect("JSON");
        assert_eq!(agents["messages"][0]["private"], true);
    }
}

#[actix_web::test]
async fn a_customer_cannot_write_a_private_note() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/note-forged")).await;
    customer
        .send_json(json!({"type":"message","text":"hidden?","private":true,"id":"f-1"}))
        .await;
    let error = customer.expect("error").await;
    assert_eq!(
        (error["code"].as_str(), error["id"].as_str()),
        (Some("forbidden"), Some("f-1"))
    );
    customer.expect_silence(Duration::from_millis(200)).await;
}

#[actix_web::test]
async fn the_agents_read_mark_never_tells_the_customer_a_notes_seq() {
    let app = spawn_app().await;
    let (mut customer, mut agent) = conversation_with_notes(&app, "note-read").await;
    agent.send_json(json!({"type":"read","seq":4})).await;
    let read = customer.wait_for("read").await;
    assert_eq!(read["seq"], 3, "clamped to the customer's newest item");
    let (_, welcome, _) = WsClient::join(&app.ws("/ws/customer/note-read")).await;
    assert_eq!(welcome["peer_read_seq"], 3);
}

#[actix_web::test]
async fn resolving_and_reopening_are_events_agents_see_and_customers_do_not() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/ev-status")).await;
    customer.say("help", None).await;
    customer.expect("message").await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/ev-status")).await;
    agent.send_json(json!({"type":"resolve"})).await;
    let resolved = agent.wait_for("message").await;
    assert_eq!(resolved["seq"], 2);
    assert_eq!(resolved["event"]["kind"], "resolved");
    assert_eq!(resolved["event"]["by"]["name"], "API");
    assert_eq!(resolved["text"], "Resolved by API");
    assert_eq!(resolved["private"], true);

    customer.say("it still did not come", None).await;
    let message = customer.wait_for("message").await;
    assert_eq!(
        (message["seq"].as_u64(), message["prev"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(customer.wait_for("status").await["status"], "open");
    agent.wait_for("message").await;
    let reopened = agent.wait_for("message").await;
    assert_eq!(reopened["seq"], 4);
    assert_eq!(reopened["event"], json!({"kind":"reopened","by":null}));

    let (_, _, history) = WsClient::join(&app.ws("/ws/customer/ev-status")).await;
    assert_eq!(
        seqs(&history),
        [1, 3],
        "the customer's history has no internal event"
    );
    let (_, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/ev-status")).await;
    assert_eq!(seqs(&history), [1, 2, 3, 4]);
}
