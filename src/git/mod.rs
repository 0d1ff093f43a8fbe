//! Git access through git2: shared error type and small helpers. `remote` talks to the
//! remote; `local` edits local branches; `fetch` clones or refreshes a batch's clones;
//! `https` is libgit2's transport for `https://` remotes. Reading the repository's state for
//! planning is [`crate::observe`]'s job.

pub mod fetch;
pub mod https;
pub mod local;
pub mod remote;
pub mod tree;

use git2::Oid;

/// A git operation that failed, naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot {doing}: {message}")]
    Op { doing: String, message: String },
    #[error("there is no remote `{remote}` in this repository")]
    NoRemote { remote: String },
}

impl GitError {
    /// Wraps a git2 error with what was being done, for `map_err`.
    pub fn from_git(doing: &str) -> impl FnOnce(git2::Error) -> GitError + '_ {
        move |e| GitError::Op { doing: doing.to_string(), message: e.message().to_string() }
    }
}

/// The seven-character form used in human output.
pub fn short(oid: Oid) -> String {
    oid.to_string()[..7].to_string()
}

/// Parses a 40-hex object id as stored in plans and journals.
pub fn parse_oid(hex: &str) -> Result<Oid, GitError> {
    Oid::from_str(hex).ok().filter(|_| hex.len() == 40).ok_or_else(|| GitError::Op {
        doing: "read an object id".to_string(),
        message: format!("`{hex}` is not a 40-character hex object id"),
    })
}

/// Removes any user or password from a URL, so that tokens embedded in remote URLs
/// never reach output, plan files or journals.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme_end], &rest[at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_credentials() {
        assert_eq!(
            redact_url("https://x-access-token:ghp_secret@github.com/o/r.git"),
            "https://***@github.com/o/r.git"
        );
        assert_eq!(redact_url("git@github.com:o/r.git"), "git@github.com:o/r.git");
        assert_eq!(redact_url("/tmp/origin.git"), "/tmp/origin.git");
        assert_eq!(redact_url("https://h/a@b"), "https://h/a@b");
    }

    #[test]
    fn parse_oid_wants_full_length() {
        assert!(parse_oid("abc").is_err());
        assert!(parse_oid(&"a".repeat(40)).is_ok());
    }
}
