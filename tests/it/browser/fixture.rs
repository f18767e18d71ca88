//! The fixture: a server, a customer and an agent.

use super::*;

/// One test's world: a fresh server and two people, each in their own
/// browser, about conversation `id`. `finish` ends it and fails the test if
/// either page had a script error.
pub(crate) struct Chat {
    pub(crate) id: &'static str,
    pub(crate) app: TestApp,
    pub(crate) customer: Browser,
    pub(crate) agent: Browser,
    /// Declared last, so dropped last: it takes its browsers down with it,
    /// even when a test panics.
    pub(crate) driver: Chromedriver,
}

impl Chat {
    /// Starts chromedriver, the server and both browsers (on blank pages).
    pub(crate) async fn start(id: &'static str) -> Chat {
        Chat::start_with(id, &[]).await
    }

    /// `start` with extra server flags.
    pub(crate) async fn start_with(id: &'static str, flags: &[&str]) -> Chat {
        let driver = Chromedriver::start().await;
        let app = spawn_app_with(flags).await;
        // The agent's account, which `log_agent_in` logs in with.
        app.admin_cookie().await;
        let (customer, agent) = tokio::join!(driver.browser("customer"), driver.browser("agent"));
        Chat {
            id,
            app,
            customer,
            agent,
            driver,
        }
    }

    /// `start`, then the customer page and the agent's single-conversation
    /// page of `id`, both connected.
    pub(crate) async fn open(id: &'static str) -> Chat {
        let chat = Chat::start(id).await;
        tokio::join!(chat.open_customer(), chat.open_agent_page());
        chat
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.app.http(path)
    }

    /// Opens the customer page and waits until it is connected (welcome and
    /// history received).
    pub(crate) async fn open_customer(&self) {
        self.open_customer_with("").await;
    }

    /// `open_customer` with a query string, e.g. `?lang=zh`.
    pub(crate) async fn open_customer_with(&self, query: &str) {
        let url = self.url(&format!("/chat/client/{}{query}", self.id));
        self.customer.goto(&url).await.expect("customer page loads");
        wait_for_state(&self.customer, "connected", WAIT).await;
    }

    /// Logs the agent in with the login form (which sets the session
    /// cookie) and lands on `next`.
    pub(crate) async fn log_agent_in(&self, next: &str) {
        let query = serde_urlencoded::to_string([("next", next)]).expect("query");
        let url = self.url(&format!("/agent/login?{query}"));
        self.agent.goto(&url).await.expect("login page loads");
        fill_login_form(&self.agent).await;
        let landed = self.agent.current_url().await.expect("current url");
        assert_eq!(landed.path(), next, "login redirects to where it was asked");
    }

    /// The agent's single-conversation page, connected.
    pub(crate) async fn open_agent_page(&self) {
        self.log_agent_in(&format!("/chat/server/{}", self.id))
            .await;
        wait_for_state(&self.agent, "connected", WAIT).await;
    }

    /// The agent's console at `/agent`, with its list loaded.
    pub(crate) async fn open_console(&self) {
        self.log_agent_in("/agent").await;
        wait_for_console(&self.agent).await;
    }

    /// The console with this conversation open (`/agent#<id>`), connected.
    pub(crate) async fn open_console_on_conversation(&self) {
        self.open_console().await;
        let url = self.url(&format!("/agent#{}", self.id));
        self.agent.goto(&url).await.expect("console route");
        wait_for_state(&self.agent, "connected", WAIT).await;
    }

    /// Checks both pages for script errors, closes the browsers and stops
    /// the server (which must shut down cleanly).
    pub(crate) async fn finish(self) {
        let Chat {
            app,
            customer,
            agent,
            driver,
            ..
        } = self;
        customer.assert_no_script_errors().await;
        agent.assert_no_script_errors().await;
        customer.quit().await;
        agent.quit().await;
        app.stop().await;
        drop(driver);
    }
}

/// Types the admin's email and password into the login form and submits.
pub(crate) async fn fill_login_form(browser: &Browser) {
    fill_login_form_as(browser, ADMIN_EMAIL, ADMIN_PASSWORD).await;
}

/// Types `email` and `password` into the login form and submits.
pub(crate) async fn fill_login_form_as(browser: &Browser, email: &str, password: &str) {
    for (id, keys) in [("email", email), ("password", password)] {
        browser
            .find(Locator::Id(id))
            .await
            .expect("the login form")
            .send_keys(keys)
            .await
            .expect("type into the login form");
    }
    let before = browser.current_url().await.expect("current url");
    click(browser, "#login").await;
    let left = || async {
        match browser.current_url().await {
            Ok(now) if now != before => Ok(()),
            other => Err(format!("{other:?}")),
        }
    };
    wait_for("the login form to be submitted", WAIT, left).await;
}

/// Makes conversation `id` over plain sockets, without a browser: the
/// customer writes `said`; with `answer`, an agent replies and reads it all;
/// with `resolve` too, the agent then resolves it.
pub(crate) async fn seed_conversation(
    app: &TestApp,
    id: &str,
    said: &[&str],
    answer: Option<&str>,
    resolve: bool,
) {
    let (mut customer, _, _) = WsClient::join(&app.ws(&format!("/ws/customer/{id}"))).await;
    for text in said {
        customer.say(text, None).await;
        customer.wait_for("message").await; // stored
    }
    if let Some(answer) = answer {
        let url = app.ws_as_agent(&format!("/ws/agent/{id}"));
        let (mut agent, _, _) = WsClient::join(&url).await;
        agent.say(answer, None).await;
        let reply = agent.wait_for("message").await;
        agent
            .send_json(json!({"type": "read", "seq": reply["seq"]}))
            .await;
        // The customer hears of the read mark once it is stored.
        let read = customer.wait_for("read").await;
        assert_eq!(read["seq"], reply["seq"], "{id}: the agent's read mark");
        if resolve {
            agent.send_json(json!({"type": "resolve"})).await;
            let status = agent.wait_for("status").await;
            assert_eq!(status["status"], "resolved", "{id}: resolved");
        }
        agent.close().await;
    }
    customer.close().await;
}
