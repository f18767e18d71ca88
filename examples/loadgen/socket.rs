//! One socket's conversations with the server: waiting for a frame,
//! closing, filling a conversation, connecting sessions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::ctx::{Ctx, Ws};
use crate::frames::{message_frame, number_of, padded_text, parse};

/// Reads until a frame of type `kind` arrives and returns its text. An
/// `error` frame, a close or the timeout is an error.
pub async fn expect(ws: &mut Ws, kind: &str, within: Duration) -> Result<String, String> {
    let wait = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame = parse(&text)?;
                    if frame.kind == kind {
                        return Ok(text);
                    }
                    if frame.kind == "error" {
                        return Err(format!("error frame while waiting for {kind}: {text}"));
                    }
                }
                Some(Ok(Message::Close(close))) => {
                    return Err(format!("closed while waiting for {kind}: {close:?}"))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("socket error while waiting for {kind}: {e}")),
                None => return Err(format!("connection ended while waiting for {kind}")),
            }
        }
    };
    timeout(within, wait)
        .await
        .map_err(|_| format!("no {kind} within {within:?}"))?
}

/// Sends a close frame and forgets the socket.
pub async fn close(mut ws: Ws) {
    let _ = timeout(Duration::from_secs(1), ws.close(None)).await;
}

/// Closes `ws` as a client does and waits until the server has answered
/// and ended the TCP connection: how long that took (None: not within 5 s).
pub async fn timed_close(mut ws: Ws) -> Option<Duration> {
    let started = Instant::now();
    let drained = async {
        ws.close(None).await.ok()?;
        // The WebSocket ends with the server's close frame; the connection
        // only when the server has shut down its side of the TCP stream.
        while let Some(Ok(_)) = ws.next().await {}
        let tcp = ws.get_mut();
        let mut buf = [0u8; 256];
        while let Ok(1..) = tcp.read(&mut buf).await {}
        Some(started.elapsed())
    };
    timeout(Duration::from_secs(5), drained)
        .await
        .ok()
        .flatten()
}

pub fn describe_close(close: &Option<CloseFrame<'_>>) -> String {
    match close {
        Some(c) => format!("{} {:?}", u16::from(c.code), c.reason),
        None => "without a code".into(),
    }
}

pub fn close_code(close: &Option<CloseFrame<'_>>) -> u16 {
    close.as_ref().map(|c| u16::from(c.code)).unwrap_or(1005)
}

/// Sends `count` messages (ids `<tag><n>`) from an open socket without
/// waiting, and waits until every one is acknowledged.
pub async fn fill(ws: &mut Ws, count: u64, tag: &str, pad: &str) -> Result<(), String> {
    let (mut sent, mut acked) = (0u64, 0u64);
    let mut seen = vec![false; count as usize];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while acked < count {
        if sent < count {
            // Keep up to 256 unacknowledged messages in flight.
            while sent < count && sent - acked < 256 {
                ws.feed(message_frame(padded_text(pad), &format!("{tag}{sent}")))
                    .await
                    .map_err(|e| e.to_string())?;
                sent += 1;
            }
            ws.flush().await.map_err(|e| e.to_string())?;
        }
        let frame = timeout(
            deadline.saturating_duration_since(tokio::time::Instant::now()),
            ws.next(),
        )
        .await
        .map_err(|_| format!("fill: only {acked} of {count} acknowledged"))?;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let f = parse(&text)?;
                if f.kind == "error" {
                    return Err(format!("fill: {text}"));
                }
                if f.kind == "message" {
                    let n = f.id.as_deref().and_then(|id| number_of(id, tag));
                    if let Some(n) = n.filter(|&n| n < seen.len() && !seen[n]) {
                        seen[n] = true;
                        acked += 1;
                    }
                }
            }
            Some(Ok(Message::Close(c))) => return Err(format!("fill: closed {c:?}")),
            Some(Ok(_)) => {}
            other => return Err(format!("fill: {other:?}")),
        }
    }
    Ok(())
}

/// Connects a customer and then an agent socket to `client` and waits for
/// both welcomes and histories (a raw relay sends neither).
pub async fn connect_session(ctx: &Ctx, client: &str, raw: bool) -> Result<(Ws, Ws), String> {
    if raw {
        let customer = ctx.connect(&format!("/ws/customer/{client}")).await?;
        let agent = ctx.connect_agent(&format!("/ws/agent/{client}")).await?;
        return Ok((customer, agent));
    }
    let wait = Duration::from_secs(30);
    let mut customer = ctx.connect(&ctx.customer_path(client, 0)).await?;
    expect(&mut customer, "welcome", wait).await?;
    expect(&mut customer, "history", wait).await?;
    let mut agent = ctx.connect_agent(&ctx.agent_path(client, 0)).await?;
    expect(&mut agent, "welcome", wait).await?;
    expect(&mut agent, "history", wait).await?;
    Ok((customer, agent))
}

/// Connects `n` sessions named `<prefix>-<tag>-<i>`, `concurrency` at a time.
pub async fn connect_sessions(
    ctx: &Arc<Ctx>,
    tag: &str,
    n: usize,
    concurrency: usize,
    raw: bool,
) -> Result<Vec<(String, Ws, Ws)>, String> {
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (ctx, gate) = (Arc::clone(ctx), Arc::clone(&gate));
        let client = format!("{}-{tag}-{i}", ctx.prefix);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("semaphore open");
            let (c, a) = connect_session(&ctx, &client, raw).await?;
            Ok::<_, String>((client, c, a))
        }));
    }
    let mut sessions = Vec::with_capacity(n);
    for task in tasks {
        sessions.push(task.await.map_err(|e| e.to_string())??);
    }
    Ok(sessions)
}
