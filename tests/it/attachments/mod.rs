//! Attachments (issue 16): uploads from both sides, messages that send
//! them live, in history, `since`, paging and REST; the safety rules
//! (type from content, limits, names, headers, who may fetch) in
//! `safety.rs`; a crash mid-upload in `crash.rs`.

mod crash;
mod safety;

use std::io::Cursor;

use reqwest::header::HeaderMap;
use serde_json::{json, Value};

use crate::common::on_each_backend;
use crate::common::{http_client, spawn_app, TestApp, WsClient, AGENT_TOKEN};

/// A `width`×`height` PNG of one colour.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode PNG");
    out.into_inner()
}

/// The customer's upload of `bytes` as the raw body, named `name`.
pub(crate) async fn customer_upload(
    app: &TestApp,
    client: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    http_client()
        .post(app.http(&format!("/chat/client/{client}/attachments")))
        .query(&[("name", name)])
        .header("content-type", "application/octet-stream")
        .body(bytes)
        .send()
        .await
        .expect("upload")
}

/// The agent's upload of `bytes` as the `file` field of a multipart form.
pub(crate) async fn agent_upload(
    app: &TestApp,
    client: &str,
    name: &str,
    bytes: &[u8],
) -> reqwest::Response {
    let boundary = "----support-chat-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    http_client()
        .post(app.http(&format!("/api/conversations/{client}/attachments")))
        .bearer_auth(AGENT_TOKEN)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload")
}

pub(crate) async fn created(response: reqwest::Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON answer");
    assert_eq!(status, 201, "upload refused: {body}");
    body
}

pub(crate) async fn customer_fetch(app: &TestApp, client: &str, path: &str) -> reqwest::Response {
    http_client()
        .get(app.http(&format!("/chat/client/{client}/attachments/{path}")))
        .send()
        .await
        .expect("fetch")
}

pub(crate) async fn agent_fetch(app: &TestApp, client: &str, path: &str) -> reqwest::Response {
    http_client()
        .get(app.http(&format!("/api/conversations/{client}/attachments/{path}")))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("fetch")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

fn attachment_ids(message: &Value) -> Vec<String> {
    message["attachments"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|a| a["id"].as_str().expect("id").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

on_each_backend! {
    async fn a_pasted_screenshot_reaches_the_agent_live_in_history_and_over_rest() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/shot-1")).await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/shot-1")).await;
        customer.expect("presence").await;

        let upload =
            created(customer_upload(&app, "shot-1", "screenshot.png", png(800, 600)).await).await;
        assert_eq!(upload["type"], "image/png");
        assert_eq!(upload["name"], "screenshot.png");
        assert_eq!(
            (upload["width"].as_u64(), upload["height"].as_u64()),
            (Some(800), Some(600))
        );
        let id = upload["id"].as_str().expect("id").to_owned();

        customer
            .send_json(json!({"type":"message","text":"","id":"c-1","attachments":[id]}))
            .await;
        let ack = customer.wait_for("message").await;
        let live = agent.wait_for("message").await;
        for message in [&ack, &live] {
            assert_eq!(attachment_ids(message), vec![id.clone()]);
            assert_eq!(message["attachments"][0]["type"], "image/png");
            assert_eq!(message["attachments"][0]["size"], upload["size"]);
            assert_eq!(message["text"], "", "the caption is optional");
        }
        let list: Value = app.agent_json("/api/conversations?search=shot-1").await;
        assert_eq!(
            list["items"][0]["preview"], "📎 screenshot.png",
            "a message without text previews its files"
        );

        let full = agent_fetch(&app, "shot-1", &id).await;
        assert_eq!(full.status(), 200);
        assert_eq!(header(full.headers(), "content-type"), "image/png");
        assert!(header(full.headers(), "content-disposition").starts_with("inline;"));
        let full = image::load_from_memory(&full.bytes().await.expect("body")).expect("an image");
        assert_eq!((full.width(), full.height()), (800, 600));
        let thumb = customer_fetch(&app, "shot-1", &format!("{id}/thumbnail")).await;
        assert_eq!(thumb.status(), 200);
        let thumb = image::load_from_memory(&thumb.bytes().await.expect("body")).expect("an image");
        assert_eq!((thumb.width(), thumb.height()), (320, 240));

        // History on both sides, `since` and paging, and REST carry it.
        let (_, _, history) = WsClient::join(&app.ws("/ws/customer/shot-1")).await;
        assert_eq!(attachment_ids(&history["messages"][0]), vec![id.clone()]);
        agent.say("got it", None).await;
        agent.wait_for("message").await;
        let (mut paging, _, resumed) = WsClient::join(&app.ws("/ws/customer/shot-1?since=1")).await;
        assert_eq!(resumed["messages"].as_array().map(Vec::len), Some(1));
        paging
            .send_json(json!({"type":"history_before","before":2,"limit":5}))
            .await;
        let page = paging.wait_for("history").await;
        assert_eq!(attachment_ids(&page["messages"][0]), vec![id.clone()]);
        let (_, _, agent_history) = WsClient::join(&app.ws_as_agent("/ws/agent/shot-1")).await;
        assert_eq!(
            attachment_ids(&agent_history["messages"][0]),
            vec![id.clone()]
        );
        let rest: Value = app.agent_json("/api/conversations/shot-1/messages").await;
        assert_eq!(attachment_ids(&rest["messages"][0]), vec![id]);
    }
}

on_each_backend! {
    async fn an_agent_sends_a_pdf_with_a_caption_and_the_customer_downloads_it() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/pdf-1")).await;
        customer.say("please send the invoice", None).await;
        customer.wait_for("message").await;

        let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
        let upload = created(agent_upload(&app, "pdf-1", "Rechnung März.pdf", &pdf).await).await;
        assert_eq!(upload["type"], "application/pdf");
        assert!(upload.get("width").is_none(), "no size for a document");
        let id = upload["id"].as_str().expect("id").to_owned();
        let sent = http_client()
            .post(app.http("/api/conversations/pdf-1/messages"))
            .bearer_auth(AGENT_TOKEN)
            .json(&json!({"text":"here it is","attachments":[id]}))
            .send()
            .await
            .expect("POST");
        assert_eq!(sent.status(), 201, "acknowledged once stored with its file");
        let live = customer.wait_for("message").await;
        assert_eq!(live["text"], "here it is");
        assert_eq!(live["attachments"][0]["name"], "Rechnung März.pdf");

        let download = customer_fetch(&app, "pdf-1", &id).await;
        assert_eq!(download.status(), 200);
        let headers = download.headers().clone();
        assert_eq!(header(&headers, "content-type"), "application/pdf");
        assert_eq!(
            header(&headers, "content-disposition"),
            "attachment; filename=\"Rechnung M_rz.pdf\"; filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf"
        );
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(&headers, "content-security-policy"),
            "sandbox; default-src 'none'"
        );
        assert_eq!(
            download.bytes().await.expect("body").as_ref(),
            pdf.as_slice()
        );

        // A file is sent once: a second message cannot take it again.
        let again = http_client()
            .post(app.http("/api/conversations/pdf-1/messages"))
            .bearer_auth(AGENT_TOKEN)
            .json(&json!({"text":"again","attachments":[upload["id"]]}))
            .send()
            .await
            .expect("POST");
        assert_eq!(again.status(), 400);
    }
}
