//! A customer's contact details on their conversation: a name and an email
//! address, given in the pre-chat form, the offline form or by the website
//! (`identify`), and corrected by agents. Validated once, here.

use serde::{Deserialize, Deserializer, Serialize};

use super::Lang;

/// Longest accepted name, in characters.
pub const MAX_CONTACT_NAME_CHARS: usize = 100;
/// Longest accepted email address, in characters (RFC 5321's path limit).
pub const MAX_CONTACT_EMAIL_CHARS: usize = 254;

/// Why a contact detail was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidContact(pub String);

/// A person's name as they typed it (trimmed): 1 to 100 characters, no
/// control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactName(String);

impl ContactName {
    pub fn parse(raw: &str) -> Result<Self, InvalidContact> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_CONTACT_NAME_CHARS {
            return Err(InvalidContact(format!(
                "name must be 1 to {MAX_CONTACT_NAME_CHARS} characters"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidContact(
                "name must not contain control characters".into(),
            ));
        }
        Ok(ContactName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address good enough to answer to: `local@domain.tld`, no
/// spaces, quotes or angle brackets, at most 254 characters. The domain is
/// kept as typed but compared by nobody; we never send from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactEmail(String);

impl ContactEmail {
    pub fn parse(raw: &str) -> Result<Self, InvalidContact> {
        let email = raw.trim();
        let refuse = || {
            InvalidContact(format!(
                "email must be an address like name@example.com (at most {MAX_CONTACT_EMAIL_CHARS} characters)"
            ))
        };
        if email.chars().count() > MAX_CONTACT_EMAIL_CHARS {
            return Err(refuse());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(refuse)?;
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>\"(),;:[]\\@".contains(c);
        let domain_ok = domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
            && domain.contains('.')
            && !domain.chars().any(bad_char);
        if local.is_empty() || local.chars().any(bad_char) || !domain_ok {
            return Err(refuse());
        }
        Ok(ContactEmail(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The contact details a conversation has; any may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub name: Option<ContactName>,
    pub email: Option<ContactEmail>,
    /// The language of the customer's page when they gave their details:
    /// the one their emails speak.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    /// The customer asked for a transcript when the conversation is
    /// resolved (their page's checkbox).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub transcript: bool,
}

impl Contact {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.lang.is_none() && !self.transcript
    }

    /// A name and an email as stored: they were validated when written,
    /// so one that no longer parses (stricter rules since) is left out.
    pub fn from_stored(name: Option<String>, email: Option<String>) -> Contact {
        Contact {
            name: name.and_then(|n| ContactName::parse(&n).ok()),
            email: email.and_then(|e| ContactEmail::parse(&e).ok()),
            lang: None,
            transcript: false,
        }
    }

    /// The details after `update`; fields it does not mention stay.
    pub fn updated(&self, update: &ContactUpdate) -> Contact {
        Contact {
            name: update.name.clone().unwrap_or_else(|| self.name.clone()),
            email: update.email.clone().unwrap_or_else(|| self.email.clone()),
            lang: update.lang.or(self.lang),
            transcript: update.transcript.unwrap_or(self.transcript),
        }
    }
}

/// A change of contact details. Per field: absent (`None`) keeps it,
/// `null` or an empty string (`Some(None)`) clears it, text sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactUpdate {
    pub name: Option<Option<ContactName>>,
    pub email: Option<Option<ContactEmail>>,
    /// Only the customer's own page says it (never an agent's correction).
    pub lang: Option<Lang>,
    /// The transcript opt-in; also only the customer's own page says it.
    pub transcript: Option<bool>,
}

impl ContactUpdate {
    /// Validates the raw fields of a frame or request body.
    pub fn parse(
        name: Option<Option<String>>,
        email: Option<Option<String>>,
    ) -> Result<Self, InvalidContact> {
        if name.is_none() && email.is_none() {
            return Err(InvalidContact("give a name, an email, or both".into()));
        }
        fn field<T>(
            raw: Option<Option<String>>,
            parse: impl Fn(&str) -> Result<T, InvalidContact>,
        ) -> Result<Option<Option<T>>, InvalidContact> {
            Ok(match raw {
                None => None,
                Some(None) => Some(None),
                Some(Some(s)) if s.trim().is_empty() => Some(None),
                Some(Some(s)) => Some(Some(parse(&s)?)),
            })
        }
        Ok(ContactUpdate {
            name: field(name, ContactName::parse)?,
            email: field(email, ContactEmail::parse)?,
            lang: None,
            transcript: None,
        })
    }

    /// The update with what only the customer's page says: its language
    /// (if one we speak) and the transcript opt-in.
    pub fn from_customer(
        mut self,
        lang: Option<&str>,
        transcript: Option<bool>,
    ) -> Result<Self, InvalidContact> {
        self.transcript = transcript;
        if let Some(raw) = lang {
            self.lang = Some(
                Lang::parse(raw).ok_or_else(|| InvalidContact("lang must be en or zh".into()))?,
            );
        }
        Ok(self)
    }
}

/// For serde fields that tell "absent" (`None`, via `#[serde(default)]`)
/// from `null` (`Some(None)`).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ContactName::parse("  Ana  ").unwrap().as_str(), "Ana");
        assert!(ContactName::parse("   ").is_err());
        assert!(ContactName::parse(&"n".repeat(101)).is_err());
        assert!(ContactName::parse(&"名".repeat(100)).is_ok());
        assert!(ContactName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for good in ["ana@example.com", "a.b+tag@mail.example.co.uk", " x@y.io "] {
            assert!(ContactEmail::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana@ex ample.com",
            "a b@example.com",
            "ana@example..com",
            "<ana@example.com>",
            "ana@-x.com",
            "ana@exa\nmple.com",
        ] {
            assert!(ContactEmail::parse(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(ContactEmail::parse(&long).is_err());
    }

    #[test]
    fn an_update_keeps_what_it_does_not_mention_and_clears_on_empty() {
        let start = Contact {
            name: Some(ContactName::parse("Ana").unwrap()),
            email: Some(ContactEmail::parse("ana@example.com").unwrap()),
            lang: None,
            transcript: false,
        };
        let rename = ContactUpdate::parse(Some(Some("Bo".into())), None).unwrap();
        let renamed = start.updated(&rename);
        assert_eq!(renamed.name.unwrap().as_str(), "Bo");
        assert_eq!(renamed.email, start.email);
        let clear = ContactUpdate::parse(None, Some(Some(" ".into()))).unwrap();
        assert_eq!(start.updated(&clear).email, None);
        let clear = ContactUpdate::parse(Some(None), None).unwrap();
        assert_eq!(start.updated(&clear).name, None);
        assert!(ContactUpdate::parse(None, None).is_err());
        assert!(ContactUpdate::parse(None, Some(Some("nope".into()))).is_err());
    }
}
