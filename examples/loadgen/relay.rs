//! `relay`: sessions relaying a steady rate; latency, losses, CPU per message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::time::sleep_until;
use tokio_tungstenite::tungstenite::Message;

use crate::cli::RelayArgs;
use crate::ctx::{Ctx, Ws};
use crate::figures::{diff, ms, new_histogram, round2, summary, whole, Notes, SeqTrack};
use crate::frames::{
    anonymous_message_frame, message_frame, now_us, number_in_text, numbered_text, page_message_id,
    parse, sent_at, Frame,
};
use crate::proc::cpu_us;
use crate::socket::{close, connect_sessions, describe_close, timed_close};

/// What one relay session saw.
pub struct RelayResult {
    pub sent: usize,
    pub acked: usize,
    pub delivered: usize,
    pub lost: usize,
    pub duplicated: u64,
    pub reordered: u64,
    pub errors: BTreeMap<String, u64>,
    pub closed: Vec<String>,
    pub latency: Histogram<u64>,
    pub ack_latency: Histogram<u64>,
    pub max_send_lag_us: u64,
    /// From the customer's close frame to the end of its TCP connection.
    pub close_us: Option<u64>,
    /// When the last new acknowledgement or delivery arrived.
    pub last_receipt: Option<tokio::time::Instant>,
}

pub struct RelayPlan {
    pub first_send: tokio::time::Instant,
    pub period: Duration,
    pub stop_sending: tokio::time::Instant,
    pub grace: Duration,
    pub hard_stop: tokio::time::Instant,
    pub pad: String,
    pub ids: bool,
    pub raw: bool,
}

impl RelayPlan {
    pub fn frame(&self, n: usize) -> Message {
        let text = numbered_text(n, &self.pad);
        if self.raw {
            Message::Text(text)
        } else if self.ids {
            message_frame(text, &page_message_id("c-"))
        } else {
            anonymous_message_frame(text)
        }
    }

    pub fn parse<'a>(&self, text: &'a str) -> Result<Frame<'a>, String> {
        if self.raw {
            Ok(Frame::raw(text))
        } else {
            parse(text)
        }
    }
}

