//! Generated inputs (a seeded generator: planted secrets, random stack traces, arbitrary
//! text), the Sentry grouping corpus, the docs' rule list and example, and regressions.

use std::borrow::Cow;

use homeostat::scrub::Scrubber;

use super::{becomes, rules_found, untouched};

/// A small deterministic generator (xorshift64*), so failures reproduce from the seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chars(&mut self, alphabet: &str, len: usize) -> String {
        let bytes = alphabet.as_bytes();
        (0..len).map(|_| bytes[self.below(bytes.len())] as char).collect()
    }
    fn alnum(&mut self, len: usize) -> String {
        self.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", len)
    }
    /// Letters and digits, with at least one digit (a password or token, not a word).
    fn secret(&mut self, len: usize) -> String {
        let mut s = self.alnum(len - 1);
        s.insert(self.below(len), char::from(b'0' + self.below(10) as u8));
        s
    }
    fn hex(&mut self, len: usize) -> String {
        self.chars("0123456789abcdef", len)
    }
    fn digits(&mut self, len: usize) -> String {
        self.chars("0123456789", len)
    }
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// A planted find: the text put into the message and the parts that must not survive.
fn plant(g: &mut Gen) -> (String, Vec<String>) {
    match g.below(18) {
        0 => {
            let e = format!(
                "{}.{}@{}.{}",
                g.chars("abcdefghij", 5),
                g.alnum(3),
                g.chars("klmnopq", 6),
                g.pick(&["com", "org", "io", "co.uk", "de"])
            );
            (e.clone(), vec![e])
        }
        1 => {
            let ip = format!("{}.{}.{}.{}", 1 + g.below(223), g.below(256), g.below(256), 1 + g.below(254));
            (format!("{ip}:{}", 1 + g.below(65535)), vec![format!("{ip}:")])
        }
        2 => {
            let t = format!("{}_{}", g.pick(&["ghp", "gho", "ghu", "ghs", "ghr"]), g.alnum(36));
            (t.clone(), vec![t])
        }
        3 => {
            let t = format!("AKIA{}", g.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
            (t.clone(), vec![t])
        }
        4 => {
            let b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
            let t = format!("eyJ{}.eyJ{}.{}", g.chars(b64, 30), g.chars(b64, 60), g.chars(b64, 43));
            (t.clone(), vec![t])
        }
        5 => {
            let t = format!("xoxb-{}-{}-{}", g.digits(12), g.digits(13), g.alnum(24));
            (t.clone(), vec![t])
        }
        6 => {
            let t = format!("{}_live_{}", g.pick(&["sk", "rk"]), g.alnum(24));
            (t.clone(), vec![t])
        }
        7 => {
            let t = format!("sk-{}{}", g.pick(&["proj-", "ant-api03-", ""]), g.alnum(48));
            (t.clone(), vec![t])
        }
        8 => {
            // Visa: 4, 14 random digits, the Luhn check digit; grouped or not.
            let mut digits: Vec<u32> = std::iter::once(4).chain((0..14).map(|_| g.below(10) as u32)).collect();
            let sum: u32 = digits
                .iter()
                .rev()
                .enumerate()
                .map(|(i, &d)| if i % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
                .sum();
            digits.push((10 - sum % 10) % 10);
            let plain: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
            let sep = g.pick(&["", " ", "-"]);
            let grouped =
                plain.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(sep);
            (grouped, vec![plain[4..12].to_string()])
        }
        9 => {
            let pass = g.secret(12);
            (
                format!("{}://app:{pass}@db.example.net:5432/main", g.pick(&["postgres", "https", "redis", "amqp"])),
                vec![pass],
            )
        }
        10 => {
            let (a, b) = (g.secret(16), g.secret(20));
            let key = g.pick(&["token", "api_key", "password", "secret", "access_token"]);
            (format!("https://api.example.com/v2/items?page=2&{key}={a}&sig={b}"), vec![a, b])
        }
        11 => {
            let pass = g.secret(14);
            let text = match g.below(3) {
                0 => format!("password={pass}"),
                1 => format!("{{\"password\": \"{pass}\"}}"),
                _ => format!("DB_PASSWORD={pass}"),
            };
            (text, vec![pass])
        }
        12 => {
            let t = g.secret(32);
            (format!("Authorization: Bearer {t}"), vec![t])
        }
        13 => {
            let n = format!("+{} {} {} {}", 1 + g.below(98), 2 + g.below(8), g.digits(3), g.digits(4));
            (n.clone(), vec![n])
        }
        14 => {
            let groups: Vec<String> =
                (0..8).map(|i| if i == 0 { "2001".into() } else { format!("{:x}", g.below(65536)) }).collect();
            let ip = groups.join(":");
            (ip.clone(), vec![ip])
        }
        15 => {
            let v = g.secret(20);
            (format!("Cookie: session={v}; theme=dark"), vec![v])
        }
        16 => {
            let body = g.chars(&format!("{ALNUM}+/"), 64);
            (format!("-----BEGIN PRIVATE KEY-----\n{body}\n{body}\n-----END PRIVATE KEY-----"), vec![body])
        }
        _ => {
            let s = g.chars(&format!("{ALNUM}/+"), 40);
            (format!("aws_secret_access_key = {s}"), vec![s])
        }
    }
}

const FILLER: &[&str] = &[
    "TypeError:",
    "request",
    "failed",
    "while",
    "loading",
    "user",
    "at",
    "handler",
    "retry",
    "3",
    "of",
    "5",
    "42",
    "1.4.2",
    "v2.10.0-rc.1",
    "9fceb02",
    "550e8400-e29b-41d4-a716-446655440000",
    "2026-01-21T10:00:00Z",
    "(app.js:10:15)",
    "localhost:8080",
    "line",
    "1234",
    "std::io::Error",
    "ms",
    "->",
    "OK",
    "null",
    "#17",
    "Ошибка",
    "東京",
    "é:",
    "🙂",
];

#[test]
fn planted_secrets_never_survive() {
    let s = Scrubber::builtin();
    let mut g = Gen(0x5eed_cafe_f00d_0001);
    for case in 0..600 {
        let mut text = String::new();
        let mut must_go = Vec::new();
        for _ in 0..1 + g.below(4) {
            for _ in 0..g.below(6) {
                text.push_str(g.pick(FILLER));
                text.push_str(g.pick(&[" ", " ", "\n", ", ", "\t"]));
            }
            let (planted, secrets) = plant(&mut g);
            let (open, close) = [("", ""), ("(", ")"), ("\"", "\""), ("<", ">"), ("[", "]"), ("'", "'")][g.below(6)];
            text.push_str(&format!("{open}{planted}{close}"));
            text.push_str(g.pick(&[" ", "\n", ". ", ", "]));
            must_go.extend(secrets);
        }
        let out = s.scrub(&text);
        for secret in &must_go {
            assert!(!out.contains(secret.as_str()), "case {case}: {secret:?} survived\n  in:  {text}\n  out: {out}");
        }
        assert_eq!(s.scrub(&out), out, "case {case}: a second scrub changed the output");
        for f in s.findings(&text) {
            assert!(text.is_char_boundary(f.range.start) && text.is_char_boundary(f.range.end), "case {case}: {f:?}");
        }
    }
}

/// A random stack trace in one of five formats: frames, line numbers, versions, SHAs,
/// UUIDs, timestamps and ports, none of which is personal or secret.
fn stack_trace(g: &mut Gen) -> String {
    const NAMES: &[&str] = &[
        "render",
        "fetchUser",
        "handle_request",
        "OrderService",
        "parse",
        "main",
        "run",
        "lambda$0",
        "<anonymous>",
        "__call__",
    ];
    const DIRS: &[&str] = &[
        "src",
        "app",
        "lib/core",
        "node_modules/react-dom/cjs",
        "internal/handlers",
        "pkg/mod/github.com/acme/x@v1.2.3",
    ];
    let name = |g: &mut Gen| g.pick(NAMES).to_string();
    let dir = |g: &mut Gen| g.pick(DIRS).to_string();
    let sha_len = if g.below(2) == 0 { 40 } else { 7 + g.below(6) };
    let mut out = format!(
        "release {}.{}.{} commit {} deploy {} at {}\n",
        g.below(20),
        g.below(50),
        g.below(200),
        g.hex(sha_len),
        format_args!("{}-{}-4{}-a{}-{}", g.hex(8), g.hex(4), g.hex(3), g.hex(3), g.hex(12)),
        format_args!(
            "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            1 + g.below(12),
            1 + g.below(28),
            g.below(24),
            g.below(60),
            g.below(60),
            g.below(1000)
        ),
    );
    for _ in 0..1 + g.below(12) {
        let (line, col) = (1 + g.below(99_999), 1 + g.below(300));
        let frame = match g.below(5) {
            0 => format!("    at {} ({}/{}.js:{line}:{col})", name(g), dir(g), name(g)),
            1 => format!("  File \"/srv/{}/{}.py\", line {line}, in {}", dir(g), name(g), name(g)),
            2 => format!("\tat com.example.{}.{}({}.java:{line})", name(g), name(g), name(g)),
            3 => format!(
                "  {}: homeostat::{}::{}\n             at ./{}/{}.rs:{line}:{col}",
                g.below(40),
                name(g),
                name(g),
                dir(g),
                name(g)
            ),
            _ => format!("{}()\n\t/home/ci/{}/{}.go:{line} +0x{}", name(g), dir(g), name(g), g.hex(3)),
        };
        out.push_str(&frame);
        out.push('\n');
    }
    out.push_str(&format!(
        "listening on localhost:{} (pid {}, took {} ms)\n",
        1024 + g.below(60_000),
        g.below(99_999),
        g.below(10_000)
    ));
    out
}

#[test]
fn generated_stack_traces_stay_unchanged() {
    let s = Scrubber::builtin();
    let mut g = Gen(0x5eed_0000_7ace_0002);
    for case in 0..600 {
        let trace = stack_trace(&mut g);
        let out = s.scrub(&trace);
        assert!(matches!(out, Cow::Borrowed(_)), "case {case} damaged:\n  in:  {trace}\n  out: {out}");
    }
}

/// Every `frames` array inside a JSON value, in document order.
fn frames_of(value: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if key == "frames" {
                    out.push(v.clone());
                } else {
                    frames_of(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| frames_of(v, out)),
        _ => {}
    }
}

#[test]
fn sentry_grouping_corpus_frames_survive_scrub_json() {
    let Some(dir) = homeostat::testing::shared_path("corpus/sentry-grouping/tests/sentry/grouping/grouping_inputs")
    else {
        return;
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let mut before = Vec::new();
        frames_of(&event, &mut before);
        Scrubber::builtin().scrub_json(&mut event);
        let mut after = Vec::new();
        frames_of(&event, &mut after);
        assert_eq!(before, after, "{}", path.display());
        checked += before.iter().filter_map(|f| f.as_array()).map(Vec::len).sum::<usize>();
    }
    assert!(checked > 50, "only {checked} frames in the corpus");
    println!("{checked} frames unchanged");
}

#[test]
fn docs_list_every_builtin_rule() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scrub.md")).unwrap();
    for name in Scrubber::builtin().rule_names() {
        assert!(docs.contains(&format!("| `{name}` |")), "docs/scrub.md does not list rule `{name}`");
    }
}

#[test]
fn the_rule_file_example_in_the_docs_works() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scrub.md")).unwrap();
    let start = docs.find("# .github/scrub-rules.yml\n").expect("the example rule file");
    let example = &docs[start..docs[start..].find("```").map(|end| start + end).unwrap()];
    let s = Scrubber::with_rules(".github/scrub-rules.yml", example).unwrap();
    let key = concat!("x-internal-key: ", "abcdefghijklmnopqrstuvwx1234");
    assert_eq!(s.scrub(&format!("EMP-123456 sent {key}")), "[employee-id] sent x-internal-key: [internal-key]");
    assert_eq!(s.scrub("ann@corp.example and 415-555-0100"), "[email] and 415-555-0100");
}

