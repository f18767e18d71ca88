//! The agent console's server side: typing, read marks, resolve, the inbox
//! socket and the REST API, over real sockets and HTTP.

use std::time::Duration;

use crate::common::{eventually, spawn_app, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};
use serde_json::{json, Value};

async fn inbox(app: &TestApp) -> WsClient {
    WsClient::connect(&app.ws_as_agent("/ws/inbox")).await
}

async fn list(inbox: &mut WsClient, query: Value) -> Value {
    let mut frame = json!({"type": "list"});
    for (k, v) in query.as_object().unwrap() {
        frame[k] = v.clone();
    }
    inbox.send_json(frame).await;
    inbox.wait_for("conversations").await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap().to_string())
        .collect()
}

/// A customer who says `texts` and leaves.
async fn customer_says(app: &TestApp, id: &str, texts: &[&str]) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for text in texts {
        customer.say(text, None).await;
        customer.wait_for("message").await;
    }
    customer.close().await;
}

async fn agent_says(app: &TestApp, id: &str, text: &str) {
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{id}"))).await;
    agent.say(text, None).await;
    agent.wait_for("message").await;
    agent.close().await;
}

fn api(app: &TestApp, path: &str) -> String {
    app.http(&format!("/api{path}"))
}

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// Sends `request` with the agent token: the status and the JSON body.
async fn as_agent(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.bearer_auth(AGENT_TOKEN).send().await.unwrap();
    (
        response.status().as_u16(),
        response.json::<Value>().await.unwrap(),
    )
}

#[actix_web::test]
async fn typing_reaches_only_the_other_side() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/t1")).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/t1")).await;
    customer.expect("presence").await;
    customer
        .send_json(json!({"type":"typing","active":true}))
        .await;
    let typing = agent.expect("typing").await;
    assert_eq!(
        typing,
        json!({"type":"typing","role":"customer","active":true})
    );
    agent
        .send_json(json!({"type":"typing","active":false}))
        .await;
    assert_eq!(customer.expect("typing").await["role"], "agent");
    customer.expect_silence(Duration::from_millis(200)).await;
}

#[actix_web::test]
async fn read_marks_reach_the_other_side_and_survive_reconnects() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/r1")).await;
    customer.say("one", None).await;
    customer.say("two", None).await;
    customer.expect("message").await;
    customer.expect("message").await;
    let (mut agent, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/r1")).await;
    assert_eq!(welcome["read_seq"], 0);
    customer.expect("presence").await;
    agent.send_json(json!({"type":"read","seq":99})).await;
    let read = customer.expect("read").await;
    assert_eq!(
        read,
        json!({"type":"read","role":"agent","seq":2}),
        "clamped to last seq"
    );
    agent.send_json(json!({"type":"read","seq":1})).await;
    customer.expect_silence(Duration::from_millis(200)).await;
    agent.close().await;
    customer.close().await;

    let app = app.restart().await;
    let (_, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/r1")).await;
    assert_eq!(welcome["read_seq"], 2);
    let (_, welcome, _) = WsClient::join(&app.ws("/ws/customer/r1")).await;
    assert_eq!(welcome["peer_read_seq"], 2);
}

#[actix_web::test]
async fn resolving_is_for_agents_and_a_customer_message_reopens() {
    let app = spawn_app().await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/s1")).await;
    assert_eq!(welcome["status"], "open");
    customer.say("help", None).await;
    customer.expect("message").await;
    customer.send_json(json!({"type":"resolve"})).await;
    assert_eq!(customer.expect("error").await["code"], "forbidden");

    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/s1")).await;
    customer.expect("presence").await;
    agent.send_json(json!({"type":"resolve"})).await;
    let status = json!({"type":"status","status":"resolved"});
    assert_eq!(agent.expect("status").await, status);
    assert_eq!(customer.expect("status").await, status);
    agent.close().await;
    customer.close().await;

    let app = app.restart().await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/s1")).await;
    assert_eq!(welcome["status"], "resolved", "stored");
    customer.say("one more thing", None).await;
    customer.expect("message").await;
    assert_eq!(customer.expect("status").await["status"], "open");
    let (_, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/s1")).await;
    assert_eq!(welcome["status"], "open");
}

#[actix_web::test]
async fn agents_reopen_a_resolved_conversation_by_frame_or_api() {
    let app = spawn_app().await;
    customer_says(&app, "r1", &["help"]).await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/r1")).await;
    agent.send_json(json!({"type":"resolve"})).await;
    assert_eq!(agent.expect("status").await["status"], "resolved");
    agent.send_json(json!({"type":"reopen"})).await;
    // The "Resolved" event (a history item) may come in between.
    assert_eq!(agent.wait_for("status").await["status"], "open");

    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/r1")).await;
    customer.send_json(json!({"type":"reopen"})).await;
    assert_eq!(customer.expect("error").await["code"], "forbidden");

    let post =
        |path: &'static str| as_agent(http().post(api(&app, &format!("/conversations/r1/{path}"))));
    assert_eq!(post("resolve").await.1["status"], "resolved");
    assert_eq!(customer.wait_for("status").await["status"], "resolved");
    let (status, body) = post("reopen").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("open")));
    assert_eq!(customer.wait_for("status").await["status"], "open");
}

