//! Sessions and tokens over HTTP and WebSocket: login and its limits,
//! logout, log out everywhere, disabling, API tokens, cross-site writes,
//! and open sockets closed (4003) when their credential is revoked.

use std::time::Duration;

use serde_json::{json, Value};

use crate::accounts::{closed_within, me, send_json, REVOCATION_DEADLINE};
use crate::common::on_each_backend;
use crate::common::{
    eventually, http_client, session_cookie, spawn_app, spawn_app_with, WsClient, ADMIN_EMAIL,
    ADMIN_NAME, ADMIN_PASSWORD,
};

on_each_backend! {
    async fn disabling_an_agent_closes_their_open_inbox_at_once_and_refuses_the_next_request() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (bea, cookie) = app
            .invited_agent(&admin, "Bea", "bea@example.com", "bea password!")
            .await;
        let mut inbox = WsClient::connect_with_cookie(&app.ws("/ws/inbox"), &cookie).await;
        let mut admins_inbox = WsClient::connect_with_cookie(&app.ws("/ws/inbox"), &admin).await;

        let disabled = send_json(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{bea}"),
            &admin,
            json!({"disabled": true}),
        )
        .await;
        assert_eq!(disabled.status(), 200);
        assert_eq!(
            closed_within(&mut inbox, REVOCATION_DEADLINE).await,
            Some(4003)
        );
        assert_eq!(app.get_with("/api/me", &cookie).await.status(), 401);
        assert_eq!(
            app.login("bea@example.com", "bea password!").await.status(),
            401,
            "a disabled agent cannot log in"
        );
        admins_inbox
            .send_json(json!({"type": "list", "request": 1}))
            .await;
        // Roster frames (who is online) may come first.
        admins_inbox.wait_for("conversations").await;
    }
}

on_each_backend! {
    async fn logout_ends_the_session_so_a_replayed_cookie_is_refused() {
        let app = spawn_app().await;
        let cookie = app.admin_cookie().await;
        let other_session = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
        let mut console = WsClient::connect_with_cookie(&app.ws("/ws/agent/c1"), &cookie).await;
        console.expect("welcome").await;

        let logout = http_client()
            .post(app.http("/agent/logout"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("logout");
        assert_eq!(logout.status(), 303);
        assert_eq!(
            closed_within(&mut console, REVOCATION_DEADLINE).await,
            Some(4003)
        );
        assert_eq!(
            app.get_with("/api/me", &cookie).await.status(),
            401,
            "replayed"
        );
        assert_eq!(app.get_with("/agent", &cookie).await.status(), 303);
        assert_eq!(
            app.get_with("/api/me", &other_session).await.status(),
            200,
            "only this one"
        );
    }
}

on_each_backend! {
    async fn logout_everywhere_ends_every_session_of_the_agent_only() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (_, bea) = app
            .invited_agent(&admin, "Bea", "bea@example.com", "bea password!")
            .await;
        let phone = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
        let mut inbox = WsClient::connect_with_cookie(&app.ws("/ws/inbox"), &phone).await;

        let everywhere = http_client()
            .post(app.http("/agent/logout-everywhere"))
            .header("cookie", &admin)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .expect("logout everywhere");
        assert_eq!(everywhere.status(), 303);
        assert_eq!(
            closed_within(&mut inbox, REVOCATION_DEADLINE).await,
            Some(4003)
        );
        for cookie in [&admin, &phone] {
            assert_eq!(app.get_with("/api/me", cookie).await.status(), 401);
        }
        assert_eq!(app.get_with("/api/me", &bea).await.status(), 200);
    }
}

on_each_backend! {
    async fn api_tokens_are_shown_once_act_as_their_agent_and_stop_when_deleted() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let created = send_json(
            &app,
            reqwest::Method::POST,
            "/api/tokens",
            &admin,
            json!({"name": "crm bot"}),
        )
        .await;
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.expect("JSON");
        let token = created["token"]
            .as_str()
            .expect("the token, once")
            .to_owned();

        let as_bot = |path: &str| http_client().get(app.http(path)).bearer_auth(&token).send();
        let who: Value = as_bot("/api/me")
            .await
            .expect("me")
            .json()
            .await
            .expect("JSON");
        assert_eq!(who["name"], ADMIN_NAME);
        let reply = http_client()
            .post(app.http("/api/conversations/t1/messages"))
            .bearer_auth(&token)
            .json(&json!({"text": "hello from the bot"}))
            .send()
            .await
            .expect("post");
        assert_eq!(reply.status(), 201);
        let reply: Value = reply.json().await.expect("JSON");
        assert_eq!(reply["author"]["name"], ADMIN_NAME);
        let mut socket = WsClient::connect(&app.ws(&format!("/ws/inbox?token={token}"))).await;

        let listed: Value = app.get_with("/api/tokens", &admin)
            .await
            .json()
            .await
            .expect("JSON");
        let listed = &listed["tokens"][0];
        assert_eq!(listed["name"], "crm bot");
        assert!(
            listed["last_used"].is_string(),
            "its last use is kept: {listed}"
        );
        assert!(listed.get("token").is_none(), "never shown again");

        let id = created["id"].as_i64().expect("an id");
        let deleted = send_json(
            &app,
            reqwest::Method::DELETE,
            &format!("/api/tokens/{id}"),
            &admin,
            json!({}),
        )
        .await;
        assert_eq!(deleted.status(), 204);
        assert_eq!(
            closed_within(&mut socket, REVOCATION_DEADLINE).await,
            Some(4003)
        );
        assert_eq!(as_bot("/api/me").await.expect("me").status(), 401);
    }
}

