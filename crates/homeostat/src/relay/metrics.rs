//! Counts for people and for the canary, rendered in Prometheus text format: events per
//! project, release and environment (total and over the last minute), distinct
//! fingerprints per release, refusals by reason, forwarding progress.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fmt::Write;
use std::sync::Mutex;

use super::limits::now_secs;
use crate::event::session::SessionCounts;

/// Distinct fingerprints remembered per release, and over all releases; past either the
/// gauge stops growing (memory stays under a few MB whatever the senders make up).
const FINGERPRINTS_MAX: usize = 10_000;
const FINGERPRINTS_TOTAL_MAX: usize = 100_000;
/// Distinct (project, release, environment) series; past it new releases and environments
/// count as `(other)`. Release and environment come from the senders, and the DSN key is
/// public: without a cap, a stream of made-up releases would grow memory and `/metrics`
/// without end.
const SERIES_MAX: usize = 1_000;
/// The release and environment of events past [`SERIES_MAX`].
const OTHER: &str = "(other)";
/// Width of one bucket of the last-minute window, in seconds.
const BUCKET_SECS: u64 = 10;

type Key = (String, String, String);

/// Sessions counted unhealthy are remembered this long, at most this many, so a session
/// that reports its error and then its crash counts once.
const SESSION_WINDOW_SECS: u64 = 24 * 3600;
const SESSION_IDS_MAX: usize = 200_000;

/// Ids of the sessions counted unhealthy.
struct UnhealthySessions(super::limits::RecentIds);

impl Default for UnhealthySessions {
    fn default() -> Self {
        Self(super::limits::RecentIds::new(SESSION_WINDOW_SECS, SESSION_IDS_MAX))
    }
}

#[derive(Default)]
struct Counts {
    events: BTreeMap<Key, u64>,
    recent: BTreeMap<Key, VecDeque<(u64, u64)>>,
    fingerprints: BTreeMap<(String, String), HashSet<String>>,
    fingerprints_kept: usize,
    refused: BTreeMap<(u16, String), u64>,
    /// Per project id (from the config: a bounded set).
    feedback: BTreeMap<String, u64>,
    /// Sessions started and sessions unhealthy, per series (capped as `events`).
    sessions: BTreeMap<Key, (u64, u64)>,
    unhealthy_sessions: UnhealthySessions,
    dropped_items: u64,
    forwarded: u64,
    forward_failures: u64,
}

/// The relay's counters.
#[derive(Default)]
pub struct Metrics {
    counts: Mutex<Counts>,
}

/// The series `(project, release, environment)` counts under: itself, or `(other)` once
/// `map` holds [`SERIES_MAX`] others.
fn series<V>(map: &BTreeMap<Key, V>, project: &str, release: &str, environment: &str) -> Key {
    let key = (project.to_string(), release.to_string(), environment.to_string());
    if map.len() >= SERIES_MAX && !map.contains_key(&key) {
        return (key.0, OTHER.to_string(), OTHER.to_string());
    }
    key
}

