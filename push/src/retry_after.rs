//! The `Retry-After` header: seconds, or an HTTP date (RFC 9110, section 10.2.3).

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The wait a response asks for, if any. A date in the past means no wait.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(
            retry_after(&headers("30"), SystemTime::now()),
            Some(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_reads_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_90_secs = httpdate::fmt_http_date(now + Duration::from_secs(90));

        assert_eq!(retry_after(&headers(&in_90_secs), now), Some(Duration::from_secs(90)));
    }

    #[test]
    fn retry_after_ignores_garbage() {
        assert_eq!(retry_after(&headers("soon"), SystemTime::now()), None);
        assert_eq!(retry_after(&HeaderMap::new(), SystemTime::now()), None);
    }
}
