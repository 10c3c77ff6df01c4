//! The scrubber measured on a corpus of planted secrets: 30+ kinds, each in every position
//! it can take (message, frame function, file, tag, URL, nested JSON, glued to an
//! identifier, percent-encoded), plus strings that must survive (frames, versions, SHAs,
//! line numbers). Prints `scrub corpus: N secrets, left L; K kept strings, damaged D`
//! and the same corpus through hs-guard's added-secret check; both must be 0.

use homeostat::guard::SecretFinder;
use homeostat::scrub::Scrubber;

/// A deterministic string of `n` characters from `alphabet`.
fn chars(seed: u64, n: usize, alphabet: &str) -> String {
    let a: Vec<char> = alphabet.chars().collect();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            a[((x >> 33) % a.len() as u64) as usize]
        })
        .collect()
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// One kind: `(name, is a secret for hs-guard, planted text, the part that must go)`.
/// Self-identifying tokens (a fixed prefix) go in every position; the others carry their
/// context (`password=`, `Authorization: Basic`) and go where that context can stand.
struct Kind {
    name: &'static str,
    secret: bool,
    prefixed: bool,
    make: fn(u64) -> (String, String),
}

fn token(prefix: &str, seed: u64, n: usize, alphabet: &str) -> (String, String) {
    let t = format!("{prefix}{}", chars(seed, n, alphabet));
    (t.clone(), t)
}

fn kinds() -> Vec<Kind> {
    vec![
        Kind { name: "github-classic", secret: true, prefixed: true, make: |s| token("ghp_", s, 36, ALNUM) },
        Kind { name: "github-oauth", secret: true, prefixed: true, make: |s| token("gho_", s, 36, ALNUM) },
        Kind { name: "github-user", secret: true, prefixed: true, make: |s| token("ghu_", s, 36, ALNUM) },
        Kind { name: "github-server", secret: true, prefixed: true, make: |s| token("ghs_", s, 36, ALNUM) },
        Kind { name: "github-refresh", secret: true, prefixed: true, make: |s| token("ghr_", s, 36, ALNUM) },
        Kind {
            name: "github-fine-grained",
            secret: true,
            prefixed: true,
            make: |s| token("github_pat_", s, 82, &format!("{ALNUM}_")),
        },
        Kind { name: "aws-akia", secret: true, prefixed: true, make: |s| token("AKIA", s, 16, UPPER) },
        Kind { name: "aws-asia", secret: true, prefixed: true, make: |s| token("ASIA", s, 16, UPPER) },
        Kind { name: "slack-bot", secret: true, prefixed: true, make: |s| token("xoxb-", s, 40, ALNUM) },
        Kind { name: "slack-user", secret: true, prefixed: true, make: |s| token("xoxp-", s, 40, ALNUM) },
        Kind { name: "slack-app", secret: true, prefixed: true, make: |s| token("xapp-", s, 40, ALNUM) },
        Kind { name: "stripe-live", secret: true, prefixed: true, make: |s| token("sk_live_", s, 24, ALNUM) },
        Kind { name: "stripe-restricted", secret: true, prefixed: true, make: |s| token("rk_live_", s, 24, ALNUM) },
        Kind { name: "stripe-test", secret: true, prefixed: true, make: |s| token("sk_test_", s, 24, ALNUM) },
        Kind { name: "stripe-webhook", secret: true, prefixed: true, make: |s| token("whsec_", s, 32, ALNUM) },
        Kind {
            name: "google-api-key-dash",
            secret: true,
            prefixed: true,
            make: |s| {
                let t = format!("{}-", token("AIza", s, 34, ALNUM).0);
                (t.clone(), t)
            },
        },
        Kind { name: "google-api-key", secret: true, prefixed: true, make: |s| token("AIza", s, 35, ALNUM) },
        Kind { name: "npm", secret: true, prefixed: true, make: |s| token("npm_", s, 36, ALNUM) },
        Kind { name: "anthropic", secret: true, prefixed: true, make: |s| token("sk-ant-api03-", s, 40, ALNUM) },
        Kind { name: "openai-project", secret: true, prefixed: true, make: |s| token("sk-proj-", s, 40, ALNUM) },
        Kind {
            name: "jwt",
            secret: true,
            prefixed: true,
            make: |s| {
                let t = format!("eyJhbGciOiJIUzI1NiJ9.eyJ{}.{}", chars(s, 20, ALNUM), chars(s + 1, 30, ALNUM));
                (t.clone(), t)
            },
        },
        Kind {
            name: "slack-webhook",
            secret: true,
            prefixed: true,
            make: |s| {
                let path =
                    format!("services/T{}/B{}/{}", chars(s, 8, UPPER), chars(s + 1, 8, UPPER), chars(s + 2, 24, ALNUM));
                (format!("https://hooks.slack.com/{path}"), path)
            },
        },
        Kind {
            name: "email",
            secret: false,
            prefixed: true,
            make: |s| {
                let e = format!(
                    "{}.{}@example.net",
                    chars(s, 5, "abcdefghijklmnopqrstuvwxyz"),
                    chars(s + 1, 4, "abcdefghijklmnopqrstuvwxyz")
                );
                (e.clone(), e)
            },
        },
        Kind {
            name: "url-password-slash-at",
            secret: true,
            prefixed: false,
            make: |s| {
                let p = format!("{}/{}@{}", chars(s, 6, ALNUM), chars(s + 1, 5, ALNUM), chars(s + 2, 6, ALNUM));
                (format!("postgres://app:{p}@db.internal:5432/orders"), p)
            },
        },
        Kind {
            name: "bearer",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = chars(s, 40, ALNUM);
                (format!("Authorization: Bearer {t}"), t)
            },
        },
        Kind {
            name: "basic-auth",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = format!("{}=", chars(s, 23, ALNUM));
                (format!("Authorization: Basic {t}"), t)
            },
        },
        Kind {
            name: "password-pair",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = format!("{}!{}", chars(s, 8, ALNUM), chars(s + 1, 4, ALNUM));
                (format!("DB_PASSWORD={t}"), t)
            },
        },
        Kind {
            name: "aws-secret",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = chars(s, 40, &format!("{ALNUM}/+"));
                (format!("aws_secret_access_key={t}"), t)
            },
        },
        Kind {
            name: "query-token",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = chars(s, 32, ALNUM);
                (format!("https://api.example.com/cb?access_token={t}&page=2"), t)
            },
        },
        Kind {
            name: "cookie",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = chars(s, 32, ALNUM);
                (format!("Cookie: session_id={t}"), t)
            },
        },
        Kind {
            name: "quoted-api-key",
            secret: true,
            prefixed: false,
            make: |s| {
                let t = chars(s, 28, ALNUM);
                (format!("\"api_key\": \"{t}\""), t)
            },
        },
        Kind {
            name: "private-key",
            secret: true,
            prefixed: false,
            make: |s| {
                let body = chars(s, 64, ALNUM);
                (format!("-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"), body)
            },
        },
    ]
}

