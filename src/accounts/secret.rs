//! Random secrets handed out once (session ids, API tokens, invite and setup
//! codes) and the digest the database keeps instead of them.
//!
//! A secret is 256 random bits, so its plain SHA-256 is enough to keep it:
//! nobody can search a space that large, and unlike a password hash it is
//! cheap enough to check on every request. Looking a digest up by index is
//! not a timing leak either: learning a digest's prefix tells nothing about
//! a secret that hashes to it.

use sha2::{Digest, Sha256};

/// What the database keeps of a secret.
pub type SecretDigest = [u8; 32];

/// A freshly generated secret, as the text its owner receives.
pub struct Secret(String);

impl Secret {
    /// 256 random bits as 64 hex digits (safe in URLs, cookies and headers).
    pub fn generate() -> Secret {
        Secret(hex::encode(rand::random::<[u8; 32]>()))
    }

    pub fn reveal(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    pub fn digest(&self) -> SecretDigest {
        digest(&self.0)
    }
}

/// The digest of a presented secret, to look it up.
pub fn digest(presented: &str) -> SecretDigest {
    Sha256::digest(presented.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_random_bits_kept_as_their_sha256() {
        let a = Secret::generate();
        let b = Secret::generate();
        assert_eq!(a.reveal().len(), 64);
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(a.digest(), digest(a.reveal()));
        assert_ne!(a.digest(), b.digest());
    }
}
