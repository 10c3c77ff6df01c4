//! GitHub Actions I/O: the environment, the event payload, step outputs (random heredoc
//! delimiters), the step summary, annotations, masks and log groups.
//!
//! Every environment variable homeostat reads is named in [`vars`], and read once into
//! an [`Env`] snapshot, so tests pass their own environment instead of mutating the
//! process's.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Position, Result};

/// The single registry of environment variables homeostat reads.
pub mod vars {
    pub const HOMEOSTAT_CONFIG: &str = "HOMEOSTAT_CONFIG";
    pub const HOMEOSTAT_LOG: &str = "HOMEOSTAT_LOG";
    /// Pins the run's clock (RFC 3339): tests, demos and replays act at a chosen time.
    pub const HOMEOSTAT_NOW: &str = "HOMEOSTAT_NOW";
    /// `fast`: no gap between GitHub writes and short backoffs (tests against a stand-in).
    pub const HOMEOSTAT_GITHUB_RETRY: &str = "HOMEOSTAT_GITHUB_RETRY";
    pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
    pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
    pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
    pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
    pub const GITHUB_SERVER_URL: &str = "GITHUB_SERVER_URL";
    pub const GITHUB_EVENT_NAME: &str = "GITHUB_EVENT_NAME";
    pub const GITHUB_EVENT_PATH: &str = "GITHUB_EVENT_PATH";
    pub const GITHUB_OUTPUT: &str = "GITHUB_OUTPUT";
    pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
    pub const GITHUB_ACTOR: &str = "GITHUB_ACTOR";
    pub const GITHUB_RUN_ID: &str = "GITHUB_RUN_ID";
    pub const GITHUB_SHA: &str = "GITHUB_SHA";
    pub const GITHUB_REF_NAME: &str = "GITHUB_REF_NAME";
}

/// A snapshot of the environment variables homeostat reads.
#[derive(Debug, Clone, Default)]
pub struct Env {
    values: BTreeMap<String, String>,
}

impl Env {
    pub fn from_process() -> Self {
        Self { values: std::env::vars().collect() }
    }
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { values: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.get(name).map(PathBuf::from)
    }
    /// True inside a GitHub Actions job.
    pub fn in_actions(&self) -> bool {
        self.get(vars::GITHUB_ACTIONS) == Some("true")
    }
    pub fn token(&self) -> Option<&str> {
        self.get(vars::GITHUB_TOKEN)
    }
    pub fn repository(&self) -> Option<&str> {
        self.get(vars::GITHUB_REPOSITORY)
    }
    pub fn event_name(&self) -> Option<&str> {
        self.get(vars::GITHUB_EVENT_NAME)
    }
    /// Where the triggering event's payload is (`$GITHUB_EVENT_PATH`), for messages.
    pub fn event_path(&self) -> Option<std::path::PathBuf> {
        self.path(vars::GITHUB_EVENT_PATH)
    }
    /// The triggering event's payload (`$GITHUB_EVENT_PATH`), if there is one.
    pub fn event_payload(&self) -> Result<Option<serde_json::Value>> {
        let Some(path) = self.event_path() else { return Ok(None) };
        let text = crate::error::read_to_string(&path)?;
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::input(
                Position::at(path.display().to_string(), e.line(), e.column()),
                format!("event payload is not JSON: {e}"),
            )
        })
    }
}

/// Writes results for the Actions runner. Outside Actions every method is a no-op, so
/// callers need not check.
#[derive(Debug, Clone, Default)]
pub struct Actions {
    output: Option<PathBuf>,
    summary: Option<PathBuf>,
    enabled: bool,
}

/// GitHub caps a step summary at 1 MiB; past it the upload fails.
pub const STEP_SUMMARY_MAX_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnnotationLevel {
    Notice,
    Warning,
    Error,
}

/// A workflow-command annotation on a file position.
#[derive(Debug, Clone, Default)]
pub struct Annotation<'a> {
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub end_line: Option<usize>,
    pub col: Option<usize>,
    pub title: Option<&'a str>,
}