/// Escapes a label value as the text format asks.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts one error event an app sent (see `server::accept` for which ones count).
    pub fn received(&self, project: &str, release: Option<&str>, environment: Option<&str>, fingerprint: &str) {
        let bucket = now_secs() / BUCKET_SECS;
        let Ok(mut c) = self.counts.lock() else { return };
        let key = series(&c.events, project, release.unwrap_or(""), environment.unwrap_or(""));
        *c.events.entry(key.clone()).or_insert(0) += 1;
        let recent = c.recent.entry(key.clone()).or_default();
        match recent.back_mut() {
            Some((b, n)) if *b == bucket => *n += 1,
            _ => recent.push_back((bucket, 1)),
        }
        while recent.front().is_some_and(|(b, _)| *b + 60 / BUCKET_SECS <= bucket) {
            recent.pop_front();
        }
        let room = c.fingerprints_kept < FINGERPRINTS_TOTAL_MAX;
        let set = c.fingerprints.entry((key.0, key.1)).or_default();
        if room && set.len() < FINGERPRINTS_MAX && set.insert(fingerprint.to_string()) {
            c.fingerprints_kept += 1;
        }
    }

    /// Counts release health: sessions started, and unhealthy ones (each single session once).
    pub fn sessions(&self, project: &str, counts: &[SessionCounts]) {
        let now = now_secs();
        let Ok(mut c) = self.counts.lock() else { return };
        for s in counts {
            let key = series(&c.sessions, project, &s.release, s.environment.as_deref().unwrap_or(""));
            let mut unhealthy = s.unhealthy;
            if let Some(sid) = &s.unhealthy_session {
                let id = format!("{project}:{sid}");
                if !c.unhealthy_sessions.0.contains(&id, now) {
                    c.unhealthy_sessions.0.insert(&id, (), now);
                    unhealthy += 1;
                }
            }
            let entry = c.sessions.entry(key).or_insert((0, 0));
            entry.0 += s.started;
            entry.1 += unhealthy;
        }
    }

    /// Counts one piece of user feedback stored.
    pub fn feedback(&self, project: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.feedback.entry(project.to_string()).or_insert(0) += 1;
        }
    }

    pub fn refused(&self, status: u16, reason: &str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.refused.entry((status, reason.to_string())).or_insert(0) += 1;
        }
    }

    pub fn dropped_items(&self, n: usize) {
        if let Ok(mut c) = self.counts.lock() {
            c.dropped_items += n as u64;
        }
    }

    pub fn forwarded(&self, n: usize) {
        if let Ok(mut c) = self.counts.lock() {
            c.forwarded += n as u64;
        }
    }

    pub fn forward_failed(&self) {
        if let Ok(mut c) = self.counts.lock() {
            c.forward_failures += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, spool_backlog: u64) -> String {
        let Ok(c) = self.counts.lock() else { return String::new() };
        let bucket = now_secs() / BUCKET_SECS;
        let mut out = String::new();
        let events = c.events.iter().map(|(k, n)| (k, *n));
        let help = "Error events the apps sent: stored, or refused by the project or fingerprint limit.";
        per_series(&mut out, "homeostat_relay_events_total", "counter", help, events);
        let recent = c
            .recent
            .iter()
            .map(|(k, q)| (k, q.iter().filter(|(b, _)| b + 60 / BUCKET_SECS > bucket).map(|(_, n)| n).sum::<u64>()));
        let help = "Error events the apps sent in the last 60 seconds (as events_total).";
        per_series(&mut out, "homeostat_relay_events_last_minute", "gauge", help, recent);
        let started = c.sessions.iter().map(|(k, (n, _))| (k, *n));
        let help = "Sessions started (Sentry release health).";
        per_series(&mut out, "homeostat_relay_sessions_total", "counter", help, started);
        let unhealthy = c.sessions.iter().map(|(k, (_, n))| (k, *n));
        let help = "Sessions that had an error, crashed or ended abnormally.";
        per_series(&mut out, "homeostat_relay_sessions_unhealthy_total", "counter", help, unhealthy);
        family(&mut out, "homeostat_relay_fingerprints", "gauge", "Distinct fingerprints seen per release.");
        for ((p, r), set) in &c.fingerprints {
            let _ = writeln!(
                out,
                "homeostat_relay_fingerprints{{project=\"{}\",release=\"{}\"}} {}",
                label(p),
                label(r),
                set.len()
            );
        }
        family(&mut out, "homeostat_relay_feedback_total", "counter", "User feedback stored, per project.");
        for (p, n) in &c.feedback {
            let _ = writeln!(out, "homeostat_relay_feedback_total{{project=\"{}\"}} {n}", label(p));
        }
        family(&mut out, "homeostat_relay_refused_total", "counter", "Requests refused, by status and reason.");
        for ((status, reason), n) in &c.refused {
            let _ =
                writeln!(out, "homeostat_relay_refused_total{{status=\"{status}\",reason=\"{}\"}} {n}", label(reason));
        }
        let scalars = [
            (
                "homeostat_relay_dropped_items_total",
                "counter",
                "Envelope items accepted and dropped (transactions, client reports, attachments, broken sessions).",
                c.dropped_items,
            ),
            ("homeostat_relay_forwarded_total", "counter", "Records forwarded (dispatched or filed).", c.forwarded),
            (
                "homeostat_relay_forward_failures_total",
                "counter",
                "Forwarding attempts that failed (retried later).",
                c.forward_failures,
            ),
            ("homeostat_relay_spool_backlog_bytes", "gauge", "Spool bytes not yet forwarded.", spool_backlog),
        ];
        for (name, kind, help, v) in scalars {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
        out
    }
}

/// A family with one sample per (project, release, environment) series.
fn per_series<'a>(out: &mut String, name: &str, kind: &str, help: &str, rows: impl Iterator<Item = (&'a Key, u64)>) {
    family(out, name, kind, help);
    for ((p, r, e), n) in rows {
        let (p, r, e) = (label(p), label(r), label(e));
        let _ = writeln!(out, "{name}{{project=\"{p}\",release=\"{r}\",environment=\"{e}\"}} {n}");
    }
}

