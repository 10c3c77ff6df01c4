//! Finds every stack trace in raw log text, one line at a time (`--text`).

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

static FRAME_LINE: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new([
        r"^\s+at\s+\S",                                      // V8, JVM, .NET
        r"^\s*[^\s@]*@\S+:\d+(?::\d+)?$",                    // Firefox, Safari
        r"^\s*[^\s@]*@\[native code\]$",                     // Safari built-ins
        r"^\s*(?:from\s+)?[^\s:]+\.(?:rb|erb|rake):\d+:in ", // Ruby
        r"^\s*\.\.\. \d+ (?:more|common frames omitted)$",   // JVM
        r"^(?:Caused by|\s*Suppressed): ",                   // JVM
        r"^\s*--- End of ",                                  // .NET
    ])
    .expect("frame line regexes")
});
static RUBY_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)((?:/|\.{0,2}/|[\w-]+/)?[^\s:]+\.(?:rb|erb|rake):\d+:in [`'].*)$").expect("ruby head")
});
static ERROR_HEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:Exception in thread .*|Unhandled exception\. .*|(?:Uncaught )?[A-Za-z_$][\w$.]*(?:Error|Exception|Panic|Fault)[\w$]*(?::.*)?)$")
        .expect("error head")
});
static GO_SYMBOL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.\-/*()\[\]{}]+\(.*\)$").expect("go symbol line"));
static RUST_HEAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"thread '[^']*' panicked at .*$").expect("rust head"));
static RUST_FRAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s+(?:\d+:|at )\s*\S").expect("rust frame"));

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Idle,
    Generic,
    Python,
    PythonAfter,
    Go,
    RustMessage,
    RustTrace,
}

/// Collects stack traces from log lines: `push` each line, `finish` at the end. Each call
/// returns a trace when the line ended one.
#[derive(Debug, Default)]
pub struct LogScanner {
    state: State,
    block: Vec<String>,
    held: Vec<String>,
    candidate: Option<String>,
    message_lines: usize,
}

impl LogScanner {
    pub fn push(&mut self, line: &str) -> Option<String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if self.continues(line) {
            return None;
        }
        let done = self.take();
        self.start(line);
        done
    }

    pub fn finish(&mut self) -> Option<String> {
        self.take()
    }

    fn take(&mut self) -> Option<String> {
        self.state = State::Idle;
        self.held.clear();
        self.message_lines = 0;
        if self.block.is_empty() {
            return None;
        }
        let text = self.block.join("\n");
        self.block.clear();
        Some(text)
    }

    fn append(&mut self, line: &str) {
        self.block.append(&mut self.held);
        self.block.push(line.to_string());
    }

    /// Whether `line` belongs to the trace being collected (and takes it).
    fn continues(&mut self, line: &str) -> bool {
        let trimmed = line.trim();
        match self.state {
            State::Idle => false,
            State::Generic => {
                if FRAME_LINE.is_match(line) {
                    self.append(line);
                    true
                } else {
                    false
                }
            }
            State::Python => {
                if line.starts_with([' ', '\t']) || trimmed.is_empty() {
                    self.append(line);
                } else {
                    self.append(line);
                    self.state = State::PythonAfter;
                }
                true
            }
            State::PythonAfter => {
                if trimmed.is_empty() {
                    self.held.push(line.to_string());
                    true
                } else if trimmed.starts_with("During handling of the above exception")
                    || trimmed.starts_with("The above exception was the direct cause")
                {
                    self.append(line);
                    true
                } else if super::find_traceback(trimmed).is_some() {
                    self.append(trimmed);
                    self.state = State::Python;
                    true
                } else {
                    false
                }
            }
            State::Go => {
                if trimmed.is_empty() {
                    self.held.push(line.to_string());
                    true
                } else if line.starts_with([' ', '\t'])
                    || trimmed.starts_with("goroutine ")
                    || trimmed.starts_with("created by ")
                    || trimmed.starts_with("[signal ")
                    || GO_SYMBOL.is_match(trimmed)
                {
                    self.append(line);
                    true
                } else {
                    false
                }
            }
            State::RustMessage => {
                if trimmed.starts_with("stack backtrace:") || trimmed.starts_with("note:") {
                    self.append(line);
                    self.state = State::RustTrace;
                    true
                } else if self.message_lines < 20 {
                    self.message_lines += 1;
                    self.append(line);
                    true
                } else {
                    false
                }
            }
            State::RustTrace => {
                if RUST_FRAME.is_match(line) || trimmed.starts_with("note:") || trimmed.starts_with("stack backtrace:")
                {
                    self.append(line);
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Starts a trace at `line` when it opens one; otherwise remembers it as the possible
    /// header of a trace whose frames follow.
    fn start(&mut self, line: &str) {
        let trimmed = line.trim();
        if let Some(i) = super::find_traceback(line) {
            self.block.push(line[i..].to_string());
            self.state = State::Python;
        } else if let Some(rest) = ["panic: ", "fatal error: "].iter().find_map(|p| line.find(p).map(|i| &line[i..])) {
            self.block.push(rest.to_string());
            self.state = State::Go;
        } else if let Some(m) = RUST_HEAD.find(line) {
            self.block.push(m.as_str().to_string());
            self.state = State::RustMessage;
        } else if let Some(c) = RUBY_HEAD.captures(line).filter(|_| !line.trim_start().starts_with("from ")) {
            self.block.push(c.get(1).map_or(trimmed, |m| m.as_str()).to_string());
            self.state = State::Generic;
        } else if FRAME_LINE.is_match(line) && !trimmed.starts_with("...") {
            if let Some(head) = self.candidate.take() {
                let head = ERROR_HEAD.find(&head).map_or(head.trim(), |m| m.as_str()).to_string();
                self.block.push(head);
            }
            self.block.push(line.to_string());
            self.state = State::Generic;
        }
        self.candidate = if self.state == State::Idle && !trimmed.is_empty() { Some(line.to_string()) } else { None };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<String> {
        let mut s = LogScanner::default();
        let mut out: Vec<String> = text.lines().filter_map(|l| s.push(l)).collect();
        out.extend(s.finish());
        out
    }

    #[test]
    fn finds_traces_of_every_kind_between_log_lines() {
        let log = "\
2026-01-01 INFO up
2026-01-01 ERROR Uncaught TypeError: x is undefined
    at f (http://a/app.js:1:2)
    at g (http://a/app.js:3:4)
2026-01-01 INFO next
panic: boom

goroutine 1 [running]:
main.main()
\t/app/main.go:5 +0x1d
exit status 2
thread 'main' panicked at src/main.rs:2:5:
boom
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
INFO after
/app/x.rb:3:in 'foo': bad (RuntimeError)
\tfrom /app/x.rb:7:in '<main>'
done";
        let traces = scan(log);
        assert_eq!(traces.len(), 4, "{traces:#?}");
        assert!(traces[0].starts_with("Uncaught TypeError: x is undefined\n    at f"));
        assert!(traces[1].starts_with("panic: boom") && traces[1].ends_with("+0x1d"));
        assert!(traces[2].ends_with("backtrace"));
        assert!(traces[3].starts_with("/app/x.rb:3:in 'foo'"));
    }
}
