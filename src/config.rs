//! Command-line and environment configuration (clap). Every flag can also be
//! set as a `SUPPORT_CHAT_*` environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::logging::LogFormat;
use crate::retention::RetentionMode;
use crate::routing::Strategy;
use crate::store::Durability;
use crate::web::widget::{
    Ask, BusinessHours, Prechat, Texts, TimeZoneName, WeeklyHours, WidgetSettings,
};

/// How often the server pings each WebSocket, by default.
pub const HEARTBEAT_INTERVAL: &str = "10s";
/// How long a silent WebSocket lives, by default.
pub const CLIENT_TIMEOUT: &str = "30s";
/// How long a client has to send a request's head, and then its body, by default.
pub const REQUEST_TIMEOUT: &str = "10s";
/// How long an unused login session lives, by default: a week off work.
pub const SESSION_IDLE: &str = "7d";
/// How long a login session lives at most, by default.
pub const SESSION_MAX_AGE: &str = "30d";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "support-chat",
    version,
    about = "Real-time one-to-one customer-service chat server",
    // A flag given twice takes its last value (wrappers and tests add
    // their own defaults in front).
    args_override_self = true,
    long_about = "Real-time one-to-one customer-service chat server.\n\n\
        Customers open /chat/client (a fresh private conversation) or /chat/client/{id}; \
        agents answer at /chat/server/{id}. Every conversation is kept in an embedded \
        SQLite database under --data-dir."
)]
pub struct Config {
    /// Without a command: run the server.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Address to listen on; port 0 picks a free port (the real address is logged).
    #[arg(long, env = "SUPPORT_CHAT_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,

    /// Directory of the SQLite database file (created if missing). Not used
    /// with --database-url.
    #[arg(
        long,
        env = "SUPPORT_CHAT_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Store everything in this PostgreSQL database instead of SQLite in
    /// --data-dir (postgres://user:password@host:port/database), so several
    /// nodes can share it. Its schema is created or migrated at start.
    #[arg(long, env = "SUPPORT_CHAT_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// normal: an acknowledged message survives a crash of the process;
    /// full: it also survives a power loss (slower commits). SQLite only:
    /// on PostgreSQL a message is acknowledged once committed there.
    #[arg(long, env = "SUPPORT_CHAT_DURABILITY", default_value = "normal")]
    pub durability: Durability,

    /// A conversation with nobody connected leaves memory after this long
    /// (it is reloaded from the database on the next connect), e.g. 10m, 90s.
    #[arg(long, env = "SUPPORT_CHAT_IDLE_TIMEOUT", default_value = "10m", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// How often the server pings each WebSocket, e.g. 10s.
    #[arg(long, env = "SUPPORT_CHAT_HEARTBEAT_INTERVAL", default_value = HEARTBEAT_INTERVAL, value_parser = humantime::parse_duration)]
    pub heartbeat_interval: Duration,

    /// A WebSocket silent for this long (no frame, not even a pong) is closed
    /// and the other side sees it go offline, e.g. 30s.
    #[arg(long, env = "SUPPORT_CHAT_CLIENT_TIMEOUT", default_value = CLIENT_TIMEOUT, value_parser = humantime::parse_duration)]
    pub client_timeout: Duration,

    /// Longest accepted message text, in characters.
    #[arg(long, env = "SUPPORT_CHAT_MAX_TEXT_CHARS", default_value_t = 4000,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_text_chars: u32,