pub(super) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Sums the samples of `metric` whose labels include every pair in `want` (a small
/// reader of the text format, for the canary's relay source).
pub fn sum_samples(text: &str, metric: &str, want: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(metric) else { continue };
        let (labels, value) = match rest.strip_prefix('{') {
            Some(r) => match r.rsplit_once('}') {
                Some((l, v)) => (l, v),
                None => continue,
            },
            None if rest.starts_with(' ') => ("", rest),
            None => continue,
        };
        let matches = want.iter().all(|(k, v)| labels.contains(&format!("{k}=\"{}\"", label(v))));
        if let (true, Ok(v)) = (matches, value.trim().split(' ').next().unwrap_or("").parse::<f64>()) {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_render_and_read_back() {
        let m = Metrics::default();
        m.received("1", Some("1.2.0"), Some("production"), "aa");
        m.received("1", Some("1.2.0"), Some("production"), "bb");
        m.received("1", Some("1.2.0"), Some("staging"), "aa");
        m.received("1", Some("1.3.0"), Some("production"), "aa");
        m.refused(429, "rate limited (key)");
        let text = m.render(7);
        let read = |metric, want: &[(&str, &str)]| sum_samples(&text, metric, want);
        assert_eq!(read("homeostat_relay_events_total", &[("release", "1.2.0")]), Some(3.0));
        assert_eq!(
            read("homeostat_relay_events_last_minute", &[("release", "1.2.0"), ("environment", "production")]),
            Some(2.0)
        );
        assert_eq!(read("homeostat_relay_fingerprints", &[("release", "1.2.0")]), Some(2.0));
        assert_eq!(read("homeostat_relay_events_total", &[("release", "9.9")]), None);
        assert_eq!(read("homeostat_relay_spool_backlog_bytes", &[]), Some(7.0));
        assert!(text.contains("homeostat_relay_refused_total{status=\"429\""));
    }

    #[test]
    fn a_session_that_reports_its_trouble_twice_is_unhealthy_once() {
        let m = Metrics::default();
        let update = |started, sid: Option<&str>| SessionCounts {
            release: "2.0.0".into(),
            environment: Some("production".into()),
            started,
            unhealthy: 0,
            unhealthy_session: sid.map(str::to_string),
        };
        let aggregate = SessionCounts { started: 10, unhealthy: 2, unhealthy_session: None, ..update(0, None) };
        // Starts; its first error; its crash; another app's session with the same id.
        m.sessions("1", &[update(1, None), update(0, Some("s1")), update(0, Some("s1")), aggregate]);
        m.sessions("2", &[update(1, Some("s1"))]);
        let text = m.render(0);
        let read = |name, project| sum_samples(&text, name, &[("project", project), ("release", "2.0.0")]);
        assert_eq!(read("homeostat_relay_sessions_total", "1"), Some(11.0));
        assert_eq!(read("homeostat_relay_sessions_unhealthy_total", "1"), Some(3.0));
        assert_eq!(read("homeostat_relay_sessions_unhealthy_total", "2"), Some(1.0));
    }

    #[test]
    fn made_up_releases_cannot_grow_the_series_without_end() {
        let m = Metrics::default();
        for n in 0..SERIES_MAX + 500 {
            m.received("1", Some(&format!("9.{n}")), Some("production"), "aa");
        }
        m.received("1", Some("9.7"), Some("production"), "aa");
        let text = m.render(0);
        let series = text.lines().filter(|l| l.starts_with("homeostat_relay_events_total{")).count();
        assert_eq!(series, SERIES_MAX + 1, "the first {SERIES_MAX} and one `(other)`");
        let read = |want: &[(&str, &str)]| sum_samples(&text, "homeostat_relay_events_total", want);
        assert_eq!(read(&[("release", OTHER)]), Some(500.0));
        assert_eq!(read(&[("release", "9.7")]), Some(2.0), "a release seen before the cap still counts");
        assert_eq!(read(&[]), Some((SERIES_MAX + 501) as f64), "nothing is lost");
    }

    #[test]
    fn made_up_fingerprints_stop_at_the_caps() {
        let m = Metrics::default();
        for n in 0..FINGERPRINTS_TOTAL_MAX + 20_000 {
            let release = format!("1.{}", n / (FINGERPRINTS_MAX + 2_000));
            m.received("1", Some(&release), None, &format!("{n:016x}"));
        }
        let text = m.render(0);
        let per_release = |r: &str| sum_samples(&text, "homeostat_relay_fingerprints", &[("release", r)]);
        assert_eq!(per_release("1.0"), Some(FINGERPRINTS_MAX as f64));
        assert_eq!(sum_samples(&text, "homeostat_relay_fingerprints", &[]), Some(FINGERPRINTS_TOTAL_MAX as f64));
    }
}
