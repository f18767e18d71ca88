//! A visitor attaches a file inside the widget's chat frame (the same
//! attach tray as every chat view) on a page of another origin, sends it,
//! and the agent gets it: in the history and as the same bytes.

use serde_json::Value;

use super::host::{conversation_id, enter_chat, open_widget};
use super::shop::Shop;
use crate::browser::{click, wait_for, Chromedriver, WAIT};
use crate::common::{http_client, WsClient, AGENT_TOKEN};

const PICK_FILE: &str = "const dt = new DataTransfer();
    dt.items.add(new File(['order 1234 receipt'], 'receipt.txt', { type: 'text/plain' }));
    const input = document.getElementById('attach-input');
    input.files = dt.files;
    input.dispatchEvent(new Event('change'));
    return null;";

#[actix_web::test]
#[ignore = "needs chromium"]
async fn a_file_attached_in_the_widget_reaches_the_agent() {
    let (shop, app) = Shop::with_app(&[]).await;
    let driver = Chromedriver::start().await;
    let browser = driver.browser("visitor").await;
    open_widget(&browser, &shop.url("/page1")).await;
    enter_chat(&browser).await;
    let id = conversation_id(&browser).await;

    browser.js(PICK_FILE).await;
    let uploaded = "return document.querySelectorAll('#attach-tray .attach-item:not(.uploading)').length === 1;";
    wait_for("the file uploaded in the tray", WAIT, || async {
        match browser.js(uploaded).await {
            Value::Bool(true) => Ok(()),
            other => Err(other),
        }
    })
    .await;
    click(&browser, "#send").await;
    let stored = "const a = document.querySelector('.msg:not(.pending) .files a.download');
                  return Boolean(a && a.getAttribute('download') === 'receipt.txt');";
    wait_for("the file sent and stored", WAIT, || async {
        match browser.js(stored).await {
            Value::Bool(true) => Ok(()),
            other => Err(other),
        }
    })
    .await;

    let (_, _, history) = WsClient::join(&app.ws_as_agent(&format!("/ws/agent/{id}"))).await;
    let file = &history["messages"][0]["attachments"][0];
    assert_eq!(file["name"], "receipt.txt", "{history}");
    let file_id = file["id"].as_str().expect("an attachment id");
    let body = http_client()
        .get(app.http(&format!("/api/conversations/{id}/attachments/{file_id}")))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("GET the attachment")
        .text()
        .await
        .expect("its text");
    assert_eq!(body, "order 1234 receipt", "the same bytes");
    browser.quit().await;
}
