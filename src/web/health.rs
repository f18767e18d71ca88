//! `GET /healthz`: is the server serving, how many conversations and sockets
//! are live, is the store committing.

use actix_web::{web, HttpResponse};

use super::AppState;
use crate::conversation::GetStats;
use crate::error::AppError;

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let stats = state
        .registry
        .send(GetStats)
        .await
        .map_err(|_| AppError::ShuttingDown)?;
    let store_ok = state.store.is_healthy();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "status": if store_ok { "ok" } else { "degraded" },
        "store": if store_ok { "ok" } else { "failing" },
        "sessions": stats.sessions,
        "open_sockets": state.gauges.open_sockets(),
    })))
}
