//! The recent-message window of a conversation and its index of client
//! message ids: what a session keeps in memory so that (re)connects, retries
//! and recent history are answered without the store. Plain data, no actors.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

use growable_bloom_filter::GrowableBloom;

use crate::domain::{ChatMessage, Role};
use crate::protocol::HISTORY_PAGE_MAX;
use crate::store::MAX_KNOWN_IDS;

/// Newest messages a session keeps in memory; older pages come from the
/// store. Enough for retries, live reads and a reconnect after a short
/// gap; a reconnect that wants a whole page of a longer history reads it
/// from the store (about 0.3 ms). A whole page (200) in memory made a
/// connected conversation with a long history cost three times an idle
/// one; 64 cost 7 KiB more than 32.
pub const RECENT_WINDOW: usize = 32;

/// The newest committed messages and the ids a retry may name.
#[derive(Debug)]
pub struct Window {
    /// The newest committed messages, oldest first, gapless: all of the
    /// newest `RECENT_WINDOW` while `loaded`, else empty.
    recent: VecDeque<ChatMessage>,
    /// False while nobody is connected: the window is dropped then, so idle
    /// conversations cost memory for their metadata only, and is read again
    /// from the store on the next attach.
    loaded: bool,
    /// The seqs of `recent`'s and the in-flight messages' client ids, to
    /// answer retries: keyed by a hash of (role, id), not a copy of the id;
    /// the message at that seq tells whether it really is that id.
    ids: HashMap<u64, u64>,
    /// Every client message id of the conversation, so a new id is known
    /// to be new without asking the store; a hit (a retry of an old
    /// message, or a false positive) is checked against the store.
    known_ids: KnownIds,
    /// Whether `known_ids` covers the whole conversation.
    known_ids_complete: bool,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            recent: VecDeque::new(),
            loaded: false,
            ids: HashMap::new(),
            known_ids: KnownIds::default(),
            known_ids_complete: true,
        }
    }
}

impl Window {
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Takes the stored messages up to `last_seq` (newer ones are still being
    /// settled and will be pushed) and the conversation's known ids, plus the
    /// ids of the messages in flight.
    pub fn load<'a>(
        &mut self,
        recent: Vec<ChatMessage>,
        last_seq: u64,
        known_ids: &[(Role, String)],
        known_ids_complete: bool,
        in_flight: impl Iterator<Item = &'a ChatMessage>,
    ) {
        self.recent.clear();
        self.ids.clear();
        for m in recent.into_iter().filter(|m| m.seq <= last_seq) {
            if let Some(id) = &m.id {
                self.ids.insert(id_hash(m.from, id), m.seq);
            }
            self.recent.push_back(m);
        }
        for m in in_flight {
            if let Some(id) = &m.id {
                self.ids.insert(id_hash(m.from, id), m.seq);
            }
        }
        self.known_ids = KnownIds::of(known_ids.iter().map(|(role, id)| (*role, id.as_str())));
        self.known_ids_complete = known_ids_complete;
        self.loaded = true;
    }

    /// Nobody is connected: keep only what numbering and retries need.
    pub fn unload(&mut self) {
        self.recent = VecDeque::new();
        self.ids = HashMap::new();
        self.known_ids = KnownIds::default();
        self.known_ids_complete = false;
        self.loaded = false;
    }

    /// The seq of the message `(role, id)` in memory (stored or in flight;
    /// for one in flight, the caller checks its id).
    pub fn seq_of(&self, role: Role, id: &str) -> Option<u64> {
        let seq = *self.ids.get(&id_hash(role, id))?;
        match self.by_seq(seq) {
            // Another id with the same hash.
            Some(m) if m.from != role || m.id.as_deref() != Some(id) => None,
            _ => Some(seq),
        }
    }

    /// Whether `(role, id)` may name a stored message older than memory.
    pub fn maybe_stored(&self, role: Role, id: &str) -> bool {
        let complete = self.loaded && self.recent.front().is_none_or(|m| m.seq == 1);
        !complete && (!self.known_ids_complete || self.known_ids.contains(role, id))
    }

