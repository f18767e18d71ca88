//! The customer's language (the pages speak English and Simplified
//! Chinese): remembered per conversation so emails to them speak it too.

use serde::Serialize;

/// A language the pages and emails speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    /// `en` or `zh` (and regional forms such as `zh-CN`); anything else is
    /// not a language we speak.
    pub fn parse(raw: &str) -> Option<Lang> {
        let raw = raw.trim().to_ascii_lowercase();
        let primary = raw.split(['-', '_']).next().unwrap_or_default();
        match primary {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_with_regions_and_refuse_others() {
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::Zh));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(Lang::Zh.as_str()), Some(Lang::Zh));
    }
}