#[actix_web::test]
async fn failed_logins_look_alike_and_too_many_get_429_with_retry_after() {
    let app = spawn_app().await;
    app.admin_cookie().await;
    let unknown = app.login("nobody@example.com", "whatever password").await;
    let wrong = app.login(ADMIN_EMAIL, "wrong password").await;
    assert_eq!(
        (unknown.status().as_u16(), wrong.status().as_u16()),
        (401, 401)
    );
    let unknown: Value = unknown.json().await.expect("JSON");
    let wrong: Value = wrong.json().await.expect("JSON");
    assert_eq!(unknown, wrong, "the same answer for both");

    let mut refused = None;
    for _ in 0..10 {
        let response = app.login(ADMIN_EMAIL, "wrong password").await;
        if response.status() == 429 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("429 after a few failures");
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!(retry > 0);
    let body: Value = refused.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "too_many_login_attempts");
    let right = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(
        right.status(),
        429,
        "not even the right password gets through"
    );
}

#[actix_web::test]
async fn cross_site_writes_with_a_valid_cookie_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_cookie().await;
    let evil = |method: reqwest::Method, path: &str| {
        http_client()
            .request(method, app.http(path))
            .header("cookie", &admin)
            .header("origin", "http://evil.example")
            .json(&json!({"name": "Mallory", "email": "m@evil.example", "role": "admin"}))
            .send()
    };
    for (method, path) in [
        (reqwest::Method::POST, "/api/agents"),
        (reqwest::Method::PATCH, "/api/agents/1"),
        (reqwest::Method::POST, "/api/agents/1/invite"),
        (reqwest::Method::POST, "/api/tokens"),
        (reqwest::Method::DELETE, "/api/tokens/1"),
        (reqwest::Method::POST, "/agent/logout-everywhere"),
        (reqwest::Method::POST, "/agent/logout"),
    ] {
        let response = evil(method.clone(), path).await.expect("request");
        assert_eq!(response.status(), 403, "{method} {path}");
    }
    let cross_site = http_client()
        .post(app.http("/api/tokens"))
        .header("cookie", &admin)
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), 403);
    let team: Value = app
        .get_with("/api/agents", &admin)
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        team["agents"].as_array().map(Vec::len),
        Some(1),
        "nobody was added"
    );
    assert_eq!(
        me(&app, &admin).await["name"],
        ADMIN_NAME,
        "still logged in"
    );
}

on_each_backend! {
    async fn a_session_in_use_outlives_its_idle_timeout_and_one_left_alone_does_not() {
        let app = spawn_app_with(&["--session-idle", "1s"]).await;
        let busy = app.admin_cookie().await;
        let idle = session_cookie(&app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await);
        let started = std::time::Instant::now();
        // The busy session is used all along; the idle one is only tried once
        // the busy one has lived three idle timeouts.
        eventually(
            "three idle timeouts of use",
            Duration::from_secs(10),
            || async {
                assert_eq!(
                    app.get_with("/api/me", &busy).await.status(),
                    200,
                    "in use"
                );
                (started.elapsed() > Duration::from_secs(3)).then_some(())
            },
        )
        .await;
        assert_eq!(app.get_with("/api/me", &idle).await.status(), 401, "idle");
    }
}

#[actix_web::test]
async fn a_session_ends_at_its_absolute_expiry_however_much_it_is_used() {
    let app = spawn_app_with(&["--session-max-age", "2s"]).await;
    let cookie = app.admin_cookie().await;
    assert_eq!(app.get_with("/api/me", &cookie).await.status(), 200);
    eventually("the session to expire", Duration::from_secs(10), || async {
        (app.get_with("/api/me", &cookie).await.status() == 401).then_some(())
    })
    .await;
    let login = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(login.status(), 200, "logging in again works");
}
