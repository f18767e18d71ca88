//! The protocol, spoken over real sockets to the real server on port 0.

use std::time::Duration;

use crate::common::on_each_backend;
use crate::common::{seqs, spawn_app, spawn_app_with, texts, WsClient};
use crate::raw::{frames_until, Handshake, WireFrame};
use serde_json::json;
use support_chat::FRAGMENT_BYTES;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

on_each_backend! {
    async fn customer_and_agent_chat_both_ways() {
        let app = spawn_app().await;
        let (mut customer, welcome, history) = WsClient::join(&app.ws("/ws/customer/alice")).await;
        assert_eq!(welcome["role"], "customer");
        assert_eq!(welcome["client_id"], "alice");
        assert_eq!(welcome["last_seq"], 0);
        assert_eq!(welcome["peer_online"], false);
        assert_eq!(history["messages"], json!([]));
        assert_eq!(history["has_more"], false);

        let (mut agent, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/alice")).await;
        assert_eq!(welcome["role"], "agent");
        assert_eq!(welcome["peer_online"], true);
        let presence = customer.expect("presence").await;
        assert_eq!(
            presence,
            json!({"type":"presence","role":"agent","online":true})
        );

        customer.say("Hello, my order is late", Some("c1")).await;
        let ack = customer.expect("message").await;
        let seen = agent.expect("message").await;
        assert_eq!(ack, seen, "both sides get the same stored message");
        assert_eq!(ack["seq"], 1);
        assert_eq!(ack["from"], "customer");
        assert_eq!(ack["id"], "c1");
        assert!(ack["ts"].as_str().unwrap().ends_with('Z'));

        agent.say("Let me check", None).await;
        let reply = customer.expect("message").await;
        assert_eq!(reply["seq"], 2);
        assert_eq!(reply["from"], "agent");
        assert_eq!(reply["text"], "Let me check");
        assert!(reply.get("id").is_none());
        assert_eq!(agent.expect("message").await, reply);
    }
}

on_each_backend! {
    async fn agent_sees_history_after_reconnect_and_since_sends_only_the_gap() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/bob")).await;
        for i in 1..=5 {
            customer.say(&format!("m{i}"), None).await;
            customer.expect("message").await;
        }
        let (agent, welcome, history) = WsClient::join(&app.ws_as_agent("/ws/agent/bob")).await;
        assert_eq!(welcome["last_seq"], 5);
        assert_eq!(texts(&history), ["m1", "m2", "m3", "m4", "m5"]);
        agent.close().await;

        let (_, _, gap) = WsClient::join(&app.ws_as_agent("/ws/agent/bob?since=3")).await;
        assert_eq!(seqs(&gap), [4, 5]);
        assert_eq!(gap["has_more"], false);
    }
}

