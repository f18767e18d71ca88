//! `/metrics`: refused without credentials on the main address, served to
//! the service token and on `--metrics-bind`; the scrape parses as the
//! Prometheus text format and its counters move with what happens.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::{eventually, http_client, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};

/// Samples by series (`name{labels}`), as a scraper would read them.
pub(crate) type Samples = HashMap<String, f64>;

/// Parses the text format: `# HELP`/`# TYPE` comments, `# EOF` at the end,
/// one `series value` per line. Panics on anything else.
fn parse(body: &str) -> Samples {
    assert_eq!(body.lines().last(), Some("# EOF"), "ends with # EOF");
    let mut samples = Samples::new();
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a sample line: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number in {line:?}"));
        assert!(
            series.starts_with("support_chat_"),
            "every series is ours: {line:?}"
        );
        samples.insert(series.to_owned(), value);
    }
    samples
}

async fn scrape(app: &TestApp) -> Samples {
    scrape_at(app.metrics_addr.expect("started with --metrics-bind")).await
}

/// Scrapes the `--metrics-bind` listener at `addr`.
pub(crate) async fn scrape_at(addr: std::net::SocketAddr) -> Samples {
    let response = http_client()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    parse(&response.text().await.expect("body"))
}

pub(crate) fn value(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series}; have {:?}", samples.keys()))
}

/// Waits until `series` reaches `at_least` and returns the whole scrape.
async fn scrape_until(app: &TestApp, series: &str, at_least: f64) -> Samples {
    let what = format!("{series} >= {at_least}");
    eventually(&what, Duration::from_secs(10), || async {
        let samples = scrape(app).await;
        (samples.get(series).copied().unwrap_or(0.0) >= at_least).then_some(samples)
    })
    .await
}

#[actix_web::test]
async fn metrics_need_an_agent_credential_on_the_main_address() {
    let app = spawn_app_with(&[]).await;
    let anonymous = app.get("/metrics").await;
    assert_eq!(anonymous.status(), 401);
    let agent = http_client()
        .get(app.http("/metrics"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(agent.status(), 200);
    let samples = parse(&agent.text().await.expect("body"));
    assert_eq!(value(&samples, "support_chat_messages_stored_total"), 0.0);
    app.stop().await;
}

#[actix_web::test]
async fn a_scrape_parses_and_its_counters_move_with_traffic() {
    let app = spawn_app_with(&[
        "--metrics-bind",
        "127.0.0.1:0",
        "--rate-limit",
        "0.01",
        "--rate-burst",
        "3",
    ])
    .await;
    let before = scrape(&app).await;
    assert_eq!(value(&before, "support_chat_messages_stored_total"), 0.0);
    assert_eq!(
        value(&before, "support_chat_open_sockets{kind=\"customer\"}"),
        0.0
    );

    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/metered")).await;
    let (agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/metered")).await;
    for n in 1..=3 {
        customer
            .say(&format!("hello {n}"), Some(&format!("m-{n}")))
            .await;
        customer.wait_for("message").await;
    }
    customer.say("one too many", Some("m-4")).await;
    let refused = customer.wait_for("error").await;
    assert_eq!(refused["code"], "rate_limited");
    assert_eq!(app.get("/healthz").await.status(), 200);

    let after = scrape_until(&app, "support_chat_relay_seconds_count", 3.0).await;
    assert_eq!(value(&after, "support_chat_messages_stored_total"), 3.0);
    assert_eq!(
        value(&after, "support_chat_open_sockets{kind=\"customer\"}"),
        1.0
    );
    assert_eq!(
        value(&after, "support_chat_open_sockets{kind=\"agent\"}"),
        1.0
    );
    assert_eq!(value(&after, "support_chat_live_sessions"), 1.0);
    assert_eq!(
        value(
            &after,
            "support_chat_rate_limited_total{kind=\"socket_message\"}"
        ),
        1.0
    );
    let commits = value(&after, "support_chat_commit_seconds_count");
    assert!(commits >= 1.0, "commits are timed: {commits}");
    assert_eq!(
        value(&after, "support_chat_commit_batch_writes_count"),
        commits,
        "every commit has its batch size"
    );
    assert!(value(&after, "support_chat_commit_batch_writes_sum") >= 3.0);
    assert_eq!(
        value(&after, "support_chat_relay_seconds_bucket{le=\"+Inf\"}"),
        3.0
    );
    assert_eq!(value(&after, "support_chat_write_queue_depth"), 0.0);
    assert_eq!(
        value(
            &after,
            "support_chat_http_requests_total{route=\"/healthz\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "support_chat_http_requests_total{route=\"/ws/customer/{id}\",status=\"101\"}"
        ),
        1.0,
        "labelled by the route's pattern, never the conversation id"
    );

    customer.close().await;
    agent.close().await;
    eventually(
        "the sockets to be counted out",
        Duration::from_secs(10),
        || async {
            let samples = scrape(&app).await;
            (value(&samples, "support_chat_open_sockets{kind=\"customer\"}") == 0.0
                && value(&samples, "support_chat_open_sockets{kind=\"agent\"}") == 0.0)
                .then_some(())
        },
    )
    .await;
    app.stop().await;
}
