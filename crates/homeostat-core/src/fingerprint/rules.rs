//! The rules file: stack-trace rules (Sentry's "enhancements": `matchers actions`, e.g.
//! `path:**/node_modules/** -app`) and fingerprint rules (`matchers -> values`).
//!
//! Matchers: `path`/`stack.abs_path`, `stack.filename`, `module`/`stack.module`,
//! `function`/`stack.function`, `package`/`stack.package`, `family`, `app`, `category`,
//! `type`/`error.type`, `value`/`error.value`; fingerprint
//! rules add `message`, `release`, `platform`, `surface`, `environment` and `tags.<key>`.
//! A leading `!` negates. `[ m ] | m` matches when the caller (the frame before, away from
//! the crash) matches too; `m | [ m ]` when the callee does.
//! Actions: `+app -app +group -group` (prefix `^`: the frames towards the crash; `v`: the
//! frames away from it), `category=NAME`, `max-frames=N`.

use regex::{Regex, RegexSet};

use crate::error::{InputError, Position, Result};

/// A frame matcher's field: these are matched in one pass per frame with a [`RegexSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameField {
    Path = 0,
    Filename = 1,
    Module = 2,
    Function = 3,
    Package = 4,
}
pub(crate) const FRAME_FIELDS: usize = 5;

#[derive(Debug, Clone)]
pub(crate) enum MatchKind {
    /// Index into the field's pattern list.
    Frame(FrameField, usize),
    Family(Vec<String>),
    App(bool),
    Category(Regex),
    Type(Regex),
    Value(Regex),
    Message(Regex),
    Release(Regex),
    Platform(Regex),
    Surface(Regex),
    Environment(Regex),
    Tag(String, Regex),
}

#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    pub negated: bool,
    pub kind: MatchKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Range {
    Frame,
    /// `^`: frames towards the crash (after this one, in Sentry's order).
    Up,
    /// `v`: frames away from the crash (its callers).
    Down,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    App(Range, bool),
    Group(Range, bool),
    Category(String),
    MaxFrames(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct StackRule {
    pub text: String,
    /// Families this rule can apply to (`None`: all), from its positive `family:` matchers.
    pub families: Option<Vec<String>>,
    /// A positive frame-pattern matcher of the frame itself: no frame hits it, no match.
    pub required: Option<(FrameField, usize)>,
    pub caller: Vec<Matcher>,
    pub frame: Vec<Matcher>,
    pub callee: Vec<Matcher>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone)]
pub(crate) struct FingerprintRule {
    pub text: String,
    pub matchers: Vec<Matcher>,
    pub values: Vec<String>,
    pub title: Option<String>,
}

/// Parsed rules, with the frame patterns compiled into one set per field.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub stack: Vec<StackRule>,
    pub fingerprint: Vec<FingerprintRule>,
    patterns: [Vec<String>; FRAME_FIELDS],
    pub sets: [RegexSet; FRAME_FIELDS],
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            stack: Vec::new(),
            fingerprint: Vec::new(),
            patterns: Default::default(),
            sets: std::array::from_fn(|_| RegexSet::empty()),
        }
    }
}

