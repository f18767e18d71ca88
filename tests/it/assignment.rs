//! Assignment (issue 13): the assignee is stored, changed by the agent
//! socket's `assign` frame and the REST API, recorded as events with the
//! right visibility, shown in summaries and views, and the agent given a
//! conversation is alerted.

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{http_client, seqs, spawn_app, TestApp, WsClient, ADMIN_NAME};

/// The admin (Ada) and Ben, with their ids and session cookies.
struct Team {
    ada: (i64, String),
    ben: (i64, String),
}

async fn team(app: &TestApp) -> Team {
    let mut agents = crate::routing::team(app, &["Ben"])
        .await
        .into_iter()
        .map(|a| (a.id, a.cookie));
    Team {
        ada: agents.next().expect("Ada"),
        ben: agents.next().expect("Ben"),
    }
}

async fn customer_writes(app: &TestApp, id: &str) -> WsClient {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    customer.say("my order is late", None).await;
    customer.expect("message").await;
    customer
}

async fn agent_socket(app: &TestApp, id: &str, cookie: &str) -> (WsClient, Value) {
    let mut socket =
        WsClient::connect_with_cookie(&app.ws(&format!("/ws/agent/{id}")), cookie).await;
    let welcome = socket.expect("welcome").await;
    socket.expect("history").await;
    (socket, welcome)
}

async fn inbox_of(app: &TestApp, cookie: &str) -> WsClient {
    WsClient::connect_with_cookie(&app.ws("/ws/inbox"), cookie).await
}

async fn post_assign(app: &TestApp, id: &str, cookie: &str, body: Value) -> (u16, Value) {
    let response = http_client()
        .post(app.http(&format!("/api/conversations/{id}/assign")))
        .header("cookie", cookie)
        .header("origin", app.http(""))
        .json(&body)
        .send()
        .await
        .expect("POST assign");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn listed(app: &TestApp, cookie: &str, query: &str) -> Value {
    app.get_with(&format!("/api/conversations?{query}"), cookie)
        .await
        .json()
        .await
        .expect("JSON")
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["client_id"].as_str().unwrap_or_default())
        .collect()
}

#[actix_web::test]
async fn an_agent_assigns_a_colleague_who_is_alerted_and_the_customer_sees_them_join() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let mut customer = customer_writes(&app, "as-1").await;
    let (mut ada, welcome) = agent_socket(&app, "as-1", &team.ada.1).await;
    assert_eq!(welcome["assignee"], Value::Null, "nobody has it yet");
    let mut ben_inbox = inbox_of(&app, &team.ben.1).await;
    ben_inbox
        .send_json(json!({"type":"list","status":"open","view":"mine"}))
        .await;
    let page = ben_inbox.wait_for("conversations").await;
    assert_eq!(page["views"], json!({"mine":0,"unassigned":1,"all":1}));

    ada.send_json(json!({"type":"assign","agent_id":team.ben.0}))
        .await;
    let assignee = ada.wait_for("assignee").await;
    assert_eq!(assignee["assignee"], json!({"id":team.ben.0,"name":"Ben"}));
    let event = ada.wait_for("message").await;
    assert_eq!(event["seq"], 2);
    assert_eq!(event["text"], format!("{ADMIN_NAME} assigned this to Ben"));
    assert_eq!(event["event"]["kind"], "assigned");
    assert!(event.get("private").is_none(), "the customer sees this one");

    let joined = customer.wait_for("message").await;
    assert_eq!(joined["seq"], 2);
    assert_eq!(joined["text"], "Ben joined the conversation");
    assert_eq!(
        joined["event"],
        json!({"kind":"joined","agent":{"id":team.ben.0,"name":"Ben"}}),
        "never who assigned"
    );

    let alert = ben_inbox.wait_for("assigned").await;
    assert_eq!(alert["conversation"]["client_id"], "as-1");
    assert_eq!(alert["conversation"]["assignee"]["name"], "Ben");
    assert_eq!(alert["by"]["name"], ADMIN_NAME);
    let views = ben_inbox.wait_for("views").await;
    assert_eq!(
        views,
        json!({"type":"views","status":"open","views":{"mine":1,"unassigned":0,"all":1}})
    );

    assert_eq!(ids(&listed(&app, &team.ben.1, "view=mine").await), ["as-1"]);
    assert!(ids(&listed(&app, &team.ada.1, "view=mine").await).is_empty());
    assert!(ids(&listed(&app, &team.ada.1, "view=unassigned").await).is_empty());
    let all = listed(&app, &team.ada.1, "view=all&status=open").await;
    assert_eq!(
        all["items"][0]["assignee"],
        json!({"id":team.ben.0,"name":"Ben"})
    );
    assert_eq!(all["views"], json!({"mine":0,"unassigned":0,"all":1}));
}