on_each_backend! {
    async fn messages_sent_while_the_other_side_was_away_are_there_when_it_comes_back() {
        let app = spawn_app().await;
        let (mut agent, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/carol")).await;
        assert_eq!(welcome["peer_online"], false, "customer has not come yet");
        agent.say("Hi Carol, we have an update", Some("a1")).await;
        assert_eq!(agent.expect("message").await["seq"], 1);

        let (mut customer, welcome, history) = WsClient::join(&app.ws("/ws/customer/carol")).await;
        assert_eq!(welcome["peer_online"], true);
        assert_eq!(texts(&history), ["Hi Carol, we have an update"]);
        customer.say("Thanks!", None).await;
        assert_eq!(agent.wait_for("message").await["text"], "Thanks!");
    }
}

on_each_backend! {
    async fn a_retried_message_id_is_stored_once_and_acknowledged_again() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/dave")).await;
        customer.say("only once", Some("retry-1")).await;
        let first = customer.expect("message").await;
        customer.say("only once", Some("retry-1")).await;
        let again = customer.expect("message").await;
        assert_eq!(first, again);
        customer.say("next", Some("retry-2")).await;
        assert_eq!(customer.expect("message").await["seq"], 2);

        // The same id from the other role is a different message.
        let (mut agent, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/dave")).await;
        assert_eq!(texts(&history), ["only once", "next"]);
        agent.say("agent's own", Some("retry-1")).await;
        assert_eq!(agent.expect("message").await["seq"], 3);
    }
}

#[actix_web::test]
async fn a_newer_tab_replaces_the_older_one() {
    let app = spawn_app().await;
    let (mut old, _, _) = WsClient::join(&app.ws("/ws/customer/erin")).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/erin")).await;
    old.expect("presence").await;
    let (mut new, welcome, _) = WsClient::join(&app.ws("/ws/customer/erin")).await;
    assert_eq!(welcome["peer_online"], true);
    assert_eq!(old.expect("replaced").await, json!({"type":"replaced"}));
    assert_eq!(old.expect_close().await, Some(4001));
    // The agent saw no offline blip: the customer never left.
    agent.expect_silence(Duration::from_millis(300)).await;
    new.say("from the new tab", None).await;
    assert_eq!(agent.expect("message").await["text"], "from the new tab");
}

#[actix_web::test]
async fn the_other_side_learns_when_a_peer_leaves() {
    let app = spawn_app().await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/frank")).await;
    let (customer, _, _) = WsClient::join(&app.ws("/ws/customer/frank")).await;
    assert_eq!(agent.expect("presence").await["online"], true);
    customer.close().await;
    let left = agent.expect("presence").await;
    assert_eq!(
        left,
        json!({"type":"presence","role":"customer","online":false})
    );
}

#[actix_web::test]
async fn bad_ids_are_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let long = "x".repeat(65);
    for path in [
        "/ws/customer/bad%20id",
        "/ws/agent/%C3%A9",
        &format!("/ws/customer/{long}"),
        "/ws/customer/a.b",
    ] {
        let err = tokio_tungstenite::connect_async(app.ws(path))
            .await
            .unwrap_err();
        match err {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), 400, "{path}");
                let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
                assert!(body.contains("invalid client id"), "{path}: {body}");
            }
            other => panic!("{path}: expected HTTP 400, got {other:?}"),
        }
    }
    let response = app.get("/ws/customer/ok?since=-1").await;
    assert_eq!(response.status(), 400);
    let response = app.get("/ws/customer/ok").await;
    assert_eq!(response.status(), 400, "not an upgrade request");
    assert!(response.text().await.unwrap().contains("WebSocket upgrade"));
}

