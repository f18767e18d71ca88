//! The team's shared desk, beside the accounts on the store: saved replies
//! (canned responses, `/shortcut` in the composer) and labels (admins
//! define them; agents put them on conversations). Small tables, rarely
//! written, so plain SQL like the accounts.

mod labels;
mod replies;

pub use labels::{add_label, change_labels, delete_label, label_id, labels, LabelRef, NewLabel};
pub use replies::{add_reply, delete_reply, replies, NewReply};

use crate::error::AppError;
use crate::store::StoreError;

fn store_err(e: StoreError) -> AppError {
    log::error!("desk store: {e}");
    AppError::StoreUnavailable
}

/// Whether a write failed on a unique constraint (a name already taken).
fn taken(e: &StoreError) -> bool {
    matches!(e, StoreError::Taken(_))
}
