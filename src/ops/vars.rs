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
}