#[actix_web::test]
async fn every_bad_frame_gets_an_error_and_the_connection_survives() {
    let app = spawn_app_with(&["--max-text-chars", "20"]).await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/gina")).await;
    assert_eq!(welcome["max_text_chars"], 20);
    let cases = [
        (Message::Text("not json".into()), "invalid_json"),
        (Message::Text("[1,2]".into()), "invalid_frame"),
        (
            Message::Text(r#"{"type":"shout","text":"x"}"#.into()),
            "unknown_type",
        ),
        (
            Message::Text(r#"{"type":"message"}"#.into()),
            "invalid_frame",
        ),
        (
            Message::Text(r#"{"type":"message","text":"   "}"#.into()),
            "empty_text",
        ),
        (
            Message::Text(r#"{"type":"message","text":"123456789012345678901"}"#.into()),
            "text_too_long",
        ),
        (
            Message::Text(r#"{"type":"message","text":"ok","id":""}"#.into()),
            "invalid_message_id",
        ),
        (Message::Binary(vec![1, 2, 3]), "binary_not_supported"),
    ];
    for (frame, code) in cases {
        customer.send(frame).await;
        let error = customer.expect("error").await;
        assert_eq!(error["code"], code);
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    customer.say("still here", None).await;
    let ack = customer.expect("message").await;
    assert_eq!(ack["seq"], 1, "nothing was stored for the bad frames");
}

#[actix_web::test]
async fn an_oversize_frame_is_refused_with_1009() {
    let app = spawn_app_with(&["--max-frame-bytes", "1024"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/hal")).await;
    customer.send(Message::Text("x".repeat(2000))).await;
    assert_eq!(customer.expect_close().await, Some(1009));
}

#[actix_web::test]
async fn a_fragmented_message_is_reassembled() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/ivy")).await;
    let whole = json!({"type":"message","text":"fragmented 你好"}).to_string();
    let (a, b) = whole.as_bytes().split_at(10);
    let (b, c) = b.split_at(12);
    customer
        .send(Message::Frame(Frame::message(
            a.to_vec(),
            OpCode::Data(Data::Text),
            false,
        )))
        .await;
    customer
        .send(Message::Frame(Frame::message(
            b.to_vec(),
            OpCode::Data(Data::Continue),
            false,
        )))
        .await;
    customer
        .send(Message::Frame(Frame::message(
            c.to_vec(),
            OpCode::Data(Data::Continue),
            true,
        )))
        .await;
    assert_eq!(customer.expect("message").await["text"], "fragmented 你好");
}

#[actix_web::test]
async fn a_fragmented_message_over_the_cap_is_refused_with_1009() {
    let app = spawn_app_with(&["--max-frame-bytes", "1024"]).await;
    let mut echo = WsClient::connect(&app.ws("/ws/echo")).await;
    for i in 0..3 {
        let opcode = if i == 0 { Data::Text } else { Data::Continue };
        echo.send(Message::Frame(Frame::message(
            vec![b'a'; 600],
            OpCode::Data(opcode),
            i == 2,
        )))
        .await;
    }
    assert_eq!(echo.expect_close().await, Some(1009));
}

#[actix_web::test]
async fn echo_returns_text_and_binary_exactly() {
    let app = spawn_app().await;
    let mut echo = WsClient::connect(&app.ws("/ws/echo")).await;
    echo.send(Message::Text("héllo {not json}".into())).await;
    assert_eq!(
        echo.next_raw().await,
        Some(Message::Text("héllo {not json}".into()))
    );
    let bytes: Vec<u8> = (0..=255).collect();
    echo.send(Message::Binary(bytes.clone())).await;
    assert_eq!(echo.next_raw().await, Some(Message::Binary(bytes)));
    echo.send(Message::Text(String::new())).await;
    assert_eq!(echo.next_raw().await, Some(Message::Text(String::new())));
}

#[actix_web::test]
async fn healthz_reports_sessions_and_sockets() {
    let app = spawn_app().await;
    let health: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["sessions"], 0);
    assert_eq!(health["open_sockets"], 0);
    let _customer = WsClient::join(&app.ws("/ws/customer/jack")).await;
    let _agent = WsClient::join(&app.ws_as_agent("/ws/server/jack")).await;
    let health: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["sessions"], 1);
    assert_eq!(health["open_sockets"], 2);
    assert_eq!(health["store"], "ok");
}

on_each_backend! {
    async fn history_before_pages_back_to_the_very_first_message() {
        let app = spawn_app_with(&["--rate-limit", "0"]).await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/kim")).await;
        for i in 1..=450 {
            customer.say(&format!("m{i}"), None).await;
        }
        for _ in 1..=450 {
            customer.expect("message").await;
        }
        customer.close().await;
        let (mut agent, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/kim")).await;
        assert_eq!(seqs(&history), (251..=450).collect::<Vec<_>>());
        assert_eq!(history["has_more"], true);
        let mut all = seqs(&history);
        let mut has_more = true;
        while has_more {
            let before = all[0];
            agent
                .send_json(json!({"type":"history_before","before":before,"limit":120}))
                .await;
            let page = agent.expect("history").await;
            has_more = page["has_more"].as_bool().unwrap();
            let mut older = seqs(&page);
            assert!(!older.is_empty());
            older.extend(all);
            all = older;
        }
        assert_eq!(all, (1..=450).collect::<Vec<_>>());
        agent
            .send_json(json!({"type":"history_before","before":1}))
            .await;
        let empty = agent.expect("history").await;
        assert_eq!(empty["messages"], json!([]));
        assert_eq!(empty["has_more"], false);
    }
}

/// A history frame can be larger than what may wait for a socket (200
/// messages of 4,000 characters is 800 KB): on its own it is no sign of a
/// client that stopped reading, so it is sent, not answered with 4002.
#[actix_web::test]
async fn a_history_of_long_messages_reaches_a_socket_that_just_connected() {
    let app = spawn_app_with(&["--rate-limit", "0"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/essay")).await;
    let long = "x".repeat(4000);
    for _ in 0..200 {
        customer.say(&long, None).await;
        customer.expect("message").await;
    }
    let (mut agent, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/essay")).await;
    assert_eq!(seqs(&history), (1..=200).collect::<Vec<_>>());
    agent.expect_silence(Duration::from_millis(300)).await;
}

/// A frame larger than `FRAGMENT_BYTES` leaves in pieces, each written out
/// before the next is encoded (so no connection keeps a buffer the size of
/// its largest frame), that every client reads as one message; nothing
/// else lands between the pieces.
#[actix_web::test]
async fn a_large_history_goes_out_in_pieces_of_one_message() {
    let app = spawn_app_with(&["--rate-limit", "0"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/pieces")).await;
    for n in 0..40 {
        customer
            .say(&format!("{n} {}", "y".repeat(500)), None)
            .await;
        customer.expect("message").await;
    }
    let path = format!("/ws/agent/pieces?token={}", crate::common::AGENT_TOKEN);
    let (mut tcp, answer) = Handshake {
        path: &path,
        ..Handshake::default()
    }
    .send(app.addr)
    .await;
    assert_eq!(answer.status, 101);
    let history_done = |frames: &[WireFrame]| frames.iter().filter(|f| f.fin).count() >= 2;
    let frames = frames_until(&mut tcp, answer.rest, history_done).await;
    let data: Vec<&WireFrame> = frames.iter().filter(|f| f.opcode != 9).collect();
    let (welcome, pieces) = data.split_first().expect("a welcome");
    assert!(
        welcome.fin && welcome.opcode == 1,
        "the welcome is small and whole"
    );
    assert!(pieces.len() > 2, "{} pieces", pieces.len());
    assert_eq!(pieces[0].opcode, 1, "a text message");
    assert!(
        pieces[1..].iter().all(|f| f.opcode == 0),
        "continuations only"
    );
    assert!(pieces.iter().all(|f| f.payload.len() <= FRAGMENT_BYTES));
    assert!(pieces[..pieces.len() - 1].iter().all(|f| !f.fin));
    let whole: Vec<u8> = pieces.iter().flat_map(|f| f.payload.clone()).collect();
    let history: serde_json::Value = serde_json::from_slice(&whole).expect("one JSON frame");
    assert_eq!(history["type"], "history");
    assert_eq!(seqs(&history), (1..=40).collect::<Vec<_>>());
}

#[actix_web::test]
async fn pages_are_served_and_bad_ids_get_a_clear_page() {
    let app = spawn_app().await;
    let fresh = app.get("/chat/client").await;
    assert_eq!(fresh.status(), 302);
    let location = fresh.headers()["location"].to_str().unwrap().to_string();
    let id = location.strip_prefix("/chat/client/").unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

    let page = app.get(&location).await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains(&format!("data-client-id=\"{id}\"")));
    assert!(body.contains("data-role=\"customer\""));

    let agent = app
        .get(&format!(
            "/chat/server/42?token={}",
            crate::common::AGENT_TOKEN
        ))
        .await
        .text()
        .await
        .unwrap();
    assert!(agent.contains("data-role=\"agent\""));

    let bad = app.get("/chat/server/%3Cscript%3E").await;
    assert_eq!(bad.status(), 400);
    let body = bad.text().await.unwrap();
    assert!(body.contains("invalid client id"));
    assert!(!body.contains("<script>"));

    assert_eq!(app.get("/").await.status(), 200);
    assert_eq!(app.get("/static/chat.js").await.status(), 200);
    assert_eq!(app.get("/nowhere").await.status(), 404);
}

on_each_backend! {
    async fn a_client_that_pipelines_thousands_of_messages_gets_each_acknowledged_once_in_order() {
        let app = spawn_app_with(&["--rate-limit", "0"]).await;
        let (customer, _, _) = WsClient::join(&app.ws("/ws/customer/piper")).await;
        // Sent without reading anything back: more than the socket's in-flight
        // window and read-ahead, so the server must slow the reading down.
        let count = 3000;
        let frames: Vec<Message> = (0..count)
            .map(|i| {
                Message::Text(
                    json!({"type":"message","text":format!("m{i}"),"id":format!("p{i}")}).to_string(),
                )
            })
            .collect();
        let (mut sink, mut stream) = futures_util::StreamExt::split(customer.socket);
        let send = tokio::spawn(async move {
            for frame in frames {
                futures_util::SinkExt::send(&mut sink, frame).await.unwrap();
            }
            sink
        });
        let mut seqs = Vec::new();
        while seqs.len() < count {
            let frame = tokio::time::timeout(
                crate::common::FRAME_TIMEOUT,
                futures_util::StreamExt::next(&mut stream),
            )
            .await
            .expect("acks keep coming")
            .unwrap()
            .unwrap();
            if let Message::Text(text) = frame {
                let ack: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(ack["type"], "message", "{ack}");
                assert_eq!(ack["id"], format!("p{}", seqs.len()));
                seqs.push(ack["seq"].as_u64().unwrap());
            }
        }
        let _sink = send.await.unwrap();
        assert_eq!(seqs, (1..=count as u64).collect::<Vec<_>>());
    }
}

#[actix_web::test]
async fn a_client_that_stops_answering_pings_is_dropped_and_the_other_side_learns_it() {
    let app = spawn_app_with(&["--heartbeat-interval", "100ms", "--client-timeout", "400ms"]).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/silent")).await;
    // Never polled again, so never answers a ping.
    let (_customer, _, _) = WsClient::join(&app.ws("/ws/customer/silent")).await;
    assert_eq!(agent.expect("presence").await["online"], true);
    let gone = agent.expect("presence").await;
    assert_eq!(
        gone,
        json!({"type":"presence","role":"customer","online":false})
    );
    // The agent answered every ping while it read: still connected.
    agent.say("still here", None).await;
    assert_eq!(agent.expect("message").await["text"], "still here");
}

#[actix_web::test]
async fn error_pages_speak_the_customers_language_and_offer_a_new_chat() {
    let app = spawn_app().await;
    let page = app.get("/chat/client/bad%20id").await;
    assert_eq!(page.status(), 400);
    let body = page.text().await.unwrap();
    assert!(body.contains("This chat link does not work"), "{body}");
    assert!(
        body.contains("href=\"/chat/client?lang=en\">Start a new chat"),
        "{body}"
    );

    let chinese = reqwest::Client::new()
        .get(app.http("/no/such/page"))
        .header("Accept-Language", "zh-CN,zh;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(chinese.status(), 404);
    let body = chinese.text().await.unwrap();
    assert!(body.contains("<html lang=\"zh\">"), "{body}");
    assert!(body.contains("开始新的聊天"), "{body}");
}

#[actix_web::test]
async fn a_new_chat_keeps_the_chosen_language() {
    let app = spawn_app().await;
    let redirect = app.get("/chat/client?lang=zh").await;
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.ends_with("?lang=zh"), "{location}");
    let page = app.get(&location).await.text().await.unwrap();
    assert!(page.contains("<html lang=\"zh\">"), "{page}");
    let plain = app.get("/chat/client").await;
    assert!(!plain.headers()["location"].to_str().unwrap().contains('?'));
}
