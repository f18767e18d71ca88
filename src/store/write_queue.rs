//! The writer thread's queue: bounded, but allocated only as it fills.
//!
//! A bounded `std::sync::mpsc::sync_channel` allocates and initialises its
//! whole capacity up front: 65,536 writes of about 200 bytes each held
//! 13 MB of memory for the server's life, a third of an idle server's. An
//! unbounded channel allocates small blocks as writes arrive and frees them
//! as the writer takes them; a shared count keeps the bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Why a command was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum QueueError {
    /// `capacity` writes are waiting already.
    Full,
    /// The writer thread has ended.
    Closed,
}

/// The sending side; cheap to clone.
pub(super) struct QueueSender<T> {
    tx: Sender<T>,
    waiting: Arc<AtomicUsize>,
    capacity: usize,
}

// Derived Clone would require `T: Clone`.
impl<T> Clone for QueueSender<T> {
    fn clone(&self) -> Self {
        QueueSender {
            tx: self.tx.clone(),
            waiting: Arc::clone(&self.waiting),
            capacity: self.capacity,
        }
    }
}

/// The writer thread's side.
pub(super) struct QueueReceiver<T> {
    rx: Receiver<T>,
    waiting: Arc<AtomicUsize>,
}

/// A queue that holds at most `capacity` bounded commands.
pub(super) fn queue<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let (tx, rx) = mpsc::channel();
    let waiting = Arc::new(AtomicUsize::new(0));
    (
        QueueSender {
            tx,
            waiting: Arc::clone(&waiting),
            capacity,
        },
        QueueReceiver { rx, waiting },
    )
}

impl<T> QueueSender<T> {
    /// Queues a command that counts against the bound (a write).
    pub(super) fn try_send(&self, command: T) -> Result<(), QueueError> {
        let before = self.waiting.fetch_add(1, Ordering::AcqRel);
        if before >= self.capacity {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(QueueError::Full);
        }
        self.tx.send(command).map_err(|_| {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            QueueError::Closed
        })
    }

    /// Queues a control command (a flush, the stop), which is never refused
    /// for a full queue: it is what lets the queue empty.
    pub(super) fn send_control(&self, command: T) -> Result<(), QueueError> {
        self.tx.send(command).map_err(|_| QueueError::Closed)
    }
}

impl<T> QueueReceiver<T> {
    pub(super) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    pub(super) fn try_recv(&self) -> Option<T> {
        self.rx.try_recv().ok()
    }

    /// The writer took `count` bounded commands off the queue.
    pub(super) fn taken(&self, count: usize) {
        self.waiting.fetch_sub(count, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_refuses_writes_until_the_writer_takes_some() {
        let (tx, rx) = queue(2);
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.clone().try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(QueueError::Full));
        // Control commands still go through.
        assert_eq!(tx.send_control(0), Ok(()));
        assert_eq!(rx.try_recv(), Some(1));
        rx.taken(1);
        assert_eq!(tx.try_send(4), Ok(()));
        assert_eq!(tx.try_send(5), Err(QueueError::Full));
        let rest: Vec<i32> = std::iter::from_fn(|| rx.try_recv()).collect();
        assert_eq!(rest, vec![2, 0, 4]);
    }

    #[test]
    fn a_queue_without_its_writer_says_so() {
        let (tx, rx) = queue::<i32>(2);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(QueueError::Closed));
        assert_eq!(tx.send_control(1), Err(QueueError::Closed));
    }
}
