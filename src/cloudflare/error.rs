//! [`ApiError`]: what can go wrong in one API call, keeping Cloudflare's envelope, and
//! [`human_message`], which turns it into one sentence naming the project, the account and
//! the fix.

use serde::{Deserialize, Serialize};

use super::types::ApiMessage;
use crate::http::TransportErrorKind;

/// Project not found (HTTP 404).
pub const CODE_PROJECT_NOT_FOUND: i64 = 8000007;
/// Deployment id does not exist.
pub const CODE_DEPLOYMENT_NOT_FOUND: i64 = 8000009;
/// Pages "Authorization failed".
pub const CODE_PAGES_UNAUTHORIZED: i64 = 8000013;
/// Invalid list options (`page` / `per_page`).
pub const CODE_BAD_LIST_OPTIONS: i64 = 8000024;
/// `source` sent for a Direct Upload project.
pub const CODE_SOURCE_ON_DIRECT_UPLOAD: i64 = 8000069;
/// Authentication error: bad token or missing permission.
pub const CODE_AUTH: i64 = 10000;
/// Invalid access token.
pub const CODE_INVALID_TOKEN: i64 = 9109;
/// No route for the URI (usually a wrong account id).
pub const CODE_NO_ROUTE: i64 = 7003;
/// Invalid request headers (a malformed `Authorization`).
pub const CODE_BAD_HEADERS: i64 = 6003;

/// One failed API call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// No response: the connection failed or broke.
    #[error("{method} {url}: {message}")]
    Transport { method: String, url: String, kind: TransportErrorKind, message: String },
    /// No response in time; the server may have acted on the request.
    #[error("{method} {url}: no answer in time ({message})")]
    Timeout { method: String, url: String, message: String },
    /// An error status whose body is not the API's envelope.
    #[error("HTTP {code} from {url}: {body}")]
    Status { code: u16, url: String, body: String },
    /// The API answered with `success: false`.
    #[error("HTTP {status} from {url}: {}", list_errors(errors))]
    Api { status: u16, url: String, errors: Vec<ApiMessage>, messages: Vec<ApiMessage> },
    /// A 2xx answer that does not parse as expected.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    /// HTTP 429 asking to wait longer than the client will.
    #[error("rate limited at {url}: Retry-After {retry_after_secs}s exceeds the {cap_secs}s cap")]
    RateLimited { url: String, retry_after_secs: u64, cap_secs: u64 },
    /// A name or id that cannot be part of an API path; nothing was sent.
    #[error("{what} {value:?} is not valid: {reason}")]
    InvalidInput { what: String, value: String, reason: String },
    /// Retries ran out (attempts or the total deadline); `last` is the final failure.
    #[error("gave up after {attempts} attempts in {elapsed_ms} ms: {last}")]
    GaveUp { attempts: u32, elapsed_ms: u64, deadline_hit: bool, last: Box<ApiError> },
}

impl ApiError {
    /// Returns the failure behind any retry wrapper.
    pub fn root(&self) -> &ApiError {
        match self {
            ApiError::GaveUp { last, .. } => last.root(),
            other => other,
        }
    }

    /// Returns the first error code of the envelope, if any.
    pub fn code(&self) -> Option<i64> {
        match self.root() {
            ApiError::Api { errors, .. } => errors.first().map(|e| e.code),
            _ => None,
        }
    }

