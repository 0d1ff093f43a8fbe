//! A loopback smart-HTTP git server over TLS: `git http-backend` (the real server side,
//! with receive-pack's old-value check and hooks) behind a small rustls server whose
//! certificate is signed by the test CA in `fixtures/tls/` (a test-only key). Clients trust
//! it through `http.sslCAInfo` in the clone's config, the setting git itself reads.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Served {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Whether it carried an Authorization header.
    pub authorized: bool,
}

pub struct HttpsGit {
    pub port: u16,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Served>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The test CA that signed the server's certificate.
pub fn ca_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls/ca.pem")
}

impl HttpsGit {
    /// Serves the repositories under `base`. With `login`, every request must carry those
    /// Basic credentials (a `401` asks for them), and pushes are allowed as that user.
    pub fn serve(base: &Path, login: Option<(&str, &str)>) -> HttpsGit {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(tls.join("server.pem"))
                .expect("server.pem")
                .collect::<Result<_, _>>()
                .expect("certificates");
        let key = PrivateKeyDer::from_pem_file(tls.join("server.key")).expect("server.key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server TLS config");
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let base = base.to_path_buf();
        let login = login.map(|(u, p)| (u.to_string(), basic(u, p)));
        let thread = {
            let (stop, log) = (Arc::clone(&stop), Arc::clone(&log));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (config, log, base, login) =
                        (Arc::clone(&config), Arc::clone(&log), base.clone(), login.clone());
                    std::thread::spawn(move || {
                        let conn = rustls::ServerConnection::new(config).unwrap();
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        if let Some(served) = handle(&mut tls, &base, login.as_ref()) {
                            log.lock().unwrap().push(served);
                        }
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    });
                }
            })
        };
        HttpsGit { port, stop, log, thread: Some(thread) }
    }

    pub fn url(&self, name: &str) -> String {
        format!("https://127.0.0.1:{}/{name}", self.port)
    }

    /// The requests answered so far.
    pub fn served(&self) -> Vec<Served> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for HttpsGit {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request (the connection closes after it) through `git http-backend`.
fn handle(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    base: &Path,
    login: Option<&(String, String)>,
) -> Option<Served> {
    let mut reader = BufReader::new(tls);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let tls = reader.into_inner();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let authorized = header("authorization").is_some();
    let mut served = Served { method: method.clone(), path: target.clone(), status: 0, authorized };

    if let Some((_, want)) = login
        && header("authorization").as_deref() != Some(want.as_str())
    {
        served.status = 401;
        let _ = tls.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return Some(served);
    }

    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", base)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", base)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .env("CONTENT_LENGTH", length.to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some((user, _)) = login {
        cmd.env("REMOTE_USER", user);
    }
    let mut child = cmd.spawn().expect("start git http-backend");
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output().expect("git http-backend");
    let _ = feeder.join();
    let out = output.stdout;
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let split = split.or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, body) = match split {
        Some((i, n)) => (String::from_utf8_lossy(&out[..i]).into_owned(), &out[i + n..]),
        None => (String::new(), &out[..]),
    };
    let mut status = 200;
    let mut response_headers = String::new();
    for h in head.lines() {
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => {
                status = v.split_whitespace().next()?.parse().ok()?;
            }
            Some(_) => {
                response_headers.push_str(h);
                response_headers.push_str("\r\n");
            }
            None => {}
        }
    }
    served.status = status;
    let head = format!(
        "HTTP/1.1 {status} X\r\n{response_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).ok()?;
    tls.write_all(body).ok()?;
    Some(served)
}

/// The `Authorization` header value of Basic credentials.
fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let input = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn basic_matches_rfc_7617() {
    assert_eq!(basic("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    assert_eq!(basic("u", "p"), "Basic dTpw");
}