pub async fn relay_session(
    mut customer: Ws,
    mut agent: Ws,
    plan: Arc<RelayPlan>,
    offset: Duration,
) -> RelayResult {
    let mut r = RelayResult {
        sent: 0,
        acked: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        reordered: 0,
        errors: BTreeMap::new(),
        closed: Vec::new(),
        latency: new_histogram(),
        ack_latency: new_histogram(),
        max_send_lag_us: 0,
        close_us: None,
        last_receipt: None,
    };
    let (mut acked, mut delivered) = (Vec::<bool>::new(), Vec::<bool>::new());
    let (mut cust_seqs, mut agent_seqs) = (SeqTrack::default(), SeqTrack::default());
    let mut next_send = plan.first_send + offset;
    let tick = sleep_until(next_send);
    tokio::pin!(tick);
    let give_up = sleep_until(plan.stop_sending + plan.grace);
    tokio::pin!(give_up);
    let (mut customer_open, mut agent_open) = (true, true);
    loop {
        let sending = next_send < plan.stop_sending && customer_open;
        if !sending && r.acked == r.sent && r.delivered == r.sent {
            break;
        }
        tokio::select! {
            () = &mut tick, if sending => {
                let lag = tokio::time::Instant::now().saturating_duration_since(next_send);
                r.max_send_lag_us = r.max_send_lag_us.max(lag.as_micros() as u64);
                if let Err(e) = customer.send(plan.frame(r.sent)).await {
                    r.closed.push(format!("customer send failed: {e}"));
                    customer_open = false;
                } else {
                    r.sent += 1;
                    acked.push(false);
                    delivered.push(false);
                }
                next_send += plan.period;
                tick.as_mut().reset(next_send);
            }
            f = customer.next(), if customer_open => match f {
                Some(Ok(Message::Text(text))) => {
                    let now = now_us();
                    let Ok(frame) = plan.parse(&text) else { continue };
                    match &*frame.kind {
                        "message" => {
                            if let Some(seq) = frame.seq {
                                cust_seqs.see(seq);
                            }
                            let n = frame.text.as_deref().and_then(number_in_text);
                            if let Some(n) = n.filter(|&n| n < acked.len()) {
                                if !acked[n] {
                                    acked[n] = true;
                                    r.acked += 1;
                                    r.last_receipt = Some(tokio::time::Instant::now());
                                    if let Some(t) = frame.text.as_deref().and_then(sent_at) {
                                        r.ack_latency.saturating_record(now.saturating_sub(t));
                                    }
                                }
                            }
                        }
                        "error" => {
                            let code = frame.code.as_deref().unwrap_or("?").to_string();
                            *r.errors.entry(code).or_default() += 1;
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    r.closed.push(format!("customer closed by the server: {}", describe_close(&c)));
                    customer_open = false;
                }
                Some(Ok(_)) => {}
                other => {
                    r.closed.push(format!("customer socket ended: {other:?}"));
                    customer_open = false;
                }
            },
            f = agent.next(), if agent_open => match f {
                Some(Ok(Message::Text(text))) => {
                    let now = now_us();
                    let Ok(frame) = plan.parse(&text) else { continue };
                    if frame.kind == "message" {
                        if let Some(seq) = frame.seq {
                            agent_seqs.see(seq);
                        }
                        let n = frame.text.as_deref().and_then(number_in_text);
                        if let Some(n) = n.filter(|&n| n < delivered.len()) {
                            if !delivered[n] {
                                delivered[n] = true;
                                r.delivered += 1;
                                r.last_receipt = Some(tokio::time::Instant::now());
                                if let Some(t) = frame.text.as_deref().and_then(sent_at) {
                                    r.latency.saturating_record(now.saturating_sub(t));
                                }
                            }
                        }
                    } else if frame.kind == "error" {
                        let code = frame.code.as_deref().unwrap_or("?").to_string();
                        *r.errors.entry(format!("agent:{code}")).or_default() += 1;
                    }
                }
                Some(Ok(Message::Close(c))) => {
                    r.closed.push(format!("agent closed by the server: {}", describe_close(&c)));
                    agent_open = false;
                }
                Some(Ok(_)) => {}
                other => {
                    r.closed.push(format!("agent socket ended: {other:?}"));
                    agent_open = false;
                }
            },
            () = &mut give_up => {
                // Still draining: wait on while something keeps arriving.
                let quiet_until = r.last_receipt.map(|t| t + plan.grace);
                match quiet_until {
                    Some(t) if t > tokio::time::Instant::now() && t < plan.hard_stop => {
                        give_up.as_mut().reset(t);
                    }
                    _ => break,
                }
            }
        }
        if !customer_open && !agent_open {
            break;
        }
    }
    r.lost = acked
        .iter()
        .zip(&delivered)
        .filter(|(a, d)| !(**a && **d))
        .count();
    r.duplicated = cust_seqs.duplicated + agent_seqs.duplicated;
    r.reordered = cust_seqs.reordered + agent_seqs.reordered;
    r.close_us = timed_close(customer).await.map(|d| d.as_micros() as u64);
    close(agent).await;
    r
}

pub async fn relay(ctx: Arc<Ctx>, args: RelayArgs) -> Result<(Value, Notes), String> {
    let mut notes = Notes::default();
    let sessions = args.sessions.max(1);
    eprintln!("relay: connecting {sessions} sessions");
    let pairs = connect_sessions(&ctx, "relay", sessions, args.concurrency, args.raw).await?;
    let period = Duration::from_secs_f64(sessions as f64 / args.rate);
    let first_send = tokio::time::Instant::now() + Duration::from_millis(500);
    let plan = Arc::new(RelayPlan {
        first_send,
        period,
        stop_sending: first_send + Duration::from_secs_f64(args.duration),
        grace: Duration::from_secs_f64(args.grace),
        hard_stop: first_send + Duration::from_secs_f64(args.duration + args.max_drain),
        pad: "x".repeat(args.text_bytes),
        ids: !args.no_ids && !args.raw,
        raw: args.raw,
    });
    eprintln!(
        "relay: {} msg/s in all ({:.1} per session, every {:?}) for {} s",
        args.rate,
        args.rate / sessions as f64,
        period,
        args.duration
    );
    let consoles = open_consoles(&ctx, args.consoles).await?;
    sleep_until(first_send).await;
    let (cpu_before, own_cpu_before) = (ctx.server_cpu(), cpu_us("self"));
    let rss_before = ctx.server_rss();
    let disk_before = ctx.server_disk_writes();
    let cancelled_before = ctx.server_disk_cancelled();
    let started = Instant::now();
    let tasks: Vec<_> = pairs
        .into_iter()
        .enumerate()
        .map(|(i, (_, customer, agent))| {
            let offset = period.mul_f64(i as f64 / sessions as f64);
            tokio::spawn(relay_session(customer, agent, Arc::clone(&plan), offset))
        })
        .collect();
    let mut all = Vec::with_capacity(tasks.len());
    for task in tasks {
        all.push(task.await.map_err(|e| e.to_string())?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu_after, own_cpu_after) = (ctx.server_cpu(), cpu_us("self"));
    let console_frames = close_consoles(consoles).await;
    let rss_after = ctx.server_rss();
    let disk = diff(ctx.server_disk_writes_settled().await, disk_before);
    let cancelled = diff(ctx.server_disk_cancelled(), cancelled_before);
    let mut latency = new_histogram();
    let mut ack_latency = new_histogram();
    let mut close_time = new_histogram();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let (mut sent, mut acked, mut delivered, mut lost, mut dup, mut reord, mut lag) =
        (0, 0, 0, 0, 0, 0, 0);
    let last_receipt = all.iter().filter_map(|r| r.last_receipt).max();
    let closed_by_server: usize = all.iter().map(|r| r.closed.len()).sum();
    let mut closes: BTreeMap<String, usize> = BTreeMap::new();
    let busy = last_receipt.map_or(0.0, |t| (t - plan.first_send).as_secs_f64());
    let drain = last_receipt.map_or(0.0, |t| {
        t.saturating_duration_since(plan.stop_sending).as_secs_f64()
    });
    for r in &all {
        let _ = latency.add(&r.latency);
        let _ = ack_latency.add(&r.ack_latency);
        sent += r.sent;
        acked += r.acked;
        delivered += r.delivered;
        lost += r.lost;
        dup += r.duplicated;
        reord += r.reordered;
        lag = lag.max(r.max_send_lag_us);
        if let Some(us) = r.close_us {
            close_time.saturating_record(us);
        }
        for (code, n) in &r.errors {
            *errors.entry(code.clone()).or_default() += n;
        }
        for c in &r.closed {
            *closes.entry(c.clone()).or_default() += 1;
        }
    }
    for (what, n) in &closes {
        notes.warn(format!("{n} × {what}"));
    }
    let unclosed = all.len() - close_time.len() as usize;
    if unclosed > 0 {
        notes.warn(format!(
            "{unclosed} customer sockets still open 5 s after their close frame"
        ));
    }
    let cpu = diff(cpu_after, cpu_before);
    let cpu_per_msg = cpu.map(|c| round2(c as f64 / (acked.max(1)) as f64));
    let own_cpu = diff(own_cpu_after, own_cpu_before);
    if lost > 0 || dup > 0 || reord > 0 || !errors.is_empty() {
        notes.fail(format!(
            "lost {lost}, duplicated {dup}, reordered {reord}, errors {errors:?}"
        ));
    }
    let s = summary(&latency);
    eprintln!(
        "relay: sent {sent}, acked {acked}, delivered {delivered}, lost {lost}; p50 {} ms, p99 {} ms, max {} ms; server CPU {:?} µs/msg",
        s["p50_ms"], s["p99_ms"], s["max_ms"], cpu_per_msg
    );
    let figures = json!({
        "scenario": "relay",
        "sessions": sessions,
        "rate": whole(args.rate),
        "duration_secs": whole(args.duration),
        "ids": !args.no_ids && !args.raw,
        "raw": args.raw,
        "consoles": args.consoles,
        "console_frames": console_frames,
        "sent": sent,
        "achieved_rate": round2(sent as f64 / args.duration),
        "delivered_per_sec": round2(delivered as f64 / busy.max(1e-6)),
        "drain_secs": round2(drain),
        "acked": acked,
        "delivered": delivered,
        "lost": lost,
        "duplicated": dup,
        "reordered": reord,
        "errors": errors,
        "sockets_closed": closed_by_server,
        "latency": s,
        "ack_latency": summary(&ack_latency),
        "max_send_lag_ms": ms(lag),
        "client_close": summary(&close_time),
        "server_cpu_us_per_msg": cpu_per_msg,
        "server_cpu_pct": cpu.map(|c| round2(c as f64 / (elapsed * 1e4))),
        "server_disk_bytes_per_msg": disk.map(|d| d / acked.max(1) as i64),
        "server_disk_cancelled_bytes_per_msg": cancelled.map(|d| d / acked.max(1) as i64),
        "generator_cpu_pct": own_cpu.map(|c| round2(c as f64 / (elapsed * 1e4))),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
    });
    Ok((figures, notes))
}

/// Agents' consoles, each read by a task that counts its frames until told
/// to stop.
struct Consoles {
    stop: tokio::sync::watch::Sender<bool>,
    readers: Vec<tokio::task::JoinHandle<u64>>,
}

async fn open_consoles(ctx: &Ctx, count: usize) -> Result<Consoles, String> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut readers = Vec::with_capacity(count);
    for _ in 0..count {
        let path = format!("/ws/inbox?token={}", ctx.common.agent_token);
        let mut socket = ctx.connect_agent(&path).await?;
        let mut stopped = stopped.clone();
        readers.push(tokio::spawn(async move {
            let mut frames = 0;
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    frame = socket.next() => match frame {
                        Some(Ok(Message::Text(_))) => frames += 1,
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                }
            }
            close(socket).await;
            frames
        }));
    }
    Ok(Consoles { stop, readers })
}

/// Stops the consoles; the frames they read in all.
async fn close_consoles(consoles: Consoles) -> u64 {
    let _ = consoles.stop.send(true);
    let mut frames = 0;
    for reader in consoles.readers {
        frames += reader.await.unwrap_or(0);
    }
    frames
}
