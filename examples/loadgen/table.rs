//! `table`: the JSON lines of earlier runs as a Markdown table.

use std::path::PathBuf;

use serde_json::Value;

use crate::cli::TableArgs;

pub fn f(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn mb(v: &Value) -> String {
    v.as_f64()
        .map_or("–".into(), |kb| format!("{:.1} MiB", kb / 1024.0))
}

/// One Markdown row per result: scenario, load, figures, correctness.
pub fn table_row(r: &Value) -> String {
    let list = |v: &Value| {
        v.as_array()
            .map(|a| a.iter().map(f).collect::<Vec<_>>().join("; "))
            .unwrap_or_default()
    };
    let mut ok = if r["ok"].as_bool().unwrap_or(false) {
        "ok".to_string()
    } else {
        format!("**FAILED: {}**", list(&r["failures"]))
    };
    let warnings = list(&r["warnings"]);
    if !warnings.is_empty() {
        ok += &format!(" (warnings: {})", warnings.replace('|', "/"));
    }
    let (name, load, figures) = match r["scenario"].as_str().unwrap_or("?") {
        "hold" => (
            "hold".to_string(),
            match r["history"].as_u64() {
                Some(h) if h > 0 => format!(
                    "{} idle sessions, {h} messages of history each",
                    f(&r["connected"])
                ),
                _ => format!("{} idle sessions", f(&r["connected"])),
            },
            format!(
                "{} KiB RSS/session ({} → {}); connect {} s; idle CPU {} %",
                f(&r["rss_per_session_kb"]),
                mb(&r["rss_before_kb"]),
                mb(&r["rss_after_kb"]),
                f(&r["connect_secs"]),
                f(&r["idle_server_cpu_pct"])
            ),
        ),
        "relay" => {
            let l = &r["latency"];
            (
                if r["raw"].as_bool().unwrap_or(false) {
                    "relay (raw-text floor)".to_string()
                } else {
                    "relay".to_string()
                },
                format!(
                    "{} msg/s × {} s over {} sessions (sent {}/s, delivered {}/s, {} s to drain)",
                    f(&r["rate"]),
                    f(&r["duration_secs"]),
                    f(&r["sessions"]),
                    f(&r["achieved_rate"]),
                    f(&r["delivered_per_sec"]),
                    f(&r["drain_secs"])
                ),
                format!(
                    "p50 {} / p90 {} / p99 {} / p99.9 {} / max {} ms; server CPU {} µs/msg ({} % of a core), {} B/msg to disk ({} of them truncated before writeback); client close p50 {} / max {} ms; lost {}, dup {}, reordered {}, sockets closed {}",
                    f(&l["p50_ms"]),
                    f(&l["p90_ms"]),
                    f(&l["p99_ms"]),
                    f(&l["p999_ms"]),
                    f(&l["max_ms"]),
                    f(&r["server_cpu_us_per_msg"]),
                    f(&r["server_cpu_pct"]),
                    f(&r["server_disk_bytes_per_msg"]),
                    f(&r["server_disk_cancelled_bytes_per_msg"]),
                    f(&r["client_close"]["p50_ms"]),
                    f(&r["client_close"]["max_ms"]),
                    f(&r["lost"]),
                    f(&r["duplicated"]),
                    f(&r["reordered"]),
                    f(&r["sockets_closed"])
                ),
            )
        }
        "replay" => {
            let (p, a, g) = (&r["first_page"], &r["full_history"], &r["gap"]);
            (
                "replay".to_string(),
                format!(
                    "history {}, {} + {} reconnects",
                    f(&r["history"]),
                    f(&r["reconnects"]),
                    f(&r["gap_reconnects"])
                ),
                format!(
                    "first page p50 {} / p99 {} ms; full history p50 {} / p99 {} ms; since=H-10 p50 {} / p99 {} ms ({} wrong)",
                    f(&p["p50_ms"]),
                    f(&p["p99_ms"]),
                    f(&a["p50_ms"]),
                    f(&a["p99_ms"]),
                    f(&g["p50_ms"]),
                    f(&g["p99_ms"]),
                    f(&r["gap_wrong"])
                ),
            )
        }
        "flood" => (
            format!(
                "flood ({})",
                if r["agent_reading"].as_bool().unwrap_or(true) {
                    "agent reads"
                } else {
                    "agent never reads"
                }
            ),
            match r["window"].as_u64() {
                Some(w) if w > 0 => format!("{} messages, at most {w} in flight", f(&r["count"])),
                _ => format!("{} messages pipelined", f(&r["count"])),
            },
            format!(
                "acked {} ({} /s), refused {}, lost {}; agent got {} (close {}); customer close {}; RSS +{} KiB at peak; {} µs CPU/msg",
                f(&r["acked"]),
                f(&r["acks_per_sec"]),
                f(&r["refused"]),
                f(&r["lost"]),
                f(&r["agent_received"]),
                f(&r["agent_close_code"]),
                f(&r["customer_close_code"]),
                f(&r["rss_growth_peak_kb"]),
                f(&r["server_cpu_us_per_msg"])
            ),
        ),
        other => (other.to_string(), String::new(), r.to_string()),
    };
    format!("| {name} | {load} | {figures} | {ok} |")
}

/// The JSON result lines of `files` (stdin without any).
pub fn read_results(files: &[PathBuf]) -> Result<Vec<Value>, String> {
    let mut text = String::new();
    if files.is_empty() {
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| e.to_string())?;
    }
    for file in files {
        text += &std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        text.push('\n');
    }
    text.lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{line}: {e}")))
        .collect()
}

pub fn table(args: &TableArgs) -> Result<(), String> {
    println!("| scenario | load | figures | correctness |");
    println!("|---|---|---|---|");
    for r in read_results(&args.files)? {
        println!("{}", table_row(&r));
    }
    Ok(())
}
