//! Where and as whom the GitHub client talks: the repository (from the remote's URL or the
//! plan's `github.repository`), the API base URL and the token, read from the environment
//! through a lookup function so tests pass their own.

use std::fmt;
use std::str::FromStr;

/// The public GitHub host.
pub const GITHUB_COM: &str = "github.com";
/// The public API's base URL.
pub const DEFAULT_API_BASE: &str = "https://api.github.com";

/// A repository on GitHub, `OWNER/NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for Repository {
    type Err = ConfigError;

    /// Parses `OWNER/NAME`: the owner is letters, digits and `-` (at most 39), the name
    /// letters, digits, `.`, `_` and `-` (at most 100, not `.` or `..`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ConfigError::BadRepository {
            value: s.to_owned(),
            reason: reason.to_owned(),
        };
        let (owner, name) = s.trim().split_once('/').ok_or_else(|| bad("expected OWNER/NAME"))?;
        let owner_ok = !owner.is_empty()
            && owner.len() <= 39
            && owner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !owner_ok {
            return Err(bad("the owner is 1 to 39 letters, digits or '-'"));
        }
        let name_ok = !name.is_empty()
            && name.len() <= 100
            && name != "."
            && name != ".."
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(bad("the name is 1 to 100 letters, digits, '.', '_' or '-'"));
        }
        Ok(Self { owner: owner.to_owned(), name: name.to_owned() })
    }
}

/// A GitHub token: it never prints (see [`Secret`]).
pub use crate::http::Secret as Token;

/// The client's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Validated API base URL, without a trailing slash.
    pub api_base: String,
    pub repository: Repository,
    pub token: Option<Token>,
    /// The variable the token came from (`GH_TOKEN`, …), for messages.
    pub token_source: Option<&'static str>,
}

/// A configuration that cannot be used; each message names the variable and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("GITHUB_API_URL {url:?} is not usable: {reason}; unset it or fix it")]
    BadApiUrl { url: String, reason: String },
    #[error(
        "GITHUB_SERVER_URL {url:?} is not usable: {reason}; set it to the server's address, \
         e.g. https://github.example.com, or unset it"
    )]
    BadServerUrl { url: String, reason: String },
    #[error(
        "github.repository {value:?} is not a GitHub repository: {reason}; set it with \
         --set github.repository=OWNER/NAME"
    )]
    BadRepository { value: String, reason: String },
    #[error(
        "{variable} holds characters that cannot be sent in an HTTP header (spaces, non-ASCII): \
         copy the token into {variable} again"
    )]
    MalformedToken { variable: &'static str },
}

