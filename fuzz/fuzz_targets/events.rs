//! Any bytes, read as JSONL/Sentry JSON and as log text, parsed as every platform's stack
//! trace and fingerprinted: nothing may panic.
#![no_main]

use std::sync::LazyLock;

use homeostat_core::event::{ErrorEvent, InputFormat, read_events};
use homeostat_core::fingerprint::stack::{self, Platform};
use homeostat_core::fingerprint::{Engine, message};
use libfuzzer_sys::fuzz_target;

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::builtin);

const PLATFORMS: [Platform; 8] = [
    Platform::JavaScript,
    Platform::Python,
    Platform::Java,
    Platform::Go,
    Platform::Rust,
    Platform::Ruby,
    Platform::CSharp,
    Platform::Other,
];

fuzz_target!(|data: &[u8]| {
    for format in [InputFormat::Auto, InputFormat::Text] {
        for event in read_events("fuzz", std::io::Cursor::new(data), format).flatten() {
            let _ = ENGINE.explain(&event);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = message::parameterize(text);
        for p in PLATFORMS {
            let _ = stack::parse(Some(p), text);
            let event = ErrorEvent { stack: Some(text.to_string()), platform: Some(p.name().into()), ..ErrorEvent::default() };
            let _ = ENGINE.explain(&event);
        }
    }
});
