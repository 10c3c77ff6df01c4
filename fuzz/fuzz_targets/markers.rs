//! The marker parser on any body, and any text rendered into a body: parsing never
//! panics, a rendered marker always parses back, and no user text before the trailer
//! ever becomes a marker.
#![no_main]

use homeostat_core::markers::{self, Marker};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Any body parses without panicking.
    let _ = markers::parse(text);
    let _ = markers::without_trailer(text);
    // User text + a real trailer: exactly the real markers come back.
    let real = vec![
        Marker::Fingerprint { fingerprint: "0123456789abcdef".into(), algorithm: "v1".into() },
        Marker::State(serde_json::json!({"count": 1, "note": text})),
        Marker::OpsApproval { sop: text.into(), alert: text.into(), plan: "00".into() },
        Marker::Tag(markers::word(text)),
    ];
    let body = markers::body(text, &real);
    let parsed = markers::parse(&body);
    assert_eq!(parsed.len(), real.len(), "{body:?}");
    assert!(!markers::without_trailer(&body).contains("<!--"));
    for m in &real {
        let line = m.render();
        assert_eq!(line.lines().count(), 1);
        assert!(Marker::parse(&line).is_some(), "{line:?}");
    }
    let _ = markers::escape_md(text);
});
