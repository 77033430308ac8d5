//! A speed cap shared by every transfer of one target (`OFFSITE_BANDWIDTH`,
//! `offsite[].bandwidth`): callers report the bytes they are about to send
//! or have received and are made to wait so the average stays under the
//! cap. A token bucket holding at most one second of budget, so a pause
//! does not earn a burst.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cancel::{Cancel, Cancelled};

#[derive(Debug)]
pub struct Throttle {
    /// Bytes per second; `None` = unlimited.
    rate: Option<u64>,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    pub fn new(rate: Option<u64>) -> Self {
        let rate = rate.filter(|r| *r > 0);
        Self {
            rate,
            state: Mutex::new((rate.unwrap_or(0) as f64, Instant::now())),
        }
    }

    pub fn unlimited() -> Self {
        Self::new(None)
    }

    pub fn rate(&self) -> Option<u64> {
        self.rate
    }

    /// How long to wait before `bytes` may go (and take them from the bucket).
    fn reserve(&self, bytes: u64) -> Duration {
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        let rate = rate as f64;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, last) = *st;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * rate).min(rate);
        let left = tokens - bytes as f64;
        *st = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / rate)
        }
    }

    /// Block until `bytes` may be sent, waking to check `cancel`.
    pub fn take(&self, bytes: u64, cancel: &Cancel) -> Result<(), Cancelled> {
        let mut wait = self.reserve(bytes);
        while !wait.is_zero() {
            cancel.check()?;
            let step = wait.min(Duration::from_millis(100));
            std::thread::sleep(step);
            wait -= step;
        }
        cancel.check()
    }

    /// The same for async code: sleep on the runtime's timer.
    pub async fn take_async(&self, bytes: u64, cancel: &Cancel) -> Result<(), Cancelled> {
        let mut wait = self.reserve(bytes);
        while !wait.is_zero() {
            cancel.check()?;
            let step = wait.min(Duration::from_millis(100));
            tokio::time::sleep(step).await;
            wait -= step;
        }
        cancel.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_never_waits() {
        let t = Throttle::unlimited();
        assert_eq!(t.reserve(u64::MAX / 2), Duration::ZERO);
    }

    #[test]
    fn a_cap_makes_the_overdraft_wait() {
        let t = Throttle::new(Some(1000));
        // The bucket starts full (one second of budget).
        assert_eq!(t.reserve(1000), Duration::ZERO);
        let w = t.reserve(500);
        assert!(
            w >= Duration::from_millis(450) && w <= Duration::from_millis(510),
            "{w:?}"
        );
    }

    #[test]
    fn cancel_stops_a_wait() {
        let t = Throttle::new(Some(1));
        let c = Cancel::new();
        c.cancel();
        assert!(t.take(1_000_000, &c).is_err());
    }
}
