//! The reopen link of an email in a real browser: it opens the customer's
//! conversation with the reply they missed, and once expired it shows why.

use std::time::Duration;

use serde_json::json;

use crate::browser::{wait_for, wait_for_stored, Chromedriver, WAIT};
use crate::common::{eventually, http_client, spawn_app_with, WsClient};
use crate::email::FROM;
use crate::smtp::{free_port, MailCatcher};

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_link_in_an_email_reopens_the_conversation_in_a_browser_until_it_expires() {
    let driver = Chromedriver::start().await;
    let smtp = MailCatcher::start(free_port()).await;
    let url = smtp.url();
    let app = spawn_app_with(&[
        "--smtp-url",
        &url,
        "--mail-from",
        FROM,
        "--notify-unseen-after",
        "1s",
        // Long enough for a browser to start on a loaded machine.
        "--reopen-link-ttl",
        "20s",
    ])
    .await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/come-back")).await;
    customer
        .send_json(json!({"type": "contact", "email": "ana@example.com"}))
        .await;
    customer.wait_for("contact").await;
    customer.say("Hello", Some("c-1")).await;
    customer.close().await;
    let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/come-back")).await;
    agent.say("Your parcel ships today", Some("a-1")).await;
    agent.wait_for("message").await;

    let mail = smtp.wait_for(1).await;
    let at = mail[0].find("Continue the conversation: ").expect("a link") + 27;
    let link = mail[0][at..]
        .split_whitespace()
        .next()
        .expect("the link")
        .to_owned();

    // Another device: a fresh browser, no cookie.
    let browser = driver.browser("customer").await;
    browser.goto(&link).await.expect("open the link");
    wait_for_stored(&browser, &["Hello", "Your parcel ships today"]).await;
    browser.assert_no_script_errors().await;

    eventually("the link to expire", Duration::from_secs(40), || {
        let link = link.clone();
        async move {
            let status = http_client().get(&link).send().await.expect("GET").status();
            (status == 410).then_some(())
        }
    })
    .await;
    browser.goto(&link).await.expect("open the expired link");
    wait_for("the expired page", WAIT, || async {
        let text = browser
            .js("return document.body ? document.body.textContent : ''")
            .await;
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.contains("expired") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;
    browser.quit().await;
}

/// A Chinese customer, alone on the customer page, leaves their address
/// and ticks the transcript box: resolving the conversation emails them its
/// transcript, in Chinese.
#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_customer_who_ticks_the_box_gets_the_transcript_on_resolve() {
    let driver = Chromedriver::start().await;
    let smtp = MailCatcher::start(free_port()).await;
    let url = smtp.url();
    let app = spawn_app_with(&["--smtp-url", &url, "--mail-from", FROM]).await;
    let customer = driver.browser("customer").await;
    customer
        .goto(&app.http("/chat/client/optin-1?lang=zh"))
        .await
        .expect("open the customer page");
    // Nobody is online: the page asks for an email address.
    let shown = "const f = document.getElementById('away-form');
                 return Boolean(f && f.offsetParent);";
    wait_for("the email form", WAIT, || async {
        let on = customer.js(shown).await;
        if on == json!(true) {
            Ok(())
        } else {
            Err(on)
        }
    })
    .await;
    let label = customer
        .js("return document.querySelector('label[for=away-transcript]').textContent;")
        .await;
    assert_eq!(label, "对话解决后，将对话记录发送到我的邮箱");
    customer
        .js(
            "document.getElementById('away-email').value = 'li@example.com';
             document.getElementById('away-transcript').click();
             document.querySelector('#away-form button').click(); return null;",
        )
        .await;
    wait_for("the address saved", WAIT, || async {
        let saved = customer
            .js("return !document.getElementById('away-saved').hidden;")
            .await;
        if saved == json!(true) {
            Ok(())
        } else {
            Err(saved)
        }
    })
    .await;
    customer.assert_no_script_errors().await;

    let (mut agent, hello, _) = WsClient::join(&app.ws_as_agent("/ws/agent/optin-1")).await;
    assert_eq!(
        hello["contact"],
        json!({"name": null, "email": "li@example.com", "lang": "zh", "transcript": true}),
        "{hello}"
    );
    agent.say("已为您退款", Some("a-1")).await;
    agent.wait_for("message").await;
    agent.send_json(json!({"type": "resolve"})).await;
    assert_eq!(agent.wait_for("status").await["status"], "resolved");

    smtp.wait_for(1).await;
    let raw = &smtp.raw_messages()[0];
    let mail = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parsable email");
    assert_eq!(mail.subject(), Some("您的对话记录"));
    let text = mail.body_text(0).expect("plain text");
    assert!(text.contains("已为您退款"), "{text}");
    customer.quit().await;
}
