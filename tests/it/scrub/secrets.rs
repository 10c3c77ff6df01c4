//! Secrets: tokens and keys of every provider, authorization headers, private keys,
//! passwords in URLs, query strings, cookies and JSON; what a finding reports.

use homeostat::scrub::{Kind, Scrubber};

use super::{AWS_ID, AWS_SECRET, GHP, JWT, becomes, scrub, untouched};

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
