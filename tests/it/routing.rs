//! Availability and automatic assignment (issue 13): round robin and least
//! busy among online agents below their capacity, the queue drained when an
//! agent frees up, away by hand and after idle time, the offline grace
//! time, and the customer's "agent online".

use std::time::Duration;

use serde_json::{json, Value};

use crate::audit::entries;
use crate::common::on_each_backend;
use crate::common::{eventually, http_client, spawn_app_with, TestApp, WsClient};

const WAIT: Duration = Duration::from_secs(10);

pub(crate) struct Agent {
    pub(crate) id: i64,
    pub(crate) cookie: String,
}

/// The admin (Ada) and `names` invited; agent ids and cookies, Ada first.
pub(crate) async fn team(app: &TestApp, names: &[&str]) -> Vec<Agent> {
    let cookie = app.admin_cookie().await;
    let me: Value = app
        .get_with("/api/me", &cookie)
        .await
        .json()
        .await
        .expect("JSON");
    let mut agents = vec![Agent {
        id: me["id"].as_i64().expect("an id"),
        cookie: cookie.clone(),
    }];
    for name in names {
        let email = format!("{}@example.com", name.to_lowercase());
        let (id, cookie) = app
            .invited_agent(&cookie, name, &email, "a long password 1")
            .await;
        agents.push(Agent { id, cookie });
    }
    agents
}

/// An agent's open console and the last roster it was sent.
pub(crate) struct Console {
    pub(crate) ws: WsClient,
    roster: Value,
}

