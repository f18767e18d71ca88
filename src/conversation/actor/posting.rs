//! How a `SessionActor` takes a new message: idempotent retries by client
//! id, the next seq, the write to the store, and the outcome to the poster
//! and both sides once the store has settled it.

use std::time::Instant;

use actix::prelude::*;

use super::{Pending, Phase, SessionActor};
use crate::conversation::link::ToSocket;
use crate::conversation::messages::{Post, Poster, QueueChanged};
use crate::conversation::remote::ClusterNotice;
use crate::domain::{
    now_millis, Attachment, AttachmentId, Author, ChatMessage, ConversationStatus, Event, Role,
    MAX_MESSAGE_FILE_BYTES,
};
use crate::error::AppError;
use crate::protocol::{Item, ServerEvent};
use crate::store::{next_generation, StoreError, Unclaimable, WriteOp, WriteOutcome, WriteRequest};

/// A new item before it has a seq: a message, a note or an event.
pub(super) struct Draft {
    pub role: Role,
    pub author: Option<Author>,
    pub text: String,
    pub id: Option<String>,
    pub private: bool,
    pub event: Option<Event>,
    /// The uploads it sends, as asked for …
    pub files: Vec<AttachmentId>,
    /// … and once checked, as stored.
    pub attachments: Vec<Attachment>,
}

impl Draft {
    /// The history item recording `event`, made by `by` (or the server).
    pub(super) fn event(event: Event) -> Draft {
        let author = match &event {
            Event::Assigned { by, .. }
            | Event::Transferred { by, .. }
            | Event::Unassigned { by, .. }
            | Event::Resolved { by }
            | Event::Reopened { by } => by.clone(),
        };
        Draft {
            role: Role::Agent,
            author,
            text: event.agent_text(),
            id: None,
            private: !event.customer_sees(),
            event: Some(event),
            files: Vec::new(),
            attachments: Vec::new(),
        }
    }
}

impl SessionActor {
    pub(super) fn post(&mut self, msg: Post, ctx: &mut Context<Self>) {
        let Post {
            role,
            author,
            text,
            id,
            private,
            attachments,
            poster,
        } = msg;
        if private && role != Role::Agent {
            let err = AppError::Forbidden("only agents write private notes".into());
            return self.refuse(role, err, id.as_deref(), poster);
        }
        let draft = Draft {
            role,
            author,
            text,
            id,
            private,
            event: None,
            files: attachments,
            attachments: Vec::new(),
        };
        self.admit(draft, poster, ctx);
    }

    /// Takes `draft` unless the session cannot: a retry is answered with
    /// the stored copy, a new message checked and appended.
    pub(super) fn admit(&mut self, draft: Draft, poster: Poster, ctx: &mut Context<Self>) {
        let role = draft.role;
        if self.phase != Phase::Ready {
            return self.refuse(role, AppError::ShuttingDown, draft.id.as_deref(), poster);
        }
        if self.degraded {
            let id = draft.id.as_deref();
            return self.refuse(role, AppError::StoreUnavailable, id, poster);
        }
        if let Some(resync) = &mut self.resync {
            // Behind the messages being written again, in the order sent.
            return resync.held.push((draft, poster));
        }
        let Some(client_msg_id) = draft.id.clone() else {
            return self.claim(draft, poster, ctx);
        };
        if let Some(seq) = self.window.seq_of(role, &client_msg_id) {
            // Committed: send the stored copy again to the poster only.
            if let Some(stored) = self.window.by_seq(seq).cloned() {
                return self.resend(role, &stored, poster);
            }
            // Pending: its acknowledgement is on its way.
            let same = |p: &&mut Pending| {
                p.message.seq == seq && p.message.id.as_deref() == Some(client_msg_id.as_str())
            };
            if let Some(waiting) = self.pending.iter_mut().find(same) {
                if let Poster::Api(ack) = poster {
                    waiting.acks.push(ack);
                }
                return;
            }
        }
        if !self.window.maybe_stored(role, &client_msg_id) {
            return self.claim(draft, poster, ctx);
        }
        // Older than what memory holds: one indexed lookup keeps retries
        // idempotent however old the original is.
        let lookup = self
            .store
            .find_by_client_id(self.client.clone(), role, client_msg_id);
        ctx.wait(
            lookup
                .into_actor(self)
                .map(move |found, act, ctx| match found {
                    Ok(Some(stored)) => act.resend(role, &stored, poster),
                    Ok(None) => act.claim(draft, poster, ctx),
                    Err(e) => {
                        log::error!("{}: id lookup failed: {e}", act.client);
                        let id = draft.id.as_deref();
                        act.refuse(role, AppError::StoreUnavailable, id, poster);
                    }
                }),
        );
    }

