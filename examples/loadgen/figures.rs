//! What a run found: seqs seen, failures and warnings, and the figures
//! (latency histograms, rounding) of its JSON line.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Which seqs one socket has seen: duplicates and reordering.
#[derive(Default)]
pub struct SeqTrack {
    pub last: u64,
    pub seen: Vec<bool>,
    pub duplicated: u64,
    pub reordered: u64,
}

impl SeqTrack {
    /// Counts `seq`; false if it was seen before.
    pub fn see(&mut self, seq: u64) -> bool {
        let i = seq as usize;
        if self.seen.len() <= i {
            self.seen.resize((i + 1).max(self.seen.len() * 2), false);
        }
        if self.seen[i] {
            self.duplicated += 1;
            return false;
        }
        self.seen[i] = true;
        if seq < self.last {
            self.reordered += 1;
        } else {
            self.last = seq;
        }
        true
    }
}

/// What went wrong in a run. Failures are broken guarantees (a message
/// lost, duplicated or reordered, a wrong history, sessions that could not
/// be opened): `--strict` exits 1 on them. Warnings are worth knowing but
/// allowed by the protocol (a socket closed 4002 as too slow, refusals).
#[derive(Default)]
pub struct Notes {
    pub failures: Vec<String>,
    pub warnings: Vec<String>,
}

impl Notes {
    pub const KEEP: usize = 20;

    pub fn fail(&mut self, what: String) {
        if self.failures.len() < Self::KEEP {
            self.failures.push(what);
        }
    }

    pub fn warn(&mut self, what: String) {
        if self.warnings.len() < Self::KEEP {
            self.warnings.push(what);
        }
    }
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

pub fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

/// Latency figures in milliseconds.
pub fn summary(h: &Histogram<u64>) -> Value {
    if h.is_empty() {
        return json!({"count": 0});
    }
    json!({
        "count": h.len(),
        "mean_ms": (h.mean() / 10.0).round() / 100.0,
        "p50_ms": ms(h.value_at_quantile(0.50)),
        "p90_ms": ms(h.value_at_quantile(0.90)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p999_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
    })
}

pub fn kb_per(delta_kb: Option<i64>, n: usize) -> Option<f64> {
    delta_kb
        .filter(|_| n > 0)
        .map(|d| (d as f64 / n as f64 * 100.0).round() / 100.0)
}

pub fn diff(after: Option<u64>, before: Option<u64>) -> Option<i64> {
    Some(after? as i64 - before? as i64)
}

/// A float as an integer when it is one (for tidy JSON).
pub fn whole(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
