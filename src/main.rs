use std::process::ExitCode;

use clap::Parser;
use support_chat::{Application, Command, Config, Copied};

#[actix_web::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    support_chat::init_logging(config.log_format);
    match &config.command {
        None => serve(&config).await,
        // They copy the SQLite file; a PostgreSQL database has its own tools.
        Some(Command::Backup { .. } | Command::Restore { .. }) if config.database_url.is_some() => {
            log::error!(
                "backup and restore copy the SQLite database of --data-dir; with --database-url \
                 use PostgreSQL's own tools (pg_dump and pg_restore, or pg_basebackup)"
            );
            ExitCode::FAILURE
        }
        Some(Command::Backup { to }) => report(
            support_chat::backup(&config.data_dir, to),
            &format!("backed up to {}", to.display()),
        ),
        Some(Command::MigrateSqliteToPostgres { from, to }) => {
            match support_chat::migrate_sqlite_to_postgres(from, to) {
                Ok(imported) => {
                    for (table, rows) in imported.tables {
                        log::info!("copied {table}: {rows} rows");
                    }
                    log::info!(
                        "{} is now in PostgreSQL; start the nodes with --database-url",
                        from.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    log::error!("nothing was copied: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Restore { from, force }) => report(
            support_chat::restore(from, &config.data_dir, *force),
            &format!(
                "restored {} into {}",
                from.display(),
                config.data_dir.display()
            ),
        ),
    }
}

fn report(result: Result<Copied, support_chat::BackupError>, done: &str) -> ExitCode {
    match result {
        Ok(copied) => {
            log::info!(
                "{done}: {} conversations, {} messages, schema {}",
                copied.conversations,
                copied.messages,
                copied.schema_version
            );
            if let Some(aside) = copied.moved_aside {
                log::info!("the database it replaced is kept as {}", aside.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &Config) -> ExitCode {
    let app = match Application::build(config) {
        Ok(app) => app,
        Err(e) => {
            log::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", app.local_addr());
    log::info!("support-chat listening on {base}");
    log::info!("  customers: {base}/chat/client  (a fresh private conversation)");
    log::info!("  agents:    {base}/agent  (the console; log in at {base}/agent/login)");
    if let Some(metrics) = app.metrics_addr() {
        log::info!("  metrics:   http://{metrics}/metrics");
    }
    if let Some(setup) = app.setup_url() {
        // Valid until used, also after restarts (each start adds a link).
        log::info!("no agent account yet: create the first admin at {setup}");
    }
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}
