//! A small bot that answers a customer as the agent, speaking the public
//! protocol (PROTOCOL.md) from outside the server.
//!
//! ```text
//! cargo run --example agent_bot -- --url ws://127.0.0.1:8000 --token <API token> --client-id alice
//! ```
//!
//! The token is an agent's API token: make one on the team page
//! (`/agent/team`, "API tokens") or with `POST /api/tokens`; the bot's
//! replies then carry that agent's name. The service token
//! (`--agent-token`) works too, as the built-in "API" agent.
//!
//! It replies to every customer message with a short acknowledgement. Each
//! reply carries the id `bot-<seq>` of the message it answers, so a bot that
//! restarts (and sees the history again) never answers twice: the server
//! treats the repeated id as a retry.

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// WebSocket base address of the server.
    #[arg(long, default_value = "ws://127.0.0.1:8000")]
    url: String,
    /// An agent's API token (see above), or the service token.
    #[arg(long, env = "SUPPORT_CHAT_AGENT_TOKEN")]
    token: String,
    /// The conversation to answer.
    #[arg(long)]
    client_id: String,
}

fn reply_to(text: &str) -> String {
    let lower = text.to_lowercase();
    if lower.contains("refund") || text.contains("退款") {
        "I have noted your refund request; an agent will confirm it shortly.".into()
    } else if lower.contains("hello") || lower.contains("hi") || text.contains("你好") {
        "Hello! Thanks for writing. How can we help?".into()
    } else {
        format!(
            "Thanks, we received: \"{}\". An agent will follow up.",
            text.chars().take(80).collect::<String>()
        )
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let url = format!("{}/ws/agent/{}", args.url, args.client_id);
    // In a header rather than the address, which proxies tend to log.
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {}", args.token).parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    eprintln!("connected as the agent of {}", args.client_id);
    while let Some(frame) = socket.next().await {
        let text = match frame? {
            Message::Text(text) => text,
            Message::Close(reason) => {
                // 4003: the token was deleted or its agent disabled.
                eprintln!("closed by the server: {reason:?}");
                break;
            }
            _ => continue,
        };
        let event: Value = serde_json::from_str(&text)?;
        let messages = match event["type"].as_str() {
            Some("history") => event["messages"].as_array().cloned().unwrap_or_default(),
            Some("message") => vec![event.clone()],
            Some("error") => {
                eprintln!("server error: {}", event["message"]);
                continue;
            }
            _ => continue,
        };
        for message in messages.iter().filter(|m| m["from"] == "customer") {
            let seq = message["seq"].as_u64().unwrap_or_default();
            let reply = json!({
                "type": "message",
                "text": reply_to(message["text"].as_str().unwrap_or_default()),
                "id": format!("bot-{seq}"),
            });
            socket.send(Message::Text(reply.to_string())).await?;
        }
    }
    Ok(())
}
