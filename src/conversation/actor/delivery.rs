//! How a `SessionActor` reaches its sockets: it never waits on one (a
//! full mailbox means the client stopped reading: detached as stalled),
//! and tells each side, the inbox and the other nodes who came and went.

use bytestring::ByteString;

use super::SessionActor;
use crate::conversation::link::{SocketLink, ToSocket};
use crate::conversation::messages::PresenceChanged;
use crate::conversation::remote::ClusterNotice;
use crate::domain::{Author, Role};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::{WriteOp, WriteRequest};

impl SessionActor {
    /// Sends to every `role` socket (but `except`) without ever waiting; a
    /// full mailbox means the client stopped reading, so that socket is
    /// detached as stalled.
    pub(super) fn deliver(&mut self, role: Role, item: ToSocket, except: Option<u64>) {
        let dropped = self.sockets.offer(role, &item, except);
        self.dropped(role, dropped);
    }

    /// Sends to the one socket `socket_id` of `role`, if still attached.
    pub(super) fn deliver_to(&mut self, role: Role, socket_id: u64, item: ToSocket) {
        let dropped = self.sockets.offer_to(role, socket_id, item);
        self.dropped(role, dropped.into_iter().collect());
    }

    pub(super) fn dropped(&mut self, role: Role, dropped: Vec<SocketLink>) {
        if dropped.is_empty() {
            return;
        }
        for link in dropped.iter().filter(|l| l.is_stalled()) {
            log::warn!(
                "{}: {role} socket {} stalled (not reading); detached",
                self.client,
                link.id
            );
        }
        self.presence_changed(role);
    }

    pub(super) fn broadcast(&mut self, frame: ByteString) {
        self.deliver(Role::Customer, ToSocket::Frame(frame.clone()), None);
        self.deliver(Role::Agent, ToSocket::Frame(frame), None);
    }

    /// Whether `role` counts as online for the other side: the customer
    /// with a socket here; the agents with one here or a console open.
    pub(super) fn online(&self, role: Role) -> bool {
        let here = match role {
            Role::Customer => self.sockets.any(Role::Customer),
            Role::Agent => self.sockets.any(Role::Agent) || self.consoles_online,
        };
        here || self.remote_online[role]
    }

    /// Tells the peer of `role` (and the inbox, and the other nodes) if
    /// `role` came or went.
    pub(super) fn presence_changed(&mut self, role: Role) {
        let here = self.sockets.any(role);
        if self.published[role] != here {
            self.published[role] = here;
            self.publish(ClusterNotice::Presence { role, online: here });
        }
        let online = self.online(role);
        if self.announced[role] == online {
            return;
        }
        self.announced[role] = online;
        let frame = ServerEvent::Presence { role, online }.encode();
        self.deliver(role.peer(), ToSocket::Frame(frame), None);
        if let Some(inbox) = &self.links.inbox {
            inbox.do_send(PresenceChanged {
                client: self.client.clone(),
                role,
                online,
            });
        }
    }

    pub(super) fn detach(&mut self, role: Role, socket_id: u64) {
        if self.sockets.detach(role, socket_id) {
            log::info!("{}: {role} disconnected (socket {socket_id})", self.client);
            self.presence_changed(role);
        }
    }

    /// Typing goes to everyone else: the peer side, and the typist's
    /// colleagues (an agent sees who else is answering).
    /// (`socket_id`: the typist's, if here.)
    pub(super) fn relay_typing(
        &mut self,
        role: Role,
        active: bool,
        author: Option<&Author>,
        socket_id: u64,
    ) {
        let frame = ServerEvent::Typing {
            role,
            active,
            author,
        }
        .encode();
        self.deliver(role.peer(), ToSocket::Frame(frame.clone()), None);
        if role == Role::Agent {
            self.deliver(Role::Agent, ToSocket::Frame(frame), Some(socket_id));
        }
    }

    pub(super) fn send_error(
        &mut self,
        role: Role,
        socket_id: u64,
        err: &AppError,
        id: Option<&str>,
    ) {
        let frame = ServerEvent::error(err, id).encode();
        self.deliver_to(role, socket_id, ToSocket::Frame(frame));
    }

    /// Queues a write whose outcome nobody waits for (read marks, status).
    pub(super) fn submit_meta(&self, op: WriteOp) {
        let request = WriteRequest {
            client: self.client.clone(),
            op,
            reply: None,
            generation: self.generation,
        };
        if let Err(e) = self.store.submit(request) {
            log::error!("{}: cannot queue a write: {e}", self.client);
        }
    }
}
