//! Per-frame normalisation: what of a frame may go into a fingerprint (module or file
//! basename, a cleaned function name), following Sentry's default grouping, plus a few
//! additions for stacks parsed from text (content hashes in bundle names).

use std::sync::LazyLock;

use regex::Regex;

use super::Algorithm;
use super::stack::Platform;
use crate::event::Frame;

/// A frame reduced to what can group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Normalized {
    /// The function as rules see it (the raw name, trimmed of hashes and arguments).
    pub rule_function: Option<String>,
    /// The function as it contributes, or `None` when it is ignored.
    pub function: Option<String>,
    /// The module as it contributes (masked), or `None`.
    pub module: Option<String>,
    /// The module as rules see it.
    pub rule_module: Option<String>,
    /// The file basename as it contributes (lowercased), or `None`.
    pub filename: Option<String>,
    /// The file basename for people.
    pub display_file: Option<String>,
    /// The path rules see (`\` as `/`).
    pub path: Option<String>,
    /// Why the whole frame does not group, if it does not.
    pub dropped: Option<&'static str>,
}

static JAVA_MASKS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("java mask regex");
    vec![
        (r(r"\$\$(Enhancer|FastClass)By(SpringCGLIB|CGLIB|Guice)\$\$[0-9a-fA-F]+"), "$$$$$${1}By${2}$$$$<auto>"),
        (r(r"_\$\$_javassist(?:_seam)?_\d+"), "_$$$$_javassist<auto>"),
        (r(r"\$HibernateProxy\$\w+"), "$$HibernateProxy$$<auto>"),
        (r(r"\$fn__\d+"), "$$fn__<auto>"),
        (
            r(r"^((?:sun|jdk\.internal)\.reflect\.Generated(?:Serialization)?(?:Method|Constructor)Accessor)\d+$"),
            "${1}",
        ),
    ]
});
static RUBY_ERB: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"__\d{4,}_\d{4,}$").expect("erb regex"));
static RUBY_BLOCK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^block (?:\(\d+ levels\) )?in .*$").expect("ruby block regex"));
static LAMBDA_HASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<lambda_[0-9a-fA-F]+>").expect("lambda regex"));
static VERSION_SEGMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^v?\d+(?:\.\d+)+$|^@?\d+$").expect("version regex"));

pub(crate) fn normalize(frame: &Frame, platform: Platform, algorithm: Algorithm) -> Normalized {
    let v2 = algorithm != Algorithm::V1;
    let family = platform.family();
    let abs = frame.abs_path.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let file = frame.filename.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let path = abs.or(file).map(|p| p.replace('\\', "/"));
    let raw_function =
        frame.function.as_deref().or(frame.raw_function.as_deref()).map(str::trim).filter(|f| !f.is_empty());

    let mut out = Normalized { path, ..Normalized::default() };

    // Frames that are noise in JavaScript: eval'd and engine-internal code.
    if family == "javascript"
        && (raw_function == Some("eval")
            || matches!(abs, Some("[native code]" | "native code" | "eval code" | "<anonymous>")))
    {
        out.dropped = Some("ignored low quality javascript frame");
    }

    // Module: masked generated names; JS modules that are just the path are dropped.
    let mut module = frame.module.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
    if family == "javascript" && module.is_none() && abs.is_some_and(is_http_url) {
        module = abs.and_then(|a| module_from_url_as(a, v2));
    }
    out.rule_module = module.clone();
    if let Some(m) = module.take() {
        let keep = match platform {
            Platform::Java if m.contains("$$Lambda$") || m.contains("$$Lambda/") => None,
            Platform::Java => {
                let mut m = m;
                for (re, rep) in JAVA_MASKS.iter() {
                    if re.is_match(&m) {
                        m = re.replace_all(&m, *rep).into_owned();
                    }
                }
                Some(m)
            }
            Platform::JavaScript if m.contains('/') && abs.is_some_and(|a| a.ends_with(m.as_str())) => None,
            _ => Some(m),
        };
        out.module = keep;
    }

    // Filename: basename only; not from URLs or engine placeholders.
    let base = file.or(abs).map(basename).filter(|b| !b.is_empty());
    let base = base.map(|b| if family == "javascript" { strip_hash_as(b, v2) } else { b.to_string() });
    out.display_file = base.clone();
    let url_path = abs.is_some_and(is_http_url) || abs.is_some_and(|a| a.starts_with("blob:"));
    let placeholder = matches!(abs.or(file), Some("<anonymous>" | "[native code]" | "native code" | "eval code"));
    if !url_path && !placeholder {
        out.filename = base.map(|b| b.to_lowercase());
    }

    // Function: cleaned per platform; some names carry nothing.
    let rule_function = raw_function.map(|f| match family {
        "native" => trim_native_function(f),
        _ => f.to_string(),
    });
    out.rule_function = rule_function.clone();
    out.function = rule_function.and_then(|f| clean_function(&f, platform));
    if platform == Platform::Go && algorithm >= Algorithm::V3 {
        out.function = out.function.map(go_closure);
    }
    out
}

