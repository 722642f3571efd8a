//! Rate limits per client address (governor): the public form's, and the API's for
//! token-authenticated calls. A refused request is answered 429 with `Retry-After` before
//! anything is read or written. An address is kept only while its quota is in use (a
//! client's address is personal data, and a flood of addresses must not grow the map).

use crate::problem::{ApiError, Problem};
use axum::http::StatusCode;
use governor::clock::{Clock, DefaultClock};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct PerAddress {
    limiter: governor::DefaultKeyedRateLimiter<IpAddr>,
    /// What is counted, for the refusal's detail ("submissions of the form").
    what: &'static str,
    /// When addresses whose quota is back were last forgotten (ms since the limiter's start).
    pruned_at: AtomicU64,
    started: std::time::Instant,
}

impl PerAddress {
    pub fn per_minute(n: NonZeroU32, what: &'static str) -> PerAddress {
        PerAddress {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(n)),
            what,
            pruned_at: AtomicU64::new(0),
            started: std::time::Instant::now(),
        }
    }

    /// Counts one request from `ip`; a 429 problem when its quota is spent.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        self.prune();
        let Some(ip) = ip else { return Ok(()) };
        match self.limiter.check_key(&ip) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::from(Problem {
                    retry_after: Some(u32::try_from(wait.as_secs().max(1)).unwrap_or(60)),
                    ..Problem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate-limited",
                        "Too many requests",
                        format!("too many {} from this address: try again later", self.what),
                    )
                }))
            }
        }
    }

    /// Forgets the addresses whose quota is whole again, at most every second.
    fn prune(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.pruned_at.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 1000
            && self.pruned_at.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            self.limiter.retain_recent();
        }
    }
}
