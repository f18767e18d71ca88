//! The sender thread: every second (and at once after start) it takes the
//! due outbox rows, renders each from what is stored now, sends it, and
//! records the outcome. Plain blocking SMTP on its own thread: a slow mail
//! server never holds an actor or the writer.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use lettre::{SmtpTransport, Transport};

use std::sync::Arc;

use super::compose::compose;
use super::link::ReopenKey;
use super::outbox::{self, Due};
use super::MailSettings;
use crate::auth::IdentitySecret;
use crate::domain::{now_millis, NoticeKind};
use crate::store::Store;

/// How long an unsubscribe URL works: ten years.
const UNSUBSCRIBE_TTL_SECS: i64 = 10 * 365 * 24 * 3600;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(500);

/// Owns the sender thread; [`MailSender::shutdown`] stops and joins it.
pub struct MailSender {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl MailSender {
    pub fn start(
        store: Store,
        settings: MailSettings,
        key: Arc<ReopenKey>,
        identity: Option<IdentitySecret>,
    ) -> std::io::Result<MailSender> {
        let transport = settings.transport().map_err(std::io::Error::other)?;
        let (stop, stopped) = mpsc::channel();
        let sender = Sender {
            store,
            settings,
            key,
            identity,
            transport,
        };
        let thread = std::thread::Builder::new()
            .name("mail-sender".into())
            .spawn(move || sender.run(&stopped))?;
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

/// What the sender thread holds.
struct Sender {
    store: Store,
    settings: MailSettings,
    key: Arc<ReopenKey>,
    /// The files' links carry the conversation's `sig` when set.
    identity: Option<IdentitySecret>,
    transport: SmtpTransport,
}

/// How an attempt ended well.
enum Sent {
    Sent,
    /// Nothing left to say (the customer read the replies meanwhile).
    Moot,
}

struct Failure {
    error: String,
    /// Retrying cannot help (the server refused for good, or the email
    /// cannot be made).
    permanent: bool,
}

impl Sender {
    fn run(&self, stopped: &mpsc::Receiver<()>) {
        loop {
            if let Err(e) = self.round(stopped) {
                log::error!("mail: cannot read the outbox: {e}");
            }
            match stopped.recv_timeout(POLL) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Queues what time made due, then sends what is due; stops early when
    /// asked to stop.
    fn round(&self, stopped: &mpsc::Receiver<()>) -> Result<(), crate::store::StoreError> {
        let store = &self.store;
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2);
        let (unseen, waiting) = (self.settings.unseen_after, self.settings.waiting_after);
        store.write_sql_now(|conn| {
            outbox::queue_unseen(conn, millis(unseen))?;
            outbox::queue_waiting(conn, millis(waiting))
        })?;
        for due in store.read_sql_now(outbox::due)? {
            let outcome = self.attempt(&due);
            self.record(&due, &outcome)?;
            if !matches!(stopped.try_recv(), Err(mpsc::TryRecvError::Empty)) {
                break;
            }
        }
        let (pending, failed) = store.read_sql_now(outbox::counts)?;
        store.metrics().outbox_pending.set(pending);
        store.metrics().outbox_failed.set(failed);
        Ok(())
    }

    fn record(
        &self,
        due: &Due,
        outcome: &Result<Sent, Failure>,
    ) -> Result<(), crate::store::StoreError> {
        let settings = &self.settings;
        self.store.write_sql_now(|conn| match outcome {
            Ok(Sent::Sent) => outbox::mark_sent(conn, due.id),
            Ok(Sent::Moot) => outbox::drop_row(conn, due.id),
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
        let metrics = self.store.metrics();
        let what = due.kind.as_str();
        match outcome {
            Ok(Sent::Sent) => {
                metrics.emails_sent.inc();
                log::info!("mail: sent {what} of {} (seq {})", due.client, due.seq);
            }
            Ok(Sent::Moot) => log::info!("mail: {what} of {} no longer needed", due.client),
            Err(Failure { error, .. }) => {
                metrics.email_attempts_failed.inc();
                log::warn!(
                    "mail: attempt {} of {what} for {} failed: {error}",
                    due.attempts + 1,
                    due.client
                );
            }
        }
        Ok(())
    }

    fn attempt(&self, due: &Due) -> Result<Sent, Failure> {
        let lines = self
            .store
            .read_sql_now(|conn| match due.kind {
                NoticeKind::Transcript => outbox::customer_lines(conn, &due.client, due.seq)
                    .and_then(|lines| outbox::with_files(conn, &due.client, lines)),
                NoticeKind::Unseen => outbox::unseen_lines(conn, &due.client, due.seq)
                    .and_then(|lines| outbox::with_files(conn, &due.client, lines)),
                NoticeKind::Waiting => outbox::waiting_lines(conn, &due.client, due.seq),
            })
            .map_err(|e| Failure {
                error: e.to_string(),
                permanent: false,
            })?;
        if lines.is_empty() && due.kind != NoticeKind::Transcript {
            return Ok(Sent::Moot);
        }
        let link = self.reopen_link(due);
        let reply_to = self.reply_address(due).map_err(|e| Failure {
            error: e.to_string(),
            permanent: false,
        })?;
        let unsubscribe = self.unsubscribe_link(due);
        let file_url = |id: &str| self.file_url(due, id);
        let email = compose(
            &self.settings.from,
            due,
            &lines,
            &file_url,
            &link,
            reply_to.as_deref(),
            unsubscribe.as_deref(),
        )
        .map_err(|error| Failure {
            error,
            permanent: true,
        })?;
        self.transport
            .send(&email)
            .map(|_| Sent::Sent)
            .map_err(|e| Failure {
                permanent: e.is_permanent(),
                error: e.to_string(),
            })
    }

    /// The customer's one-click unsubscribe URL (none on agents' alerts,
    /// which they turn off on the team page).
    fn unsubscribe_link(&self, due: &Due) -> Option<String> {
        if due.kind == NoticeKind::Waiting {
            return None;
        }
        // Long-lived: unsubscribing should work as long as the email is kept.
        let expires = now_millis()
            .timestamp()
            .saturating_add(UNSUBSCRIBE_TTL_SECS);
        let token = self.key.token(&due.client, expires);
        let base = self.settings.public_url.trim_end_matches('/');
        Some(format!("{base}/u/{token}"))
    }

    /// With the inbound listener on, the customer's emails say where to
    /// reply: `reply+<token>@<--mail-from's domain>`.
    fn reply_address(&self, due: &Due) -> Result<Option<String>, crate::store::StoreError> {
        if !self.settings.replies || due.kind == NoticeKind::Waiting {
            return Ok(None);
        }
        let ttl = i64::try_from(self.settings.link_ttl.as_millis()).unwrap_or(i64::MAX / 4);
        let expires = now_millis().timestamp_millis().saturating_add(ttl);
        let token = self
            .store
            .write_sql_now(|conn| outbox::issue_reply_token(conn, &due.client, expires))?;
        let domain = self.settings.from.email.domain();
        Ok(Some(format!("reply+{token}@{domain}")))
    }

    /// Where the customer opens a file of their conversation (with the
    /// conversation's `sig` when the server checks identities).
    fn file_url(&self, due: &Due, id: &str) -> String {
        let base = self.settings.public_url.trim_end_matches('/');
        let sig = self
            .identity
            .as_ref()
            .map(|secret| format!("?sig={}", secret.signature(&due.client)))
            .unwrap_or_default();
        format!("{base}/chat/client/{}/attachments/{id}{sig}", due.client)
    }

    /// A link to the conversation: the agents' console page for an alert;
    /// for the customer, a reopen link valid for `--reopen-link-ttl`.
    fn reopen_link(&self, due: &Due) -> String {
        let base = self.settings.public_url.trim_end_matches('/');
        if due.kind == NoticeKind::Waiting {
            return format!("{base}/chat/server/{}", due.client);
        }
        let ttl = i64::try_from(self.settings.link_ttl.as_secs()).unwrap_or(i64::MAX / 4);
        let expires = now_millis().timestamp().saturating_add(ttl);
        let token = self.key.token(&due.client, expires);
        // The page opens in the email's language (the customer's browser
        // elsewhere may prefer another).
        let lang = due
            .lang
            .map(|l| format!("?lang={}", l.as_str()))
            .unwrap_or_default();
        format!("{base}/r/{token}{lang}")
    }
}
