//! The readers: events streamed from JSON lines, one pretty-printed JSON document or raw
//! log text, and the lines that could not be read.

use std::fmt;
use std::io::BufRead;

use super::sentry::{Document, RawEvent};
use super::{Cut, ErrorEvent, stack};
use crate::error::Position;

/// A line longer than this is reported and skipped.
pub const MAX_LINE: usize = 1 << 20;
/// A pretty-printed JSON document (a Sentry event file) may be this large at most.
pub const MAX_DOCUMENT: usize = 16 << 20;

/// How to read a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// Canonical JSONL or Sentry event JSON, per line or as one pretty-printed document.
    #[default]
    Auto,
    /// Raw log text: every stack trace found in it becomes one event.
    Text,
}

/// A line (or document) that could not be read as an event; reading goes on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    pub at: Position,
    pub reason: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.reason)
    }
}

impl std::error::Error for BadLine {}

/// Streams events from one source.
pub fn read_events<R: BufRead>(source: &str, reader: R, format: InputFormat) -> EventReader<R> {
    EventReader {
        source: source.to_string(),
        reader,
        format,
        line_no: 0,
        buf: Vec::with_capacity(8 * 1024),
        pending: std::collections::VecDeque::new(),
        text: stack::LogScanner::default(),
        done: false,
        seen_content: false,
    }
}

/// The iterator [`read_events`] returns.
pub struct EventReader<R> {
    source: String,
    reader: R,
    format: InputFormat,
    line_no: usize,
    buf: Vec<u8>,
    pending: std::collections::VecDeque<Result<ErrorEvent, BadLine>>,
    text: stack::LogScanner,
    done: bool,
    seen_content: bool,
}

enum LineRead {
    Eof,
    Line,
    TooLong,
    Failed(std::io::Error),
}

impl<R: BufRead> EventReader<R> {
    /// Reads one line into `buf` (without its end), keeping at most [`MAX_LINE`] bytes.
    fn read_line(&mut self) -> LineRead {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return LineRead::Failed(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, end) = match memchr::memchr(b'\n', available) {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !too_long {
                if self.buf.len() + chunk.len() > MAX_LINE {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(used);
            if end {
                break;
            }
        }
        if !any {
            return LineRead::Eof;
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if too_long { LineRead::TooLong } else { LineRead::Line }
    }

    fn bad(&self, line: usize, reason: impl Into<String>) -> BadLine {
        BadLine { at: Position::line(self.source.clone(), line), reason: reason.into() }
    }

    fn next_auto(&mut self) -> Option<Result<ErrorEvent, BadLine>> {
        loop {
            match self.read_line() {
                LineRead::Eof => return None,
                LineRead::Failed(e) => {
                    self.done = true;
                    return Some(Err(self.bad(self.line_no + 1, format!("read failed: {e}"))));
                }
                LineRead::TooLong => {
                    return Some(Err(self.bad(self.line_no, format!("line longer than {MAX_LINE} bytes"))));
                }
                LineRead::Line => {}
            }
            let line = trim_ascii(&self.buf);
            if line.is_empty() {
                continue;
            }
            let first_content = !self.seen_content;
            self.seen_content = true;
            // A pretty-printed document opens with a lone `{` or `[` on its first line;
            // anything else that is cut short is one bad line, and reading goes on.
            if first_content && (line == b"{" || line == b"[") {
                let at = self.line_no;
                return Some(self.read_document(at));
            }
            return parse_line(&self.source, self.line_no, line);
        }
    }

    /// A pretty-printed JSON document starting at `start` (its first line is in `buf`):
    /// reads on to the end of the source, bounded, and queues every event in it.
    fn read_document(&mut self, start: usize) -> Result<ErrorEvent, BadLine> {
        let mut doc = std::mem::take(&mut self.buf);
        doc.push(b'\n');
        let mut too_large = false;
        loop {
            match self.read_line() {
                LineRead::Eof => break,
                LineRead::Failed(e) => return Err(self.bad(self.line_no + 1, format!("read failed: {e}"))),
                LineRead::TooLong => too_large = true,
                LineRead::Line => {
                    if doc.len() + self.buf.len() > MAX_DOCUMENT {
                        too_large = true;
                    }
                    if !too_large {
                        doc.extend_from_slice(&self.buf);
                        doc.push(b'\n');
                    }
                }
            }
        }
        self.done = true;
        if too_large {
            return Err(self.bad(start, format!("JSON document larger than {MAX_DOCUMENT} bytes")));
        }
        let text = match std::str::from_utf8(&doc) {
            Ok(t) => t,
            Err(_) => return Err(self.bad(start, "not UTF-8")),
        };
        let mut events = Vec::new();
        for item in serde_json::Deserializer::from_str(text).into_iter::<Document>() {
            match item {
                Ok(Document::One(raw)) => events.push(raw.into_event().map_err(|r| self.bad(start, r))),
                Ok(Document::Many(list)) => {
                    events.extend(list.into_iter().map(|raw| raw.into_event().map_err(|r| self.bad(start, r))))
                }
                Err(e) => {
                    let line = start + e.line().saturating_sub(1);
                    events.push(Err(self.bad(line, format!("not a JSON event: {}", strip_position(&e)))));
                    break;
                }
            }
        }
        let mut events = events.into_iter();
        let first = events.next().unwrap_or_else(|| Err(self.bad(start, "empty JSON document")));
        self.pending.extend(events);
        first
    }

    fn next_text(&mut self) -> Option<Result<ErrorEvent, BadLine>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(ev);
            }
            if self.done {
                return None;
            }
            match self.read_line() {
                LineRead::Eof => {
                    self.done = true;
                    if let Some(stack) = self.text.finish() {
                        self.pending.push_back(Ok(text_event((stack, self.text.last_cut()))));
                    }
                }
                LineRead::Failed(e) => {
                    self.done = true;
                    self.pending.push_back(Err(self.bad(self.line_no + 1, format!("read failed: {e}"))));
                }
                LineRead::TooLong => {
                    let at = self.line_no;
                    self.pending.push_back(Err(self.bad(at, format!("line longer than {MAX_LINE} bytes"))));
                }
                LineRead::Line => {
                    let line = String::from_utf8_lossy(&self.buf).into_owned();
                    if let Some(stack) = self.text.push(&line) {
                        self.pending.push_back(Ok(text_event((stack, self.text.last_cut()))));
                    }
                }
            }
        }
    }
}

