//! `replay`: reconnects to a long conversation, with the whole history and
//! with only the gap.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::ReplayArgs;
use crate::ctx::Ctx;
use crate::figures::{diff, new_histogram, round2, summary, Notes};
use crate::frames::parse;
use crate::socket::{close, expect, fill};

/// Reads one reconnect's history frame; checks seqs and returns
/// (lowest seq, highest seq, count, has_more).
pub fn history_page(text: &str) -> Result<(u64, u64, usize, bool), String> {
    let f = parse(text)?;
    let first = f.messages.first().map_or(0, |m| m.seq);
    let last = f.messages.last().map_or(0, |m| m.seq);
    for pair in f.messages.windows(2) {
        if pair[1].seq != pair[0].seq + 1 {
            return Err(format!(
                "history not contiguous: {} then {}",
                pair[0].seq, pair[1].seq
            ));
        }
    }
    Ok((first, last, f.messages.len(), f.has_more.unwrap_or(false)))
}

pub async fn replay(ctx: Arc<Ctx>, args: ReplayArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let h = args.history.max(11);
    let client = format!("{}-replay", ctx.prefix);
    let pad = "y".repeat(args.text_bytes);
    eprintln!("replay: filling {client} with {h} messages");
    let filled = Instant::now();
    let mut customer = ctx.connect(&ctx.customer_path(&client, 0)).await?;
    expect(&mut customer, "welcome", Duration::from_secs(10)).await?;
    expect(&mut customer, "history", Duration::from_secs(10)).await?;
    fill(&mut customer, h, "p", &pad).await?;
    close(customer).await;
    let fill_secs = filled.elapsed().as_secs_f64();
    let wait = Duration::from_secs(10);
    let (mut first_page, mut full) = (new_histogram(), new_histogram());
    let rss_before = ctx.server_rss();
    let cpu_before = ctx.server_cpu();
    for i in 0..args.reconnects {
        let t0 = Instant::now();
        let mut ws = ctx.connect(&ctx.agent_path(&client, 0)).await?;
        expect(&mut ws, "welcome", wait).await?;
        let text = expect(&mut ws, "history", wait).await?;
        first_page.saturating_record(t0.elapsed().as_micros() as u64);
        let (mut low, high, mut got, mut more) = history_page(&text)?;
        if high != h {
            notes.fail(format!("reconnect {i}: history ends at {high}, not {h}"));
        }
        while more {
            let ask = json!({"type": "history_before", "before": low, "limit": 200});
            ws.send(Message::Text(ask.to_string()))
                .await
                .map_err(|e| e.to_string())?;
            let text = expect(&mut ws, "history", wait).await?;
            let (l, hi, n, m) = history_page(&text)?;
            if n > 0 && hi + 1 != low {
                notes.fail(format!(
                    "reconnect {i}: page ends at {hi}, wanted {}",
                    low - 1
                ));
            }
            (low, got, more) = (l, got + n, m && n > 0);
        }
        full.saturating_record(t0.elapsed().as_micros() as u64);
        if got as u64 != h || low != 1 {
            notes.fail(format!(
                "reconnect {i}: got {got} messages from {low}, not {h}"
            ));
        }
        close(ws).await;
    }
    let reconnect_cpu = diff(ctx.server_cpu(), cpu_before);
    let mut gap = new_histogram();
    let since = h - 10;
    let mut gap_extra = 0;
    for i in 0..args.gap_reconnects {
        let t0 = Instant::now();
        let mut ws = ctx.connect(&ctx.agent_path(&client, since)).await?;
        expect(&mut ws, "welcome", wait).await?;
        let text = expect(&mut ws, "history", wait).await?;
        gap.saturating_record(t0.elapsed().as_micros() as u64);
        let (low, high, n, more) = history_page(&text)?;
        if (low, high, n, more) != (since + 1, h, 10, false) {
            gap_extra += 1;
            {
                notes.fail(format!(
                    "gap reconnect {i}: got seqs {low}..={high} ({n}, has_more {more}), wanted {}..={h}",
                    since + 1
                ));
            }
        }
        close(ws).await;
    }
    let rss_after = ctx.server_rss();
    let (f, a, g) = (summary(&first_page), summary(&full), summary(&gap));
    eprintln!(
        "replay: first page p50 {} p99 {} ms; full {h} p50 {} p99 {} ms; since={since}: p50 {} p99 {} ms",
        f["p50_ms"], f["p99_ms"], a["p50_ms"], a["p99_ms"], g["p50_ms"], g["p99_ms"]
    );
    let figures = json!({
        "scenario": "replay",
        "history": h,
        "fill_secs": round2(fill_secs),
        "reconnects": args.reconnects,
        "first_page": f,
        "full_history": a,
        "server_cpu_us_per_full_reconnect": reconnect_cpu
            .map(|c| round2(c as f64 / args.reconnects.max(1) as f64)),
        "gap_reconnects": args.gap_reconnects,
        "gap": g,
        "gap_wrong": gap_extra,
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
    });
    Ok((figures, notes))
}
