//! Where the server is and how to open sockets to it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;

use crate::cli::Common;
use crate::proc::{cpu_us, disk_cancelled_bytes, disk_write_bytes, rss_kb};

pub type Ws = WebSocketStream<TcpStream>;

/// How often, and for how many polls in a row without a change, the
/// server's disk writes are read before they count as settled (the server
/// commits after 200 ms idle and empties its log after 500 ms), and the
/// most polls before the count is taken anyway.
const DISK_SETTLE_POLL: std::time::Duration = std::time::Duration::from_millis(250);
const DISK_SETTLE_QUIET_POLLS: u32 = 8;
const DISK_SETTLE_MAX_POLLS: u32 = 60;

/// Where the server is and how to reach it.
pub struct Ctx {
    pub common: Common,
    /// `host:port` as written in the URLs.
    pub host: String,
    pub addr: SocketAddr,
    /// Where agent sockets of a relay go (`--agent-url`, else the above).
    pub agent_host: String,
    pub agent_addr: SocketAddr,
    pub prefix: String,
    pub next_source: AtomicU32,
}

impl Ctx {
    pub fn server_rss(&self) -> Option<u64> {
        rss_kb(&self.common.server_pid?.to_string())
    }

    pub fn server_cpu(&self) -> Option<u64> {
        cpu_us(&self.common.server_pid?.to_string())
    }

    pub fn server_disk_writes(&self) -> Option<u64> {
        disk_write_bytes(&self.common.server_pid?.to_string())
    }

    pub fn server_disk_cancelled(&self) -> Option<u64> {
        disk_cancelled_bytes(&self.common.server_pid?.to_string())
    }

    /// The server's disk writes once they stop growing: after a run the
    /// server still commits what its open transaction holds and copies the
    /// log into the database, and those bytes are the run's too.
    pub async fn server_disk_writes_settled(&self) -> Option<u64> {
        let mut last = self.server_disk_writes()?;
        let mut quiet = 0;
        for _ in 0..DISK_SETTLE_MAX_POLLS {
            tokio::time::sleep(DISK_SETTLE_POLL).await;
            let now = self.server_disk_writes()?;
            quiet = if now == last { quiet + 1 } else { 0 };
            last = now;
            if quiet == DISK_SETTLE_QUIET_POLLS {
                break;
            }
        }
        Some(last)
    }

    pub fn customer_path(&self, client: &str, since: u64) -> String {
        format!("/ws/customer/{client}?since={since}")
    }

    pub fn agent_path(&self, client: &str, since: u64) -> String {
        format!(
            "/ws/agent/{client}?since={since}&token={}",
            self.common.agent_token
        )
    }

    /// Opens a WebSocket to `path`, from the next loopback source address.
    pub async fn connect(&self, path: &str) -> Result<Ws, String> {
        self.connect_to(self.addr, &self.host, path).await
    }

    /// An agent's socket of a relay (on `--agent-url` if given).
    pub async fn connect_agent(&self, path: &str) -> Result<Ws, String> {
        self.connect_to(self.agent_addr, &self.agent_host, path)
            .await
    }

    pub async fn connect_to(&self, addr: SocketAddr, host: &str, path: &str) -> Result<Ws, String> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| format!("socket: {e}"))?;
        if self.common.sources > 0 && addr.is_ipv4() {
            let k = self.next_source.fetch_add(1, Ordering::Relaxed) % self.common.sources;
            let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 2)) + k);
            socket
                .bind(SocketAddr::new(ip.into(), 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
        }
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("nodelay: {e}"))?;
        let url = format!("ws://{host}{path}");
        let (ws, _) = tokio_tungstenite::client_async(url, stream)
            .await
            .map_err(|e| format!("handshake {path}: {e}"))?;
        Ok(ws)
    }
}

/// `host:port` of a base URL, and its address.
pub async fn resolve(url: &str) -> Result<(String, SocketAddr), String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split('/').next().unwrap_or(rest).to_string();
    let addr = tokio::net::lookup_host(&host)
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    Ok((host, addr))
}
