//! [`Secret`]: an API token that prints as `***` and is not serializable, so it cannot
//! reach output, a plan file or the journal by accident; only an `Authorization` header
//! sees it.

use std::fmt;

/// An API token.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a token (trimmed); `None` when it is empty or holds characters that cannot go
    /// in an HTTP header.
    pub fn new(value: impl Into<String>) -> Option<Self> {
        let value = value.into().trim().to_owned();
        let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic());
        ok.then_some(Self(value))
    }

    /// Returns the secret: for building the `Authorization` header (and redaction) only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_never_prints_and_refuses_what_a_header_cannot_carry() {
        let s = Secret::new("  tok_SENTINEL  ").unwrap();
        assert_eq!(s.expose(), "tok_SENTINEL");
        assert_eq!((format!("{s}"), format!("{s:?}")), ("***".to_string(), "***".to_string()));
        assert!(Secret::new("   ").is_none());
        assert!(Secret::new("a\nb").is_none());
    }
}
