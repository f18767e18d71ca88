use clap::Parser;
use support_chat::Application;
use support_chat::Config;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let config = Config::parse();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let app = match Application::build(&config) {
        Ok(app) => app,
        Err(e) => {
            log::error!("cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", app.local_addr());
    log::info!("support-chat listening on {base}");
    log::info!("  customers: {base}/chat/client  (a fresh private conversation)");
    log::info!("  agents:    {base}/agent  (the console; log in at {base}/agent/login)");
    if let Some(setup) = app.setup_url() {
        // Valid until used, also after restarts (each start adds a link).
        log::info!("no agent account yet: create the first admin at {setup}");
    }
    match app.run_until_stopped().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            log::error!("server failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
