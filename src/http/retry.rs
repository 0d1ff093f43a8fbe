//! What every API client shares about waiting: the [`Sleeper`] that retries wait through
//! (tests record instead of sleeping) and [`retry_after`], the `Retry-After` header read as
//! seconds or as an HTTP date.

use std::time::{Duration, SystemTime};

use super::HttpResponse;

/// Waits between attempts; injected so tests do not wait.
pub trait Sleeper: Send + Sync {
    /// Blocks for `duration`, or pretends to.
    fn sleep(&self, duration: Duration);
}

/// The real [`Sleeper`]: `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThreadSleeper;

impl Sleeper for ThreadSleeper {
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// `Retry-After` as seconds or as an HTTP-date (RFC 9110 §10.2.3); a date already past
/// means at once. Anything else counts as absent.
pub fn retry_after(r: &HttpResponse) -> Option<Duration> {
    let value = r.header("retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{HttpResponse, retry_after};

    fn with(value: &str) -> HttpResponse {
        HttpResponse {
            status: 429,
            headers: vec![("Retry-After".into(), value.into())],
            body: vec![],
        }
    }

    #[test]
    fn seconds_and_http_dates_are_both_honoured() {
        assert_eq!(retry_after(&with(" 7 ")), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let wait = retry_after(&with(&later)).expect("a date is a wait");
        assert!(wait > Duration::from_secs(80) && wait <= Duration::from_secs(90), "{wait:?}");
        assert_eq!(retry_after(&with("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        assert_eq!(retry_after(&with("soon")), None);
        assert_eq!(retry_after(&HttpResponse { status: 429, headers: vec![], body: vec![] }), None);
    }
}
