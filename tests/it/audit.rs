//! The audit log: each audited action leaves one entry with who, what, to
//! what and from which address; admins page through it newest first; no
//! one else reads it; and nothing can edit it, neither through any HTTP
//! method nor in the database itself (a trigger refuses every UPDATE).

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{
    eventually, http_client, spawn_app, TestApp, WsClient, ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD,
    AGENT_TOKEN,
};
use crate::db::TestDb;

async fn audit(app: &TestApp, cookie: &str, query: &str) -> reqwest::Response {
    app.get_with(&format!("/api/audit{query}"), cookie).await
}

/// The audit log's entries as `cookie`'s admin reads them, newest first.
pub(crate) async fn entries(app: &TestApp, cookie: &str) -> Vec<Value> {
    let page: Value = audit(app, cookie, "?limit=1000")
        .await
        .json()
        .await
        .expect("JSON");
    page["items"].as_array().expect("items").clone()
}

/// Each entry's action and its `field` (empty when it has none), newest
/// first.
pub(crate) async fn actions_with(
    app: &TestApp,
    cookie: &str,
    field: &str,
) -> Vec<(String, String)> {
    let text = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_owned();
    entries(app, cookie)
        .await
        .iter()
        .map(|e| (text(e, "action"), text(e, field)))
        .collect()
}

/// The entry of `action`, checking there is exactly one.
fn one<'a>(entries: &'a [Value], action: &str) -> &'a Value {
    let found: Vec<&Value> = entries.iter().filter(|e| e["action"] == action).collect();
    assert_eq!(found.len(), 1, "one {action} entry in {entries:#?}");
    found[0]
}

on_each_backend! {
    async fn every_audited_action_leaves_one_entry_with_who_what_and_where() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        assert_eq!(
            app.login(ADMIN_EMAIL, "not the password").await.status(),
            401
        );
        let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(login.status(), 200);
        let (agent_id, agent) = app
            .invited_agent(&admin, "Bo Agent", "bo@example.com", "bo's password 1")
            .await;
        let client = http_client();
        let patch = |body: Value| {
            client
                .patch(app.http(&format!("/api/agents/{agent_id}")))
                .header("cookie", admin.clone())
                .json(&body)
                .send()
        };
        assert_eq!(
            patch(json!({"role": "admin"}))
                .await
                .expect("PATCH")
                .status(),
            200
        );
        assert_eq!(
            patch(json!({"role": "agent"}))
                .await
                .expect("PATCH")
                .status(),
            200
        );
        let token: Value = client
            .post(app.http("/api/tokens"))
            .header("cookie", &agent)
            .json(&json!({"name": "bot"}))
            .send()
            .await
            .expect("POST /api/tokens")
            .json()
            .await
            .expect("JSON");
        let deleted = client
            .delete(app.http(&format!("/api/tokens/{}", token["id"])))
            .header("cookie", &agent)
            .send()
            .await
            .expect("DELETE token");
        assert_eq!(deleted.status(), 204);

        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/audited-1")).await;
        customer.say("hello", Some("h-1")).await;
        customer.wait_for("message").await;
        let resolved = client
            .post(app.http("/api/conversations/audited-1/resolve"))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .expect("resolve");
        assert_eq!(resolved.status(), 200);
        // Recorded after the answer, as the reopen below is: wait for it, or
        // the two records may land in either order.
        eventually("the resolve entry", Duration::from_secs(10), || async {
            let entries = entries(&app, &admin).await;
            entries
                .iter()
                .any(|e| e["action"] == "resolve")
                .then_some(())
        })
        .await;
        let (mut console, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/audited-1")).await;
        console.send_json(json!({"type": "reopen"})).await;
        customer.wait_for("status").await;
        // The session records a status change after it happened: wait for it,
        // so the order below is the order of the actions.
        eventually("the reopen entry", Duration::from_secs(10), || async {
            let entries = entries(&app, &admin).await;
            entries
                .iter()
                .any(|e| e["action"] == "reopen")
                .then_some(())
        })
        .await;
        assert_eq!(
            patch(json!({"disabled": true}))
                .await
                .expect("PATCH")
                .status(),
            200
        );
        let logout = client
            .post(app.http("/agent/logout"))
            .header("cookie", session_of(&login))
            .send()
            .await
            .expect("logout");
        assert_eq!(logout.status(), 303);

        let entries = entries(&app, &admin).await;
        let actions: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert_eq!(
            actions,
            [
                "logout",
                "disable",
                "reopen",
                "resolve",
                "token_deleted",
                "token_created",
                "role_change",
                "role_change",
                "invite_accepted",
                "invite",
                "login",
                "login_failed",
                "setup",
            ],
            "newest first, one entry per action"
        );
        for entry in &entries {
            assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
            assert!(entry["at"].is_string(), "{entry}");
        }
        let failed = one(&entries, "login_failed");
        assert_eq!(failed["actor"], ADMIN_EMAIL);
        assert_eq!(failed["agent_id"], Value::Null);
        assert!(!failed.to_string().contains("not the password"));
        assert_eq!(
            one(&entries, "invite")["target"],
            format!("agent:{agent_id}")
        );
        assert_eq!(one(&entries, "invite")["actor"], ADMIN_NAME);
        assert_eq!(
            one(&entries, "disable")["target"],
            format!("agent:{agent_id}")
        );
        assert_eq!(one(&entries, "token_created")["actor"], "Bo Agent");
        assert_eq!(one(&entries, "token_created")["detail"], "bot");
        assert_eq!(one(&entries, "resolve")["actor"], "API");
        assert_eq!(one(&entries, "resolve")["target"], "conversation:audited-1");
        assert_eq!(one(&entries, "reopen")["target"], "conversation:audited-1");
        console.close().await;
        customer.close().await;
        app.stop().await;
    }
}

