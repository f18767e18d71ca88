//! Who may do what, decided per request: the client's IP (behind a trusted
//! proxy, the one it forwarded), the Origin check that stops cross-site
//! WebSocket hijacking, agent credentials (session cookie, or a token: the
//! service token or an API token, as bearer or `token` query parameter),
//! customer identity signatures, and the security headers.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::accounts::{Accounts, Authenticated, Credential};
use crate::auth::{AgentToken, IdentitySecret};
use crate::domain::{Agent, ClientId};
use crate::error::AppError;
use crate::limits::{IpLimits, KeyedBuckets};

/// Name of the agent's login cookie.
pub const AGENT_COOKIE: &str = "support_chat_agent";

pub struct Security {
    /// The service token, if configured.
    pub agent_token: Option<AgentToken>,
    pub accounts: Accounts,
    pub identity: Option<IdentitySecret>,
    pub allowed_origins: Vec<String>,
    pub trust_proxy: bool,
    pub ip_limits: Arc<IpLimits>,
    /// API writes per client IP, at the socket message rate
    /// (`--rate-limit`, `--rate-burst`).
    pub api_rate: KeyedBuckets<IpAddr>,
}

impl Security {
    /// The client's address: the peer, or behind a trusted proxy the last
    /// entry of X-Forwarded-For (the one the proxy itself appended; earlier
    /// entries are whatever the client claimed). A last entry that does not
    /// parse means the peer, never an earlier entry the client chose.
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let forwarded = || {
            let last_line = req.headers().get_all("x-forwarded-for").last()?;
            last_forwarded(last_line.to_str().ok()?)
        };
        let ip = if self.trust_proxy {
            forwarded().unwrap_or(peer)
        } else {
            peer
        };
        ip.to_canonical()
    }

    /// `https` when a trusted proxy says so; we never terminate TLS ourselves.
    pub fn scheme(&self, req: &HttpRequest) -> &'static str {
        let forwarded_https = self.trust_proxy
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        if forwarded_https {
            "https"
        } else {
            "http"
        }
    }

    /// Refuses a browser WebSocket opened by a page of a foreign origin.
    /// Requests without `Origin` (not from a browser) pass; they still need
    /// the credentials of their endpoint.
    pub fn check_origin(&self, req: &HttpRequest) -> Result<(), AppError> {
        self.foreign_origin(req).map_or(Ok(()), |refusal| {
            Err(AppError::Forbidden(format!(
                "cross-site WebSocket refused: {refusal}"
            )))
        })
    }

    /// Refuses a state-changing request that a browser sent from a page of
    /// another origin (cross-site request forgery): `SameSite=Strict` does
    /// not stop another origin of the same site. Without `Origin`, the
    /// browser's `Sec-Fetch-Site` must not say the request is cross-origin.
    /// `Origin: null` counts as absent: under our `Referrer-Policy:
    /// no-referrer` browsers send it even for this server's own forms.
    pub fn check_browser_write(&self, req: &HttpRequest) -> Result<(), AppError> {
        let origin = req.headers().get(header::ORIGIN);
        let refusal = if origin.is_some_and(|o| *o != "null") {
            self.foreign_origin(req)
        } else {
            match req.headers().get("sec-fetch-site").map(|v| v.to_str()) {
                None | Some(Ok("same-origin" | "none")) => None,
                Some(site) => Some(format!(
                    "Sec-Fetch-Site is {}",
                    site.unwrap_or("(not text)")
                )),
            }
        };
        refusal.map_or(Ok(()), |refusal| {
            Err(AppError::Forbidden(format!(
                "cross-origin request refused: {refusal}"
            )))
        })
    }

    /// Why the request's `Origin` is foreign, or `None` if it is absent,
    /// this server or an `--allowed-origin`.
    fn foreign_origin(&self, req: &HttpRequest) -> Option<String> {
        let origin = req.headers().get(header::ORIGIN)?;
        let origin = origin.to_str().unwrap_or("(not text)");
        if self.allows_origin(req, origin) {
            None
        } else {
            Some(format!(
                "origin {origin} is neither this server ({}) nor an --allowed-origin",
                self.own_origin(req)
            ))
        }
    }

    /// Whether pages of `origin` may use us: this server itself, or an
    /// `--allowed-origin` (exact).
    pub fn allows_origin(&self, req: &HttpRequest, origin: &str) -> bool {
        origin.eq_ignore_ascii_case(&self.own_origin(req))
            || self.allowed_origins.iter().any(|o| o == origin)
    }

    /// This server's origin as the request addressed it
    /// (`scheme://host[:port]`), for links and the Origin checks.
    pub fn own_origin(&self, req: &HttpRequest) -> String {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        format!("{}://{}", self.scheme(req), host)
    }

    /// Whether the request carries valid agent credentials.
    pub async fn is_agent(&self, req: &HttpRequest) -> bool {
        self.authenticate(req).await.is_ok()
    }

    /// Who the request acts as, and by which credential; 401 without a
    /// valid one. A token (bearer or `token` query parameter) is tried
    /// before the cookie: only the cookie is sent by the browser on its
    /// own, so only it needs the CSRF check.
    pub async fn authenticate(&self, req: &HttpRequest) -> Result<Authenticated, AppError> {
        if let Some(token) = presented_token(req) {
            if self.agent_token.as_ref().is_some_and(|t| t.matches(&token)) {
                return Ok(Authenticated {
                    agent: Agent::service(),
                    credential: Credential::Service,
                });
            }
            if let Some(who) = self.accounts.authenticate_token(&token).await? {
                return Ok(who);
            }
        }
        match req.cookie(AGENT_COOKIE) {
            Some(cookie) => self
                .accounts
                .authenticate_session(cookie.value())
                .await?
                .ok_or(AppError::Unauthorized),
            None => Err(AppError::Unauthorized),
        }
    }

    /// Like [`Security::authenticate`], for a request that changes
    /// something: with the cookie, it must come from this server's pages.
    pub async fn authenticate_write(&self, req: &HttpRequest) -> Result<Authenticated, AppError> {
        let who = self.authenticate(req).await?;
        if matches!(who.credential, Credential::Session(_)) {
            self.check_browser_write(req)?;
        }
        Ok(who)
    }

    /// The agent a request that changes something acts as.
    pub async fn require_agent_write(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        self.authenticate_write(req).await.map(|who| who.agent)
    }

    /// The admin a request that changes something acts as; 403 for any
    /// other agent.
    pub async fn require_admin_write(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        admin(self.require_agent_write(req).await?)
    }

    /// The admin the request acts as; 401 without one, 403 for any other
    /// agent.
    pub async fn require_admin(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        admin(self.require_agent(req).await?)
    }

    /// The agent the request acts as, or 401.
    pub async fn require_agent(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        self.authenticate(req).await.map(|who| who.agent)
    }

    /// With an identity secret configured, the customer must present the
    /// website's signature of their id.
    pub fn require_customer(&self, req: &HttpRequest, client: &ClientId) -> Result<(), AppError> {
        let Some(secret) = &self.identity else {
            return Ok(());
        };
        if let Some(token) = query_param(req, "jwt")? {
            let now = chrono::Utc::now().timestamp();
            return secret
                .verify_jwt(client, &token, now)
                .map_err(|e| AppError::Forbidden(e.to_string()));
        }
        match query_param(req, "sig")? {
            Some(sig) if secret.verify(client, &sig) => Ok(()),
            Some(_) => Err(AppError::Forbidden(
                "the identity signature (sig) does not match this conversation".into(),
            )),
            None => Err(AppError::Forbidden(
                "this server verifies customer identity: open the chat from the website's link (it carries sig=… or jwt=…)".into(),
            )),
        }
    }

    /// Takes a token from the client's API bucket: a script posting messages
    /// is held to the same rate as a socket.
    pub fn take_api_token(&self, req: &HttpRequest) -> Result<(), AppError> {
        if self.api_rate.try_take(self.client_ip(req)) {
            return Ok(());
        }
        let (per_second, burst) = self.api_rate.limits();
        Err(AppError::RateLimited { per_second, burst })
    }

    /// The Content-Security-Policy of a page; only the customer page may be
    /// framed, and only by the allowed origins.
    pub fn csp(&self, embeddable: bool) -> String {
        let ancestors = if embeddable {
            std::iter::once("'self'".to_string())
                .chain(self.allowed_origins.iter().cloned())
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            "'none'".to_string()
        };
        csp_framed_by(&ancestors)
    }
}

