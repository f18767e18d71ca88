//! The shop the widget tests embed the chat in: a few pages served by the
//! test itself on a second local port, with hooks the tests read.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::{spawn_app_with, TestApp};

/// The identity secret of the identify test's server.
pub(super) const SECRET: &str = "widget-test-secret";

/// The shop: pages that embed the widget of `chat` (the chat server's
/// origin), with hooks the tests read (`window.__unread`, `__errors`,
/// `__console`, `__foreign`).
pub(super) struct Shop {
    pub(super) port: u16,
    chat: Arc<std::sync::Mutex<String>>,
    task: tokio::task::JoinHandle<()>,
}

impl Shop {
    /// A shop, and a chat server that lets it embed the widget (with
    /// `args` added to its flags) and whose widget its pages embed.
    pub(super) async fn with_app(args: &[&str]) -> (Shop, TestApp) {
        let shop = Shop::start().await;
        let origin = shop.origin();
        let flags: Vec<&str> = ["--allowed-origin", &origin]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        let app = spawn_app_with(&flags).await;
        *shop.chat.lock().expect("chat origin") = format!("http://{}", app.addr);
        (shop, app)
    }

    async fn start() -> Shop {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("address").port();
        let chat = Arc::new(std::sync::Mutex::new(String::new()));
        let served = Arc::clone(&chat);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let chat = served.lock().expect("chat origin").clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let body = shop_page(&target, &chat, port);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                         Cache-Control: no-store\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                });
            }
        });
        Shop { port, chat, task }
    }

    /// The shop's origin: another site than the chat server's 127.0.0.1.
    pub(super) fn origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A shop page. `?identify=ID:SIG` calls `SupportChat.identify`;
/// `?attrs=ID:SIG` puts them on the script tag instead; `/foreign` also
/// holds a frame of another origin that posts fake widget events.
fn shop_page(target: &str, chat: &str, port: u16) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path == "/poster" {
        return "<!doctype html><script>setInterval(() => parent.postMessage(\
                {sc: 'support-chat/1', type: 'state', unread: 42, conversation: true}, '*'), 100);\
                </script>"
            .into();
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.split_once(':'))
    };
    let identify = param("identify").map_or(String::new(), |(id, sig)| {
        format!("SupportChat.identify({{id: '{id}', sig: '{sig}', name: 'Ana', email: 'ana@example.com'}});")
    });
    let lang = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("lang="))
        .unwrap_or("en");
    let attrs = param("attrs").map_or(String::new(), |(id, sig)| {
        format!("data-user-id=\"{id}\" data-sig=\"{sig}\"")
    });
    let foreign = if path == "/foreign" {
        format!("<iframe id=\"foreign\" src=\"http://127.0.0.1:{port}/poster\" style=\"width:4px;height:4px;border:0\"></iframe>")
    } else {
        String::new()
    };
    format!(
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Shop {path}</title></head>
<body style="font-family: sans-serif; margin: 2rem; background: #fafaf7">
<h1>Example shop</h1>
<p>Page {path}. <a id="next" href="/page2">Next page</a></p>
<label>Search <input id="host-input" autofocus></label>
<script>
window.__unread = []; window.__errors = []; window.__console = []; window.__foreign = 0;
const originalError = console.error;
console.error = (...args) => {{ window.__console.push(args.join(' ')); originalError(...args); }};
window.addEventListener('message', (e) => {{ if (e.data && e.data.unread === 42) window.__foreign += 1; }});
window.addEventListener('supportchat:ready', () => {{
  SupportChat.on('unread', (n) => window.__unread.push(n));
  SupportChat.on('error', (e) => window.__errors.push(e.message));
  {identify}
}});
</script>
<script src="{chat}/widget.js" async data-lang="{lang}" data-color="#0f766e" {attrs}></script>
{foreign}
</body></html>"##
    )
}

pub(super) fn sign(id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
