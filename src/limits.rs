//! Abuse limits: token buckets for message rates, kept per key (a
//! conversation side, a client address) so that reconnecting does not refill
//! them, and per-IP accounting of concurrent connections and new
//! conversations.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Window over which new conversations per IP are counted.
pub const NEW_CONVERSATION_WINDOW: Duration = Duration::from_secs(60);

/// A classic token bucket: `rate` tokens per second, at most `burst` saved.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// `None` when `rate` is 0 (limit off).
    pub fn new(rate: f64, burst: u32) -> Option<Self> {
        (rate > 0.0).then(|| TokenBucket {
            rate,
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: Instant::now(),
        })
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Whether the bucket has refilled completely: then it is no different
    /// from a fresh one and need not be remembered.
    fn is_full_at(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

/// Keys whose buckets are remembered before the full ones are dropped.
const MAX_KEYED_BUCKETS: usize = 10_000;

/// One token bucket per key, all with the same rate, that outlive the
/// connections that use them: a client that reconnects finds its bucket as
/// it left it.
#[derive(Debug)]
pub struct KeyedBuckets<K> {
    rate: f64,
    burst: u32,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq> KeyedBuckets<K> {
    /// Rate 0 turns the limit off.
    pub fn new(rate: f64, burst: u32) -> Self {
        KeyedBuckets {
            rate,
            burst,
            buckets: Mutex::default(),
        }
    }

    /// `(per second, burst)`, for error messages.
    pub fn limits(&self) -> (f64, u32) {
        (self.rate, self.burst)
    }

    /// Takes a token from `key`'s bucket if there is one.
    pub fn try_take(&self, key: K) -> bool {
        let Some(fresh) = TokenBucket::new(self.rate, self.burst) else {
            return true;
        };
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYED_BUCKETS {
            // Full buckets are as good as new ones: forgetting them changes
            // nobody's limit. Only keys still being held back are kept.
            buckets.retain(|_, bucket| !bucket.is_full_at(now));
        }
        buckets.entry(key).or_insert(fresh).try_take_at(now)
    }
}

/// Per-IP counters shared by every request. Loopback peers are not limited
/// (the machine itself: health checks, local tools and benchmarks).
#[derive(Debug, Default)]
pub struct IpLimits {
    max_connections: usize,
    max_new_conversations: usize,
    state: Mutex<IpState>,
}

#[derive(Debug, Default)]
struct IpState {
    connections: HashMap<IpAddr, usize>,
    /// Start of the current window and conversations started in it.
    new_conversations: HashMap<IpAddr, (Instant, usize)>,
}

/// Held by an open connection; gives its slot back when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    /// `None` when the connection is not counted (limit off, loopback).
    counted: Option<(Arc<IpLimits>, IpAddr)>,
}

impl IpLimits {
    /// `0` turns a limit off.
    pub fn new(max_connections: usize, max_new_conversations: usize) -> Self {
        IpLimits {
            max_connections,
            max_new_conversations,
            state: Mutex::default(),
        }
    }

    fn exempt(ip: IpAddr) -> bool {
        ip.is_loopback()
    }

    /// A slot for one more connection from `ip`, or `None` at the cap.
    pub fn open_connection(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        if self.max_connections == 0 || Self::exempt(ip) {
            return Some(ConnectionSlot { counted: None });
        }
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let open = state.connections.entry(ip).or_insert(0);
        if *open >= self.max_connections {
            return None;
        }
        *open += 1;
        Some(ConnectionSlot {
            counted: Some((Arc::clone(self), ip)),
        })
    }

    /// Whether new conversations from `ip` are limited at all.
    pub fn counts_new_conversations(&self, ip: IpAddr) -> bool {
        self.max_new_conversations > 0 && !Self::exempt(ip)
    }

    /// Counts a new conversation from `ip`; false when over the limit.
    pub fn start_conversation(&self, ip: IpAddr) -> bool {
        if self.max_new_conversations == 0 || Self::exempt(ip) {
            return true;
        }
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.new_conversations.len() > 10_000 {
            state
                .new_conversations
                .retain(|_, (start, _)| now.duration_since(*start) < NEW_CONVERSATION_WINDOW);
        }
        let (start, count) = state.new_conversations.entry(ip).or_insert((now, 0));
        if now.duration_since(*start) >= NEW_CONVERSATION_WINDOW {
            *start = now;
            *count = 0;
        }
        if *count >= self.max_new_conversations {
            return false;
        }
        *count += 1;
        true
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let Some((limits, ip)) = self.counted.take() else {
            return;
        };
        let mut state = limits.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = state.connections.get_mut(&ip) {
            *open -= 1;
            if *open == 0 {
                state.connections.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let mut bucket = TokenBucket::new(10.0, 3).unwrap();
        let t0 = bucket.last;
        assert!(bucket.try_take_at(t0));
        assert!(bucket.try_take_at(t0));
        assert!(bucket.try_take_at(t0));
        assert!(!bucket.try_take_at(t0));
        assert!(bucket.try_take_at(t0 + Duration::from_millis(100)));
        assert!(!bucket.try_take_at(t0 + Duration::from_millis(100)));
        assert!(TokenBucket::new(0.0, 3).is_none());
    }

    #[test]
    fn keyed_buckets_outlive_their_users_and_forget_only_full_ones() {
        let buckets = KeyedBuckets::new(1.0, 2);
        assert!(buckets.try_take("a") && buckets.try_take("a"));
        assert!(!buckets.try_take("a"), "a's burst is spent");
        assert!(buckets.try_take("b"), "b has its own bucket");
        for i in 0..MAX_KEYED_BUCKETS {
            buckets.try_take(if i == 0 { "c" } else { "d" });
        }
        assert!(!buckets.try_take("a"), "a held back is still remembered");
        assert!(KeyedBuckets::new(0.0, 0).try_take("x"), "rate 0 is off");
    }

    #[test]
    fn connection_slots_are_capped_and_given_back() {
        let limits = Arc::new(IpLimits::new(2, 0));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = limits.open_connection(ip).unwrap();
        let _b = limits.open_connection(ip).unwrap();
        assert!(limits.open_connection(ip).is_none());
        drop(a);
        assert!(limits.open_connection(ip).is_some());
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..10 {
            assert!(limits.open_connection(local).is_some());
        }
    }

    #[test]
    fn new_conversations_are_counted_per_ip() {
        let limits = IpLimits::new(0, 2);
        let ip: IpAddr = "203.0.113.8".parse().unwrap();
        assert!(limits.start_conversation(ip));
        assert!(limits.start_conversation(ip));
        assert!(!limits.start_conversation(ip));
        assert!(limits.start_conversation("203.0.113.9".parse().unwrap()));
    }
}
