//! Java, Kotlin and other JVM stack traces (`Caused by:`, `... N more`, `Suppressed:`).

use std::sync::LazyLock;

use regex::Regex;

use super::split_header;
use crate::event::{Exception, Frame};

static MODULE_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:[\w.-]+(?:@[\w.-]+)?/)+").expect("java module prefix regex"));
static THREAD_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:.*?Exception in thread "[^"]*"\s+|Caused by:\s+|Suppressed:\s+)"#).expect("java thread regex")
});

pub fn parse(text: &str) -> Vec<Exception> {
    let mut chain: Vec<Exception> = Vec::new();
    let mut suppressed = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || (trimmed.starts_with("...") && trimmed.ends_with("more")) {
            continue;
        }
        if let Some((name, location)) = trimmed
            .strip_prefix("at ")
            .and_then(|b| b.strip_suffix(')'))
            .and_then(|b| b.split_once('('))
            .filter(|(name, _)| !name.is_empty() && !name.contains(' '))
        {
            if suppressed {
                continue;
            }
            if chain.is_empty() {
                chain.push(Exception::default());
            }
            let name = name.trim();
            if let Some(ex) = chain.last_mut() {
                ex.frames.push(java_frame(name, location));
            }
            continue;
        }
        if trimmed.starts_with("Suppressed:") {
            suppressed = true;
            continue;
        }
        let is_cause = trimmed.starts_with("Caused by:");
        if is_cause || chain.is_empty() {
            suppressed = false;
            let header = THREAD_PREFIX.replace(trimmed, "");
            let (ty, value) = split_header(&header);
            chain.push(Exception { r#type: ty, value, ..Exception::default() });
        } else if let Some(ex) = chain.last_mut().filter(|e| e.frames.is_empty()) {
            // A message that goes on over several lines.
            let value = ex.value.get_or_insert_with(String::new);
            value.push('\n');
            value.push_str(trimmed);
        }
    }
    for ex in &mut chain {
        ex.frames.reverse();
    }
    // Text reads outermost first; Sentry's order is innermost cause first.
    chain.reverse();
    chain
}

fn java_frame(name: &str, location: &str) -> Frame {
    let name = if name.contains('/') { MODULE_PREFIX.replace(name, "") } else { name.into() };
    let (module, function) = match name.rsplit_once('.') {
        Some((m, f)) => (Some(m.to_string()), f.to_string()),
        None => (None, name.to_string()),
    };
    let (file, lineno) = match location.rsplit_once(':') {
        Some((f, l)) if l.bytes().all(|b| b.is_ascii_digit()) => (f, l.parse().ok()),
        _ => (location, None),
    };
    let file = match file {
        "Unknown Source" | "Native Method" | "" => None,
        f => Some(f.to_string()),
    };
    Frame { function: Some(function), module, filename: file, lineno, ..Frame::default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caused_by_and_more() {
        let ex = parse(
            "Exception in thread \"main\" java.lang.IllegalStateException: outer\n\tat com.acme.App.run(App.java:10)\n\tat java.base/java.lang.Thread.run(Thread.java:833)\nCaused by: java.io.IOException: inner\n\tat com.acme.Db.read(Db.kt:5)\n\t... 2 more\n",
        );
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].r#type.as_deref(), Some("java.io.IOException"));
        assert_eq!(ex[1].r#type.as_deref(), Some("java.lang.IllegalStateException"));
        assert_eq!(ex[1].frames[0].module.as_deref(), Some("java.lang.Thread"));
        assert_eq!(ex[1].frames[1].function.as_deref(), Some("run"));
        assert_eq!(ex[1].frames[1].filename.as_deref(), Some("App.java"));
    }
}
