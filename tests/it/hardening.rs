//! Defects of the adversarial test (issue 11), each shown refused and the
//! honest path still working.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{spawn_app, AGENT_TOKEN};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
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
