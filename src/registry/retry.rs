//! Retries with exponential backoff and jitter. Like go-containerregistry's transport, requests
//! are retried on connection errors and on 408, 429, 499, 500, 502, 503, 504 and 522 — but only
//! when the request is idempotent and its body can be sent again.

use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total tries, the first one included (ggcr: 3).
    pub max_attempts: u32,
    /// Delay before the first retry; doubled each time (ggcr: 1s).
    pub base_delay: Duration,
    /// Upper bound for one delay, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The delay before retry number `retry` (0 = first retry): `base * 2^retry`, ±25% jitter,
    /// or the server's `Retry-After` when given; capped at `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let exp = self.base_delay.saturating_mul(1u32 << retry.min(16));
        let jitter = rand::random_range(0.75..1.25);
        exp.mul_f64(jitter).min(self.max_delay)
    }
}

pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 499 | 500 | 502 | 503 | 504 | 522)
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: backoff is used instead).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
        };
        let d0 = p.delay(0, None);
        assert!(
            d0 >= Duration::from_millis(75) && d0 <= Duration::from_millis(125),
            "{d0:?}"
        );
        let d2 = p.delay(2, None);
        assert!(
            d2 >= Duration::from_millis(300) && d2 <= Duration::from_millis(500),
            "{d2:?}"
        );
        assert_eq!(p.delay(10, None), Duration::from_millis(500));
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(60))),
            Duration::from_millis(500)
        );
        assert!(
            retryable_status(429)
                && retryable_status(503)
                && !retryable_status(404)
                && !retryable_status(401)
        );
    }
}
