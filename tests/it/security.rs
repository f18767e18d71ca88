//! Security rules, each shown refusing the wrong thing and letting the
//! honest path through.

use crate::common::{
    eventually, spawn_app, spawn_app_with, TestApp, WsClient, ADMIN_EMAIL, ADMIN_PASSWORD,
    AGENT_TOKEN, FRAME_TIMEOUT,
};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, Request};
use tokio_tungstenite::tungstenite::Error as WsError;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) fn ws_request(url: &str, headers: &[(&'static str, &str)]) -> Request<()> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    request
}

/// Tries a WebSocket upgrade; `Ok` if it was accepted, else the HTTP status
/// and body of the refusal.
pub(crate) async fn try_upgrade(request: Request<()>) -> Result<WsClient, (u16, String)> {
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(WsClient { socket }),
        Err(WsError::Http(response)) => {
            let body = String::from_utf8(response.body().clone().unwrap_or_default()).unwrap();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

pub(crate) fn signature(secret: &str, id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[actix_web::test]
async fn the_agent_page_needs_credentials_and_accepts_each_kind() {
    let app = spawn_app().await;
    let http = client();
    let page = app.http("/chat/server/c1");

    let anonymous = http.get(&page).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(
        anonymous.headers()["location"],
        "/agent/login?next=%2Fchat%2Fserver%2Fc1"
    );
    let wrong = http.get(format!("{page}?token=nope")).send().await.unwrap();
    assert_eq!(wrong.status(), 303);
    let wrong_bearer = http.get(&page).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong_bearer.status(), 303);

    let by_query = http
        .get(format!("{page}?token={AGENT_TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
    let by_bearer = http
        .get(&page)
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(by_bearer.status(), 200);

    app.admin_cookie().await;
    let form = app.http("/agent/login");
    let refused = http
        .post(&form)
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", "nope nope nope"),
            ("next", "/chat/server/c1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains("wrong email or password"));

    let accepted = http
        .post(&form)
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", "/chat/server/c1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    assert_eq!(accepted.headers()["location"], "/chat/server/c1");
    let cookie = accepted.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(
        !cookie.contains(ADMIN_PASSWORD),
        "the cookie never holds the password"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let by_cookie = http
        .get(&page)
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    let forged = http
        .get(&page)
        .header("cookie", "support_chat_agent=v1.99999999999.00ff")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 303);

    let logout = http.post(app.http("/agent/logout")).send().await.unwrap();
    assert_eq!(logout.status(), 303);
    assert!(logout.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));

    let one_click = http
        .get(app.http(&format!(
            "/agent/login?token={AGENT_TOKEN}&next=//evil.example"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), 303);
    assert_eq!(
        one_click.headers()["location"],
        "/agent",
        "no open redirect"
    );
}

#[actix_web::test]
async fn the_agent_websocket_needs_credentials_before_the_upgrade() {
    let app = spawn_app().await;
    let url = app.ws("/ws/agent/c2");
    let (status, body) = try_upgrade(ws_request(&url, &[])).await.err().unwrap();
    assert_eq!(status, 401);
    assert!(body.contains("agent credentials required"), "{body}");
    let (status, _) = try_upgrade(ws_request(&format!("{url}?token=nope"), &[]))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 401);
    let (status, _) = try_upgrade(ws_request(&url, &[("authorization", "Bearer nope")]))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 401);

    let bearer = format!("Bearer {AGENT_TOKEN}");
    let mut agent = try_upgrade(ws_request(&url, &[("authorization", &bearer)]))
        .await
        .ok()
        .unwrap();
    assert_eq!(agent.expect("welcome").await["role"], "agent");

    let mut by_query = try_upgrade(ws_request(&app.ws_as_agent("/ws/agent/c2"), &[]))
        .await
        .ok()
        .unwrap();
    by_query.expect("welcome").await;

    let pair = app.admin_cookie().await;
    let mut by_cookie = try_upgrade(ws_request(&url, &[("cookie", &pair)]))
        .await
        .ok()
        .unwrap();
    by_cookie.expect("welcome").await;
}

#[actix_web::test]
async fn customers_need_a_valid_signature_when_an_identity_secret_is_set() {
    let app = spawn_app_with(&["--identity-secret", "website-secret"]).await;
    let http = client();
    let good = signature("website-secret", "user-42");
    let bad = signature("other-secret", "user-42");

    for query in ["".to_string(), format!("?sig={bad}"), "?sig=zz".to_string()] {
        let page = http
            .get(app.http(&format!("/chat/client/user-42{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 403, "{query}");
        assert!(page.text().await.unwrap().contains("sig"));
        let (status, _) = try_upgrade(ws_request(
            &app.ws(&format!("/ws/customer/user-42{query}")),
            &[],
        ))
        .await
        .err()
        .unwrap();
        assert_eq!(status, 403, "{query}");
    }
    let page = http
        .get(app.http(&format!("/chat/client/user-42?sig={good}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let mut customer = try_upgrade(ws_request(
        &app.ws(&format!("/ws/customer/user-42?sig={good}")),
        &[],
    ))
    .await
    .ok()
    .unwrap();
    assert_eq!(customer.expect("welcome").await["client_id"], "user-42");
    // Someone else's signature does not open this conversation.
    let other = signature("website-secret", "user-43");
    let (status, _) = try_upgrade(ws_request(
        &app.ws(&format!("/ws/customer/user-42?sig={other}")),
        &[],
    ))
    .await
    .err()
    .unwrap();
    assert_eq!(status, 403);
    // Random ids cannot be handed out: the website decides who its customers are.
    let fresh = http.get(app.http("/chat/client")).send().await.unwrap();
    assert_eq!(fresh.status(), 403);
}

#[actix_web::test]
async fn a_foreign_origin_is_refused_and_an_allowed_one_accepted() {
    let app = spawn_app_with(&["--allowed-origin", "https://shop.example"]).await;
    let own = format!("http://{}", app.addr);
    let url = app.ws("/ws/customer/origin-test");

    let (status, body) = try_upgrade(ws_request(&url, &[("origin", "https://evil.example")]))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 403);
    assert!(body.contains("cross-site"), "{body}");
    // Even with valid agent credentials: the browser would send the cookie.
    let (status, _) = try_upgrade(ws_request(
        &app.ws_as_agent("/ws/agent/origin-test"),
        &[("origin", "https://evil.example")],
    ))
    .await
    .err()
    .unwrap();
    assert_eq!(status, 403);
    let (status, _) = try_upgrade(ws_request(
        &app.ws("/ws/echo"),
        &[("origin", "http://shop.example")],
    ))
    .await
    .err()
    .unwrap();
    assert_eq!(status, 403, "scheme must match exactly");

    let mut same = try_upgrade(ws_request(&url, &[("origin", &own)]))
        .await
        .ok()
        .unwrap();
    same.expect("welcome").await;
    let mut allowed = try_upgrade(ws_request(&url, &[("origin", "https://shop.example")]))
        .await
        .ok()
        .unwrap();
    allowed.expect("welcome").await;
}

#[actix_web::test]
async fn over_the_rate_limit_messages_are_refused_then_accepted_again() {
    let app = spawn_app_with(&["--rate-limit", "2", "--rate-burst", "3"]).await;
    let mut customer = app.customer("rate-test").await;
    customer.expect("welcome").await;
    customer.expect("history").await;
    for i in 0..5 {
        customer
            .say(&format!("m{i}"), Some(&format!("id{i}")))
            .await;
    }
    let mut acks = Vec::new();
    let mut limited = Vec::new();
    for _ in 0..5 {
        let frame = customer.next_json().await;
        match frame["type"].as_str() {
            Some("message") => acks.push(frame["id"].as_str().unwrap().to_string()),
            Some("error") => {
                assert_eq!(frame["code"], "rate_limited");
                limited.push(frame["id"].as_str().unwrap().to_string());
            }
            _ => panic!("unexpected {frame}"),
        }
    }
    assert_eq!(acks, ["id0", "id1", "id2"]);
    assert_eq!(limited, ["id3", "id4"]);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    customer.say("m3 again", Some("id3")).await;
    let ack = customer.expect("message").await;
    assert_eq!(ack["seq"], 4, "the refused messages were not stored");
}

#[actix_web::test]
async fn connections_per_ip_are_capped_before_the_upgrade() {
    let app = spawn_app_with(&["--trust-proxy", "--max-connections-per-ip", "2"]).await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    let url = app.ws("/ws/echo");
    let first = try_upgrade(ws_request(&url, &from("203.0.113.5")))
        .await
        .ok()
        .unwrap();
    let _second = try_upgrade(ws_request(&url, &from("198.51.100.1, 203.0.113.5")))
        .await
        .ok()
        .unwrap();
    let (status, body) = try_upgrade(ws_request(&url, &from("203.0.113.5")))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 429);
    assert!(body.contains("too many open connections"), "{body}");
    let _other_ip = try_upgrade(ws_request(&url, &from("203.0.113.6")))
        .await
        .ok()
        .unwrap();
    first.close().await;
    // The slot is given back once the server has seen the close.
    let _again = eventually("the freed slot", FRAME_TIMEOUT, || async {
        try_upgrade(ws_request(&url, &from("203.0.113.5")))
            .await
            .ok()
    })
    .await;
}

#[actix_web::test]
async fn forwarded_addresses_are_ignored_unless_the_proxy_is_trusted() {
    // Without --trust-proxy the peer (loopback, not limited) counts, so a
    // client cannot get someone else blocked by claiming their address.
    let app = spawn_app_with(&["--max-connections-per-ip", "1"]).await;
    let url = app.ws("/ws/echo");
    let _a = try_upgrade(ws_request(&url, &[("x-forwarded-for", "203.0.113.5")]))
        .await
        .ok()
        .unwrap();
    let _b = try_upgrade(ws_request(&url, &[("x-forwarded-for", "203.0.113.5")]))
        .await
        .ok()
        .unwrap();
}

#[actix_web::test]
async fn new_conversations_per_ip_are_limited() {
    let app = spawn_app_with(&["--trust-proxy", "--new-conversations-per-ip", "2"]).await;
    let from = [("x-forwarded-for", "203.0.113.9")];
    let mut first = try_upgrade(ws_request(&app.ws("/ws/customer/new-1"), &from))
        .await
        .ok()
        .unwrap();
    first.expect("welcome").await;
    first.expect("history").await;
    first.say("hello", None).await;
    first.expect("message").await;
    let _second = try_upgrade(ws_request(&app.ws("/ws/customer/new-2"), &from))
        .await
        .ok()
        .unwrap();
    let (status, body) = try_upgrade(ws_request(&app.ws("/ws/customer/new-3"), &from))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 429);
    assert!(body.contains("new conversations"), "{body}");
    // Coming back to an existing conversation is not a new one.
    let _back = try_upgrade(ws_request(&app.ws("/ws/customer/new-1"), &from))
        .await
        .ok()
        .unwrap();
}

#[actix_web::test]
async fn every_page_carries_security_headers() {
    let app = spawn_app_with(&["--allowed-origin", "https://shop.example"]).await;
    let http = client();
    for path in [
        "/",
        "/chat/client/abc",
        "/agent/login",
        "/nowhere",
        "/static/chat.js",
    ] {
        let response = http.get(app.http(path)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        if path == "/chat/client/abc" {
            assert!(
                csp.contains("frame-ancestors 'self' https://shop.example"),
                "{csp}"
            );
        } else {
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        }
    }
}

#[actix_web::test]
async fn html_in_a_message_stays_text_on_the_wire() {
    let app: TestApp = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/xss")).await;
    let evil = "<img src=x onerror=alert(1)>";
    customer
        .send_json(json!({"type":"message","text":evil}))
        .await;
    assert_eq!(customer.expect("message").await["text"], evil);
    let page = client()
        .get(app.http("/chat/client/xss"))
        .send()
        .await
        .unwrap();
    assert!(!page.text().await.unwrap().contains("<img"));
}

#[actix_web::test]
async fn reconnecting_does_not_refill_the_rate_limit() {
    let app = spawn_app_with(&["--rate-limit", "0.2", "--rate-burst", "2"]).await;
    let mut customer = app.customer("rate-reconnect").await;
    customer.expect("welcome").await;
    customer.expect("history").await;
    for i in 0..2 {
        customer.say(&format!("m{i}"), None).await;
        customer.expect("message").await;
    }
    customer.close().await;

    let mut again = app.customer("rate-reconnect").await;
    again.expect("welcome").await;
    again.expect("history").await;
    again.say("one more", Some("late")).await;
    let refused = again.expect("error").await;
    assert_eq!(
        (refused["code"].as_str(), refused["id"].as_str()),
        (Some("rate_limited"), Some("late")),
        "a new socket of the same conversation side shares its bucket"
    );
    // Another conversation has its own bucket.
    let mut other = app.customer("rate-other").await;
    other.expect("welcome").await;
    other.expect("history").await;
    other.say("hello", None).await;
    other.expect("message").await;
}

#[actix_web::test]
async fn refused_upgrades_start_no_conversation() {
    let app = spawn_app_with(&["--trust-proxy", "--new-conversations-per-ip", "1"]).await;
    let sessions = || async {
        let health: Value = app.get("/healthz").await.json().await.unwrap();
        health["sessions"].as_u64().unwrap()
    };
    let from = [("x-forwarded-for", "203.0.113.20")];
    let _only = try_upgrade(ws_request(&app.ws("/ws/customer/first"), &from))
        .await
        .ok()
        .unwrap();
    assert_eq!(sessions().await, 1);
    for i in 0..20 {
        let url = app.ws(&format!("/ws/customer/refused-{i}"));
        let (status, _) = try_upgrade(ws_request(&url, &from)).await.err().unwrap();
        assert_eq!(status, 429);
    }
    // Not an upgrade at all: refused with 400 before anything starts.
    let plain = reqwest::Client::new()
        .get(app.http("/ws/customer/not-an-upgrade"))
        .header("x-forwarded-for", "203.0.113.21")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert_eq!(sessions().await, 1, "refused requests left sessions behind");
}
