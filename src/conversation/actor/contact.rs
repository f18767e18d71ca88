//! How a `SessionActor` changes the customer's contact details: stored by
//! the writer like a read mark, and told to every socket of both sides at
//! once (the inbox learns it from the commit); and what the contact's email
//! address means for a change of status (the transcript).

use actix::prelude::*;

use super::{Phase, SessionActor};
use crate::conversation::messages::SetContact;
use crate::conversation::remote::ClusterNotice;
use crate::domain::{Contact, ContactUpdate, ConversationStatus, Notice, NoticeKind};
use crate::error::AppError;
use crate::protocol::ServerEvent;
use crate::store::WriteOp;

impl SessionActor {
    /// The write of a change to `status`: with email on, resolving the
    /// conversation of a customer who left an address and asked for a
    /// transcript also queues it, in the same transaction.
    pub(super) fn status_write(&self, status: ConversationStatus) -> WriteOp {
        let transcript_to = self.contact.email.clone().filter(|_| {
            self.settings.transcripts
                && self.contact.transcript
                && status == ConversationStatus::Resolved
        });
        match transcript_to {
            Some(to) => WriteOp::ResolveWithTranscript(Notice {
                kind: NoticeKind::Transcript,
                seq: self.last_seq,
                to,
            }),
            None => WriteOp::Status(status),
        }
    }

    fn set_contact(&mut self, update: &ContactUpdate) -> Result<Contact, AppError> {
        if self.phase != Phase::Ready {
            return Err(AppError::ShuttingDown);
        }
        let contact = self.contact.updated(update);
        if contact != self.contact {
            self.contact = contact.clone();
            self.submit_meta(WriteOp::Contact(contact.clone()));
            self.publish(ClusterNotice::Contact);
            let frame = ServerEvent::Contact { contact: &contact }.encode();
            self.broadcast(frame);
        }
        Ok(contact)
    }
}

impl Handler<SetContact> for SessionActor {
    type Result = Result<Contact, AppError>;

    fn handle(&mut self, SetContact(update): SetContact, _ctx: &mut Context<Self>) -> Self::Result {
        self.set_contact(&update)
    }
}
