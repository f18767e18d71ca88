//! The website widget over HTTP and WebSocket: the script, its config
//! (allowed host origins only), the chat frame's framing rules, contact
//! details (customer frame, agents' PATCH, summaries, restarts), and
//! `/chat/client` coming back to the remembered conversation.

use std::io::Write;

use serde_json::{json, Value};

use crate::common::{http_client, spawn_app, spawn_app_with, WsClient, AGENT_TOKEN};

const SHOP: &str = "http://shop.example";
const EVIL: &str = "http://evil.example";

#[actix_web::test]
async fn widget_js_is_one_small_classic_script() {
    let app = spawn_app().await;
    let response = app.get("/widget.js").await;
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(kind.starts_with("text/javascript"), "{kind}");
    let body = response.text().await.unwrap();
    assert!(body.contains("window.SupportChat"), "the launcher is in it");
    assert!(
        body.contains("function frameEvent"),
        "and the checks of widget-core.mjs"
    );
    assert!(
        !body
            .lines()
            .any(|l| l.starts_with("export ") || l.starts_with("import ")),
        "a classic script: no module syntax"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let gzipped = gz.finish().unwrap().len();
    println!("widget.js: {} bytes, {gzipped} bytes gzipped", body.len());
    assert!(gzipped < 10 * 1024, "widget.js is {gzipped} bytes gzipped");

    let compressed = http_client()
        .get(app.http("/widget.js"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let sent = compressed.bytes().await.unwrap().len();
    assert!(
        sent < 10 * 1024,
        "sent {sent} bytes to a browser that accepts gzip"
    );
}

async fn config(app: &crate::common::TestApp, origin: Option<&str>) -> reqwest::Response {
    let mut request = http_client().get(app.http("/widget/config"));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request.send().await.unwrap()
}

#[actix_web::test]
async fn the_widget_config_is_given_to_allowed_host_pages_only() {
    let app = spawn_app_with(&[
        "--allowed-origin",
        SHOP,
        "--prechat-email",
        "required",
        "--prechat-name",
        "optional",
        "--greeting-en",
        "Hello from the shop",
        "--away-zh",
        "我们不在",
        "--business-hours",
        "mon-fri 09:00-17:00, sat 10:00-14:00",
        "--time-zone",
        "Europe/Berlin",
    ])
    .await;
    let allowed = config(&app, Some(SHOP)).await;
    assert_eq!(allowed.status(), 200);
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);
    let body: Value = allowed.json().await.unwrap();
    assert_eq!(
        body["prechat"],
        json!({"name": "optional", "email": "required"})
    );
    assert_eq!(
        body["greeting"],
        json!({"en": "Hello from the shop", "zh": null})
    );
    assert_eq!(body["away"], json!({"en": null, "zh": "我们不在"}));
    assert_eq!(body["hours"]["time_zone"], "Europe/Berlin");
    assert_eq!(body["hours"]["days"][0], json!([[540, 1020]]));
    assert_eq!(body["hours"]["days"][5], json!([[600, 840]]));
    assert_eq!(body["hours"]["days"][6], json!([]));
    assert_eq!(body["identity"], false);
    assert_eq!(body["agents_online"], false, "no console is open");

    let refused = config(&app, Some(EVIL)).await;
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["access-control-allow-origin"],
        EVIL,
        "the refused page may read why"
    );
    let body: Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("--allowed-origin {EVIL}")),
        "{message}"
    );
    assert!(body.get("prechat").is_none(), "and learns nothing else");

    assert_eq!(config(&app, None).await.status(), 200, "our own pages");
}

#[actix_web::test]
async fn agents_are_online_for_the_widget_while_a_console_is_open() {
    let app = spawn_app().await;
    let online = || async {
        let body: Value = config(&app, None).await.json().await.unwrap();
        body["agents_online"].as_bool().unwrap()
    };
    assert!(!online().await);
    let console = WsClient::connect(&app.ws_as_agent("/ws/inbox")).await;
    crate::common::eventually("agents online", crate::common::FRAME_TIMEOUT, || async {
        online().await.then_some(())
    })
    .await;
    console.close().await;
    crate::common::eventually("agents offline", crate::common::FRAME_TIMEOUT, || async {
        (!online().await).then_some(())
    })
    .await;
}

#[actix_web::test]
async fn the_chat_frame_may_be_framed_by_its_allowed_host_only() {
    let app = spawn_app_with(&["--allowed-origin", SHOP]).await;
    let frame = |host: &str| {
        let url = format!(
            "/widget/frame?{}",
            serde_urlencoded::to_string([("host", host)]).unwrap()
        );
        let app = &app;
        async move { app.get(&url).await }
    };
    let page = frame(SHOP).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.ends_with(&format!("frame-ancestors {SHOP}")),
        "only that host may frame it: {csp}"
    );
    let body = page.text().await.unwrap();
    assert!(body.contains(&format!("data-host=\"{SHOP}\"")));
    for bad in [
        EVIL,
        "http://shop.example/page",
        "http://shop.example\" onload=\"x",
        "null",
    ] {
        assert_eq!(frame(bad).await.status(), 403, "{bad}");
    }
    assert_eq!(app.get("/widget/frame").await.status(), 400, "no host");
}

