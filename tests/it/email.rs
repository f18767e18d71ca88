//! Email against a real SMTP server (aiosmtpd, see `smtp.rs`): the
//! transcript on resolve, without private notes, sent once; retries while
//! the mail server is down; the outbox surviving `kill -9`; failed emails
//! and "email is off" shown to admins.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::common::on_each_backend;
use crate::common::{
    eventually, http_client, spawn_app, spawn_app_with, TestApp, WsClient, AGENT_TOKEN,
};
use crate::durability::Process;
use crate::metrics::{scrape_at, value};
use crate::smtp::{free_port, smtp_url, MailCatcher};

pub(crate) const FROM: &str = "Support <support@example.com>";
const NOTE: &str = "internal: refund fraudster";

/// A conversation at `addr` whose customer left an email and asked for a
/// transcript, with a customer message, a private note and an agent reply;
/// then the agent resolves it.
async fn resolve_with_transcript(addr: SocketAddr, id: &str) {
    resolve(
        addr,
        id,
        json!({"type": "contact", "email": "ana@example.com", "transcript": true}),
    )
    .await;
}

/// A conversation at `addr` whose customer sent `contact`, with a customer
/// message, a private note and an agent reply; then the agent resolves it.
async fn resolve(addr: SocketAddr, id: &str, contact: Value) {
    let (mut customer, _, _) = WsClient::join(&format!("ws://{addr}/ws/customer/{id}")).await;
    customer.send_json(contact).await;
    customer.wait_for("contact").await;
    let agent_url = format!("ws://{addr}/ws/agent/{id}?token={AGENT_TOKEN}");
    let (mut agent, _, _) = WsClient::join(&agent_url).await;
    customer.say("Where is my parcel", Some("c-1")).await;
    agent.wait_for("message").await;
    agent
        .send_json(json!({"type": "message", "text": NOTE, "private": true, "id": "n-1"}))
        .await;
    let note = agent.wait_for("message").await;
    assert_eq!(note["private"], true, "{note}");
    agent.say("It ships today", Some("a-1")).await;
    let reply = agent.wait_for("message").await;
    assert_eq!(reply["text"], "It ships today");
    agent.send_json(json!({"type": "resolve"})).await;
    assert_eq!(agent.wait_for("status").await["status"], "resolved");
    agent.close().await;
    customer.close().await;
}

