//! [`ApiError`]: one failed GitHub API call, typed by what the caller does about it. Each
//! message is one line naming the request (`METHOD /path`, never the token) and the fix.

use crate::http::TransportError;

/// One failed call. `request` is `METHOD /path?query` relative to the API base.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 401: no token, or a bad or expired one.
    #[error(
        "{request}: GitHub refused the credentials (401 {message}); set GH_TOKEN (or \
         GITHUB_TOKEN; GH_ENTERPRISE_TOKEN for GitHub Enterprise Server) to a valid token"
    )]
    Unauthorized { request: String, message: String },
    /// 403 that is not a rate limit: the token lacks a permission.
    #[error(
        "{request}: forbidden (403 {message}){}; use a token with admin or write access to \
         the repository",
        accepted_permissions.as_ref().map(|p| format!("; the token needs: {p}")).unwrap_or_default()
    )]
    Forbidden { request: String, message: String, accepted_permissions: Option<String> },
    /// 404: missing, or invisible to this token (GitHub hides private repositories).
    #[error(
        "{request}: not found (404 {message}); check the repository and branch names, and \
         that the token can see the repository (GitHub also answers 404 to a write that needs \
         admin rights the token lacks)"
    )]
    NotFound { request: String, message: String },
    /// 301: renamed or transferred; redirects are not followed.
    #[error(
        "{request}: moved permanently (301) to {}; the repository or branch was renamed: \
         use its new name",
        location.as_deref().unwrap_or("an unnamed location")
    )]
    Moved { request: String, location: Option<String> },
    /// 422 (and 400/409): the request was refused as it is.
    #[error("{request}: refused (HTTP {status} {message}{}); the current state may already differ from the plan: run `rebranch plan` again",
        if errors.is_empty() { String::new() } else { format!(": {}", errors.join("; ")) })]
    Validation { request: String, status: u16, message: String, errors: Vec<String> },
    /// A primary or secondary rate limit that retries did not outlast.
    #[error(
        "{request}: rate limited (HTTP {status} {message}){}; wait, then run the command again \
         (another tool may share the token's budget)",
        reset.map(|r| format!(", resets at {}", crate::time::format_rfc3339(i64::try_from(r).unwrap_or(i64::MAX).saturating_mul(1000)))).unwrap_or_default()
    )]
    RateLimited { request: String, status: u16, reset: Option<u64>, message: String },
    /// 5xx, or any other unexpected status.
    #[error("{request}: GitHub answered HTTP {status} ({message}); try again later")]
    Server { request: String, status: u16, message: String },
    /// No response; the message starts with the request.
    #[error("{0}; check the network, a proxy, or GITHUB_API_URL")]
    Transport(TransportError),
    /// A success whose body is not what the endpoint returns.
    #[error("{what}: unexpected answer ({message}); check that GITHUB_API_URL is a GitHub API")]
    Decode { what: String, message: String },
}

impl ApiError {
    /// The HTTP status, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Unauthorized { .. } => Some(401),
            ApiError::Forbidden { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Moved { .. } => Some(301),
            ApiError::Validation { status, .. }
            | ApiError::RateLimited { status, .. }
            | ApiError::Server { status, .. } => Some(*status),
            ApiError::Transport(_) | ApiError::Decode { .. } => None,
        }
    }

    /// 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::NotFound { .. })
    }

    /// 403 for a missing permission (not a rate limit).
    pub fn is_forbidden(&self) -> bool {
        matches!(self, ApiError::Forbidden { .. })
    }

    /// Tells whether the error is a rate limit.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. })
    }

    /// Returns a copy with every occurrence of `secret` replaced by `***`.
    pub(crate) fn redacted(self, secret: &str) -> ApiError {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| s.replace(secret, "***");
        match self {
            ApiError::Unauthorized { request, message } => {
                ApiError::Unauthorized { request: r(request), message: r(message) }
            }
            ApiError::Forbidden { request, message, accepted_permissions } => ApiError::Forbidden {
                request: r(request),
                message: r(message),
                accepted_permissions: accepted_permissions.map(r),
            },
            ApiError::NotFound { request, message } => {
                ApiError::NotFound { request: r(request), message: r(message) }
            }
            ApiError::Moved { request, location } => {
                ApiError::Moved { request: r(request), location: location.map(r) }
            }
            ApiError::Validation { request, status, message, errors } => ApiError::Validation {
                request: r(request),
                status,
                message: r(message),
                errors: errors.into_iter().map(r).collect(),
            },
            ApiError::RateLimited { request, status, reset, message } => {
                ApiError::RateLimited { request: r(request), status, reset, message: r(message) }
            }
            ApiError::Server { request, status, message } => {
                ApiError::Server { request: r(request), status, message: r(message) }
            }
            ApiError::Transport(e) => {
                ApiError::Transport(TransportError::new(e.kind, r(e.message)))
            }
            ApiError::Decode { what, message } => {
                ApiError::Decode { what: r(what), message: r(message) }
            }
        }
    }
}
