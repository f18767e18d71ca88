//! `GET /metrics` (Prometheus / OpenMetrics text) for agents and the
//! service token, the same on the separate `--metrics-bind` listener
//! without credentials (keep that one on a private address).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

use super::AppState;
use crate::error::AppError;
use crate::metrics::Metrics;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /metrics` on the main listener: agent credentials needed.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    Ok(exposition(state.store.metrics()))
}

fn exposition(metrics: &Metrics) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(metrics.encode())
}

/// The `--metrics-bind` listener: `/metrics` and nothing else.
pub fn metrics_server(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        let metrics = Arc::clone(&metrics);
        App::new().route(
            "/metrics",
            web::get().to(move || {
                let metrics = Arc::clone(&metrics);
                async move { exposition(&metrics) }
            }),
        )
    })
    .disable_signals()
    .workers(1)
    .shutdown_timeout(1)
    .listen(listener)?
    .run();
    Ok(server)
}
