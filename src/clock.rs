//! Policy time. The pipeline never reads the system clock itself: `server::run` receives a `Clock`,
//! so quiet hours, windows and hold times are testable with a `ManualClock`.

use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    nanos: AtomicI64,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock {
            nanos: AtomicI64::new(to_nanos(at)),
        }
    }

    pub fn set(&self, at: Timestamp) {
        self.nanos.store(to_nanos(at), Ordering::SeqCst);
    }

    pub fn advance(&self, by: std::time::Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        self.nanos.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let nanos = self.nanos.load(Ordering::SeqCst);
        Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

fn to_nanos(at: Timestamp) -> i64 {
    i64::try_from(at.as_nanosecond()).unwrap_or(i64::MAX)
}