impl Rules {
    /// Adds the rules in `text` (after those already there).
    pub fn add(&mut self, file: &str, text: &str) -> Result<()> {
        for (n, raw_line) in text.lines().enumerate() {
            let line_no = n + 1;
            let tokens =
                tokenize(raw_line).map_err(|(col, msg)| InputError::new(Position::at(file, line_no, col), msg))?;
            if tokens.is_empty() {
                continue;
            }
            let err = |col: usize, msg: String| InputError::new(Position::at(file, line_no, col), msg);
            let rule_text =
                raw_line.split(" #").next().unwrap_or(raw_line).split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(arrow) = tokens.iter().position(|t| t.text == "->" && !t.quoted) {
                let mut matchers = Vec::new();
                for t in &tokens[..arrow] {
                    matchers.push(self.matcher(t, true).map_err(|m| err(t.col, m))?);
                }
                if matchers.is_empty() {
                    return Err(err(
                        tokens[arrow].col,
                        "a fingerprint rule needs at least one matcher before `->`".into(),
                    ));
                }
                let mut values = Vec::new();
                let mut title = None;
                for t in &tokens[arrow + 1..] {
                    if !t.quoted
                        && let Some(v) = t.text.strip_prefix("title=")
                    {
                        title = Some(v.trim_matches('"').to_string());
                        continue;
                    }
                    if t.quoted {
                        values.push(t.text.clone());
                    } else {
                        values
                            .extend(t.text.split(',').map(str::trim).filter(|v| !v.is_empty()).map(normalize_variable));
                    }
                }
                if values.is_empty() {
                    return Err(err(
                        raw_line.len() + 1,
                        "a fingerprint rule needs at least one value after `->`".into(),
                    ));
                }
                self.fingerprint.push(FingerprintRule { text: rule_text, matchers, values, title });
                continue;
            }
            let rule = self.stack_rule(&tokens, rule_text).map_err(|(col, m)| err(col, m))?;
            self.stack.push(rule);
        }
        self.sets = std::array::from_fn(|i| RegexSet::new(&self.patterns[i]).unwrap_or_else(|_| RegexSet::empty()));
        Ok(())
    }

    fn stack_rule(&mut self, tokens: &[Token], text: String) -> std::result::Result<StackRule, (usize, String)> {
        let mut rule = StackRule {
            text,
            families: None,
            required: None,
            caller: vec![],
            frame: vec![],
            callee: vec![],
            actions: vec![],
        };
        let mut i = 0;
        let bracket =
            |tokens: &[Token], i: &mut usize, this: &mut Self| -> std::result::Result<Vec<Matcher>, (usize, String)> {
                let open = tokens[*i].col;
                *i += 1;
                let mut out = Vec::new();
                while *i < tokens.len() && (tokens[*i].text != "]" || tokens[*i].quoted) {
                    let t = &tokens[*i];
                    out.push(this.matcher(t, false).map_err(|m| (t.col, m))?);
                    *i += 1;
                }
                if *i >= tokens.len() {
                    return Err((open, "`[` is not closed by `]`".into()));
                }
                *i += 1;
                Ok(out)
            };
        if tokens[0].text == "[" && !tokens[0].quoted {
            rule.caller = bracket(tokens, &mut i, self)?;
            if tokens.get(i).is_none_or(|t| t.text != "|") {
                return Err((
                    tokens.get(i).map_or(1, |t| t.col),
                    "expected `|` after the caller matcher `[ … ]`".into(),
                ));
            }
            i += 1;
        }
        while i < tokens.len() {
            let t = &tokens[i];
            if t.text == "|" && !t.quoted {
                i += 1;
                if tokens.get(i).is_none_or(|t| t.text != "[") {
                    return Err((t.col, "expected `[ … ]` (the callee matcher) after `|`".into()));
                }
                rule.callee = bracket(tokens, &mut i, self)?;
                continue;
            }
            if let Some(action) = parse_action(&t.text).filter(|_| !t.quoted) {
                rule.actions.push(action.map_err(|m| (t.col, m))?);
            } else if !rule.actions.is_empty() {
                return Err((t.col, format!("`{}`: matchers go before actions", t.text)));
            } else {
                rule.frame.push(self.matcher(t, false).map_err(|m| (t.col, m))?);
            }
            i += 1;
        }
        if rule.actions.is_empty() {
            return Err((
                tokens[0].col,
                "a stack-trace rule needs an action (+app, -app, +group, -group, category=…, max-frames=…)".into(),
            ));
        }
        if rule.frame.is_empty() && rule.caller.is_empty() && rule.callee.is_empty() {
            return Err((tokens[0].col, "a rule needs at least one matcher".into()));
        }
        for m in &rule.frame {
            if let (false, MatchKind::Frame(field, slot)) = (m.negated, &m.kind) {
                rule.required = Some((*field, *slot));
            }
            if let (false, MatchKind::Family(list)) = (m.negated, &m.kind)
                && !list.iter().any(|f| f == "all")
            {
                rule.families = Some(list.clone());
            }
        }
        Ok(rule)
    }

