//! Attachments over HTTP. Customers upload with
//! `POST /chat/client/{id}/attachments` and fetch with
//! `GET /chat/client/{id}/attachments/{attachment_id}` (authenticated like
//! their socket: the conversation id, and `sig`/`jwt` under identity
//! verification); agents use `/api/conversations/{id}/attachments[/…]`
//! with their session or token. `…/thumbnail` gives an image's thumbnail.
//! Files are served so they can never run: the detected type,
//! `nosniff`, a sandboxing CSP, and `attachment` for all but raster images.

mod body;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;
use crate::domain::{Attachment, AttachmentId, ClientId, FileName, Role};
use crate::error::AppError;
use crate::files::{self, Refused};
use crate::limits::KeyedBuckets;
use crate::store::{Download, Upload};

/// The limits of uploads (see the command line).
pub struct FileLimits {
    pub max_file_bytes: u64,
    pub quota_bytes: u64,
    pub max_image_pixels: u64,
    /// Uploads per side of a conversation.
    pub rate: KeyedBuckets<(ClientId, Role)>,
}

/// `POST /chat/client/{id}/attachments`
pub async fn customer_upload(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.check_origin(&req)?;
    let client = ClientId::parse(&id)?;
    state.security.require_customer(&req, &client)?;
    upload(&req, client, Role::Customer, payload, &state).await
}

/// `POST /api/conversations/{id}/attachments`
pub async fn agent_upload(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent_write(&req).await?;
    let client = ClientId::parse(&id)?;
    upload(&req, client, Role::Agent, payload, &state).await
}

/// `GET /chat/client/{id}/attachments/{attachment_id}[/thumbnail]`
pub async fn customer_fetch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let client = ClientId::parse(&path.0)?;
    state.security.require_customer(&req, &client)?;
    fetch(&req, client, &path.1, Role::Customer, &state).await
}

/// `GET /api/conversations/{id}/attachments/{attachment_id}[/thumbnail]`
pub async fn agent_fetch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    state.security.require_agent(&req).await?;
    let client = ClientId::parse(&path.0)?;
    fetch(&req, client, &path.1, Role::Agent, &state).await
}

async fn upload(
    req: &HttpRequest,
    client: ClientId,
    role: Role,
    payload: web::Payload,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let limits = &state.files;
    if !limits.rate.try_take((client.clone(), role)) {
        let (per_second, burst) = limits.rate.limits();
        return Err(AppError::RateLimited { per_second, burst });
    }
    let received = body::receive(req, payload, limits.max_file_bytes).await?;
    if received.bytes.is_empty() {
        return Err(AppError::BadRequest("the file is empty".into()));
    }
    let max_pixels = limits.max_image_pixels;
    let processed = web::block(move || files::process(received.bytes, max_pixels))
        .await
        .map_err(|_| AppError::ShuttingDown)?
        .map_err(|e: Refused| AppError::FileRefused(e.to_string()))?;
    let meta = Attachment {
        id: AttachmentId::random(),
        name: FileName::sanitise(&received.name, "file"),
        size: processed.data.len() as u64,
        mime: processed.mime.to_owned(),
        width: processed.size.map(|(w, _)| w),
        height: processed.size.map(|(_, h)| h),
    };
    let kept = state
        .store
        .put_attachment(
            Upload {
                client,
                uploader: role,
                meta: meta.clone(),
                data: processed.data,
                thumbnail: processed.thumbnail,
            },
            limits.quota_bytes,
        )
        .await
        .map_err(|_| AppError::StoreUnavailable)?;
    if !kept {
        return Err(AppError::QuotaExceeded {
            max: limits.quota_bytes,
        });
    }
    Ok(HttpResponse::build(StatusCode::CREATED).json(meta))
}

async fn fetch(
    req: &HttpRequest,
    client: ClientId,
    file: &str,
    reader: Role,
    state: &AppState,
) -> Result<HttpResponse, AppError> {
    let thumbnail = req.path().ends_with("/thumbnail");
    let id = AttachmentId::parse(file).ok_or(AppError::NotFound)?;
    let Download { meta, bytes } = state
        .store
        .attachment(client, id, reader, thumbnail)
        .await
        .map_err(|_| AppError::StoreUnavailable)?
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, meta.mime.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            meta.name.content_disposition(meta.is_image()),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        ))
        // Files never change; only the two sides may have them.
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .body(bytes))
}
