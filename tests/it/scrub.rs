//! The scrubber's contract: what it removes, with which placeholder, and what it must
//! leave alone (stack frames, versions, SHAs, UUIDs, timestamps, ports, line numbers).
//!
//! Token-shaped test values are assembled with `concat!` so secret scanners reading this
//! file do not take them for leaked credentials.

use std::borrow::Cow;

use homeostat::scrub::{Kind, Scrubber};

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

// ---------------------------------------------------------------- personal data

#[test]
fn email_in_a_message() {
    becomes("User jane.doe+test@example.co.uk not found", "User [email] not found");
}

#[test]
fn ipv4_keeps_its_port() {
    becomes("connect ECONNREFUSED 10.1.2.3:5432", "connect ECONNREFUSED [ipv4]:5432");
    becomes("client 203.0.113.77 sent a bad header", "client [ipv4] sent a bad header");
}

#[test]
fn ipv6_full_compressed_and_bracketed() {
    becomes("from 2001:0db8:85a3:0000:0000:8a2e:0370:7334 at", "from [ipv6] at");
    becomes("GET http://[2001:db8::1]:8080/health", "GET http://[[ipv6]]:8080/health");
    becomes("peer fe80::1ff:fe23:4567:890a: reset", "peer [ipv6]: reset");
    becomes("bound to ::ffff:192.0.2.128", "bound to [ipv6]");
}

#[test]
fn phone_numbers_international_and_north_american() {
    becomes("call +1 415 555 0100 now", "call [phone] now");
    becomes("tel: +44 20 7946 0958", "tel: [phone]");
    becomes("sms to +4915112345678 failed", "sms to [phone] failed");
    becomes("Contact (415) 555-0100 or 212-555-0199.", "Contact [phone] or [phone].");
}

#[test]
fn card_numbers_that_pass_luhn() {
    becomes("card 4111 1111 1111 1111 declined", "card [card] declined");
    becomes("card=5555-5555-5555-4444;", "card=[card];");
    becomes("amex 378282246310005 ok", "amex [card] ok");
    becomes("4111111111111111 then 2024", "[card] then 2024");
}

#[test]
fn card_like_numbers_that_fail_luhn_stay() {
    untouched("order 4111111111111112 shipped");
    untouched("mixed separators 4111 1111-1111 1111");
}

#[test]
fn card_followed_by_another_number_keeps_that_number() {
    becomes("paid 4111 1111 1111 1111 2024 total", "paid [card] 2024 total");
}

// ---------------------------------------------------------------- secrets

#[test]
fn jwt_anywhere() {
    becomes(&format!("token {JWT} expired"), "token [jwt] expired");
    assert_eq!(Scrubber::builtin().findings(JWT)[0].kind, Kind::Secret);
}

#[test]
fn bearer_token_in_an_authorization_header() {
    becomes("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [bearer-token]");
    becomes(&format!("authorization: bearer {JWT}"), "authorization: bearer [jwt]");
}

#[test]
fn the_word_bearer_in_prose_stays() {
    untouched("the bearer authentication scheme failed");
}

#[test]
fn basic_and_token_authorization_schemes() {
    becomes("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic [credentials]");
    becomes(r#"{"Authorization": "token abcdef123456"}"#, r#"{"Authorization": "token [credentials]"}"#);
}

#[test]
fn github_tokens_of_every_prefix() {
    for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
        let token = format!("{prefix}{}", &GHP[4..]);
        becomes(&format!("push failed ({token})"), "push failed ([github-token])");
    }
    let pat = concat!("github", "_pat_", "11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ");
    becomes(&format!("GH_TOKEN {pat}"), "GH_TOKEN [github-token]");
}

