//! Customers' emails speak the language of the page they gave their
//! address on: a Chinese customer's unseen-reply email and transcript are
//! in Chinese, and their reopen link opens the page in Chinese; an
//! English customer's stay English.

use serde_json::{json, Value};

use crate::common::{http_client, TestApp, WsClient, AGENT_TOKEN};
use crate::email::outbox_settles;
use crate::email_unseen::{app_with, replies};
use crate::smtp::{free_port, MailCatcher};

/// The subject and plain text (with `\n` line ends) of the `n`th email
/// the catcher has, decoded by a MIME parser.
fn read(smtp: &MailCatcher, n: usize) -> (String, String) {
    let raw = &smtp.raw_messages()[n];
    let mail = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parsable email");
    let subject = mail.subject().expect("a subject").to_owned();
    let text = mail.body_text(0).expect("a plain text part");
    (subject, text.replace("\r\n", "\n"))
}

async fn ask_transcript(app: &TestApp, id: &str) {
    let asked = http_client()
        .post(app.http(&format!("/api/conversations/{id}/transcript")))
        .header("authorization", format!("Bearer {AGENT_TOKEN}"))
        .send()
        .await
        .expect("POST transcript");
    assert_eq!(asked.status(), 202);
    assert_eq!(
        asked.json::<Value>().await.expect("JSON"),
        json!({"queued": true})
    );
}

#[actix_web::test]
async fn a_chinese_customer_gets_chinese_emails() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = app_with(&smtp, &[]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/zh-1")).await;
    customer
        .send_json(json!({"type": "contact", "email": "li@example.com", "lang": "zh-CN"}))
        .await;
    let contact = customer.wait_for("contact").await;
    assert_eq!(contact["contact"]["lang"], "zh", "{contact}");
    customer.say("我的包裹在哪里", Some("c-1")).await;
    customer.wait_for("message").await;
    let agent_url = app.ws(&format!("/ws/agent/zh-1?token={AGENT_TOKEN}"));
    let (mut agent, _, _) = WsClient::join(&agent_url).await;
    replies(&mut customer, &mut agent, &["今天发货"]).await;

    smtp.wait_for(1).await;
    let (subject, text) = read(&smtp, 0);
    assert_eq!(subject, "您的对话有新回复", "{text}");
    assert!(
        text.contains("您离开时，我们的客服团队回复了您。"),
        "{text}"
    );
    assert!(text.contains("今天发货"), "{text}");
    let link = text
        .split("继续对话: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the reopen link")
        .to_owned();
    let opened = http_client().get(&link).send().await.expect("GET link");
    assert_eq!(opened.status(), 303);
    assert_eq!(
        opened.headers()["location"],
        "/chat/client/zh-1?lang=zh",
        "the page opens in Chinese too"
    );
    assert!(!text.contains("Continue the conversation"), "{text}");

    ask_transcript(&app, "zh-1").await;
    smtp.wait_for(2).await;
    let (subject, text) = read(&smtp, 1);
    assert_eq!(subject, "您的对话记录", "{text}");
    assert!(text.contains("以下是您与我们客服团队的对话。"), "{text}");
    assert!(text.contains("您:\n我的包裹在哪里"), "{text}");
    outbox_settles(app.metrics_addr.expect("metrics"), 2.0).await;
}

#[actix_web::test]
async fn a_customer_without_a_language_and_one_saying_english_get_english() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = app_with(&smtp, &[]).await;
    for (id, frame) in [
        (
            "en-1",
            json!({"type": "contact", "email": "a@example.com", "lang": "en"}),
        ),
        (
            "none-1",
            json!({"type": "contact", "email": "b@example.com"}),
        ),
    ] {
        let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
        customer.send_json(frame).await;
        customer.wait_for("contact").await;
        customer.say("Hello", Some("c-1")).await;
        customer.wait_for("message").await;
        ask_transcript(&app, id).await;
    }
    smtp.wait_for(2).await;
    for n in 0..2 {
        let (subject, text) = read(&smtp, n);
        assert_eq!(subject, "Transcript of your conversation", "{text}");
        assert!(text.contains("You:\nHello"), "{text}");
    }
}

#[actix_web::test]
async fn a_language_we_do_not_speak_is_refused() {
    let smtp = MailCatcher::start(free_port()).await;
    let app = app_with(&smtp, &[]).await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/fr-1")).await;
    customer
        .send_json(json!({"type": "contact", "email": "c@example.com", "lang": "fr"}))
        .await;
    let refused = customer.wait_for("error").await;
    assert_eq!(refused["code"], "invalid_contact", "{refused}");
}