/// `(position, text with the plant, a string around it that must survive)`.
fn positions(planted: &str, prefixed: bool) -> Vec<(&'static str, String, &'static str)> {
    let enc: String = percent_encoding::utf8_percent_encode(planted, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%5F", "_")
        .replace("%2D", "-")
        .replace("%2E", ".");
    let json_tag = serde_json::json!({"tags": {"user": planted, "release": "1.4.2"}}).to_string();
    let nested = serde_json::json!({"a": {"b": [{"c": planted}], "d": "src/app.js:10:15"}}).to_string();
    let in_string =
        serde_json::json!({"payload": serde_json::json!({"x": planted}).to_string(), "line": "42"}).to_string();
    let mut out = vec![
        ("message", format!("Error: retry 3 of 5: request failed: {planted}"), "retry 3 of 5"),
        ("tag", json_tag, "1.4.2"),
        ("nested-json", nested, "src/app.js:10:15"),
        ("json-in-string", in_string, "line"),
    ];
    if prefixed {
        out.extend([
            ("frame-function", format!("    at fn_{planted} (src/popup/app.js:10:15)"), "(src/popup/app.js:10:15)"),
            ("file", format!("    at load (/srv/app/{planted}/index.js:3:7)"), "/index.js:3:7)"),
            ("url", format!("GET https://api.example.com/v1/items?ref={planted}&page=2 HTTP/1.1"), "&page=2"),
            ("glued", format!("creds_{planted} and key_{planted}_suffix"), " and "),
            (
                "percent-encoded",
                format!("https://app.example.com/login?next=%2Fhome&who={enc}&v=9fd510f"),
                "&v=9fd510f",
            ),
        ]);
    }
    out
}

/// Strings that look a little like secrets or personal data and must come through whole.
const KEPT: &[&str] = &[
    "at renderNote (chrome-extension://abcdefghijklmnopabcdefghijklmnop/popup.js:10:15)",
    "node_modules/react-dom/cjs/react-dom.development.js:3990:14",
    "com.example.billing.ChargeService$Retry.run(ChargeService.java:212)",
    "File \"/app/billing/charge.py\", line 37, in charge",
    "src/main.rs:42:7",
    "9fd510f3a42314d89533d6df8d42c3e2b6f1a0b7",
    "9fd510f",
    "version 10.0.2.15",
    "v2.10.0-beta.1",
    "1.4.2",
    "release 2026.01.12",
    "Chrome/124.0.6367.91",
    "Foo::bar::baz",
    "10:00:00",
    "localhost:8080",
    "ASIA/Tokyo",
    "gh-pages",
    "ghp_short",
    "sk-loading-spinner",
    "task-manager",
    "AKIA",
    "xoxb-",
    "onClick@main.js:3:7",
    "git@github.com:org/repo.git",
    "https://example.com:8443/a/b?page=2&sort=desc",
    "https://host.example:8080/users/a@b",
    "550e8400-e29b-41d4-a716-446655440000",
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "useEffect@webpack-internal:///./src/App.jsx:12:9",
    "line 1337",
    "build 4711",
    "#L120-L135",
    "password_reset_form",
    "getApiKeyFromStore",
    "token_type",
    "[email]",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "0x7ffd5fbff8a0",
    "PID 4242",
    "ERR_CONNECTION_REFUSED",
];

struct Tally {
    planted: usize,
    left: Vec<String>,
    kinds: std::collections::BTreeSet<&'static str>,
    kept: usize,
    damaged: Vec<String>,
    guard_planted: usize,
    guard_missed: Vec<String>,
}

fn scrub_any(scrubber: &Scrubber, text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(mut v) if text.starts_with('{') => {
            scrubber.scrub_json(&mut v);
            v.to_string()
        }
        _ => scrubber.scrub(text).into_owned(),
    }
}

