//! What the binary logs, in both formats: with `--log-format json` every
//! line is one JSON object; in either format the access log names each
//! request's route and status, and no line holds a message text, a token
//! (sent as `?token=` or as a header), a password or a query string.

use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::{http_client, WsClient};
use crate::durability::Process;

const TOKEN: &str = "service-token-that-must-never-be-logged";
const TEXT: &str = "my card number is 4111 1111 1111 1111";
const PASSWORD: &str = "a password that must never be logged";

/// Runs a chat, API calls and a failed login against the binary, stops it
/// and returns its log lines.
async fn logs_of_a_session(format: &str) -> Vec<String> {
    let dir = TempDir::new().expect("temp dir");
    let mut server = Process::spawn_with(
        dir.path(),
        &["--agent-token", TOKEN, "--log-format", format],
    );
    let addr = server.listening().await;
    let (mut agent, _, _) =
        WsClient::join(&format!("ws://{addr}/ws/agent/logged-1?token={TOKEN}")).await;
    let (mut customer, _, _) =
        WsClient::join(&format!("ws://{addr}/ws/customer/logged-1?since=0")).await;
    customer.say(TEXT, Some("t-1")).await;
    agent.wait_for("message").await;
    customer.wait_for("message").await;
    let client = http_client();
    let api = client
        .get(format!("http://{addr}/api/conversations/logged-1/messages"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET messages");
    assert_eq!(api.status(), 200);
    let unmatched = client
        .get(format!("http://{addr}/no/such/page?token={TOKEN}"))
        .send()
        .await
        .expect("GET a missing page");
    assert_eq!(unmatched.status(), 404);
    let login = client
        .post(format!("http://{addr}/agent/login"))
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("POST login");
    assert_eq!(login.status(), 401);
    customer.close().await;
    agent.close().await;
    server.sigterm();
    let status = server
        .wait_exit(Duration::from_secs(10), "SIGTERM stops it")
        .await;
    assert!(status.success());
    let log = server.final_stderr().await;
    log.lines().map(str::to_owned).collect()
}

fn assert_nothing_secret(lines: &[String]) {
    for line in lines {
        for secret in [TOKEN, TEXT, PASSWORD, "token=", "?since"] {
            assert!(!line.contains(secret), "{secret:?} is logged: {line}");
        }
    }
}

fn access_line<'a>(lines: &'a [String], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| {
            panic!(
                "no access log line with {needle:?} in:\n{}",
                lines.join("\n")
            )
        })
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line_with_routes_and_no_secrets() {
    let lines = logs_of_a_session("json").await;
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for event in &events {
        for field in ["ts", "level", "target", "msg"] {
            assert!(event[field].is_string(), "{field} in {event}");
        }
    }
    assert!(
        events.iter().any(|e| e["target"] == "access"
            && e["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("GET /ws/agent/{id} 101 "))),
        "the agent's upgrade is in the access log"
    );
    access_line(&lines, "GET /api/conversations/{id}/messages 200 ");
    access_line(&lines, "GET unmatched 404 ");
    access_line(&lines, "POST /agent/login 401 ");
    assert_nothing_secret(&lines);
}

#[actix_web::test]
async fn text_logs_name_routes_and_hold_no_secrets_either() {
    let lines = logs_of_a_session("text").await;
    access_line(&lines, "GET /ws/agent/{id} 101 ");
    access_line(&lines, "GET unmatched 404 ");
    assert_nothing_secret(&lines);
}
