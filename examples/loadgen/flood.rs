//! `flood`: one customer sending as fast as it can, to a reading or a
//! never-reading agent; acknowledged-but-not-stored, memory growth.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tokio::time::{sleep, timeout};
use tokio_tungstenite::tungstenite::Message;

use crate::cli::FloodArgs;
use crate::ctx::{Ctx, Ws};
use crate::figures::{diff, round2, Notes, SeqTrack};
use crate::frames::{message_frame, number_of, padded_text, parse};
use crate::socket::{close, close_code, describe_close, expect};
use crate::stored::stored_messages;

/// What the reading agent of a flood saw.
#[derive(Default)]
pub struct AgentTally {
    pub received: usize,
    pub duplicated: u64,
    pub reordered: u64,
    pub close_code: Option<u16>,
}

pub fn tally_agent_frame(t: &mut AgentTally, seqs: &mut SeqTrack, msg: Message) -> bool {
    match msg {
        Message::Text(text) => {
            if let Ok(f) = parse(&text) {
                if f.kind == "message" && f.from.as_deref() == Some("customer") {
                    if let Some(seq) = f.seq {
                        if seqs.see(seq) {
                            t.received += 1;
                        }
                    }
                }
            }
            true
        }
        Message::Close(c) => {
            t.close_code = Some(close_code(&c));
            false
        }
        _ => true,
    }
}

/// Reads `agent` until the server closes it, `stop` fires, or (when
/// `quiet` is given) nothing arrives for that long.
pub async fn read_agent(
    mut agent: Ws,
    mut stop: watch::Receiver<bool>,
    quiet: Option<Duration>,
) -> AgentTally {
    let mut t = AgentTally::default();
    let mut seqs = SeqTrack::default();
    loop {
        let next = async {
            match quiet {
                Some(q) => timeout(q, agent.next()).await.ok(),
                None => Some(agent.next().await),
            }
        };
        tokio::select! {
            _ = stop.changed() => break,
            f = next => match f {
                None => break,
                Some(Some(Ok(msg))) => if !tally_agent_frame(&mut t, &mut seqs, msg) { break },
                Some(_) => {
                    t.close_code.get_or_insert(1006);
                    break;
                }
            },
        }
    }
    t.duplicated = seqs.duplicated;
    t.reordered = seqs.reordered;
    close(agent).await;
    t
}

