//! What each socket of a `SessionActor` sees: the welcome and history of
//! an attach, older pages, and for the customer only the items they may
//! see (no private notes, no internal events), with their own newest seq
//! and the agents' read mark cut to it.

use actix::prelude::*;
use bytestring::ByteString;

use super::SessionActor;
use crate::conversation::link::ToSocket;
use crate::conversation::messages::{Attach, HistoryBefore};
use crate::domain::{ChatMessage, Role};
use crate::error::AppError;
use crate::protocol::{Items, ServerEvent, HISTORY_PAGE_MAX};

impl SessionActor {
    /// The newest seq `role` sees: the customer sees no notes and no
    /// internal events.
    pub(super) fn last_seen(&self, role: Role) -> u64 {
        match role {
            Role::Agent => self.last_seq,
            Role::Customer => self.last_public_seq,
        }
    }

    /// The read mark of `of` as `reader` is told it. The customer is never
    /// told a seq they do not see beyond their newest one (it would hint at
    /// a note).
    pub(super) fn read_mark_for(&self, of: Role, reader: Role) -> u64 {
        self.read_seq[of].min(self.last_seen(reader))
    }

    /// Makes `msg.socket` a socket of `msg.who`: welcome, history, presence.
    pub(super) fn attach(&mut self, msg: Attach, ctx: &mut Context<Self>) {
        let role = msg.who.role();
        let me = msg.who.author();
        let socket_id = msg.socket.id;
        if let Some(old) = self.sockets.attach(&msg.who, msg.socket) {
            // Full: flagged stalled, so it closes itself (4002) instead.
            old.offer(ToSocket::Replaced);
        }
        log::info!("{}: {role} connected (socket {socket_id})", self.client);
        let welcome = ServerEvent::Welcome {
            role,
            client_id: &self.client,
            last_seq: self.last_seen(role),
            peer_online: self.online(role.peer()),
            max_text_chars: self.settings.max_text_chars,
            status: self.status,
            read_seq: self.read_seq[role],
            peer_read_seq: self.read_mark_for(role.peer(), role),
            me: me.as_ref(),
            contact: Some(&self.contact).filter(|c| !c.is_empty()),
            assignee: (role == Role::Agent).then_some(self.assignee.as_ref()),
        }
        .encode();
        self.deliver_to(role, socket_id, ToSocket::Frame(welcome));
        let since = msg.since;
        if let Some((messages, has_more)) = self.window.after(since, role, self.last_seen(role)) {
            return self.send_history(role, socket_id, &messages, has_more);
        }
        // Memory does not reach back a whole page (or the customer's items
        // are sparse in it): ask the store, and handle nothing else (no
        // live item) until the history is out.
        let read = self.store.before(
            self.client.clone(),
            self.last_seen(role) + 1,
            HISTORY_PAGE_MAX,
            role,
        );
        ctx.wait(
            read.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(page) => {
                        let page: Vec<ChatMessage> = page
                            .into_iter()
                            .filter(|m| m.seq > since && m.seq <= act.last_seen(role))
                            .collect();
                        let has_more = page.first().is_some_and(|m| m.prev_for(role) > since);
                        act.send_history(role, socket_id, &page, has_more);
                    }
                    Err(e) => {
                        log::error!("{}: history read failed: {e}", act.client);
                        act.deliver_to(role, socket_id, ToSocket::Unavailable);
                    }
                }),
        );
    }

    /// The history that completes an attach; only then is the socket's
    /// side announced (a socket that stalls before is never online).
    pub(super) fn send_history(
        &mut self,
        role: Role,
        socket_id: u64,
        messages: &[ChatMessage],
        more: bool,
    ) {
        let history = ServerEvent::History {
            messages: Items {
                messages,
                reader: role,
            },
            has_more: more,
        }
        .encode();
        self.deliver_to(role, socket_id, ToSocket::Frame(history));
        self.presence_changed(role);
    }

    pub(super) fn history_before(
        &mut self,
        msg: HistoryBefore,
    ) -> ResponseActFuture<Self, Result<ByteString, AppError>> {
        let reader = msg.role;
        let before = msg.before.min(self.last_seen(reader) + 1);
        let limit = msg.limit.clamp(1, HISTORY_PAGE_MAX);
        let page = move |messages: &[ChatMessage]| {
            ServerEvent::History {
                messages: Items { messages, reader },
                has_more: messages.first().is_some_and(|m| m.prev_for(reader) > 0),
            }
            .encode()
        };
        if let Some(messages) = self.window.page_before(before, limit, reader) {
            return Box::pin(fut::ready(Ok(page(&messages))));
        }
        let read = self
            .store
            .before(self.client.clone(), before, limit, reader);
        Box::pin(
            read.into_actor(self)
                .map(move |result, act, _| match result {
                    Ok(messages) => Ok(page(&messages)),
                    Err(e) => {
                        log::error!("{}: history read failed: {e}", act.client);
                        Err(AppError::StoreUnavailable)
                    }
                }),
        )
    }
}
