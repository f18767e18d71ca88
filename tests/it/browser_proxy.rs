//! The deployment the README gives, tested: nginx (Debian package) as the
//! TLS-terminating reverse proxy, with `contrib/nginx-support-chat.conf` as
//! it is, in front of the server started with `--trust-proxy`; a customer
//! and an agent chat through it in real browsers over https (self-signed
//! certificate), reached on the machine's own non-loopback address so that
//! the client address is a real one. Behind the proxy the Origin checks
//! accept the https pages, the session cookie is `Secure`, the audit log and
//! the per-IP limits see the browser's address (X-Forwarded-For), not the
//! proxy's.
//!
//! The test starts its own nginx on a free port with a temporary
//! configuration, and fails, saying what to install, without nginx or
//! openssl.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;

use crate::audit::actions_with;
use crate::browser::{
    fill_login_form, send_message, wait_for_state, wait_for_stored, Browser, Chromedriver, Via,
    WAIT,
};
use crate::common::{eventually, http_client, spawn_app_with, TestApp, AGENT_TOKEN};

const NGINX: &str = "/usr/sbin/nginx";
const OPENSSL: &str = "/usr/bin/openssl";
const SITE: &str = include_str!("../../contrib/nginx-support-chat.conf");
const README: &str = include_str!("../../README.md");

/// nginx running on a temporary configuration; stopped when dropped.
struct Nginx {
    child: Child,
    dir: TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers too (SIGKILL would leave
        // them running, holding the port).
        let pid = i32::try_from(self.child.id()).expect("a pid");
        // SAFETY: signals our own child process, which has not been reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("error.log"));
            eprintln!("--- nginx error.log ---\n{}", log.unwrap_or_default());
        }
    }
}

fn require(path: &str, package: &str) {
    assert!(
        Path::new(path).exists(),
        "this test needs {path}: install the Debian package {package} (apt-get install -y {package})"
    );
}

/// The machine's address on its default route (no packet is sent).
fn own_address() -> IpAddr {
    let socket = UdpSocket::bind("0.0.0.0:0").expect("a UDP socket");
    socket
        .connect("192.0.2.1:9")
        .or_else(|_| socket.connect("10.255.255.255:9"))
        .expect("this test needs a non-loopback network address");
    let ip = socket.local_addr().expect("local address").ip();
    assert!(
        !ip.is_loopback(),
        "this test needs a non-loopback address, found {ip}"
    );
    ip
}

fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A self-signed certificate for `ip`: (certificate, key).
fn certificate(dir: &Path, ip: IpAddr) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new(OPENSSL)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-subj", "/CN=support-chat test"])
        .arg("-addext")
        .arg(format!("subjectAltName=IP:{ip},DNS:localhost"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run openssl");
    assert!(status.success(), "openssl could not make a certificate");
    (cert, key)
}

/// Starts nginx with the contrib site on `ip:port`, in front of `upstream`,
/// and waits until it accepts connections.
async fn start_nginx(app: &TestApp, ip: IpAddr, port: u16) -> Nginx {
    let dir = TempDir::new().expect("temp dir");
    let (cert, key) = certificate(dir.path(), ip);
    let site = SITE
        .replace("{{UPSTREAM}}", &app.addr.to_string())
        .replace("{{LISTEN}}", &format!("{ip}:{port}"))
        .replace("{{SERVER_NAME}}", &ip.to_string())
        .replace("{{CERT}}", &cert.display().to_string())
        .replace("{{KEY}}", &key.display().to_string());
    for placeholder in [
        "{{UPSTREAM}}",
        "{{LISTEN}}",
        "{{SERVER_NAME}}",
        "{{CERT}}",
        "{{KEY}}",
    ] {
        assert!(SITE.contains(placeholder), "the site has {placeholder}");
    }
    assert!(!site.contains("}};"), "every placeholder is filled");
    let d = dir.path().display();
    std::fs::write(dir.path().join("site.conf"), site).expect("write site.conf");
    // Only what a test run needs around the site; all paths in the temp dir.
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
         scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
    );
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, main).expect("write nginx.conf");
    let child = Command::new(NGINX)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run nginx");
    let nginx = Nginx { child, dir };
    eventually("nginx to listen", Duration::from_secs(10), || async {
        tokio::net::TcpStream::connect((ip, port))
            .await
            .ok()
            .map(drop)
    })
    .await;
    nginx
}

