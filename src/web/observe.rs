//! The middleware that sees every request once it is answered: counts it
//! for `/metrics` and writes the access log line. Both name the route's
//! pattern (`/ws/agent/{id}`, `/invite/{code}`), never the path itself nor
//! its query: paths hold conversation ids and invite codes, queries hold
//! `token=` and `sig=`, and none of that may reach a log. A request no
//! route matched is logged as `unmatched`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error};

use super::AppState;

/// The middleware (`middleware::from_fn`).
pub async fn observe_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    if let Some(state) = state {
        let request = response.request();
        let route = request.match_pattern();
        let route = route.as_deref().unwrap_or("unmatched");
        let status = response.status().as_u16();
        state.store.metrics().http_request(route, status);
        log::info!(
            target: "access",
            "{} {route} {status} {:.1}ms from {}",
            request.method(),
            started.elapsed().as_secs_f64() * 1000.0,
            state.security.client_ip(request),
        );
    }
    Ok(response)
}
