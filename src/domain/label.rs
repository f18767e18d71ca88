//! Labels: named colours agents put on conversations.

use serde::{Deserialize, Serialize};

/// A label as summaries and the API show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub id: i64,
    pub name: String,
    /// `#rrggbb`.
    pub color: String,
}
