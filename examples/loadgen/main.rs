//! A WebSocket load generator for the support-chat protocol (PROTOCOL.md).
//!
//! ```text
//! cargo run --release --example loadgen -- [COMMON FLAGS] <SCENARIO> [FLAGS]
//!
//!   hold    S idle sessions (a customer and an agent socket each): server RSS per session
//!           (--history H: each conversation first gets H messages, so it is measured
//!           connected with a long history)
//!   relay   S sessions, R msg/s in all for D s: latency, lost/duplicated/reordered, CPU/msg
//!           (--no-ids: messages without a client message id; --raw: the server is a
//!           raw-text relay such as ../shared/bench/actix-floor, the frame is the token)
//!   replay  a conversation of H messages, reconnected N times with since=0 (the whole
//!           history, paging with history_before) and with since=H-10 (only the gap)
//!   flood   one customer sends K messages as fast as it can (--window W: at most W
//!           unanswered), to a reading or a never-reading (--agent-not-reading) agent:
//!           acks, acknowledged-but-not-stored (via the REST API), server RSS growth
//!   table   turns the JSON lines of earlier runs into a Markdown table
//!   compare support-chat against the floor from relay runs labelled (--label)
//!           `ours`, `floor` and `ours-full`: medians, ratios, highest rate
//! ```
//!
//! Common flags: `--url http://127.0.0.1:8000`, `--agent-token`, `--server-pid`
//! (to read the server's RSS, CPU time and disk writes from /proc), `--sources
//! N` (spread client sockets over the loopback source addresses 127.0.0.2 …
//! 127.0.0.N+1, so more than one address's ephemeral ports are usable),
//! `--threads` (the generator's tokio worker threads, default 2) and
//! `--strict` (exit 1 on a failure: something lost, duplicated or reordered,
//! a wrong history, sessions that could not connect). The generator raises
//! its own open-file limit to the hard limit.
//!
//! Progress goes to stderr; every run ends with exactly one line of JSON
//! figures on stdout, with `ok`, `failures` and `warnings` (allowed by the
//! protocol but worth knowing, e.g. a socket closed 4002 as too slow).
//! Latencies are measured inside this one process: the customer puts its
//! send time (µs since the generator started) in the text, and the agent
//! (and the customer's own acknowledgement) subtracts it.

mod cli;
mod compare;
mod ctx;
mod figures;
mod flood;
mod frames;
mod hold;
mod proc;
mod relay;
mod replay;
mod socket;
mod stored;
mod table;

use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

use crate::cli::{Cli, Common, Scenario};
use crate::ctx::{resolve, Ctx};
use crate::figures::Notes;
use crate::frames::EPOCH;
use crate::proc::raise_nofile_limit;
use crate::table::{read_results, table};

async fn run(common: Common, scenario: Scenario) -> Result<(Value, Notes), String> {
    let (host, addr) = resolve(&common.url).await?;
    let (agent_host, agent_addr) = match &common.agent_url {
        Some(url) => resolve(url).await?,
        None => (host.clone(), addr),
    };
    let prefix = common
        .prefix
        .clone()
        .unwrap_or_else(|| format!("lg{:08x}", rand::random::<u32>()));
    let ctx = Arc::new(Ctx {
        common,
        host,
        addr,
        agent_host,
        agent_addr,
        prefix,
        next_source: AtomicU32::new(0),
    });
    eprintln!(
        "loadgen: server {} (pid {:?}), client ids {}-…, {} source addresses",
        ctx.addr, ctx.common.server_pid, ctx.prefix, ctx.common.sources
    );
    match scenario {
        Scenario::Hold(a) => Ok(hold::hold(ctx, a).await),
        Scenario::Relay(a) => relay::relay(ctx, a).await,
        Scenario::Replay(a) => replay::replay(ctx, a).await,
        Scenario::Flood(a) => flood::flood(ctx, a).await,
        Scenario::Table(_) | Scenario::Compare(_) => {
            unreachable!("handled before the runtime starts")
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    EPOCH.get_or_init(Instant::now);
    let offline = match &cli.scenario {
        Scenario::Table(args) => Some(table(args)),
        Scenario::Compare(args) => Some(read_results(&args.files).and_then(|results| {
            if args.passes {
                compare::sustained(&results)
                    .then_some(())
                    .ok_or_else(|| "not sustained".to_string())
            } else {
                compare::run(&results, &args.rates)
            }
        })),
        _ => None,
    };
    if let Some(result) = offline {
        return match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("loadgen: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let nofile = raise_nofile_limit();
    eprintln!("loadgen: open-file limit {nofile}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cli.common.threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime");
    let strict = cli.common.strict;
    let threads = cli.common.threads;
    let name = match &cli.scenario {
        Scenario::Hold(_) => "hold",
        Scenario::Relay(_) => "relay",
        Scenario::Replay(_) => "replay",
        Scenario::Flood(_) => "flood",
        Scenario::Table(_) | Scenario::Compare(_) => "table",
    };
    let label = cli.common.label.clone();
    let outcome = runtime.block_on(run(cli.common, cli.scenario));
    let (mut figures, notes) = match outcome {
        Ok(result) => result,
        Err(e) => {
            let mut notes = Notes::default();
            notes.fail(e);
            (json!({"scenario": name}), notes)
        }
    };
    for w in &notes.warnings {
        eprintln!("loadgen: warning: {w}");
    }
    for f in &notes.failures {
        eprintln!("loadgen: FAILURE: {f}");
    }
    let ok = notes.failures.is_empty();
    figures["ok"] = json!(ok);
    figures["failures"] = json!(notes.failures);
    figures["warnings"] = json!(notes.warnings);
    figures["generator_threads"] = json!(threads);
    if let Some(label) = label {
        figures["label"] = json!(label);
    }
    println!("{figures}");
    runtime.shutdown_timeout(Duration::from_secs(1));
    if strict && !ok {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
