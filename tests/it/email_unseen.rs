//! Unseen agent replies emailed to the customer (once per burst, after
//! `--notify-unseen-after`, not when they read them first), and the reopen
//! link in that email: it leads back to the conversation, refuses a
//! forgery and expires.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::on_each_backend;
use crate::common::{eventually, http_client, spawn_app_with, TestApp, WsClient, AGENT_TOKEN};
use crate::email::{outbox_settles, FROM};
use crate::smtp::{free_port, MailCatcher};

/// The customer of `id` (who left an email) and an agent, both joined.
async fn conversation(addr: SocketAddr, id: &str) -> (WsClient, WsClient) {
    let (mut customer, _, _) = WsClient::join(&format!("ws://{addr}/ws/customer/{id}")).await;
    customer
        .send_json(json!({"type": "contact", "email": format!("{id}@example.com")}))
        .await;
    customer.wait_for("contact").await;
    customer.say("Hello?", Some("c-1")).await;
    let agent_url = format!("ws://{addr}/ws/agent/{id}?token={AGENT_TOKEN}");
    let (agent, _, _) = WsClient::join(&agent_url).await;
    (customer, agent)
}

/// The agent says each of `texts`; returns the last one's seq once the
/// customer has it.
pub(crate) async fn replies(customer: &mut WsClient, agent: &mut WsClient, texts: &[&str]) -> u64 {
    let mut seq = 0;
    for (i, text) in texts.iter().enumerate() {
        agent.say(text, Some(&format!("a-{i}"))).await;
        // Each wait is bounded by the frame timeout of `wait_for`.
        seq = loop {
            let frame = customer.wait_for("message").await;
            if frame["text"] == *text {
                break frame["seq"].as_u64().expect("seq");
            }
        };
    }
    seq
}

pub(crate) async fn app_with(smtp: &MailCatcher, extra: &[&str]) -> TestApp {
    let url = smtp.url();
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut flags = vec![
        "--smtp-url",
        &url,
        "--mail-from",
        FROM,
        "--notify-unseen-after",
        "1s",
        "--metrics-bind",
        &metrics,
    ];
    flags.extend_from_slice(extra);
    spawn_app_with(&flags).await
}

/// The reopen link in an email.
fn link_in(mail: &str) -> String {
    let at = mail.find("Continue the conversation: ").expect("a link") + 27;
    mail[at..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_owned()
}

on_each_backend! {
    async fn unseen_replies_are_emailed_once_after_the_delay_with_a_link_back() {
        let smtp = MailCatcher::start(free_port()).await;
        let app = app_with(&smtp, &[]).await;
        let (mut customer, mut agent) = conversation(app.addr, "away-1").await;
        let replied = Instant::now();
        replies(
            &mut customer,
            &mut agent,
            &["First answer", "Second answer"],
        )
        .await;

        let mail = smtp.wait_for(1).await;
        assert!(
            replied.elapsed() >= Duration::from_secs(1),
            "sent only after --notify-unseen-after"
        );
        outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
        assert_eq!(smtp.messages().len(), 1, "one email for the burst");
        let mail = &mail[0];
        assert!(mail.contains("X-Envelope-To: away-1@example.com"), "{mail}");
        assert!(
            mail.contains("Subject: New reply to your conversation"),
            "{mail}"
        );
        assert!(
            mail.contains("First answer") && mail.contains("Second answer"),
            "{mail}"
        );
        assert!(
            !mail.contains("Hello?"),
            "only the replies they missed: {mail}"
        );

        let link = link_in(mail);
        assert!(link.starts_with(&app.http("/r/")), "{link}");
        let opened = http_client().get(&link).send().await.expect("GET link");
        assert_eq!(opened.status(), 303);
        assert_eq!(opened.headers()["location"], "/chat/client/away-1");
        let page = http_client()
            .get(app.http("/chat/client/away-1"))
            .send()
            .await
            .expect("GET page");
        assert_eq!(page.status(), 200);

        let forged = format!("{}0", link.trim_end_matches(|c: char| c != '.'));
        let refused = http_client().get(&forged).send().await.expect("GET forged");
        assert_eq!(refused.status(), 404, "{forged}");
    }
}

#[actix_web::test]
async fn a_reply_the_customer_read_in_time_is_not_emailed() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = app_with(&smtp, &[]).await;
    let (mut reader, mut agent) = conversation(app.addr, "reader-1").await;
    let seq = replies(&mut reader, &mut agent, &["Read this"]).await;
    reader.send_json(json!({"type": "read", "seq": seq})).await;
    agent.wait_for("read").await;
    // A second conversation whose customer does not read: its email comes
    // after the first reply's delay has passed too.
    let (mut away, mut other) = conversation(app.addr, "away-2").await;
    replies(&mut away, &mut other, &["Nobody reads this"]).await;
    let mail = smtp.wait_for(1).await;
    outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains("X-Envelope-To: away-2@example.com"),
        "{}",
        mail[0]
    );
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing for the reply that was read"
    );
}

#[actix_web::test]
async fn a_reopen_link_expires() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = app_with(&smtp, &["--reopen-link-ttl", "2s"]).await;
    let (mut customer, mut agent) = conversation(app.addr, "late-1").await;
    replies(&mut customer, &mut agent, &["Are you there?"]).await;
    let link = link_in(&smtp.wait_for(1).await[0]);
    eventually("the link to expire", Duration::from_secs(10), || {
        let link = link.clone();
        async move {
            let status = http_client().get(&link).send().await.expect("GET").status();
            assert!(status == 303 || status == 410, "{status}");
            (status == 410).then_some(())
        }
    })
    .await;
}

on_each_backend! {
    async fn agents_who_asked_are_emailed_when_a_customer_waits() {
        let smtp = MailCatcher::start(free_port()).await;
        let app = app_with(&smtp, &["--notify-waiting-after", "1s"]).await;
        let admin = app.admin_cookie().await;
        let alerts = |body: Option<serde_json::Value>| {
            let request = match &body {
                Some(body) => http_client().put(app.http("/api/me/alerts")).json(body),
                None => http_client().get(app.http("/api/me/alerts")),
            };
            request
                .header("cookie", &admin)
                .header("origin", app.http(""))
                .send()
        };
        let before: serde_json::Value = alerts(None).await.expect("GET").json().await.expect("JSON");
        assert_eq!(before, json!({"waiting": false}), "alerts are opt-in");
        let set = alerts(Some(json!({"waiting": true}))).await.expect("PUT");
        assert_eq!(set.status(), 200);

        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/waiting-1")).await;
        customer.say("Is anyone there", Some("c-1")).await;
        let mail = smtp.wait_for(1).await;
        let mail = &mail[0];
        assert!(mail.contains("X-Envelope-To: admin@example.com"), "{mail}");
        assert!(mail.contains("Subject: A customer is waiting"), "{mail}");
        assert!(mail.contains("Is anyone there"), "{mail}");
        assert!(
            mail.contains(&app.http("/chat/server/waiting-1")),
            "a link to the conversation: {mail}"
        );
        outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
        assert_eq!(smtp.messages().len(), 1, "one alert per wait");
    }
}