impl Config {
    /// Derives the configuration.
    ///
    /// `remote_url`: the git remote's URL; `repository`: an explicit `OWNER/NAME` (plan
    /// variable `github.repository`) that wins. `Ok(None)` when the remote is not on GitHub
    /// (host github.com, or the host of `GITHUB_SERVER_URL`) and no repository was given.
    ///
    /// The API base is `GITHUB_API_URL` when set (https, or http to a loopback host; no
    /// credentials), else `https://api.github.com` for github.com, `https://api.SUB.ghe.com`
    /// for `SUB.ghe.com`, and `SERVER/api/v3` for a GitHub Enterprise Server.
    ///
    /// The token: `GH_TOKEN`, then `GITHUB_TOKEN`; on a GitHub Enterprise Server host first
    /// `GH_ENTERPRISE_TOKEN`, then `GITHUB_ENTERPRISE_TOKEN`. Empty counts as unset.
    pub fn from_env(
        remote_url: Option<&str>,
        repository: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Config>, ConfigError> {
        let get = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let server = match get("GITHUB_SERVER_URL") {
            Some(url) => Some(parse_server_url(url.trim())?),
            None => None,
        };
        let server_host = server.as_ref().map(|s| s.host.as_str());
        let from_remote = remote_url.and_then(|url| locate(url, server_host));
        let (host, repository) = match repository.map(str::trim).filter(|r| !r.is_empty()) {
            Some(explicit) => {
                let repo: Repository = explicit.parse()?;
                let host = match (&from_remote, server_host) {
                    (Some((host, _)), _) => host.clone(),
                    (None, Some(server)) => server.to_owned(),
                    (None, None) => GITHUB_COM.to_owned(),
                };
                (host, repo)
            }
            None => match from_remote {
                Some(found) => found,
                None => return Ok(None),
            },
        };
        let api_base = match get("GITHUB_API_URL") {
            Some(url) => validate_api_url(url.trim())?,
            None if host == GITHUB_COM => DEFAULT_API_BASE.to_owned(),
            None if is_ghe_com(&host) => format!("https://api.{host}"),
            None => match &server {
                Some(s) if s.host == host => validate_api_url(&format!("{}/api/v3", s.origin))
                    .map_err(|e| match e {
                        ConfigError::BadApiUrl { reason, .. } => {
                            ConfigError::BadServerUrl { url: s.origin.clone(), reason }
                        }
                        other => other,
                    })?,
                _ => format!("https://{host}/api/v3"),
            },
        };
        let enterprise = host != GITHUB_COM && !is_ghe_com(&host);
        let order: &[&'static str] = if enterprise {
            &["GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GH_TOKEN", "GITHUB_TOKEN"]
        } else {
            &["GH_TOKEN", "GITHUB_TOKEN"]
        };
        let mut token = None;
        let mut token_source = None;
        for &variable in order {
            if let Some(value) = get(variable) {
                token = Some(Token::new(value).ok_or(ConfigError::MalformedToken { variable })?);
                token_source = Some(variable);
                break;
            }
        }
        Ok(Some(Config { api_base, repository, token, token_source }))
    }
}

fn is_ghe_com(host: &str) -> bool {
    host.len() > ".ghe.com".len() && host.ends_with(".ghe.com")
}

struct Server {
    /// `scheme://authority`, no trailing slash.
    origin: String,
    /// Lowercase host name, no port.
    host: String,
}

fn parse_server_url(url: &str) -> Result<Server, ConfigError> {
    let bad = |reason: &str| ConfigError::BadServerUrl {
        url: crate::git::redact_url(url),
        reason: reason.to_owned(),
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("it has no scheme"))?;
    if !matches!(scheme.to_ascii_lowercase().as_str(), "https" | "http") {
        return Err(bad("the scheme must be https"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("credentials in the URL are not allowed"));
    }
    let host = host_without_port(authority).ok_or_else(|| bad("it has no host"))?;
    Ok(Server { origin: format!("{scheme}://{authority}"), host })
}

fn validate_api_url(url: &str) -> Result<String, ConfigError> {
    crate::cloudflare::validate_base_url(url).map_err(|e| match e {
        crate::cloudflare::ConfigError::BadBaseUrl { url, reason } => {
            ConfigError::BadApiUrl { url, reason }
        }
        other => {
            ConfigError::BadApiUrl { url: crate::git::redact_url(url), reason: other.to_string() }
        }
    })
}

fn host_without_port(authority: &str) -> Option<String> {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The repository a remote URL names, when its host is github.com, a GHE.com host
/// (`*.ghe.com`) or `extra_host` (the host of `GITHUB_SERVER_URL`; any port is ignored). Forms: `https://github.com/o/r(.git)(/)`,
/// `ssh://git@github.com/o/r.git`, `git@github.com:o/r.git`, `http(s)://user@host/o/r`.
pub fn repository_from_url(url: &str, extra_host: Option<&str>) -> Option<Repository> {
    locate(url, extra_host).map(|(_, repo)| repo)
}

/// The host (lowercase, no port) and repository of a GitHub remote URL.
fn locate(url: &str, extra_host: Option<&str>) -> Option<(String, Repository)> {
    let url = url.trim();
    let (host, path) = if let Some((scheme, rest)) = url.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if !matches!(scheme.as_str(), "https" | "http" | "ssh" | "git" | "git+ssh") {
            return None;
        }
        let (authority, path) = rest.split_once('/')?;
        let authority = authority.rsplit('@').next()?;
        (host_without_port(authority)?, path)
    } else {
        // scp-like: [user@]host:owner/name
        let (left, path) = url.split_once(':')?;
        if left.contains('/') || path.starts_with("//") {
            return None;
        }
        let host = left.rsplit('@').next()?;
        (host_without_port(host)?, path)
    };
    let on_github = host == GITHUB_COM
        || is_ghe_com(&host)
        || extra_host.is_some_and(|h| host_without_port(h).as_deref() == Some(host.as_str()));
    if !on_github {
        return None;
    }
    let path = path.split(['?', '#']).next()?.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let repo: Repository = path.parse().ok()?;
    Some((host, repo))
}