/// One line, as a reader hands it on (to the parallel run).
pub enum RawLine {
    Line(usize, Vec<u8>),
    Bad(BadLine),
}

impl<R: BufRead> EventReader<R> {
    /// Whether the source opens with a pretty-printed JSON document (read it in order then).
    pub fn starts_with_document(&mut self) -> bool {
        let Ok(buf) = self.reader.fill_buf() else { return false };
        let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
        let mut rest = buf.iter().skip_while(|b| b.is_ascii_whitespace());
        match rest.next() {
            Some(b'{' | b'[') => rest.take_while(|b| **b != b'\n').all(u8::is_ascii_whitespace),
            _ => false,
        }
    }

    /// The next raw line, for a caller that parses lines elsewhere ([`parse_line`]).
    pub fn next_raw(&mut self) -> Option<RawLine> {
        match self.read_line() {
            LineRead::Eof => None,
            LineRead::Line => Some(RawLine::Line(self.line_no, std::mem::take(&mut self.buf))),
            LineRead::TooLong => {
                Some(RawLine::Bad(self.bad(self.line_no, format!("line longer than {MAX_LINE} bytes"))))
            }
            LineRead::Failed(e) => {
                self.done = true;
                Some(RawLine::Bad(self.bad(self.line_no + 1, format!("read failed: {e}"))))
            }
        }
    }
}

/// One JSONL line as an event; `None` for a blank line.
pub fn parse_line(source: &str, line_no: usize, bytes: &[u8]) -> Option<Result<ErrorEvent, BadLine>> {
    let line = trim_ascii(bytes);
    if line.is_empty() {
        return None;
    }
    let bad = |reason: String| BadLine { at: Position::line(source.to_string(), line_no), reason };
    if std::str::from_utf8(line).is_err() {
        return Some(Err(bad("not UTF-8".into())));
    }
    Some(match serde_json::from_slice::<RawEvent>(line) {
        Ok(raw) => raw.into_event().map_err(bad),
        Err(e) if line[0] == b'{' || line[0] == b'[' => Err(bad(format!("not a JSON event: {}", strip_position(&e)))),
        Err(_) => Err(bad("not JSON (use --text for log text)".into())),
    })
}