#[actix_web::test]
async fn a_transfer_with_a_note_stays_among_agents_and_alerts_the_receiver() {
    let app = spawn_app().await;
    let team = team(&app).await;
    let mut customer = customer_writes(&app, "as-2").await;
    let (status, body) =
        post_assign(&app, "as-2", &team.ben.1, json!({"agent_id": team.ben.0})).await;
    assert_eq!((status, &body["assignee"]["name"]), (200, &json!("Ben")));
    let took = customer.wait_for("message").await;
    assert_eq!(took["text"], "Ben joined the conversation");
    let mut ada_inbox = inbox_of(&app, &team.ada.1).await;
    // The inbox subscribes as it opens; a list answered means it is in.
    ada_inbox.send_json(json!({"type":"list"})).await;
    ada_inbox.wait_for("conversations").await;

    let (status, body) = post_assign(
        &app,
        "as-2",
        &team.ben.1,
        json!({"agent_id": team.ada.0, "note": "VIP, wants a refund"}),
    )
    .await;
    assert_eq!(
        (status, &body["assignee"]["name"]),
        (200, &json!(ADMIN_NAME))
    );
    let alert = ada_inbox.wait_for("assigned").await;
    assert_eq!(alert["note"], "VIP, wants a refund");
    assert_eq!(alert["by"]["name"], "Ben");

    let (_, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/as-2")).await;
    let items = history["messages"].as_array().expect("items");
    assert_eq!(seqs(&history), [1, 2, 3, 4]);
    assert_eq!(items[2]["event"]["kind"], "transferred");
    assert_eq!(items[2]["private"], true);
    assert_eq!(items[3]["text"], "VIP, wants a refund");
    assert_eq!(items[3]["private"], true);
    assert_eq!(items[3]["author"]["name"], "Ben");

    // The customer saw neither: their next message comes right after seq 2.
    customer.say("hello?", None).await;
    let next = customer.wait_for("message").await;
    assert_eq!(
        (next["seq"].as_u64(), next["prev"].as_u64()),
        (Some(5), Some(2))
    );
    let (_, _, history) = WsClient::join(&app.ws("/ws/customer/as-2")).await;
    assert_eq!(seqs(&history), [1, 2, 5]);
    assert!(!history.to_string().contains("VIP"));

    // Back to the queue, and the change survives a restart.
    let (status, body) = post_assign(&app, "as-2", &team.ada.1, json!({"agent_id": null})).await;
    assert_eq!((status, &body["assignee"]), (200, &Value::Null));
    let ada_cookie = team.ada.1.clone();
    let app = app.restart().await;
    assert_eq!(
        ids(&listed(&app, &ada_cookie, "view=unassigned").await),
        ["as-2"]
    );
    let (_, welcome) = agent_socket(&app, "as-2", &ada_cookie).await;
    assert_eq!(welcome["assignee"], Value::Null);
}

on_each_backend! {
    async fn bad_assignments_are_refused_and_change_nothing() {
        let app = spawn_app().await;
        let team = team(&app).await;
        let mut customer = customer_writes(&app, "as-3").await;
        let refused = |body: Value| post_assign(&app, "as-3", &team.ada.1, body);
        assert_eq!(
            refused(json!({"agent_id": 999})).await.0,
            400,
            "no such agent"
        );
        assert_eq!(refused(json!({})).await.0, 400, "agent_id is required");
        assert_eq!(refused(json!({"agent_id": "ben"})).await.0, 400);
        assert_eq!(
            refused(json!({"agent_id": team.ben.0, "note": ""})).await.0,
            400
        );
        assert_eq!(
            post_assign(
                &app,
                "nobody-here",
                &team.ada.1,
                json!({"agent_id": team.ben.0})
            )
            .await
            .0,
            404
        );
        let disabled = http_client()
            .patch(app.http(&format!("/api/agents/{}", team.ben.0)))
            .header("cookie", &team.ada.1)
            .header("origin", app.http(""))
            .json(&json!({"disabled": true}))
            .send()
            .await
            .expect("PATCH agent");
        assert_eq!(disabled.status(), 200);
        assert_eq!(
            refused(json!({"agent_id": team.ben.0})).await.0,
            400,
            "disabled"
        );

        customer
            .send_json(json!({"type":"assign","agent_id":team.ada.0}))
            .await;
        assert_eq!(customer.wait_for("error").await["code"], "forbidden");
        let (_, welcome) = agent_socket(&app, "as-3", &team.ada.1).await;
        assert_eq!(welcome["assignee"], Value::Null);
        assert_eq!(welcome["last_seq"], 1, "no event was recorded");
    }
}