    /// Largest accepted WebSocket frame, and reassembled fragmented message, in bytes.
    #[arg(long, env = "SUPPORT_CHAT_MAX_FRAME_BYTES", default_value_t = 65536,
          value_parser = clap::value_parser!(u32).range(64..))]
    pub max_frame_bytes: u32,

    /// A service token for scripts, bots and load tools (`Authorization:
    /// Bearer <token>`), acting as the built-in API agent. Unset: none;
    /// agents log in with their accounts and make API tokens of their own.
    #[arg(long, env = "SUPPORT_CHAT_AGENT_TOKEN", hide_env_values = true)]
    pub agent_token: Option<String>,

    /// An agent's login session ends after this long without use, e.g. 7d, 12h.
    #[arg(long, env = "SUPPORT_CHAT_SESSION_IDLE", default_value = SESSION_IDLE, value_parser = humantime::parse_duration)]
    pub session_idle: Duration,

    /// An agent's login session ends this long after the login at the
    /// latest, however much it is used, e.g. 30d.
    #[arg(long, env = "SUPPORT_CHAT_SESSION_MAX_AGE", default_value = SESSION_MAX_AGE, value_parser = humantime::parse_duration)]
    pub session_max_age: Duration,

    /// Require customers to prove their id: pages and sockets then need
    /// `sig=hex(HMAC-SHA256(secret, client_id))`, or `jwt=` a JWT signed
    /// HS256 with this secret (`sub` = client id, `exp` required), made by
    /// your website.
    #[arg(long, env = "SUPPORT_CHAT_IDENTITY_SECRET", hide_env_values = true)]
    pub identity_secret: Option<String>,

    /// Refuse unverified customers entirely: the server will not start
    /// without --identity-secret, so a deployment that lost its secret
    /// cannot quietly let anyone in.
    #[arg(long, env = "SUPPORT_CHAT_REQUIRE_IDENTITY")]
    pub require_identity: bool,

    /// Another origin (scheme://host[:port]) whose pages may open our
    /// WebSockets and embed the customer page in an iframe. Repeatable; exact match.
    #[arg(
        long = "allowed-origin",
        env = "SUPPORT_CHAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// The widget's pre-chat form asks for the customer's name: off,
    /// optional or required.
    #[arg(
        long,
        env = "SUPPORT_CHAT_PRECHAT_NAME",
        value_enum,
        default_value = "off"
    )]
    pub prechat_name: Ask,

    /// The widget's pre-chat form asks for the customer's email: off,
    /// optional or required.
    #[arg(
        long,
        env = "SUPPORT_CHAT_PRECHAT_EMAIL",
        value_enum,
        default_value = "off"
    )]
    pub prechat_email: Ask,

    /// The greeting at the top of a new chat and beside the widget's
    /// launcher, in English (default: a built-in one).
    #[arg(long, env = "SUPPORT_CHAT_GREETING_EN")]
    pub greeting_en: Option<String>,

    /// The same greeting in Simplified Chinese.
    #[arg(long, env = "SUPPORT_CHAT_GREETING_ZH")]
    pub greeting_zh: Option<String>,

    /// What customers read when no agent is online, in English (default: a
    /// built-in text asking for an email address).
    #[arg(long, env = "SUPPORT_CHAT_AWAY_EN")]
    pub away_en: Option<String>,

    /// The same away text in Simplified Chinese.
    #[arg(long, env = "SUPPORT_CHAT_AWAY_ZH")]
    pub away_zh: Option<String>,

    /// Business hours shown in the widget, in --time-zone, e.g.
    /// "mon-fri 09:00-17:00, sat 10:00-14:00" (default: none shown).
    #[arg(long, env = "SUPPORT_CHAT_BUSINESS_HOURS")]
    pub business_hours: Option<WeeklyHours>,

    /// The time zone of --business-hours (IANA name, e.g. Europe/Berlin).
    #[arg(long, env = "SUPPORT_CHAT_TIME_ZONE", default_value = "UTC")]
    pub time_zone: TimeZoneName,

    /// Messages per second each socket may send (token bucket); 0 turns the limit off.
    #[arg(long, env = "SUPPORT_CHAT_RATE_LIMIT", default_value_t = 10.0)]
    pub rate_limit: f64,

    /// Messages a socket may send in a burst above the rate.
    #[arg(long, env = "SUPPORT_CHAT_RATE_BURST", default_value_t = 30)]
    pub rate_burst: u32,

    /// Concurrent WebSocket connections per client IP; 0 turns the cap off.
    /// Loopback clients are not counted.
    #[arg(
        long,
        env = "SUPPORT_CHAT_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256
    )]
    pub max_connections_per_ip: usize,

    /// New conversations a client IP may start per minute; 0 turns the limit off.
    /// Loopback clients are not counted.
    #[arg(
        long,
        env = "SUPPORT_CHAT_NEW_CONVERSATIONS_PER_IP",
        default_value_t = 60
    )]
    pub new_conversations_per_ip: usize,

    /// HTTP requests in progress per client IP (a slow body counts until it
    /// times out); 0 turns the cap off. Loopback clients are not counted.
    #[arg(long, env = "SUPPORT_CHAT_MAX_REQUESTS_PER_IP", default_value_t = 64)]
    pub max_requests_per_ip: usize,

    /// Open connections (HTTP and WebSocket) for the whole server; a few more
    /// are answered 503, the rest wait to be accepted. 0 turns the cap off.
    #[arg(long, env = "SUPPORT_CHAT_MAX_CONNECTIONS", default_value_t = 50_000)]
    pub max_connections: usize,

    /// Time a client has to send a request's head, and then again its body
    /// (408 after it), e.g. 10s.
    #[arg(long, env = "SUPPORT_CHAT_REQUEST_TIMEOUT", default_value = REQUEST_TIMEOUT, value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,

    /// Behind a reverse proxy: take the client IP from X-Forwarded-For (the
    /// address the proxy saw) and the scheme from X-Forwarded-Proto.
    #[arg(long, env = "SUPPORT_CHAT_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Join the other nodes of a cluster through this NATS server (e.g.
    /// nats://127.0.0.1:4222): with several nodes on one PostgreSQL
    /// database, messages, read marks, typing and presence reach sockets on
    /// every node.
    #[arg(long, env = "SUPPORT_CHAT_NATS_URL")]
    pub nats_url: Option<String>,

    /// How waiting, unassigned conversations are given to online agents
    /// below their capacity: off, round-robin or least-busy.
    #[arg(long, env = "SUPPORT_CHAT_AUTO_ASSIGN", default_value = "round-robin")]
    pub auto_assign: Strategy,

    /// A console without activity this long shows its agent as away (and
    /// gives them nothing automatically), e.g. 10m.
    #[arg(long, env = "SUPPORT_CHAT_AWAY_AFTER", default_value = "10m", value_parser = humantime::parse_duration)]
    pub away_after: Duration,

    /// An agent with no console open this long gives their open
    /// conversations back to the queue, e.g. 5m.
    #[arg(long, env = "SUPPORT_CHAT_OFFLINE_GRACE", default_value = "5m", value_parser = humantime::parse_duration)]
    pub offline_grace: Duration,
    /// Also serve `/metrics` here, without credentials (e.g. 127.0.0.1:9100;
    /// keep it private). On the main address `/metrics` needs an agent
    /// credential or the service token.
    #[arg(long, env = "SUPPORT_CHAT_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// Delete (or anonymise) conversations whose last activity is older than
    /// this, e.g. 365d. Unset (the default): conversations are kept forever.
    #[arg(long, env = "SUPPORT_CHAT_RETENTION", value_parser = humantime::parse_duration)]
    pub retention: Option<Duration>,

    /// What retention does: delete the conversation with its messages, or
    /// anonymise it (texts replaced, numbering, times and counts kept).
    #[arg(long, env = "SUPPORT_CHAT_RETENTION_MODE", value_enum, default_value_t = RetentionMode::Delete)]
    pub retention_mode: RetentionMode,

    /// Delete audit log entries older than this; "forever" keeps them all.
    #[arg(long, env = "SUPPORT_CHAT_AUDIT_RETENTION", default_value = "730d", value_parser = parse_keep)]
    pub audit_retention: Keep,

    /// How often retention looks for what to delete.
    #[arg(long, env = "SUPPORT_CHAT_RETENTION_INTERVAL", default_value = "1h", value_parser = humantime::parse_duration)]
    pub retention_interval: Duration,

    /// Largest accepted attached file, in bytes (10 MiB).
    #[arg(long, env = "SUPPORT_CHAT_MAX_FILE_BYTES", default_value_t = 10 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_file_bytes: u64,

    /// Most bytes of files one conversation keeps, both sides together (100 MiB).
    #[arg(long, env = "SUPPORT_CHAT_FILE_QUOTA_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub file_quota_bytes: u64,

    /// Most pixels of an accepted image (width × height), so a small file
    /// that unpacks to gigabytes is refused before it is decoded.
    #[arg(
        long,
        env = "SUPPORT_CHAT_MAX_IMAGE_PIXELS",
        default_value_t = 25_000_000
    )]
    pub max_image_pixels: u64,

    /// Uploads per second each side of a conversation may make, with
    /// bursts of --upload-burst; 0 turns the limit off.
    #[arg(long, env = "SUPPORT_CHAT_UPLOAD_RATE", default_value_t = 0.5)]
    pub upload_rate: f64,

    #[arg(long, env = "SUPPORT_CHAT_UPLOAD_BURST", default_value_t = 10)]
    pub upload_burst: u32,

    /// An uploaded file that no message sends is deleted after this long.
    #[arg(long, env = "SUPPORT_CHAT_UNSENT_FILE_EXPIRY", default_value = "1h", value_parser = humantime::parse_duration)]
    pub unsent_file_expiry: Duration,
    /// Send email through this SMTP server: smtp://user:pass@host:port
    /// (plain, for a local relay), smtp://…?tls=required (STARTTLS) or
    /// smtps://… (implicit TLS). Unset: email is off.
    #[arg(long, env = "SUPPORT_CHAT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The address emails come from, e.g. "Support <support@example.com>".
    #[arg(long, env = "SUPPORT_CHAT_MAIL_FROM")]
    pub mail_from: Option<String>,

    /// The wait before retrying a failed email; each further retry waits
    /// twice as long (at most an hour).
    #[arg(long, env = "SUPPORT_CHAT_MAIL_RETRY_AFTER", default_value = "30s", value_parser = humantime::parse_duration)]
    pub mail_retry_after: Duration,

    /// Attempts before an email is given up and shown as failed to admins.
    #[arg(long, env = "SUPPORT_CHAT_MAIL_MAX_ATTEMPTS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub mail_max_attempts: u32,

    /// An agent reply the customer has not read for this long is emailed
    /// to them (if they left an email address), e.g. 5m, 2s.
    #[arg(long, env = "SUPPORT_CHAT_NOTIFY_UNSEEN_AFTER", default_value = "5m", value_parser = humantime::parse_duration)]
    pub notify_unseen_after: Duration,

    /// A customer waiting this long for an answer is emailed about to the
    /// agents who asked for it (the assignee, or anyone if unassigned).
    #[arg(long, env = "SUPPORT_CHAT_NOTIFY_WAITING_AFTER", default_value = "3m", value_parser = humantime::parse_duration)]
    pub notify_waiting_after: Duration,

    /// This server as customers reach it, for links in emails, e.g.
    /// https://support.example.com (default: http://<--bind address>).
    #[arg(long, env = "SUPPORT_CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// How long the link in an email reopens the conversation, e.g. 7d.
    #[arg(long, env = "SUPPORT_CHAT_REOPEN_LINK_TTL", default_value = "7d", value_parser = humantime::parse_duration)]
    pub reopen_link_ttl: Duration,

    /// Accept customers' email replies over SMTP here (e.g. 127.0.0.1:2525):
    /// the company's mail server forwards `reply+<token>@<--mail-from's
    /// domain>` to it. Unset (the default): no inbound mail. Needs email on.
    #[arg(long, env = "SUPPORT_CHAT_SMTP_INBOUND_BIND")]
    pub smtp_inbound_bind: Option<String>,

    /// Largest inbound email accepted, in bytes.
    #[arg(long, env = "SUPPORT_CHAT_SMTP_INBOUND_MAX_BYTES", default_value_t = 1_048_576,
          value_parser = clap::value_parser!(u32).range(1024..))]
    pub smtp_inbound_max_bytes: u32,

    /// Log lines as text, or as one JSON object per line for log shippers.
    #[arg(long, env = "SUPPORT_CHAT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// HTTP worker threads (default: one per CPU core).
    #[arg(long, env = "SUPPORT_CHAT_WORKERS")]
    pub workers: Option<usize>,
}

