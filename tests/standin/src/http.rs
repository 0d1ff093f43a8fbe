//! A minimal HTTP/1.1 server side: read one request from a socket, write one response.
//! One request per connection (`Connection: close`), which every client handles.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// The largest head or body the stand-in reads.
const MAX_BYTES: usize = 1 << 20;

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The query's `key=value` pairs (no percent-decoding: the client sends plain values).
    pub fn query(&self) -> Vec<(&str, &str)> {
        self.target
            .split_once('?')
            .map(|(_, q)| q.split('&').filter_map(|kv| kv.split_once('=')).collect())
            .unwrap_or_default()
    }

    /// The text fields of a `multipart/form-data` body.
    pub fn form_fields(&self) -> Vec<(String, String)> {
        let Some(boundary) = self.header("content-type").and_then(boundary_of) else {
            return Vec::new();
        };
        let body = String::from_utf8_lossy(&self.body);
        let delimiter = format!("--{boundary}");
        body.split(delimiter.as_str()).filter_map(parse_part).collect()
    }
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Reads one request; `None` when the peer sent nothing usable.
pub fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let headers = read_headers(&mut reader)?;
    let mut request = Request { method, target, headers, body: Vec::new() };
    request.body = read_body(&mut reader, &request)?;
    Some(request)
}

/// Writes `response` and closes the write side.
pub fn write_response(mut stream: &TcpStream, response: &Response) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&response.body)?;
    stream.flush()?;
    stream.shutdown(std::net::Shutdown::Write)
}

fn read_headers(reader: &mut impl BufRead) -> Option<Vec<(String, String)>> {
    let mut headers = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        total += reader.read_line(&mut line).ok()?;
        if total > MAX_BYTES {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return Some(headers);
        }
        let (k, v) = line.split_once(':')?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
}

fn read_body(reader: &mut impl BufRead, request: &Request) -> Option<Vec<u8>> {
    let chunked =
        request.header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        return read_chunked(reader);
    }
    let length: usize = request.header("content-length").map_or(Some(0), |v| v.parse().ok())?;
    if length > MAX_BYTES {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}

fn read_chunked(reader: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).ok()?;
        let size_hex = size_line.trim().split(';').next()?;
        let size = usize::from_str_radix(size_hex, 16).ok()?;
        if body.len() + size > MAX_BYTES {
            return None;
        }
        if size == 0 {
            // Trailers (none expected) end with an empty line.
            read_headers(reader)?;
            return Some(body);
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        chunk.truncate(size);
        body.extend(chunk);
    }
}

fn boundary_of(content_type: &str) -> Option<String> {
    if !content_type.trim_start().starts_with("multipart/form-data") {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let value = p.trim().strip_prefix("boundary=")?;
        Some(value.trim_matches('"').to_owned())
    })
}

fn parse_part(part: &str) -> Option<(String, String)> {
    let part = part.strip_prefix("\r\n")?;
    let (head, value) = part.split_once("\r\n\r\n")?;
    let name = head
        .split(';')
        .find_map(|p| p.trim().strip_prefix("name="))?
        .split("\r\n")
        .next()?
        .trim_matches('"')
        .to_owned();
    let value = value.strip_suffix("\r\n").unwrap_or(value).to_owned();
    Some((name, value))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// A loopback server: an accept loop on its own thread, one thread per connection, each
/// handed to `serve`; it stops when dropped.
pub struct Server {
    addr: std::net::SocketAddr,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves each connection `listener` accepts with `serve`.
    pub fn start<S: Send + Sync + 'static>(
        listener: std::net::TcpListener,
        name: &str,
        shared: std::sync::Arc<S>,
        serve: fn(&S, &TcpStream),
    ) -> std::io::Result<Server> {
        use std::sync::atomic::{AtomicBool, Ordering};
        let addr = listener.local_addr()?;
        let stopping = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stopping);
        let conn = format!("{name}-conn");
        let accept = std::thread::Builder::new().name(name.to_owned()).spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let shared = std::sync::Arc::clone(&shared);
                let _ = std::thread::Builder::new()
                    .name(conn.clone())
                    .spawn(move || serve(&shared, &stream));
            }
        })?;
        Ok(Server { addr, stopping, accept: Some(accept) })
    }

    /// Where it listens.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the blocking accept so the loop sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, std::time::Duration::from_secs(1));
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}
