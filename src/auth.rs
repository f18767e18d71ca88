//! Shared secrets: the service token (`--agent-token`) and customer
//! identity signatures. Pure functions over secrets; the HTTP layer decides
//! where the credentials come from. Agent accounts, sessions and their
//! tokens are in `accounts`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::domain::ClientId;

type HmacSha256 = Hmac<Sha256>;

/// The service token scripts and bots use (`--agent-token`): it acts as
/// the built-in API agent.
#[derive(Clone)]
pub struct AgentToken(String);

impl AgentToken {
    pub fn new(token: String) -> Self {
        AgentToken(token)
    }

    /// Constant-time comparison with a presented token.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// The secret a website shares with us to prove who its customers are.
#[derive(Clone)]
pub struct IdentitySecret(String);

impl IdentitySecret {
    pub fn new(secret: String) -> Self {
        IdentitySecret(secret)
    }

    /// `hex(HMAC-SHA256(secret, client_id))`, what the website computes
    /// (and the reopen link of an email, for the page it leads to).
    pub fn signature(&self, client: &ClientId) -> String {
        sign(self.0.as_bytes(), client.as_str())
    }

    /// Checks a presented JWT: HS256 signed with this secret (any other
    /// `alg` is refused, `none` included), `sub` = the client id, `exp`
    /// required and not past at `now` (unix seconds; `nbf`, if present,
    /// reached). The reason for a refusal is said, never the token.
    pub fn verify_jwt(&self, client: &ClientId, token: &str, now: i64) -> Result<(), JwtError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| JwtError::Malformed)
        };
        let header: serde_json::Value =
            serde_json::from_slice(&decode(header)?).map_err(|_| JwtError::Malformed)?;
        if header["alg"] != "HS256" {
            return Err(JwtError::Algorithm);
        }
        let signed = &token[..token.len() - signature.len() - 1];
        if !verify(self.0.as_bytes(), signed, &decode(signature)?) {
            return Err(JwtError::Signature);
        }
        let claims: serde_json::Value =
            serde_json::from_slice(&decode(payload)?).map_err(|_| JwtError::Malformed)?;
        if claims["sub"].as_str() != Some(client.as_str()) {
            return Err(JwtError::Subject);
        }
        let exp = claims["exp"].as_f64().ok_or(JwtError::NoExpiry)?;
        if exp <= now as f64 {
            return Err(JwtError::Expired);
        }
        if claims["nbf"].as_f64().is_some_and(|nbf| nbf > now as f64) {
            return Err(JwtError::NotYetValid);
        }
        Ok(())
    }

    /// Constant-time check of a presented `sig`.
    pub fn verify(&self, client: &ClientId, sig_hex: &str) -> bool {
        match hex::decode(sig_hex) {
            Ok(mac) => verify(self.0.as_bytes(), client.as_str(), &mac),
            Err(_) => false,
        }
    }
}

/// Why a JWT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("the identity token (jwt) is not a JWT")]
    Malformed,
    #[error("the identity token (jwt) must be signed with HS256")]
    Algorithm,
    #[error("the identity token (jwt) is not signed with this server's identity secret")]
    Signature,
    #[error("the identity token (jwt) is for another customer (sub)")]
    Subject,
    #[error("the identity token (jwt) has no expiry (exp)")]
    NoExpiry,
    #[error("the identity token (jwt) has expired")]
    Expired,
    #[error("the identity token (jwt) is not valid yet (nbf)")]
    NotYetValid,
}

fn mac(key: &[u8], message: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key"); // ok: any length
    mac.update(message.as_bytes());
    mac
}

/// `hex(HMAC-SHA256(key, message))`.
pub fn sign(key: &[u8], message: &str) -> String {
    hex::encode(mac(key, message).finalize().into_bytes())
}

/// Constant-time check of `tag` = HMAC-SHA256(key, message).
pub fn verify(key: &[u8], message: &str, tag: &[u8]) -> bool {
    mac(key, message).verify_slice(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A JWT as a website makes one: HS256 over `header.claims`.
    fn jwt(key: &str, header: &str, claims: serde_json::Value) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = mac(key.as_bytes(), &signed).finalize().into_bytes();
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    #[test]
    fn identity_jwts_are_hs256_with_the_subject_and_an_expiry() {
        const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
        let secret = IdentitySecret::new("key".into());
        let client = ClientId::parse("user-42").unwrap();
        let now = 1_800_000_000;
        let claims = |sub: &str, exp: i64| serde_json::json!({"sub": sub, "exp": exp});
        let check = |token: &str| secret.verify_jwt(&client, token, now);
        assert_eq!(
            check(&jwt("key", HS256, claims("user-42", now + 60))),
            Ok(())
        );
        assert_eq!(
            check(&jwt("key", HS256, claims("user-42", now))),
            Err(JwtError::Expired)
        );
        assert_eq!(
            check(&jwt("other", HS256, claims("user-42", now + 60))),
            Err(JwtError::Signature)
        );
        assert_eq!(
            check(&jwt("key", HS256, claims("user-43", now + 60))),
            Err(JwtError::Subject)
        );
        assert_eq!(
            check(&jwt("key", HS256, serde_json::json!({"sub": "user-42"}))),
            Err(JwtError::NoExpiry)
        );
        let not_yet = serde_json::json!({"sub": "user-42", "exp": now + 60, "nbf": now + 30});
        assert_eq!(
            check(&jwt("key", HS256, not_yet)),
            Err(JwtError::NotYetValid)
        );
        let none = jwt("key", r#"{"alg":"none"}"#, claims("user-42", now + 60));
        assert_eq!(check(&none), Err(JwtError::Algorithm));
        let unsigned = format!("{}.", none.rsplit_once('.').unwrap().0);
        assert_eq!(check(&unsigned), Err(JwtError::Algorithm));
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**"] {
            assert_eq!(check(garbage), Err(JwtError::Malformed), "{garbage:?}");
        }
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