async fn metric(app: &TestApp, series: &str) -> f64 {
    let body = http_client()
        .get(app.http("/metrics"))
        .bearer_auth(AGENT_TOKEN)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn path_of(browser: &Browser) -> String {
    browser.current_url().await.expect("url").path().to_owned()
}

#[test]
fn the_readme_shows_the_tested_nginx_configuration() {
    assert!(
        README.contains(SITE.trim()),
        "README.md must show contrib/nginx-support-chat.conf exactly as tested"
    );
}

#[actix_web::test]
#[ignore = "needs chromium, chromium-driver, nginx and openssl"]
async fn a_chat_runs_through_nginx_over_https_with_secure_cookies_and_real_client_addresses() {
    require(NGINX, "nginx");
    require(OPENSSL, "openssl");
    let ip = own_address();
    let app = spawn_app_with(&["--trust-proxy", "--new-conversations-per-ip", "1"]).await;
    let admin = app.admin_cookie().await;
    let port = free_port();
    let nginx = start_nginx(&app, ip, port).await;
    let base = format!("https://{ip}:{port}");

    let driver = Chromedriver::start().await;
    let customer = driver.browser_trusting_any_certificate("customer").await;
    let agent = driver.browser_trusting_any_certificate("agent").await;

    customer
        .goto(&format!("{base}/chat/client"))
        .await
        .expect("the customer page through the proxy");
    wait_for_state(&customer, "connected", WAIT).await;
    let conversation = path_of(&customer).await;
    let id = conversation
        .strip_prefix("/chat/client/")
        .expect("a fresh conversation")
        .to_owned();
    send_message(&customer, "hello over https", Via::Enter).await;
    wait_for_stored(&customer, &["hello over https"]).await;

    agent
        .goto(&format!("{base}/agent/login?next=/chat/server/{id}"))
        .await
        .expect("the login page");
    fill_login_form(&agent).await;
    assert_eq!(path_of(&agent).await, format!("/chat/server/{id}"));
    let cookie = agent
        .get_named_cookie("support_chat_agent")
        .await
        .expect("the session cookie");
    assert_eq!(cookie.secure(), Some(true), "Secure behind https");
    assert_eq!(cookie.http_only(), Some(true));
    wait_for_state(&agent, "connected", WAIT).await;
    wait_for_stored(&agent, &["hello over https"]).await;
    send_message(&agent, "answered through nginx", Via::Enter).await;
    wait_for_stored(&customer, &["hello over https", "answered through nginx"]).await;

    let ips = actions_with(&app, &admin, "ip").await;
    let login = ips
        .iter()
        .find(|(a, _)| a == "login")
        .expect("the login is audited");
    assert_eq!(
        login.1,
        ip.to_string(),
        "the browser's address, not the proxy's"
    );

    // One new conversation per minute from this address: a second is refused.
    let refused = "support_chat_rate_limited_total{kind=\"new_conversations_per_ip\"}";
    assert_eq!(metric(&app, refused).await, 0.0);
    customer
        .goto(&format!("{base}/chat/client?new=1"))
        .await
        .expect("a second conversation");
    eventually(
        "the second new conversation to be refused",
        WAIT,
        || async { (metric(&app, refused).await >= 1.0).then_some(()) },
    )
    .await;
    let listed: Value = app.agent_json("/api/conversations").await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));

    // A page of another origin (the server itself, over plain http) cannot
    // open our sockets through the proxy.
    customer.goto(&app.http("/")).await.expect("another origin");
    let script = "const done = arguments[arguments.length - 1];
                  const ws = new WebSocket(arguments[0]);
                  ws.onopen = () => { ws.close(); done('open'); };
                  ws.onerror = () => done('refused');";
    let url = Value::from(format!("wss://{ip}:{port}/ws/customer/{id}"));
    let foreign = customer
        .execute_async(script, vec![url])
        .await
        .expect("the script runs");
    assert_eq!(
        foreign, "refused",
        "a foreign origin is refused behind the proxy"
    );
    for browser in [&customer, &agent] {
        browser.assert_no_script_errors().await;
    }
    customer.quit().await;
    agent.quit().await;
    drop(nginx);
    app.stop().await;
}