/// v3: Go numbers closures in source order (`F.func2.1`), so adding one renumbers the
/// rest; like JavaScript's anonymous functions, only "a closure in F" groups.
fn go_closure(f: String) -> String {
    match f.match_indices(".func").find(|(i, _)| f[i + 5..].starts_with(|c: char| c.is_ascii_digit())) {
        Some((i, _)) => f[..i + 5].to_string(),
        None => f,
    }
}

fn clean_function(f: &str, platform: Platform) -> Option<String> {
    match platform {
        Platform::JavaScript => {
            let f = f.trim_start_matches("async ").trim_start_matches("new ").trim();
            let f = f.split(" (index").next().unwrap_or(f);
            if f.ends_with("/<") {
                return None;
            }
            let f = f.rsplit('.').next().unwrap_or(f);
            match f {
                "" | "?" | "<anonymous>" | "<anonymous function>" | "Anonymous function" => None,
                f => Some(f.to_string()),
            }
        }
        Platform::Java => {
            if f.starts_with("lambda$") || f.contains("$lambda") {
                None
            } else {
                Some(f.to_string())
            }
        }
        Platform::Ruby => {
            let f = RUBY_ERB.replace(f, "");
            if RUBY_BLOCK.is_match(&f) { Some("block".to_string()) } else { Some(f.into_owned()) }
        }
        Platform::Rust | Platform::Native => match f {
            "<unknown>" | "<redacted>" => None,
            f => Some(f.to_string()),
        },
        _ => Some(f.to_string()),
    }
}

