//! How a `SessionActor` answers `history_before`: from the recent window
//! when it holds the page, else with one read of the store, off the actor.

use actix::prelude::*;
use bytestring::ByteString;

use super::SessionActor;
use crate::conversation::messages::HistoryBefore;
use crate::domain::ChatMessage;
use crate::error::AppError;
use crate::protocol::{ServerEvent, HISTORY_PAGE_MAX};

impl SessionActor {
    pub(super) fn history_before(
        &mut self,
        msg: HistoryBefore,
    ) -> ResponseActFuture<Self, Result<ByteString, AppError>> {
        let before = msg.before.min(self.last_seq + 1);
        let limit = msg.limit.clamp(1, HISTORY_PAGE_MAX);
        let from = before.saturating_sub(limit as u64).max(1);
        let page = |messages: &[ChatMessage]| {
            ServerEvent::History {
                messages,
                has_more: messages.first().is_some_and(|m| m.seq > 1),
            }
            .encode()
        };
        if let Some(messages) = self.window.between(from, before) {
            return Box::pin(fut::ready(Ok(page(&messages))));
        }
        let read = self.store.before(self.client.clone(), before, limit);
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
