//! libgit2's transport for `https://` remotes: git's smart HTTP protocol over reqwest with
//! rustls, the TLS stack the API clients already use.
//!
//! libgit2 is built without its own HTTPS support, which would link OpenSSL and, in
//! `git_libgit2_init`, parse the system's whole CA bundle in every process, whatever the
//! remote. Here TLS is set up (and the system's roots read) when the first `https://`
//! connection opens, and never in a process that makes none. Certificates are checked against
//! the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` name others, as for OpenSSL), or,
//! as git does, only against the bundle that the `http.sslCAInfo` setting names (git's
//! `GIT_SSL_CAINFO` variable is not read).
//!
//! Each request of the stateless protocol is one HTTP request: libgit2 writes the request
//! body into the stream, then reads the answer, which is streamed from the socket as it
//! comes. A `401` is answered once with the credentials of the user's git credential
//! helper (as the credentials callback does for the other transports), then the operation
//! fails. A redirect of the first request is followed (to `https://` only, at most 5) and the
//! rest of the operation goes where it led. No proxy is used, as with libgit2's own
//! transports.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{Binding, CredentialHelper};

/// How many redirects the first request of an operation may follow.
const MAX_REDIRECTS: usize = 5;

/// Registers the transport for `https://` with libgit2, once per process. Every function
/// that opens a connection calls it first: libgit2 wants the registration done before any
/// transport is created.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `Once` runs this before any caller goes on to create a transport, and
        // every caller that creates one (`remote`, `fetch`) goes through here first.
        let registered = unsafe { git2::transport::register("https", factory) };
        if let Err(e) = registered {
            eprintln!("rebranch: cannot register the https transport: {}", e.message());
        }
    });
}

fn factory(remote: &git2::Remote<'_>) -> Result<Transport, git2::Error> {
    let url = remote.url().unwrap_or_default().to_string();
    let mut helper = CredentialHelper::new(&url);
    let config = owner_config(remote).or_else(|| git2::Config::open_default().ok());
    if let Some(config) = &config {
        helper.config(config);
    }
    let ca_file = config.and_then(|c| c.get_path("http.sslCAInfo").ok());
    let shared = Arc::new(Shared { helper, ca_file, state: Mutex::new(State::default()) });
    Transport::smart(remote, true, Subtransport { shared })
}

// In libgit2's API (remote.h) but not among libgit2-sys's bindings.
unsafe extern "C" {
    fn git_remote_owner(remote: *const libgit2_sys::git_remote)
    -> *mut libgit2_sys::git_repository;
}

/// The configuration of the repository that owns `remote` (a snapshot), if it has one.
fn owner_config(remote: &git2::Remote<'_>) -> Option<git2::Config> {
    // SAFETY: `git_remote_owner` returns the repository that outlives `remote` (or null);
    // the snapshot is a new object that the returned `Config` owns and frees.
    unsafe {
        let repo = git_remote_owner(remote.raw());
        if repo.is_null() {
            return None;
        }
        let mut config = std::ptr::null_mut();
        if libgit2_sys::git_repository_config_snapshot(&mut config, repo) != 0 {
            return None;
        }
        Some(git2::Config::from_raw(config))
    }
}

