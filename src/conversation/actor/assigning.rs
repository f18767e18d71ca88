//! How a `SessionActor` changes its conversation's assignee: the target is
//! checked against the accounts, the change is stored, recorded as an event
//! (with the note of a transfer), shown to the agents and told to whoever
//! routes conversations.

use actix::prelude::*;
use tokio::sync::oneshot;

use super::posting::Draft;
use super::{Phase, SessionActor};
use crate::accounts::assignee;
use crate::conversation::link::ToSocket;
use crate::conversation::messages::{Assign, AssigneeChanged, Poster};
use crate::domain::{Author, Event, Role};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::{agent_target, conversation_target, AuditAction, AuditEvent, Who, WriteOp};

impl SessionActor {
    pub(super) fn assign(
        &mut self,
        msg: Assign,
        ctx: &mut Context<Self>,
    ) -> ResponseFuture<Result<Option<Author>, AppError>> {
        let Assign {
            by,
            to,
            note,
            only_if,
            who,
        } = msg;
        if self.phase != Phase::Ready {
            return Box::pin(async { Err(AppError::ShuttingDown) });
        }
        if self.last_seq == 0 {
            return Box::pin(async { Err(AppError::NotFound) });
        }
        let now = self.assignee.clone();
        if only_if.is_some_and(|expected| expected != now.as_ref().map(|a| a.id)) {
            return Box::pin(async move { Ok(now) });
        }
        let Some(to) = to else {
            let now = self.reassign(by, None, note, who, ctx);
            return Box::pin(async move { Ok(now) });
        };
        // `wait`: nothing else happens here between the check and the
        // change, so assignments apply in the order they came.
        let (answer, answered) = oneshot::channel();
        let check = assignee(&self.store, to);
        ctx.wait(check.into_actor(self).map(move |result, act, ctx| {
            let _ = answer.send(result.map(|to| act.reassign(by, Some(to), note, who, ctx)));
        }));
        Box::pin(async move { answered.await.unwrap_or(Err(AppError::ShuttingDown)) })
    }

    /// Makes `to` the assignee, on behalf of `who`; returns who it is now.
    pub(super) fn reassign(
        &mut self,
        by: Option<Author>,
        to: Option<Author>,
        note: Option<String>,
        who: Who,
        ctx: &mut Context<Self>,
    ) -> Option<Author> {
        let from = self.assignee.clone();
        let event = match (from.clone(), to.clone()) {
            (Some(from), Some(to)) if from.id == to.id => return Some(to),
            (None, None) => return None,
            (None, Some(to)) => Event::Assigned { by: by.clone(), to },
            (Some(from), Some(to)) => Event::Transferred {
                by: by.clone(),
                from,
                to,
            },
            (Some(from), None) => Event::Unassigned {
                by: by.clone(),
                from,
            },
        };
        self.audit_assignment(who, &event);
        self.assignee = to.clone();
        self.submit_meta(WriteOp::Assign(to.as_ref().map(|a| a.id)));
        self.record(event, ctx);
        if let Some(text) = &note {
            let draft = Draft {
                role: Role::Agent,
                author: by.clone(),
                text: text.clone(),
                id: None,
                private: true,
                event: None,
                files: Vec::new(),
                attachments: Vec::new(),
            };
            self.append(draft, Poster::Server, ctx);
        }
        self.tell_assignee();
        if let Some(watcher) = &self.links.assignments {
            watcher.do_send(AssigneeChanged {
                client: self.client.clone(),
                from: from.map(|a| a.id),
                to: to.clone(),
                by,
                note,
            });
        }
        to
    }

    /// Records an assignment, transfer or unassignment by `who` (off the
    /// actor: it never waits); the detail names the agents by id.
    fn audit_assignment(&self, who: Who, event: &Event) {
        let (action, detail) = match event {
            Event::Assigned { to, .. } => {
                (AuditAction::Assign, format!("to {}", agent_target(to.id.0)))
            }
            Event::Transferred { from, to, .. } => (
                AuditAction::Transfer,
                format!(
                    "from {} to {}",
                    agent_target(from.id.0),
                    agent_target(to.id.0)
                ),
            ),
            Event::Unassigned { from, .. } => (
                AuditAction::Unassign,
                format!("from {}", agent_target(from.id.0)),
            ),
            _ => return,
        };
        let event = AuditEvent::new(who, action)
            .target(conversation_target(&self.client))
            .detail(detail);
        let store = self.store.clone();
        actix::spawn(async move { store.audit(event).await });
    }

    /// The `assignee` frame to every agent socket, on every change (a
    /// socket learns the assignee first from its `welcome`).
    pub(super) fn tell_assignee(&mut self) {
        let frame = ServerEvent::Assignee {
            assignee: self.assignee.as_ref(),
        }
        .encode();
        self.deliver(Role::Agent, ToSocket::Frame(frame), None);
    }
}
