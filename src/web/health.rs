//! `GET /healthz`: is the server serving, how many conversations and sockets
//! are live, is the store committing and can it still be read. 503 when the
//! store fails either way, so that a load balancer takes the server out.

use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::AppState;
use crate::conversation::GetStats;
use crate::error::AppError;
use crate::store::Store;

/// How long a read probe's answer stands. Load balancers poll often, and a
/// probe reads from the file itself; once a second is plenty to notice.
const PROBE_FRESH_FOR: Duration = Duration::from_secs(1);

/// The last read probe of the store, shared by every request.
#[derive(Debug, Default)]
pub struct ReadProbe {
    last: tokio::sync::Mutex<Option<(Instant, bool)>>,
}

impl ReadProbe {
    /// Whether the store could be read, probing at most once per
    /// `PROBE_FRESH_FOR` (requests meanwhile wait for the probe running).
    async fn readable(&self, store: &Store) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, readable)) = *last {
            if at.elapsed() < PROBE_FRESH_FOR {
                return readable;
            }
        }
        let readable = match store.probe().await {
            Ok(()) => true,
            Err(e) => {
                log::warn!("the store cannot be read: {e}");
                false
            }
        };
        *last = Some((Instant::now(), readable));
        readable
    }
}

pub async fn healthz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let stats = state
        .registry
        .send(GetStats)
        .await
        .map_err(|_| AppError::ShuttingDown)?;
    let store_ok = state.store.is_healthy() && state.read_probe.readable(&state.store).await;
    let status = if store_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(HttpResponse::build(status).json(serde_json::json!({
        "status": if store_ok { "ok" } else { "degraded" },
        "store": if store_ok { "ok" } else { "failing" },
        "sessions": stats.sessions,
        "open_sockets": state.store.metrics().open_sockets_total(),
    })))
}
