//! The scrubber's contract: what it removes, with which placeholder, and what it must
//! leave alone (stack frames, versions, SHAs, UUIDs, timestamps, ports, line numbers).
//!
//! Token-shaped test values are assembled with `concat!` so secret scanners reading this
//! file do not take them for leaked credentials.
//!
//! The helpers and token constants live here; the tests by theme in `scrub/`: `personal`,
//! `secrets`, `non_damage`, `user_rules`, `generated`. The size tests stay here, so
//! `scrub::bench_scrub_one_mebibyte` (scripts/bench-scrub.sh) keeps its name.

use std::borrow::Cow;

use homeostat::scrub::Scrubber;

mod generated;
mod non_damage;
mod personal;
mod secrets;
mod user_rules;

fn scrub(text: &str) -> String {
    Scrubber::builtin().scrub(text).into_owned()
}

/// The input comes back byte for byte, borrowed, with no findings.
#[track_caller]
fn untouched(text: &str) {
    let s = Scrubber::builtin();
    let out = s.scrub(text);
    assert!(matches!(out, Cow::Borrowed(_)) && out == text, "damaged:\n  in:  {text}\n  out: {out}");
    assert!(s.findings(text).is_empty(), "findings in {text:?}: {:?}", s.findings(text));
}

#[track_caller]
fn becomes(text: &str, expected: &str) {
    assert_eq!(scrub(text), expected, "input: {text}");
}

fn rules_found(text: &str) -> Vec<String> {
    Scrubber::builtin().findings(text).into_iter().map(|f| f.rule).collect()
}

const GHP: &str = concat!("gh", "p_", "1234567890abcdefghijklmnopqrstuvwxYZ");
const JWT: &str = concat!(
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ",
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
);
const AWS_ID: &str = concat!("AKIA", "IOSFODNN7EXAMPLE");
const AWS_SECRET: &str = concat!("wJalrXUtnFEMI/K7MDENG", "/bPxRfiCYEXAMPLEKEY");

// ---------------------------------------------------------------- size

#[test]
fn a_one_mebibyte_message_is_scrubbed_completely() {
    let line = format!("    at handler (/app/server.js:42:7) user=ann@example.com ip=10.0.0.1 {GHP}\n");
    let text = line.repeat((1 << 20) / line.len() + 1);
    assert!(text.len() > 1 << 20);
    let out = scrub(&text);
    assert!(!out.contains("ann@example.com") && !out.contains("10.0.0.1") && !out.contains(GHP));
    let clean_line = "    at handler (/app/server.js:42:7) user=[email] ip=[ipv4] [github-token]\n";
    assert_eq!(out, clean_line.repeat(text.len() / line.len()));
    assert_eq!(rules_found(&line), ["email", "ipv4", "github-token"]);
}

#[test]
fn a_large_clean_message_is_borrowed() {
    let text = "    at render (/app/ui.js:10:15)\n".repeat(40_000);
    assert!(matches!(Scrubber::builtin().scrub(&text), Cow::Borrowed(_)));
}

/// Figures, not a pass/fail timing: `scripts/bench-scrub.sh` runs this in release mode.
#[test]
#[ignore = "benchmark: run by scripts/bench-scrub.sh"]
fn bench_scrub_one_mebibyte() {
    let s = Scrubber::builtin();
    let inputs = [
        (
            "log lines with an email and an IP each",
            "    at handler (/app/server.js:42:7) user=ann@example.com ip=10.0.0.1 at 2026-01-21T10:00:00Z\n",
        ),
        ("clean stack frames", "    at handler (/app/server.js:42:7) retry 3 of 5 at 2026-01-21T10:00:00Z failed\n"),
        ("non-ASCII prose", "Ошибка подключения к базе данных: таймаут соединения истёк 東京 "),
        ("Rust paths and clock times", "std::io::Error deadbeef::cafe 10:00:00 "),
        ("dense: every word a find", "10.0.0.1 a@b.io "),
        ("dense: every word a rejected candidate", "version 1.2.3.4 x@app.js:1:2 +1 2 "),
    ];
    for (name, unit) in inputs {
        let text = unit.repeat((1 << 20) / unit.len() + 1);
        let runs = 5;
        let start = std::time::Instant::now();
        let mut found = 0;
        for _ in 0..runs {
            found = s.findings(&text).len();
        }
        let each = start.elapsed() / runs;
        let mib_s = text.len() as f64 / (1 << 20) as f64 / each.as_secs_f64();
        println!("scrub {name}: {} bytes, {found} finds, {each:.2?} per run, {mib_s:.1} MiB/s", text.len());
    }
}