    /// Returns the HTTP status, if there was a response.
    pub fn http_status(&self) -> Option<u16> {
        match self.root() {
            ApiError::Api { status, .. } => Some(*status),
            ApiError::Status { code, .. } => Some(*code),
            ApiError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Tells whether the error says the project does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(CODE_PROJECT_NOT_FOUND)
    }

    /// Tells whether the token was refused (bad, expired or lacking permission).
    pub fn is_auth(&self) -> bool {
        matches!(self.code(), Some(CODE_AUTH | CODE_INVALID_TOKEN | CODE_PAGES_UNAUTHORIZED))
            || matches!(self.http_status(), Some(401 | 403))
    }

    /// Returns a copy with every occurrence of `secret` replaced by `***`.
    pub(crate) fn redacted(self, secret: &str) -> ApiError {
        if secret.is_empty() {
            return self;
        }
        let r = |s: String| s.replace(secret, "***");
        let rm = |m: Vec<ApiMessage>| m.into_iter().map(|m| redact_message(m, secret)).collect();
        match self {
            ApiError::Transport { method, url, kind, message } => {
                ApiError::Transport { method, url: r(url), kind, message: r(message) }
            }
            ApiError::Timeout { method, url, message } => {
                ApiError::Timeout { method, url: r(url), message: r(message) }
            }
            ApiError::Status { code, url, body } => {
                ApiError::Status { code, url: r(url), body: r(body) }
            }
            ApiError::Api { status, url, errors, messages } => {
                ApiError::Api { status, url: r(url), errors: rm(errors), messages: rm(messages) }
            }
            ApiError::Decode { url, message } => {
                ApiError::Decode { url: r(url), message: r(message) }
            }
            ApiError::RateLimited { url, retry_after_secs, cap_secs } => {
                ApiError::RateLimited { url: r(url), retry_after_secs, cap_secs }
            }
            ApiError::InvalidInput { what, value, reason } => {
                ApiError::InvalidInput { what, value: r(value), reason }
            }
            ApiError::GaveUp { attempts, elapsed_ms, deadline_hit, last } => ApiError::GaveUp {
                attempts,
                elapsed_ms,
                deadline_hit,
                last: Box::new(last.redacted(secret)),
            },
        }
    }
}

/// What the failed call was about, for the human message.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ErrorContext {
    pub account: String,
    pub project: Option<String>,
    /// What was being done, e.g. "read the project" or "switch the production branch".
    pub action: String,
    /// Whether the call needed write access (PATCH, POST).
    pub write: bool,
    /// Project names in the account, when known (after a not-found, say).
    pub known_projects: Vec<String>,
}

impl ErrorContext {
    /// A context for `action` on `project` in `account`.
    pub fn new(account: &str, project: &str, action: &str, write: bool) -> Self {
        Self {
            account: account.to_owned(),
            project: Some(project.to_owned()),
            action: action.to_owned(),
            write,
            known_projects: Vec::new(),
        }
    }
}

/// Turns an error into one message that names the project, the account and the fix.
pub fn human_message(err: &ApiError, ctx: &ErrorContext) -> String {
    let what = subject(ctx);
    let detail = match err.root() {
        ApiError::Api { .. } => code_message(err, ctx),
        ApiError::Status { code, url, body } => status_message(*code, url, body),
        ApiError::RateLimited { retry_after_secs, cap_secs, .. } => format!(
            "the Cloudflare API is rate limiting this user (HTTP 429) and asks to wait \
             {retry_after_secs}s, more than the {cap_secs}s rebranch waits: another tool may be \
             spending the same user's budget (1200 requests per 5 minutes); wait, then run the \
             command again"
        ),
        ApiError::Transport { url, message, .. } => format!(
            "could not reach the Cloudflare API ({url}): {message}; check the network or proxy, \
             or CLOUDFLARE_API_BASE_URL"
        ),
        ApiError::Timeout { url, .. } => format!(
            "the Cloudflare API did not answer in time ({url}); check the network, or try again \
             later"
        ),
        ApiError::Decode { url, message } => format!(
            "the answer from {url} was not what the Pages API returns ({message}); check \
             CLOUDFLARE_API_BASE_URL"
        ),
        ApiError::InvalidInput { .. } => err.root().to_string(),
        ApiError::GaveUp { .. } => String::new(),
    };
    let retry_note = match err {
        ApiError::GaveUp { attempts, elapsed_ms, deadline_hit, .. } => {
            let why = if *deadline_hit { "the time limit ran out" } else { "no attempts left" };
            format!(
                " (gave up after {attempts} attempts over {:.1}s: {why}; a PATCH or GET may be \
                 run again safely)",
                *elapsed_ms as f64 / 1000.0
            )
        }
        _ => String::new(),
    };
    format!("could not {what}: {detail}{retry_note}")
}

fn subject(ctx: &ErrorContext) -> String {
    let action = if ctx.action.is_empty() { "call the Pages API" } else { &ctx.action };
    match &ctx.project {
        Some(p) => format!("{action} for Pages project \"{p}\" in account {}", ctx.account),
        None => format!("{action} in account {}", ctx.account),
    }
}