fn text_event((stack, cut_bytes): (String, u64)) -> ErrorEvent {
    ErrorEvent { stack: Some(stack), cut: Cut { frames: 0, bytes: cut_bytes }, ..ErrorEvent::default() }
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = Result<ErrorEvent, BadLine>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.format {
            InputFormat::Text => self.next_text(),
            InputFormat::Auto => {
                if let Some(ev) = self.pending.pop_front() {
                    return Some(ev);
                }
                if self.done {
                    return None;
                }
                self.next_auto()
            }
        }
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.trim_ascii()
}

fn strip_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// Parses one event from a JSON string (canonical or Sentry); used by tests and fuzzing.
pub fn parse_event(text: &str) -> Result<ErrorEvent, String> {
    let raw: RawEvent = serde_json::from_str(text).map_err(|e| strip_position(&e))?;
    raw.into_event()
}
#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, format: InputFormat) -> Vec<Result<ErrorEvent, BadLine>> {
        read_events("in.jsonl", std::io::Cursor::new(text.as_bytes().to_vec()), format).collect()
    }

    #[test]
    fn canonical_lines_and_bad_lines_keep_their_numbers() {
        let text = "{\"message\":\"a\"}\n\nnot json\n{\"type\":\"X\"}\n{\"stack\":\"Error: b\\n  at f (a.js:1:2)\"}\n\u{feff}{\"message\":\"c\"}\n";
        let got = read(text, InputFormat::Auto);
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].as_ref().unwrap().message.as_deref(), Some("a"));
        assert_eq!(got[1].as_ref().unwrap_err().to_string(), "in.jsonl:3: not JSON (use --text for log text)");
        assert_eq!(got[2].as_ref().unwrap_err().to_string(), "in.jsonl:4: no message and no stack");
        assert!(got[3].as_ref().unwrap().stack.is_some());
        assert_eq!(got[4].as_ref().unwrap().message.as_deref(), Some("c"));
    }

    #[test]
    fn a_truncated_line_is_one_bad_line() {
        let got = read("{\"message\": \"cut\n{\"message\":\"ok\"}\n", InputFormat::Auto);
        assert_eq!(got.len(), 2);
        assert!(got[0].as_ref().unwrap_err().to_string().starts_with("in.jsonl:1: not a JSON event"));
        assert_eq!(got[1].as_ref().unwrap().message.as_deref(), Some("ok"));
    }

    #[test]
    fn invalid_utf8_and_long_lines_are_reported() {
        let mut bytes = b"{\"message\":\"\xff\"}\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        bytes.extend(b"\n{\"message\":\"ok\"}\n");
        let got: Vec<_> = read_events("f", std::io::Cursor::new(bytes), InputFormat::Auto).collect();
        assert_eq!(got[0].as_ref().unwrap_err().to_string(), "f:1: not UTF-8");
        assert!(got[1].as_ref().unwrap_err().to_string().starts_with("f:2: line longer than"));
        assert_eq!(got[2].as_ref().unwrap().message.as_deref(), Some("ok"));
    }

    #[test]
    fn pretty_printed_sentry_document() {
        let text = "{\n  \"platform\": \"python\",\n  \"exception\": {\"values\": [\n {\"type\": \"KeyError\", \"value\": \"'x'\",\n  \"stacktrace\": {\"frames\": [{\"function\": \"f\", \"filename\": \"a.py\", \"in_app\": true}]}}]},\n  \"tags\": [[\"a\", \"b\"]]\n}\n";
        let got = read(text, InputFormat::Auto);
        assert_eq!(got.len(), 1);
        let ev = got[0].as_ref().unwrap();
        assert_eq!(ev.exceptions.len(), 1);
        assert_eq!(ev.exceptions[0].frames[0].function.as_deref(), Some("f"));
        assert_eq!(ev.tags.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn text_mode_finds_each_trace() {
        let log = "INFO start\nTraceback (most recent call last):\n  File \"app.py\", line 3, in main\n    run()\nValueError: bad\nINFO next\nException in thread \"main\" java.lang.IllegalStateException: x\n\tat com.a.B.c(B.java:1)\nINFO done\n";
        let got = read(log, InputFormat::Text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].as_ref().unwrap().stack.as_deref().unwrap().ends_with("ValueError: bad"));
        assert!(got[1].as_ref().unwrap().stack.as_deref().unwrap().contains("B.java"));
    }
}
