//! The shared desk (issue 13): saved replies and labels over the API; a
//! conversation's labels in its summary, pushed to consoles, and the list
//! filtered by label.

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{http_client, spawn_app, TestApp, WsClient, AGENT_TOKEN};

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call_as(app, method, path, body, None).await
}

/// As the service token, or with `cookie` (and this server's Origin).
async fn call_as(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    cookie: Option<&str>,
) -> (u16, Value) {
    let mut request = http_client().request(method, app.http(path));
    request = match cookie {
        Some(cookie) => request
            .header("cookie", cookie)
            .header("origin", app.http("")),
        None => request.bearer_auth(AGENT_TOKEN),
    };
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

use reqwest::Method;

on_each_backend! {
    async fn the_team_saves_replies_by_shortcut() {
        let app = spawn_app().await;
        let (status, reply) = call(
            &app,
            Method::POST,
            "/api/replies",
            Some(json!({"shortcut":"/Refund","name":"Refund policy","text":"Refunds take 5 days."})),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(
            reply["shortcut"], "refund",
            "kept without the slash, lowercase"
        );
        let again = json!({"shortcut":"REFUND","name":"Other","text":"x"});
        assert_eq!(
            call(&app, Method::POST, "/api/replies", Some(again))
                .await
                .0,
            409
        );
        for bad in [
            json!({"shortcut":"has space","name":"n","text":"t"}),
            json!({"shortcut":"ok","name":" ","text":"t"}),
            json!({"shortcut":"ok","name":"n","text":"  "}),
            json!({"shortcut":"ok","name":"n"}),
        ] {
            assert_eq!(
                call(&app, Method::POST, "/api/replies", Some(bad.clone()))
                    .await
                    .0,
                400,
                "{bad}"
            );
        }
        call(
            &app,
            Method::POST,
            "/api/replies",
            Some(json!({"shortcut":"hello","name":"Greeting","text":"Hi! How can I help?"})),
        )
        .await;
        let (_, listed) = call(&app, Method::GET, "/api/replies", None).await;
        let shortcuts: Vec<&str> = listed["replies"]
            .as_array()
            .expect("replies")
            .iter()
            .map(|r| r["shortcut"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(shortcuts, ["hello", "refund"]);
        let path = format!("/api/replies/{}", reply["id"]);
        assert_eq!(call(&app, Method::DELETE, &path, None).await.0, 204);
        assert_eq!(call(&app, Method::DELETE, &path, None).await.0, 404);
        let anonymous = http_client()
            .get(app.http("/api/replies"))
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status(), 401);
    }
}

on_each_backend! {
    async fn admins_define_labels_agents_put_them_on_and_the_inbox_filters_by_them() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (_, agent) = app
            .invited_agent(&admin, "Ben", "ben@example.com", "ben password 1")
            .await;
        let label = |name: &str, color: &str| json!({"name": name, "color": color});
        let (status, vip) = call_as(
            &app,
            Method::POST,
            "/api/labels",
            Some(label("VIP", "#FFAA00")),
            Some(&admin),
        )
        .await;
        assert_eq!(status, 201);
        assert_eq!(vip["color"], "#ffaa00");
        let refused = call_as(
            &app,
            Method::POST,
            "/api/labels",
            Some(label("x", "#000000")),
            Some(&agent),
        )
        .await;
        assert_eq!(refused.0, 403, "only admins define labels");
        assert_eq!(
            call_as(
                &app,
                Method::POST,
                "/api/labels",
                Some(label("vip", "#000000")),
                Some(&admin)
            )
            .await
            .0,
            409
        );
        assert_eq!(
            call_as(
                &app,
                Method::POST,
                "/api/labels",
                Some(label("Red", "red")),
                Some(&admin)
            )
            .await
            .0,
            400
        );
        let (_, billing) = call_as(
            &app,
            Method::POST,
            "/api/labels",
            Some(label("Billing", "#0055ff")),
            Some(&admin),
        )
        .await;

        for id in ["lab-1", "lab-2"] {
            let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
            customer.say("hi", None).await;
            customer.wait_for("message").await;
        }
        let mut inbox = WsClient::connect_with_cookie(&app.ws("/ws/inbox"), &agent).await;
        inbox.send_json(json!({"type":"list"})).await;
        inbox.wait_for("conversations").await;

        let change = json!({"add": ["vip", billing["id"]]});
        let (status, body) = call_as(
            &app,
            Method::POST,
            "/api/conversations/lab-1/labels",
            Some(change),
            Some(&agent),
        )
        .await;
        assert_eq!(status, 200);
        let names: Vec<&str> = body["labels"]
            .as_array()
            .expect("labels")
            .iter()
            .map(|l| l["name"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["Billing", "VIP"]);
        let pushed = loop {
            let frame = inbox.wait_for("conversation").await;
            if frame["conversation"]["client_id"] == "lab-1" {
                break frame;
            }
        };
        assert_eq!(
            pushed["conversation"]["labels"].as_array().map(Vec::len),
            Some(2)
        );

        let ids = |page: &Value| -> Vec<String> {
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["client_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        assert_eq!(
            ids(
                &call(&app, Method::GET, "/api/conversations?label=VIP", None)
                    .await
                    .1
            ),
            ["lab-1"]
        );
        let by_id = format!("/api/conversations?label={}", billing["id"]);
        assert_eq!(
            ids(&call(&app, Method::GET, &by_id, None).await.1),
            ["lab-1"]
        );
        inbox
            .send_json(json!({"type":"list","label": vip["id"], "request": 7}))
            .await;
        let page = loop {
            let frame = inbox.wait_for("conversations").await;
            if frame["request"] == 7 {
                break frame;
            }
        };
        assert_eq!(ids(&page), ["lab-1"]);
        assert_eq!(
            call(&app, Method::GET, "/api/conversations?label=nope", None)
                .await
                .0,
            400
        );

        let remove = json!({"remove": ["VIP"]});
        let (_, body) = call(
            &app,
            Method::POST,
            "/api/conversations/lab-1/labels",
            Some(remove),
        )
        .await;
        assert_eq!(body["labels"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/api/conversations/nobody/labels",
                Some(json!({"add":["VIP"]}))
            )
            .await
            .0,
            404
        );
        assert_eq!(
            call(
                &app,
                Method::POST,
                "/api/conversations/lab-2/labels",
                Some(json!({"add":["Nope"]}))
            )
            .await
            .0,
            400
        );

        let path = format!("/api/labels/{}", billing["id"]);
        assert_eq!(
            call_as(&app, Method::DELETE, &path, None, Some(&admin))
                .await
                .0,
            204
        );
        let (_, page) = call(&app, Method::GET, "/api/conversations?search=lab-1", None).await;
        assert_eq!(
            page["items"][0]["labels"],
            json!([]),
            "a deleted label leaves every conversation"
        );
    }
}

/// Every endpoint that takes JSON answers a malformed body the same way:
/// 400 with the code `invalid_json`, and nothing changes.
#[actix_web::test]
async fn a_malformed_json_body_gets_invalid_json_everywhere() {
    let app = spawn_app().await;
    let admin = app.admin_cookie().await;
    let (_, _, _) = WsClient::join(&app.ws("/ws/customer/malformed")).await;
    let endpoints = [
        (Method::POST, "/api/replies"),
        (Method::POST, "/api/labels"),
        (Method::POST, "/api/conversations/malformed/labels"),
        (Method::POST, "/api/conversations/malformed/messages"),
        (Method::POST, "/api/conversations/malformed/assign"),
        (Method::PATCH, "/api/conversations/malformed/contact"),
        (Method::POST, "/api/agents"),
        (Method::PUT, "/api/agents/1/capacity"),
        (Method::POST, "/api/tokens"),
        (Method::PUT, "/api/me/alerts"),
    ];
    for (method, path) in endpoints {
        let response = http_client()
            .request(method.clone(), app.http(path))
            .header("cookie", &admin)
            .header("origin", app.http(""))
            .header("content-type", "application/json")
            .body("{\"name\": ")
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_json")),
            "{method} {path}: {text}"
        );
    }
    let (_, replies) = call(&app, Method::GET, "/api/replies", None).await;
    assert_eq!(replies["replies"], json!([]));
    let (_, labels) = call(&app, Method::GET, "/api/labels", None).await;
    assert_eq!(labels["labels"], json!([]));
}
