//! `loadgen compare`: support-chat against the framework floor, from the
//! JSON lines of relay runs labelled `ours`, `floor` (the raw-text relay of
//! ../shared/bench/actix-floor) and `ours-full` (`--durability full`).
//! Every figure is the median of the runs at that rate, so alternating
//! rounds in one sitting smooth out what the shared machine does meanwhile.

use serde_json::Value;

/// A run counts towards the highest sustainable rate when nothing went
/// wrong, the generator kept up (≥ 95 % of the asked rate sent) and the
/// p99 stayed under this.
const CEILING_P99_MS: f64 = 50.0;

pub fn run(files: &[Value], rates: &[f64]) -> Result<(), String> {
    let relay: Vec<&Value> = files
        .iter()
        .filter(|r| r["scenario"] == "relay" && r["label"].is_string())
        .collect();
    if relay.is_empty() {
        return Err("no labelled relay runs to compare".into());
    }
    println!("| | support-chat | framework floor | ratio |");
    println!("|---|---|---|---|");
    for &rate in rates {
        let at = |label: &str| runs(&relay, label, Some(rate));
        let (ours, floor) = (at("ours"), at("floor"));
        if ours.is_empty() && floor.is_empty() {
            continue;
        }
        let n = format!("{} + {} runs", ours.len(), floor.len());
        let r = thousands(rate);
        row(
            &format!("server CPU per relayed message, {r} msg/s ({n})"),
            median(&ours, |v| v["server_cpu_us_per_msg"].as_f64()),
            median(&floor, |v| v["server_cpu_us_per_msg"].as_f64()),
            "µs",
        );
        for (name, key) in [("p50", "p50_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms")] {
            row(
                &format!("relay latency {name}, {r} msg/s"),
                median(&ours, |v| v["latency"][key].as_f64()),
                median(&floor, |v| v["latency"][key].as_f64()),
                "ms",
            );
        }
        row(
            &format!("disk writes per message, {r} msg/s, durability normal"),
            median(&ours, |v| v["server_disk_bytes_per_msg"].as_f64()),
            median(&floor, |v| v["server_disk_bytes_per_msg"].as_f64()),
            "B",
        );
        row(
            &format!("of them truncated before writeback, {r} msg/s, durability normal"),
            median(&ours, |v| v["server_disk_cancelled_bytes_per_msg"].as_f64()),
            median(&floor, |v| {
                v["server_disk_cancelled_bytes_per_msg"].as_f64()
            }),
            "B",
        );
        let full = at("ours-full");
        if !full.is_empty() {
            row(
                &format!("disk writes per message, {r} msg/s, durability full"),
                median(&full, |v| v["server_disk_bytes_per_msg"].as_f64()),
                None,
                "B",
            );
            row(
                &format!("relay latency p99, {r} msg/s, durability full"),
                median(&full, |v| v["latency"]["p99_ms"].as_f64()),
                median(&floor, |v| v["latency"]["p99_ms"].as_f64()),
                "ms",
            );
        }
        row(
            &format!("client-initiated close to TCP end, slowest socket, {r} msg/s"),
            median(&ours, |v| v["client_close"]["max_ms"].as_f64()),
            median(&floor, |v| v["client_close"]["max_ms"].as_f64()),
            "ms",
        );
    }
    let (ours, floor) = (ceiling(&relay, "ours"), ceiling(&relay, "floor"));
    let show = |c: &Ceiling| match c {
        Ceiling::None => "none tried passed".to_string(),
        Ceiling::Below(r, next) => format!("{} (not {})", thousands(*r), thousands(*next)),
        Ceiling::AtLeast(r) => format!("≥ {} (the highest tried)", thousands(*r)),
    };
    let ratio = match (ours.rate(), floor.rate()) {
        (Some(o), Some(f)) if f > 0.0 => format!("{:.2}×", o / f),
        _ => "–".into(),
    };
    println!(
        "| highest rate with p99 < {CEILING_P99_MS} ms (msg/s) | {} | {} | {ratio} |",
        show(&ours),
        show(&floor)
    );
    Ok(())
}

/// Whether a relay run sustained its rate: nothing went wrong, the
/// generator kept up (≥ 95 % of the asked rate sent) and the p99 stayed
/// under [`CEILING_P99_MS`].
fn passes(r: &Value) -> bool {
    let asked = r["rate"].as_f64().unwrap_or(f64::MAX);
    r["ok"] == true
        && r["latency"]["p99_ms"]
            .as_f64()
            .is_some_and(|p| p < CEILING_P99_MS)
        && r["achieved_rate"]
            .as_f64()
            .is_some_and(|a| a >= 0.95 * asked)
}

/// Whether every relay run in `results` sustained its rate.
pub fn sustained(results: &[Value]) -> bool {
    let relay: Vec<&Value> = results
        .iter()
        .filter(|r| r["scenario"] == "relay")
        .collect();
    !relay.is_empty() && relay.iter().all(|r| passes(r))
}

fn runs<'a>(all: &[&'a Value], label: &str, rate: Option<f64>) -> Vec<&'a Value> {
    all.iter()
        .copied()
        .filter(|r| r["label"] == label && rate.is_none_or(|x| r["rate"].as_f64() == Some(x)))
        .collect()
}

fn median(runs: &[&Value], figure: impl Fn(&Value) -> Option<f64>) -> Option<f64> {
    let mut xs: Vec<f64> = runs.iter().filter_map(|r| figure(r)).collect();
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let mid = xs.len() / 2;
    Some(if xs.len() % 2 == 1 {
        xs[mid]
    } else {
        (xs[mid - 1] + xs[mid]) / 2.0
    })
}

fn row(what: &str, ours: Option<f64>, floor: Option<f64>, unit: &str) {
    let show = |x: Option<f64>| x.map_or("–".to_string(), |x| format!("{} {unit}", tidy(x)));
    let ratio = match (ours, floor) {
        (Some(o), Some(f)) if f > 0.0 => format!("{}×", tidy(o / f)),
        _ => "–".to_string(),
    };
    println!("| {what} | {} | {} | {ratio} |", show(ours), show(floor));
}

/// Three significant digits or so (a ratio of 0.002 stays visible).
fn tidy(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.1 {
        format!("{x:.1e}")
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn thousands(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

enum Ceiling {
    None,
    /// Passed at the first rate, failed at the second (the next one tried).
    Below(f64, f64),
    /// Passed at every rate tried up to this one.
    AtLeast(f64),
}

impl Ceiling {
    fn rate(&self) -> Option<f64> {
        match self {
            Ceiling::None => None,
            Ceiling::Below(r, _) | Ceiling::AtLeast(r) => Some(*r),
        }
    }
}

/// The highest rate at which every run of `label` passed, and the next
/// rate tried above it (where some run did not).
fn ceiling(all: &[&Value], label: &str) -> Ceiling {
    let mut rates: Vec<f64> = runs(all, label, None)
        .iter()
        .filter_map(|r| r["rate"].as_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    let mut best = Ceiling::None;
    for rate in rates {
        if runs(all, label, Some(rate)).iter().all(|r| passes(r)) {
            best = Ceiling::AtLeast(rate);
        } else {
            return match best {
                Ceiling::AtLeast(r) => Ceiling::Below(r, rate),
                other => other,
            };
        }
    }
    best
}
