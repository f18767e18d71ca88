//! `GET /api/email`: for admins, whether email is on and the emails the
//! sender gave up on (the team page shows them).

use actix_web::{web, HttpRequest, HttpResponse};

use super::team::require_admin;
use super::AppState;
use crate::error::AppError;
use crate::mail::failed_emails;

/// Failed emails the team page lists, newest first.
const FAILED_SHOWN: usize = 50;

/// `GET /api/email` → `{"on": bool, "failed": [FailedEmail]}`
pub async fn status(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let agent = state.security.require_agent(&req).await?;
    require_admin(&agent)?;
    let failed = failed_emails(&state.store, FAILED_SHOWN)
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "on": state.email_on, "failed": failed })))
}
