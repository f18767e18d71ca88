//! Passwords: the validated input, and argon2id hashes (the `argon2`
//! crate's defaults: 19 MiB, 2 passes). Hashing and checking take tens of
//! milliseconds of CPU on purpose; callers run them off the actor threads.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::AppError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in characters (a bound on request work).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A password that satisfies the length rules.
pub struct Password(String);

impl Password {
    pub fn parse(raw: String) -> Result<Password, AppError> {
        let chars = raw.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(AppError::BadRequest(format!(
                "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
            )));
        }
        Ok(Password(raw))
    }
}

/// The argon2id hash of `password`, in PHC string form (salt included).
pub fn hash(password: &Password) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| AppError::BadRequest(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::BadRequest(format!("password hashing failed: {e}")))
}

/// Whether `presented` matches `stored`. Without a stored hash (unknown
/// email, invite not yet accepted) it checks against a dummy hash anyway,
/// so the answer takes as long either way and says nothing about which
/// emails exist.
pub fn verify(stored: Option<&str>, presented: &str) -> bool {
    let dummy = dummy_hash();
    let (hash, real) = match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(hash) => (hash, true),
        None => match PasswordHash::new(dummy) {
            Ok(hash) => (hash, false),
            Err(_) => return false,
        },
    };
    let matches = Argon2::default()
        .verify_password(presented.as_bytes(), &hash)
        .is_ok();
    matches && real
}

/// A hash of a random password, with the parameters real hashes have.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash(&Password(hex::encode(rand::random::<[u8; 16]>()))).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_argon2id_hash() {
        let password = Password::parse("correct horse".into()).expect("long enough");
        let stored = hash(&password).expect("hash");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify(Some(&stored), "correct horse"));
        assert!(!verify(Some(&stored), "correct horsf"));
        assert!(!verify(None, "correct horse"));
        assert!(!verify(Some("not a hash"), "correct horse"));
    }

    #[test]
    fn passwords_have_a_length_rule() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
        assert!(Password::parse("ten chars!".into()).is_ok());
    }
}
