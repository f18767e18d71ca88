//! How a `SessionActor` answers `history_before`: from the recent window
//! when it holds the page, else with one read of the store, off the actor.

use actix::prelude::*;
use bytestring::ByteString;

use super::SessionActor;
use crate::conversation::messages::HistoryBefore;
use crate::domain::ChatMessage;
use crate::error::AppError;
use crate::protocol::{Items, ServerEvent, HISTORY_PAGE_MAX};

impl SessionActor {
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