    /// A new message `(role, id)` got `seq`.
    pub fn remember_id(&mut self, role: Role, id: &str, seq: u64) {
        self.ids.insert(id_hash(role, id), seq);
        if self.known_ids_complete {
            self.known_ids.insert(role, id);
            if self.known_ids.len() > MAX_KNOWN_IDS {
                // Bound the memory of huge conversations; from now on
                // unknown ids are checked against the store.
                self.known_ids = KnownIds::default();
                self.known_ids_complete = false;
            }
        }
    }

    /// A message in flight was not stored: its id is free again.
    pub fn forget_id(&mut self, role: Role, id: &str) {
        self.ids.remove(&id_hash(role, id));
    }

    pub fn by_seq(&self, seq: u64) -> Option<&ChatMessage> {
        let first = self.recent.front()?.seq;
        self.recent
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// Who wrote the newest chat message (not a note or an event) in
    /// memory; `None` when memory holds none.
    pub fn newest_chat_from(&self) -> Option<Role> {
        self.recent
            .iter()
            .rev()
            .find(|m| m.is_chat())
            .map(|m| m.from)
    }

    /// A message was committed: the newest of the window.
    pub fn push(&mut self, message: ChatMessage) {
        if !self.loaded {
            if let Some(id) = &message.id {
                self.forget_id(message.from, id);
            }
            return;
        }
        self.recent.push_back(message);
        while self.recent.len() > RECENT_WINDOW {
            if let Some(old) = self.recent.pop_front() {
                if let Some(id) = old.id {
                    let key = id_hash(old.from, &id);
                    // Unless a newer message took its key.
                    if self.ids.get(&key) == Some(&old.seq) {
                        self.ids.remove(&key);
                    }
                }
            }
        }
    }

    /// The newest page after `since` that `reader` sees, and whether older
    /// ones are missing; `None` when memory cannot tell (it does not reach
    /// back a whole page, or the customer's items are sparse among notes
    /// and events: the store must answer). `last_seen` is the newest seq
    /// `reader` sees.
    pub fn after(
        &self,
        since: u64,
        reader: Role,
        last_seen: u64,
    ) -> Option<(Vec<ChatMessage>, bool)> {
        let newer = self
            .recent
            .iter()
            .filter(|m| m.seq > since && m.seen_by(reader));
        let count = newer.clone().count();
        let page: Vec<ChatMessage> = newer
            .skip(count.saturating_sub(HISTORY_PAGE_MAX))
            .cloned()
            .collect();
        let has_more = page.first().is_some_and(|m| m.prev_for(reader) > since);
        let complete = match page.first() {
            Some(_) => page.len() == HISTORY_PAGE_MAX || !has_more,
            None => last_seen <= since || reader == Role::Agent,
        };
        complete.then_some((page, has_more))
    }

    /// Up to `limit` items `reader` sees before `before`, if memory has
    /// them all.
    pub fn page_before(&self, before: u64, limit: usize, reader: Role) -> Option<Vec<ChatMessage>> {
        if reader == Role::Agent {
            let from = before.saturating_sub(limit as u64).max(1);
            return self.between(from, before);
        }
        if !self.loaded {
            return None;
        }
        let older = self
            .recent
            .iter()
            .filter(|m| m.seq < before && m.seen_by(reader));
        let count = older.clone().count();
        let page: Vec<ChatMessage> = older.skip(count.saturating_sub(limit)).cloned().collect();
        let from_start = self.recent.front().is_none_or(|m| m.seq == 1);
        let complete =
            page.len() == limit || page.first().is_some_and(|m| m.prev_public == 0) || from_start;
        complete.then_some(page)
    }

    /// The messages from `from` to before `before`, if memory has them all.
    fn between(&self, from: u64, before: u64) -> Option<Vec<ChatMessage>> {
        let in_memory = self.loaded && self.recent.front().is_none_or(|m| m.seq <= from);
        in_memory.then(|| {
            self.recent
                .iter()
                .filter(|m| m.seq >= from && m.seq < before)
                .cloned()
                .collect()
        })
    }
}

/// A fixed-key hash of a client message id (deterministic in the process).
fn id_hash(role: Role, id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (role, id).hash(&mut hasher);
    hasher.finish()
}

/// The client message ids of a whole conversation as a growable Bloom
/// filter: about two bytes an id, and a constant-time insert, where a sorted
/// vector of 8-byte hashes took 0.8 MB and moved 400 KB per new message in a
/// conversation of 100,000 messages. A false positive costs one indexed
/// lookup in the store.
#[derive(Debug)]
struct KnownIds(GrowableBloom);

/// The false-positive rate of the filter's first layer; each layer it grows
/// by gets 0.85 times its predecessor's, so the whole stays under 0.7 %
/// (measured: 0.4 % at 99,000 ids).
const KNOWN_IDS_ERROR_RATE: f64 = 0.001;

/// The filter's first size, in ids; it grows in layers past it.
const KNOWN_IDS_FIRST_CAPACITY: usize = 256;

impl KnownIds {
    fn with_room_for(ids: usize) -> KnownIds {
        let capacity = ids.max(KNOWN_IDS_FIRST_CAPACITY);
        KnownIds(GrowableBloom::new(KNOWN_IDS_ERROR_RATE, capacity))
    }