fn metrics_flag(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A server that mails through the SMTP server at `smtp_url` as [`FROM`],
/// its metrics on a free port; `extra` flags added.
async fn mailing_app(smtp_url: &str, extra: &[&str]) -> TestApp {
    let metrics = metrics_flag(free_port());
    let flags: Vec<&str> = [
        "--smtp-url",
        smtp_url,
        "--mail-from",
        FROM,
        "--metrics-bind",
        &metrics,
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .collect();
    spawn_app_with(&flags).await
}

/// Waits until the server at `metrics` has sent `sent` emails and has none
/// left to send.
pub(crate) async fn outbox_settles(metrics: SocketAddr, sent: f64) {
    eventually(
        "the outbox to be sent and empty",
        Duration::from_secs(20),
        || async move {
            let samples = scrape_at(metrics).await;
            (value(&samples, "support_chat_emails_sent_total") >= sent
                && value(&samples, "support_chat_outbox_pending") == 0.0)
                .then_some(())
        },
    )
    .await;
    let samples = scrape_at(metrics).await;
    assert_eq!(value(&samples, "support_chat_emails_sent_total"), sent);
}

on_each_backend! {
    async fn a_resolved_conversation_emails_its_transcript_once_without_private_notes() {
        let smtp = MailCatcher::start(free_port()).await;
        let app = mailing_app(&smtp.url(), &[]).await;
        resolve_with_transcript(app.addr, "transcript-1").await;
        let mail = smtp.wait_for(1).await;
        outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
        assert_eq!(smtp.messages().len(), 1, "sent exactly once");
        let mail = &mail[0];
        assert!(mail.contains("X-Envelope-To: ana@example.com"), "{mail}");
        assert!(
            mail.contains("From: Support <support@example.com>"),
            "{mail}"
        );
        assert!(
            mail.contains("Subject: Transcript of your conversation"),
            "{mail}"
        );
        assert!(mail.contains("multipart/alternative"), "{mail}");
        assert!(mail.contains("text/html"), "{mail}");
        assert!(
            mail.contains("Where is my parcel"),
            "the customer's words: {mail}"
        );
        assert!(mail.contains("It ships today"), "the agent's reply: {mail}");
        assert!(!mail.contains("fraudster"), "a private note leaked: {mail}");
        assert!(mail.contains("Message-ID: <transcript.3."), "{mail}");
        assert!(mail.contains("References: <conversation."), "{mail}");
        assert!(!mail.contains("<img"), "no tracking pixel: {mail}");
    }
}

#[actix_web::test]
async fn a_resolve_emails_a_transcript_only_to_a_customer_who_asked_for_one() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = mailing_app(&smtp.url(), &[]).await;
    let address = |who: &str| json!({"type": "contact", "email": format!("{who}@example.com")});
    resolve(app.addr, "not-asked", address("quiet")).await;
    let mut asked = address("asked");
    asked["transcript"] = json!(true);
    resolve(app.addr, "asked", asked).await;
    let mut changed_mind = address("undecided");
    changed_mind["transcript"] = json!(true);
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/undecided")).await;
    customer.send_json(changed_mind).await;
    assert_eq!(
        customer.wait_for("contact").await["contact"]["transcript"],
        true
    );
    customer
        .send_json(
            json!({"type": "contact", "email": "undecided@example.com", "transcript": false}),
        )
        .await;
    customer.wait_for("contact").await;
    customer.close().await;
    // A later detail leaves the opt-out as it was.
    resolve(
        app.addr,
        "undecided",
        json!({"type": "contact", "name": "Undecided"}),
    )
    .await;

    let mail = smtp.wait_for(1).await;
    // Queued with their resolves, the others would be sent by now.
    outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
    assert_eq!(smtp.messages().len(), 1, "one transcript");
    assert!(
        mail[0].contains("X-Envelope-To: asked@example.com"),
        "{}",
        mail[0]
    );
}

on_each_backend! {
    async fn while_the_mail_server_is_down_the_email_is_retried_then_delivered() {
        let port = free_port();
        let app = mailing_app(&smtp_url(port), &["--mail-retry-after", "300ms"]).await;
        let metrics = app.metrics_addr.expect("metrics");
        resolve_with_transcript(app.addr, "down-1").await;
        eventually(
            "two failed attempts",
            Duration::from_secs(20),
            || async move {
                let samples = scrape_at(metrics).await;
                (value(&samples, "support_chat_email_attempts_failed_total") >= 2.0
                    && value(&samples, "support_chat_outbox_pending") == 1.0)
                    .then_some(())
            },
        )
        .await;
        let smtp = MailCatcher::start(port).await;
        let mail = smtp.wait_for(1).await;
        assert!(mail[0].contains("It ships today"), "{}", mail[0]);
        outbox_settles(metrics, 1.0).await;
        assert_eq!(smtp.messages().len(), 1, "nothing lost, nothing twice");
    }
}

async fn email_status(app: &TestApp, cookie: &str) -> Value {
    let response = app.get_with("/api/email", cookie).await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("JSON")
}

on_each_backend! {
    async fn admins_see_that_email_is_off_and_which_emails_failed() {
        let off = spawn_app().await;
        let cookie = off.admin_cookie().await;
        assert_eq!(
            email_status(&off, &cookie).await,
            json!({"on": false, "failed": []})
        );

        // Nobody listens on this port: the one attempt allowed fails.
        let app = spawn_app_with(&[
            "--smtp-url",
            &smtp_url(free_port()),
            "--mail-from",
            FROM,
            "--mail-max-attempts",
            "1",
        ])
        .await;
        let cookie = app.admin_cookie().await;
        resolve_with_transcript(app.addr, "lost-1").await;
        let failed = eventually("the email to be given up", Duration::from_secs(20), || {
            let (app, cookie) = (&app, &cookie);
            async move {
                let status = email_status(app, cookie).await;
                assert_eq!(status["on"], true);
                status["failed"]
                    .as_array()
                    .filter(|f| !f.is_empty())
                    .cloned()
            }
        })
        .await;
        assert_eq!(failed[0]["client_id"], "lost-1");
        assert_eq!(failed[0]["recipient"], "ana@example.com");
        assert_eq!(failed[0]["attempts"], 1);
        assert!(
            failed[0]["last_error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{failed:?}"
        );
    }
}

#[actix_web::test]
async fn the_outbox_survives_kill_9_and_sends_exactly_once_after_the_restart() {
    let dir = TempDir::new().expect("temp dir");
    let smtp_port = free_port();
    let url = smtp_url(smtp_port);
    let flags = |metrics: &str| {
        [
            "--agent-token",
            AGENT_TOKEN,
            "--auto-assign",
            "off",
            "--smtp-url",
            &url,
            "--mail-from",
            FROM,
            "--mail-retry-after",
            "1s",
            "--metrics-bind",
            metrics,
        ]
        .map(str::to_owned)
    };
    let first_metrics = metrics_flag(free_port());
    let first_flags = flags(&first_metrics);
    let args: Vec<&str> = first_flags.iter().map(String::as_str).collect();
    let mut first = Process::spawn_with(dir.path(), &args);
    let addr = first.listening().await;
    resolve_with_transcript(addr, "crash-1").await;
    // Queued, and not sent: the mail server is not up yet.
    let metrics: SocketAddr = first_metrics.parse().expect("addr");
    eventually("a failed attempt", Duration::from_secs(20), || async move {
        let samples = scrape_at(metrics).await;
        (value(&samples, "support_chat_email_attempts_failed_total") >= 1.0).then_some(())
    })
    .await;
    first.kill_9().await;

    let smtp = MailCatcher::start(smtp_port).await;
    let second_metrics = metrics_flag(free_port());
    let second_flags = flags(&second_metrics);
    let args: Vec<&str> = second_flags.iter().map(String::as_str).collect();
    let mut second = Process::spawn_with(dir.path(), &args);
    second.listening().await;
    let mail = smtp.wait_for(1).await;
    assert!(mail[0].contains("It ships today"), "{}", mail[0]);
    outbox_settles(second_metrics.parse().expect("addr"), 1.0).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "sent exactly once after the restart"
    );
}

on_each_backend! {
    async fn an_agent_asks_for_a_transcript_sent_once_until_the_customer_unsubscribes() {
        let smtp = MailCatcher::start(free_port()).await;
        let app = mailing_app(&smtp.url(), &[]).await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/asked-1")).await;
        customer
            .send_json(json!({"type": "contact", "email": "ana@example.com"}))
            .await;
        customer.wait_for("contact").await;
        customer.say("Please send me this chat", Some("c-1")).await;
        customer.wait_for("message").await;
        let ask = |id: &'static str| {
            http_client()
                .post(app.http(&format!("/api/conversations/{id}/transcript")))
                .header("authorization", format!("Bearer {AGENT_TOKEN}"))
                .send()
        };
        let first = ask("asked-1").await.expect("POST");
        assert_eq!(first.status(), 202);
        assert_eq!(
            first.json::<Value>().await.expect("JSON"),
            json!({"queued": true})
        );
        let again = ask("asked-1").await.expect("POST");
        assert_eq!(
            again.json::<Value>().await.expect("JSON"),
            json!({"queued": false})
        );
        let (mut silent, _, _) = WsClient::join(&app.ws("/ws/customer/no-address")).await;
        silent.say("Hi", Some("c-1")).await;
        silent.wait_for("message").await;
        assert_eq!(ask("no-address").await.expect("POST").status(), 409);

        let mail = smtp.wait_for(1).await;
        assert!(mail[0].contains("Please send me this chat"), "{}", mail[0]);
        outbox_settles(app.metrics_addr.expect("metrics"), 1.0).await;
        assert_eq!(smtp.messages().len(), 1, "asked twice, sent once");

        // One click on the email's List-Unsubscribe: no more email.
        let url = mail[0]
            .lines()
            .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
            .and_then(|l| l.strip_suffix('>'))
            .expect("a List-Unsubscribe URL")
            .to_owned();
        assert!(mail[0].contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        let forged = format!("{url}0");
        let refused = http_client().post(&forged).send().await.expect("POST");
        assert_eq!(refused.status(), 404, "a forged unsubscribe URL");
        let done = http_client()
            .post(&url)
            .body("List-Unsubscribe=One-Click")
            .send()
            .await
            .expect("POST");
        assert_eq!(done.status(), 200);
        customer.say("One more thing", Some("c-2")).await;
        customer.wait_for("message").await;
        let after = ask("asked-1").await.expect("POST");
        assert_eq!(
            after.status(),
            409,
            "an unsubscribed customer gets no transcript"
        );
    }
}
