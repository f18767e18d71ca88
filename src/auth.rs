//! Shared secrets: the service token (`--agent-token`) and customer
//! identity signatures. Pure functions over secrets; the HTTP layer decides
//! where the credentials come from. Agent accounts, sessions and their
//! tokens are in `accounts`.

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

#[cfg(test)]
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