#[actix_web::test]
async fn the_inbox_lists_waiting_conversations_first_with_unread_counts() {
    let app = spawn_app().await;
    customer_says(&app, "first-waiting", &["hello?"]).await;
    customer_says(&app, "answered", &["question"]).await;
    agent_says(&app, "answered", "answer").await;
    customer_says(&app, "second-waiting", &["hi", "anyone\nthere?"]).await;

    let mut inbox = inbox(&app).await;
    let page = list(&mut inbox, json!({"status":"all"})).await;
    assert_eq!(ids(&page), ["first-waiting", "second-waiting", "answered"]);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["waiting"], true);
    assert_eq!(items[1]["unread"], 2);
    assert_eq!(items[1]["preview"], "anyone");
    assert_eq!(items[1]["last_from"], "customer");
    assert_eq!(items[2]["waiting"], false);
    assert_eq!(items[2]["unread"], 0, "answering marks it read");
    assert_eq!(page["totals"], json!({"unread":3,"waiting":2}));
}

#[actix_web::test]
async fn the_inbox_pushes_changes_as_they_happen() {
    let app = spawn_app().await;
    let mut inbox = inbox(&app).await;
    list(&mut inbox, json!({})).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/live")).await;
    customer.say("new customer here", None).await;
    customer.expect("message").await;
    let mut seen_message = false;
    while !seen_message {
        let push = inbox.wait_for("conversation").await;
        let c = &push["conversation"];
        assert_eq!(c["client_id"], "live");
        seen_message = c["last_seq"] == 1;
        if seen_message {
            assert_eq!(c["unread"], 1);
            assert_eq!(c["waiting"], true);
            assert_eq!(c["customer_online"], true);
        }
    }
    let totals = inbox.wait_for("totals").await;
    assert_eq!(totals, json!({"type":"totals","unread":1,"waiting":1}));

    // The agent reads: the unread count drops.
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/live")).await;
    agent.send_json(json!({"type":"read","seq":1})).await;
    loop {
        let push = inbox.wait_for("conversation").await;
        if push["conversation"]["unread"] == 0 {
            break;
        }
    }
    customer.close().await;
    loop {
        let push = inbox.wait_for("conversation").await;
        if push["conversation"]["customer_online"] == false {
            break;
        }
    }
}

#[actix_web::test]
async fn the_inbox_pages_with_a_cursor_and_lists_evicted_conversations() {
    let app = spawn_app_with(&["--idle-timeout", "200ms"]).await;
    for i in 0..7 {
        customer_says(&app, &format!("c{i}"), &["hello"]).await;
    }
    // Let every session leave memory: the list comes from the store.
    eventually(
        "every session to leave memory",
        Duration::from_secs(5),
        || async {
            let health: Value = app.get("/healthz").await.json().await.unwrap();
            (health["sessions"] == 0).then_some(())
        },
    )
    .await;

    let mut inbox = inbox(&app).await;
    let mut all = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let page = list(&mut inbox, json!({"limit":3,"cursor":cursor})).await;
        assert!(ids(&page).len() <= 3);
        all.extend(ids(&page));
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
    assert_eq!(all, expected, "oldest wait first, each once");

    let page = list(&mut inbox, json!({"search":"c3"})).await;
    assert_eq!(ids(&page), ["c3"]);
    let page = list(&mut inbox, json!({"status":"resolved"})).await;
    assert!(ids(&page).is_empty());
    inbox
        .send_json(json!({"type":"list","cursor":"garbage"}))
        .await;
    assert_eq!(inbox.expect("error").await["code"], "bad_request");
}

