//! Credentials: the agent token (and the session cookie derived from it) and
//! customer identity signatures. Pure functions over secrets; the HTTP layer
//! decides where the credentials come from.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::ClientId;

type HmacSha256 = Hmac<Sha256>;

/// How long an agent's login cookie stays valid.
pub const AGENT_SESSION_SECS: i64 = 30 * 24 * 3600;

/// The shared secret agents log in with.
#[derive(Clone)]
pub struct AgentToken(String);

impl AgentToken {
    pub fn new(token: String) -> Self {
        AgentToken(token)
    }

    /// A fresh random token (128 bits), for when none is configured.
    pub fn generate() -> Self {
        AgentToken(format!("{:032x}", rand::random::<u128>()))
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }

    /// The value of a login cookie valid until `expires` (unix seconds). It
    /// is derived from the token, so changing the token logs everyone out,
    /// and it never reveals the token itself.
    pub fn session_cookie(&self, expires: i64) -> String {
        format!(
            "v1.{expires}.{}",
            self.mac_hex(&format!("agent-session:{expires}"))
        )
    }

    /// Whether `value` is a login cookie of this token still valid at `now`.
    pub fn verify_session_cookie(&self, value: &str, now: i64) -> bool {
        let mut parts = value.splitn(3, '.');
        let (Some("v1"), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let Ok(expires) = expires.parse::<i64>() else {
            return false;
        };
        let Ok(mac) = hex::decode(mac) else {
            return false;
        };
        expires > now && verify(self.0.as_bytes(), &format!("agent-session:{expires}"), &mac)
    }

    fn mac_hex(&self, message: &str) -> String {
        sign(self.0.as_bytes(), message)
    }
}

/// The secret a website shares with us to prove who its customers are.
#[derive(Clone)]
pub struct IdentitySecret(String);

impl IdentitySecret {
    pub fn new(secret: String) -> Self {
        IdentitySecret(secret)
    }

    /// `hex(HMAC-SHA256(secret, client_id))`, what the website computes.
    #[cfg(test)]
    pub fn signature(&self, client: &ClientId) -> String {
        sign(self.0.as_bytes(), client.as_str())
    }

    /// Constant-time check of a presented `sig`.
    pub fn verify(&self, client: &ClientId, sig_hex: &str) -> bool {
        match hex::decode(sig_hex) {
            Ok(mac) => verify(self.0.as_bytes(), client.as_str(), &mac),
            Err(_) => false,
        }
    }
}

fn mac(key: &[u8], message: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key"); // ok: any length
    mac.update(message.as_bytes());
    mac
}

fn sign(key: &[u8], message: &str) -> String {
    hex::encode(mac(key, message).finalize().into_bytes())
}

fn verify(key: &[u8], message: &str, tag: &[u8]) -> bool {
    mac(key, message).verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookies_verify_only_for_their_token_and_until_expiry() {
        let token = AgentToken::new("s3cret".into());
        let cookie = token.session_cookie(1_000);
        assert!(token.verify_session_cookie(&cookie, 999));
        assert!(!token.verify_session_cookie(&cookie, 1_000));
        assert!(!AgentToken::new("other".into()).verify_session_cookie(&cookie, 0));
        assert!(!token.verify_session_cookie(&cookie.replace("v1.1000", "v1.9999"), 0));
        assert!(!token.verify_session_cookie("garbage", 0));
        assert!(!cookie.contains("s3cret"));
    }

    #[test]
    fn identity_signatures_are_hmac_sha256_hex() {
        let secret = IdentitySecret::new("key".into());
        let client = ClientId::parse("user-42").unwrap();
        let sig = secret.signature(&client);
        assert_eq!(sig.len(), 64);
        assert!(secret.verify(&client, &sig));
        assert!(!secret.verify(&ClientId::parse("user-43").unwrap(), &sig));
        assert!(!secret.verify(&client, "zz"));
    }

    #[test]
    fn tokens_compare_exactly() {
        let token = AgentToken::new("abc".into());
        assert!(token.matches("abc"));
        assert!(!token.matches("abd"));
        assert!(!token.matches("ab"));
        assert!(!token.matches(""));
    }
}