    fn of<'a>(ids: impl ExactSizeIterator<Item = (Role, &'a str)>) -> KnownIds {
        let mut known = KnownIds::with_room_for(ids.len());
        for (role, id) in ids {
            known.insert(role, id);
        }
        known
    }

    fn contains(&self, role: Role, id: &str) -> bool {
        self.0.contains((role, id))
    }

    fn insert(&mut self, role: Role, id: &str) {
        self.0.insert((role, id));
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Default for KnownIds {
    fn default() -> Self {
        KnownIds::with_room_for(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::now_millis;

    fn message(seq: u64, id: Option<&str>) -> ChatMessage {
        ChatMessage {
            seq,
            from: Role::Customer,
            text: format!("m{seq}"),
            ts: now_millis(),
            id: id.map(str::to_owned),
            author: None,
            private: false,
            event: None,
            attachments: Vec::new(),
            prev_public: seq - 1,
        }
    }

    /// A window loaded as the store loads it: the newest messages only.
    fn loaded(count: u64) -> Window {
        let mut window = Window::default();
        let first = count.saturating_sub(RECENT_WINDOW as u64) + 1;
        let recent = (first..=count).map(|s| message(s, Some(&format!("c{s}"))));
        window.load(recent.collect(), count, &[], true, std::iter::empty());
        window
    }

    #[test]
    fn keeps_the_newest_messages_and_forgets_the_ids_it_drops() {
        let mut window = loaded(0);
        for seq in 1..=(RECENT_WINDOW as u64 + 10) {
            let id = format!("c{seq}");
            window.remember_id(Role::Customer, &id, seq);
            window.push(message(seq, Some(&id)));
        }
        assert_eq!(window.by_seq(10), None);
        assert_eq!(window.by_seq(11).map(|m| m.seq), Some(11));
        assert_eq!(window.seq_of(Role::Customer, "c5"), None);
        let last = RECENT_WINDOW as u64 + 10;
        assert_eq!(
            window.seq_of(Role::Customer, &format!("c{last}")),
            Some(last)
        );
    }

    #[test]
    fn ignores_loaded_messages_past_the_last_settled_seq() {
        let mut window = Window::default();
        let in_flight = message(3, Some("late"));
        let recent = vec![message(1, None), message(2, None), message(3, None)];
        window.load(recent, 2, &[], true, std::iter::once(&in_flight));
        assert_eq!(window.by_seq(3), None);
        assert_eq!(window.seq_of(Role::Customer, "late"), Some(3));
    }

    #[test]
    fn pages_after_a_seq_say_when_older_messages_are_missing() {
        let window = loaded(300);
        assert_eq!(
            window.after(0, Role::Agent, 300),
            None,
            "a whole page reaches back beyond memory: the store answers"
        );
        let since = 300 - RECENT_WINDOW as u64;
        let (page, has_more) = window.after(since, Role::Agent, 300).unwrap();
        assert_eq!(page.len(), RECENT_WINDOW);
        assert!(!has_more);
        let (page, has_more) = window.after(295, Role::Agent, 300).unwrap();
        assert_eq!(
            page.iter().map(|m| m.seq).collect::<Vec<_>>(),
            [296, 297, 298, 299, 300]
        );
        assert!(!has_more);
    }

    #[test]
    fn older_pages_come_from_memory_only_when_it_has_them_all() {
        let window = loaded(300);
        let first_in_memory = 300 - RECENT_WINDOW as u64 + 1;
        assert_eq!(
            window
                .between(first_in_memory, first_in_memory + 15)
                .map(|p| p.len()),
            Some(15)
        );
        assert_eq!(
            window.between(first_in_memory - 1, first_in_memory + 15),
            None
        );
    }

    /// Seqs 1..=count where every third item is a private note; the
    /// customer's items chain over them through `prev_public`.
    fn with_notes(count: u64) -> Window {
        let mut window = Window::default();
        let mut prev = 0;
        let mut items = Vec::new();
        for seq in 1..=count {
            let mut m = message(seq, None);
            m.private = seq % 3 == 0;
            m.prev_public = prev;
            if !m.private {
                prev = seq;
            }
            items.push(m);
        }
        let first = count.saturating_sub(RECENT_WINDOW as u64) as usize;
        window.load(items.split_off(first), count, &[], true, std::iter::empty());
        window
    }

    #[test]
    fn the_customer_gets_only_what_they_see_and_no_false_gap() {
        let window = with_notes(9);
        let (page, has_more) = window.after(0, Role::Customer, 8).unwrap();
        let seqs: Vec<u64> = page.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1, 2, 4, 5, 7, 8]);
        assert!(!has_more, "the notes in between are no missing history");
        let (page, has_more) = window.after(3, Role::Customer, 8).unwrap();
        assert_eq!(page.first().map(|m| m.seq), Some(4));
        assert!(!has_more);
        let older = window.page_before(7, 2, Role::Customer).unwrap();
        assert_eq!(older.iter().map(|m| m.seq).collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn memory_sends_the_customer_to_the_store_when_it_cannot_tell() {
        let window = with_notes(600);
        // Memory starts at 569: fewer than a page of the customer's items,
        // and older ones only in the store.
        assert_eq!(600 - RECENT_WINDOW as u64 + 1, 569);
        assert_eq!(window.after(0, Role::Customer, 599), None);
        assert_eq!(window.after(560, Role::Customer, 599), None);
        let (page, has_more) = window.after(575, Role::Customer, 599).unwrap();
        assert_eq!(page.first().map(|m| m.seq), Some(577), "576 is a note");
        assert!(!has_more);
        assert_eq!(
            window.page_before(600, 10, Role::Customer).map(|p| p.len()),
            Some(10)
        );
        assert!(window.page_before(570, 10, Role::Customer).is_none());
    }

    #[test]
    fn an_unknown_id_needs_the_store_only_when_the_index_is_incomplete() {
        let mut window = loaded(300);
        assert!(!window.maybe_stored(Role::Customer, "new"));
        window.remember_id(Role::Customer, "old", 1);
        assert!(window.maybe_stored(Role::Customer, "old"));
        window.unload();
        assert!(window.maybe_stored(Role::Customer, "new"));
        assert!(!loaded(3).maybe_stored(Role::Customer, "new"));
    }

    #[test]
    fn an_unloaded_window_keeps_no_messages() {
        let mut window = loaded(3);
        window.unload();
        window.push(message(4, Some("c4")));
        assert!(!window.is_loaded());
        assert_eq!(window.by_seq(4), None);
        assert_eq!(window.seq_of(Role::Customer, "c4"), None);
    }

    #[test]
    fn every_id_of_a_long_conversation_is_known_and_few_new_ones_go_to_the_store() {
        let mut window = loaded(300);
        for n in 0..99_000u64 {
            window.remember_id(Role::Customer, &format!("id-{n}"), 301 + n);
        }
        for n in (0..99_000u64).step_by(997) {
            assert!(window.maybe_stored(Role::Customer, &format!("id-{n}")));
        }
        assert!(
            window.maybe_stored(Role::Customer, "id-5")
                && !window.maybe_stored(Role::Agent, "fresh")
        );
        let sent_to_store = (0..20_000)
            .filter(|n| window.maybe_stored(Role::Customer, &format!("fresh-{n}")))
            .count();
        // Under the filter's bound (0.7 %, see KNOWN_IDS_ERROR_RATE).
        assert!(sent_to_store <= 140, "{sent_to_store} of 20,000 new ids");
    }
}
