//! Rate limits on what anonymous or barely known parties can make the
//! server store: token buckets on the server's (injectable) clock.

use crate::clock::UnixTime;
use parking_lot::Mutex;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug)]
struct Level {
    tokens: f64,
    at: UnixTime,
}

/// `burst` at once, refilled at `per_minute`.
#[derive(Clone, Copy, Debug)]
struct Rate {
    burst: f64,
    per_second: f64,
}

impl Rate {
    fn new(burst: u32, per_minute: u32) -> Rate {
        Rate { burst: f64::from(burst.max(1)), per_second: f64::from(per_minute) / 60.0 }
    }

    /// Takes one token, or says in how many seconds one will be there.
    fn take(&self, level: &mut Level, now: UnixTime) -> Result<(), u64> {
        let elapsed = (now - level.at).max(0) as f64;
        level.tokens = (level.tokens + elapsed * self.per_second).min(self.burst);
        level.at = now;
        if level.tokens >= 1.0 {
            level.tokens -= 1.0;
            return Ok(());
        }
        if self.per_second <= 0.0 {
            return Err(60);
        }
        Err(((1.0 - level.tokens) / self.per_second).ceil().max(1.0) as u64)
    }

    fn full(&self, level: &Level, now: UnixTime) -> bool {
        level.tokens + (now - level.at).max(0) as f64 * self.per_second >= self.burst
    }
}

/// One bucket for everyone.
pub struct TokenBucket {
    rate: Rate,
    level: Mutex<Level>,
}

impl TokenBucket {
    pub fn new(burst: u32, per_minute: u32) -> TokenBucket {
        let rate = Rate::new(burst, per_minute);
        TokenBucket { rate, level: Mutex::new(Level { tokens: rate.burst, at: UnixTime::MIN / 2 }) }
    }

    /// `Err(seconds)` to wait when the bucket is empty.
    pub fn take(&self, now: UnixTime) -> Result<(), u64> {
        self.rate.take(&mut self.level.lock(), now)
    }
}

/// A bucket per key (a resource server, say). Buckets that have filled up
/// again are forgotten, so the map holds only keys that were busy lately,
/// and never more than [`SWEEP_AT`] of them.
pub struct Buckets {
    rate: Rate,
    levels: Mutex<HashMap<String, Level>>,
}

/// Keys kept before full buckets are swept out.
const SWEEP_AT: usize = 4096;

impl Buckets {
    pub fn new(burst: u32, per_minute: u32) -> Buckets {
        Buckets { rate: Rate::new(burst, per_minute), levels: Mutex::default() }
    }

    pub fn take(&self, key: &str, now: UnixTime) -> Result<(), u64> {
        let mut levels = self.levels.lock();
        if levels.len() >= SWEEP_AT && !levels.contains_key(key) {
            let rate = self.rate;
            levels.retain(|_, level| !rate.full(level, now));
            if levels.len() >= SWEEP_AT {
                // Every tracked key is busy: newcomers wait rather than grow the map.
                return Err(60);
            }
        }
        let level = levels.entry(key.to_string()).or_insert(Level { tokens: self.rate.burst, at: now });
        self.rate.take(level, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate() {
        let bucket = TokenBucket::new(3, 60);
        for _ in 0..3 {
            assert!(bucket.take(100).is_ok());
        }
        assert_eq!(bucket.take(100), Err(1));
        assert!(bucket.take(101).is_ok(), "one a second");
        assert!(bucket.take(101).is_err());
        assert!(bucket.take(1000).is_ok());
    }

    #[test]
    fn keys_have_their_own_buckets_and_idle_ones_are_forgotten() {
        let buckets = Buckets::new(1, 1);
        assert!(buckets.take("a", 0).is_ok());
        assert_eq!(buckets.take("a", 0), Err(60));
        assert!(buckets.take("b", 0).is_ok());
        for i in 0..SWEEP_AT {
            let _ = buckets.take(&format!("k{i}"), 0);
        }
        assert_eq!(buckets.levels.lock().len(), SWEEP_AT);
        assert_eq!(buckets.take("one more", 0), Err(60), "a newcomer waits while every key is busy");
        let _ = buckets.take("late", 120);
        assert!(buckets.levels.lock().len() < 10, "full buckets were swept");
    }
}
