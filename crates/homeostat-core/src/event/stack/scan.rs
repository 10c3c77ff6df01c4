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
    /// Bytes in `block`; beyond [`crate::event::MAX_STACK_BYTES`] lines go to `tail`.
    block_bytes: usize,
    /// The last lines of a block too large to keep whole (Python puts the crash there).
    tail: std::collections::VecDeque<String>,
    /// Bytes dropped between `block` and `tail` in the block being read.
    cut: u64,
    /// What was cut from the block last returned.
    last_cut: u64,
    /// A Rust panic block's message was on its head line (old format): no message lines.
    rust_inline: bool,
}

/// Lines kept at the end of a block that overflowed.
const TAIL_LINES: usize = 32;

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

    /// Bytes cut from the block the last `push` or `finish` returned (its middle, when it
    /// was larger than [`crate::event::MAX_STACK_BYTES`]).
    pub fn last_cut(&self) -> u64 {
        self.last_cut
    }

    fn take(&mut self) -> Option<String> {
        self.state = State::Idle;
        self.held.clear();
        self.message_lines = 0;
        self.rust_inline = false;
        self.block_bytes = 0;
        self.last_cut = std::mem::take(&mut self.cut);
        self.block.extend(self.tail.drain(..));
        if self.block.is_empty() {
            return None;
        }
        let text = self.block.join("\n");
        self.block.clear();
        Some(text)
    }

    fn append(&mut self, line: &str) {
        let held = std::mem::take(&mut self.held);
        for l in held.iter().map(String::as_str).chain([line]) {
            self.keep(l);
        }
    }

    /// Keeps a line of the block: in `block` within the byte cap, else in the bounded tail.
    fn keep(&mut self, line: &str) {
        if self.block_bytes + line.len() < crate::event::MAX_STACK_BYTES && self.tail.is_empty() {
            self.block_bytes += line.len() + 1;
            self.block.push(line.to_string());
            return;
        }
        self.tail.push_back(line.to_string());
        if self.tail.len() > TAIL_LINES
            && let Some(old) = self.tail.pop_front()
        {
            self.cut += old.len() as u64 + 1;
        }
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
            State::PythonAfter => self.continues_python_after(line, trimmed),
            State::Go => self.continues_go(line, trimmed),
            State::RustMessage => self.continues_rust_message(line, trimmed),
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

    /// After a Python traceback's exception line: blank lines held, a chained exception's
    /// link or traceback taken.
    fn continues_python_after(&mut self, line: &str, trimmed: &str) -> bool {
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

    /// A Go panic's goroutine dumps: indented frames, goroutine headers, signals, symbols.
    fn continues_go(&mut self, line: &str, trimmed: &str) -> bool {
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

    /// A Rust panic's message (at most 20 lines), until `stack backtrace:` or a note.
    fn continues_rust_message(&mut self, line: &str, trimmed: &str) -> bool {
        if trimmed.starts_with("stack backtrace:") || trimmed.starts_with("note:") {
            self.append(line);
            self.state = State::RustTrace;
            true
        } else if RUST_HEAD.is_match(line)
            || self.rust_inline
            || (self.message_lines > 0 && looks_like_log_line(trimmed))
        {
            // Another panic (the `note:` line is printed once per process), or the
            // log going on after a message.
            false
        } else if self.message_lines < 20 {
            self.message_lines += 1;
            self.append(line);
            true
        } else {
            false
        }
    }

    /// Starts a trace at `line` when it opens one; otherwise remembers it as the possible
    /// header of a trace whose frames follow.
    fn start(&mut self, line: &str) {
        let trimmed = line.trim();
        if let Some(i) = super::find_traceback(line) {
            self.keep(&line[i..]);
            self.state = State::Python;
        } else if let Some(rest) = ["panic: ", "fatal error: "].iter().find_map(|p| line.find(p).map(|i| &line[i..])) {
            self.keep(rest);
            self.state = State::Go;
        } else if let Some(m) = RUST_HEAD.find(line) {
            self.keep(m.as_str());
            self.state = State::RustMessage;
            // `panicked at 'message', src/x.rs:1:2` (old) or `… src/x.rs:1:2: message`.
            let head = m.as_str().trim_end();
            self.rust_inline = !head.ends_with(':');
        } else if let Some(c) = RUBY_HEAD.captures(line).filter(|_| !line.trim_start().starts_with("from ")) {
            self.keep(c.get(1).map_or(trimmed, |m| m.as_str()));
            self.state = State::Generic;
        } else if FRAME_LINE.is_match(line) && !trimmed.starts_with("...") {
            if let Some(head) = self.candidate.take() {
                let head = ERROR_HEAD.find(&head).map_or(head.trim(), |m| m.as_str()).to_string();
                self.keep(&head);
            }
            self.keep(line);
            self.state = State::Generic;
        }
        self.candidate = if self.state == State::Idle && !trimmed.is_empty() { Some(line.to_string()) } else { None };
    }
}

/// A line that starts like a log record (a date, a time or a bracketed level), not like the
/// continuation of a panic message.
fn looks_like_log_line(line: &str) -> bool {
    static LOG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\[?\d{4}-\d{2}-\d{2}[T ]|\[?\d{2}:\d{2}:\d{2}|\[?(?:TRACE|DEBUG|INFO|WARN|WARNING|ERROR)\b)")
            .expect("log line regex")
    });
    LOG.is_match(line)
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

    #[test]
    fn several_panics_in_one_log() {
        let log = "\
thread 'main' panicked at src/a.rs:1:5:
first
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace
thread 'worker' panicked at src/b.rs:2:5:
second
2026-01-01T10:00:00Z INFO restarting
thread 'w2' panicked at 'third', src/c.rs:3:5
thread 'w3' panicked at src/d.rs:4:5: fourth
INFO done";
        let traces = scan(log);
        assert_eq!(traces.len(), 4, "{traces:#?}");
        assert!(traces[0].contains("first") && traces[0].ends_with("backtrace"));
        assert_eq!(traces[1], "thread 'worker' panicked at src/b.rs:2:5:\nsecond");
        assert_eq!(traces[2], "thread 'w2' panicked at 'third', src/c.rs:3:5");
        assert_eq!(traces[3], "thread 'w3' panicked at src/d.rs:4:5: fourth");
    }

    #[test]
    fn huge_traces_are_cut_and_counted() {
        let mut s = LogScanner::default();
        let mut out = Vec::new();
        out.extend(s.push("Error: deep"));
        let frame = "    at f (http://a/app.js:1:2)";
        let n = 100_000;
        for _ in 0..n {
            out.extend(s.push(frame));
        }
        out.extend(s.finish());
        assert_eq!(out.len(), 1);
        let kept = out[0].len();
        assert!(kept <= crate::event::MAX_STACK_BYTES + TAIL_LINES * (frame.len() + 1), "{kept}");
        // Every byte is either kept or counted.
        let total = "Error: deep".len() + n * (frame.len() + 1);
        assert_eq!(kept as u64 + s.last_cut(), total as u64);
    }
}
