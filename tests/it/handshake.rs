//! What RFC 6455 asks of the server beyond what client libraries send: frames
//! refused by their declared length, and the handshake's own checks.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::common::spawn_app;
use crate::raw::{close_code, Handshake};

/// How soon an oversized frame must be refused (the heartbeat would take
/// tens of seconds).
const REFUSAL_DEADLINE: Duration = Duration::from_secs(1);

#[actix_web::test]
async fn a_frame_declaring_ten_megabytes_is_closed_with_1009_at_once() {
    let app = spawn_app().await;
    for path in ["/ws/echo", "/ws/customer/declared-length"] {
        let (mut tcp, answer) = Handshake {
            path,
            ..Handshake::default()
        }
        .send(app.addr)
        .await;
        assert_eq!(answer.status, 101, "{path}: {}", answer.head);
        // A masked binary frame with a 64-bit length of 10 MB, and a few
        // bytes of its payload.
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&10_000_000u64.to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(b"just the start");
        let started = Instant::now();
        tcp.write_all(&frame).await.unwrap();
        let code = close_code(&mut tcp, answer.rest, REFUSAL_DEADLINE).await;
        assert_eq!(code, Some(1009), "{path}");
        assert!(started.elapsed() < REFUSAL_DEADLINE, "{path}");
    }
}

#[actix_web::test]
async fn another_websocket_version_is_426_naming_version_13() {
    let app = spawn_app().await;
    for version in ["8", "7", "12", "14"] {
        let (_, answer) = Handshake {
            version,
            ..Handshake::default()
        }
        .send(app.addr)
        .await;
        assert_eq!(answer.status, 426, "version {version}: {}", answer.head);
        assert_eq!(
            answer.header("sec-websocket-version").as_deref(),
            Some("13"),
            "version {version}"
        );
    }
}

#[actix_web::test]
async fn a_key_that_is_not_base64_of_16_bytes_is_400() {
    let app = spawn_app().await;
    for key in [
        "not base64 at all",
        "c2hvcnQ=",                     // 5 bytes
        "MDEyMzQ1Njc4OWFiY2RlZmdoaWo=", // 20 bytes
        "dGhlIHNhbXBsZSBub25jZQ",       // unpadded
    ] {
        let (_, answer) = Handshake {
            key,
            ..Handshake::default()
        }
        .send(app.addr)
        .await;
        assert_eq!(answer.status, 400, "key {key:?}: {}", answer.head);
    }
}

#[actix_web::test]
async fn an_http_1_0_upgrade_is_400() {
    let app = spawn_app().await;
    for path in ["/ws/echo", "/ws/customer/old-http"] {
        let (_, answer) = Handshake {
            path,
            http: "HTTP/1.0",
            ..Handshake::default()
        }
        .send(app.addr)
        .await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.head);
    }
}

#[actix_web::test]
async fn a_correct_handshake_still_upgrades_on_every_socket() {
    let app = spawn_app().await;
    let agent = format!("/ws/agent/proper?token={}", crate::common::AGENT_TOKEN);
    let inbox = format!("/ws/inbox?token={}", crate::common::AGENT_TOKEN);
    for path in ["/ws/echo", "/ws/customer/proper", &agent, &inbox] {
        let (_, answer) = Handshake {
            path,
            ..Handshake::default()
        }
        .send(app.addr)
        .await;
        assert_eq!(answer.status, 101, "{path}: {}", answer.head);
        assert_eq!(
            answer.header("sec-websocket-accept").as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "RFC 6455's example key and accept"
        );
    }
}
