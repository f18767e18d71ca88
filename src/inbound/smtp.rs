//! One inbound SMTP connection (RFC 5321, the part a forwarding mail server
//! uses): EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Recipients are
//! checked at RCPT, the size during DATA, and the reply is posted before the
//! final `250`, so a refusal reaches the forwarding server as an error.

use std::net::SocketAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::reply::parse;
use super::Inbound;
use crate::conversation::{lookup, Post, Poster};
use crate::domain::{ClientId, Role, MAX_MESSAGE_ID_LEN};
use crate::mail::reply_conversation;

/// A silent client is dropped after this long.
const IDLE: Duration = Duration::from_secs(60);
/// Longest command line accepted.
const MAX_LINE: usize = 1024;

pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    inbound: &Inbound,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 support-chat ESMTP\r\n").await?;
    let mut recipient: Option<ClientId> = None;
    let mut sender = false;
    loop {
        let Some(line) = read_line(&mut read).await? else {
            return Ok(());
        };
        let upper = line.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            format!(
                "250-support-chat\r\n250-SIZE {}\r\n250 8BITMIME",
                inbound.max_bytes
            )
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK".into()
        } else if upper.starts_with("RSET") {
            (sender, recipient) = (false, None);
            "250 OK".into()
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else if upper.starts_with("MAIL FROM:") {
            if !inbound.rate.try_take(peer.ip()) {
                "450 4.7.1 Too many emails, try again later".into()
            } else if declared_size(&upper).is_some_and(|size| size > inbound.max_bytes) {
                "552 5.3.4 Message too big".into()
            } else {
                sender = true;
                "250 OK".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            match (
                sender,
                recipient.is_some(),
                conversation(&line, inbound).await,
            ) {
                (false, _, _) => "503 5.5.1 MAIL first".into(),
                (true, true, _) => "452 4.5.3 One recipient per email".into(),
                (true, false, Ok(client)) => {
                    recipient = Some(client);
                    "250 OK".into()
                }
                (true, false, Err(why)) => format!("550 5.1.1 {why}"),
            }
        } else if upper.starts_with("DATA") {
            match recipient.take() {
                None => "503 5.5.1 RCPT first".into(),
                Some(client) => {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    sender = false;
                    match read_data(&mut read, inbound.max_bytes).await? {
                        None => "552 5.3.4 Message too big".into(),
                        Some(raw) => deliver(&raw, client, inbound).await,
                    }
                }
            }
        } else {
            "502 5.5.2 Command not recognised".into()
        };
        write.write_all(format!("{answer}\r\n").as_bytes()).await?;
    }
}

/// The next command line without its line end; `None` at the end.
async fn read_line<R: AsyncBufReadExt + Unpin>(read: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    let n = tokio::time::timeout(
        IDLE,
        (&mut *read)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut buf),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
    if n == 0 {
        return Ok(None);
    }
    if !buf.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(Some(String::from_utf8_lossy(&buf).trim_end().to_owned()))
}

/// The message up to the lone `.` line, dot-unstuffed; `None` (after
/// reading it all) when it is over `max` bytes.
async fn read_data<R: AsyncBufReadExt + Unpin>(
    read: &mut R,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut data = Vec::new();
    let mut over = false;
    loop {
        let mut line = Vec::new();
        let n = tokio::time::timeout(IDLE, read.read_until(b'\n', &mut line))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "in DATA",
            ));
        }
        if line == b".\r\n" || line == b".\n" {
            return Ok((!over).then_some(data));
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        if data.len() + line.len() > max {
            over = true;
            data.clear();
        } else if !over {
            data.extend_from_slice(line);
        }
    }
}

/// `SIZE=` of a MAIL command, if given.
fn declared_size(upper: &str) -> Option<usize> {
    upper
        .split_whitespace()
        .find_map(|p| p.strip_prefix("SIZE="))
        .and_then(|n| n.parse().ok())
}

/// The conversation a `RCPT TO:<reply+token@…>` names.
async fn conversation(line: &str, inbound: &Inbound) -> Result<ClientId, &'static str> {
    let address = line[8..].trim().trim_start_matches('<');
    let address = address.split('>').next().unwrap_or_default();
    let local = address.split('@').next().unwrap_or_default();
    let token = local
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("reply+"))
        .map(|_| &local[6..])
        .ok_or("Unknown address")?;
    match reply_conversation(&inbound.store, token).await {
        Ok(Some(client)) => Ok(client),
        Ok(None) => Err("Unknown or expired reply address"),
        Err(_) => Err("Cannot check the reply address now"),
    }
}

/// Posts the reply's text as the customer; the SMTP answer to DATA.
async fn deliver(raw: &[u8], client: ClientId, inbound: &Inbound) -> String {
    let Some(reply) = parse(raw) else {
        return "554 5.6.0 Not an email".into();
    };
    if reply.text.is_empty() {
        return "554 5.6.0 No new text in this reply".into();
    }
    if reply.text.chars().count() > inbound.max_text_chars {
        return "552 5.3.4 Reply too long".into();
    }
    // The Message-ID makes a redelivery of the same email a retry, not a
    // second message.
    let id = reply.message_id.as_deref().map(|m| {
        let hash = hex::encode(Sha256::digest(m.as_bytes()));
        format!("email-{}", &hash[..MAX_MESSAGE_ID_LEN - 6])
    });
    let session = match lookup(&inbound.registry, &client).await {
        Ok(session) => session,
        Err(e) => return format!("451 4.3.0 {e}"),
    };
    let (ack, stored) = oneshot::channel();
    let post = Post {
        role: Role::Customer,
        author: None,
        text: reply.text,
        id,
        private: false,
        // Files attached to a mail are not kept (README, Email).
        attachments: Vec::new(),
        poster: Poster::Api(ack),
    };
    if session.send(post).await.is_err() {
        return "451 4.3.0 Shutting down".into();
    }
    match stored.await {
        Ok(Ok(_)) => "250 OK".into(),
        Ok(Err(e)) => format!("451 4.3.0 {e}"),
        Err(_) => "451 4.3.0 Shutting down".into(),
    }
}
