//! Global pacing: the send-slot grid every packet of a scan waits on.

use std::time::Duration;

use tokio::time::Instant;

/// Global pacing by reserved send slots on a fixed grid: each packet takes the next
/// free slot and sleeps until it. Unlike a limiter that wakes every waiter to race
/// for capacity, a late wake-up loses nothing and waiters do not stampede, so the
/// achieved rate stays at the configured one at high rates too.
pub(crate) struct Pacer {
    period: Duration,
    burst: u32,
    next: std::sync::Mutex<Instant>,
}

impl Pacer {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        Pacer {
            period: Duration::from_secs(1) / per_second.max(1),
            burst: burst.max(1),
            next: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// The send time reserved for one packet.
    pub(crate) fn reserve(&self) -> Instant {
        let now = Instant::now();
        let mut next = self
            .next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Unused slots of the past accumulate up to `burst`, no more.
        let earliest = now
            .checked_sub(self.period * (self.burst - 1))
            .unwrap_or(now);
        let slot = (*next).max(earliest);
        *next = slot + self.period;
        slot
    }
}