fn session_of(response: &reqwest::Response) -> String {
    crate::common::session_cookie(response)
}

on_each_backend! {
    async fn only_admins_read_the_audit_log_in_pages_and_nothing_edits_it() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (_, agent) = app
            .invited_agent(&admin, "Cy Agent", "cy@example.com", "cy's password 1")
            .await;
        for _ in 0..3 {
            assert_eq!(app.login("cy@example.com", "wrong").await.status(), 401);
        }
        assert_eq!(
            audit(&app, &agent, "").await.status(),
            403,
            "agents may not"
        );
        assert_eq!(app.get("/api/audit").await.status(), 401);

        let all = entries(&app, &admin).await;
        assert_eq!(all.len(), 6, "setup, invite, accepted, three failures");
        let first: Value = audit(&app, &admin, "?limit=4")
            .await
            .json()
            .await
            .expect("JSON");
        let cursor = first["next_cursor"].as_str().expect("a next page");
        let second: Value = audit(&app, &admin, &format!("?limit=4&cursor={cursor}"))
            .await
            .json()
            .await
            .expect("JSON");
        let paged: Vec<Value> = [&first, &second]
            .iter()
            .flat_map(|p| p["items"].as_array().expect("items").clone())
            .collect();
        assert_eq!(paged, all, "two pages hold every entry once, in order");
        assert_eq!(second["next_cursor"], Value::Null);
        assert_eq!(audit(&app, &admin, "?cursor=x").await.status(), 400);

        let client = http_client();
        let id = all[0]["id"].as_i64().expect("an id");
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            for path in ["/api/audit".to_owned(), format!("/api/audit/{id}")] {
                let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
                let response = client
                    .request(method.clone(), app.http(&path))
                    .header("cookie", &admin)
                    .json(&json!({"action": "nothing happened"}))
                    .send()
                    .await
                    .expect("request");
                assert!(
                    [404, 405].contains(&response.status().as_u16()),
                    "{method} {path} answers {}",
                    response.status()
                );
            }
        }
        assert_eq!(entries(&app, &admin).await, all, "unchanged");

        let edited = TestDb::open(&app)
            .await
            .try_execute("UPDATE audit_log SET actor = 'someone else'", &[])
            .await;
        let err = edited.expect_err("the database refuses to edit the audit log");
        assert!(err.contains("append-only"), "{err}");
        assert_eq!(entries(&app, &admin).await, all, "still unchanged");
        app.stop().await;
    }
}

/// The entries of `action`, checking there is exactly one, made by `actor`
/// from the test's address; its target and detail.
fn by(entries: &[Value], action: &str, actor: &str) -> (Value, Value) {
    let entry = one(entries, action);
    assert_eq!(entry["actor"], actor, "{entry}");
    assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    (entry["target"].clone(), entry["detail"].clone())
}

