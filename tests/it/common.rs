//! Shared test helpers: `spawn_app()` starts the real server on port 0 with a
//! fresh data directory, and `WsClient` talks to it as a client does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use support_chat::{Application, ShutdownHandle};
use support_chat::{Backend, Config};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::test_cluster::fresh_database;

/// The service token every test server is started with.
pub const AGENT_TOKEN: &str = "test-agent-token";
/// The first admin that [`TestApp::admin_cookie`] sets up.
pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin password 1";
pub const ADMIN_NAME: &str = "Ada Admin";

/// How long a test waits for an expected frame before failing.
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls `probe` until it gives `Some`, and returns that; fails the test with
/// `what` once `deadline` has passed. Every test that waits for something
/// to happen waits with this, never with a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let give_up = std::time::Instant::now() + deadline;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < give_up,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub data_dir: Arc<TempDir>,
    /// The setup link this start logged, while no agent exists.
    pub setup_url: Option<String>,
    /// Where `--metrics-bind` listens, if given.
    pub metrics_addr: Option<SocketAddr>,
    args: Vec<String>,
    shutdown: ShutdownHandle,
    running: actix_web::rt::task::JoinHandle<std::io::Result<()>>,
}

/// A test server that was stopped, with what it needs to start again.
pub struct StoppedApp {
    pub data_dir: Arc<TempDir>,
    pub addr: SocketAddr,
    args: Vec<String>,
}

impl StoppedApp {
    /// Starts the server again on the same port, data directory and flags.
    pub fn start_again(self) -> TestApp {
        start(self.data_dir, &self.addr.to_string(), self.args)
    }
}