    /// Checks the uploads `draft` sends (this side's, of this conversation,
    /// not sent by another message, stored or pending, within the
    /// per-message limit), then appends it; the store checks them again in
    /// the message's own transaction.
    fn claim(&mut self, mut draft: Draft, poster: Poster, ctx: &mut Context<Self>) {
        if draft.files.is_empty() {
            return self.append(draft, poster, ctx);
        }
        let role = draft.role;
        let taken = draft.files.iter().find(|id| {
            self.pending
                .iter()
                .any(|p| p.message.attachments.iter().any(|a| a.id == **id))
        });
        if let Some(id) = taken {
            let err = AppError::UnknownAttachment(id.as_str().to_owned());
            return self.refuse(role, err, draft.id.as_deref(), poster);
        }
        let files = std::mem::take(&mut draft.files);
        let (store, client) = (self.store.clone(), self.client.clone());
        let lookup = async move { store.claimable(client, role, files).await };
        ctx.wait(lookup.into_actor(self).map(move |found, act, ctx| {
            let err = match found {
                Ok(Ok(found)) => {
                    let bytes: u64 = found.iter().map(|a| a.size).sum();
                    if bytes <= MAX_MESSAGE_FILE_BYTES {
                        draft.attachments = found;
                        return act.append(draft, poster, ctx);
                    }
                    AppError::PayloadTooLarge {
                        max: MAX_MESSAGE_FILE_BYTES as usize,
                    }
                }
                Ok(Err(Unclaimable::Unknown(id))) => {
                    AppError::UnknownAttachment(id.as_str().to_owned())
                }
                Err(e) => {
                    log::error!("{}: attachment lookup failed: {e}", act.client);
                    AppError::StoreUnavailable
                }
            };
            act.refuse(role, err, draft.id.as_deref(), poster);
        }));
    }

    /// Gives `draft` the next seq and hands it to the store.
    pub(super) fn append(&mut self, draft: Draft, poster: Poster, ctx: &mut Context<Self>) {
        let role = draft.role;
        let since = Instant::now();
        let message = ChatMessage {
            seq: self.next_seq,
            from: role,
            text: draft.text,
            ts: now_millis(),
            id: draft.id,
            author: draft.author,
            private: draft.private,
            event: draft.event.map(Box::new),
            attachments: draft.attachments,
            prev_public: self.next_prev_public,
        };
        let request = WriteRequest {
            client: self.client.clone(),
            op: WriteOp::Message(message.clone()),
            reply: Some(ctx.address().recipient()),
            generation: self.generation,
        };
        if let Err(e) = self.store.submit(request) {
            log::error!("{}: cannot queue a write: {e}", self.client);
            let id = message.id.as_deref();
            return self.refuse(role, AppError::StoreUnavailable, id, poster);
        }
        self.next_seq += 1;
        if message.customer_sees() {
            self.next_prev_public = message.seq;
        }
        if let Some(id) = &message.id {
            self.window.remember_id(role, id, message.seq);
        }
        let (acks, socket, permit) = match poster {
            Poster::Api(ack) => (vec![ack], None, None),
            Poster::Socket { socket_id, permit } => (Vec::new(), Some(socket_id), Some(permit)),
            Poster::Server => (Vec::new(), None, None),
        };
        self.pending.push_back(Pending {
            message,
            acks,
            socket,
            _permit: permit,
            since,
        });
    }

    /// Tells a poster its message was not stored.
    pub(super) fn refuse(&mut self, role: Role, err: AppError, id: Option<&str>, poster: Poster) {
        match poster {
            Poster::Api(ack) => {
                let _ = ack.send(Err(err));
            }
            Poster::Socket { socket_id, .. } => self.send_error(role, socket_id, &err, id),
            Poster::Server => log::error!("{}: an event was not recorded: {err}", self.client),
        }
    }

    /// A stored message again, for a retry: to the poster only.
    pub(super) fn resend(&mut self, role: Role, stored: &ChatMessage, poster: Poster) {
        match poster {
            Poster::Api(ack) => {
                let _ = ack.send(Ok(stored.clone()));
            }
            Poster::Socket { socket_id, .. } => {
                let frame = ServerEvent::Message(Item {
                    message: stored,
                    reader: role,
                })
                .encode();
                self.deliver_to(role, socket_id, ToSocket::Frame(frame));
            }
            Poster::Server => {}
        }
    }

    /// The store's verdict on the pending message `seq`.
    pub(super) fn settle(
        &mut self,
        seq: u64,
        result: Result<(), StoreError>,
        ctx: &mut Context<Self>,
    ) {
        let Some(position) = self.pending.iter().position(|p| p.message.seq == seq) else {
            // Read back from the store before its outcome came (with
            // several nodes), or a bug.
            log::debug!("{}: outcome for unknown seq {seq}", self.client);
            return;
        };
        let Some(pending) = self.pending.remove(position) else {
            return;
        };
        match result {
            Ok(()) if pending.message.seq <= self.last_seq => {
                // Read back from the store and shown before its outcome came
                // (with several nodes): only posters without a socket wait.
                log::debug!("{}: seq {seq} was shown from the store", self.client);
                for ack in pending.acks {
                    let _ = ack.send(Ok(pending.message.clone()));
                }
            }
            Ok(()) => self.committed(pending, ctx),
            Err(e) => self.not_stored(pending, &e),
        }
    }

