//! Which URLs the clients and the served-file check may talk to, and the unauthenticated GET
//! of a site's file.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::{Body, HttpRequest, Method, ReqwestTransport, Transport, TransportOptions};

/// Accepts `https://` anywhere and `http://` only for a loopback host, without credentials,
/// query or fragment; returns the URL without a trailing slash, or why not.
pub fn check_url(url: &str) -> Result<String, String> {
    let (scheme, rest) = url.split_once("://").ok_or("it has no scheme")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("credentials in the URL are not allowed".into());
    }
    if rest.contains(['?', '#']) {
        return Err("a query or fragment is not allowed".into());
    }
    let host = host_of(authority).ok_or("it has no host")?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err("plain http is allowed only for a loopback host (127.0.0.0/8, ::1, \
                        localhost); use https"
                .into());
        }
        _ => return Err("the scheme must be https".into()),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The body of an unauthenticated GET of a public URL (as [`check_url`] allows), when it
/// answers 200; otherwise why not.
pub fn get_public(url: &str) -> Result<Vec<u8>, String> {
    check_url(url)?;
    let transport = ReqwestTransport::new(TransportOptions::default()).map_err(|e| e.message)?;
    let request = HttpRequest {
        method: Method::Get,
        url: url.to_string(),
        headers: Vec::new(),
        body: Body::Empty,
    };
    let response = transport.send(request).map_err(|e| e.message)?;
    if response.status != 200 {
        return Err(format!("HTTP {}", response.status));
    }
    Ok(response.body)
}

fn host_of(authority: &str) -> Option<&str> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}
