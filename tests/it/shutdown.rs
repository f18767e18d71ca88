//! A graceful stop finishes within seconds whatever clients have queued:
//! pipelined console `list` frames and chat messages that nobody reads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{eventually, AGENT_TOKEN};
use crate::durability::Process;

/// How long SIGTERM may take to stop the server with all that queued.
const STOP_DEADLINE: Duration = Duration::from_secs(5);
/// Consoles and customers flooding at once.
const FLOODERS: usize = 4;
/// Frames each flooder tries to queue.
const FRAMES: usize = 20_000;
/// Frames the flooders must have got out before the signal.
const QUEUED_BEFORE_SIGNAL: usize = 2_000;

/// Connects to `url` and sends `frame` `FRAMES` times without ever reading,
/// counting what got out.
fn flood(url: String, frame: String, sent: Arc<AtomicUsize>) {
    tokio::spawn(async move {
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(&url).await else {
            return;
        };
        for _ in 0..FRAMES {
            if socket.send(Message::Text(frame.clone())).await.is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
    });
}

#[actix_web::test]
async fn sigterm_with_lists_and_messages_queued_exits_0_within_seconds() {
    let dir = TempDir::new().expect("temp dir");
    let mut server = Process::spawn_with(dir.path(), &["--agent-token", AGENT_TOKEN]);
    let addr = server.listening().await;
    let sent = Arc::new(AtomicUsize::new(0));
    for n in 0..FLOODERS {
        flood(
            format!("ws://{addr}/ws/inbox?token={AGENT_TOKEN}"),
            r#"{"type":"list","status":"all","limit":200,"request":1}"#.into(),
            Arc::clone(&sent),
        );
        flood(
            format!("ws://{addr}/ws/customer/flood-{n}"),
            r#"{"type":"message","text":"queued"}"#.into(),
            Arc::clone(&sent),
        );
    }
    eventually("the flood to be under way", Duration::from_secs(30), || {
        let sent = sent.load(Ordering::Relaxed);
        async move { (sent >= QUEUED_BEFORE_SIGNAL).then_some(()) }
    })
    .await;

    let signalled = Instant::now();
    server.sigterm();
    let status = server
        .wait_exit(STOP_DEADLINE, "SIGTERM with work queued")
        .await;
    assert!(
        status.success(),
        "exit {status}; stderr:\n{}",
        server.stderr()
    );
    eprintln!(
        "stopped {:?} after SIGTERM, {} frames sent",
        signalled.elapsed(),
        sent.load(Ordering::Relaxed)
    );
}
