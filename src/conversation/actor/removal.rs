//! What a `SessionActor` does for privacy: it records who resolved or
//! reopened it in the audit log, and it closes for good (4004) when its
//! conversation is erased or anonymised, unless retention asked only if
//! nobody is connected.

use actix::prelude::*;

use super::{Phase, SessionActor};
use crate::conversation::link::ToSocket;
use crate::domain::{ConversationStatus, Role};
use crate::store::{conversation_target, AuditAction, AuditEvent, Who};

impl SessionActor {
    /// Records a status change by `by` (off the actor: it never waits).
    pub(super) fn audit_status(&self, by: Who, status: ConversationStatus) {
        let action = match status {
            ConversationStatus::Resolved => AuditAction::Resolve,
            ConversationStatus::Open => AuditAction::Reopen,
        };
        let event = AuditEvent::new(by, action).target(conversation_target(&self.client));
        let store = self.store.clone();
        actix::spawn(async move { store.audit(event).await });
    }

    /// Closes every socket with 4004 and stops, writing nothing more; with
    /// `if_idle`, only if nobody is connected. Says whether it closed.
    pub(super) fn close_for_removal(&mut self, if_idle: bool, ctx: &mut Context<Self>) -> bool {
        if if_idle && (self.sockets.any(Role::Customer) || self.sockets.any(Role::Agent)) {
            return false;
        }
        self.phase = Phase::Closing;
        for link in self.sockets.take_all() {
            link.offer(ToSocket::Erased);
        }
        ctx.stop();
        true
    }
}
