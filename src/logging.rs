//! Log output: env_logger's text lines (the default), or one JSON object
//! per line for log shippers (`--log-format json`). Either way no log line
//! holds a message text, a token, a session id or a request's query string
//! (the access log names the route pattern, see `web/observe.rs`).

use std::io::Write as _;

use chrono::SecondsFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the logger (`RUST_LOG` filters, `info` by default).
pub fn init_logging(format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if format == LogFormat::Json {
        builder.format(|out, record| {
            let line = serde_json::json!({
                "ts": chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
                "level": record.level().as_str(),
                "target": record.target(),
                "msg": record.args().to_string(),
            });
            writeln!(out, "{line}")
        });
    }
    builder.init();
}
