//! Files in customers' emails: each message's files are listed with their
//! name and size and a link the customer opens, signed for the conversation
//! when the server checks identities.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::attachments::{agent_upload, created};
use crate::common::on_each_backend;
use crate::common::{http_client, spawn_app_with, WsClient, AGENT_TOKEN};
use crate::email::FROM;
use crate::smtp::{free_port, MailCatcher};

const SECRET: &str = "website secret";

/// What the website computes for a customer: `hex(HMAC-SHA256(secret, id))`.
fn sig(client: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(client.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

on_each_backend! {
    async fn a_transcript_lists_the_files_with_links_the_customer_can_open() {
        let smtp = MailCatcher::start(free_port()).await;
        let url = smtp.url();
        let app = spawn_app_with(&[
            "--smtp-url",
            &url,
            "--mail-from",
            FROM,
            "--identity-secret",
            SECRET,
            "--require-identity",
        ])
        .await;
        let id = "files-1";
        let customer_url = app.ws(&format!("/ws/customer/{id}?sig={}", sig(id)));
        let (mut customer, _, _) = WsClient::join(&customer_url).await;
        customer
            .send_json(json!({"type": "contact", "email": "ana@example.com"}))
            .await;
        customer.wait_for("contact").await;
        customer.say("please send the invoice", Some("c-1")).await;
        customer.wait_for("message").await;

        let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".repeat(40);
        let upload = created(agent_upload(&app, id, "invoice.pdf", &pdf).await).await;
        let file = upload["id"].as_str().expect("id").to_owned();
        let sent = http_client()
            .post(app.http(&format!("/api/conversations/{id}/messages")))
            .bearer_auth(AGENT_TOKEN)
            .json(&json!({"text": "here it is", "attachments": [file]}))
            .send()
            .await
            .expect("POST");
        assert_eq!(sent.status(), 201);
        customer.wait_for("message").await;
        let asked = http_client()
            .post(app.http(&format!("/api/conversations/{id}/transcript")))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .expect("POST transcript");
        assert_eq!(asked.status(), 202);

        let mail = smtp.wait_for(1).await;
        let link = app.http(&format!(
            "/chat/client/{id}/attachments/{file}?sig={}",
            sig(id)
        ));
        let listed = format!("[invoice.pdf, 2 KB] {link}");
        assert!(mail[0].contains(&listed), "{listed} in {}", mail[0]);
        let opened = http_client().get(&link).send().await.expect("GET file");
        assert_eq!(opened.status(), 200);
        assert_eq!(opened.bytes().await.expect("body").as_ref(), pdf.as_slice());
        let unsigned = link.split('?').next().expect("path").to_owned();
        let refused = http_client().get(&unsigned).send().await.expect("GET");
        assert!(
            refused.status().is_client_error(),
            "the signature is what opens it"
        );
    }
}
