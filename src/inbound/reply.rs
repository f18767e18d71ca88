//! What a customer wrote in an email reply: the new text, without the
//! quoted history their mail client appended nor their signature.

use mail_parser::MessageParser;

/// The parts of an inbound email a conversation needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    /// The new text (trimmed; may be empty).
    pub text: String,
    /// The email's `Message-ID`, to recognise a redelivery.
    pub message_id: Option<String>,
}

/// Parses `raw` (RFC 5322, MIME); `None` if it is not an email.
pub fn parse(raw: &[u8]) -> Option<Reply> {
    let message = MessageParser::default().parse(raw)?;
    let body = message.body_text(0)?;
    Some(Reply {
        text: new_text(&body),
        message_id: message.message_id().map(str::to_owned),
    })
}

/// The lines before the first quote marker, signature delimiter or
/// "On … wrote:" header that mail clients put above the quoted history.
fn new_text(body: &str) -> String {
    let mut kept = Vec::new();
    for line in body.lines() {
        let trimmed = line.trim();
        if starts_history(trimmed) {
            break;
        }
        kept.push(line.trim_end());
    }
    kept.join("\n").trim().to_owned()
}

fn starts_history(line: &str) -> bool {
    line.starts_with('>')
        // The signature delimiter is "-- " (the trailing space is often lost).
        || line == "--"
        || line.starts_with("-----Original Message-----")
        || line.starts_with("________________________________")
        || (line.starts_with("On ") && line.ends_with("wrote:"))
        || (line.starts_with('在') && (line.ends_with("写道：") || line.ends_with("写道:")))
        || line.starts_with("From: ")
        || line.starts_with("Sent from my ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_new_text_and_drops_quotes_and_signatures() {
        let body = "Thanks, that works!\nSee you\n\nOn Sat, 5 Dec 2026, Support <s@x.com> wrote:\n> It ships today\n";
        assert_eq!(new_text(body), "Thanks, that works!\nSee you");
        assert_eq!(new_text("Yes\n-- \nAna Smith\nACME"), "Yes");
        assert_eq!(
            new_text("好的\n\n在 2026年12月5日，客服 写道：\n> 今天发货"),
            "好的"
        );
        assert_eq!(new_text("> only a quote"), "");
    }

    #[test]
    fn parses_a_multipart_email() {
        let raw =
            b"From: ana@example.com\r\nTo: reply+x@example.com\r\nMessage-ID: <m1@example.com>\r\n\
            Subject: Re: New reply\r\nMIME-Version: 1.0\r\n\
            Content-Type: multipart/alternative; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGreat, thanks\r\n\r\n> old\r\n\
            --b\r\nContent-Type: text/html\r\n\r\n<p>Great, thanks</p>\r\n--b--\r\n";
        let reply = parse(raw).expect("an email");
        assert_eq!(reply.text, "Great, thanks");
        assert_eq!(reply.message_id.as_deref(), Some("m1@example.com"));
    }
}
