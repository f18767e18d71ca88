//! Attachments in a real browser: the customer pastes a screenshot into
//! the composer, it uploads (progress, then its name in the tray), sends,
//! and the agent's page shows its thumbnail, which opens full size; the
//! agent attaches a text file with the file picker and the customer gets a
//! named download with its size; an upload on a slow line shows its
//! progress and can be cancelled, storing nothing; in the console, a file dropped on the
//! conversation uploads and sends.

use crate::browser::{
    click, fill_login_form, wait_for, wait_for_console, wait_for_state, Browser, Chromedriver, WAIT,
};
use crate::common::{spawn_app, WsClient, AGENT_TOKEN};
use serde_json::json;

/// Pastes a `width`×`height` PNG drawn on a canvas into `#input`.
const PASTE_IMAGE: &str = r#"
const [width, height] = arguments;
const canvas = document.createElement('canvas');
canvas.width = width;
canvas.height = height;
const g = canvas.getContext('2d');
g.fillStyle = '#c33';
g.fillRect(0, 0, width, height);
const data = atob(canvas.toDataURL('image/png').split(',')[1]);
const bytes = Uint8Array.from(data, (c) => c.charCodeAt(0));
const dt = new DataTransfer();
dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
const input = document.getElementById('input');
input.focus();
input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
"#;

async fn until_true(browser: &Browser, what: &str, script: &str) {
    wait_for(what, WAIT, || async {
        if browser.js(script).await == true {
            Ok(())
        } else {
            // What the page shows, for the failure message.
            let shown = "return [document.getElementById('messages').innerHTML,
                                 document.getElementById('notice').textContent];";
            Err(browser.js(shown).await)
        }
    })
    .await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_pasted_screenshot_shows_as_a_thumbnail_on_the_agents_page() {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    let (customer, agent) = tokio::join!(driver.browser("customer"), driver.browser("agent"));
    customer
        .goto(&app.http("/chat/client/paste-shot"))
        .await
        .expect("customer page");
    agent
        .goto(&app.http(&format!("/chat/server/paste-shot?token={AGENT_TOKEN}")))
        .await
        .expect("agent page");
    wait_for_state(&customer, "connected", WAIT).await;
    wait_for_state(&agent, "connected", WAIT).await;

    customer
        .js_with(PASTE_IMAGE, vec![200.into(), 120.into()])
        .await;
    until_true(
        &customer,
        "the pasted image to finish uploading",
        "return document.querySelectorAll('#attach-tray .attach-item:not(.uploading)').length === 1;",
    )
    .await;
    click(&customer, "#send").await;

    let thumbnail = "const img = document.querySelector('.msg:not(.pending) .files a.image img.thumb');
                     return Boolean(img && img.complete && img.naturalWidth === 200 && img.naturalHeight === 120);";
    until_true(&agent, "the thumbnail on the agent's page", thumbnail).await;
    until_true(&customer, "the customer's own copy, stored", thumbnail).await;
    let full = agent
        .js("return document.querySelector('.msg .files a.image').getAttribute('href');")
        .await;
    let full = full.as_str().expect("a link to the full image").to_owned();
    assert!(
        full.starts_with("/api/conversations/paste-shot/attachments/"),
        "{full}"
    );
    assert!(!full.ends_with("/thumbnail"), "{full}");

    // The agent's file picker: a text file becomes a named download.
    agent
        .js("const dt = new DataTransfer();
             dt.items.add(new File(['order 1234 receipt'], 'receipt.txt', { type: 'text/plain' }));
             const input = document.getElementById('attach-input');
             input.files = dt.files;
             input.dispatchEvent(new Event('change'));")
        .await;
    until_true(
        &agent,
        "the receipt to finish uploading",
        "return document.querySelectorAll('#attach-tray .attach-item:not(.uploading)').length === 1;",
    )
    .await;
    click(&agent, "#send").await;
    until_true(
        &customer,
        "the receipt as a download",
        "const a = document.querySelector('.msg .files a.download');
         return Boolean(a && a.getAttribute('download') === 'receipt.txt'
           && a.querySelector('.file-size').textContent === '18 B');",
    )
    .await;

    // A slow line: the progress bar shows, and Cancel stops the upload.
    customer.cdp("Network.enable", json!({})).await;
    customer
        .cdp(
            "Network.emulateNetworkConditions",
            json!({"offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 20_000}),
        )
        .await;
    customer
        .js("const dt = new DataTransfer();
             dt.items.add(new File(['x'.repeat(2000000)], 'huge-log.txt', { type: 'text/plain' }));
             const input = document.getElementById('attach-input');
             input.files = dt.files;
             input.dispatchEvent(new Event('change'));")
        .await;
    until_true(
        &customer,
        "the upload's progress bar",
        "return document.querySelectorAll('#attach-tray .attach-item.uploading progress').length === 1;",
    )
    .await;
    click(&customer, "#attach-tray .attach-cancel").await;
    until_true(
        &customer,
        "the tray to empty",
        "return document.getElementById('attach-tray').hidden
                && document.getElementById('notice').hidden;",
    )
    .await;
    let db = rusqlite::Connection::open(app.data_dir.path().join("support-chat.db")).expect("db");
    let kept: i64 = db
        .query_row(
            "SELECT count(*) FROM attachments WHERE name = 'huge-log.txt'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(kept, 0, "a cancelled upload stores nothing");

    customer.assert_no_script_errors().await;
    agent.assert_no_script_errors().await;
    customer.quit().await;
    agent.quit().await;
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_file_dropped_on_the_console_reaches_the_customer() {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    app.admin_cookie().await;
    let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/drop-1")).await;
    customer.say("can you send the manual?", None).await;
    customer.wait_for("message").await;
    let agent = driver.browser("agent").await;
    agent
        .goto(&app.http("/agent/login?next=/agent"))
        .await
        .expect("login page");
    fill_login_form(&agent).await;
    wait_for_console(&agent).await;
    agent
        .goto(&app.http("/agent#drop-1"))
        .await
        .expect("the conversation");
    wait_for_state(&agent, "connected", WAIT).await;

    agent
        .js(
            "const dt = new DataTransfer();
             dt.items.add(new File(['%PDF-1.4 manual'], 'manual.pdf', { type: 'application/pdf' }));
             const view = document.querySelector('.chat-view');
             view.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
             view.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));",
        )
        .await;
    until_true(
        &agent,
        "the dropped file to finish uploading",
        "return document.querySelectorAll('#attach-tray .attach-item:not(.uploading)').length === 1;",
    )
    .await;
    click(&agent, "#send").await;
    let live = customer.wait_for("message").await;
    assert_eq!(live["attachments"][0]["name"], "manual.pdf");
    assert_eq!(live["attachments"][0]["type"], "application/pdf");
    until_true(
        &agent,
        "the console's own copy, stored",
        "const a = document.querySelector('.msg:not(.pending) .files a.download');
         return Boolean(a && a.getAttribute('download') === 'manual.pdf');",
    )
    .await;
    agent.assert_no_script_errors().await;
    agent.quit().await;
}
