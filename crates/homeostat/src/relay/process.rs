//! The relay process's own figures, under the names every Prometheus client library
//! exports (`process_resident_memory_bytes`, `process_cpu_seconds_total`, …), so the
//! dashboards and alerts people already have for a service work for the relay. Read from
//! `/proc` (Linux); elsewhere there are none.

use std::fmt::Write;

/// One reading of the process's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
    pub start_time_seconds: f64,
}

impl ProcessStats {
    /// This process now; `None` where `/proc` is not there or not as Linux writes it.
    pub fn read() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
        // SAFETY: sysconf reads a configuration value; it has no preconditions.
        let (page, ticks) = unsafe { (libc::sysconf(libc::_SC_PAGESIZE), libc::sysconf(libc::_SC_CLK_TCK)) };
        let (page, ticks) = (u64::try_from(page).ok()?, u64::try_from(ticks).ok().filter(|t| *t > 0)?);
        Self::parse(&stat, &boot, page, ticks, open_fds)
    }

    /// From the text of `/proc/self/stat` and `/proc/stat` (see proc(5)).
    fn parse(stat: &str, boot: &str, page: u64, ticks: u64, open_fds: u64) -> Option<Self> {
        // The command name (field 2) is in parentheses and may hold spaces or parentheses
        // itself: the fields are counted from the last ')'. Field 3 is the first after it.
        let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        let boot_time: u64 = boot.lines().find_map(|l| l.strip_prefix("btime ")?.trim().parse().ok())?;
        let ticks_f = ticks as f64;
        Some(Self {
            resident_bytes: field(24)? * page,
            virtual_bytes: field(23)?,
            cpu_seconds: (field(14)? + field(15)?) as f64 / ticks_f,
            open_fds,
            start_time_seconds: boot_time as f64 + field(22)? as f64 / ticks_f,
        })
    }

    /// The samples in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let samples = [
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", self.resident_bytes as f64),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", self.virtual_bytes as f64),
            (
                "process_cpu_seconds_total",
                "counter",
                "Total user and system CPU time spent in seconds.",
                self.cpu_seconds,
            ),
            ("process_open_fds", "gauge", "Number of open file descriptors.", self.open_fds as f64),
            (
                "process_start_time_seconds",
                "gauge",
                "Start time of the process since unix epoch in seconds.",
                self.start_time_seconds,
            ),
        ];
        for (name, kind, help, v) in samples {
            super::metrics::family(out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_after_the_command_name_whatever_it_holds() {
        // A command name with a space and a ')' in it; utime 250, stime 50, starttime
        // 1000 ticks, vsize 4096000 bytes, rss 300 pages (proc(5) fields 14, 15, 22-24).
        let mut fields: Vec<String> = (3..=52).map(|n| n.to_string()).collect();
        for (n, v) in [(14, "250"), (15, "50"), (22, "1000"), (23, "4096000"), (24, "300")] {
            fields[n - 3] = v.into();
        }
        let stat = format!("4242 (hs relay) x) {}\n", fields.join(" "));
        let boot = "cpu  1 2 3\nbtime 1764900000\nprocesses 9\n";
        let s = ProcessStats::parse(&stat, boot, 4096, 100, 12).unwrap();
        assert_eq!(
            s,
            ProcessStats {
                resident_bytes: 300 * 4096,
                virtual_bytes: 4_096_000,
                cpu_seconds: 3.0,
                open_fds: 12,
                start_time_seconds: 1_764_900_010.0,
            }
        );
        assert_eq!(ProcessStats::parse("4242 (cut", boot, 4096, 100, 1), None);
        assert_eq!(ProcessStats::parse(&stat, "cpu 1\n", 4096, 100, 1), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_memory_open_files_and_a_start_in_the_past() {
        let s = ProcessStats::read().expect("/proc is there on Linux");
        assert!(s.resident_bytes > 1_000_000, "{s:?}");
        assert!(s.open_fds >= 3, "{s:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        assert!(s.start_time_seconds <= now + 1.0 && s.start_time_seconds > now - 86_400.0, "{s:?}");
        let mut text = String::new();
        s.render(&mut text);
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "));
    }
}