fn measure() -> Tally {
    let scrubber = Scrubber::builtin();
    let mut t = Tally {
        planted: 0,
        left: Vec::new(),
        kinds: Default::default(),
        kept: 0,
        damaged: Vec::new(),
        guard_planted: 0,
        guard_missed: Vec::new(),
    };
    for (i, kind) in kinds().iter().enumerate() {
        let (planted, core) = (kind.make)(1000 + i as u64 * 31);
        for (position, text, context) in positions(&planted, kind.prefixed) {
            let text = text.as_str();
            let out = scrub_any(scrubber, text);
            t.planted += 1;
            t.kinds.insert(kind.name);
            let core_enc = percent_encoding::utf8_percent_encode(&core, percent_encoding::NON_ALPHANUMERIC)
                .to_string()
                .replace("%5F", "_")
                .replace("%2D", "-")
                .replace("%2E", ".");
            let json_core = serde_json::to_string(&core).unwrap_or_default();
            let json_core = json_core.trim_matches('"');
            if out.contains(&core) || out.contains(&core_enc) || out.contains(json_core) {
                t.left.push(format!("{} in {position}: {out}", kind.name));
            }
            t.kept += 1;
            if !out.contains(context) {
                t.damaged.push(format!("`{context}` around {} in {position}: {out}", kind.name));
            }
            // hs-guard reads added lines as they are (JSON included).
            if kind.secret {
                t.guard_planted += 1;
                let found = scrubber.secrets(text);
                let at = text.find(&core).or_else(|| text.find(json_core)).or_else(|| text.find(&core_enc));
                let covered = at.is_some_and(|a| found.iter().any(|(_, r)| r.start <= a && a < r.end));
                if !covered {
                    t.guard_missed.push(format!("{} in {position}: {found:?}", kind.name));
                }
            }
        }
    }
    for kept in KEPT {
        for text in [kept.to_string(), format!("Error at step 3: {kept} (attempt 2)")] {
            t.kept += 1;
            let out = scrubber.scrub(&text);
            if !out.contains(kept) {
                t.damaged.push(format!("{kept}: {out}"));
            }
        }
    }
    t
}

#[test]
fn scrub_corpus_leaves_no_secret_and_damages_nothing() {
    let t = measure();
    println!(
        "scrub corpus: {} secrets, left {}; {} kept strings, damaged {}",
        t.planted,
        t.left.len(),
        t.kept,
        t.damaged.len()
    );
    println!("scrub corpus through hs-guard: {} secrets, missed {}", t.guard_planted, t.guard_missed.len());
    assert!(t.planted >= 150 && t.kinds.len() >= 25, "{} plants of {} kinds", t.planted, t.kinds.len());
    for line in t.left.iter().chain(&t.damaged).chain(&t.guard_missed) {
        println!("  {line}");
    }
    assert!(t.left.is_empty(), "left:\n{}", t.left.join("\n"));
    assert!(t.damaged.is_empty(), "damaged:\n{}", t.damaged.join("\n"));
    assert!(t.guard_missed.is_empty(), "guard missed:\n{}", t.guard_missed.join("\n"));
}
