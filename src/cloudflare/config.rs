//! Client configuration: the API base URL, the token and the account, read from the
//! environment through a lookup function so tests pass their own.

/// The public API's base URL, used when `CLOUDFLARE_API_BASE_URL` is unset.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// An API token: it never prints (see [`Secret`]).
pub use crate::http::Secret as Token;

/// A token from the environment: missing and malformed are told apart.
fn parse_token(value: &str) -> Result<Token, ConfigError> {
    if value.trim().is_empty() {
        return Err(ConfigError::MissingToken);
    }
    Token::new(value).ok_or(ConfigError::MalformedToken)
}

/// Where and as whom the client talks to the Pages API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Validated base URL, without a trailing slash.
    pub base_url: String,
    pub token: Token,
    /// `CLOUDFLARE_ACCOUNT_ID`; the plan's `cloudflare.account_id` may set or override it.
    pub account_id: Option<String>,
    /// Notices for the user (a deprecated variable name was used, …).
    pub warnings: Vec<String>,
}

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no Cloudflare API token: set CLOUDFLARE_API_TOKEN to a token with the \
         \"Account › Cloudflare Pages › Edit\" permission"
    )]
    MissingToken,
    #[error(
        "the Cloudflare API token contains characters that cannot be sent in an HTTP header \
         (spaces, non-ASCII such as a pasted \"…\"): copy the token again"
    )]
    MalformedToken,
    #[error("CLOUDFLARE_API_BASE_URL {url:?} is not usable: {reason}")]
    BadBaseUrl { url: String, reason: String },
    #[error(
        "no Cloudflare account id: set CLOUDFLARE_ACCOUNT_ID or --set cloudflare.account_id=ID \
         (the 32-character id in the dashboard's URL)"
    )]
    MissingAccount,
    #[error("account id {0:?} is not a Cloudflare account id (32 hexadecimal characters)")]
    BadAccount(String),
}

impl Config {
    /// Builds a configuration from explicit values, validating the URL and token.
    pub fn new(
        base_url: &str,
        token: Token,
        account_id: Option<String>,
    ) -> Result<Self, ConfigError> {
        Ok(Self { base_url: validate_base_url(base_url)?, token, account_id, warnings: Vec::new() })
    }

    /// Reads `CLOUDFLARE_API_BASE_URL`, `CLOUDFLARE_API_TOKEN` (or `CF_API_TOKEN`) and
    /// `CLOUDFLARE_ACCOUNT_ID` (or `CF_ACCOUNT_ID`) through `lookup`; empty values count as unset.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut warnings = Vec::new();
        let token = match (get("CLOUDFLARE_API_TOKEN"), get("CF_API_TOKEN")) {
            (Some(token), _) => token,
            (None, Some(token)) => {
                warnings.push(deprecated("CF_API_TOKEN", "CLOUDFLARE_API_TOKEN"));
                token
            }
            (None, None) => return Err(ConfigError::MissingToken),
        };
        let account_id = match (get("CLOUDFLARE_ACCOUNT_ID"), get("CF_ACCOUNT_ID")) {
            (Some(id), _) => Some(id.trim().to_owned()),
            (None, Some(id)) => {
                warnings.push(deprecated("CF_ACCOUNT_ID", "CLOUDFLARE_ACCOUNT_ID"));
                Some(id.trim().to_owned())
            }
            (None, None) => None,
        };
        let base = get("CLOUDFLARE_API_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let mut config = Self::new(base.trim(), parse_token(&token)?, account_id)?;
        config.warnings = warnings;
        Ok(config)
    }

    /// Returns the account id, or the error that tells the user how to set it.
    pub fn require_account(&self) -> Result<&str, ConfigError> {
        let id = self.account_id.as_deref().ok_or(ConfigError::MissingAccount)?;
        validate_account(id)?;
        Ok(id)
    }
}

/// Checks an account id's shape (the API says at most 32 characters; real ids are hex).
pub fn validate_account(id: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok { Ok(()) } else { Err(ConfigError::BadAccount(id.to_owned())) }
}

/// Accepts `https://` anywhere and `http://` only for a loopback host; returns the URL
/// without a trailing slash.
pub fn validate_base_url(url: &str) -> Result<String, ConfigError> {
    // The URL is echoed in the error: never with the credentials someone put in it.
    let bad = |reason: &str| ConfigError::BadBaseUrl {
        url: crate::git::redact_url(url),
        reason: reason.to_owned(),
    };
    crate::http::check_url(url).map_err(|reason| bad(&reason))
}

fn deprecated(old: &str, new: &str) -> String {
    format!("{old} is a deprecated name; set {new} instead")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn base_url_accepts_https_and_loopback_http_only() {
        assert!(validate_base_url("https://api.cloudflare.com/client/v4/").is_ok());
        assert!(validate_base_url("http://127.0.0.1:8080/client/v4").is_ok());
        assert!(validate_base_url("http://127.9.9.9").is_ok());
        assert!(validate_base_url("http://[::1]:9/x").is_ok());
        assert!(validate_base_url("http://LocalHost:1").is_ok());
        assert!(validate_base_url("http://example.com").is_err());
        assert!(validate_base_url("http://127.0.0.1@example.com").is_err());
        let err = validate_base_url("https://user:cfut_SECRET@api.example.com/v4").unwrap_err();
        assert!(!err.to_string().contains("cfut_SECRET"), "{err}");
        assert!(err.to_string().contains("***@api.example.com"), "{err}");
        assert!(validate_base_url("http://10.0.0.1").is_err());
        assert!(validate_base_url("ftp://127.0.0.1").is_err());
        assert!(validate_base_url("127.0.0.1").is_err());
        assert_eq!(validate_base_url("https://h/v4/").ok().as_deref(), Some("https://h/v4"));
    }

    #[test]
    fn from_env_prefers_canonical_names_and_warns_on_aliases() {
        let c = Config::from_env(env(&[("CF_API_TOKEN", "tok"), ("CF_ACCOUNT_ID", "abc")]));
        let c = c.expect("config");
        assert_eq!(c.token.expose(), "tok");
        assert_eq!(c.account_id.as_deref(), Some("abc"));
        assert_eq!(c.base_url, DEFAULT_BASE_URL);
        assert_eq!(c.warnings.len(), 2);
        let c = Config::from_env(env(&[("CLOUDFLARE_API_TOKEN", "a"), ("CF_API_TOKEN", "b")]));
        assert_eq!(c.expect("config").token.expose(), "a");
        assert_eq!(
            Config::from_env(env(&[("CLOUDFLARE_API_TOKEN", "")])),
            Err(ConfigError::MissingToken)
        );
        assert_eq!(
            Config::from_env(env(&[("CLOUDFLARE_API_TOKEN", "to…ken")])),
            Err(ConfigError::MalformedToken)
        );
    }

    #[test]
    fn token_never_prints() {
        let c = Config::from_env(env(&[("CLOUDFLARE_API_TOKEN", "sentinel-secret")]));
        let c = c.expect("config");
        assert!(!format!("{c:?} {}", c.token).contains("sentinel-secret"));
    }
}