on_each_backend! {
    async fn assignments_and_desk_settings_leave_one_entry_each_that_nothing_edits() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (bo, _) = app
            .invited_agent(&admin, "Bo Agent", "bo@example.com", "bo's password 1")
            .await;
        let (cy, cy_cookie) = app
            .invited_agent(&admin, "Cy Agent", "cy@example.com", "cy's password 1")
            .await;
        let client = http_client();
        let call = |method: reqwest::Method, path: &str, cookie: &str, body: Option<Value>| {
            let request = client
                .request(method, app.http(path))
                .header("cookie", cookie.to_owned())
                .header("origin", app.http(""));
            match body {
                Some(body) => request.json(&body).send(),
                None => request.send(),
            }
        };
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/audited-2")).await;
        customer.say("hello", Some("h-1")).await;
        customer.wait_for("message").await;
        let assign = "/api/conversations/audited-2/assign";
        for to in [json!(bo), json!(cy), Value::Null] {
            let body = json!({"agent_id": to});
            let response = call(reqwest::Method::POST, assign, &admin, Some(body)).await;
            assert_eq!(response.expect("assign").status(), 200);
        }
        let capacity = format!("/api/agents/{cy}/capacity");
        let body = json!({"capacity": 7});
        let response = call(reqwest::Method::PUT, &capacity, &admin, Some(body)).await;
        assert_eq!(response.expect("capacity").status(), 200);

        let body = json!({"name": "VIP", "color": "#aa00ff"});
        let label: Value = call(reqwest::Method::POST, "/api/labels", &admin, Some(body))
            .await
            .expect("POST label")
            .json()
            .await
            .expect("JSON");
        let labels = "/api/conversations/audited-2/labels";
        for change in [json!({"add": ["VIP"]}), json!({"remove": [label["id"]]})] {
            let response = call(reqwest::Method::POST, labels, &cy_cookie, Some(change)).await;
            assert_eq!(response.expect("labels").status(), 200);
        }
        let path = format!("/api/labels/{}", label["id"]);
        let response = call(reqwest::Method::DELETE, &path, &admin, None).await;
        assert_eq!(response.expect("DELETE label").status(), 204);
        let body = json!({"shortcut": "hi", "name": "Hello", "text": "Hello there"});
        let reply: Value = call(
            reqwest::Method::POST,
            "/api/replies",
            &cy_cookie,
            Some(body),
        )
        .await
        .expect("POST reply")
        .json()
        .await
        .expect("JSON");
        let path = format!("/api/replies/{}", reply["id"]);
        let response = call(reqwest::Method::DELETE, &path, &cy_cookie, None).await;
        assert_eq!(response.expect("DELETE reply").status(), 204);

        // The session records assignments after they happened.
        let entries = eventually("the unassign entry", Duration::from_secs(10), || async {
            let entries = entries(&app, &admin).await;
            entries
                .iter()
                .any(|e| e["action"] == "unassign")
                .then_some(entries)
        })
        .await;
        let conversation = json!("conversation:audited-2");
        let (bo, cy) = (format!("agent:{bo}"), format!("agent:{cy}"));
        assert_eq!(
            by(&entries, "assign", ADMIN_NAME),
            (conversation.clone(), json!(format!("to {bo}")))
        );
        assert_eq!(
            by(&entries, "transfer", ADMIN_NAME),
            (conversation.clone(), json!(format!("from {bo} to {cy}")))
        );
        assert_eq!(
            by(&entries, "unassign", ADMIN_NAME),
            (conversation.clone(), json!(format!("from {cy}")))
        );
        assert_eq!(
            by(&entries, "capacity_change", ADMIN_NAME),
            (json!(cy), json!("capacity 7"))
        );
        let label = json!(format!("label:{}", label["id"]));
        let created = by(&entries, "label_created", ADMIN_NAME);
        assert_eq!(created.0, label);
        assert_eq!(
            by(&entries, "label_added", "Cy Agent"),
            (conversation.clone(), label.clone())
        );
        assert_eq!(
            by(&entries, "label_removed", "Cy Agent"),
            (conversation.clone(), label.clone())
        );
        assert_eq!(by(&entries, "label_deleted", ADMIN_NAME).0, label);
        let reply = json!(format!("reply:{}", reply["id"]));
        assert_eq!(by(&entries, "reply_created", "Cy Agent").0, reply);
        assert_eq!(by(&entries, "reply_deleted", "Cy Agent").0, reply);

        let id = entries[0]["id"].as_i64().expect("an id");
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let body = json!({"action": "nothing happened"});
            let response = call(
                method.clone(),
                &format!("/api/audit/{id}"),
                &admin,
                Some(body),
            )
            .await;
            let status = response.expect("request").status().as_u16();
            assert!([404, 405].contains(&status), "{method} answers {status}");
        }
        assert_eq!(self::entries(&app, &admin).await, entries, "unchanged");
        customer.close().await;
        app.stop().await;
    }
}
