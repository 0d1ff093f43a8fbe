//! HTTP for every API client (Cloudflare Pages, GitHub): plain request and response
//! structs, the [`Transport`] trait they travel through, and [`ReqwestTransport`], the one
//! implementation that names reqwest, plus what their retries share: the [`Sleeper`] they
//! wait through and [`retry_after`], and which URLs they may reach ([`check_url`]). Clients build requests and read responses; tests and
//! the demo run the same clients against stand-ins on loopback sockets.

mod reqwest_transport;
mod retry;
mod secret;
mod transport;
mod url;

pub use reqwest_transport::{ReqwestTransport, TransportOptions};
pub use retry::{Sleeper, ThreadSleeper, retry_after};
pub use secret::Secret;
pub use transport::{
    Body, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};
pub use url::{check_url, get_public};
