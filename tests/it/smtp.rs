//! A real SMTP server for the email tests: Debian's `python3-aiosmtpd`,
//! started on a port of the test's choosing, writing every message it
//! accepts to a file in a temp directory. A test that needs it fails, with
//! how to install it, when it is missing: it never passes without mail.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use crate::common::eventually;

/// Debian's interpreter, which sees Debian's `python3-aiosmtpd` (a pyenv
/// or virtualenv `python3` earlier on PATH may not).
const PYTHON: &str = "/usr/bin/python3";

/// Writes each message atomically (a temp name, then a rename) as
/// `<n>.eml`, so a test never reads half a message.
const CATCHER: &str = r#"
import os, sys, threading
from aiosmtpd.controller import Controller

out, port = sys.argv[1], int(sys.argv[2])

class Keep:
    count = 0
    async def handle_DATA(self, server, session, envelope):
        Keep.count += 1
        path = os.path.join(out, "%d.eml" % Keep.count)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.content)
        os.rename(path + ".tmp", path)
        return "250 OK"

Controller(Keep(), hostname="127.0.0.1", port=port).start()
threading.Event().wait()
"#;

/// A free local port (nobody listens on it until a catcher does).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local addr").port()
}

/// A running SMTP server; stopped (killed) when dropped.
pub struct MailCatcher {
    pub port: u16,
    child: Child,
    dir: TempDir,
}

impl MailCatcher {
    /// Starts one on `port` and waits until it accepts connections.
    pub async fn start(port: u16) -> MailCatcher {
        let found = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "the email tests need a real SMTP server: install Debian's python3-aiosmtpd \
             (apt-get install -y python3-aiosmtpd) so that {PYTHON} can import aiosmtpd"
        );
        let dir = TempDir::new().expect("temp dir");
        let script = dir.path().join("catcher.py");
        std::fs::write(&script, CATCHER).expect("write the catcher");
        let mail = dir.path().join("mail");
        std::fs::create_dir(&mail).expect("mail dir");
        let child = Command::new(PYTHON)
            .arg(&script)
            .arg(&mail)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("run the SMTP catcher");
        let catcher = MailCatcher { port, child, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        eventually(
            "the SMTP catcher to listen",
            Duration::from_secs(20),
            || async move { TcpStream::connect(addr).ok().map(drop) },
        )
        .await;
        catcher
    }

    /// `smtp://` URL of this server (plain: a local relay).
    pub fn url(&self) -> String {
        smtp_url(self.port)
    }

    /// Every message received so far, in the order received, with its
    /// quoted-printable parts decoded (so tests can read the text).
    pub fn messages(&self) -> Vec<String> {
        self.raw_messages()
            .iter()
            .map(|raw| String::from_utf8_lossy(&decode_quoted_printable(raw)).into_owned())
            .collect()
    }

    /// Every message received so far, in the order received, as sent (for
    /// a MIME parser: encoded headers stay intact).
    pub fn raw_messages(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<(u64, String)> = std::fs::read_dir(self.dir.path().join("mail"))
            .expect("read the mail dir")
            .filter_map(|e| {
                let name = e.ok()?.file_name().to_string_lossy().into_owned();
                let n = name.strip_suffix(".eml")?.parse().ok()?;
                Some((n, name))
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, name)| {
                std::fs::read(self.dir.path().join("mail").join(name)).expect("read a message")
            })
            .collect()
    }

    /// Waits until `count` messages have arrived and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<String> {
        eventually(
            &format!("{count} email(s) at the SMTP server"),
            Duration::from_secs(20),
            || async {
                let got = self.messages();
                (got.len() >= count).then_some(got)
            },
        )
        .await
    }
}

/// The `smtp://` URL of a plain server on `port`.
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

impl Drop for MailCatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Undoes quoted-printable (RFC 2045): soft line breaks go, `=XY` becomes
/// the byte 0xXY; anything else stays as it is.
fn decode_quoted_printable(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match &raw[i..] {
            [b'=', b'\r', b'\n', ..] => i += 3,
            [b'=', b'\n', ..] => i += 2,
            [b'=', a, b, ..] if hex(*a).is_some() && hex(*b).is_some() => {
                out.push((hex(*a).unwrap_or(0) * 16 + hex(*b).unwrap_or(0)) as u8);
                i += 3;
            }
            [byte, ..] => {
                out.push(*byte);
                i += 1;
            }
            [] => break,
        }
    }
    out
}
