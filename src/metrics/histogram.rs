//! A histogram of atomics: observing is a few relaxed atomic adds, no lock,
//! so it can sit on the path of every message (prometheus-client's own
//! histogram takes a lock per observation).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;

#[derive(Debug, Clone)]
pub struct AtomicHistogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Upper bounds, ascending; one more bucket (+Inf) follows.
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
    /// The sum in whole `unit`s.
    sum: AtomicU64,
    unit: f64,
}

impl AtomicHistogram {
    /// A histogram over `bounds` whose sum counts in whole `unit`s (1e-9
    /// for durations in seconds, 1.0 for counts).
    pub fn new(bounds: &[f64], unit: f64) -> AtomicHistogram {
        AtomicHistogram {
            inner: Arc::new(Inner {
                bounds: bounds.to_vec(),
                counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
                sum: AtomicU64::new(0),
                unit,
            }),
        }
    }

    /// Seconds, from 50 µs to 10 s.
    pub fn seconds() -> AtomicHistogram {
        AtomicHistogram::new(
            &[
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ],
            1e-9,
        )
    }

    /// Counts, in powers of four up to 16384.
    pub fn counts() -> AtomicHistogram {
        let bounds: Vec<f64> = (0..8).map(|i| 4f64.powi(i)).collect();
        AtomicHistogram::new(&bounds, 1.0)
    }

    pub fn observe_duration(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.observe(
            d.as_secs_f64(),
            (nanos as f64 * 1e-9 / self.inner.unit) as u64,
        );
    }

    pub fn observe_count(&self, n: u64) {
        self.observe(n as f64, (n as f64 / self.inner.unit) as u64);
    }

    fn observe(&self, value: f64, units: u64) {
        let inner = &self.inner;
        let bucket = inner.bounds.partition_point(|bound| *bound < value);
        inner.counts[bucket].fetch_add(1, Ordering::Relaxed);
        inner.sum.fetch_add(units, Ordering::Relaxed);
    }
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let inner = &self.inner;
        let buckets: Vec<(f64, u64)> = inner
            .bounds
            .iter()
            .copied()
            .chain(std::iter::once(f64::MAX))
            .zip(inner.counts.iter().map(|c| c.load(Ordering::Relaxed)))
            .collect();
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = inner.sum.load(Ordering::Relaxed) as f64 * inner.unit;
        encoder.encode_histogram::<()>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_whose_bound_holds_them() {
        let h = AtomicHistogram::new(&[1.0, 10.0], 1.0);
        for n in [0, 1, 2, 10, 11, 500] {
            h.observe_count(n);
        }
        let counts: Vec<u64> = h
            .inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts, vec![2, 2, 2]);
        assert_eq!(h.inner.sum.load(Ordering::Relaxed), 524);
    }
}
