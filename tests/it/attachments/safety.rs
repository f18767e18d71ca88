//! What makes attachments safe: the type from the content (an HTML page
//! named `.png`, an SVG with a script and a decompression bomb refused),
//! the limits (file size, quota, upload rate), names that are never paths,
//! image metadata stripped, and only the two sides of a conversation may
//! fetch its files, never the customer a file only a private note sends.

use std::time::Duration;

use serde_json::{json, Value};

use super::{agent_fetch, agent_upload, created, customer_fetch, customer_upload, png};
use crate::common::on_each_backend;
use crate::common::{eventually, http_client, spawn_app, spawn_app_with, WsClient, AGENT_TOKEN};

async fn refused(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON error");
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[actix_web::test]
async fn content_decides_the_type_and_markup_or_executables_are_refused() {
    let app = spawn_app().await;
    let html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>".to_vec();
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    for (name, bytes) in [("cat.png", html), ("logo.svg", svg), ("setup.pdf", exe)] {
        let answer = refused(customer_upload(&app, "types-1", name, bytes).await).await;
        assert_eq!(answer, (415, "file_refused".to_owned()), "{name}");
    }
    let text =
        created(customer_upload(&app, "types-1", "notes.png", b"order 1234\n".to_vec()).await)
            .await;
    assert_eq!(
        text["type"], "text/plain; charset=utf-8",
        "a name never decides"
    );
}

/// A valid PNG of 1×1 pixel whose header claims `side`×`side`.
fn bomb(side: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    bytes[16..20].copy_from_slice(&side.to_be_bytes());
    bytes[20..24].copy_from_slice(&side.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[actix_web::test]
async fn a_decompression_bomb_is_refused_without_being_unpacked() {
    let app = spawn_app().await;
    let answer = refused(customer_upload(&app, "bomb-1", "small.png", bomb(60_000)).await).await;
    assert_eq!(answer, (415, "file_refused".to_owned()));
}

on_each_backend! {
    async fn limits_refuse_big_files_a_full_quota_and_fast_uploaders_storing_nothing() {
        let app = spawn_app_with(&[
            "--max-file-bytes",
            "1000",
            "--file-quota-bytes",
            "1500",
            "--upload-rate",
            "0.001",
            "--upload-burst",
            "3",
        ])
        .await;
        let big = refused(customer_upload(&app, "limits-1", "big.txt", vec![b'a'; 1001]).await).await;
        assert_eq!(big, (413, "payload_too_large".to_owned()));
        created(customer_upload(&app, "limits-1", "a.txt", vec![b'a'; 900]).await).await;
        let over = refused(customer_upload(&app, "limits-1", "b.txt", vec![b'b'; 900]).await).await;
        assert_eq!(over, (413, "quota_exceeded".to_owned()));
        let fast = refused(customer_upload(&app, "limits-1", "c.txt", vec![b'c'; 10]).await).await;
        assert_eq!(fast, (429, "rate_limited".to_owned()));
        // Another conversation has its own rate and quota.
        created(customer_upload(&app, "limits-2", "d.txt", vec![b'd'; 900]).await).await;
    }
}

#[actix_web::test]
async fn a_path_in_a_file_name_is_only_a_name() {
    let app = spawn_app().await;
    let upload =
        created(customer_upload(&app, "names-1", "../../etc/passwd", b"x".to_vec()).await).await;
    assert_eq!(upload["name"], "passwd");
    let id = upload["id"].as_str().expect("id");
    let download = customer_fetch(&app, "names-1", id).await;
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .expect("ascii");
    assert_eq!(
        disposition,
        "attachment; filename=\"passwd\"; filename*=UTF-8''passwd"
    );
    let traversal = customer_fetch(&app, "names-1", "..%2F..%2Fsupport-chat.db").await;
    assert_eq!(traversal.status(), 404);
}

/// A JPEG with an EXIF block carrying a GPS position.
fn jpeg_with_gps() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200]));
    let mut plain = std::io::Cursor::new(Vec::new());
    img.write_to(&mut plain, image::ImageFormat::Jpeg)
        .expect("JPEG");
    let plain = plain.into_inner();
    let payload = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude 48.858370 N GPSLongitude 2.294481 E";
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(payload);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