/// C++ and Rust symbol names without argument lists and per-build lambda ids:
/// `Ns::f(unsigned long, int) const` → `Ns::f`, `<lambda_5db8…>::operator()` →
/// `<lambda>::operator()`.
pub(crate) fn trim_native_function(f: &str) -> String {
    let f = LAMBDA_HASH.replace_all(f, "<lambda>");
    let mut s = f.trim().trim_end_matches(" const").to_string();
    // Drop a trailing argument list, unless the name is itself `operator()`.
    if s.ends_with(')') && !s.ends_with("operator()") {
        let mut depth = 0i32;
        let bytes = s.as_bytes();
        let mut open = None;
        for i in (0..bytes.len()).rev() {
            match bytes[i] {
                b')' => depth += 1,
                b'(' => {
                    depth -= 1;
                    if depth == 0 {
                        open = Some(i);
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(i) = open.filter(|&i| i > 0) {
            s.truncate(i);
        }
    }
    // Drop a return type (`void ns::f`): the last space-separated word outside `<>`.
    let mut depth = 0i32;
    let mut cut = None;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ' ' if depth == 0 => cut = Some(i),
            _ => {}
        }
    }
    if let Some(i) = cut
        && !s[..i].ends_with("operator")
    {
        s = s[i + 1..].to_string();
    }
    s
}

fn basename(path: &str) -> &str {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

pub(crate) fn is_http_url(path: &str) -> bool {
    let lower = path.get(..8).unwrap_or(path).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Whether a name part is a build artefact (content hash, chunk id) rather than a name.
fn is_hashy(part: &str) -> bool {
    if part.is_empty() {
        return false;
    }
    let digits = part.bytes().filter(u8::is_ascii_digit).count();
    if digits == part.len() {
        return true;
    }
    let hex = part.bytes().all(|b| b.is_ascii_hexdigit());
    let alnum = part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (hex && part.len() >= 6 && digits > 0)
        || (alnum
            && part.len() >= 8
            && digits > 0
            && part.len() - digits > 0
            && part.bytes().any(|b| b.is_ascii_uppercase()))
}

/// v2: the bundler hashes without a digit that [`is_hashy`] keeps — esbuild's 8 base32
/// capitals (`polyfills-EFGSVQYE.js`) and Rollup/Vite's 8 base64url characters
/// (`index-DiwrgTda.js`, `index-C4Fa9-_q.js`) — taken off the end of a stem after a `-`.
fn strip_bundler_hash(stem: &str) -> &str {
    let Some(cut) = stem.len().checked_sub(9) else { return stem };
    let (Some(head), Some(hash)) = (stem.get(..cut), stem.get(cut + 1..)) else { return stem };
    if head.is_empty() || stem.as_bytes()[cut] != b'-' {
        return stem;
    }
    let b = hash.as_bytes();
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_') {
        return stem;
    }
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    let other = b.len() - upper - lower;
    let base32 = lower == 0 && upper > 0 && b.iter().all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(c));
    // A word has at most one capital (`Settings`); a hash mixes them, or adds digits, `-`, `_`.
    let base64 = upper + lower > 0 && (upper >= 2 && lower > 0 || other > 0 && upper > 0);
    if base32 || base64 { head } else { stem }
}

/// [`strip_content_hash`] as an algorithm version does it.
fn strip_hash_as(name: &str, v2: bool) -> String {
    if !v2 {
        return strip_content_hash(name);
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => {
            let stem = strip_bundler_hash(stem);
            strip_content_hash(&format!("{stem}.{ext}"))
        }
        _ => strip_content_hash(name),
    }
}

/// `popup.3f9a2c1b.js` → `popup.js`; `index-BxY7k2Qz.js` → `index.js`; `158.js` stays.
pub(crate) fn strip_content_hash(name: &str) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() < 2 {
        return name.to_string();
    }
    let (ext, stem) = parts.split_last().unwrap_or((&"", &[]));
    let mut kept: Vec<String> = Vec::new();
    for (i, p) in stem.iter().enumerate() {
        if i > 0 && is_hashy(p) {
            continue;
        }
        let p = match p.rsplit_once('-') {
            Some((head, tail)) if !head.is_empty() && is_hashy(tail) => head,
            _ => p,
        };
        kept.push(p.to_string());
    }
    format!("{}.{ext}", kept.join("."))
}

/// A module for a script URL, as Sentry derives one: the path without origin, query,
/// extension, content hashes and version segments (`/static/js/main.3f9a2c1b.js` →
/// `static/js/main`).
#[cfg(test)]
pub(crate) fn module_from_url(url: &str) -> Option<String> {
    module_from_url_as(url, false)
}

fn module_from_url_as(url: &str, v2: bool) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("", |i| &rest[i + 1..]);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut segments: Vec<String> = Vec::new();
    let all: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for (i, seg) in all.iter().enumerate() {
        if i + 1 == all.len() {
            let cleaned = strip_hash_as(seg, v2);
            let stem = cleaned.split('.').next().unwrap_or(&cleaned).to_string();
            if !stem.is_empty() {
                segments.push(stem);
            }
        } else if !is_hashy(seg) && !VERSION_SEGMENT.is_match(seg) {
            segments.push(seg.to_string());
        }
    }
    Some(segments.join("/")).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes() {
        assert_eq!(strip_content_hash("popup.3f9a2c1b.js"), "popup.js");
        assert_eq!(strip_content_hash("index-BxY7k2Qz.js"), "index.js");
        assert_eq!(strip_content_hash("main.js"), "main.js");
        assert_eq!(strip_content_hash("vendor.min.js"), "vendor.min.js");
        assert_eq!(
            module_from_url("https://cdn.x.com/v1.4.2/static/js/main.3f9a2c1b.js?x=1").as_deref(),
            Some("static/js/main")
        );
        assert_eq!(module_from_url("http://localhost:4001/test.html").as_deref(), Some("test"));
    }

    #[test]
    fn bundler_hashes_without_digits() {
        for (name, want) in [
            ("polyfills-EFGSVQYE.js", "polyfills.js"),
            ("chunk-QWERTYUI.js", "chunk.js"),
            ("index-DiwrgTda.js", "index.js"),
            ("index-C4Fa9-_q.js", "index.js"),
            ("MyWidget-DiwrgTda.js", "MyWidget.js"),
            ("app-settings.js", "app-settings.js"),
            ("app-Settings.js", "app-Settings.js"),
            ("react-dom.js", "react-dom.js"),
            ("popup.3f9a2c1b.js", "popup.js"),
        ] {
            assert_eq!(strip_hash_as(name, true), want, "{name}");
        }
        assert_eq!(strip_hash_as("polyfills-EFGSVQYE.js", false), "polyfills-EFGSVQYE.js");
        assert_eq!(module_from_url_as("https://a.com/assets/index-C4Fa9-_q.js", true).as_deref(), Some("assets/index"));
    }

    #[test]
    fn native_names() {
        assert_eq!(
            trim_native_function(
                "Scaleform::GFx::AS3::IMEManager::DispatchEvent(char const *,char const *,char const *)"
            ),
            "Scaleform::GFx::AS3::IMEManager::DispatchEvent"
        );
        assert_eq!(
            trim_native_function("<lambda_5db80dab47756d3e72c2dcd38b80b1dd>::operator()"),
            "<lambda>::operator()"
        );
        assert_eq!(trim_native_function("void foo::bar<int>(int) const"), "foo::bar<int>");
    }

    #[test]
    fn java_masks_and_functions() {
        let f = Frame { function: Some("fn".into()), module: Some("a.B_$$_javassist_74".into()), ..Frame::default() };
        assert_eq!(normalize(&f, Platform::Java, Algorithm::V1).module.as_deref(), Some("a.B_$$_javassist<auto>"));
        let f = Frame {
            function: Some("invoke".into()),
            module: Some("sun.reflect.GeneratedMethodAccessor12".into()),
            ..Frame::default()
        };
        assert_eq!(
            normalize(&f, Platform::Java, Algorithm::V1).module.as_deref(),
            Some("sun.reflect.GeneratedMethodAccessor")
        );
        let f = Frame { function: Some("lambda$run$0".into()), module: Some("a.B".into()), ..Frame::default() };
        assert_eq!(normalize(&f, Platform::Java, Algorithm::V1).function, None);
    }

    #[test]
    fn javascript_functions() {
        for (raw, want) in [
            ("Foo.prototype.testMethod", Some("testMethod")),
            ("Object.<anonymous>", None),
            ("test/<", None),
            ("async renderNote", Some("renderNote")),
        ] {
            let f = Frame { function: Some(raw.into()), ..Frame::default() };
            assert_eq!(normalize(&f, Platform::JavaScript, Algorithm::V1).function.as_deref(), want, "{raw}");
        }
    }
}
