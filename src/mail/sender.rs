//! The sender thread: every second (and at once after start) it takes the
//! due outbox rows, renders each from what is stored now, sends it, and
//! records the outcome. Plain blocking SMTP on its own thread: a slow mail
//! server never holds an actor or the writer.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::{SmtpTransport, Transport};

use super::compose::compose;
use super::outbox::{self, Due};
use super::MailSettings;
use crate::domain::now_millis;
use crate::store::Store;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(500);

/// Owns the sender thread; [`MailSender::shutdown`] stops and joins it.
pub struct MailSender {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl MailSender {
    pub fn start(store: Store, settings: MailSettings) -> std::io::Result<MailSender> {
        let transport = settings.transport().map_err(std::io::Error::other)?;
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mail-sender".into())
            .spawn(move || run(&store, &settings, &transport, &stopped))?;
        Ok(MailSender {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops after the email being sent, if any; the rest stays queued.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    store: &Store,
    settings: &MailSettings,
    transport: &SmtpTransport,
    stopped: &mpsc::Receiver<()>,
) {
    loop {
        if let Err(e) = round(store, settings, transport, stopped) {
            log::error!("mail: cannot read the outbox: {e}");
        }
        match stopped.recv_timeout(POLL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Sends what is due; stops early when asked to stop.
fn round(
    store: &Store,
    settings: &MailSettings,
    transport: &SmtpTransport,
    stopped: &mpsc::Receiver<()>,
) -> Result<(), crate::store::StoreError> {
    for due in store.read_sql_now(outbox::due)? {
        let outcome = attempt(store, settings, transport, &due);
        store.write_sql_now(|conn| match &outcome {
            Ok(()) => outbox::mark_sent(conn, due.id),
            Err(Failure { error, permanent }) => {
                let attempts = due.attempts + 1;
                let retry_at = (!permanent && attempts < settings.max_attempts).then(|| {
                    let wait = settings.backoff(attempts);
                    now_millis().timestamp_millis()
                        + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2)
                });
                outbox::mark_failed(conn, due.id, error, retry_at)
            }
        })?;
        let metrics = store.metrics();
        match outcome {
            Ok(()) => {
                metrics.emails_sent.inc();
                log::info!(
                    "mail: sent {} of {} (seq {})",
                    due.kind.as_str(),
                    due.client,
                    due.seq
                );
            }
            Err(Failure { error, .. }) => {
                metrics.email_attempts_failed.inc();
                log::warn!(
                    "mail: attempt {} of {} for {} failed: {error}",
                    due.attempts + 1,
                    due.kind.as_str(),
                    due.client
                );
            }
        }
        if !matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            break;
        }
    }
    let (pending, failed) = store.read_sql_now(outbox::counts)?;
    store.metrics().outbox_pending.set(pending);
    store.metrics().outbox_failed.set(failed);
    Ok(())
}

struct Failure {
    error: String,
    /// Retrying cannot help (the server refused for good, or the email
    /// cannot be made).
    permanent: bool,
}

fn attempt(
    store: &Store,
    settings: &MailSettings,
    transport: &SmtpTransport,
    due: &Due,
) -> Result<(), Failure> {
    let lines = store
        .read_sql_now(|conn| outbox::customer_lines(conn, &due.client, due.seq))
        .map_err(|e| Failure {
            error: e.to_string(),
            permanent: false,
        })?;
    let email = compose(&settings.from, due, &lines).map_err(|error| Failure {
        error,
        permanent: true,
    })?;
    transport.send(&email).map(drop).map_err(|e| Failure {
        permanent: e.is_permanent(),
        error: e.to_string(),
    })
}