pub async fn flood(ctx: Arc<Ctx>, args: FloodArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let reading = !args.agent_not_reading;
    let k = args.count as usize;
    let client = format!(
        "{}-flood-{}",
        ctx.prefix,
        if reading { "read" } else { "noread" }
    );
    let wait = Duration::from_secs(10);
    let mut agent = ctx.connect(&ctx.agent_path(&client, 0)).await?;
    expect(&mut agent, "welcome", wait).await?;
    expect(&mut agent, "history", wait).await?;
    let mut customer = ctx.connect(&ctx.customer_path(&client, 0)).await?;
    expect(&mut customer, "welcome", wait).await?;
    expect(&mut customer, "history", wait).await?;
    sleep(Duration::from_millis(500)).await;
    let rss_before = ctx.server_rss();
    let cpu_before = ctx.server_cpu();
    let disk_before = ctx.server_disk_writes();

    // Server RSS, sampled every 20 ms while the flood lasts.
    let (stop_tx, stop_rx) = watch::channel(false);
    let sampler = {
        let ctx = Arc::clone(&ctx);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let mut peak = ctx.server_rss();
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    () = sleep(Duration::from_millis(20)) => {
                        peak = peak.max(ctx.server_rss());
                    }
                }
            }
            peak.max(ctx.server_rss())
        })
    };
    let (agent_task, idle_agent) = if reading {
        (
            Some(tokio::spawn(read_agent(agent, stop_rx.clone(), None))),
            None,
        )
    } else {
        (None, Some(agent))
    };

    eprintln!(
        "flood: {k} messages as fast as possible, agent {}",
        if reading { "reading" } else { "NOT reading" }
    );
    let started = Instant::now();
    let (mut tx, mut rx) = customer.split();
    let pad = "z".repeat(args.text_bytes);
    // Messages answered so far (acknowledged or refused), for the window.
    let answered = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Notify::new());
    let window = args.window;
    let writer = tokio::spawn({
        let (answered, progress) = (Arc::clone(&answered), Arc::clone(&progress));
        async move {
            let mut sent = 0usize;
            let mut failure = None;
            for n in 0..k {
                if window > 0 && n >= answered.load(Ordering::Acquire) + window {
                    if let Err(e) = tx.flush().await {
                        failure = Some(e.to_string());
                        break;
                    }
                    while n >= answered.load(Ordering::Acquire) + window {
                        progress.notified().await;
                    }
                }
                if let Err(e) = tx
                    .feed(message_frame(padded_text(&pad), &format!("f{n}")))
                    .await
                {
                    failure = Some(e.to_string());
                    break;
                }
                sent += 1;
                if n % 256 == 255 {
                    if let Err(e) = tx.flush().await {
                        failure = Some(e.to_string());
                        break;
                    }
                }
            }
            if failure.is_none() {
                if let Err(e) = tx.flush().await {
                    failure = Some(e.to_string());
                }
            }
            (tx, sent, started.elapsed(), failure)
        }
    });

    let mut acked = vec![false; k];
    let (mut acks, mut dup_acks) = (0usize, 0u64);
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut refused = 0usize;
    let mut customer_close = None;
    let mut seqs = SeqTrack::default();
    let mut last_ack = started.elapsed();
    let idle = Duration::from_secs_f64(args.idle);
    loop {
        if window > 0 {
            answered.store(acks + refused, Ordering::Release);
            progress.notify_one();
        }
        if acks + refused >= k {
            break;
        }
        match timeout(idle, rx.next()).await {
            Err(_) => {
                notes.warn(format!("no frame for {idle:?}; {acks} of {k} acknowledged"));
                break;
            }
            Ok(Some(Ok(Message::Text(text)))) => {
                let f = parse(&text)?;
                match &*f.kind {
                    "message" if f.from.as_deref() == Some("customer") => {
                        if let Some(seq) = f.seq {
                            seqs.see(seq);
                        }
                        let n = f.id.as_deref().and_then(|id| number_of(id, "f"));
                        if let Some(n) = n.filter(|&n| n < k) {
                            if acked[n] {
                                dup_acks += 1;
                            } else {
                                acked[n] = true;
                                acks += 1;
                                last_ack = started.elapsed();
                            }
                        }
                    }
                    "error" => {
                        let code = f.code.as_deref().unwrap_or("?").to_string();
                        *errors.entry(code).or_default() += 1;
                        if f.id.is_some() {
                            refused += 1;
                        }
                    }
                    _ => {}
                }
            }
            Ok(Some(Ok(Message::Close(c)))) => {
                customer_close = Some(close_code(&c));
                notes.warn(format!(
                    "customer closed by the server: {}",
                    describe_close(&c)
                ));
                break;
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => {
                customer_close = Some(1006);
                notes.warn(format!("customer socket ended: {other:?}"));
                break;
            }
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();
    // Unblock a writer waiting for a window that will not open any more.
    answered.store(usize::MAX / 2, Ordering::Release);
    progress.notify_one();
    let (tx, sent, send_time, send_failure) = writer.await.map_err(|e| e.to_string())?;
    if let Some(e) = send_failure {
        notes.warn(format!("customer send failed after {sent}: {e}"));
    }
    sleep(Duration::from_millis(500)).await;
    let rss_after_flood = ctx.server_rss();
    let cpu = diff(ctx.server_cpu(), cpu_before);
    let disk = diff(ctx.server_disk_writes_settled().await, disk_before);
    let _ = stop_tx.send(true);
    let rss_peak = sampler.await.map_err(|e| e.to_string())?;
    let agent_tally = match (agent_task, idle_agent) {
        (Some(task), _) => task.await.map_err(|e| e.to_string())?,
        (None, Some(agent)) => {
            // Now read what the idle agent was sent, up to its close.
            let (_never, quiet) = watch::channel(false);
            read_agent(agent, quiet, Some(Duration::from_secs(2))).await
        }
        (None, None) => AgentTally::default(),
    };
    if let Ok(customer) = tx.reunite(rx) {
        close(customer).await;
    }
    let rss_end = ctx.server_rss();

    eprintln!("flood: verifying the stored conversation through the REST API");
    let (stored, total_stored, gapless) = stored_messages(&ctx, &client, k).await?;
    let lost = acked
        .iter()
        .zip(&stored)
        .filter(|(a, s)| **a && !**s)
        .count();
    let stored_unacked = acked
        .iter()
        .zip(&stored)
        .filter(|(a, s)| !**a && **s)
        .count();
    let unanswered = sent.saturating_sub(acks + refused);
    if lost > 0 || dup_acks > 0 || seqs.duplicated > 0 || seqs.reordered > 0 || !gapless {
        notes.fail(format!(
            "lost {lost}, duplicate acks {dup_acks}, dup seqs {}, reordered {}, gapless {gapless}",
            seqs.duplicated, seqs.reordered
        ));
    }
    if unanswered > 0 {
        notes.warn(format!(
            "{unanswered} messages neither acknowledged nor refused"
        ));
    }
    if agent_tally.duplicated > 0 || agent_tally.reordered > 0 {
        notes.fail(format!(
            "agent: duplicated {}, reordered {}",
            agent_tally.duplicated, agent_tally.reordered
        ));
    }
    if let (true, Some(code)) = (reading, agent_tally.close_code) {
        notes.warn(format!(
            "the reading agent was closed by the server: {code}"
        ));
    }
    let growth_peak = diff(rss_peak, rss_before);
    eprintln!(
        "flood: sent {sent}, acked {acks}, refused {refused}, lost {lost}; agent got {} (close {:?}); server RSS +{:?} KiB at peak",
        agent_tally.received, agent_tally.close_code, growth_peak
    );
    let figures = json!({
        "scenario": "flood",
        "agent_reading": reading,
        "count": k,
        "window": window,
        "sent": sent,
        "send_secs": round2(send_time.as_secs_f64()),
        "acked": acks,
        "refused": refused,
        "errors": errors,
        "unanswered": unanswered,
        "duplicate_acks": dup_acks,
        "duplicated": seqs.duplicated + agent_tally.duplicated,
        "reordered": seqs.reordered + agent_tally.reordered,
        "acks_per_sec": round2(acks as f64 / last_ack.as_secs_f64().max(1e-6)),
        "flood_secs": round2(flood_secs),
        "customer_close_code": customer_close,
        "agent_received": agent_tally.received,
        "agent_close_code": agent_tally.close_code,
        "stored_total": total_stored,
        "stored_gapless": gapless,
        "lost": lost,
        "stored_unacked": stored_unacked,
        "server_cpu_us_per_msg": cpu.map(|c| round2(c as f64 / sent.max(1) as f64)),
        "server_disk_bytes_per_msg": disk.map(|d| d / sent.max(1) as i64),
        "rss_before_kb": rss_before,
        "rss_peak_kb": rss_peak,
        "rss_after_flood_kb": rss_after_flood,
        "rss_end_kb": rss_end,
        "rss_growth_peak_kb": growth_peak,
    });
    Ok((figures, notes))
}
