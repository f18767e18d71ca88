//! Email (issue 15). What the server owes someone by email is a row of the
//! durable outbox, queued in the transaction of the write that causes it
//! (`store`); the [`MailSender`] thread delivers the due rows over SMTP
//! (`lettre`), retrying with exponential backoff, and records every attempt.
//!
//! Exactly once, as far as SMTP allows: a row is marked sent right after
//! the server accepted the message (its `250` to the data). If the process
//! dies in between (after the `250`, before the mark commits), the row is
//! sent again after the restart, with the same `Message-ID`, so mail
//! clients show it once. Nothing is ever lost: an unsent row stays due.

mod compose;
mod link;
mod outbox;
mod sender;

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::SmtpTransport;

pub use link::{LinkError, ReopenKey};
pub use outbox::{
    failed_emails, reply_conversation, request_transcript, set_waiting_alerts, unsubscribe,
    waiting_alerts, TranscriptRequest,
};
pub use sender::MailSender;

/// How to send email, from the command line.
#[derive(Clone)]
pub struct MailSettings {
    /// Validated `smtp://`/`smtps://` URL (see `--smtp-url`).
    smtp_url: String,
    from: Mailbox,
    /// The first retry's delay; each further one waits twice as long.
    pub retry_after: Duration,
    /// Attempts before an email is given up as failed.
    pub max_attempts: u32,
    /// How long an agent reply stays unread before it is emailed.
    pub unseen_after: Duration,
    /// How long a customer waits before the agents are alerted.
    pub waiting_after: Duration,
    /// Where links in emails point: this server as customers reach it.
    pub public_url: String,
    /// How long a reopen link (and a reply address) works.
    pub link_ttl: Duration,
    /// The inbound listener is on: customers' emails carry a reply address.
    pub replies: bool,
}

/// The email flags, as given.
pub struct MailFlags<'a> {
    pub smtp_url: Option<&'a str>,
    pub from: Option<&'a str>,
    pub retry_after: Duration,
    pub max_attempts: u32,
    pub unseen_after: Duration,
    pub waiting_after: Duration,
    pub public_url: String,
    pub link_ttl: Duration,
    pub replies: bool,
}

/// Why the email settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    #[error("--smtp-url is not usable: {0} (expected smtp://user:pass@host:port, smtp://…?tls=required for STARTTLS, or smtps://… for implicit TLS)")]
    Url(String),
    #[error("--mail-from is not an email address: {0}")]
    From(String),
    #[error("--smtp-url needs --mail-from (the address emails come from)")]
    FromMissing,
    #[error("--mail-from needs --smtp-url (the server that sends the emails)")]
    UrlMissing,
}

impl MailSettings {
    /// Email settings from the flags; `None` when email is off (neither is set).
    pub fn from_flags(flags: MailFlags<'_>) -> Result<Option<MailSettings>, MailConfigError> {
        let (smtp_url, from) = match (flags.smtp_url, flags.from) {
            (None, None) => return Ok(None),
            (Some(_), None) => return Err(MailConfigError::FromMissing),
            (None, Some(_)) => return Err(MailConfigError::UrlMissing),
            (Some(url), Some(from)) => (url, from),
        };
        SmtpTransport::from_url(smtp_url).map_err(|e| MailConfigError::Url(e.to_string()))?;
        let from: Mailbox = from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailConfigError::From(e.to_string()))?;
        Ok(Some(MailSettings {
            smtp_url: smtp_url.to_owned(),
            from,
            retry_after: flags.retry_after,
            max_attempts: flags.max_attempts.max(1),
            unseen_after: flags.unseen_after,
            waiting_after: flags.waiting_after,
            public_url: flags.public_url,
            link_ttl: flags.link_ttl,
            replies: flags.replies,
        }))
    }

    fn transport(&self) -> Result<SmtpTransport, String> {
        let transport = SmtpTransport::from_url(&self.smtp_url).map_err(|e| e.to_string())?;
        Ok(transport.timeout(Some(SMTP_TIMEOUT)).build())
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    fn backoff(&self, attempts: u32) -> Duration {
        self.retry_after
            .saturating_mul(1 << attempts.saturating_sub(1).min(16))
            .min(MAX_BACKOFF)
    }
}

/// How long one SMTP command may take before the attempt counts as failed.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;

    fn flags<'a>(url: Option<&'a str>, from: Option<&'a str>) -> MailFlags<'a> {
        MailFlags {
            smtp_url: url,
            from,
            retry_after: Duration::from_secs(30),
            max_attempts: 8,
            unseen_after: Duration::from_secs(300),
            waiting_after: Duration::from_secs(180),
            public_url: "https://support.example.com".into(),
            link_ttl: Duration::from_secs(86400),
            replies: false,
        }
    }

    fn settings() -> MailSettings {
        MailSettings::from_flags(flags(
            Some("smtp://127.0.0.1:2525"),
            Some("Support <support@example.com>"),
        ))
        .expect("valid settings")
        .expect("email on")
    }

    #[test]
    fn email_is_off_without_flags_and_refuses_half_a_configuration() {
        let off = MailSettings::from_flags(flags(None, None));
        assert!(matches!(off, Ok(None)));
        let no_from = MailSettings::from_flags(flags(Some("smtp://h:25"), None));
        assert!(matches!(no_from, Err(MailConfigError::FromMissing)));
        let no_url = MailSettings::from_flags(flags(None, Some("a@b.c")));
        assert!(matches!(no_url, Err(MailConfigError::UrlMissing)));
        let bad = MailSettings::from_flags(flags(Some("http://h"), Some("a@b.c")));
        assert!(matches!(bad, Err(MailConfigError::Url(_))));
        let bad_from = MailSettings::from_flags(flags(Some("smtp://h:25"), Some("nobody")));
        assert!(matches!(bad_from, Err(MailConfigError::From(_))));
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_an_hour() {
        let s = settings();
        assert_eq!(s.backoff(1), Duration::from_secs(30));
        assert_eq!(s.backoff(2), Duration::from_secs(60));
        assert_eq!(s.backoff(3), Duration::from_secs(120));
        assert_eq!(s.backoff(30), MAX_BACKOFF);
    }
}