#[actix_web::test]
async fn exif_and_its_gps_position_never_leave_the_server() {
    let app = spawn_app().await;
    let original = jpeg_with_gps();
    assert!(String::from_utf8_lossy(&original).contains("GPSLatitude"));
    let upload = created(customer_upload(&app, "exif-1", "photo.jpg", original).await).await;
    assert_eq!(upload["type"], "image/jpeg");
    let id = upload["id"].as_str().expect("id");
    for path in [id.to_owned(), format!("{id}/thumbnail")] {
        let bytes = agent_fetch(&app, "exif-1", &path)
            .await
            .bytes()
            .await
            .expect("body");
        let seen = String::from_utf8_lossy(&bytes);
        assert!(
            !seen.contains("Exif") && !seen.contains("GPS"),
            "metadata in {path}"
        );
        image::load_from_memory(&bytes).expect("still an image");
    }
}

on_each_backend! {
    async fn only_the_two_sides_of_the_conversation_fetch_its_files() {
        let app = spawn_app().await;
        let upload = created(customer_upload(&app, "mine-1", "a.txt", b"private".to_vec()).await).await;
        let id = upload["id"].as_str().expect("id").to_owned();
        assert_eq!(customer_fetch(&app, "mine-1", &id).await.status(), 200);
        assert_eq!(customer_fetch(&app, "other-1", &id).await.status(), 404);
        assert_eq!(agent_fetch(&app, "other-1", &id).await.status(), 404);
        let anonymous = http_client()
            .get(app.http(&format!("/api/conversations/mine-1/attachments/{id}")))
            .send()
            .await
            .expect("GET");
        assert_eq!(anonymous.status(), 401);
        let no_agent_upload = http_client()
            .post(app.http("/api/conversations/mine-1/attachments?name=a.txt"))
            .body("hello")
            .send()
            .await
            .expect("POST");
        assert_eq!(no_agent_upload.status(), 401);

        // Another customer cannot send it either.
        let (mut thief, _, _) = WsClient::join(&app.ws("/ws/customer/other-1")).await;
        thief
            .send_json(json!({"type":"message","text":"look","attachments":[id]}))
            .await;
        let error = thief.wait_for("error").await;
        assert_eq!(error["code"], "unknown_attachment");
    }
}

on_each_backend! {
    async fn a_file_only_a_private_note_sends_stays_with_the_agents() {
        let app = spawn_app().await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/note-file")).await;
        customer.say("hello", None).await;
        customer.wait_for("message").await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/note-file")).await;
        let upload =
            created(agent_upload(&app, "note-file", "fraud-report.txt", b"internal").await).await;
        let id = upload["id"].as_str().expect("id").to_owned();
        assert_eq!(
            customer_fetch(&app, "note-file", &id).await.status(),
            404,
            "an agent's upload no message sent yet"
        );
        agent
            .send_json(json!({"type":"message","text":"","private":true,"attachments":[id]}))
            .await;
        let note = agent.wait_for("message").await;
        assert_eq!(note["private"], true);
        assert_eq!(note["attachments"][0]["id"], id.as_str());
        assert_eq!(customer_fetch(&app, "note-file", &id).await.status(), 404);
        assert_eq!(agent_fetch(&app, "note-file", &id).await.status(), 200);
        let (_, _, history) = WsClient::join(&app.ws("/ws/customer/note-file")).await;
        assert!(!history.to_string().contains(&id), "{history}");
    }
}

on_each_backend! {
    async fn an_upload_no_message_sends_is_removed_after_a_while() {
        let app = spawn_app_with(&["--unsent-file-expiry", "300ms"]).await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/unsent-1")).await;
        let kept = created(customer_upload(&app, "unsent-1", "kept.txt", b"kept".to_vec()).await).await;
        let dropped =
            created(customer_upload(&app, "unsent-1", "x.txt", b"dropped".to_vec()).await).await;
        let (kept, dropped) = (
            kept["id"].as_str().expect("id"),
            dropped["id"].as_str().expect("id"),
        );
        customer
            .send_json(json!({"type":"message","text":"","attachments":[kept]}))
            .await;
        customer.wait_for("message").await;
        eventually(
            "the unsent upload to go",
            Duration::from_secs(10),
            || async {
                (customer_fetch(&app, "unsent-1", dropped).await.status() == 404).then_some(())
            },
        )
        .await;
        assert_eq!(customer_fetch(&app, "unsent-1", kept).await.status(), 200);
    }
}