    fn matcher(&mut self, token: &Token, fingerprint_rule: bool) -> std::result::Result<Matcher, String> {
        let text = token.text.as_str();
        let (negated, text) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let Some((key, arg)) = text.split_once(':') else {
            return Err(format!("`{text}` is not a matcher (key:pattern) or an action"));
        };
        let arg = arg.to_string();
        if arg.is_empty() {
            return Err(format!("`{key}:` needs a pattern"));
        }
        let glob = |case_insensitive: bool, doublestar: bool| glob_regex(&arg, case_insensitive, doublestar);
        let compiled = |case_insensitive: bool| {
            Regex::new(&glob_regex(&arg, case_insensitive, false)).map_err(|e| format!("bad pattern `{arg}`: {e}"))
        };
        let kind = match key {
            "path" | "stack.abs_path" => self.frame_pattern(FrameField::Path, glob(true, true)),
            "stack.filename" | "filename" => self.frame_pattern(FrameField::Filename, glob(true, true)),
            "module" | "stack.module" => self.frame_pattern(FrameField::Module, glob(false, false)),
            "function" | "stack.function" => self.frame_pattern(FrameField::Function, glob(false, false)),
            "package" | "stack.package" => self.frame_pattern(FrameField::Package, glob(true, true)),
            "family" => MatchKind::Family(arg.split(',').map(|s| s.trim().to_string()).collect()),
            "app" | "stack.app" => MatchKind::App(match arg.as_str() {
                "yes" | "true" | "1" => true,
                "no" | "false" | "0" => false,
                other => return Err(format!("app:{other}: expected yes or no")),
            }),
            "category" => MatchKind::Category(compiled(false)?),
            "type" | "error.type" => MatchKind::Type(compiled(false)?),
            "value" | "error.value" => MatchKind::Value(compiled(true)?),
            "mechanism" | "error.mechanism" => return Err(format!("`{key}` is not supported")),
            "message" if fingerprint_rule => MatchKind::Message(compiled(true)?),
            "release" if fingerprint_rule => MatchKind::Release(compiled(false)?),
            "platform" if fingerprint_rule => MatchKind::Platform(compiled(true)?),
            "surface" if fingerprint_rule => MatchKind::Surface(compiled(false)?),
            "environment" if fingerprint_rule => MatchKind::Environment(compiled(false)?),
            k if fingerprint_rule && k.starts_with("tags.") => {
                MatchKind::Tag(k["tags.".len()..].to_string(), compiled(false)?)
            }
            other => return Err(format!("unknown matcher `{other}`")),
        };
        Regex::new(&glob(false, false)).map_err(|e| format!("bad pattern `{arg}`: {e}"))?;
        Ok(Matcher { negated, kind })
    }

    fn frame_pattern(&mut self, field: FrameField, regex: String) -> MatchKind {
        let list = &mut self.patterns[field as usize];
        let slot = match list.iter().position(|p| *p == regex) {
            Some(i) => i,
            None => {
                list.push(regex);
                list.len() - 1
            }
        };
        MatchKind::Frame(field, slot)
    }
}

fn parse_action(text: &str) -> Option<std::result::Result<Action, String>> {
    if let Some(v) = text.strip_prefix("category=") {
        return Some(Ok(Action::Category(v.to_string())));
    }
    if let Some(v) = text.strip_prefix("max-frames=") {
        return Some(v.parse().map(Action::MaxFrames).map_err(|_| format!("max-frames={v}: expected a number")));
    }
    if let Some(v) = text.strip_prefix("min-frames=") {
        return Some(Err(format!("min-frames={v} is not supported")));
    }
    let (range, rest) = match text.as_bytes().first()? {
        b'^' => (Range::Up, &text[1..]),
        b'v' if text.len() > 1 && matches!(text.as_bytes()[1], b'+' | b'-') => (Range::Down, &text[1..]),
        _ => (Range::Frame, text),
    };
    let (flag, name) = match rest.as_bytes().first()? {
        b'+' => (true, &rest[1..]),
        b'-' => (false, &rest[1..]),
        _ => return None,
    };
    match name {
        "app" => Some(Ok(Action::App(range, flag))),
        "group" => Some(Ok(Action::Group(range, flag))),
        other => Some(Err(format!("unknown action `{}{other}`", if flag { '+' } else { '-' }))),
    }
}