impl Actions {
    pub fn new(env: &Env) -> Self {
        Self {
            output: env.path(vars::GITHUB_OUTPUT),
            summary: env.path(vars::GITHUB_STEP_SUMMARY),
            enabled: env.in_actions(),
        }
    }

    /// Sets a step output. Multi-line values use a random heredoc delimiter that cannot
    /// occur in the value, so untrusted text cannot forge other outputs.
    pub fn set_output(&self, name: &str, value: &str) -> Result<()> {
        let Some(path) = &self.output else { return Ok(()) };
        append(path, &format_output(name, value))
    }

    /// Appends markdown to the step summary, cut to stay within GitHub's 1 MiB.
    pub fn append_summary(&self, markdown: &str) -> Result<()> {
        let Some(path) = &self.summary else { return Ok(()) };
        let used = std::fs::metadata(path).map(|m| m.len() as usize).unwrap_or(0);
        let room = STEP_SUMMARY_MAX_BYTES.saturating_sub(used);
        // A blank line between two steps' parts, or a table runs into the next heading.
        let mut text = if used > 0 { format!("\n{markdown}") } else { markdown.to_string() };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        if text.len() > room {
            let note = "\n\n_(summary cut at GitHub's 1 MiB limit)_\n";
            let keep = floor_char_boundary(&text, room.saturating_sub(note.len()));
            text.truncate(keep);
            text.push_str(note);
        }
        append(path, &text)
    }

    /// Prints an annotation workflow command on stdout.
    pub fn annotate(&self, level: AnnotationLevel, at: &Annotation<'_>, message: &str) {
        if self.enabled {
            println!("{}", format_annotation(level, at, message));
        }
    }

    /// Masks a secret in the job's logs from here on.
    pub fn mask(&self, secret: &str) {
        if self.enabled && !secret.is_empty() {
            for line in secret.lines().filter(|l| !l.trim().is_empty()) {
                println!("::add-mask::{}", escape_data(line));
            }
        }
    }

    /// Opens a collapsible log group; it closes when the guard drops.
    pub fn group(&self, title: &str) -> Group {
        if self.enabled {
            println!("::group::{}", escape_data(title));
        }
        Group { enabled: self.enabled }
    }

    /// Echoes untrusted text: scrubbed, and no line of it can be a workflow command.
    pub fn print_untrusted(&self, text: &str) {
        println!("{}", log_safe(text));
    }
}

/// Ends a log group when dropped.
#[must_use]
pub struct Group {
    enabled: bool,
}

impl Drop for Group {
    fn drop(&mut self) {
        if self.enabled {
            println!("::endgroup::");
        }
    }
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}

