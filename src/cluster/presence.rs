//! Who has a socket on which node, as far as this node has heard: each node
//! says when its own sockets come and go, and repeats the whole list every
//! [`SNAPSHOT_INTERVAL`] (which also says it is alive). A node not heard
//! from for [`NODE_TIMEOUT`] (killed, cut off) no longer counts, so stale
//! presence clears by itself.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::domain::{ClientId, Role};

/// How often a node repeats the list of its sockets.
pub const SNAPSHOT_INTERVAL: Duration = Duration::from_secs(2);

/// How long a silent node's sockets still count as online.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(6);

/// A side of a conversation.
pub type Key = (ClientId, Role);

struct Node {
    heard: Instant,
    online: HashSet<Key>,
}

#[derive(Default)]
pub struct PresenceBook {
    /// This node's own sockets.
    local: HashSet<Key>,
    others: HashMap<u64, Node>,
}

impl PresenceBook {
    /// A change of this node's own sockets.
    pub fn local(&mut self, key: Key, online: bool) {
        if online {
            self.local.insert(key);
        } else {
            self.local.remove(&key);
        }
    }

    pub fn local_keys(&self) -> impl Iterator<Item = &Key> {
        self.local.iter()
    }

    /// Whether another node has a socket for `key`.
    pub fn elsewhere(&self, key: &Key) -> bool {
        self.others.values().any(|n| n.online.contains(key))
    }

    /// Another node's change; the keys whose state elsewhere changed.
    pub fn change(&mut self, node: u64, key: Key, online: bool, now: Instant) -> Vec<(Key, bool)> {
        let before = self.elsewhere(&key);
        let entry = self.node(node, now);
        if online {
            entry.online.insert(key.clone());
        } else {
            entry.online.remove(&key);
        }
        self.changed_since([(key, before)])
    }

    /// Another node's whole list.
    pub fn snapshot(&mut self, node: u64, keys: HashSet<Key>, now: Instant) -> Vec<(Key, bool)> {
        let entry = self.node(node, now);
        let touched: HashSet<Key> = entry.online.symmetric_difference(&keys).cloned().collect();
        let before: Vec<(Key, bool)> = touched
            .into_iter()
            .map(|k| {
                let b = self.elsewhere(&k);
                (k, b)
            })
            .collect();
        self.node(node, now).online = keys;
        self.changed_since(before)
    }

    /// Forgets nodes silent for longer than `NODE_TIMEOUT`.
    pub fn expire(&mut self, now: Instant) -> Vec<(Key, bool)> {
        let silent: Vec<u64> = self
            .others
            .iter()
            .filter(|(_, n)| now.duration_since(n.heard) > NODE_TIMEOUT)
            .map(|(id, _)| *id)
            .collect();
        let mut changes = Vec::new();
        for id in silent {
            if let Some(node) = self.others.get(&id) {
                let before: Vec<(Key, bool)> =
                    node.online.iter().map(|k| (k.clone(), true)).collect();
                self.others.remove(&id);
                log::warn!("cluster: node {id:016x} silent for {NODE_TIMEOUT:?}; its sockets no longer count");
                changes.extend(self.changed_since(before));
            }
        }
        changes
    }

    /// Another node spoke (any message): it is alive.
    pub fn heard(&mut self, node: u64, now: Instant) {
        self.node(node, now);
    }

    /// Whether `node` was heard from within the timeout (and not expired).
    pub fn is_live(&self, node: u64) -> bool {
        self.others.contains_key(&node)
    }

    /// The other nodes heard from within the timeout.
    pub fn live_nodes(&self) -> impl Iterator<Item = u64> + '_ {
        self.others.keys().copied()
    }

    fn node(&mut self, id: u64, now: Instant) -> &mut Node {
        let node = self.others.entry(id).or_insert_with(|| Node {
            heard: now,
            online: HashSet::new(),
        });
        node.heard = now;
        node
    }

    fn changed_since(&self, before: impl IntoIterator<Item = (Key, bool)>) -> Vec<(Key, bool)> {
        before
            .into_iter()
            .filter_map(|(key, was)| {
                let now = self.elsewhere(&key);
                (now != was).then_some((key, now))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Key {
        (ClientId::parse(id).expect("a valid id"), Role::Customer)
    }

    #[test]
    fn a_side_is_online_while_any_other_node_says_so() {
        let mut book = PresenceBook::default();
        let now = Instant::now();
        assert_eq!(
            book.change(1, key("ann"), true, now),
            vec![(key("ann"), true)]
        );
        assert!(book.change(2, key("ann"), true, now).is_empty());
        assert!(book.change(1, key("ann"), false, now).is_empty());
        assert_eq!(
            book.change(2, key("ann"), false, now),
            vec![(key("ann"), false)]
        );
    }

    #[test]
    fn a_snapshot_replaces_what_a_node_said_before() {
        let mut book = PresenceBook::default();
        let now = Instant::now();
        book.change(1, key("ann"), true, now);
        let changes = book.snapshot(1, HashSet::from([key("bob")]), now);
        assert_eq!(changes.len(), 2);
        assert!(changes.contains(&(key("ann"), false)));
        assert!(changes.contains(&(key("bob"), true)));
    }

    #[test]
    fn a_silent_node_stops_counting_after_the_timeout() {
        let mut book = PresenceBook::default();
        let then = Instant::now();
        book.change(1, key("ann"), true, then);
        assert!(book.expire(then + NODE_TIMEOUT / 2).is_empty());
        let later = then + NODE_TIMEOUT + Duration::from_millis(1);
        assert_eq!(book.expire(later), vec![(key("ann"), false)]);
        assert!(!book.elsewhere(&key("ann")));
    }
}