/// Defines a test once and runs it on each store backend, as
/// `name::sqlite` and `name::postgres` (a fresh database of the throwaway
/// PostgreSQL server): every `spawn_app*` in the body starts the server on
/// the test's backend.
macro_rules! on_each_backend {
    ($(#[doc = $doc:literal])* async fn $name:ident() $body:block) => {
        $(#[doc = $doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn sqlite() $body

            #[actix_web::test]
            async fn postgres() {
                $crate::common::on_postgres();
                $body
            }
        }
    };
}
pub(crate) use on_each_backend;

thread_local! {
    /// Whether the servers this test thread starts use PostgreSQL.
    static ON_POSTGRES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The servers this test starts from now on store in PostgreSQL.
pub fn on_postgres() {
    ON_POSTGRES.with(|on| on.set(true));
}

/// The flags that put a server of this test on its backend: a fresh
/// database on PostgreSQL (keep them for the server's restarts), none on
/// SQLite.
pub fn store_flags() -> Vec<String> {
    if ON_POSTGRES.with(|on| on.get()) {
        vec!["--database-url".to_string(), fresh_database()]
    } else {
        Vec::new()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the server with extra command-line flags.
pub async fn spawn_app_with(extra: &[&str]) -> TestApp {
    let dir = Arc::new(TempDir::new().expect("temp dir"));
    start(
        dir,
        "127.0.0.1:0",
        extra.iter().map(|s| s.to_string()).collect(),
    )
}

/// Starts the server on an existing data directory, with extra flags.
pub fn spawn_app_on(data_dir: Arc<TempDir>, extra: &[&str]) -> TestApp {
    start(
        data_dir,
        "127.0.0.1:0",
        extra.iter().map(|s| s.to_string()).collect(),
    )
}

/// Starts one node of a cluster on `backend`, the store it shares with the
/// other nodes, with extra flags (`--nats-url …`).
pub fn spawn_node(backend: Arc<dyn Backend>, extra: &[&str]) -> TestApp {
    let dir = Arc::new(TempDir::new().expect("temp dir"));
    let args = extra.iter().map(|s| s.to_string()).collect();
    start_on(dir, "127.0.0.1:0", args, Some(backend))
}

fn start(data_dir: Arc<TempDir>, bind: &str, args: Vec<String>) -> TestApp {
    start_on(data_dir, bind, args, None)
}

fn start_on(
    data_dir: Arc<TempDir>,
    bind: &str,
    mut args: Vec<String>,
    backend: Option<Arc<dyn Backend>>,
) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    // Kept in `args`, so a restart finds the same database.
    if !args.iter().any(|a| a == "--database-url") {
        args.extend(store_flags());
    }
    let mut all = vec![
        "--bind".to_string(),
        bind.to_string(),
        "--data-dir".to_string(),
        data_dir.path().display().to_string(),
        "--workers".to_string(),
        "2".to_string(),
        "--agent-token".to_string(),
        AGENT_TOKEN.to_string(),
        // Tests written before automatic assignment expect conversations to
        // stay unassigned; routing tests turn it on with their own flag.
        "--auto-assign".to_string(),
        "off".to_string(),
    ];
    all.extend(args.iter().cloned());
    let config = Config::from_args(all).expect("valid test config");
    let app = match backend {
        Some(backend) => Application::build_with_backend(&config, backend, None),
        None => Application::build(&config),
    }
    .expect("server starts");
    let addr = app.local_addr();
    let setup_url = app.setup_url().map(str::to_owned);
    let metrics_addr = app.metrics_addr();
    let shutdown = app.shutdown_handle();
    let running = actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        addr,
        data_dir,
        setup_url,
        metrics_addr,
        args,
        shutdown,
        running,
    }
}

impl TestApp {
    /// The PostgreSQL database the server stores in, if not SQLite.
    pub fn database_url(&self) -> Option<&str> {
        let at = self.args.iter().position(|a| a == "--database-url")?;
        self.args.get(at + 1).map(String::as_str)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// `GET path` as the service agent, read as JSON.
    pub async fn agent_json(&self, path: &str) -> Value {
        http_client()
            .get(self.http(path))
            .bearer_auth(AGENT_TOKEN)
            .send()
            .await
            .expect("GET")
            .json()
            .await
            .expect("a JSON answer")
    }

    /// Erases a conversation as whoever `cookie` signs in; the answer's
    /// status.
    pub async fn erase(&self, client: &str, cookie: &str) -> reqwest::StatusCode {
        http_client()
            .delete(self.http(&format!("/api/conversations/{client}")))
            .header("cookie", cookie)
            .send()
            .await
            .expect("DELETE")
            .status()
    }

    /// A WebSocket URL carrying the agent token.
    pub fn ws_as_agent(&self, path: &str) -> String {
        let separator = if path.contains('?') { '&' } else { '?' };
        format!("{}{separator}token={AGENT_TOKEN}", self.ws(path))
    }

    /// Graceful shutdown, as on SIGTERM; returns once everything is stored.
    pub async fn stop(self) -> StoppedApp {
        self.shutdown.shutdown();
        self.running
            .await
            .expect("server task")
            .expect("clean shutdown");
        StoppedApp {
            data_dir: self.data_dir,
            addr: self.addr,
            args: self.args,
        }
    }

    /// Stops and starts again on the same port and data directory.
    pub async fn restart(self) -> TestApp {
        self.stop().await.start_again()
    }

    /// Stops and starts again on the same port with an empty data
    /// directory: the server has "lost" its history.
    pub async fn restart_with_empty_store(self) -> TestApp {
        let mut stopped = self.stop().await;
        stopped.data_dir = Arc::new(TempDir::new().expect("temp dir"));
        stopped.start_again()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        http_client()
            .get(self.http(path))
            .send()
            .await
            .expect("HTTP request")
    }

    /// A GET as whoever `cookie` signs in.
    pub async fn get_with(&self, path: &str, cookie: &str) -> reqwest::Response {
        http_client()
            .get(self.http(path))
            .header("cookie", cookie)
            .send()
            .await
            .expect("GET")
    }

    /// The code of this start's setup link.
    pub fn setup_code(&self) -> String {
        let url = self
            .setup_url
            .as_deref()
            .expect("no agent yet: a setup link");
        url.split_once("code=").expect("a code").1.to_owned()
    }

    /// Creates the first admin through the setup link and returns their
    /// session cookie (`name=value`).
    pub async fn admin_cookie(&self) -> String {
        let response = http_client()
            .post(self.http("/setup"))
            .json(&json!({
                "code": self.setup_code(),
                "name": ADMIN_NAME,
                "email": ADMIN_EMAIL,
                "password": ADMIN_PASSWORD,
            }))
            .send()
            .await
            .expect("POST /setup");
        assert_eq!(response.status(), 201, "the setup link makes the admin");
        session_cookie(&response)
    }

    /// Logs in by email and password (JSON).
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        http_client()
            .post(self.http("/agent/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("POST /agent/login")
    }

    /// Invites an agent as the admin of `admin_cookie`, accepts the invite
    /// with `password` and returns the new agent's id and session cookie.
    pub async fn invited_agent(
        &self,
        admin_cookie: &str,
        name: &str,
        email: &str,
        password: &str,
    ) -> (i64, String) {
        let invite: Value = http_client()
            .post(self.http("/api/agents"))
            .header("cookie", admin_cookie)
            .json(&json!({"name": name, "email": email, "role": "agent"}))
            .send()
            .await
            .expect("POST /api/agents")
            .json()
            .await
            .expect("JSON");
        let url = invite["invite_url"].as_str().expect("an invite link");
        let accepted = http_client()
            .post(url)
            .json(&json!({"password": password}))
            .send()
            .await
            .expect("POST /invite");
        assert_eq!(accepted.status(), 200, "the invite is accepted");
        (
            invite["id"].as_i64().expect("an id"),
            session_cookie(&accepted),
        )
    }

    pub async fn customer(&self, id: &str) -> WsClient {
        WsClient::connect(&self.ws(&format!("/ws/customer/{id}"))).await
    }
}

/// An HTTP client that does not follow redirects.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// The `name=value` of the session cookie a response sets.
pub fn session_cookie(response: &reqwest::Response) -> String {
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("support_chat_agent="))
        .expect("a session cookie");
    set.split(';').next().unwrap_or_default().to_owned()
}

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// A protocol client for tests.
pub struct WsClient {
    pub socket: Socket,
}

impl WsClient {
    pub async fn connect(url: &str) -> WsClient {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        WsClient { socket }
    }

    /// Connects with a session cookie, as a logged-in browser does.
    pub async fn connect_with_cookie(url: &str, cookie: &str) -> WsClient {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request
            .headers_mut()
            .insert("cookie", cookie.parse().expect("a cookie header"));
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        WsClient { socket }
    }

    /// Connects and reads `welcome` and `history`.
    pub async fn join(url: &str) -> (WsClient, Value, Value) {
        let mut client = WsClient::connect(url).await;
        let welcome = client.expect("welcome").await;
        let history = client.expect("history").await;
        (client, welcome, history)
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send(Message::Text(value.to_string())).await;
    }

    pub async fn send(&mut self, message: Message) {
        self.socket.send(message).await.expect("send frame");
    }

    pub async fn say(&mut self, text: &str, id: Option<&str>) {
        let mut frame = json!({"type": "message", "text": text});
        if let Some(id) = id {
            frame["id"] = json!(id);
        }
        self.send_json(frame).await;
    }

    /// The next frame of any kind (pings are answered by tungstenite).
    pub async fn next_raw(&mut self) -> Option<Message> {
        loop {
            let next = tokio::time::timeout(FRAME_TIMEOUT, self.socket.next())
                .await
                .expect("timed out waiting for a frame");
            match next {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(m)) => return Some(m),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next text frame as JSON.
    pub async fn next_json(&mut self) -> Value {
        match self.next_raw().await {
            Some(Message::Text(t)) => serde_json::from_str(&t).expect("server sends JSON"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be of `kind`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        let frame = self.next_json().await;
        assert_eq!(frame["type"], kind, "unexpected frame {frame}");
        frame
    }

    /// Skips frames until one of `kind` arrives.
    pub async fn wait_for(&mut self, kind: &str) -> Value {
        loop {
            let frame = self.next_json().await;
            if frame["type"] == kind {
                return frame;
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            match self.next_raw().await {
                Some(Message::Close(frame)) => return frame.map(|f| u16::from(f.code)),
                Some(_) => continue,
                None => return None,
            }
        }
    }

    /// Asserts that no frame arrives for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(Some(Ok(m))) = tokio::time::timeout(wait, self.socket.next()).await {
            if !matches!(m, Message::Ping(_) | Message::Pong(_)) {
                panic!("expected no frame, got {m:?}");
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self
            .socket
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        // Drain until the server's close arrives, so it has seen ours.
        while let Ok(Some(Ok(frame))) =
            tokio::time::timeout(Duration::from_secs(2), self.socket.next()).await
        {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    }
}

/// The texts of a `history` frame, in order.
pub fn texts(history: &Value) -> Vec<String> {
    history["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The seqs of a `history` frame, in order.
pub fn seqs(history: &Value) -> Vec<u64> {
    history["messages"]
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["seq"].as_u64().unwrap_or_default())
        .collect()
}
