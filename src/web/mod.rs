//! The web layer: routes, pages, the REST API, login, WebSocket upgrades,
//! security checks and health. It turns requests into actors and actor
//! messages; no actor knows about HTTP.

mod admission;
mod api;
mod assignment;
mod attachments;
mod audit;
mod desk;
mod email;
mod errors;
mod forms;
mod handshake;
mod health;
mod login;
mod metrics;
mod observe;
mod onboarding;
mod pages;
mod privacy;
mod render;
mod search;
mod security;
mod sockets;
mod team;
pub mod widget;

use std::sync::Arc;

use actix::Addr;
use actix_web::middleware::DefaultHeaders;
use actix_web::{guard, web, Route};

use crate::conversation::Registry;
use crate::inbox::Inbox;
use crate::mail::ReopenKey;
use crate::routing::Router;
use crate::store::Store;
use crate::transport::{MessageRates, SocketLimits};

pub use admission::{admit, Admission};
pub use attachments::FileLimits;
pub use health::ReadProbe;
pub use metrics::metrics_server;
pub use observe::observe_requests;
pub use security::Security;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub registry: Addr<Registry>,
    pub inbox: Addr<Inbox>,
    pub router: Addr<Router>,
    pub store: Store,
    pub limits: SocketLimits,
    pub rates: Arc<MessageRates>,
    pub security: Arc<Security>,
    pub admission: Arc<Admission>,
    pub read_probe: Arc<ReadProbe>,
    pub widget: Arc<widget::WidgetSettings>,
    pub files: Arc<attachments::FileLimits>,
    /// The reopen links' key; `Some` exactly when email is on (`--smtp-url`).
    pub reopen: Option<Arc<ReopenKey>>,
}

/// Headers on every response; the customer page widens `frame-ancestors`.
pub fn security_headers(security: &Security) -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", security.csp(false)))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// GET, and HEAD answered the same way without a body (load balancers
/// probe with HEAD; actix leaves the body out itself).
fn get_or_head() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", get_or_head().to(pages::index))
        .route("/chat/client", get_or_head().to(pages::new_customer))
        .route("/chat/client/{id}", get_or_head().to(pages::customer))
        .route(
            "/chat/client/{id}",
            web::delete().to(privacy::customer_erase),
        )
        .route("/chat/server/{id}", get_or_head().to(pages::agent))
        .route("/static/{file}", get_or_head().to(pages::asset))
        .route("/agent", get_or_head().to(pages::console))
        .route("/agent/login", get_or_head().to(login::login_page))
        .route("/agent/login", web::post().to(login::login_submit))
        .service(
            web::resource("/agent/logout")
                .route(web::post().to(login::logout))
                .default_service(web::to(login::logout_needs_post)),
        )
        .service(
            web::resource("/agent/logout-everywhere")
                .route(web::post().to(login::logout_everywhere))
                .default_service(web::to(login::logout_needs_post)),
        )
        .route("/agent/team", get_or_head().to(team::page))
        .route("/setup", get_or_head().to(onboarding::setup_page))
        .route("/setup", web::post().to(onboarding::setup_submit))
        .route("/invite/{code}", get_or_head().to(onboarding::invite_page))
        .route("/invite/{code}", web::post().to(onboarding::invite_submit))
        .route("/agent/audit", get_or_head().to(audit::page))
        .route("/api/audit", web::get().to(audit::entries))
        .route("/api/me", web::get().to(team::me))
        .route("/api/email", web::get().to(email::status))
        .route("/api/me/alerts", web::get().to(email::alerts))
        .route("/api/me/alerts", web::put().to(email::set_alerts))
        .route("/r/{token}", get_or_head().to(email::reopen))
        .route("/u/{token}", web::post().to(email::unsubscribe_customer))
        .route("/api/agents", web::get().to(team::agents))
        .route("/api/agents", web::post().to(team::add_agent))
        .route("/api/agents/{id}", web::patch().to(team::change_agent))
        .route("/api/agents/{id}/invite", web::post().to(team::reinvite))
        .route(
            "/api/agents/{id}/capacity",
            web::put().to(assignment::capacity),
        )
        .route("/api/tokens", web::get().to(team::tokens))
        .route("/api/tokens", web::post().to(team::create_token))
        .route("/api/tokens/{id}", web::delete().to(team::delete_token))
        .route(
            "/chat/client/{id}/attachments",
            web::post().to(attachments::customer_upload),
        )
        .route(
            "/chat/client/{id}/attachments/{file}",
            get_or_head().to(attachments::customer_fetch),
        )
        .route(
            "/chat/client/{id}/attachments/{file}/thumbnail",
            get_or_head().to(attachments::customer_fetch),
        )
        .route(
            "/api/conversations/{id}/attachments",
            web::post().to(attachments::agent_upload),
        )
        .route(
            "/api/conversations/{id}/attachments/{file}",
            get_or_head().to(attachments::agent_fetch),
        )
        .route(
            "/api/conversations/{id}/attachments/{file}/thumbnail",
            get_or_head().to(attachments::agent_fetch),
        )
        .route("/ws/customer/{id}", web::get().to(sockets::customer))
        .route("/ws/agent/{id}", web::get().to(sockets::agent))
        .route("/ws/server/{id}", web::get().to(sockets::agent))
        .route("/ws/echo", web::get().to(sockets::echo))
        .route("/ws/inbox", web::get().to(sockets::inbox))
        .route("/api/conversations", web::get().to(api::conversations))
        .route("/api/conversations/{id}", web::delete().to(privacy::erase))
        .route(
            "/api/conversations/{id}/export",
            web::get().to(privacy::export),
        )
        .route(
            "/api/conversations/{id}/messages",
            web::get().to(api::messages),
        )
        .route(
            "/api/conversations/{id}/messages",
            web::post().to(api::post_message),
        )
        .route(
            "/api/conversations/{id}/resolve",
            web::post().to(api::resolve),
        )
        .route(
            "/api/conversations/{id}/reopen",
            web::post().to(api::reopen),
        )
        .route(
            "/api/conversations/{id}/transcript",
            web::post().to(email::transcript),
        )
        .route(
            "/api/conversations/{id}/contact",
            web::patch().to(api::set_contact),
        )
        // Every page view of a host site loads it: compressed when the
        // browser accepts it (about 6 KB gzipped instead of 16 KB).
        .service(
            web::resource("/widget.js")
                .wrap(actix_web::middleware::Compress::default())
                .route(get_or_head().to(widget::script)),
        )
        .route("/widget/config", get_or_head().to(widget::config))
        .route("/widget/frame", get_or_head().to(widget::frame))
        .route(
            "/api/conversations/{id}/assign",
            web::post().to(assignment::assign),
        )
        .route(
            "/api/conversations/{id}/labels",
            web::post().to(desk::change_labels),
        )
        .route("/api/search", web::get().to(search::search))
        .route("/api/replies", web::get().to(desk::replies))
        .route("/api/replies", web::post().to(desk::add_reply))
        .route("/api/replies/{id}", web::delete().to(desk::delete_reply))
        .route("/api/labels", web::get().to(desk::labels))
        .route("/api/labels", web::post().to(desk::add_label))
        .route("/api/labels/{id}", web::delete().to(desk::delete_label))
        .route("/healthz", get_or_head().to(health::healthz))
        .route("/metrics", web::get().to(metrics::metrics))
        .default_service(web::to(pages::not_found));
}