#[actix_web::test]
async fn the_inbox_and_api_need_agent_credentials() {
    let app = spawn_app().await;
    let err = tokio_tungstenite::connect_async(app.ws("/ws/inbox"))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    for url in [
        api(&app, "/conversations"),
        api(&app, "/conversations/x/messages"),
    ] {
        let response = http().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let response = http()
        .post(api(&app, "/conversations/x/resolve"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[actix_web::test]
async fn the_api_lists_conversations_and_pages_their_messages() {
    let app = spawn_app_with(&["--rate-limit", "0"]).await;
    let texts: Vec<String> = (1..=30).map(|i| format!("m{i}")).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    customer_says(&app, "api-1", &refs).await;
    customer_says(&app, "api-2", &["hello"]).await;

    let (_, list) = as_agent(http().get(api(&app, "/conversations?status=open&limit=1"))).await;
    assert_eq!(ids(&list), ["api-1"]);
    let cursor = list["next_cursor"].as_str().unwrap();
    let (_, next) = as_agent(http().get(api(
        &app,
        &format!("/conversations?limit=5&cursor={cursor}"),
    )))
    .await;
    assert_eq!(ids(&next), ["api-2"]);
    assert!(next["next_cursor"].is_null());

    let get = |path: String| as_agent(http().get(api(&app, &path)));
    let (status, newest) = get("/conversations/api-1/messages?limit=10".into()).await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = newest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (21..=30).collect::<Vec<_>>());
    assert_eq!(newest["has_more"], true);
    let (_, older) = get("/conversations/api-1/messages?before=21&limit=20".into()).await;
    assert_eq!(older["messages"][0]["seq"], 1);
    assert_eq!(older["has_more"], false);
    let (_, after) = get("/conversations/api-1/messages?after=25".into()).await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 5);
    assert_eq!(after["has_more"], false);

    assert_eq!(get("/conversations/nobody/messages".into()).await.0, 404);
    assert_eq!(
        get("/conversations/api-1/messages?before=3&after=1".into())
            .await
            .0,
        400
    );
    assert_eq!(
        get("/conversations/api-1/messages?limit=0".into()).await.0,
        400
    );
    assert_eq!(get("/conversations/bad%20id/messages".into()).await.0, 400);
    assert_eq!(get("/conversations?status=maybe".into()).await.0, 400);
    assert_eq!(get("/conversations?cursor=zzz".into()).await.0, 400);
}

#[actix_web::test]
async fn messages_posted_through_the_api_reach_live_sockets_once() {
    let app = spawn_app_with(&["--max-text-chars", "50"]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/bot-target")).await;
    let post = |body: Value| {
        as_agent(
            http()
                .post(api(&app, "/conversations/bot-target/messages"))
                .json(&body),
        )
    };
    let (status, stored) = post(json!({"text":"Hello from the bot","id":"bot-1"})).await;
    assert_eq!(status, 201);
    assert_eq!(stored["seq"], 1);
    assert_eq!(stored["from"], "agent");
    let live = customer.expect("message").await;
    assert_eq!(live["text"], "Hello from the bot");
    let read = customer.expect("read").await;
    assert_eq!(
        (read["role"].as_str(), read["seq"].as_u64()),
        (Some("agent"), Some(1)),
        "an answer from the API marks the conversation read"
    );
    let (status, again) = post(json!({"text":"Hello from the bot","id":"bot-1"})).await;
    assert_eq!(status, 201);
    assert_eq!(again, stored, "idempotent by id");
    customer.expect_silence(Duration::from_millis(300)).await;

    let (status, error) = post(json!({"text":"   "})).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("empty_text"))
    );
    let (status, error) = post(json!({"text":"x".repeat(51)})).await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (413, Some("text_too_long"))
    );
    let (status, _) = post(json!({"txt":"typo"})).await;
    assert_eq!(status, 400);
    let big = http()
        .post(api(&app, "/conversations/bot-target/messages"))
        .bearer_auth(AGENT_TOKEN)
        .header("content-type", "application/json")
        .body("x".repeat(100_000))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);

    let resolve = http()
        .post(api(&app, "/conversations/bot-target/resolve"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resolve.status(), 200);
    assert_eq!(customer.expect("status").await["status"], "resolved");
    let unknown = http()
        .post(api(&app, "/conversations/nobody-here/resolve"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[actix_web::test]
async fn api_writes_over_the_rate_limit_get_429_then_pass_again() {
    let app = spawn_app_with(&["--rate-limit", "2", "--rate-burst", "2"]).await;
    let post = |n: u32| {
        as_agent(
            http()
                .post(api(&app, "/conversations/api-rate/messages"))
                .json(&json!({"text": format!("m{n}"), "id": format!("r{n}")})),
        )
    };
    assert_eq!(post(1).await.0, 201);
    assert_eq!(post(2).await.0, 201);
    let (status, body) = post(3).await;
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "rate_limited");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, stored) = post(3).await;
    assert_eq!(status, 201);
    assert_eq!(stored["seq"], 3, "the refused post was not stored");
}
