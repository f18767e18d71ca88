//! Turns an outbox row into an email: multipart plain text and simple HTML
//! (every user text escaped; no images, no tracking), threaded per
//! conversation with `Message-ID`, `In-Reply-To` and `References`.

use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use sha2::{Digest, Sha256};

use super::outbox::{Due, Line};
use crate::domain::{escape_html, Lang, NoticeKind, Role};

/// The email for `due`, from the conversation's `lines` as stored now.
pub(super) fn compose(
    from: &Mailbox,
    due: &Due,
    lines: &[Line],
    file_url: &dyn Fn(&str) -> String,
    link: &str,
    reply_to: Option<&str>,
    unsubscribe: Option<&str>,
) -> Result<Message, String> {
    // An alert may go to several agents (comma-separated).
    let to = due
        .recipient
        .split(',')
        .map(|one| {
            one.parse::<Mailbox>()
                .map_err(|e| format!("bad recipient {one}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let domain = from.email.domain();
    let thread = thread_key(due.client.as_str());
    // Stable per row: a resend after a crash carries the same id, so the
    // customer's mail client shows the email once.
    let message_id = format!("<{}.{}.{thread}@{domain}>", due.kind.as_str(), due.seq);
    let conversation_id = format!("<conversation.{thread}@{domain}>");
    // English unless the customer's page spoke another language.
    let words = Words::of(due.lang.unwrap_or_default());
    let (subject, intro) = match due.kind {
        NoticeKind::Transcript => words.transcript,
        NoticeKind::Unseen => words.unseen,
        NoticeKind::Waiting => words.waiting,
    };
    let (plain, html) = body(&words, intro, lines, file_url, link);
    let mut builder = Message::builder().from(from.clone());
    if let Some(address) = reply_to {
        let mailbox = address
            .parse::<Mailbox>()
            .map_err(|e| format!("bad reply address {address}: {e}"))?;
        builder = builder.reply_to(mailbox);
    }
    for mailbox in to {
        builder = builder.to(mailbox);
    }
    if let Some(url) = unsubscribe {
        // RFC 8058 one-click: the mail client POSTs to the URL.
        let header = |name: &'static str, value: String| {
            HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
        };
        builder = builder
            .raw_header(header("List-Unsubscribe", format!("<{url}>")))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    builder
        .subject(subject)
        .message_id(Some(message_id))
        .in_reply_to(conversation_id.clone())
        .references(conversation_id)
        .multipart(MultiPart::alternative_plain_html(plain, html))
        .map_err(|e| format!("cannot build the email: {e}"))
}

/// What an email says around the conversation's lines, in one language.
struct Words {
    /// Subject and first line of each kind of email.
    transcript: (&'static str, &'static str),
    unseen: (&'static str, &'static str),
    waiting: (&'static str, &'static str),
    you: &'static str,
    support: &'static str,
    continue_here: &'static str,
}

impl Words {
    fn of(lang: Lang) -> Words {
        match lang {
            Lang::En => Words {
                transcript: (
                    "Transcript of your conversation",
                    "Here is your conversation with our support team.",
                ),
                unseen: (
                    "New reply to your conversation",
                    "Our support team answered you while you were away.",
                ),
                waiting: (
                    "A customer is waiting for an answer",
                    "This customer has been waiting for an answer.",
                ),
                you: "You",
                support: "Support",
                continue_here: "Continue the conversation",
            },
            Lang::Zh => Words {
                transcript: ("您的对话记录", "以下是您与我们客服团队的对话。"),
                unseen: ("您的对话有新回复", "您离开时，我们的客服团队回复了您。"),
                waiting: ("有客户在等待回复", "这位客户一直在等待回复。"),
                you: "您",
                support: "客服",
                continue_here: "继续对话",
            },
        }
    }
}

/// An opaque, stable name of the conversation for message ids (the client
/// id itself may hold characters a message id cannot, and need not leak).
fn thread_key(client: &str) -> String {
    hex::encode(&Sha256::digest(client.as_bytes())[..12])
}

/// The plain and HTML bodies: the intro, the lines, and the link back.
fn body(
    words: &Words,
    intro: &str,
    lines: &[Line],
    file_url: &dyn Fn(&str) -> String,
    link: &str,
) -> (String, String) {
    let mut plain = format!("{intro}\n\n");
    let mut html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p>",
        escape_html(intro)
    );
    for line in lines {
        let who = speaker(words, line);
        let at = time(line.ts_millis);
        plain.push_str(&format!("[{at}] {who}:\n{}\n\n", line.text));
        html.push_str(&format!(
            "<p><b>{}</b> <small>{}</small><br>{}</p>",
            escape_html(&who),
            escape_html(&at),
            escape_html(&line.text).replace('\n', "<br>"),
        ));
        // Files are linked, never attached: a link works while the file is kept.
        for file in &line.files {
            let url = file_url(&file.id);
            let size = size(file.size);
            plain.push_str(&format!("  [{}, {size}] {url}\n", file.name));
            html.push_str(&format!(
                "<p>&#128206; <a href=\"{}\">{}</a> ({size})</p>",
                escape_html(&url),
                escape_html(&file.name),
            ));
        }
        if !line.files.is_empty() {
            plain.push('\n');
        }
    }
    plain.push_str(&format!("{}: {link}\n", words.continue_here));
    html.push_str(&format!(
        "<p><a href=\"{0}\">{1}</a></p></body></html>",
        escape_html(link),
        words.continue_here
    ));
    (plain, html)
}

fn speaker(words: &Words, line: &Line) -> String {
    match line.from {
        Role::Customer => words.you.to_owned(),
        Role::Agent => line
            .author
            .clone()
            .unwrap_or_else(|| words.support.to_owned()),
    }
}

/// A file's size as people read it: 512 B, 12 KB, 1.5 MB.
fn size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes.max(0) as f64;
    if b < KB {
        format!("{bytes} B")
    } else if b < KB * KB {
        format!("{:.0} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

fn time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClientId;
    use crate::mail::outbox::FileLine;

    #[test]
    fn a_transcript_escapes_what_people_wrote_and_threads_by_conversation() {
        let from: Mailbox = "Support <support@example.com>".parse().expect("mailbox");
        let due = Due {
            id: 1,
            client: ClientId::parse("alice").expect("id"),
            kind: NoticeKind::Transcript,
            seq: 2,
            recipient: "alice@example.org".into(),
            attempts: 0,
            lang: None,
        };
        let lines = [Line {
            from: Role::Customer,
            author: None,
            text: "<script>alert(1)</script>".into(),
            ts_millis: 0,
            seq: 1,
            files: vec![FileLine {
                id: "f1".into(),
                name: "<b>bill</b>.pdf".into(),
                size: 1536,
            }],
        }];
        let file_url = |id: &str| format!("https://x.test/f/{id}");
        let email = compose(
            &from,
            &due,
            &lines,
            &file_url,
            "https://x.test/r/t",
            None,
            Some("https://x.test/u/t"),
        )
        .expect("email");
        let raw = String::from_utf8(email.formatted()).expect("utf-8");
        assert!(raw.contains("&lt;script&gt;"), "{raw}");
        assert!(
            raw.contains("[<b>bill</b>.pdf, 2 KB] https://x.test/f/f1"),
            "a file with its size and link: {raw}"
        );
        assert!(
            raw.contains("&lt;b&gt;bill&lt;/b&gt;.pdf</a> (2 KB)"),
            "escaped in the HTML: {raw}"
        );
        assert!(!raw.contains("<script>alert(1)</script></p>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        let thread = thread_key("alice");
        assert!(
            raw.contains(&format!("Message-ID: <transcript.2.{thread}@example.com>")),
            "{raw}"
        );
        assert!(
            raw.contains(&format!("References: <conversation.{thread}@example.com>")),
            "{raw}"
        );
        assert!(!raw.contains("<img"), "no tracking pixel: {raw}");
        assert!(
            raw.contains("List-Unsubscribe: <https://x.test/u/t>"),
            "{raw}"
        );
        assert!(
            raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{raw}"
        );
    }
}
