//! The one clock every run reads: it stamps the ledger and drives every decision that
//! compares times (quotas, cooldowns, budgets, regressions, the content calendar).
//!
//! It is the system clock, optionally shifted to a pinned start (`HOMEOSTAT_NOW`, or a
//! binary's `--now`): a pinned clock still ticks, so durations inside a run stay real,
//! while everything the run remembers agrees on the date it acts at.

use jiff::{SignedDuration, Timestamp};

/// Reads "now", possibly shifted to a pinned start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    offset: SignedDuration,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `start` now and ticks from there.
    pub fn pinned_at(start: Timestamp) -> Self {
        Self { offset: start.duration_since(Timestamp::now()) }
    }

    /// The clock `HOMEOSTAT_NOW` (RFC 3339) asks for, else the system clock.
    pub fn from_value(value: Option<&str>) -> Result<Self, jiff::Error> {
        value.map_or(Ok(Self::system()), |v| v.parse::<Timestamp>().map(Self::pinned_at))
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::now().saturating_add(self.offset).unwrap_or_else(|_| Timestamp::now())
    }

    /// Now, to the second (what issues and the local forge show).
    pub fn now_seconds(&self) -> Timestamp {
        let now = self.now();
        now.round(jiff::Unit::Second).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_clock_reads_its_start_and_ticks() {
        let start: Timestamp = "2027-12-04T10:00:00Z".parse().unwrap();
        let clock = Clock::from_value(Some("2027-12-04T10:00:00Z")).unwrap();
        let read = clock.now();
        assert!(read >= start && read.duration_since(start) < SignedDuration::from_secs(5), "{read}");
        assert!(Clock::from_value(Some("next tuesday")).is_err());
        let system = Clock::from_value(None).unwrap().now();
        assert!(system.duration_since(Timestamp::now()).abs() < SignedDuration::from_secs(5));
    }
}
