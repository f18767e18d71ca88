//! Agent accounts over HTTP: the setup link, invites and password resets,
//! the team rules, and the service token beside them. Sessions, tokens and
//! their revocation are in `sessions`; the helpers here serve both.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{
    http_client, session_cookie, spawn_app, TestApp, WsClient, ADMIN_EMAIL, ADMIN_NAME,
    ADMIN_PASSWORD, AGENT_TOKEN,
};

/// How soon an open socket must close after its credential is revoked.
pub(crate) const REVOCATION_DEADLINE: Duration = Duration::from_secs(1);

/// A JSON request as this server's own pages send it (same origin).
pub(crate) async fn send_json(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    body: Value,
) -> reqwest::Response {
    http_client()
        .request(method, app.http(path))
        .header("cookie", cookie)
        .header("origin", format!("http://{}", app.addr))
        .json(&body)
        .send()
        .await
        .expect("request")
}

pub(crate) async fn me(app: &TestApp, cookie: &str) -> Value {
    let response = app.get_with("/api/me", cookie).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

/// Waits for the socket's close frame; its code, and how long it took.
pub(crate) async fn closed_within(socket: &mut WsClient, deadline: Duration) -> Option<u16> {
    let started = Instant::now();
    let code = tokio::time::timeout(deadline, socket.expect_close())
        .await
        .unwrap_or_else(|_| panic!("the socket was not closed within {deadline:?}"));
    assert!(started.elapsed() <= deadline);
    code
}

on_each_backend! {
    async fn the_setup_link_makes_one_admin_once_and_survives_a_restart() {
        let app = spawn_app().await;
        let first_code = app.setup_code();
        let page = app.get(&format!("/setup?code={first_code}")).await;
        assert_eq!(page.status(), 200);
        assert_eq!(app.get("/setup?code=wrong").await.status(), 403);

        let app = app.restart().await;
        let second_code = app.setup_code();
        assert_ne!(first_code, second_code, "each start logs a link");
        let setup = |code: String| {
            let url = app.http("/setup");
            async move {
                http_client()
                    .post(url)
                    .json(&json!({"code": code, "name": ADMIN_NAME,
                                  "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
                    .send()
                    .await
                    .expect("POST /setup")
            }
        };
        assert_eq!(setup("wrong".into()).await.status(), 403);
        let made = setup(first_code.clone()).await;
        assert_eq!(
            made.status(),
            201,
            "the link printed before the restart works"
        );
        let cookie = session_cookie(&made);
        assert_eq!(me(&app, &cookie).await["role"], "admin");

        assert_eq!(setup(first_code).await.status(), 403, "used");
        assert_eq!(setup(second_code).await.status(), 403, "used with it");
        let app = app.restart().await;
        assert!(app.setup_url.is_none(), "no link once an agent exists");
        assert_eq!(
            me(&app, &cookie).await["name"],
            ADMIN_NAME,
            "a restart logs nobody out"
        );
    }
}

on_each_backend! {
    async fn an_invited_agent_sets_a_password_logs_in_and_is_who_the_api_says() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let invite: Value = send_json(
            &app,
            reqwest::Method::POST,
            "/api/agents",
            &admin,
            json!({"name": "Bea", "email": "Bea@Example.com", "role": "agent"}),
        )
        .await
        .json()
        .await
        .expect("JSON");
        let url = invite["invite_url"].as_str().expect("an invite link");
        assert!(url.starts_with(&app.http("/invite/")), "{url}");
        let page = http_client().get(url).send().await.expect("invite page");
        assert_eq!(page.status(), 200);
        assert!(page.text().await.expect("text").contains("Bea"));

        let accepted = http_client()
            .post(url)
            .json(&json!({"password": "bea's password", "name": "Bea Li"}))
            .send()
            .await
            .expect("accept");
        assert_eq!(accepted.status(), 200);
        assert_eq!(me(&app, &session_cookie(&accepted)).await["name"], "Bea Li");
        let again = http_client()
            .post(url)
            .json(&json!({"password": "another password"}))
            .send()
            .await
            .expect("accept again");
        assert_eq!(again.status(), 403, "an invite works once");

        let login = app.login("bea@example.COM", "bea's password").await;
        assert_eq!(login.status(), 200, "emails ignore case");
        let cookie = session_cookie(&login);
        let who = me(&app, &cookie).await;
        assert_eq!(
            (who["email"].clone(), who["role"].clone()),
            (json!("bea@example.com"), json!("agent"))
        );
        assert_eq!(who["id"], invite["id"]);

        let taken = send_json(
            &app,
            reqwest::Method::POST,
            "/api/agents",
            &admin,
            json!({"name": "Bea 2", "email": "BEA@example.com", "role": "agent"}),
        )
        .await;
        assert_eq!(taken.status(), 409, "one account per email");
    }
}

on_each_backend! {
    async fn the_last_admin_can_be_neither_demoted_nor_disabled() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let admin_id = me(&app, &admin).await["id"].clone();
        let path = format!("/api/agents/{admin_id}");
        for change in [json!({"role": "agent"}), json!({"disabled": true})] {
            let refused = send_json(&app, reqwest::Method::PATCH, &path, &admin, change.clone()).await;
            assert_eq!(refused.status(), 409, "{change}");
        }
        let (bea, bea_cookie) = app
            .invited_agent(&admin, "Bea", "bea@example.com", "bea password!")
            .await;
        let promote = send_json(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{bea}"),
            &bea_cookie,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(
            promote.status(),
            403,
            "an agent cannot make themselves admin"
        );
        let rename = send_json(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{bea}"),
            &bea_cookie,
            json!({"name": "Bea Li"}),
        )
        .await;
        assert_eq!(rename.status(), 200, "but renames themselves");

        let promote = send_json(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{bea}"),
            &admin,
            json!({"role": "admin"}),
        )
        .await;
        assert_eq!(promote.status(), 200);
        let demoted = send_json(
            &app,
            reqwest::Method::PATCH,
            &path,
            &admin,
            json!({"role": "agent"}),
        )
        .await;
        assert_eq!(demoted.status(), 200, "with another admin it may");
        assert_eq!(me(&app, &admin).await["role"], "agent", "at once");
        let last = send_json(
            &app,
            reqwest::Method::PATCH,
            &format!("/api/agents/{bea}"),
            &bea_cookie,
            json!({"disabled": true}),
        )
        .await;
        assert_eq!(last.status(), 409, "Bea is the last admin now");
    }
}

#[actix_web::test]
async fn the_service_token_still_acts_as_the_api_agent_for_the_api_and_sockets() {
    let app = spawn_app().await;
    let who: Value = app.agent_json("/api/me").await;
    assert_eq!(
        (who["id"].clone(), who["name"].clone()),
        (json!(0), json!("API"))
    );
    let (mut agent, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/s1")).await;
    assert_eq!(welcome["role"], "agent");
    agent.say("from the service token", None).await;
    assert_eq!(agent.wait_for("message").await["author"]["name"], "API");
    let refused = http_client()
        .post(app.http("/api/agents"))
        .bearer_auth(AGENT_TOKEN)
        .json(&json!({"name": "X", "email": "x@example.com", "role": "admin"}))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), 403, "it is no admin");
}

on_each_backend! {
    async fn a_new_invite_resets_the_password_and_ends_the_old_sessions() {
        let app = spawn_app().await;
        let admin = app.admin_cookie().await;
        let (bea, old) = app
            .invited_agent(&admin, "Bea", "bea@example.com", "bea password!")
            .await;
        let reset: Value = send_json(
            &app,
            reqwest::Method::POST,
            &format!("/api/agents/{bea}/invite"),
            &admin,
            json!({}),
        )
        .await
        .json()
        .await
        .expect("JSON");
        let url = reset["invite_url"].as_str().expect("a new link");
        let accepted = http_client()
            .post(url)
            .json(&json!({"password": "new bea password"}))
            .send()
            .await
            .expect("accept");
        assert_eq!(accepted.status(), 200);
        assert_eq!(app.get_with("/api/me", &old).await.status(), 401);
        assert_eq!(
            app.login("bea@example.com", "bea password!").await.status(),
            401
        );
        assert_eq!(
            app.login("bea@example.com", "new bea password")
                .await
                .status(),
            200
        );
    }
}
