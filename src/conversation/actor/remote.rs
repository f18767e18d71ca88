//! How a `SessionActor` works beside the sessions of the same conversation
//! on other nodes. Every node writes; the store takes a message only if its
//! seq follows the last stored one, so seqs stay gapless cluster-wide. What
//! another node stored reaches this session as a doorbell (`Committed`) and
//! is read from the store after `last_seq`, so sockets see every message
//! once and in seq order whether the doorbell came, came late or never. A
//! message of this session refused because another node took its seq is
//! written again, with the ones after it, once the session has caught up.

use actix::prelude::*;

use super::posting::Draft;
use super::{Pending, SessionActor};
use crate::conversation::messages::{Attach, Poster};
use crate::conversation::remote::{ClusterNotice, Outgoing};
use crate::domain::{ChatMessage, ConversationStatus, Event};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::next_generation;

/// Most messages one read from the store brings; it reads again if full.
const FETCH_PAGE: usize = 500;

/// Reading what other nodes committed.
#[derive(Default)]
pub(super) struct Fetch {
    /// Highest seq known to be committed.
    wanted: u64,
    running: bool,
}

/// Catching up after a refused message.
#[derive(Default)]
pub(super) struct Resync {
    /// The refused messages, in seq order, to write again.
    retries: Vec<Pending>,
    /// New messages that came meanwhile, to take after them.
    pub(super) held: Vec<(Draft, Poster)>,
    /// Whether the store was read since everything in flight settled.
    caught_up: bool,
}

impl SessionActor {
    /// Tells the other nodes, if there are any.
    pub(super) fn publish(&self, notice: ClusterNotice) {
        if let Some(cluster) = &self.links.cluster {
            cluster.do_send(Outgoing {
                client: self.client.clone(),
                notice,
            });
        }
    }

    pub(super) fn remote(&mut self, notice: ClusterNotice, ctx: &mut Context<Self>) {
        match notice {
            ClusterNotice::Committed { seq } => self.want(seq, ctx),
            ClusterNotice::Read { role, seq } => {
                self.move_read_mark(role, seq);
            }
            ClusterNotice::Typing {
                role,
                active,
                author,
            } => self.relay_typing(role, active, author.as_ref(), 0),
            ClusterNotice::Presence { role, online } => {
                self.remote_online[role] = online;
                self.presence_changed(role);
            }
            ClusterNotice::Contact => self.reload_contact(ctx),
            // The Registry closes the session instead.
            ClusterNotice::Removed => {}
        }
    }

    /// Messages up to `seq` are committed: reads those it lacks.
    fn want(&mut self, seq: u64, ctx: &mut Context<Self>) {
        self.fetch.wanted = self.fetch.wanted.max(seq);
        if self.fetch.wanted > self.last_seq {
            self.read_committed(ctx);
        }
    }

    /// Reads what was committed after `last_seq` and shows it; `wait`: the
    /// session takes nothing else meanwhile, so order holds.
    fn read_committed(&mut self, ctx: &mut Context<Self>) {
        if self.fetch.running || !self.window_ready() {
            return;
        }
        self.fetch.running = true;
        let read = self
            .store
            .after(self.client.clone(), self.last_seq, FETCH_PAGE);
        ctx.wait(read.into_actor(self).map(|result, act, ctx| {
            act.fetch.running = false;
            let (read, full) = match result {
                Ok(messages) => {
                    let (read, full) = (!messages.is_empty(), messages.len() == FETCH_PAGE);
                    for message in messages {
                        act.apply_stored(message, ctx);
                    }
                    (read, full)
                }
                Err(e) => {
                    // The next doorbell or the registry's check tries again.
                    log::warn!("{}: cannot read new messages: {e}", act.client);
                    return;
                }
            };
            // Again while it brings something and more is known to be there.
            if read && (full || act.fetch.wanted > act.last_seq) {
                return act.read_committed(ctx);
            }
            if let Some(resync) = &mut act.resync {
                resync.caught_up = act.pending.is_empty();
                act.advance_resync(ctx);
            }
        }));
    }

