//! `GET /metrics` (Prometheus / OpenMetrics text) for agents and the
//! service token, the same on the separate `--metrics-bind` listener
//! without credentials (keep that one on a private address), and the
//! middleware that counts HTTP requests by route pattern and status.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, App, Error, HttpRequest, HttpResponse, HttpServer};

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

/// The middleware (`middleware::from_fn`): one count per request, labelled
/// by the route's pattern (`/ws/customer/{id}`, never the id itself), so the
/// number of series stays bounded.
pub async fn count_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| Arc::clone(state.store.metrics()));
    let response = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = response.request().match_pattern();
        metrics.http_request(
            route.as_deref().unwrap_or("unmatched"),
            response.status().as_u16(),
        );
    }
    Ok(response)
}
