//! Replying by email: a customer's reply to our email, sent over SMTP to
//! the inbound listener, lands in the conversation live on the agent's
//! socket, its quoted history dropped; a forged reply address is refused.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::on_each_backend;
use crate::common::{spawn_app_with, WsClient};
use crate::email::FROM;
use crate::smtp::{free_port, MailCatcher};

/// A plain SMTP client: sends each command, returns each reply's code.
struct Smtp {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl Smtp {
    async fn connect(port: u16) -> Smtp {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (read, write) = stream.into_split();
        let mut smtp = Smtp {
            read: BufReader::new(read),
            write,
        };
        assert_eq!(smtp.reply().await, 220);
        smtp
    }

    /// The code of the next (possibly multi-line) reply.
    async fn reply(&mut self) -> u16 {
        loop {
            let mut line = String::new();
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.read.read_line(&mut line));
            read.await.expect("an SMTP reply in time").expect("read");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.get(..3).and_then(|c| c.parse().ok()).expect("a code");
            }
        }
    }

    async fn command(&mut self, line: &str) -> u16 {
        self.write
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .expect("write");
        self.reply().await
    }
}

on_each_backend! {
    async fn an_email_reply_appears_live_in_the_conversation_and_a_forged_one_is_refused() {
        let smtp = MailCatcher::start(free_port()).await;
        let inbound = free_port();
        let url = smtp.url();
        let bind = format!("127.0.0.1:{inbound}");
        let app = spawn_app_with(&[
            "--smtp-url",
            &url,
            "--mail-from",
            FROM,
            "--notify-unseen-after",
            "1s",
            "--smtp-inbound-bind",
            &bind,
        ])
        .await;
        let (mut customer, _, _) = WsClient::join(&app.ws("/ws/customer/mailer-1")).await;
        customer
            .send_json(json!({"type": "contact", "email": "ana@example.com"}))
            .await;
        customer.wait_for("contact").await;
        customer.say("Hello", Some("c-1")).await;
        // Stored before the agent joins, so it is history, not live.
        customer.wait_for("message").await;
        customer.close().await;
        let (mut agent, _, _) = WsClient::join(&app.ws_as_agent("/ws/agent/mailer-1")).await;
        agent.say("Shall I refund you?", Some("a-1")).await;
        agent.wait_for("message").await;

        let mail = smtp.wait_for(1).await;
        let reply_to = mail[0]
            .lines()
            .find_map(|l| l.strip_prefix("Reply-To: "))
            .expect("a Reply-To for the conversation")
            .to_owned();
        assert!(
            reply_to.starts_with("reply+") && reply_to.ends_with("@example.com"),
            "{reply_to}"
        );

        let mut client = Smtp::connect(inbound).await;
        assert_eq!(client.command("EHLO mx.example.com").await, 250);
        assert_eq!(client.command("MAIL FROM:<ana@example.com>").await, 250);
        let forged = format!("RCPT TO:<reply+{}@example.com>", "0".repeat(40));
        assert_eq!(
            client.command(&forged).await,
            550,
            "a forged token is refused"
        );
        assert_eq!(client.command(&format!("RCPT TO:<{reply_to}>")).await, 250);
        assert_eq!(client.command("DATA").await, 354);
        let body = format!(
            "From: ana@example.com\r\nTo: {reply_to}\r\nSubject: Re: New reply\r\n\
             Message-ID: <r1@example.com>\r\n\r\nYes please\r\n\r\n\
             On Sat, Support <support@example.com> wrote:\r\n> Shall I refund you?\r\n."
        );
        assert_eq!(client.command(&body).await, 250, "accepted once stored");
        assert_eq!(client.command("QUIT").await, 221);

        let message = agent.wait_for("message").await;
        assert_eq!(message["text"], "Yes please", "{message}");
        assert_eq!(message["from"], "customer", "{message}");
    }
}