    /// Attaches `msg`'s socket once this session has what the client has
    /// seen: a client moving from another node may know seqs not read here
    /// yet, and must not get them again.
    pub(super) fn attach_caught_up(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        let behind = msg.since.saturating_sub(self.last_seen(msg.who.role()));
        if behind == 0 {
            return self.attach(msg, ctx);
        }
        let limit = usize::try_from(behind)
            .unwrap_or(usize::MAX)
            .max(FETCH_PAGE);
        let read = self.store.after(self.client.clone(), self.last_seq, limit);
        ctx.wait(read.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok(messages) => {
                    for message in messages {
                        act.apply_stored(message, ctx);
                    }
                }
                Err(e) => log::warn!("{}: cannot read new messages: {e}", act.client),
            }
            act.attach(msg, ctx);
        }));
    }

    fn window_ready(&self) -> bool {
        self.phase == super::Phase::Ready
    }

    /// A committed message read from the store: this session's own (its
    /// outcome is on its way) or another node's.
    fn apply_stored(&mut self, message: ChatMessage, ctx: &mut Context<Self>) {
        if message.seq != self.last_seq + 1 {
            return;
        }
        let mine = self.pending.iter().position(|p| {
            let m = &p.message;
            m.seq == message.seq
                && m.from == message.from
                && m.ts == message.ts
                && m.text == message.text
                && m.id == message.id
        });
        if let Some(pending) = mine.and_then(|i| self.pending.remove(i)) {
            return self.committed(pending, ctx);
        }
        self.last_seq = message.seq;
        if let Some(id) = &message.id {
            self.window.remember_id(message.from, id, message.seq);
        }
        self.deliver_item(&message);
        if self.pending.is_empty() && self.resync.is_none() {
            self.next_seq = self.last_seq + 1;
            self.next_prev_public = self.last_public_seq;
        }
        if let Some(event) = message.event.as_deref() {
            self.follow(event);
        }
        self.window.push(message);
    }

    /// What another node's event changed here: status or assignee (that
    /// node stored the change and told its router).
    fn follow(&mut self, event: &Event) {
        match event {
            Event::Resolved { .. } | Event::Reopened { .. } => {
                let status = match event {
                    Event::Resolved { .. } => ConversationStatus::Resolved,
                    _ => ConversationStatus::Open,
                };
                if self.status != status {
                    self.status = status;
                    self.broadcast(ServerEvent::Status { status }.encode());
                }
            }
            Event::Assigned { to, .. } | Event::Transferred { to, .. } => {
                self.assignee = Some(to.clone());
                self.tell_assignee();
            }
            Event::Unassigned { .. } => {
                self.assignee = None;
                self.tell_assignee();
            }
        }
    }

    /// The store refused pending message `seq`: another node took the seq.
    pub(super) fn conflicted(&mut self, seq: u64, ctx: &mut Context<Self>) {
        let Some(i) = self.pending.iter().position(|p| p.message.seq == seq) else {
            return;
        };
        let Some(pending) = self.pending.remove(i) else {
            return;
        };
        if let Some(id) = &pending.message.id {
            self.window.forget_id(pending.message.from, id);
        }
        log::debug!(
            "{}: seq {seq} was taken on another node; writing it again",
            self.client
        );
        let resync = self.resync.get_or_insert_with(Resync::default);
        resync.retries.push(pending);
        resync.caught_up = false;
        self.read_committed(ctx);
    }

    /// Once nothing of the old generation is in flight and the store was
    /// read after that, writes the refused messages again, then the held.
    pub(super) fn advance_resync(&mut self, ctx: &mut Context<Self>) {
        let Some(resync) = &self.resync else {
            return;
        };
        if !self.pending.is_empty() || self.fetch.running {
            return;
        }
        if !resync.caught_up {
            return self.read_committed(ctx);
        }
        let Some(resync) = self.resync.take() else {
            return;
        };
        self.generation = next_generation();
        self.next_seq = self.last_seq + 1;
        self.next_prev_public = self.last_public_seq;
        for pending in resync.retries {
            self.write_again(pending, ctx);
        }
        for (draft, poster) in resync.held {
            self.admit(draft, poster, ctx);
        }
    }

    /// A refused message again: if it is stored after all (a retry sent to
    /// another node, or a commit reported as failed that reached the disk),
    /// the poster's socket has it already from the store's read, so only
    /// API posters are answered; else it is appended anew.
    fn write_again(&mut self, pending: Pending, ctx: &mut Context<Self>) {
        let Pending {
            message,
            acks,
            socket,
            _permit,
            ..
        } = pending;
        let role = message.from;
        if let Some(stored) = message
            .id
            .as_deref()
            .and_then(|id| self.window.seq_of(role, id))
            .and_then(|seq| self.window.by_seq(seq).cloned())
        {
            for ack in acks {
                let _ = ack.send(Ok(stored.clone()));
            }
            return;
        }
        let draft = Draft {
            role,
            author: message.author,
            text: message.text,
            id: message.id,
            private: message.private,
            event: message.event.map(|e| *e),
            files: Vec::new(),
            attachments: message.attachments,
        };
        let before = self.pending.len();
        self.append(draft, Poster::Server, ctx);
        let appended = self.pending.len() > before;
        match self.pending.back_mut().filter(|_| appended) {
            Some(again) => {
                again.acks = acks;
                again.socket = socket;
                again._permit = _permit;
            }
            None => {
                for ack in acks {
                    let _ = ack.send(Err(AppError::StoreUnavailable));
                }
            }
        }
    }

    /// Another node changed the contact: read it, show it.
    fn reload_contact(&mut self, ctx: &mut Context<Self>) {
        let load = self.store.load(self.client.clone(), 0);
        ctx.spawn(load.into_actor(self).map(|result, act, _| match result {
            Ok(snapshot) if snapshot.contact != act.contact => {
                act.contact = snapshot.contact;
                let frame = ServerEvent::Contact {
                    contact: &act.contact,
                }
                .encode();
                act.broadcast(frame);
            }
            Ok(_) => {}
            Err(e) => log::warn!("{}: cannot read the contact: {e}", act.client),
        }));
    }
}
