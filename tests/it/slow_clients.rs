//! Clients that open connections and then send slowly or not at all: each is
//! timed out, capped per address, and capped for the whole server, and
//! nobody else is locked out meanwhile.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{
    eventually, spawn_app_with, TestApp, ADMIN_EMAIL, ADMIN_PASSWORD, AGENT_TOKEN,
};
use crate::raw::{read_head, Answer};

/// How long a request held by the server (not answered) is waited on before
/// the test takes it as held.
const HELD: Duration = Duration::from_millis(300);

/// What a slow client gets beyond the server's timeout.
const SLACK: Duration = Duration::from_secs(2);

/// Sends a login form's head announcing 100 bytes, and `body` of them
/// (all 100 for a complete request).
async fn stalled_login(addr: SocketAddr, forwarded_for: Option<&str>, body: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let forwarded = forwarded_for
        .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /agent/login HTTP/1.1\r\nHost: {addr}\r\n{forwarded}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n{body}"
    );
    tcp.write_all(head.as_bytes()).await.expect("send head");
    tcp
}

/// The answer, if one comes within `wait`.
async fn answer_within(tcp: &mut TcpStream, wait: Duration) -> Option<Answer> {
    tokio::time::timeout(wait, read_head(tcp)).await.ok()
}

/// Whether the server ends the connection (after its answer) within `wait`.
async fn closed_within(tcp: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let give_up = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(give_up, tcp.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Opens stalled logins one after the other until one is answered at once:
/// the ones held before it, and it with its answer.
async fn stall_until_answered(
    addr: SocketAddr,
    forwarded_for: Option<&str>,
    at_most: usize,
) -> (Vec<TcpStream>, TcpStream, Answer) {
    let mut held = Vec::new();
    for _ in 0..at_most {
        let mut tcp = stalled_login(addr, forwarded_for, "").await;
        match answer_within(&mut tcp, HELD).await {
            Some(answer) => return (held, tcp, answer),
            None => held.push(tcp),
        }
    }
    panic!("{at_most} stalled requests held and none refused");
}

fn error_code(answer: &Answer) -> String {
    let body: Value = serde_json::from_slice(&answer.rest).unwrap_or_default();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn healthz_status(app: &TestApp) -> u16 {
    app.get("/healthz").await.status().as_u16()
}

#[actix_web::test]
async fn a_stalled_body_is_answered_408_within_the_request_timeout() {
    let app = spawn_app_with(&["--request-timeout", "500ms"]).await;
    let started = Instant::now();
    let mut tcp = stalled_login(app.addr, None, "token=").await;
    let answer = answer_within(&mut tcp, Duration::from_millis(500) + SLACK)
        .await
        .expect("an answer before the test gives up");
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(closed_within(&mut tcp, SLACK).await, "connection closed");

    // The API's JSON body the same way.
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/conversations/slow/messages HTTP/1.1\r\nHost: {}\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"text\":",
        app.addr, AGENT_TOKEN
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let answer = answer_within(&mut tcp, Duration::from_millis(500) + SLACK)
        .await
        .expect("an answer");
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert_eq!(error_code(&answer), "request_timeout");
}

#[actix_web::test]
async fn a_stalled_head_is_answered_408_within_the_request_timeout() {
    let app = spawn_app_with(&["--request-timeout", "500ms"]).await;
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = answer_within(&mut tcp, Duration::from_millis(500) + SLACK)
        .await
        .expect("an answer before the test gives up");
    assert_eq!(answer.status, 408, "{}", answer.head);
}

#[actix_web::test]
async fn stalled_bodies_from_one_address_get_429_and_lock_nobody_out() {
    let app = spawn_app_with(&[
        "--trust-proxy",
        "--max-requests-per-ip",
        "4",
        "--max-connections",
        "16",
        "--request-timeout",
        "60s",
    ])
    .await;
    app.admin_cookie().await;
    let attacker = Some("203.0.113.7");
    let (held, mut refused, answer) = stall_until_answered(app.addr, attacker, 20).await;
    assert_eq!(held.len(), 4, "requests held before the cap");
    assert_eq!(answer.status, 429, "{}", answer.head);
    assert_eq!(error_code(&answer), "too_many_connections");
    assert!(closed_within(&mut refused, SLACK).await);

    // Many more from the same address: each refused and closed at once, so
    // they never add up to the server's cap.
    for _ in 0..40 {
        let mut tcp = stalled_login(app.addr, attacker, "").await;
        let answer = answer_within(&mut tcp, SLACK).await.expect("an answer");
        assert_eq!(answer.status, 429, "{}", answer.head);
        assert!(closed_within(&mut tcp, SLACK).await);
    }
    assert_eq!(healthz_status(&app).await, 200);
    let mut form = format!(
        "email={}&password={}&pad=",
        ADMIN_EMAIL.replace('@', "%40"),
        ADMIN_PASSWORD.replace(' ', "+")
    );
    form.extend(std::iter::repeat_n('x', 100 - form.len()));
    let mut other = stalled_login(app.addr, Some("203.0.113.8"), &form).await;
    let answer = answer_within(&mut other, SLACK).await.expect("an answer");
    assert_eq!(
        answer.status, 303,
        "another address logs in: {}",
        answer.head
    );
}

#[actix_web::test]
async fn over_the_connection_cap_new_clients_get_503_until_stalled_ones_time_out() {
    let app = spawn_app_with(&[
        "--max-requests-per-ip",
        "0",
        "--max-connections",
        "6",
        "--request-timeout",
        "5s",
    ])
    .await;
    let (mut held, mut busy, answer) = stall_until_answered(app.addr, None, 20).await;
    assert_eq!(held.len(), 6, "connections held before the cap");
    assert_eq!(answer.status, 503, "{}", answer.head);
    assert_eq!(error_code(&answer), "server_busy");
    assert!(closed_within(&mut busy, SLACK).await);

    // The stalled ones time out and free their places.
    for tcp in &mut held {
        let answer = answer_within(tcp, Duration::from_secs(5) + SLACK)
            .await
            .expect("a 408");
        assert_eq!(answer.status, 408);
    }
    eventually("health answered again", SLACK, || async {
        (healthz_status(&app).await == 200).then_some(())
    })
    .await;
}