async fn patch_contact(app: &crate::common::TestApp, id: &str, body: Value) -> reqwest::Response {
    http_client()
        .patch(app.http(&format!("/api/conversations/{id}/contact")))
        .bearer_auth(AGENT_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn contact_details_come_from_the_customer_and_agents_correct_them() {
    let app = spawn_app().await;
    let (mut customer, welcome, _) = WsClient::join(&app.ws("/ws/customer/ana")).await;
    assert_eq!(welcome["contact"], Value::Null, "nothing given yet");
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/ana")).await;

    customer
        .send_json(json!({"type": "contact", "email": "not an address"}))
        .await;
    let refused = customer.wait_for("error").await;
    assert_eq!(refused["code"], "invalid_contact");

    customer
        .send_json(json!({"type": "contact", "name": " Ana ", "email": "ana@example.com"}))
        .await;
    let want = json!({"name": "Ana", "email": "ana@example.com"});
    assert_eq!(customer.wait_for("contact").await["contact"], want);
    assert_eq!(agent.wait_for("contact").await["contact"], want);

    customer.say("hello", Some("c1")).await;
    agent.wait_for("message").await;
    let list: Value = http_client()
        .get(app.http("/api/conversations"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["contact"], want, "summaries carry it");

    let bad = patch_contact(&app, "ana", json!({"email": "ana@"})).await;
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "invalid_contact");
    let unknown = patch_contact(&app, "ana", json!({"phone": "123"})).await;
    assert_eq!(unknown.status(), 400, "unknown fields are refused");
    let empty = patch_contact(&app, "ana", json!({})).await;
    assert_eq!(empty.status(), 400, "nothing to change");
    let anonymous = http_client()
        .patch(app.http("/api/conversations/ana/contact"))
        .json(&json!({"name": "Eve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    let fixed = patch_contact(&app, "ana", json!({"name": "Ana Lima", "email": null})).await;
    assert_eq!(fixed.status(), 200);
    let fixed: Value = fixed.json().await.unwrap();
    let now = json!({"name": "Ana Lima", "email": null});
    assert_eq!(fixed["contact"], now);
    assert_eq!(customer.wait_for("contact").await["contact"], now);
    customer.close().await;
    agent.close().await;

    let app = app.restart().await;
    let (_, welcome, _) = WsClient::join(&app.ws_as_agent("/ws/agent/ana")).await;
    assert_eq!(welcome["contact"], now, "kept across a restart");
}

#[actix_web::test]
async fn a_pre_chat_contact_is_kept_before_the_first_message() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/early")).await;
    customer
        .send_json(json!({"type": "contact", "name": "Bo"}))
        .await;
    customer.wait_for("contact").await;
    customer.close().await;
    let app = app.restart().await;
    let (_, welcome, history) = WsClient::join(&app.ws("/ws/customer/early")).await;
    assert_eq!(welcome["contact"], json!({"name": "Bo", "email": null}));
    assert_eq!(history["messages"], json!([]));
}

fn remembered(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("support_chat_conversation="))
        .map(str::to_owned)
}

#[actix_web::test]
async fn chat_client_comes_back_to_the_remembered_conversation() {
    let app = spawn_app().await;
    let page = app.get("/chat/client/abc123").await;
    let cookie = remembered(&page).expect("the customer page remembers its conversation");
    assert!(cookie.contains("Path=/chat/client"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();

    let back = http_client()
        .get(app.http("/chat/client?lang=zh"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302);
    assert_eq!(back.headers()["location"], "/chat/client/abc123?lang=zh");

    let fresh = http_client()
        .get(app.http("/chat/client?new=1"))
        .header("cookie", &pair)
        .send()
        .await
        .unwrap();
    let location = fresh.headers()["location"].to_str().unwrap().to_owned();
    assert_ne!(
        location, "/chat/client/abc123",
        "a new conversation when asked"
    );
    assert_eq!(location.len(), "/chat/client/".len() + 32);

    let forged = http_client()
        .get(app.http("/chat/client"))
        .header("cookie", "support_chat_conversation=../x")
        .send()
        .await
        .unwrap();
    let location = forged.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location.len(), "/chat/client/".len() + 32, "{location}");

    let signed = spawn_app_with(&["--identity-secret", "s3cret"]).await;
    let page = signed.get("/chat/client/abc123?sig=00").await;
    assert_eq!(page.status(), 403);
    assert!(remembered(&page).is_none());
}
