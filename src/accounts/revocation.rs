//! Closing the open sockets of a credential that stops working. Agent
//! sockets are watched here under their agent and credential when they open
//! (`web::sockets`); logging out, logging out everywhere, disabling an agent
//! or deleting a token sends [`Revoked`] to the matching sockets at once,
//! and each closes itself with 4003 (PROTOCOL.md). Pages then reconnect,
//! are refused and show the login.

use std::collections::HashMap;
use std::sync::Mutex;

use actix::prelude::*;

use super::Credential;
use crate::domain::AgentId;

/// Tells a socket its credential was revoked: close (4003) and stop.
#[derive(Message, Clone, Copy, Debug)]
#[rtype(result = "()")]
pub struct Revoked;

/// The open sockets of one agent, with the credential each opened with.
type Open = Vec<(Credential, Recipient<Revoked>)>;

/// The open agent sockets, by agent.
#[derive(Default)]
pub struct Revocations {
    sockets: Mutex<HashMap<AgentId, Open>>,
}

impl Revocations {
    /// Remembers an open socket. Closed sockets of the same agent are
    /// forgotten here, so the list stays as long as the open ones. The
    /// service token cannot be revoked and is not watched.
    pub fn watch(&self, agent: AgentId, credential: Credential, socket: Recipient<Revoked>) {
        if credential == Credential::Service {
            return;
        }
        let mut sockets = self.lock();
        let open = sockets.entry(agent).or_default();
        open.retain(|(_, s)| s.connected());
        open.push((credential, socket));
    }

    /// Closes the sockets of `agent` opened with a credential `which`
    /// picks.
    pub fn revoke(&self, agent: AgentId, which: impl Fn(Credential) -> bool) {
        let mut sockets = self.lock();
        let Some(open) = sockets.get_mut(&agent) else {
            return;
        };
        open.retain(|(credential, socket)| {
            let revoked = which(*credential);
            if revoked {
                socket.do_send(Revoked);
            }
            !revoked && socket.connected()
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AgentId, Open>> {
        // The map stays consistent even if a holder panicked.
        self.sockets.lock().unwrap_or_else(|p| p.into_inner())
    }
}