/// The HTTP client for the trust roots `ca_file` names (`None`: the system's), made at the
/// first `https://` connection that needs it and kept for the process.
fn client(ca_file: Option<&PathBuf>) -> io::Result<reqwest::blocking::Client> {
    type Clients = Vec<(Option<PathBuf>, reqwest::blocking::Client)>;
    static CLIENTS: Mutex<Clients> = Mutex::new(Vec::new());
    let mut clients = CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = clients.iter().find(|(f, _)| f.as_ref() == ca_file) {
        return Ok(c.clone());
    }
    // Another part of the process may have installed a provider already; either is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(30))
        .timeout(None)
        .user_agent(concat!("git/2.0 (rebranch/", env!("CARGO_PKG_VERSION"), ")"));
    if let Some(file) = ca_file {
        let cannot = |e: &dyn std::fmt::Display| {
            io::Error::other(format!("cannot read the CA bundle {}: {e}", file.display()))
        };
        let pem = std::fs::read(file).map_err(|e| cannot(&e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| cannot(&e))?;
        if certs.is_empty() {
            return Err(cannot(&"it holds no certificate"));
        }
        builder = builder.tls_certs_only(certs);
    }
    let made =
        builder.build().map_err(|e| io::Error::other(format!("cannot set up HTTPS: {e}")))?;
    clients.push((ca_file.cloned(), made.clone()));
    Ok(made)
}

/// What the requests of one connection share.
struct Shared {
    helper: CredentialHelper,
    /// The CA bundle that replaces the system's roots, if one is configured.
    ca_file: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Where the first request was redirected to: the repository's URL from then on.
    base: Option<String>,
    /// The credential helper's answer, once asked.
    auth: Option<(String, String)>,
    /// Whether the helper was asked already (it is asked once per connection).
    asked: bool,
}

struct Subtransport {
    shared: Arc<Shared>,
}

impl SmartSubtransport for Subtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        Ok(Box::new(Request {
            shared: Arc::clone(&self.shared),
            url: url.to_string(),
            service: action,
            body: Vec::new(),
            response: None,
        }))
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

/// One request of the protocol: its body is written, then its answer read.
struct Request {
    shared: Arc<Shared>,
    url: String,
    service: Service,
    body: Vec<u8>,
    response: Option<reqwest::blocking::Response>,
}

impl Request {
    fn names(&self) -> (&'static str, bool) {
        match self.service {
            Service::UploadPackLs => ("git-upload-pack", true),
            Service::UploadPack => ("git-upload-pack", false),
            Service::ReceivePackLs => ("git-receive-pack", true),
            Service::ReceivePack => ("git-receive-pack", false),
        }
    }

    fn send(&mut self) -> io::Result<reqwest::blocking::Response> {
        let client = client(self.shared.ca_file.as_ref())?;
        let (service, listing) = self.names();
        let base = {
            let state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.base.clone().unwrap_or_else(|| self.url.trim_end_matches('/').to_string())
        };
        let shown = super::redact_url(&base);
        let mut url = if listing {
            format!("{base}/info/refs?service={service}")
        } else {
            format!("{base}/{service}")
        };
        let mut redirects = 0;
        loop {
            let auth = self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).auth.clone();
            let mut request = if listing {
                client.get(&url).header("Accept", format!("application/x-{service}-advertisement"))
            } else {
                client
                    .post(&url)
                    .header("Content-Type", format!("application/x-{service}-request"))
                    .header("Accept", format!("application/x-{service}-result"))
                    .body(self.body.clone())
            };
            if let Some((user, password)) = &auth {
                request = request.basic_auth(user, Some(password));
            }
            // The URL is named redacted: reqwest's own text would carry any login in it.
            let response = request.send().map_err(|e| {
                let e = e.without_url();
                io::Error::other(format!("HTTPS request to {shown} failed: {}", error_chain(&e)))
            })?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED {
                if self.ask_helper() {
                    continue;
                }
                let why = if auth.is_some() { "were refused" } else { "were found" };
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "{shown} asks for credentials, and none {why}: set up a git credential helper for this remote"
                    ),
                ));
            }
            if status.is_redirection() && listing && redirects < MAX_REDIRECTS {
                let next = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| response.url().join(l).ok());
                if let Some(next) = next.filter(|n| n.scheme() == "https") {
                    redirects += 1;
                    url = next.to_string();
                    continue;
                }
                return Err(io::Error::other(format!(
                    "{shown} redirects to a place that is not https://; refused"
                )));
            }
            if !status.is_success() {
                return Err(io::Error::other(format!(
                    "{shown} answered HTTP {status} to {}",
                    if listing { "the ref listing" } else { service }
                )));
            }
            let kind = if listing { "advertisement" } else { "result" };
            let want = format!("application/x-{service}-{kind}");
            let got = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if got != want {
                return Err(io::Error::other(format!(
                    "{shown} is not a smart git HTTP server (Content-Type `{got}`, not `{want}`)"
                )));
            }
            if redirects > 0 {
                let landed = response.url().as_str();
                let suffix = format!("/info/refs?service={service}");
                if let Some(base) = landed.strip_suffix(&suffix) {
                    let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
                    state.base = Some(base.to_string());
                }
            }
            return Ok(response);
        }
    }

    /// Asks the credential helper, once per connection; whether there is something to try.
    fn ask_helper(&self) -> bool {
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.asked {
            return false;
        }
        state.asked = true;
        state.auth = self.shared.helper.execute();
        state.auth.is_some()
    }
}

impl Read for Request {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            let response = self.send()?;
            self.body = Vec::new();
            self.response = Some(response);
        }
        match self.response.as_mut() {
            Some(r) => r.read(buf),
            None => Ok(0),
        }
    }
}

impl Write for Request {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.response.is_some() {
            return Err(io::Error::other("a request was written to after its answer was read"));
        }
        self.body.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An error with its causes, which is where reqwest says what went wrong with TLS.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}
