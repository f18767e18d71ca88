//! Client ids: the name of a customer, and so of their one conversation,
//! validated once where it enters (a URL or a frame).

use std::fmt;

use serde::{Serialize, Serializer};

/// Longest accepted client id, in characters.
pub const MAX_CLIENT_ID_LEN: usize = 64;
/// Longest accepted client-generated message id, in characters.
pub const MAX_MESSAGE_ID_LEN: usize = 64;

/// A client id that is not 1 to `MAX_CLIENT_ID_LEN` characters of
/// `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid client id: use 1 to {MAX_CLIENT_ID_LEN} characters of A-Z a-z 0-9 _ -")]
pub struct InvalidClientId;

/// The id of a customer, and so of their one conversation.
///
/// 1 to 64 characters of `A-Z a-z 0-9 _ -`. Compared exactly: `1` and `01`
/// are different customers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(String);

impl ClientId {
    /// Validates a client id taken from a URL or a frame.
    pub fn parse(raw: &str) -> Result<Self, InvalidClientId> {
        let ok_len = (1..=MAX_CLIENT_ID_LEN).contains(&raw.len());
        let ok_chars = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok_len && ok_chars {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidClientId)
        }
    }

    /// A fresh unguessable id: 128 random bits, URL-safe (32 hex digits).
    pub fn random() -> Self {
        let bits: u128 = rand::random();
        Self(format!("{bits:032x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ClientId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn client_ids_are_validated_exactly() {
        assert!(ClientId::parse("abc-DEF_123").is_ok());
        assert!(ClientId::parse(&"a".repeat(64)).is_ok());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a b").is_err());
        assert!(ClientId::parse("é").is_err());
        assert!(ClientId::parse("../x").is_err());
        assert_ne!(
            ClientId::parse("1").unwrap(),
            ClientId::parse("01").unwrap()
        );
    }

    #[test]
    fn random_ids_are_valid_and_distinct() {
        let a = ClientId::random();
        let b = ClientId::random();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(ClientId::parse(a.as_str()).is_ok());
    }
}