/// `{{ default }}`, `{{default}}` → `{{ default }}`; other values as written.
fn normalize_variable(v: &str) -> String {
    match v.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
        Some(inner) => format!("{{{{ {} }}}}", inner.trim()),
        None => v.to_string(),
    }
}

#[derive(Debug)]
struct Token {
    text: String,
    col: usize,
    quoted: bool,
}

/// Splits one rule line into tokens; quotes keep spaces (`function:"a b"`), `{{ x }}` is
/// one token, `#` outside quotes starts a comment.
fn tokenize(line: &str) -> std::result::Result<Vec<Token>, (usize, String)> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let col = i + 1;
        if c == '[' || c == ']' || c == '|' {
            out.push(Token { text: c.to_string(), col, quoted: false });
            i += 1;
            continue;
        }
        if c == '{' && chars.get(i + 1) == Some(&'{') {
            let start = i;
            while i < chars.len() && !(chars[i] == '}' && chars.get(i + 1) == Some(&'}')) {
                i += 1;
            }
            if i >= chars.len() {
                return Err((col, "`{{` is not closed by `}}`".into()));
            }
            i += 2;
            out.push(Token { text: chars[start..i].iter().collect(), col, quoted: false });
            continue;
        }
        let quoted = c == '"';
        let mut text = String::new();
        while i < chars.len() {
            let c = chars[i];
            if c == '"' {
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        // `\"` is a quote; `\\` stays for the glob (an escaped glob character).
                        '\\' if i + 1 < chars.len() && chars[i + 1] == '"' => {
                            text.push('"');
                            i += 2;
                        }
                        '\\' if i + 1 < chars.len() && chars[i + 1] == '\\' => {
                            text.push_str("\\\\");
                            i += 2;
                        }
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        other => {
                            text.push(other);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    return Err((col, "quote is not closed".into()));
                }
                continue;
            }
            if c.is_whitespace() || c == ']' || c == '|' {
                break;
            }
            text.push(c);
            i += 1;
        }
        out.push(Token { text, col, quoted });
    }
    Ok(out)
}

/// Translates a Sentry glob to an anchored regex. With `doublestar`, `*` stays within a
/// path segment and `**` crosses segments; otherwise `*` matches anything. `?` is one
/// character, `[...]` a class, `\x` a literal x.
pub(crate) fn glob_regex(glob: &str, case_insensitive: bool, doublestar: bool) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::with_capacity(glob.len() * 2 + 8);
    if case_insensitive {
        out.push_str("(?i)");
    }
    out.push('^');
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                // `\\x` (as the rules file writes an escaped x) and `\x` are both a literal x.
                let mut j = i + 1;
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                out.push_str(&regex::escape(&chars[j].to_string()));
                i = j + 1;
                continue;
            }
            '*' => {
                if doublestar {
                    if chars.get(i + 1) == Some(&'*') {
                        while chars.get(i + 1) == Some(&'*') {
                            i += 1;
                        }
                        // `**/x` also matches a relative `x` (Sentry retries with a leading `/`).
                        if chars.get(i + 1) == Some(&'/') {
                            out.push_str("(?:.*/)?");
                            i += 1;
                        } else {
                            out.push_str(".*");
                        }
                    } else {
                        out.push_str("[^/]*");
                    }
                } else {
                    out.push_str(".*");
                }
            }
            '?' => out.push_str(if doublestar { "[^/]" } else { "." }),
            '[' => match glob_class(&chars, i, &mut out) {
                Some(next) => {
                    i = next;
                    continue;
                }
                None => out.push_str("\\["),
            },
            other => out.push_str(&regex::escape(&other.to_string())),
        }
        i += 1;
    }
    out.push('$');
    out
}

