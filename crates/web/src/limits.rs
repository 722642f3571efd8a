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

/// Failed logins per key (an account's throttle key, a client address): a key that failed more
/// than its quota is refused, before any password is checked, until its quota is back. Only
/// failures count: a person who logs in successfully spends nothing.
pub struct Failures<K: std::hash::Hash + Eq + Clone> {
    limiter: governor::DefaultKeyedRateLimiter<K>,
    /// Keys refused until an instant (the quota is spent).
    blocked: std::sync::Mutex<std::collections::HashMap<K, std::time::Instant>>,
}

impl<K: std::hash::Hash + Eq + Clone> Failures<K> {
    pub fn per_minute(n: NonZeroU32) -> Failures<K> {
        Failures {
            limiter: governor::RateLimiter::keyed(governor::Quota::per_minute(n)),
            blocked: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// How long `key` is still refused, if it is.
    pub fn blocked(&self, key: &K) -> Option<std::time::Duration> {
        let now = std::time::Instant::now();
        let mut map = self.blocked.lock().ok()?;
        if map.len() > 10_000 {
            map.retain(|_, until| *until > now);
        }
        match map.get(key) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        }
    }

    /// Counts a failure; once the quota is spent, the key is refused until a failure is allowed again.
    /// Returns how long it is refused, if it now is.
    pub fn failed(&self, key: &K) -> Option<std::time::Duration> {
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(key) {
            Ok(()) => None,
            Err(not_until) => {
                let wait =
                    not_until.wait_time_from(DefaultClock::default().now()).max(std::time::Duration::from_secs(1));
                if let Ok(mut map) = self.blocked.lock() {
                    map.insert(key.clone(), std::time::Instant::now() + wait);
                }
                Some(wait)
            }
        }
    }
}