/// The pages' Content-Security-Policy, framed only by `ancestors`.
pub fn csp_framed_by(ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         media-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors {ancestors}"
    )
}

/// The token a request presents: `Authorization: Bearer`, else the
/// `token` query parameter.
fn presented_token(req: &HttpRequest) -> Option<String> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    bearer.or_else(|| query_param(req, "token").ok().flatten())
}

/// The address in the last entry of an X-Forwarded-For line: `ip`,
/// `ip:port`, `[v6]` or `[v6]:port`, IPv4-mapped IPv6 as IPv4.
fn last_forwarded(line: &str) -> Option<IpAddr> {
    let entry = line.rsplit(',').next()?.trim();
    let ip = entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|a| a.ip()))
        .ok()
        .or_else(|| {
            let bracketed = entry.strip_prefix('[')?.strip_suffix(']')?;
            bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
        })?;
    Some(ip.to_canonical())
}

/// One query parameter; a malformed query string is a clear 400.
pub fn query_param(req: &HttpRequest, name: &str) -> Result<Option<String>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| AppError::BadRequest(format!("malformed query string: {e}")))?;
    Ok(pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v))
}

/// `agent` if an admin, else 403.
fn admin(agent: Agent) -> Result<Agent, AppError> {
    if agent.is_admin() {
        Ok(agent)
    } else {
        Err(AppError::Forbidden("only an admin may do this".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::last_forwarded;
    use std::net::IpAddr;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("test address"))
    }

    #[test]
    fn only_the_last_forwarded_entry_counts() {
        assert_eq!(last_forwarded("203.0.113.9"), ip("203.0.113.9"));
        assert_eq!(last_forwarded("127.0.0.1, 203.0.113.9"), ip("203.0.113.9"));
        assert_eq!(last_forwarded("127.0.0.1,2001:db8::1"), ip("2001:db8::1"));
    }

    #[test]
    fn forwarded_entries_may_carry_a_port() {
        assert_eq!(
            last_forwarded("127.0.0.1, 203.0.113.9:4444"),
            ip("203.0.113.9")
        );
        assert_eq!(last_forwarded("[2001:db8::1]:443"), ip("2001:db8::1"));
        assert_eq!(last_forwarded("[2001:db8::1]"), ip("2001:db8::1"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        assert_eq!(last_forwarded("::ffff:203.0.113.9"), ip("203.0.113.9"));
        assert_eq!(last_forwarded("[::ffff:203.0.113.9]:80"), ip("203.0.113.9"));
    }

    #[test]
    fn an_unparsable_last_entry_is_no_address() {
        for line in [
            "127.0.0.1, nonsense",
            "127.0.0.1, ",
            "127.0.0.1, unknown",
            "127.0.0.1, 203.0.113.9:port",
            "127.0.0.1, [203.0.113.9]",
            "",
        ] {
            assert_eq!(last_forwarded(line), None, "{line:?}");
        }
    }
}
