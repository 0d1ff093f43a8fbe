//! [`ReqwestTransport`]: the [`Transport`] over reqwest's blocking client with rustls (ring).
//!
//! The only file that names reqwest. Redirects are off: a redirect from the API is an
//! answer to report, not to follow (a followed redirect could carry the token elsewhere).

use std::time::Duration;

use super::{
    Body, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};

/// Timeouts for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportOptions {
    pub connect_timeout: Duration,
    /// The whole request, from connect to the last body byte.
    pub timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(10), timeout: Duration::from_secs(30) }
    }
}

/// Sends requests with reqwest's blocking client.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::blocking::Client,
}

impl ReqwestTransport {
    /// Builds the client: rustls with the ring provider, no redirects, the given timeouts and
    /// a `rebranch/<version>` User-Agent.
    pub fn new(options: TransportOptions) -> Result<Self, TransportError> {
        // Another part of the process may have installed a provider already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(concat!("rebranch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))?;
        Ok(Self { client })
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.client.request(method, &req.url);
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        builder = match req.body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(&value),
            Body::Multipart(fields) => {
                let form = fields
                    .into_iter()
                    .fold(reqwest::blocking::multipart::Form::new(), |f, (k, v)| f.text(k, v));
                builder.multipart(form)
            }
        };
        let response = builder.send().map_err(classify)?;
        read_response(response)
    }
}

fn read_response(response: reqwest::blocking::Response) -> Result<HttpResponse, TransportError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let body = response.bytes().map_err(classify)?.to_vec();
    Ok(HttpResponse { status, headers, body })
}

fn classify(error: reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    // Walk the source chain: reqwest's top-level text alone ("error sending request") hides
    // the cause the user needs (refused, DNS, TLS).
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    TransportError::new(kind, message)
}