#[test]
fn aws_access_key_and_secret_key_in_context() {
    becomes(&format!("key id {AWS_ID} denied"), "key id [aws-access-key] denied");
    becomes(&format!("aws_secret_access_key={AWS_SECRET}"), "aws_secret_access_key=[aws-secret-key]");
    becomes(&format!(r#"{{"SecretAccessKey": "{AWS_SECRET}"}}"#), r#"{"SecretAccessKey": "[aws-secret-key]"}"#);
    let sts = concat!("AS", "IAY34FZKBOKMUTVV7A");
    becomes(&format!("temporary {sts}"), "temporary [aws-access-key]");
}

#[test]
fn slack_tokens_and_webhook_urls() {
    let bot = concat!("xo", "xb-", "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx");
    becomes(&format!("slack said invalid_auth for {bot}"), "slack said invalid_auth for [slack-token]");
    let hook = concat!("https://hooks.slack.com/", "services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX");
    becomes(&format!("POST {hook} 404"), "POST https://hooks.slack.com/[slack-webhook] 404");
}

#[test]
fn stripe_keys_secret_and_publishable() {
    let live = concat!("sk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc");
    let restricted = concat!("rk_", "live_", "4eC39HqLyjWDarjtT1zdp7dc");
    becomes(&format!("stripe {live} / {restricted}"), "stripe [stripe-key] / [stripe-key]");
    let publishable = concat!("pk_", "live_", "TYooMQauvdEDq54NiTphI7jx");
    let f = Scrubber::builtin().findings(publishable);
    assert_eq!((f[0].rule.as_str(), f[0].kind), ("stripe-publishable-key", Kind::Personal));
}

#[test]
fn openai_and_anthropic_keys() {
    let proj = concat!("sk-", "proj-", "Ab3dEf6hIj9lMn2pQr5tUv8xYz_1-AbCdEfGh");
    let classic = concat!("sk-", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKl");
    let anthropic = concat!("sk-", "ant-", "api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
    becomes(&format!("OPENAI {proj} {classic}"), "OPENAI [openai-key] [openai-key]");
    becomes(&format!("x-api-key: {anthropic}"), "x-api-key: [anthropic-key]");
}

#[test]
fn kebab_case_identifiers_starting_with_sk_stay() {
    untouched("class sk-loading-spinner-container-wrapper-big not found");
}

#[test]
fn pem_private_key_blocks_over_many_lines() {
    let text = concat!(
        "failed to load key:\n-----BEGIN RSA ",
        "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7v1Qx\n",
        "a3B4c5D6e7F8g9H0\n-----END RSA PRIVATE KEY-----\nretrying"
    );
    becomes(text, "failed to load key:\n[private-key]\nretrying");
    let openssh =
        concat!("-----BEGIN OPENSSH ", "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----");
    becomes(openssh, "[private-key]");
}

#[test]
fn truncated_pem_block_still_goes() {
    let text = concat!("key: -----BEGIN ", "PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nAbCd");
    becomes(text, "key: [private-key]");
}

#[test]
fn password_in_a_url_keeps_the_rest_readable() {
    becomes(
        "could not connect to postgres://app:s3cr3t!@db.internal:5432/orders",
        "could not connect to postgres://app:[redacted]@db.internal:5432/orders",
    );
    becomes("redis://:hunter22@cache:6379/0", "redis://:[redacted]@cache:6379/0");
}

#[test]
fn secrets_in_query_strings() {
    becomes(
        "GET /cb?code=abc123&state=xyz&token=t0k3n&api_key=k3y&password=pw123&secret=s3c",
        "GET /cb?code=[redacted]&state=xyz&token=[redacted]&api_key=[redacted]&password=[redacted]&secret=[redacted]",
    );
    becomes(
        "https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=abcdef0123&X-Amz-Expires=300",
        "https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=[redacted]&X-Amz-Expires=300",
    );
}

#[test]
fn cookie_and_set_cookie_values() {
    becomes("Cookie: sid=abc123; theme=dark", "Cookie: [cookie]");
    becomes("set-cookie: session=xyz789; Path=/; HttpOnly\nnext", "set-cookie: [cookie]\nnext");
    becomes(r#"{"cookie": "sid=abc123"}"#, r#"{"cookie": "[cookie]"}"#);
}

#[test]
fn password_pairs_quoted_and_unquoted() {
    becomes(r#"{"user": "bob", "password": "hunter2"}"#, r#"{"user": "bob", "password": "[redacted]"}"#);
    becomes("DB_PASSWORD=correct-horse-battery", "DB_PASSWORD=[redacted]");
    becomes("login --password=hunter2 --verbose", "login --password=[redacted] --verbose");
    becomes("password = 'p@ss w0rd'", "password = '[redacted]'");
    becomes(r#"body: {\"password\":\"hunter2\"}"#, r#"body: {\"password\":\"[redacted]\"}"#);
}

#[test]
fn password_references_and_types_are_not_secrets() {
    untouched("password: string;");
    untouched("password=${DB_PASSWORD}");
    untouched(r#""password": "{{ secrets.DB_PASSWORD }}""#);
    untouched("token=process.env.API_TOKEN");
    untouched("password_hint=true");
    untouched(r#"{"forgot_password": "Forgot your password?"}"#);
    untouched("System.Private.CoreLib, Version=4.0.0.0, Culture=neutral, PublicKeyToken=7cec85d7bea7798e");
    untouched("GET /v1/items?page_token=abc123def&limit=50");
}

#[test]
fn secrets_inside_tags_and_nested_json() {
    let mut event = serde_json::json!({
        "message": "login failed for ann@example.com",
        "tags": {"user.email": "ann@example.com", "ip": "198.51.100.7", "release": "1.4.2"},
        "extra": [{"headers": {"Authorization": "Bearer abcdefgh12345678"}}],
        "count": 3
    });
    Scrubber::builtin().scrub_json(&mut event);
    assert_eq!(
        event,
        serde_json::json!({
            "message": "login failed for [email]",
            "tags": {"user.email": "[email]", "ip": "[ipv4]", "release": "1.4.2"},
            "extra": [{"headers": {"Authorization": "Bearer [bearer-token]"}}],
            "count": 3
        })
    );
}

#[test]
fn json_keys_are_scrubbed_without_losing_entries() {
    let mut value = serde_json::json!({"a@example.com": 1, "b@example.com": 2, "[email]": 0});
    Scrubber::builtin().scrub_json(&mut value);
    let obj = value.as_object().unwrap();
    assert_eq!(obj.len(), 3);
    let mut values: Vec<i64> = obj.values().map(|v| v.as_i64().unwrap()).collect();
    values.sort();
    assert_eq!(values, [0, 1, 2]);
    assert!(obj.keys().all(|k| !k.contains("example.com")), "{obj:?}");
}

#[test]
fn secrets_inside_a_stack_trace_go_and_the_frames_stay() {
    let text = format!(
        "Error: request to https://api.example.com/v1?api_key=k3y123 failed for jo@example.org\n    \
         at fetchUser (webpack:///./src/api.js:10:15)\n    at async Object.handler (/app/dist/server.js:42:7)\n\
         Authorization: Bearer {GHP}"
    );
    assert_eq!(
        scrub(&text),
        "Error: request to https://api.example.com/v1?api_key=[redacted] failed for [email]\n    \
         at fetchUser (webpack:///./src/api.js:10:15)\n    at async Object.handler (/app/dist/server.js:42:7)\n\
         Authorization: Bearer [github-token]"
    );
}

#[test]
fn findings_name_rule_kind_and_input_range() {
    let text = format!("mail bob@example.com key {GHP} done");
    let found = Scrubber::builtin().findings(&text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!((found[0].rule.as_str(), found[0].kind), ("email", Kind::Personal));
    assert_eq!(&text[found[0].range.clone()], "bob@example.com");
    assert_eq!((found[1].rule.as_str(), found[1].kind), ("github-token", Kind::Secret));
    assert_eq!(&text[found[1].range.clone()], GHP);
}

#[test]
fn findings_ranges_point_into_the_input_after_earlier_replacements() {
    // The URL password is replaced before the email rule runs on shifted text.
    let text = "a https://u:pw12345@h.example.com/x b carol@example.net c";
    let found = Scrubber::builtin().findings(text);
    let pieces: Vec<&str> = found.iter().map(|f| &text[f.range.clone()]).collect();
    assert_eq!(pieces, ["pw12345", "carol@example.net"], "{found:?}");
}

#[test]
fn scrubbing_twice_changes_nothing_more() {
    let text = format!("{GHP} password=hunter2 ann@example.com 10.0.0.1 ?token=abc123 Cookie: a=b");
    let once = scrub(&text);
    assert_eq!(scrub(&once), once);
    assert!(Scrubber::builtin().findings(&once).is_empty());
}

// ---------------------------------------------------------------- non-damage

#[test]
fn javascript_stack_frames_stay() {
    untouched(
        "TypeError: Cannot read properties of undefined (reading 'id')\n    \
         at renderNote (chrome-extension://abcdefghijklmnop/popup.js:10:15)\n    \
         at HTMLButtonElement.<anonymous> (https://app.example.com/static/js/main.3f2a1b.js:2:1034)\n\
         onClick@main.js:3:7\nrenderNote@https://cdn.example.com/app.min.js:1:2345",
    );
}

#[test]
fn python_stack_frames_stay() {
    untouched(
        "Traceback (most recent call last):\n  File \"/srv/app/handlers/orders.py\", line 3, in create\n    \
         total = compute(items)\n  File \"/usr/lib/python3.12/decimal.py\", line 1234, in compute\n\
         KeyError: 'price'",
    );
}

#[test]
fn rust_and_go_frames_stay() {
    untouched("thread 'main' panicked at src/main.rs:42:7:\ncalled `Option::unwrap()` on a `None` value");
    untouched("   3: homeostat::scrub::Scrubber::run\n             at ./src/scrub.rs:210:13");
    untouched("goroutine 1 [running]:\nmain.main()\n\t/home/dev/app/main.go:27 +0x1d\nexit status 2");
}

#[test]
fn java_frames_stay() {
    untouched(
        "java.lang.NullPointerException: null\n\tat com.example.orders.OrderService.total(OrderService.java:123)\n\t\
         at java.base/java.lang.Thread.run(Thread.java:1583)",
    );
}

#[test]
fn versions_stay() {
    untouched("release 1.4.2 and v2.10.0-rc.1 and 3.0.0-beta.4+build.5");
    untouched("upgrade to version 10.0.2.15 failed");
    untouched("v10.0.2.15");
    untouched(r#"{"version": "10.0.2.15", "release": "4.3.2.1"}"#);
    untouched("Mozilla/5.0 Chrome/120.0.6099.109 Safari/537.36 Foo/10.0.2.15");
    untouched("windows 10.0.19041.1 and 1.2.3.4.5");
}

#[test]
fn commit_shas_stay() {
    untouched("fixed in 9fceb02d0ae598e95dc970b74767f19372d61af8 (short 9fceb02, 9fceb02d0ae5)");
    untouched("sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn uuids_stay() {
    untouched("order 550e8400-e29b-41d4-a716-446655440000 not found");
    untouched("request-id: 123e4567-e89b-12d3-a456-426614174000");
}

#[test]
fn timestamps_stay() {
    untouched("at 2026-01-21T10:00:00Z and 2026-01-21T10:00:00.123+05:30 and 2026-01-21 10:00:00,123");
    untouched("epoch 1737453600 ms 1737453600000 ns 1737453600000000000");
    untouched("Mon, 21 Jan 2026 10:00:00 GMT");
}

#[test]
fn ports_and_line_numbers_stay() {
    untouched("listening on localhost:8080 and :3000, line 1234, col 56, exit code 137");
    untouched("app.js:10:15 main.rs:42:7 Foo.java:123 x.py:3");
}

#[test]
fn code_paths_hex_and_numbers_stay() {
    untouched("std::io::Error at foo::bar::<T>::baz and Foo::Bar()");
    untouched("segfault at 0x7ffd5fbff8a0 ip 0x000055d4c3a1b2c3");
    untouched("retrying in 500 ms (attempt 3/5), 100 200 3000 items, +1 more, @@ -1,7 +1,12 @@");
    untouched("ssh: connect to host git@github.com port 22; remote git@gitlab.example.org:acme/app.git");
    untouched("npm ERR! @scope/pkg@1.2.3 and lodash@4.17.21 and https://deno.land/std@0.200.0/mod.ts");
}

#[test]
fn mac_addresses_and_clock_times_are_not_ipv6() {
    untouched("at 10:00:00 and 23:59:59.999, mac 00:1a:2b:3c:4d:5e");
}

#[test]
fn clean_text_is_borrowed() {
    let text = "nothing to see here: TypeError at app.js:1:1";
    assert!(matches!(Scrubber::builtin().scrub(text), Cow::Borrowed(_)));
}

// ---------------------------------------------------------------- user rules

#[test]
fn user_rules_add_to_the_builtins() {
    let s = Scrubber::with_rules(
        "extra.yml",
        "version: 1\nrules:\n  - name: employee-id\n    category: personal\n    pattern: '\\bEMP-[0-9]{6}\\b'\n",
    )
    .unwrap();
    assert_eq!(s.scrub("EMP-123456 wrote ann@example.com"), "[employee-id] wrote [email]");
    assert_eq!(s.findings("EMP-123456")[0].kind, Kind::Personal);
}

#[test]
fn user_rules_can_replace_and_disable_builtins() {
    let s = Scrubber::with_rules(
        "extra.yml",
        "version: 1\nrules:\n  - name: email\n    category: personal\n    placeholder: '[mail]'\n    \
         pattern: '[a-z]+@corp\\.example'\ndisable: [phone-nanp]\n",
    )
    .unwrap();
    assert_eq!(s.scrub("ann@corp.example 415-555-0100 bob@other.org"), "[mail] 415-555-0100 bob@other.org");
    assert!(!s.rule_names().any(|n| n == "phone-nanp"));
}

#[test]
fn bad_regex_is_an_input_error_at_its_line() {
    let text = "version: 1\nrules:\n  - name: broken\n    category: secret\n    pattern: 'abc(['\n";
    let err = Scrubber::with_rules("extra.yml", text).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    let message = err.to_string();
    assert!(message.starts_with("extra.yml:5:14: rule `broken`: invalid regex"), "{message}");
}

#[test]
fn bad_rule_files_name_the_file_and_position() {
    let cases = [
        ("version: 1\nrules:\n  - name: x\n    category: secrit\n    pattern: 'a'\n", "extra.yml:4:"),
        ("version: 2\n", "extra.yml:1:"),
        (
            "version: 1\nrules:\n  - name: x\n    category: secret\n    pattern: 'a'\n    placeholder: 'X'\n",
            "extra.yml:6:",
        ),
        ("version: 1\ndisable: [no-such-rule]\n", "extra.yml:2:11:"),
        ("version: 1\nrules:\n  - name: e\n    category: secret\n    pattern: 'a*'\n", "extra.yml:5:"),
        ("version: 1\nrules:\n  - name: x\n    category: secret\n    pattern: 'a'\n    colour: red\n", "extra.yml:6:"),
    ];
    for (text, prefix) in cases {
        let err = Scrubber::with_rules("extra.yml", text).unwrap_err();
        assert_eq!(err.exit_code(), 2, "{text}");
        assert!(err.to_string().starts_with(prefix), "{text}\n=> {err}");
    }
}

#[test]
fn config_scrubber_loads_the_configured_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "version: 1\nrules:\n  - name: ticket\n    category: secret\n    pattern: 'TKT-[0-9]+'\n",
    )
    .unwrap();
    let config_path = dir.path().join("homeostat.yml");
    std::fs::write(&config_path, "scrub:\n  rules: rules.yml\n").unwrap();
    let config = homeostat::settings::Config::load(&config_path).unwrap();
    let s = homeostat::scrub::config_scrubber(&config).unwrap();
    assert_eq!(s.scrub("TKT-42"), "[ticket]");

    let missing = homeostat::settings::Config::parse("h.yml", "scrub:\n  rules: /nonexistent/rules.yml\n").unwrap();
    assert_eq!(homeostat::scrub::config_scrubber(&missing).unwrap_err().exit_code(), 2);
    let none = homeostat::settings::Config::default();
    assert_eq!(homeostat::scrub::config_scrubber(&none).unwrap().scrub("a@example.com"), "[email]");
}

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

// ---------------------------------------------------------------- generated inputs

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