impl Console {
    /// Waits until the roster shows `agent` with `status`.
    pub(crate) async fn roster_says(&mut self, agent: i64, status: &str) {
        let shows = |roster: &Value| {
            roster["agents"]
                .as_array()
                .and_then(|a| a.iter().find(|e| e["id"] == agent))
                .is_some_and(|e| e["status"] == status)
        };
        let waited = tokio::time::timeout(WAIT, async {
            while !shows(&self.roster) {
                let frame = self.ws.next_json().await;
                if frame["type"] == "agents" {
                    self.roster = frame;
                }
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "agent {agent} never {status}: {}",
            self.roster
        );
    }
}

/// An agent's open console; subscribed once its first roster came.
pub(crate) async fn console(app: &TestApp, agent: &Agent) -> Console {
    let mut ws = WsClient::connect_with_cookie(&app.ws("/ws/inbox"), &agent.cookie).await;
    let roster = ws.expect("agents").await;
    Console { ws, roster }
}

async fn customer_writes(app: &TestApp, id: &str) -> WsClient {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    customer.say("hello, anyone?", None).await;
    customer.wait_for("message").await;
    customer
}

async fn summary(app: &TestApp, id: &str) -> Value {
    let page: Value = http_client()
        .get(app.http(&format!("/api/conversations?search={id}")))
        .bearer_auth(crate::common::AGENT_TOKEN)
        .send()
        .await
        .expect("GET conversations")
        .json()
        .await
        .expect("JSON");
    page["items"]
        .as_array()
        .and_then(|items| items.iter().find(|s| s["client_id"] == id).cloned())
        .unwrap_or(Value::Null)
}

/// Waits until `id`'s assignee is `agent` (`None`: nobody).
pub(crate) async fn assigned(app: &TestApp, id: &str, agent: Option<i64>) -> Value {
    eventually(&format!("{id} assigned to {agent:?}"), WAIT, || async {
        let s = summary(app, id).await;
        (s["assignee"]["id"].as_i64() == agent).then_some(s)
    })
    .await
}

async fn set_capacity(app: &TestApp, admin: &Agent, agent: &Agent, capacity: u32) {
    let response = http_client()
        .put(app.http(&format!("/api/agents/{}/capacity", agent.id)))
        .header("cookie", &admin.cookie)
        .header("origin", app.http(""))
        .json(&json!({"capacity": capacity}))
        .send()
        .await
        .expect("PUT capacity");
    assert_eq!(response.status(), 200);
}

async fn resolve(app: &TestApp, id: &str) {
    let response = http_client()
        .post(app.http(&format!("/api/conversations/{id}/resolve")))
        .bearer_auth(crate::common::AGENT_TOKEN)
        .send()
        .await
        .expect("POST resolve");
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn round_robin_gives_each_online_agent_one_and_the_customer_sees_who_joined() {
    let app = spawn_app_with(&["--auto-assign", "round-robin"]).await;
    let agents = team(&app, &["Ben"]).await;
    let _ada = console(&app, &agents[0]).await;
    let _ben = console(&app, &agents[1]).await;

    let mut first = customer_writes(&app, "rr-1").await;
    let one = assigned(&app, "rr-1", Some(agents[0].id)).await.to_string();
    let joined = first.wait_for("message").await;
    assert_eq!(joined["event"]["kind"], "joined");
    assert_eq!(joined["text"], "Ada Admin joined the conversation");
    customer_writes(&app, "rr-2").await;
    assigned(&app, "rr-2", Some(agents[1].id)).await;
    customer_writes(&app, "rr-3").await;
    assigned(&app, "rr-3", Some(agents[0].id)).await;
    assert!(one.contains("Ada Admin"));

    // The agents' history says it was automatic.
    let (_, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/rr-2")).await;
    assert_eq!(
        history["messages"][1]["text"],
        "Assigned to Ben automatically"
    );
    assert_eq!(history["messages"][1]["event"]["by"], Value::Null);
    // The audit log says so too: the server assigned it, from nowhere.
    let audit = entries(&app, &agents[0].cookie).await;
    let assigned: Vec<&Value> = audit
        .iter()
        .filter(|e| e["action"] == "assign" && e["target"] == "conversation:rr-2")
        .collect();
    assert_eq!(assigned.len(), 1, "{audit:#?}");
    assert_eq!(assigned[0]["actor"], "server");
    assert_eq!(assigned[0]["ip"], Value::Null);
    assert_eq!(assigned[0]["detail"], format!("to agent:{}", agents[1].id));
}

on_each_backend! {
    async fn a_full_agent_leaves_the_rest_queued_oldest_first_until_they_free_up() {
        let app = spawn_app_with(&["--auto-assign", "least-busy"]).await;
        let agents = team(&app, &[]).await;
        let ada = &agents[0];
        set_capacity(&app, ada, ada, 1).await;
        let _console = console(&app, ada).await;

        customer_writes(&app, "cap-1").await;
        assigned(&app, "cap-1", Some(ada.id)).await;
        customer_writes(&app, "cap-2").await;
        customer_writes(&app, "cap-3").await;
        // Ada is full: both wait in the queue (the Unassigned view).
        let queue: Value = http_client()
            .get(app.http("/api/conversations?view=unassigned&status=open"))
            .header("cookie", &ada.cookie)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("JSON");
        assert_eq!(queue["views"]["unassigned"], 2);
        assert_eq!(summary(&app, "cap-2").await["assignee"], Value::Null);

        // Resolving frees her: the longest wait (cap-2) is hers now, not cap-3.
        resolve(&app, "cap-1").await;
        assigned(&app, "cap-2", Some(ada.id)).await;
        assert_eq!(summary(&app, "cap-3").await["assignee"], Value::Null);

        // A raise of her capacity gives her the rest at once.
        set_capacity(&app, ada, ada, 5).await;
        assigned(&app, "cap-3", Some(ada.id)).await;
    }
}

#[actix_web::test]
async fn least_busy_prefers_the_agent_with_fewer_open_conversations() {
    let app = spawn_app_with(&["--auto-assign", "least-busy"]).await;
    let agents = team(&app, &["Ben"]).await;
    let _ada = console(&app, &agents[0]).await;
    customer_writes(&app, "lb-1").await;
    customer_writes(&app, "lb-2").await;
    assigned(&app, "lb-1", Some(agents[0].id)).await;
    assigned(&app, "lb-2", Some(agents[0].id)).await;
    let _ben = console(&app, &agents[1]).await;
    customer_writes(&app, "lb-3").await;
    assigned(&app, "lb-3", Some(agents[1].id)).await;
    customer_writes(&app, "lb-4").await;
    assigned(&app, "lb-4", Some(agents[1].id)).await;
}

#[actix_web::test]
async fn an_away_agent_gets_nothing_and_colleagues_and_customers_see_it() {
    let app = spawn_app_with(&["--auto-assign", "round-robin"]).await;
    let agents = team(&app, &["Ben"]).await;
    let mut ada = console(&app, &agents[0]).await;
    let mut ben = console(&app, &agents[1]).await;
    ben.roster_says(agents[0].id, "online").await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/away-1")).await;
    assert_eq!(welcome["peer_online"], true, "an agent is online");

    ada.ws
        .send_json(json!({"type":"status","value":"away"}))
        .await;
    ben.ws
        .send_json(json!({"type":"status","value":"away"}))
        .await;
    ben.roster_says(agents[0].id, "away").await;
    ben.roster_says(agents[1].id, "away").await;
    let presence = customer.wait_for("presence").await;
    assert_eq!(
        presence["online"], false,
        "nobody online: the customer is told"
    );

    customer.say("hello?", None).await;
    customer.wait_for("message").await;
    ada.ws
        .send_json(json!({"type":"status","value":"bogus"}))
        .await;
    assert_eq!(ada.ws.wait_for("error").await["code"], "invalid_frame");
    assert_eq!(summary(&app, "away-1").await["assignee"], Value::Null);

    ben.ws
        .send_json(json!({"type":"status","value":"online"}))
        .await;
    assert_eq!(customer.wait_for("presence").await["online"], true);
    assigned(&app, "away-1", Some(agents[1].id)).await;
}

#[actix_web::test]
async fn an_idle_console_turns_away_and_activity_brings_it_back() {
    let app = spawn_app_with(&["--auto-assign", "round-robin", "--away-after", "300ms"]).await;
    let agents = team(&app, &["Ben"]).await;
    let mut ada = console(&app, &agents[0]).await;
    let mut ben = console(&app, &agents[1]).await;
    ben.roster_says(agents[0].id, "away").await;
    ada.ws.send_json(json!({"type":"active"})).await;
    ben.roster_says(agents[0].id, "online").await;
}

#[actix_web::test]
async fn an_offline_agents_conversations_go_back_to_the_queue_after_the_grace_time() {
    let app = spawn_app_with(&["--auto-assign", "round-robin", "--offline-grace", "300ms"]).await;
    let agents = team(&app, &["Ben"]).await;
    let ada = console(&app, &agents[0]).await;
    customer_writes(&app, "grace-1").await;
    assigned(&app, "grace-1", Some(agents[0].id)).await;

    ada.ws.close().await;
    let mut ben = console(&app, &agents[1]).await;
    ben.roster_says(agents[0].id, "offline").await;
    // Back in the queue, then Ben, the one online, gets it.
    assigned(&app, "grace-1", Some(agents[1].id)).await;
    let (_, _, history) = WsClient::join(&app.ws_as_agent("/ws/agent/grace-1")).await;
    let texts: Vec<&str> = history["messages"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        texts,
        [
            "hello, anyone?",
            "Assigned to Ada Admin automatically",
            "Ada Admin went offline; back in the queue",
            "Assigned to Ben automatically",
        ]
    );
}

#[actix_web::test]
async fn an_agent_back_within_the_grace_time_keeps_their_conversations() {
    let app = spawn_app_with(&["--auto-assign", "round-robin", "--offline-grace", "1s"]).await;
    let agents = team(&app, &["Ben"]).await;
    let ada = console(&app, &agents[0]).await;
    let mut customer = customer_writes(&app, "grace-2").await;
    assigned(&app, "grace-2", Some(agents[0].id)).await;
    assert_eq!(
        customer.wait_for("message").await["event"]["kind"],
        "joined"
    );
    ada.ws.close().await;
    let mut ben = console(&app, &agents[1]).await;
    ben.roster_says(agents[0].id, "offline").await;
    let _ada = console(&app, &agents[0]).await;
    ben.roster_says(agents[0].id, "online").await;
    // Nobody was online for a moment; Ben is now.
    while !customer.wait_for("presence").await["online"]
        .as_bool()
        .unwrap_or(false)
    {}
    // Well past the grace time of the first console's close, nobody else
    // joined the customer's conversation: it is still Ada's.
    customer.expect_silence(Duration::from_millis(1500)).await;
    assert_eq!(
        summary(&app, "grace-2").await["assignee"]["id"],
        agents[0].id
    );
}

#[actix_web::test]
async fn after_a_restart_an_agent_who_does_not_come_back_loses_their_conversations() {
    let app = spawn_app_with(&["--auto-assign", "round-robin", "--offline-grace", "300ms"]).await;
    let agents = team(&app, &["Ben"]).await;
    let ada = console(&app, &agents[0]).await;
    customer_writes(&app, "restart-1").await;
    assigned(&app, "restart-1", Some(agents[0].id)).await;
    drop(ada);
    let app = app.restart().await;
    // Only Ben comes back.
    let _ben = console(&app, &agents[1]).await;
    assigned(&app, "restart-1", Some(agents[1].id)).await;
}
