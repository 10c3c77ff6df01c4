//! `${NAME}` placeholders in runbook values: `${labels.x}` and `${annotations.x}` from the
//! alert, `${alert.name}`, `${alert.fingerprint}`, and anything else from the config's
//! `ops.vars`, then the environment. A placeholder replaces text inside one value (one URL,
//! one argument): it never splits into several arguments, and what it produces is checked
//! again by the executor (hosts, run ids, names).

use std::collections::BTreeMap;

/// Where placeholder values come from.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub values: BTreeMap<String, String>,
}

impl Vars {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// Replaces every placeholder; the first undefined one is an error naming it.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        self.expand_with(text, |v| v.to_string())
    }

    /// Replaces placeholders in a regex with their values escaped as literals.
    pub fn expand_regex(&self, text: &str) -> Result<String, String> {
        self.expand_with(text, regex::escape)
    }

    fn expand_with(&self, text: &str, quote: impl Fn(&str) -> String) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("unclosed placeholder in `{text}`"))?;
            let name = &after[..end];
            let value = self.get(name).ok_or_else(|| format!("${{{name}}} is not defined"))?;
            out.push_str(&quote(value));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Where a placeholder lands, which decides how its value is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Scheme and host of a URL: filled as is (the host is checked against the allowlist
    /// afterwards), but a value from the alert may not carry `@`, `/`, `?`, `#` or `\`.
    Base,
    /// One path segment: percent-encoded, `/` included; `.` and `..` are refused.
    Path,
    /// A query value: encoded as a form value (`&`, `=`, `#`, `+` cannot add a parameter).
    Query,
    Fragment,
}

/// Placeholders whose values come from the alert (anyone who can send one writes them).
pub fn from_alert(name: &str) -> bool {
    name.starts_with("labels.") || name.starts_with("annotations.") || name.starts_with("alert.")
}

const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

impl Vars {
    /// One command argument. The value fills it and never splits it; a filled argument
    /// can start with `-` only when the template's own text does, so a value can never
    /// become an option (`--upload-pack=…`). NUL and line breaks are refused.
    pub fn expand_arg(&self, template: &str) -> Result<String, String> {
        let filled = self.expand(template)?;
        if filled.starts_with('-') && !template.starts_with('-') {
            return Err(format!("`{template}` would start an option (`{}`): refused", cut_value(&filled)));
        }
        if filled.contains(['\0', '\n', '\r']) {
            return Err(format!("`{template}`: a value carries a NUL or a line break: refused"));
        }
        Ok(filled)
    }

    /// A URL: each placeholder is encoded for where it lands in the template (see [`Slot`]).
    pub fn expand_url(&self, template: &str) -> Result<String, String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("unclosed placeholder in `{template}`"))?;
            let name = &after[..end];
            let value = self.get(name).ok_or_else(|| format!("${{{name}}} is not defined"))?;
            out.push_str(&fill_url(slot_at(&out), name, value)?);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The part of a URL that text appended to `so_far` lands in.
fn slot_at(so_far: &str) -> Slot {
    let Some((_, after)) = so_far.split_once("://") else { return Slot::Base };
    if after.contains('#') {
        Slot::Fragment
    } else if after.contains('?') {
        Slot::Query
    } else if after.contains('/') {
        Slot::Path
    } else {
        Slot::Base
    }
}

fn fill_url(slot: Slot, name: &str, value: &str) -> Result<String, String> {
    use percent_encoding::utf8_percent_encode;
    match slot {
        Slot::Base => {
            if from_alert(name) && value.contains(['@', '/', '?', '#', '\\', ' ', '\n', '\r']) {
                return Err(format!("${{{name}}} may not carry `@ / ? # \\` or spaces in a URL's host"));
            }
            Ok(value.to_string())
        }
        Slot::Path => {
            if value.is_empty() || value == "." || value == ".." {
                return Err(format!("${{{name}}} = `{value}` is not a path segment"));
            }
            Ok(utf8_percent_encode(value, SEGMENT).to_string())
        }
        Slot::Query | Slot::Fragment => Ok(utf8_percent_encode(value, SEGMENT).to_string()),
    }
}

fn cut_value(v: &str) -> String {
    crate::limits::truncate_chars(v, 60)
}

/// The placeholder names used in `text`.
pub fn names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// `text` with every placeholder replaced by `x` (to check a regex before values exist).
pub fn blank(text: &str) -> String {
    let mut out = text.to_string();
    for name in names(text) {
        out = out.replace(&format!("${{{name}}}"), "x");
    }
    out
}

/// Placeholders must be closed and named with letters, digits, `_`, `-` and `.`.
pub fn check_placeholders(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("unclosed placeholder in `{text}`"))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            return Err(format!("bad placeholder `${{{name}}}` in `{text}`"));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_names_the_missing_one() {
        let vars = Vars { values: BTreeMap::from([("HEALTH_URL".into(), "http://127.0.0.1:9/h".into())]) };
        assert_eq!(vars.expand("${HEALTH_URL}?x=1").unwrap(), "http://127.0.0.1:9/h?x=1");
        assert_eq!(vars.expand("${NOPE}").unwrap_err(), "${NOPE} is not defined");
        assert_eq!(names("a ${x} b ${labels.y}"), vec!["x", "labels.y"]);
        assert!(check_placeholders("${a b}").is_err());
        assert!(check_placeholders("${a").is_err());
    }

    fn alert_vars(value: &str) -> Vars {
        Vars {
            values: BTreeMap::from([
                ("labels.v".into(), value.into()),
                ("APP_URL".into(), "http://127.0.0.1:8080/base".into()),
            ]),
        }
    }

    #[test]
    fn an_argument_value_never_starts_an_option() {
        let v = alert_vars("--upload-pack=touch /tmp/x");
        assert!(v.expand_arg("${labels.v}").is_err());
        assert_eq!(v.expand_arg("--remote=${labels.v}").unwrap(), "--remote=--upload-pack=touch /tmp/x");
        assert!(alert_vars("a\nb").expand_arg("${labels.v}").is_err());
        assert_eq!(alert_vars("origin").expand_arg("${labels.v}").unwrap(), "origin");
    }

    #[test]
    fn url_placeholders_are_encoded_for_where_they_land() {
        let v = alert_vars("../../admin/x?y=1#z");
        assert_eq!(
            v.expand_url("http://127.0.0.1:9/services/${labels.v}/restart").unwrap(),
            "http://127.0.0.1:9/services/..%2F..%2Fadmin%2Fx%3Fy%3D1%23z/restart"
        );
        assert_eq!(
            v.expand_url("http://h/q?name=${labels.v}&a=1").unwrap(),
            "http://h/q?name=..%2F..%2Fadmin%2Fx%3Fy%3D1%23z&a=1"
        );
        assert!(alert_vars("..").expand_url("http://h/s/${labels.v}").is_err());
        assert_eq!(v.expand_url("${APP_URL}/x").unwrap(), "http://127.0.0.1:8080/base/x");
        assert!(alert_vars("evil.com/").expand_url("http://${labels.v}/x").is_err());
        assert!(alert_vars("a@evil.com").expand_url("http://${labels.v}/x").is_err());
        assert_eq!(alert_vars("web-1").expand_url("http://${labels.v}:8080/x").unwrap(), "http://web-1:8080/x");
        // After a trusted base, the path is a path.
        assert_eq!(
            v.expand_url("${APP_URL}/s/${labels.v}").unwrap(),
            "http://127.0.0.1:8080/base/s/..%2F..%2Fadmin%2Fx%3Fy%3D1%23z"
        );
    }
}
