//! `kill -9` in the middle of an upload: what was acknowledged (a message
//! with its file) is there after the restart, and of the upload cut off
//! nothing is: no half file, no message.

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{created, png};
use crate::common::WsClient;
use crate::durability::Process;

#[actix_web::test]
async fn kill_9_during_an_upload_leaves_no_half_file_or_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Process::spawn_with(dir.path(), &[]);
    let addr = server.listening().await;
    let (mut customer, _, _) =
        WsClient::join(&format!("ws://{addr}/ws/customer/crash-upload")).await;
    let upload = reqwest::Client::new()
        .post(format!(
            "http://{addr}/chat/client/crash-upload/attachments?name=a.png"
        ))
        .body(png(40, 30))
        .send()
        .await
        .expect("upload");
    let id = created(upload).await["id"].as_str().expect("id").to_owned();
    customer
        .send_json(json!({"type":"message","text":"before","attachments":[id]}))
        .await;
    customer.wait_for("message").await;

    // Half of a 4 MB upload, then the crash.
    let mut cut = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /chat/client/crash-upload/attachments?name=big.txt HTTP/1.1\r\n\
         Host: {addr}\r\nContent-Type: text/plain\r\nContent-Length: 4000000\r\n\r\n"
    );
    cut.write_all(head.as_bytes()).await.expect("head");
    cut.write_all(&vec![b'x'; 2_000_000])
        .await
        .expect("half the body");
    cut.flush().await.expect("flush");
    server.kill_9().await;

    let mut again = Process::spawn_with(dir.path(), &[]);
    let addr = again.listening().await;
    let (_, _, history) = WsClient::join(&format!("ws://{addr}/ws/customer/crash-upload")).await;
    let messages = history["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "{history}");
    assert_eq!(messages[0]["attachments"][0]["id"], id.as_str());
    let db = rusqlite::Connection::open(dir.path().join("support-chat.db")).expect("open db");
    let files: Vec<(String, Option<i64>)> = db
        .prepare("SELECT name, seq FROM attachments")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()
        })
        .expect("read attachments");
    assert_eq!(files, vec![("a.png".to_owned(), Some(1))]);
    again.sigterm();
}
