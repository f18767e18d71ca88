//! Defects of the adversarial test (issue 11), each shown refused and the
//! honest path still working.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{spawn_app, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_TOKEN};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Logs in by the form and returns the `name=value` of the agent cookie.
async fn login_cookie(app: &TestApp) -> String {
    let response = client()
        .post(app.http("/agent/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

#[actix_web::test]
async fn next_with_control_characters_lands_on_the_console() {
    let app = spawn_app().await;
    for next in ["/%09/evil.example", "/x%0d%0aSet-Cookie:a=b", "/agent%00"] {
        let response = app
            .get(&format!("/agent/login?token={AGENT_TOKEN}&next={next}"))
            .await;
        assert_eq!(response.status(), 303, "next={next}");
        assert_eq!(response.headers()["location"], "/agent", "next={next}");
    }
    let kept = app
        .get(&format!(
            "/agent/login?token={AGENT_TOKEN}&next=%2Fchat%2Fserver%2Fx%3Flang%3Dzh"
        ))
        .await;
    assert_eq!(kept.headers()["location"], "/chat/server/x?lang=zh");
}

async fn post_message(
    app: &TestApp,
    headers: &[(&str, &str)],
    content_type: Option<&str>,
) -> reqwest::Response {
    let mut request = client()
        .post(app.http("/api/conversations/csrf/messages"))
        .body(json!({"text": "hello"}).to_string());
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[actix_web::test]
async fn cookie_writes_need_json_and_this_servers_origin() {
    let app = spawn_app_with(&["--allowed-origin", "https://shop.example"]).await;
    app.admin_cookie().await;
    let cookie = login_cookie(&app).await;
    let own = format!("http://{}", app.addr);
    let with_cookie = |extra: &[(&'static str, &'static str)]| {
        let mut all = vec![("cookie", cookie.as_str())];
        all.extend_from_slice(extra);
        all
    };
    let json_type = Some("application/json");

    let text_plain = post_message(&app, &with_cookie(&[]), Some("text/plain")).await;
    assert_eq!(text_plain.status(), 415);
    let body: Value = text_plain.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unsupported_media_type");
    assert_eq!(
        post_message(&app, &with_cookie(&[]), None).await.status(),
        415
    );

    for foreign in [
        &[("origin", "http://evil.example")][..],
        &[("origin", "http://127.0.0.1:1")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "same-site")],
        &[("origin", "null"), ("sec-fetch-site", "cross-site")],
    ] {
        let refused = post_message(&app, &with_cookie(foreign), json_type).await;
        assert_eq!(refused.status(), 403, "{foreign:?}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
        let resolve = client()
            .post(app.http("/api/conversations/csrf/resolve"))
            .header("cookie", &cookie);
        let resolve = foreign
            .iter()
            .fold(resolve, |r, (k, v)| r.header(*k, *v))
            .send()
            .await
            .unwrap();
        assert_eq!(resolve.status(), 403, "resolve {foreign:?}");
    }

    let mut same = with_cookie(&[("sec-fetch-site", "same-origin")]);
    same.push(("origin", own.as_str()));
    for (headers, content_type) in [
        (same, json_type),
        (with_cookie(&[]), Some("application/json; charset=utf-8")),
        (
            with_cookie(&[("origin", "https://shop.example")]),
            json_type,
        ),
        (
            with_cookie(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            json_type,
        ),
    ] {
        let accepted = post_message(&app, &headers, content_type).await;
        assert_eq!(accepted.status(), 201, "{headers:?}");
    }

    // A bearer token is never sent by a browser on its own: no Origin check.
    let bearer = format!("Bearer {AGENT_TOKEN}");
    let by_bearer = [
        ("authorization", bearer.as_str()),
        ("origin", "http://evil.example"),
    ];
    assert_eq!(
        post_message(&app, &by_bearer, json_type).await.status(),
        201
    );
}

#[actix_web::test]
async fn login_and_logout_refuse_other_origins_and_logout_is_post_only() {
    let app = spawn_app().await;
    app.admin_cookie().await;
    let http = client();
    let form = app.http("/agent/login");
    let credentials = [("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)];
    let forged = http
        .post(&form)
        .header("origin", "http://evil.example")
        .form(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    let honest = http
        .post(&form)
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(honest.status(), 303);

    let cookie = login_cookie(&app).await;
    let console = http
        .get(app.http("/agent"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        console.contains(r#"method="post" action="/agent/logout""#),
        "the console logs out with a form"
    );

    let by_get = http
        .get(app.http("/agent/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), 405);
    assert!(by_get.headers().get("set-cookie").is_none());
    let foreign = http
        .post(app.http("/agent/logout"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    let logout = http
        .post(app.http("/agent/logout"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 303);
    assert!(logout.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

/// Reads one unmasked server frame from `bytes`: (opcode, frame length).
fn frame_at(bytes: &[u8]) -> Option<(u8, usize)> {
    let opcode = bytes.first()? & 0x0f;
    let (len, header) = match bytes.get(1)? & 0x7f {
        126 => (
            u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize,
            4,
        ),
        127 => return None,
        n => (n as usize, 2),
    };
    (bytes.len() >= header + len).then_some((opcode, header + len))
}

#[actix_web::test]
async fn a_client_close_is_answered_and_the_connection_ends_at_once() {
    let app = spawn_app().await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let handshake = format!(
        "GET /ws/customer/close-timing HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n",
        app.addr
    );
    tcp.write_all(handshake.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    // Upgrade response, then welcome and history: the socket is live.
    let mut text_frames = 0;
    while text_frames < 2 {
        let n = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut buf))
            .await
            .expect("server answers")
            .unwrap();
        assert!(n > 0, "server closed early");
        received.extend_from_slice(&buf[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(received.starts_with(b"HTTP/1.1 101"));
            let mut frames = received[end + 4..].to_vec();
            text_frames = 0;
            while let Some((opcode, len)) = frame_at(&frames) {
                assert_eq!(opcode, 1);
                text_frames += 1;
                frames.drain(..len);
            }
        }
    }

    // A masked close frame, code 1000, mask of zeros.
    let started = Instant::now();
    tcp.write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])
        .await
        .unwrap();
    let mut after = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
            .await
            .expect("the connection ends")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        after.extend_from_slice(&buf[..n]);
    }
    let elapsed = started.elapsed();
    assert_eq!(
        frame_at(&after).map(|(opcode, _)| opcode),
        Some(8),
        "close reply"
    );
    assert!(
        elapsed < Duration::from_millis(300),
        "close reply and TCP end took {elapsed:?}"
    );
}

#[actix_web::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let http = client();
    for path in [
        "/healthz",
        "/",
        "/agent/login",
        "/static/chat.css",
        "/chat/client/head-check",
    ] {
        let get = http.get(app.http(path)).send().await.unwrap();
        let head = http.head(app.http(path)).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_eq!(head.status(), 200, "{path}");
        assert_eq!(
            head.headers().get("content-type"),
            get.headers().get("content-type"),
            "{path}"
        );
        assert!(head.bytes().await.unwrap().is_empty(), "{path}");
    }
}

/// A client that floods and never reads stops being served once the kernel
/// holds data for it; the socket actor is not run again, so its heartbeat
/// cannot close it. The kernel drops the connection after the client
/// timeout instead, and everything it pinned is freed.
#[actix_web::test]
async fn a_client_that_floods_and_never_reads_is_dropped_after_the_client_timeout() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let app = spawn_app_with(&["--rate-limit", "0", "--client-timeout", "2s"]).await;
    // A small receive buffer, so the kernel's share of what is never read
    // fills within seconds.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let tcp = tcp.connect(app.addr).await.unwrap();
    let (mut flooder, _) = tokio_tungstenite::client_async(app.ws("/ws/customer/flooder"), tcp)
        .await
        .unwrap();
    let frame = json!({"type": "message", "text": "a message from a client that never reads"});
    let frame = frame.to_string();
    let started = Instant::now();
    loop {
        let send = flooder.send(Message::Text(frame.clone()));
        match tokio::time::timeout(Duration::from_secs(1), send).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => break,
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server never stopped taking messages"
        );
    }
    crate::common::eventually(
        "the server to drop the client that never reads",
        Duration::from_secs(20),
        || async {
            let health: Value = app.get("/healthz").await.json().await.ok()?;
            (health["open_sockets"] == 0).then_some(())
        },
    )
    .await;
}