/// The class `[...]` (`[!...]` or `[^...]` negated) starting at `chars[i]`, pushed onto
/// `out` as a regex class; the index after its `]`, or `None` (nothing pushed) when it is
/// not closed.
fn glob_class(chars: &[char], i: usize, out: &mut String) -> Option<usize> {
    let mut j = i + 1;
    let negate = matches!(chars.get(j), Some('!') | Some('^'));
    if negate {
        j += 1;
    }
    let start = j;
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    if j >= chars.len() {
        return None;
    }
    out.push('[');
    if negate {
        out.push('^');
    }
    for &k in &chars[start..j] {
        if k == '-' {
            out.push('-');
        } else {
            out.push_str(&regex::escape(&k.to_string()));
            if matches!(k, '[' | ']' | '&' | '~') && !out.ends_with(&format!("\\{k}")) {
                out.pop();
                out.push('\\');
                out.push(k);
            }
        }
    }
    out.push(']');
    Some(j + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, ci: bool, ds: bool, value: &str) -> bool {
        Regex::new(&glob_regex(glob, ci, ds)).unwrap().is_match(value)
    }

    #[test]
    fn globs() {
        assert!(m("**/node_modules/**", true, true, "/app/node_modules/x/y.js"));
        assert!(m("**/node_modules/**", true, true, "node_modules/x/y.js"));
        assert!(!m("**/node_modules/**", true, true, "/app/src/y.js"));
        assert!(m("java.*", false, false, "java.lang.Thread"));
        assert!(!m("java.*", false, false, "javax.x"));
        assert!(m("?[[]KSCrash*", false, false, "-[KSCrash foo]"));
        assert!(m("*::operator()*", false, false, "<lambda>::operator()"));
        assert!(m("\\{\\[\\*\\?\\]\\}", true, false, "{[*?]}"));
        assert!(!m("\\{\\[\\*\\?\\]\\}", true, false, "{[xx]}"));
        assert!(m("*/foo", true, true, "a/foo") && !m("*/foo", true, true, "a/b/foo"));
    }

    #[test]
    fn parses_rules_and_reports_positions() {
        let mut r = Rules::default();
        r.add(
            "r.rules",
            "# comment\npath:**/vendor/** -app\n[ category:std ] | category:std category=internals\nfunction:a | [ function:b ] ^-group -group  # trailing\nerror.type:ChunkLoadError -> chunkloaderror\nmessage:\"*timeout*\" tags.region:eu -> timeout, {{ default }} title=\"Timeouts\"\n",
        )
        .unwrap();
        assert_eq!(r.stack.len(), 3);
        assert_eq!(r.stack[1].caller.len(), 1);
        assert_eq!(r.stack[2].callee.len(), 1);
        assert_eq!(r.stack[2].actions.len(), 2);
        assert_eq!(r.fingerprint.len(), 2);
        assert_eq!(r.fingerprint[1].values, vec!["timeout".to_string(), "{{ default }}".to_string()]);
        assert_eq!(r.fingerprint[1].title.as_deref(), Some("Timeouts"));

        let err = Rules::default().add("u.rules", "path:x -app\nfunction:foo +sideways\n").unwrap_err().to_string();
        assert_eq!(err, "u.rules:2:14: unknown action `+sideways`");
        let err = Rules::default().add("u.rules", "colour:red -app").unwrap_err().to_string();
        assert_eq!(err, "u.rules:1:1: unknown matcher `colour`");
        let err = Rules::default().add("u.rules", "path:x").unwrap_err().to_string();
        assert!(err.starts_with("u.rules:1:1: a stack-trace rule needs an action"), "{err}");
        let err = Rules::default().add("u.rules", "type:X ->").unwrap_err().to_string();
        assert!(err.starts_with("u.rules:1:10: a fingerprint rule needs at least one value"), "{err}");
    }
}
