//! Routing in real browsers (issue 13): two agents online, two customers
//! write, each agent is given one; Ada transfers hers to Ben with a note,
//! and Ben sees it under Mine with an alert.

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{
    click, fill_login_form_as, screenshot, set_viewport, wait_for, wait_for_console, Browser,
    Chromedriver, DESKTOP, WAIT,
};
use crate::common::{spawn_app_with, TestApp, WsClient, ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD};

const BEN_EMAIL: &str = "ben@example.com";
const BEN_PASSWORD: &str = "ben password 1";

/// Logs in with the login form and waits for the console.
async fn open_console(app: &TestApp, browser: &Browser, email: &str, password: &str) {
    browser
        .goto(&app.http("/agent/login?next=%2Fagent"))
        .await
        .expect("login page");
    fill_login_form_as(browser, email, password).await;
    wait_for_console(browser).await;
}

/// The client ids of the console's rows, top to bottom.
async fn row_ids(browser: &Browser) -> Vec<String> {
    let ids = browser
        .js("return Array.from(document.querySelectorAll('#conv-list a.conv-row'), (r) => r.dataset.clientId);")
        .await;
    serde_json::from_value(ids).expect("ids")
}

/// Waits until the console lists exactly `want` (in any order).
async fn wait_for_rows(browser: &Browser, want: &[&str]) -> Vec<String> {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    wait_for(
        &format!("{}: rows {want:?}", browser.name),
        WAIT,
        || async {
            let mut now = row_ids(browser).await;
            now.sort();
            if now == want {
                Ok(now)
            } else {
                Err(now)
            }
        },
    )
    .await
}

/// `#view-{view}`'s count, once it is `want`.
async fn wait_for_view_count(browser: &Browser, view: &str, want: u64) {
    let script =
        format!("return Number(document.querySelector('#view-{view} .view-count').dataset.count);");
    wait_for(
        &format!("{}: {view} count {want}", browser.name),
        WAIT,
        || async {
            match browser.js(&script).await {
                Value::Number(n) if n.as_u64() == Some(want) => Ok(()),
                other => Err(other),
            }
        },
    )
    .await;
}

/// Waits until `script` returns `want` in `browser`.
async fn wait_for_js(browser: &Browser, what: &str, script: &str, want: Value) {
    wait_for(&format!("{}: {what}", browser.name), WAIT, || async {
        let now = browser.js(script).await;
        if now == want {
            Ok(())
        } else {
            Err(now)
        }
    })
    .await;
}

/// Chooses `value` in the `<select id={select}>` once it offers it (its
/// options come from the server after the page loads).
async fn choose(browser: &Browser, select: &str, value: &str) {
    wait_for_js(
        browser,
        &format!("{value} among the choices of #{select}"),
        &format!("return Boolean(document.querySelector('#{select} option[value=\"{value}\"]'));"),
        json!(true),
    )
    .await;
    browser
        .find(Locator::Id(select))
        .await
        .expect("the select")
        .select_by_value(value)
        .await
        .expect("choose an option");
}

