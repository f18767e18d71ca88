//! Who may do what, decided per request: the client's IP (behind a trusted
//! proxy, the one it forwarded), the Origin check that stops cross-site
//! WebSocket hijacking, agent credentials (cookie, bearer token or `token`
//! query parameter), customer identity signatures, and the security headers.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::auth::{AgentToken, IdentitySecret};
use crate::domain::{Agent, ClientId};
use crate::error::AppError;
use crate::limits::{IpLimits, KeyedBuckets};

/// Name of the agent's login cookie.
pub const AGENT_COOKIE: &str = "support_chat_agent";

/// How a request proved it comes from an agent.
enum Credential {
    Token,
    Cookie,
}

pub struct Security {
    pub agent_token: AgentToken,
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
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let own = format!("{}://{}", self.scheme(req), host);
        if origin.eq_ignore_ascii_case(&own) || self.allowed_origins.iter().any(|o| o == origin) {
            None
        } else {
            Some(format!(
                "origin {origin} is neither this server ({own}) nor an --allowed-origin"
            ))
        }
    }

    /// Whether the request carries valid agent credentials.
    pub fn is_agent(&self, req: &HttpRequest) -> bool {
        self.credential(req).is_some()
    }

    /// Which agent credential authenticates the request. A token (bearer or
    /// `token` query parameter) wins over the cookie: only the cookie is
    /// sent by the browser on its own, so only it needs the CSRF check.
    fn credential(&self, req: &HttpRequest) -> Option<Credential> {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let token_ok = match bearer {
            Some(token) => self.agent_token.matches(token.trim()),
            None => {
                matches!(query_param(req, "token"), Ok(Some(token)) if self.agent_token.matches(&token))
            }
        };
        if token_ok {
            return Some(Credential::Token);
        }
        let now = chrono::Utc::now().timestamp();
        req.cookie(AGENT_COOKIE)
            .filter(|cookie| self.agent_token.verify_session_cookie(cookie.value(), now))
            .map(|_| Credential::Cookie)
    }

    /// The agent a request that changes something acts as; with the
    /// cookie, the request must also come from this server's pages.
    pub fn require_agent_write(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        match self.credential(req) {
            Some(Credential::Token) => Ok(Agent::service()),
            Some(Credential::Cookie) => self.check_browser_write(req).map(|()| Agent::service()),
            None => Err(AppError::Unauthorized),
        }
    }

    /// The agent the request acts as, or 401.
    pub fn require_agent(&self, req: &HttpRequest) -> Result<Agent, AppError> {
        match self.credential(req) {
            Some(_) => Ok(Agent::service()),
            None => Err(AppError::Unauthorized),
        }
    }

    /// With an identity secret configured, the customer must present the
    /// website's signature of their id.
    pub fn require_customer(&self, req: &HttpRequest, client: &ClientId) -> Result<(), AppError> {
        let Some(secret) = &self.identity else {
            return Ok(());
        };
        match query_param(req, "sig")? {
            Some(sig) if secret.verify(client, &sig) => Ok(()),
            Some(_) => Err(AppError::Forbidden(
                "the identity signature (sig) does not match this conversation".into(),
            )),
            None => Err(AppError::Forbidden(
                "this server verifies customer identity: open the chat from the website's link (it carries sig=…)".into(),
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
        format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             media-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors {ancestors}"
        )
    }
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
