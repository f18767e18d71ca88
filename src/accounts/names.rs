//! What an account is called: its login email and its display name, both
//! validated when they come in.

use serde::Serialize;

use crate::error::AppError;

/// Longest email (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// A login email, trimmed and lowercased: emails are unique regardless of
/// case (the column also compares with `NOCASE`, which folds only ASCII).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, AppError> {
        let email = raw.trim().to_lowercase();
        let valid = email.chars().count() <= MAX_EMAIL_CHARS
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if valid {
            Ok(Email(email))
        } else {
            Err(AppError::BadRequest(format!(
                "an email looks like name@example.com (at most {MAX_EMAIL_CHARS} characters)"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name colleagues and customers see on an agent's messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<DisplayName, AppError> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!(
                "a name has 1 to {MAX_NAME_CHARS} characters, without control characters"
            )));
        }
        Ok(DisplayName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_need_one_at() {
        assert_eq!(
            Email::parse("  Ann@Example.COM ").expect("valid").as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            DisplayName::parse(" 李雷 ").expect("valid").as_str(),
            "李雷"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\nb").is_err());
        assert!(DisplayName::parse(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