async fn customer_writes(app: &TestApp, id: &str) -> WsClient {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    customer.say("Where is my parcel?", None).await;
    customer.wait_for("message").await;
    customer
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn each_agent_gets_one_and_a_transfer_lands_under_mine_with_an_alert() {
    let driver = Chromedriver::start().await;
    let app = spawn_app_with(&["--auto-assign", "round-robin"]).await;
    let admin = app.admin_cookie().await;
    app.invited_agent(&admin, "Ben", BEN_EMAIL, BEN_PASSWORD)
        .await;
    let (ada, ben) = tokio::join!(driver.browser("ada"), driver.browser("ben"));
    tokio::join!(
        open_console(&app, &ada, ADMIN_EMAIL, ADMIN_PASSWORD),
        open_console(&app, &ben, BEN_EMAIL, BEN_PASSWORD)
    );
    // Both see each other online.
    for (browser, colleague) in [(&ada, "Ben"), (&ben, ADMIN_NAME)] {
        let script = "return Array.from(document.querySelectorAll('#roster .roster-agent[data-status=online] .roster-name'), (e) => e.textContent);";
        wait_for(
            &format!("{}: {colleague} online", browser.name),
            WAIT,
            || async {
                let names = browser.js(script).await;
                if names
                    .as_array()
                    .is_some_and(|n| n.iter().any(|n| n == colleague))
                {
                    Ok(())
                } else {
                    Err(names)
                }
            },
        )
        .await;
    }
    click(&ada, "#view-mine").await;
    click(&ben, "#view-mine").await;

    let _first = customer_writes(&app, "parcel-1").await;
    let _second = customer_writes(&app, "parcel-2").await;
    tokio::join!(
        wait_for_view_count(&ada, "mine", 1),
        wait_for_view_count(&ben, "mine", 1)
    );
    let ada_mine = row_ids(&ada).await;
    let ben_mine = row_ids(&ben).await;
    assert_eq!(
        (ada_mine.len(), ben_mine.len()),
        (1, 1),
        "one each: {ada_mine:?} {ben_mine:?}"
    );
    assert_ne!(ada_mine, ben_mine);
    let transferred = ada_mine[0].clone();

    // Ada opens hers, sees she has it, and gives it to Ben with a note.
    click(
        &ada,
        &format!("#conv-list a.conv-row[data-client-id='{transferred}']"),
    )
    .await;
    wait_for_js(
        &ada,
        &format!("{transferred} is hers"),
        "const a = document.getElementById('assignee'); return a && a.textContent;",
        json!("Assigned to Me"),
    )
    .await;
    // Ben is agent 2.
    choose(&ada, "assign", "2").await;
    ada.find(Locator::Id("assign-note"))
        .await
        .expect("the note field")
        .send_keys("VIP: asked twice already")
        .await
        .expect("type the note");
    click(&ada, "#transfer").await;

    // Ben is alerted (he was when he was given his own, too), and it is
    // under his Mine; Ada's Mine is empty.
    let find_alert = format!(
        "const a = document.querySelector(\".assigned-alert[data-client-id='{transferred}']\"); \
         return a && {{id: a.dataset.clientId, text: a.textContent}};"
    );
    let alert = wait_for("ben: the alert", WAIT, || async {
        let alert = ben.js(&find_alert).await;
        if alert.is_object() {
            Ok(alert)
        } else {
            Err(alert)
        }
    })
    .await;
    assert_eq!(alert["id"], json!(transferred));
    let text = alert["text"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("{ADMIN_NAME} gave you conversation {transferred}")),
        "{text}"
    );
    assert!(text.contains("VIP: asked twice already"), "{text}");
    let both = [ada_mine[0].as_str(), ben_mine[0].as_str()];
    wait_for_rows(&ben, &both).await;
    wait_for_view_count(&ben, "mine", 2).await;
    wait_for_rows(&ada, &[]).await;

    // Ada's page shows the transfer and the note, as agents-only items.
    let items = wait_for("ada: the transfer and the note", WAIT, || async {
        let items = ada
            .js("return Array.from(document.querySelectorAll('#messages .msg'), (m) => [m.className, m.querySelector('.text').textContent]);")
            .await;
        if items.as_array().is_some_and(|i| i.len() == 4) {
            Ok(items)
        } else {
            Err(items)
        }
    })
    .await;
    assert!(
        items[2][0].as_str().unwrap_or_default().contains("event"),
        "{items}"
    );
    assert_eq!(items[2][1], format!("{ADMIN_NAME} transferred this to Ben"));
    assert!(
        items[3][0].as_str().unwrap_or_default().contains("note"),
        "{items}"
    );

    set_viewport(&ada, DESKTOP).await;
    set_viewport(&ben, DESKTOP).await;
    screenshot(&ada, "routing-transferred-from").await;
    screenshot(&ben, "routing-transferred-to").await;
    ada.assert_no_script_errors().await;
    ben.assert_no_script_errors().await;
    ada.quit().await;
    ben.quit().await;
    app.stop().await;
    drop(driver);
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn a_saved_reply_is_typed_with_a_slash_and_a_label_shows_in_the_list() {
    let driver = Chromedriver::start().await;
    let app = spawn_app_with(&[]).await;
    let admin = app.admin_cookie().await;
    let http = crate::common::http_client();
    let post = |path: &str, body: Value| {
        http.post(app.http(path))
            .header("cookie", &admin)
            .header("origin", app.http(""))
            .json(&body)
            .send()
    };
    let made = post(
        "/api/replies",
        json!({"shortcut":"refund","name":"Refund policy","text":"Refunds take 5 working days."}),
    )
    .await
    .expect("POST reply");
    assert_eq!(made.status(), 201);
    let made = post("/api/labels", json!({"name":"VIP","color":"#aa00ff"}))
        .await
        .expect("POST label");
    assert_eq!(made.status(), 201);
    let mut customer = customer_writes(&app, "slash-1").await;

    let ada = driver.browser("ada").await;
    open_console(&app, &ada, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    click(&ada, "#conv-list a.conv-row[data-client-id='slash-1']").await;
    let input = ada.find(Locator::Id("input")).await.expect("the composer");
    input.send_keys("/ref").await.expect("type /ref");
    wait_for_js(&ada, "the refund reply offered", "return Array.from(document.querySelectorAll('#reply-suggestions .reply-option'), (o) => o.dataset.shortcut);", json!(["refund"])).await;
    input.send_keys("\u{E007}").await.expect("Enter picks it");
    let value = ada
        .js("return document.getElementById('input').value;")
        .await;
    assert_eq!(value, json!("Refunds take 5 working days."));
    input.send_keys("\u{E007}").await.expect("Enter sends it");
    let sent = customer.wait_for("message").await;
    assert_eq!(sent["text"], "Refunds take 5 working days.");

    // The label, from the conversation header, shows on the row.
    // VIP is label 1.
    choose(&ada, "add-label", "1").await;
    wait_for_js(
        &ada,
        "the VIP chip on the row",
        "const c = document.querySelector(\"a.conv-row[data-client-id='slash-1'] .label-chip\"); return c && c.textContent;",
        json!("VIP"),
    )
    .await;
    // The search box finds words of messages, not only ids.
    ada.find(Locator::Id("search"))
        .await
        .expect("#search")
        .send_keys("parcel")
        .await
        .expect("type a word");
    wait_for_js(&ada, "the conversation found by its text", "return Array.from(document.querySelectorAll('#message-results .search-hit'), (h) => [h.dataset.clientId, h.querySelector('mark') && h.querySelector('mark').textContent]);", json!([["slash-1", "parcel"]])).await;
    ada.assert_no_script_errors().await;
    ada.quit().await;
    app.stop().await;
    drop(driver);
}