fn code_message(err: &ApiError, ctx: &ErrorContext) -> String {
    let project = ctx.project.as_deref().unwrap_or("?");
    let account = &ctx.account;
    match (err.code(), err.http_status()) {
        (Some(CODE_PROJECT_NOT_FOUND), _) => not_found_message(project, account, ctx),
        (Some(CODE_AUTH | CODE_INVALID_TOKEN | CODE_PAGES_UNAUTHORIZED), _)
        | (_, Some(401 | 403)) => auth_message(ctx.write),
        (Some(CODE_SOURCE_ON_DIRECT_UPLOAD), _) => format!(
            "\"{project}\" is a Direct Upload project, and the API refuses any `source` change on \
             it (8000069); only production_branch can be changed there. Re-run `rebranch plan` so \
             the step is planned for a Direct Upload project"
        ),
        (Some(CODE_BAD_LIST_OPTIONS), _) => format!(
            "the API refused the list's page/per_page options (8000024): {}; the deployments \
             list takes at most 25 per page",
            first_text(err)
        ),
        (Some(CODE_NO_ROUTE), _) => format!(
            "the API has no such route (7003): the account id {account} is probably wrong; check \
             CLOUDFLARE_ACCOUNT_ID or --set cloudflare.account_id"
        ),
        (Some(CODE_BAD_HEADERS), _) => "the API refused the request headers (6003): the token is \
             malformed; copy it again into CLOUDFLARE_API_TOKEN"
            .to_owned(),
        (Some(CODE_DEPLOYMENT_NOT_FOUND), _) => format!(
            "the deployment does not exist in \"{project}\" any more (8000009): it may have been \
             deleted; check the project's deployments in the dashboard"
        ),
        (_, Some(429)) => "the Cloudflare API is rate limiting this user (HTTP 429) and retries \
             ran out: another tool may be using the same user's budget; wait 5 minutes, then run \
             the command again"
            .to_owned(),
        (_, Some(s)) if s >= 500 => format!(
            "Cloudflare answered HTTP {s} ({}): the API is failing; try again later",
            first_text(err)
        ),
        _ => format!("the API answered {}", first_text(err)),
    }
}

fn not_found_message(project: &str, account: &str, ctx: &ErrorContext) -> String {
    let mut msg = format!(
        "there is no such Pages project (8000007): check the name \"{project}\" (the project's \
         name, not its *.pages.dev subdomain) and the account id {account} \
         (CLOUDFLARE_ACCOUNT_ID or --set cloudflare.account_id); a Workers project is not a \
         Pages project"
    );
    if !ctx.known_projects.is_empty() {
        msg.push_str(&format!(
            ". Pages projects in this account: {}",
            ctx.known_projects.join(", ")
        ));
    }
    msg
}

fn auth_message(write: bool) -> String {
    let needed = if write {
        "the \"Account › Cloudflare Pages › Edit\" permission (a token with only Pages Read can \
         read the project but not change it)"
    } else {
        "the \"Account › Cloudflare Pages › Read\" permission (Edit is needed to apply)"
    };
    format!(
        "the API token was refused: it is invalid or expired, or it lacks {needed}; create a \
         token with \"Account › Cloudflare Pages › Edit\" for this account and set \
         CLOUDFLARE_API_TOKEN"
    )
}

fn status_message(code: u16, url: &str, body: &str) -> String {
    let snippet: String = body.chars().take(200).collect();
    match code {
        301 | 302 | 307 | 308 => format!(
            "the API answered a redirect (HTTP {code}) from {url}, which rebranch does not follow; \
             check CLOUDFLARE_API_BASE_URL"
        ),
        429 => "the Cloudflare API is rate limiting this user (HTTP 429); wait 5 minutes, then \
                run the command again"
            .to_owned(),
        c if c >= 500 => {
            format!("Cloudflare answered HTTP {c} from {url}: the API is failing; try again later")
        }
        _ => format!("unexpected HTTP {code} from {url}: {snippet}"),
    }
}

fn first_text(err: &ApiError) -> String {
    match err.root() {
        ApiError::Api { errors, .. } => list_errors(errors),
        other => other.to_string(),
    }
}

fn list_errors(errors: &[ApiMessage]) -> String {
    if errors.is_empty() {
        return "no error detail".to_owned();
    }
    errors.iter().map(|e| format!("{} {}", e.code, e.message)).collect::<Vec<_>>().join("; ")
}

fn redact_message(m: ApiMessage, secret: &str) -> ApiMessage {
    ApiMessage {
        code: m.code,
        message: m.message.replace(secret, "***"),
        documentation_url: m.documentation_url,
        error_chain: m.error_chain.into_iter().map(|c| redact_message(c, secret)).collect(),
    }
}