#[test]
fn homeostat_markers_labels_and_markdown_stay() {
    untouched("<!-- homeostat:fingerprint=0123456789abcdef algorithm=v1 -->\n<!-- homeostat:issue=12 -->");
    untouched("labels: homeostat:error, fp:0123abcd, change-class:safe, homeostat:ai-proposed");
    untouched(
        "| release | count |\n|---|---|\n| 1.4.2 | 17 |\n\nSee [the run](https://github.com/acme/app/actions/runs/123456789) \
         and `git checkout homeostat/fix-12`.\n```\nTypeError: x is undefined\n```",
    );
}

/// Random text made of the characters the rules care about (digits, separators, quotes,
/// brackets, hex letters, multi-byte characters): no panic, findings on char boundaries
/// and nested or disjoint, and a second scrub changes nothing.
#[test]
fn arbitrary_text_never_panics_and_findings_are_well_formed() {
    let pieces: &[&str] = &[
        "0",
        "1",
        "4",
        "9",
        "25",
        "255",
        "4111",
        ".",
        ":",
        "::",
        "@",
        "+",
        "-",
        "_",
        "[",
        "]",
        "(",
        ")",
        "=",
        "\"",
        "'",
        "\\",
        " ",
        "\n",
        "a",
        "f",
        "x",
        "v",
        "é",
        "東",
        "🙂",
        "/",
        "?",
        "&",
        ";",
        "password",
        "token",
        "Bearer ",
        "eyJ",
        "ghp_",
        "sk-",
        "AKIA",
        "://",
        "example.com",
        "version ",
        "[email]",
        "[redacted",
        "-----BEGIN PRIVATE KEY-----",
    ];
    let s = Scrubber::builtin();
    let mut g = Gen(0xdead_beef_0bad_f00d);
    for case in 0..1500 {
        let text: String = (0..g.below(60)).map(|_| g.pick(pieces)).collect();
        let out = s.scrub(&text);
        assert_eq!(s.scrub(&out), out, "case {case}: {text:?}");
        let found = s.findings(&text);
        for (i, a) in found.iter().enumerate() {
            assert!(a.range.start < a.range.end && a.range.end <= text.len(), "case {case}: {a:?} in {text:?}");
            assert!(text.is_char_boundary(a.range.start) && text.is_char_boundary(a.range.end), "case {case}");
            for b in &found[i + 1..] {
                let disjoint = a.range.end <= b.range.start || b.range.end <= a.range.start;
                let nested = (a.range.start <= b.range.start && b.range.end <= a.range.end)
                    || (b.range.start <= a.range.start && a.range.end <= b.range.end);
                assert!(disjoint || nested, "case {case}: {a:?} and {b:?} cross in {text:?}");
            }
        }
        assert_eq!(found.is_empty(), matches!(out, Cow::Borrowed(_)), "case {case}: {text:?}");
    }
}

#[test]
fn a_rule_that_only_matches_after_an_earlier_replacement_still_runs() {
    // The key block's spaces stop the URL-password rule on the input; once the block is a
    // placeholder, the password (with the placeholder inside it) is one token.
    let text = concat!("redis://app:pw-----BEGIN ", "PRIVATE KEY-----\nAbCd\n-----END PRIVATE KEY-----tail@cache:6379");
    becomes(text, "redis://app:[redacted]@cache:6379");
    assert_eq!(rules_found(text), ["url-password", "private-key"]);
}

#[test]
fn a_query_secret_stops_at_a_closing_parenthesis_or_backtick() {
    becomes(
        "failed (fetching https://api.example.com/v1/team?api_key=abcdef0123456789abcdef)",
        "failed (fetching https://api.example.com/v1/team?api_key=[redacted])",
    );
    becomes("`GET /x?token=abcdef0123456789abcdef` failed", "`GET /x?token=[redacted]` failed");
}