    pub(super) fn committed(&mut self, pending: Pending, ctx: &mut Context<Self>) {
        let (message, since) = (pending.message, pending.since);
        self.last_seq = message.seq;
        for ack in pending.acks {
            let _ = ack.send(Ok(message.clone()));
        }
        let reopens = message.from == Role::Customer && self.status == ConversationStatus::Resolved;
        let (from, seq) = (message.from, message.seq);
        self.publish(ClusterNotice::Committed { seq });
        self.tell_router(&message);
        self.deliver_item(&message);
        self.window.push(message);
        self.store
            .metrics()
            .relay_seconds
            .observe_duration(since.elapsed());
        if from == Role::Agent {
            // An agent who answers has read what came before, however the
            // answer was sent (console, page or API): no unread badge stays.
            self.mark_read(Role::Agent, seq);
        }
        if reopens {
            // The store reopened it in the same transaction, unless a
            // Resolve queued after this message re-resolved it: say open last.
            self.set_status(ConversationStatus::Open);
            self.record(Event::Reopened { by: None }, ctx);
        }
    }

    /// A committed item to every socket that may see it: all of the
    /// agents'; the customer's only if they see it, in their own copy.
    pub(super) fn deliver_item(&mut self, message: &ChatMessage) {
        let agents = ServerEvent::Message(Item {
            message,
            reader: Role::Agent,
        })
        .encode();
        self.deliver(Role::Agent, ToSocket::Frame(agents), None);
        if message.customer_sees() {
            self.last_public_seq = message.seq;
            let customer = ServerEvent::Message(Item {
                message,
                reader: Role::Customer,
            })
            .encode();
            self.deliver(Role::Customer, ToSocket::Frame(customer), None);
        }
    }

    /// A customer writing while nobody has the conversation, or its return
    /// to the queue, puts it in the queue; resolving or a transfer moves an
    /// agent's load: the router looks again, once the store has it (it
    /// reads the store; the event commits after the change it records).
    /// Called before `message` joins the window.
    fn tell_router(&self, message: &ChatMessage) {
        let routable = match message.event.as_deref() {
            None => {
                message.is_chat()
                    && message.from == Role::Customer
                    && self.assignee.is_none()
                    && !self.waiting_in_queue()
            }
            Some(Event::Resolved { .. }) => self.assignee.is_some(),
            Some(Event::Unassigned { .. } | Event::Transferred { .. }) => true,
            Some(Event::Assigned { .. } | Event::Reopened { .. }) => false,
        };
        if let (true, Some(queue)) = (routable, &self.links.queue) {
            queue.do_send(QueueChanged {
                client: self.client.clone(),
            });
        }
    }

    /// Whether the conversation is in the queue already (open, and its
    /// newest chat message the customer's): a customer's next message
    /// changes nothing there, and telling the router of each one woke its
    /// thread once per message.
    fn waiting_in_queue(&self) -> bool {
        self.status == ConversationStatus::Open
            && self.window.newest_chat_from() == Some(Role::Customer)
    }

    /// Records `event` in the history (nobody waits for it).
    pub(super) fn record(&mut self, event: Event, ctx: &mut Context<Self>) {
        self.append(Draft::event(event), Poster::Server, ctx);
    }

    pub(super) fn not_stored(&mut self, pending: Pending, error: &StoreError) {
        let message = pending.message;
        log::error!(
            "{}: message {} not stored: {error}",
            self.client,
            message.seq
        );
        if let Some(id) = &message.id {
            self.window.forget_id(message.from, id);
        }
        self.degraded = true;
        if let Some(socket_id) = pending.socket {
            let id = message.id.as_deref();
            self.send_error(message.from, socket_id, &AppError::StoreUnavailable, id);
        }
        for ack in pending.acks {
            let _ = ack.send(Err(AppError::StoreUnavailable));
        }
    }

    pub(super) fn outcome(&mut self, outcome: WriteOutcome, ctx: &mut Context<Self>) {
        for (seq, result) in outcome.results {
            if !self.degraded && result == Err(StoreError::OutOfSequence) {
                // Another node stored a message with this seq first (or a
                // commit reported as failed had reached the disk).
                self.conflicted(seq, ctx);
                continue;
            }
            self.settle(seq, result, ctx);
        }
        if self.degraded && self.pending.is_empty() {
            // Everything in flight is settled: resume right after the last
            // stored message.
            self.next_seq = self.last_seq + 1;
            self.next_prev_public = self.last_public_seq;
            self.generation = next_generation();
            self.degraded = false;
        }
        self.advance_resync(ctx);
    }
}
