//! `hold`: idle sessions, and what each costs the server in memory.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio::time::sleep;

use crate::cli::HoldArgs;
use crate::ctx::Ctx;
use crate::figures::{diff, kb_per, round2, Notes};
use crate::socket::{close, connect_session, connect_sessions, fill};

/// Fills every hold conversation with `args.history` messages from a
/// customer socket of its own, closed afterwards.
pub async fn write_histories(ctx: &Arc<Ctx>, args: &HoldArgs) -> Result<(), String> {
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let pad = "x".repeat(40);
    let tasks: Vec<_> = (0..args.sessions)
        .map(|i| {
            let (ctx, gate, pad, count) = (
                Arc::clone(ctx),
                Arc::clone(&gate),
                pad.clone(),
                args.history,
            );
            tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("semaphore open");
                let client = format!("{}-hold-{i}", ctx.prefix);
                let mut ws = ctx.connect(&ctx.customer_path(&client, 0)).await?;
                fill(&mut ws, count, "h", &pad).await?;
                close(ws).await;
                Ok::<_, String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

pub async fn hold(ctx: Arc<Ctx>, args: HoldArgs) -> (Value, Notes) {
    let mut notes = Notes::default();
    if args.warmup > 0 {
        eprintln!("hold: warm-up with {} sessions", args.warmup);
        match connect_sessions(&ctx, "warm", args.warmup, args.concurrency, false).await {
            Ok(sessions) => {
                for (_, c, a) in sessions {
                    close(c).await;
                    close(a).await;
                }
            }
            Err(e) => notes.fail(format!("warm-up failed: {e}")),
        }
        sleep(Duration::from_secs(1)).await;
    }
    if args.history > 0 {
        eprintln!(
            "hold: writing {} messages into each of {} conversations",
            args.history, args.sessions
        );
        if let Err(e) = write_histories(&ctx, &args).await {
            notes.fail(format!("writing the histories failed: {e}"));
        }
        sleep(Duration::from_secs(1)).await;
    }
    let rss_before = ctx.server_rss();
    eprintln!(
        "hold: server RSS before: {:?} KiB; connecting {} sessions",
        rss_before, args.sessions
    );
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.sessions);
    for i in 0..args.sessions {
        let (ctx, gate, ready, failed) = (
            Arc::clone(&ctx),
            Arc::clone(&gate),
            Arc::clone(&ready),
            Arc::clone(&failed),
        );
        let mut stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let client = format!("{}-hold-{i}", ctx.prefix);
            let permit = gate.acquire().await.expect("semaphore open");
            let (mut customer, mut agent) = match connect_session(&ctx, &client, false).await {
                Ok(pair) => pair,
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            };
            drop(permit);
            ready.fetch_add(1, Ordering::Relaxed);
            // Idle, but read (pings are answered while reading).
            let mut dropped = None;
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    f = customer.next() => if !matches!(f, Some(Ok(_))) {
                        dropped = Some(format!("{client}: customer socket ended: {f:?}"));
                        break;
                    },
                    f = agent.next() => if !matches!(f, Some(Ok(_))) {
                        dropped = Some(format!("{client}: agent socket ended: {f:?}"));
                        break;
                    },
                }
            }
            close(customer).await;
            close(agent).await;
            dropped.map_or(Ok(()), Err)
        }));
    }
    let mut curve = Vec::new();
    let step = (args.sessions / args.steps.max(1)).max(1);
    let mut next_mark = step;
    let limit = Duration::from_secs(60) + Duration::from_millis(20 * args.sessions as u64);
    loop {
        let (r, f) = (
            ready.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        if r >= next_mark && r < args.sessions {
            curve.push(json!([r, ctx.server_rss()]));
            eprintln!("hold: {r} sessions, server RSS {:?} KiB", ctx.server_rss());
            next_mark = (r / step + 1) * step;
        }
        if r + f >= args.sessions {
            break;
        }
        if started.elapsed() > limit {
            notes.fail(format!(
                "only {r} of {} sessions connected in {limit:?}",
                args.sessions
            ));
            break;
        }
        sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let connected = ready.load(Ordering::Relaxed);
    eprintln!("hold: {connected} sessions connected in {connect_secs:.1} s; settling");
    sleep(Duration::from_secs_f64(args.settle)).await;
    let rss_after = ctx.server_rss();
    curve.push(json!([connected, rss_after]));
    let cpu_before = ctx.server_cpu();
    let held = Instant::now();
    sleep(Duration::from_secs_f64(args.hold)).await;
    let idle_cpu_pct = diff(ctx.server_cpu(), cpu_before)
        .map(|d| round2(d as f64 / held.elapsed().as_micros() as f64 * 100.0));
    let rss_end = ctx.server_rss();
    let _ = stop_tx.send(true);
    let mut dropped = 0;
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                notes.fail(e);
                dropped += 1;
            }
            Err(e) => notes.fail(e.to_string()),
        }
    }
    let failed_n = failed.load(Ordering::Relaxed);
    let dropped_n = dropped - failed_n;
    let delta = diff(rss_after, rss_before);
    eprintln!(
        "hold: server RSS {:?} -> {:?} KiB: {:?} KiB per session",
        rss_before,
        rss_after,
        kb_per(delta, connected)
    );
    let figures = json!({
        "scenario": "hold",
        "sessions": args.sessions,
        "history": args.history,
        "connected": connected,
        "failed": failed_n,
        "dropped": dropped_n,
        "connect_secs": round2(connect_secs),
        "rss_before_kb": rss_before,
        "rss_after_kb": rss_after,
        "rss_end_kb": rss_end,
        "rss_per_session_kb": kb_per(delta, connected),
        "rss_curve": curve,
        "idle_server_cpu_pct": idle_cpu_pct,
    });
    (figures, notes)
}
