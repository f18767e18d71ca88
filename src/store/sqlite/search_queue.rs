//! When the search index catches up with new messages. Indexed in their own
//! small commits (a few messages every half millisecond under load), they
//! cost twice as much again as storing them, in FTS5's segment writes and
//! merges per transaction; queued, one index run takes hundreds.

use std::time::{Duration, Instant};

/// Queued messages at which a commit indexes them along with its writes.
pub const SEARCH_BATCH: usize = 512;
/// Longest a message waits for the index: a commit indexes the queue once
/// its oldest entry is this old, and an idle writer catches up after it.
pub const SEARCH_DELAY: Duration = Duration::from_millis(200);

/// Messages stored but not yet in the search index.
#[derive(Debug, Default)]
pub(super) struct SearchQueue {
    waiting: usize,
    oldest: Option<Instant>,
}

impl SearchQueue {
    pub(super) fn add(&mut self, messages: usize) {
        if messages > 0 {
            self.waiting += messages;
            self.oldest.get_or_insert_with(Instant::now);
        }
    }

    /// Whether the queue should be indexed now.
    pub(super) fn due(&self) -> bool {
        self.waiting >= SEARCH_BATCH || self.oldest.is_some_and(|t| t.elapsed() >= SEARCH_DELAY)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    pub(super) fn clear(&mut self) {
        *self = SearchQueue::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_due_when_full_or_old_and_not_before() {
        let mut queue = SearchQueue::default();
        assert!(!queue.due() && queue.is_empty());
        queue.add(SEARCH_BATCH - 1);
        assert!(!queue.due(), "neither full nor old yet");
        queue.add(1);
        assert!(queue.due(), "full");
        queue.clear();
        queue.add(1);
        queue.oldest = Instant::now().checked_sub(SEARCH_DELAY);
        assert!(queue.due(), "old");
    }
}