/// `name<<delim\nvalue\ndelim\n` with a delimiter that does not occur in the value.
pub fn format_output(name: &str, value: &str) -> String {
    let delimiter = loop {
        let d = format!("ghadelimiter_{}", uuid::Uuid::new_v4());
        if !value.contains(&d) {
            break d;
        }
    };
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// `::error file=..,line=..::message` with data and properties escaped as the runner wants.
pub fn format_annotation(level: AnnotationLevel, at: &Annotation<'_>, message: &str) -> String {
    let command = match level {
        AnnotationLevel::Notice => "notice",
        AnnotationLevel::Warning => "warning",
        AnnotationLevel::Error => "error",
    };
    let mut props = Vec::new();
    if let Some(file) = at.file {
        props.push(format!("file={}", escape_property(file)));
    }
    for (key, value) in [("line", at.line), ("endLine", at.end_line), ("col", at.col)] {
        if let Some(v) = value {
            props.push(format!("{key}={v}"));
        }
    }
    if let Some(title) = at.title {
        props.push(format!("title={}", escape_property(title)));
    }
    let props = if props.is_empty() { String::new() } else { format!(" {}", props.join(",")) };
    format!("::{command}{props}::{}", escape_data(message))
}

/// Text homeostat logs, made fit for a public Actions log: secrets scrubbed by the
/// built-in rules, and no line can be read as a workflow command ([`neutralise_commands`]).
/// Every log line goes through it: `tracing` ([`SafeStderr`]), warnings, errors, dry runs.
pub fn log_safe(text: &str) -> String {
    neutralise_commands(&homeostat_core::scrub::Scrubber::builtin().scrub(text))
}

/// Prints one line on stderr through [`log_safe`].
pub fn eprint_safe(text: &str) {
    eprintln!("{}", log_safe(text));
}

/// A line the runner would read as a workflow command (`::error::`, `::add-mask::`,
/// `::stop-commands::`, `::set-output`, the old `##[set-output …]`) gets a zero-width
/// space after its first character: it reads the same and runs nothing.
pub fn neutralise_commands(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        if body.starts_with("::") || body.starts_with("##[") {
            out.push_str(indent);
            out.push_str(&body[..1]);
            out.push('\u{200B}');
            out.push_str(&body[1..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// stderr for `tracing`: each event is written whole through [`log_safe`].
#[derive(Default)]
pub struct SafeStderr {
    buf: Vec<u8>,
}

impl Write for SafeStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            std::io::stderr().write_all(log_safe(&text).as_bytes())?;
        }
        Ok(())
    }
}

impl Drop for SafeStderr {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The largest index ≤ `at` that is a char boundary of `s`.
pub fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_text_runs_no_workflow_command_and_leaks_no_token() {
        let text = "ok\n::error::pwned\n  ::add-mask::x\n##[set-output name=a;]b\nkey ghp_0123456789abcdefghijABCDEFGHIJ012345";
        let safe = log_safe(text);
        for line in safe.lines() {
            let t = line.trim_start();
            assert!(!t.starts_with("::") && !t.starts_with("##["), "{line}");
        }
        assert!(!safe.contains("ghp_0123"), "{safe}");
        assert!(safe.contains("pwned") && safe.starts_with("ok\n"));
    }

    #[test]
    fn output_delimiter_never_occurs_in_value() {
        let value = "line\nghadelimiter_x\nEOF";
        let out = format_output("result", value);
        let delim = out.lines().next().unwrap().strip_prefix("result<<").unwrap().to_string();
        assert!(delim.starts_with("ghadelimiter_"));
        assert!(!value.lines().any(|l| l == delim));
        assert!(out.ends_with(&format!("\n{delim}\n")));
    }

    #[test]
    fn annotations_escape_data_and_properties() {
        let at = Annotation { file: Some("a,b:c.rs"), line: Some(3), title: Some("t"), ..Default::default() };
        let s = format_annotation(AnnotationLevel::Error, &at, "50%\nnext");
        assert_eq!(s, "::error file=a%2Cb%3Ac.rs,line=3,title=t::50%25%0Anext");
    }

    #[test]
    fn summary_is_cut_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let env = Env::from_pairs([(vars::GITHUB_STEP_SUMMARY, summary.to_str().unwrap())]);
        let actions = Actions::new(&env);
        actions.append_summary(&"é".repeat(STEP_SUMMARY_MAX_BYTES)).unwrap();
        let len = std::fs::metadata(&summary).unwrap().len() as usize;
        assert!(len <= STEP_SUMMARY_MAX_BYTES, "{len}");
        assert!(std::fs::read_to_string(&summary).unwrap().ends_with("limit)_\n"));
    }

    #[test]
    fn outputs_are_appended_only_when_the_runner_asks() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        Actions::new(&Env::default()).set_output("a", "b").unwrap();
        assert!(!out.exists());
        let env = Env::from_pairs([(vars::GITHUB_OUTPUT, out.to_str().unwrap())]);
        Actions::new(&env).set_output("a", "b").unwrap();
        assert!(std::fs::read_to_string(&out).unwrap().starts_with("a<<ghadelimiter_"));
    }
}
