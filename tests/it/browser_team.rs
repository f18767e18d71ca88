//! The account pages in real browsers (see `browser` for the fixture): the
//! first start's setup page, an invite accepted by a colleague, the team
//! page (invite, disable, API tokens), each in English and Chinese.

use fantoccini::Locator;
use serde_json::{json, Value};

use crate::browser::{
    assert_all_labels_in, click, screenshot, set_viewport, switch_language, wait_for,
    wait_for_console, wait_for_shown, Browser, Chromedriver, DESKTOP, LEFTOVER_TEXT, PHONE, WAIT,
};
use crate::common::{http_client, spawn_app, ADMIN_EMAIL, ADMIN_NAME, ADMIN_PASSWORD};

/// Types `keys` into the field with id `id`.
async fn type_into(browser: &Browser, id: &str, keys: &str) {
    browser
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|e| panic!("no #{id}: {e}"))
        .send_keys(keys)
        .await
        .unwrap_or_else(|e| panic!("type into #{id}: {e}"));
}

/// Waits until the browser is on `path`.
async fn wait_for_path(browser: &Browser, path: &str) {
    wait_for(&format!("the page {path}"), WAIT, || async {
        match browser.current_url().await {
            Ok(url) if url.path() == path => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

/// Waits for `selector`'s `data-{key}` to be set, and returns it.
async fn wait_for_data(browser: &Browser, selector: &str, key: &str) -> String {
    let script = "const el = document.querySelector(arguments[0]); \
                  return el && el.dataset[arguments[1]] || null;";
    wait_for(&format!("{selector} data-{key}"), WAIT, || async {
        match browser
            .js_with(script, vec![json!(selector), json!(key)])
            .await
        {
            Value::String(value) => Ok(value),
            other => Err(other),
        }
    })
    .await
}

async fn assert_no_leftover_text(browser: &Browser) {
    assert_eq!(
        browser.js(LEFTOVER_TEXT).await,
        json!([]),
        "text that is a bug"
    );
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn the_first_admin_sets_up_invites_a_colleague_who_joins_and_is_disabled_with_the_console_open(
) {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    let (admin, colleague) = tokio::join!(driver.browser("admin"), driver.browser("colleague"));

    // The setup link from the log: the first admin, then the team page.
    let setup = app.setup_url.clone().expect("a setup link");
    admin
        .goto(&format!("{setup}&lang=zh"))
        .await
        .expect("setup page");
    assert_all_labels_in(&admin, "zh").await;
    switch_language(&admin, "en").await;
    assert_all_labels_in(&admin, "en").await;
    type_into(&admin, "name", ADMIN_NAME).await;
    type_into(&admin, "email", ADMIN_EMAIL).await;
    type_into(&admin, "password", ADMIN_PASSWORD).await;
    click(&admin, "#create").await;
    wait_for_path(&admin, "/agent/team").await;
    wait_for_shown(&admin, "#admin", true).await;

    // The admin invites a colleague; the page shows the link once.
    type_into(&admin, "invite-name", "Bea").await;
    type_into(&admin, "invite-email", "bea@example.com").await;
    click(&admin, "#invite-submit").await;
    let invite = wait_for_data(&admin, "#invite-link", "url").await;
    wait_for_shown(&admin, "#agents li[data-agent='2']", true).await;
    for (size, label) in [(DESKTOP, "desktop"), (PHONE, "phone")] {
        set_viewport(&admin, size).await;
        let overflow = admin
            .js("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        // Negative with a vertical scroll bar.
        assert!(
            overflow.as_i64().is_some_and(|o| o <= 0),
            "the team page fits a {label} screen: {overflow} px too wide"
        );
        assert_no_leftover_text(&admin).await;
        screenshot(&admin, &format!("team-{label}")).await;
    }

    // The colleague chooses a password and lands in the console.
    colleague.goto(&invite).await.expect("invite page");
    let name = colleague
        .find(Locator::Id("name"))
        .await
        .expect("#name")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(name.as_deref(), Some("Bea"), "the invite knows the name");
    type_into(&colleague, "password", "bea's own password").await;
    click(&colleague, "#accept").await;
    wait_for_path(&colleague, "/agent").await;
    wait_for_console(&colleague).await;

    // Disabled from the team page: the open console is logged out at once.
    click(&admin, "#agents li[data-agent='2'] [data-action='disable']").await;
    wait_for_shown(&colleague, "#logged-out", true).await;
    let setup_again = http_client().get(&setup).send().await.expect("setup page");
    assert_eq!(setup_again.status(), 403, "the setup link worked once");

    admin.assert_no_script_errors().await;
    colleague.assert_no_script_errors().await;
    admin.quit().await;
    colleague.quit().await;
    app.stop().await;
    drop(driver);
}

#[actix_web::test]
#[ignore = "needs chromium and chromium-driver"]
async fn an_agent_makes_an_api_token_in_the_team_page_uses_it_and_deletes_it() {
    let driver = Chromedriver::start().await;
    let app = spawn_app().await;
    app.admin_cookie().await;
    let agent = driver.browser("agent").await;
    agent
        .goto(&app.http("/agent/login?next=%2Fagent%2Fteam"))
        .await
        .expect("login page");
    crate::browser::fill_login_form(&agent).await;
    wait_for_path(&agent, "/agent/team").await;

    type_into(&agent, "token-name", "crm bot").await;
    click(&agent, "#new-token button").await;
    let token = wait_for_data(&agent, "#new-token-value", "token").await;
    wait_for_shown(&agent, "#tokens li [data-action='delete-token']", true).await;
    let me = |token: String| {
        let url = app.http("/api/me");
        async move {
            http_client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /api/me")
        }
    };
    let who: Value = me(token.clone()).await.json().await.expect("JSON");
    assert_eq!(who["name"], ADMIN_NAME, "the token acts as its agent");
    assert_no_leftover_text(&agent).await;

    click(&agent, "#tokens li [data-action='delete-token']").await;
    wait_for_shown(&agent, "#tokens li", false).await;
    assert_eq!(me(token).await.status(), 401, "a deleted token is refused");

    agent.assert_no_script_errors().await;
    agent.quit().await;
    app.stop().await;
    drop(driver);
}
