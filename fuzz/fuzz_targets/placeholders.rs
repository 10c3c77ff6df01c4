//! The runbook placeholder filler with any label value: it never panics; a filled
//! argument starts with `-` only when its template does; a URL path value stays one
//! segment and a query value stays one value.
#![no_main]

use homeostat_core::ops::vars::Vars;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    let vars = Vars { values: [("labels.x".to_string(), value.to_string())].into_iter().collect() };
    if let Ok(arg) = vars.expand_arg("${labels.x}") {
        assert!(!arg.starts_with('-'), "{arg:?}");
        assert!(!arg.contains('\n'));
    }
    if let Ok(url) = vars.expand_url("http://127.0.0.1:9/s/${labels.x}/r?q=${labels.x}") {
        let parsed = reqwest_free_check(&url);
        assert!(parsed, "{url:?}");
    }
    let _ = vars.expand_url("${labels.x}/x");
    let _ = vars.expand_regex(value);
    let _ = homeostat_core::ops::vars::check_placeholders(value);
});

/// The filled URL keeps the template's shape: `/s/<one segment>/r?q=<one value>`.
fn reqwest_free_check(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://127.0.0.1:9/s/") else { return false };
    let Some((segment, tail)) = rest.split_once("/r?q=") else { return false };
    !segment.contains(['/', '?', '#']) && !tail.contains(['&', '#', '/', '?', '='])
}
