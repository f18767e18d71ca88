//! The inbound SMTP listener (`--smtp-inbound-bind`): customers' replies to
//! our emails. The company's mail server forwards `reply+<token>@…` here;
//! the token (random, expiring, issued with the email) names the
//! conversation.
//! A reply's new text (quotes and signature dropped) is posted in the
//! conversation as the customer's message, live on the agents' sockets.
//! Unknown or expired addresses, oversized mail and senders over the rate
//! are refused with SMTP errors, so the forwarding server bounces them.

mod reply;
mod smtp;

use std::net::TcpListener;
use std::sync::Arc;

use actix::Addr;

use crate::conversation::Registry;
use crate::limits::KeyedBuckets;
use crate::store::Store;

/// What the listener needs.
#[derive(Clone)]
pub struct Inbound {
    pub registry: Addr<Registry>,
    pub store: Store,
    /// Largest email accepted, in bytes.
    pub max_bytes: usize,
    /// Longest message text a conversation accepts.
    pub max_text_chars: usize,
    /// Emails per second per connecting IP.
    pub rate: Arc<KeyedBuckets<std::net::IpAddr>>,
}

/// Emails a client IP may deliver per second, and in a burst.
pub const INBOUND_RATE: f64 = 1.0;
pub const INBOUND_BURST: u32 = 10;

/// Serves `listener` on the current actix runtime until the system stops.
pub fn start(listener: TcpListener, inbound: Inbound) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    actix_rt::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let inbound = inbound.clone();
                    actix_rt::spawn(async move {
                        if let Err(e) = smtp::serve(stream, peer, &inbound).await {
                            log::info!("inbound smtp: connection from {peer} ended: {e}");
                        }
                    });
                }
                Err(e) => log::warn!("inbound smtp: accept failed: {e}"),
            }
        }
    });
    Ok(())
}
