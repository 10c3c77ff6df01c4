//! User rules: rule files that add to, replace or disable the built-in rules, and their
//! errors.

use homeostat::scrub::{Kind, Scrubber};

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
