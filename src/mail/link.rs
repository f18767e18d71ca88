//! Reopen links: `/r/<token>` takes a customer back to their conversation
//! from an email, on any device, until the token expires. The token is
//! `hex(client id).expiry.hex(HMAC-SHA256(key, …))` under a key the server
//! makes once and keeps in the database, so links survive restarts.

use rand::RngCore;

use crate::auth::{sign, verify};
use crate::domain::ClientId;
use crate::store::sql::params;
use crate::store::{Store, StoreError};

/// The HMAC key of reopen links.
pub struct ReopenKey(Vec<u8>);

/// Why a reopen link does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

impl ReopenKey {
    /// The stored key, made (32 random bytes) on first use.
    pub fn load_or_create(store: &Store) -> Result<ReopenKey, StoreError> {
        let mut fresh = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut fresh);
        store
            .write_sql_now(move |conn| {
                conn.execute(
                    "INSERT INTO server_secrets (name, value) VALUES ('reopen_link', ?1)
                     ON CONFLICT DO NOTHING",
                    params![&fresh],
                )?;
                conn.query_row(
                    "SELECT value FROM server_secrets WHERE name = 'reopen_link'",
                    params![],
                    |r| r.get(0),
                )
            })
            .map(ReopenKey)
    }

    /// A token for `client`, valid until `expires` (unix seconds).
    pub fn token(&self, client: &ClientId, expires: i64) -> String {
        let id = hex::encode(client.as_str());
        let mac = sign(&self.0, &signed(&id, expires));
        format!("{id}.{expires}.{mac}")
    }

    /// The conversation `token` opens at `now` (unix seconds).
    pub fn open(&self, token: &str, now: i64) -> Result<ClientId, LinkError> {
        let token = token.to_ascii_lowercase();
        let mut parts = token.split('.');
        let (Some(id), Some(expires), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let mac = hex::decode(mac).map_err(|_| LinkError::Invalid)?;
        if !verify(&self.0, &signed(id, expires), &mac) {
            return Err(LinkError::Invalid);
        }
        if now >= expires {
            return Err(LinkError::Expired);
        }
        let id = hex::decode(id).map_err(|_| LinkError::Invalid)?;
        let id = String::from_utf8(id).map_err(|_| LinkError::Invalid)?;
        ClientId::parse(&id).map_err(|_| LinkError::Invalid)
    }
}

/// What the MAC covers: a purpose, the id and the expiry.
fn signed(id: &str, expires: i64) -> String {
    format!("reopen:{id}:{expires}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_its_conversation_until_it_expires_and_refuses_forgeries() {
        let key = ReopenKey(b"0123456789abcdef0123456789abcdef".to_vec());
        let ana = ClientId::parse("ana").expect("id");
        let token = key.token(&ana, 1000);
        assert_eq!(key.open(&token, 999), Ok(ana.clone()));
        assert_eq!(key.open(&token, 1000), Err(LinkError::Expired));
        let later = token.replace(".1000.", ".9999.");
        assert_eq!(
            key.open(&later, 999),
            Err(LinkError::Invalid),
            "expiry is signed"
        );
        let other = ReopenKey(b"another key of thirty-two bytes!".to_vec());
        assert_eq!(other.open(&token, 999), Err(LinkError::Invalid));
        assert_eq!(key.open("garbage", 0), Err(LinkError::Invalid));
    }
}
