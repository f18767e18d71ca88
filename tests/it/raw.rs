//! A WebSocket client on a bare TCP stream, for what a well-behaved client
//! library will not send: odd handshakes, lying frame headers.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a raw test waits for the server to answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// The key of RFC 6455's own example (base64 of 16 bytes).
pub const GOOD_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An upgrade request, field by field.
pub struct Handshake<'a> {
    pub path: &'a str,
    pub http: &'a str,
    pub key: &'a str,
    pub version: &'a str,
}

impl Default for Handshake<'_> {
    fn default() -> Self {
        Handshake {
            path: "/ws/echo",
            http: "HTTP/1.1",
            key: GOOD_KEY,
            version: "13",
        }
    }
}

/// The server's answer to a request: status, head, and what followed it.
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub rest: Vec<u8>,
}

impl Answer {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    }
}

impl Handshake<'_> {
    fn request(&self, addr: SocketAddr) -> String {
        format!(
            "GET {} {}\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: {}\r\n\r\n",
            self.path, self.http, self.key, self.version
        )
    }

    /// Sends the handshake and reads the answer's head.
    pub async fn send(&self, addr: SocketAddr) -> (TcpStream, Answer) {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        tcp.write_all(self.request(addr).as_bytes())
            .await
            .expect("send handshake");
        let answer = read_head(&mut tcp).await;
        (tcp, answer)
    }
}

/// Reads until the end of a response head.
pub async fn read_head(tcp: &mut TcpStream) -> Answer {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).into_owned();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("not an HTTP answer: {head:?}"));
            return Answer {
                status,
                head,
                rest: received[end + 4..].to_vec(),
            };
        }
        let n = tokio::time::timeout(ANSWER_TIMEOUT, tcp.read(&mut buf))
            .await
            .expect("the server answers")
            .expect("read");
        assert!(n > 0, "connection closed before an answer: {received:?}");
        received.extend_from_slice(&buf[..n]);
    }
}

/// Reads server frames (after `already` received bytes) until a close frame,
/// and returns its code; `None` if the connection ends without one.
pub async fn close_code(tcp: &mut TcpStream, already: Vec<u8>, wait: Duration) -> Option<u16> {
    let mut received = already;
    let mut buf = [0u8; 4096];
    let give_up = tokio::time::Instant::now() + wait;
    loop {
        while let Some((opcode, payload, len)) = server_frame(&received) {
            if opcode == 8 {
                return payload
                    .get(..2)
                    .map(|code| u16::from_be_bytes([code[0], code[1]]));
            }
            received.drain(..len);
        }
        let n = tokio::time::timeout_at(give_up, tcp.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no close frame within {wait:?}"))
            .unwrap_or(0);
        if n == 0 {
            return None;
        }
        received.extend_from_slice(&buf[..n]);
    }
}

/// A server frame as it came on the wire.
#[derive(Debug)]
pub struct WireFrame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Reads server frames (after `already` received bytes) until `enough`
/// says so of what came so far.
pub async fn frames_until(
    tcp: &mut TcpStream,
    already: Vec<u8>,
    enough: impl Fn(&[WireFrame]) -> bool,
) -> Vec<WireFrame> {
    let mut received = already;
    let mut frames = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        while let Some((opcode, payload, len)) = server_frame(&received) {
            frames.push(WireFrame {
                fin: received[0] & 0x80 != 0,
                opcode,
                payload: payload.to_vec(),
            });
            received.drain(..len);
        }
        if enough(&frames) {
            return frames;
        }
        let n = tokio::time::timeout(ANSWER_TIMEOUT, tcp.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no more frames after {frames:?}"))
            .expect("read");
        assert!(n > 0, "connection closed after {frames:?}");
        received.extend_from_slice(&buf[..n]);
    }
}

/// One unmasked server frame at the start of `bytes`: opcode, payload, and
/// the frame's whole length.
fn server_frame(bytes: &[u8]) -> Option<(u8, &[u8], usize)> {
    let opcode = bytes.first()? & 0x0f;
    let (len, header) = match bytes.get(1)? & 0x7f {
        126 => (
            usize::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (usize::from(n), 2),
    };
    let payload = bytes.get(header..header + len)?;
    Some((opcode, payload, header + len))
}