#[actix_web::test]
async fn erasing_a_conversation_deletes_its_files_and_the_export_lists_them() {
    let app = spawn_app().await;
    let admin = app.admin_cookie().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/erase-files")).await;
    let upload = created(customer_upload(&app, "erase-files", "a.png", png(10, 10)).await).await;
    let id = upload["id"].as_str().expect("id").to_owned();
    customer
        .send_json(json!({"type":"message","text":"see","attachments":[id]}))
        .await;
    customer.wait_for("message").await;
    let export: Value = http_client()
        .get(app.http("/api/conversations/erase-files/export"))
        .header("cookie", &admin)
        .send()
        .await
        .expect("export")
        .json()
        .await
        .expect("JSON");
    assert_eq!(export["attachments"][0]["id"], id.as_str());
    assert_eq!(export["messages"][0]["attachments"][0]["id"], id.as_str());
    assert_eq!(app.erase("erase-files", &admin).await, 204);
    let gone = http_client()
        .get(app.http(&format!("/api/conversations/erase-files/attachments/{id}")))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(gone.status(), 404);
}

#[actix_web::test]
async fn under_identity_verification_a_customer_uploads_and_fetches_with_their_sig() {
    use hmac::{Hmac, Mac};
    let app = spawn_app_with(&["--identity-secret", "website secret"]).await;
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"website secret").expect("key");
    mac.update(b"signed-1");
    let sig = hex::encode(mac.finalize().into_bytes());
    let unsigned = customer_upload(&app, "signed-1", "a.txt", b"hello".to_vec()).await;
    assert_eq!(unsigned.status(), 403);
    let signed = http_client()
        .post(app.http(&format!(
            "/chat/client/signed-1/attachments?name=a.txt&sig={sig}"
        )))
        .body("hello")
        .send()
        .await
        .expect("upload");
    let id = created(signed).await["id"].as_str().expect("id").to_owned();
    assert_eq!(customer_fetch(&app, "signed-1", &id).await.status(), 403);
    let fetched = customer_fetch(&app, "signed-1", &format!("{id}?sig={sig}")).await;
    assert_eq!(fetched.status(), 200);
}

#[actix_web::test]
async fn a_large_upload_on_a_slow_line_gets_time_for_its_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(&["--request-timeout", "1s"]).await;
    let mut slow = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let length = 200 * 1024;
    let head = format!(
        "POST /chat/client/slow-1/attachments?name=log.txt HTTP/1.1\r\nHost: {}\r\n\
         Content-Length: {length}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    slow.write_all(head.as_bytes()).await.expect("head");
    // Four quarters half a second apart: two seconds, twice the timeout
    // a small body gets.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        slow.write_all(&vec![b'a'; length / 4])
            .await
            .expect("a quarter");
    }
    let mut answer = String::new();
    slow.read_to_string(&mut answer).await.expect("answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
}

#[actix_web::test]
async fn a_message_may_send_at_most_25_mib_of_files() {
    let app = spawn_app().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/heavy-1")).await;
    let mut ids = Vec::new();
    for name in ["a.txt", "b.txt", "c.txt"] {
        let upload = customer_upload(&app, "heavy-1", name, vec![b'x'; 9 * 1024 * 1024]).await;
        ids.push(created(upload).await["id"].as_str().expect("id").to_owned());
    }
    customer
        .send_json(json!({"type":"message","text":"all three","id":"h-1","attachments":ids}))
        .await;
    let error = customer.wait_for("error").await;
    assert_eq!(
        (error["code"].as_str(), error["id"].as_str()),
        (Some("payload_too_large"), Some("h-1"))
    );
    customer
        .send_json(json!({"type":"message","text":"two","id":"h-2","attachments":ids[..2]}))
        .await;
    let sent = customer.wait_for("message").await;
    assert_eq!(sent["attachments"].as_array().map(Vec::len), Some(2));
}