/// Operations on a database, instead of running the server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Copy the database of --data-dir to FILE, consistently, while the
    /// server keeps running (SQLite's online backup API). FILE is replaced
    /// only once the new copy is complete and checked.
    Backup {
        /// Where the copy goes.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Put a backup in place as the database of --data-dir. Refuses while a
    /// server runs on that directory, and refuses a file that is not an
    /// intact support-chat database (or is newer than this build).
    Restore {
        /// The backup to restore.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Replace a database already there; it is moved aside to
        /// support-chat.db.replaced-<time>, never deleted.
        #[arg(long)]
        force: bool,
    },
    /// Copy everything of the SQLite database of DATA_DIR (conversations,
    /// accounts, files, emails…) into an empty PostgreSQL database, in one
    /// transaction, to run several nodes on it. Stop the server first.
    MigrateSqliteToPostgres {
        /// The data directory of the single-node installation.
        #[arg(long, value_name = "DATA_DIR")]
        from: PathBuf,
        /// The PostgreSQL database (postgres://user:password@host/db).
        #[arg(long, value_name = "URL", hide_env_values = true)]
        to: String,
    },
}

/// How long something is kept: a duration, or `None` for "forever".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep(pub Option<Duration>);

fn parse_keep(raw: &str) -> Result<Keep, humantime::DurationError> {
    if raw == "forever" {
        Ok(Keep(None))
    } else {
        humantime::parse_duration(raw).map(|d| Keep(Some(d)))
    }
}

impl Config {
    /// What the widget is told about the pre-chat form, texts and hours.
    pub fn widget_settings(&self) -> WidgetSettings {
        let text = |t: &Option<String>| {
            t.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        WidgetSettings {
            prechat: Prechat {
                name: self.prechat_name,
                email: self.prechat_email,
            },
            greeting: Texts {
                en: text(&self.greeting_en),
                zh: text(&self.greeting_zh),
            },
            away: Texts {
                en: text(&self.away_en),
                zh: text(&self.away_zh),
            },
            hours: self.business_hours.as_ref().map(|h| BusinessHours {
                time_zone: self.time_zone.clone(),
                days: h.days.clone(),
            }),
        }
    }

    /// Defaults with the given overrides, as on a command line.
    pub fn from_args<I, T>(args: I) -> Result<Config, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Config::try_parse_from(
            std::iter::once("support-chat".into()).chain(args.into_iter().map(Into::into)),
        )
    }
}
