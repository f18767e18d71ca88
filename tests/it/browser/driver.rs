//! Chromedriver and the browser sessions it starts.

use super::*;

/// A running chromedriver child process. Dropping it asks chromedriver to
/// shut down (which quits the browsers it started) and then kills it, so
/// nothing outlives a test, even one that panicked.
pub(crate) struct DriverProcess {
    pub(crate) child: Child,
    pub(crate) port: u16,
}

impl DriverProcess {
    pub(crate) fn spawn() -> DriverProcess {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        DriverProcess { child, port }
    }

    /// Waits until chromedriver answers `GET /status` with `ready: true`.
    pub(crate) async fn wait_until_ready(&mut self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/status", self.port);
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("no answer");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited with {status}"));
            }
            match http.get(&url).send().await {
                Ok(response) => match response.json::<Value>().await {
                    Ok(body) if body["value"]["ready"] == true => return Ok(()),
                    Ok(body) => last = format!("not ready: {body}"),
                    Err(e) => last = format!("unreadable /status: {e}"),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(POLL).await;
        }
        Err(format!("port {}: {last}", self.port))
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        // The polite way first: chromedriver quits its browsers.
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = stream.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// A test's chromedriver, holding one of the browser slots.
pub(crate) struct Chromedriver {
    pub(crate) process: DriverProcess,
    pub(crate) _slot: SemaphorePermit<'static>,
}

impl Chromedriver {
    /// Starts chromedriver for one test; fails the test, saying what to
    /// install, when Chromium or chromedriver is missing (these tests are
    /// `#[ignore]`d, so they run only when asked for).
    pub(crate) async fn start() -> Chromedriver {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|path| !Path::new(path).exists())
            .collect();
        if !missing.is_empty() {
            let notice = format!(
                "the browser tests need {} (Debian packages chromium and chromium-driver)",
                missing.join(" and ")
            );
            panic!("{notice}");
        }
        let slot = BROWSER_SLOTS.acquire().await.expect("never closed");
        let mut errors = Vec::new();
        // The free port may be taken between finding and using it: retry.
        for _ in 0..3 {
            let mut process = DriverProcess::spawn();
            match process.wait_until_ready().await {
                Ok(()) => {
                    return Chromedriver {
                        process,
                        _slot: slot,
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        panic!("chromedriver did not start: {}", errors.join("; "));
    }

    /// A new browser session: its own headless Chromium with a fresh profile.
    pub(crate) async fn browser(&self, name: &'static str) -> Browser {
        self.session(name, false).await
    }

    /// Like `browser`, trusting self-signed certificates (the proxy test's).
    pub(crate) async fn browser_trusting_any_certificate(&self, name: &'static str) -> Browser {
        self.session(name, true).await
    }

    pub(crate) async fn session(&self, name: &'static str, insecure_certs: bool) -> Browser {
        let profile = TempDir::new().expect("profile dir");
        let capabilities = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": insecure_certs,
            // An alert must stay open, so that a test can see it.
            "unhandledPromptBehavior": "ignore",
            // Keep the console, for `script_errors`.
            "goog:loggingPrefs": { "browser": "ALL" },
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--remote-debugging-pipe",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("json! of an object")
        };
        let driver_url = format!("http://127.0.0.1:{}", self.process.port);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .unwrap_or_else(|e| panic!("{name}: cannot start a Chromium session: {e}"));
        Browser {
            client,
            name,
            driver_url,
            _profile: profile,
        }
    }
}

/// One person's browser. Derefs to the fantoccini `Client`.
pub(crate) struct Browser {
    pub(crate) client: Client,
    pub(crate) name: &'static str,
    pub(crate) driver_url: String,
    pub(crate) _profile: TempDir,
}

impl std::ops::Deref for Browser {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Browser {
    /// Ends the session (and its Chromium).
    pub(crate) async fn quit(self) {
        let _ = self.client.close().await;
    }

    /// Runs `script` (its `return` value comes back as JSON).
    pub(crate) async fn js(&self, script: &str) -> Value {
        self.js_with(script, vec![]).await
    }

    /// Runs `script` with `arguments[0..]` set to `args`.
    pub(crate) async fn js_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}\n{script}", self.name))
    }
}

impl Browser {
    /// Uncaught script errors in the page since the last call (console
    /// messages and failed loads are not counted).
    pub(crate) async fn script_errors(&self) -> Vec<String> {
        // chromedriver's own command, asked directly.
        let session = self.client.session_id().await.ok().flatten();
        let url = format!(
            "{}/session/{}/se/log",
            self.driver_url,
            session.expect("a session id")
        );
        let response = reqwest::Client::new()
            .post(&url)
            .json(&json!({ "type": "browser" }))
            .send()
            .await
            .and_then(|r| r.error_for_status());
        let body: Value = match response {
            Ok(response) => response.json().await.expect("browser log JSON"),
            Err(e) => panic!("{}: browser log: {e}", self.name),
        };
        let entries = &body["value"];
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["source"] == "javascript")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Runs a Chrome DevTools command (chromedriver's own endpoint), e.g.
    /// to emulate a media feature.
    pub(crate) async fn cdp(&self, cmd: &str, params: Value) {
        let session = self.client.session_id().await.ok().flatten();
        let url = format!(
            "{}/session/{}/goog/cdp/execute",
            self.driver_url,
            session.expect("a session id")
        );
        reqwest::Client::new()
            .post(&url)
            .json(&json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{}: {cmd}: {e}", self.name));
    }

    /// Fails the test if the page had an uncaught script error.
    pub(crate) async fn assert_no_script_errors(&self) {
        let errors = self.script_errors().await;
        assert!(
            errors.is_empty(),
            "{}: script errors: {errors:#?}",
            self.name
        );
    }
}
