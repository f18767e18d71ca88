//! Command line: the common flags and each scenario's own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "loadgen", about = "WebSocket load generator for support-chat")]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Args, Clone)]
pub struct Common {
    /// Base address of the server.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8000")]
    pub url: String,
    /// Agents connect here instead of `--url`: another node of a cluster,
    /// so every message crosses nodes (relay).
    #[arg(long, global = true)]
    pub agent_url: Option<String>,
    /// The server's agent token (agent sockets send it as `?token=`).
    #[arg(long, global = true, default_value = "bench")]
    pub agent_token: String,
    /// The server's process id, to read its RSS, CPU time and disk writes
    /// from /proc.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Spread client sockets over this many loopback source addresses
    /// (127.0.0.2, 127.0.0.3, …); 0 lets the system choose (127.0.0.1).
    #[arg(long, global = true, default_value_t = 0)]
    pub sources: u32,
    /// Worker threads of the generator's tokio runtime.
    #[arg(long, global = true, default_value_t = 2)]
    pub threads: usize,
    /// Exit with status 1 on a failure: something lost, duplicated or
    /// reordered, a wrong history, or sessions that could not connect.
    #[arg(long, global = true)]
    pub strict: bool,
    /// Client ids start with this (default: a random run prefix).
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// Copied into the JSON figures as `label` (the `compare` table groups
    /// runs by it).
    #[arg(long, global = true)]
    pub label: Option<String>,
}

#[derive(Subcommand)]
pub enum Scenario {
    /// S idle sessions: server RSS per session.
    Hold(HoldArgs),
    /// S sessions relaying R msg/s in all for D seconds.
    Relay(RelayArgs),
    /// Reconnects to a conversation of H messages.
    Replay(ReplayArgs),
    /// One customer sends K messages as fast as it can.
    Flood(FloodArgs),
    /// Markdown table of JSON result lines (files, or stdin without any).
    Table(TableArgs),
    /// support-chat against the framework floor, from labelled relay runs.
    Compare(CompareArgs),
}

#[derive(Args)]
pub struct HoldArgs {
    /// Sessions (a customer and an agent socket each).
    #[arg(long, default_value_t = 2000)]
    pub sessions: usize,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Sessions connected and closed before the baseline RSS is read.
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// Seconds to wait after the last welcome before reading RSS.
    #[arg(long, default_value_t = 2.0)]
    pub settle: f64,
    /// Seconds to hold the idle sessions (server CPU is measured meanwhile).
    #[arg(long, default_value_t = 5.0)]
    pub hold: f64,
    /// Messages each conversation holds before its sockets connect (written
    /// by a customer socket, closed again before the baseline RSS is read):
    /// what a connected conversation with a long history costs.
    #[arg(long, default_value_t = 0)]
    pub history: u64,
    /// RSS readings while connecting (at every sessions/steps).
    #[arg(long, default_value_t = 4)]
    pub steps: usize,
}

#[derive(Args)]
pub struct RelayArgs {
    #[arg(long, default_value_t = 100)]
    pub sessions: usize,
    /// Messages per second, in all (split evenly over the sessions).
    #[arg(long, default_value_t = 14000.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// After the last send, wait for what is still in flight until nothing
    /// new has arrived for this many seconds.
    #[arg(long, default_value_t = 3.0)]
    pub grace: f64,
    /// ... but no longer than this many seconds after the last send.
    #[arg(long, default_value_t = 60.0)]
    pub max_drain: f64,
    /// Bytes of padding in each message text (after the timestamp).
    #[arg(long, default_value_t = 40)]
    pub text_bytes: usize,
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Send messages without a client message `id` (by default each
    /// carries one, as the web pages do, for idempotent retries).
    #[arg(long)]
    pub no_ids: bool,
    /// Drive a raw-text relay (the framework floor of
    /// ../shared/bench/actix-floor) instead of support-chat: sockets at
    /// /ws/customer/{id} and /ws/agent/{id} with no welcome or history, each
    /// frame is the bare message text (the token), the sender gets it back as
    /// its acknowledgement and the other side gets a copy.
    #[arg(long)]
    pub raw: bool,
    /// Agents' consoles (/ws/inbox) open through the run, reading every
    /// update, as a staffed desk has them.
    #[arg(long, default_value_t = 0)]
    pub consoles: usize,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// Messages in the conversation.
    #[arg(long, default_value_t = 1000)]
    pub history: u64,
    /// Reconnects with since=0 (the full history is fetched, paging with
    /// history_before after the first page).
    #[arg(long, default_value_t = 200)]
    pub reconnects: usize,
    /// Reconnects with since=H-10 (only the 10 missing messages must come).
    #[arg(long, default_value_t = 200)]
    pub gap_reconnects: usize,
    /// Bytes of padding in each message text.
    #[arg(long, default_value_t = 40)]
    pub text_bytes: usize,
}

#[derive(Args)]
pub struct FloodArgs {
    /// Messages the customer sends.
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// The agent socket connects but never reads (until the flood is over).
    #[arg(long)]
    pub agent_not_reading: bool,
    /// Most messages in flight (sent, neither acknowledged nor refused);
    /// 0: no limit, everything is sent without waiting.
    #[arg(long, default_value_t = 0)]
    pub window: usize,
    /// Give up waiting for acknowledgements after this many seconds of silence.
    #[arg(long, default_value_t = 5.0)]
    pub idle: f64,
    /// Bytes of padding in each message text.
    #[arg(long, default_value_t = 40)]
    pub text_bytes: usize,
}

#[derive(Args)]
pub struct TableArgs {
    pub files: Vec<PathBuf>,
}

#[derive(Args)]
pub struct CompareArgs {
    /// JSON result lines (stdin without any).
    pub files: Vec<PathBuf>,
    /// The rates (msg/s) to compare at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "5000,14000")]
    pub rates: Vec<f64>,
    /// Print nothing; exit 0 when every run given sustained its rate (sent
    /// it, lost nothing, p99 under 50 ms), else 1. For a climb through rates.
    #[arg(long)]
    pub passes: bool,
}
