//! The canonical error event, and the readers that produce it from our JSON lines,
//! Sentry event JSON (one per line, or one pretty-printed document) and raw log text.
//!
//! Reading streams: one reused line buffer, lines capped at [`MAX_LINE`]; nothing holds a
//! whole large file in memory (a pretty-printed JSON document is capped at [`MAX_DOCUMENT`]).

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::error::Position;

pub mod stack;

/// A line longer than this is reported and skipped.
pub const MAX_LINE: usize = 1 << 20;
/// A pretty-printed JSON document (a Sentry event file) may be this large at most.
pub const MAX_DOCUMENT: usize = 16 << 20;

/// One production error, as DESIGN.md defines it. Only `message` or `stack` (or Sentry's
/// structured `exceptions`) is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Structured exceptions (from Sentry events), innermost cause first, the thrown
    /// exception last — Sentry's order. When empty, `stack` is parsed instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
    /// A fingerprint the client chose (Sentry's `fingerprint`); `{{ default }}` stands for
    /// the computed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<String>,
    /// The message before its parameters were filled in (Sentry's `logentry.message`): it
    /// groups instead of `message`, so one log call is one issue whatever its values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Frames cut from this event's exceptions (the oldest ones, beyond
    /// [`stack::MAX_FRAMES`] per exception) and bytes cut from its
    /// stack text (beyond [`MAX_STACK_BYTES`]).
    #[serde(default, skip_serializing_if = "Cut::is_empty")]
    pub cut: Cut,
}

/// What was cut from an event to bound memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    #[serde(default)]
    pub frames: u64,
    #[serde(default)]
    pub bytes: u64,
}

impl Cut {
    pub fn is_empty(&self) -> bool {
        self.frames == 0 && self.bytes == 0
    }
}

/// The most stack text kept per event (a trace in a log, or a `stack` field); the rest,
/// the oldest frames, is cut and counted.
pub const MAX_STACK_BYTES: usize = 256 << 10;

/// One exception of a chain, with its frames oldest call first (crashing frame last).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The type was made up by the SDK (Sentry's `mechanism.synthetic`): it does not group.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// The message groups even though frames do: they name only a place, not the code
    /// path (a Rust panic without backtrace: its location alone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub message_groups: bool,
}

/// One stack frame as a parser or an SDK saw it, before normalisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineno: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colno: Option<u64>,
    /// What the client said (Sentry's `in_app`); `None` lets the rules decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<bool>,
}

impl ErrorEvent {
    /// Whether there is anything to fingerprint.
    pub fn has_content(&self) -> bool {
        let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        filled(&self.message)
            || filled(&self.stack)
            || self.exceptions.iter().any(|e| !e.frames.is_empty() || filled(&e.value) || filled(&e.r#type))
    }
}

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

// --- the union of the canonical and Sentry shapes -------------------------------------

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Many(Vec<RawEvent>),
    One(Box<RawEvent>),
}

// Fields that take several JSON shapes are read by hand-written visitors: serde's
// untagged enums buffer every value first, which costs more than the rest of the line.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEvent {
    r#type: Option<String>,
    #[serde(deserialize_with = "de::message")]
    message: Option<String>,
    stack: Option<String>,
    platform: Option<String>,
    surface: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    release: Option<String>,
    environment: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    timestamp: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    id: Option<String>,
    event_id: Option<String>,
    #[serde(deserialize_with = "de::tags")]
    tags: BTreeMap<String, String>,
    exception: Option<ExceptionField>,
    threads: Option<ThreadsField>,
    stacktrace: Option<RawStacktrace>,
    logentry: Option<LogEntryField>,
    fingerprint: Option<Vec<String>>,
}

/// Sentry's `logentry`: a string, or `{formatted, message, params}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum LogEntryField {
    Text(String),
    Entry(RawLogEntry),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawLogEntry {
    #[serde(deserialize_with = "de::scalar")]
    formatted: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    message: Option<String>,
    params: Option<serde::de::IgnoredAny>,
}

impl LogEntryField {
    /// The text shown, and the template that groups when the values were filled in.
    fn split(self) -> (Option<String>, Option<String>) {
        match self {
            LogEntryField::Text(t) => (Some(t), None),
            LogEntryField::Entry(e) => {
                let filled = e.params.is_some() || (e.formatted.is_some() && e.formatted != e.message);
                let template = e.message.clone().filter(|_| filled);
                (e.formatted.or(e.message), template)
            }
        }
    }
}

/// A timestamp as given, except numbers (Unix seconds, as the JavaScript and Python SDKs
/// send them; milliseconds when too large for seconds), which become RFC 3339.
fn normalize_timestamp(ts: String) -> String {
    let t = ts.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        return ts;
    }
    let Ok(mut secs) = t.parse::<f64>() else { return ts };
    if secs.abs() >= 1e11 {
        secs /= 1000.0;
    }
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round() as i32;
    match jiff::Timestamp::new(whole as i64, nanos.clamp(0, 999_999_999)) {
        Ok(stamp) => stamp.to_string(),
        Err(_) => ts,
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ExceptionField {
    Values {
        #[serde(default)]
        values: Option<Vec<Option<RawException>>>,
    },
    List(Vec<Option<RawException>>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ThreadsField {
    Values {
        #[serde(default)]
        values: Option<Vec<Option<RawThread>>>,
    },
    List(Vec<Option<RawThread>>),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawThread {
    stacktrace: Option<RawStacktrace>,
    crashed: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawException {
    r#type: Option<String>,
    value: Option<String>,
    module: Option<String>,
    mechanism: Option<RawMechanism>,
    stacktrace: Option<RawStacktrace>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMechanism {
    synthetic: Option<bool>,
    exception_id: Option<u64>,
    parent_id: Option<u64>,
    is_exception_group: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawStacktrace {
    frames: Option<Vec<Option<RawFrame>>>,
}

/// Visitors for fields that take several shapes.
mod de {
    use std::collections::BTreeMap;
    use std::fmt;

    use serde::Deserializer;
    use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// A string, number or bool, as a string (`null`: none).
    struct ScalarVisitor;
    impl<'de> Visitor<'de> for ScalarVisitor {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a number")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }

    pub fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }

    /// A string, or Sentry's `{formatted, message, params}`.
    pub fn message<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a message string or {formatted, message}")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut formatted, mut message) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "formatted" => formatted = map.next_value_seed(Seed)?,
                        "message" => message = map.next_value_seed(Seed)?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(formatted.or(message))
            }
        }
        d.deserialize_any(V)
    }

    /// A map of tags, or Sentry's list of `[key, value]` pairs.
    pub fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BTreeMap<String, String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of tags or a list of [key, value] pairs")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(BTreeMap::new())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if let Some(v) = map.next_value_seed(Seed)? {
                        out.insert(key, v);
                    }
                }
                Ok(out)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(pair) = seq.next_element::<Vec<Option<serde_json::Value>>>()? {
                    let text = |v: &Option<serde_json::Value>| match v {
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        Some(serde_json::Value::Null) | None => None,
                        Some(other) => Some(other.to_string()),
                    };
                    if let (Some(k), Some(v)) = (pair.first().and_then(text), pair.get(1).and_then(text)) {
                        out.insert(k, v);
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }

    struct Seed;
    impl<'de> serde::de::DeserializeSeed<'de> for Seed {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(ScalarVisitor)
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFrame {
    function: Option<String>,
    raw_function: Option<String>,
    module: Option<String>,
    filename: Option<String>,
    abs_path: Option<String>,
    package: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    lineno: Option<String>,
    #[serde(deserialize_with = "de::scalar")]
    colno: Option<String>,
    in_app: Option<bool>,
}

impl RawStacktrace {
    fn into_frames(self) -> Vec<Frame> {
        let number = |s: Option<String>| s.and_then(|s| s.parse::<u64>().ok());
        self.frames
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .map(|f| Frame {
                function: f.function,
                raw_function: f.raw_function,
                module: f.module,
                filename: f.filename,
                abs_path: f.abs_path,
                package: f.package,
                lineno: number(f.lineno),
                colno: number(f.colno),
                in_app: f.in_app,
            })
            .collect()
    }
}

impl RawEvent {
    fn into_event(self) -> Result<ErrorEvent, String> {
        let (logentry, message_template) = self.logentry.map(LogEntryField::split).unwrap_or_default();
        let message = self.message.or(logentry);
        let mut cut = Cut::default();
        let mut exceptions: Vec<Exception> = Vec::new();
        if let Some(field) = self.exception {
            let list = match field {
                ExceptionField::Values { values } => values.unwrap_or_default(),
                ExceptionField::List(list) => list,
            };
            exceptions = exception_chain(list.into_iter().flatten().collect());
        }
        for e in &mut exceptions {
            cut.frames += stack::cap_frames(&mut e.frames) as u64;
        }
        if exceptions.is_empty()
            && let Some(st) = self.stacktrace
        {
            let frames = st.into_frames();
            let mut frames = frames;
            cut.frames += stack::cap_frames(&mut frames) as u64;
            if !frames.is_empty() {
                exceptions.push(Exception { frames, ..Exception::default() });
            }
        }
        if exceptions.is_empty()
            && let Some(field) = self.threads
        {
            let threads: Vec<RawThread> = match field {
                ThreadsField::Values { values } => values.unwrap_or_default(),
                ThreadsField::List(list) => list,
            }
            .into_iter()
            .flatten()
            .collect();
            // As Sentry: a thread stack groups only when it is unambiguous (one thread),
            // or when one thread is marked as the one that crashed.
            let chosen = if threads.len() == 1 {
                threads.into_iter().next()
            } else {
                threads.into_iter().find(|t| t.crashed == Some(true))
            };
            if let Some(mut frames) = chosen.and_then(|t| t.stacktrace).map(RawStacktrace::into_frames)
                && !frames.is_empty()
            {
                cut.frames += stack::cap_frames(&mut frames) as u64;
                exceptions.push(Exception { frames, ..Exception::default() });
            }
        }
        let tags = self.tags;
        let event = ErrorEvent {
            r#type: self.r#type.filter(|t| t != "error" && t != "default" && t != "transaction"),
            message,
            stack: self.stack,
            platform: self.platform,
            surface: self.surface,
            release: self.release,
            environment: self.environment,
            timestamp: self.timestamp.map(normalize_timestamp),
            id: self.id.or(self.event_id),
            tags,
            exceptions,
            fingerprint: self.fingerprint.unwrap_or_default(),
            message_template,
            cut,
        };
        if !event.has_content() {
            return Err("no message and no stack".into());
        }
        Ok(event)
    }
}

/// Sentry's exception list, with exception groups reduced to their leaves' chain: when
/// `exception_id`/`parent_id` form a tree, the group containers are dropped (their own
/// frames are the aggregation machinery, not the bug).
fn exception_chain(list: Vec<RawException>) -> Vec<Exception> {
    let has_tree = list.iter().any(|e| e.mechanism.as_ref().is_some_and(|m| m.exception_id.is_some()));
    let parents: std::collections::HashSet<u64> = if has_tree {
        list.iter().filter_map(|e| e.mechanism.as_ref().and_then(|m| m.parent_id)).collect()
    } else {
        Default::default()
    };
    let all: Vec<Exception> = list
        .into_iter()
        .filter_map(|e| {
            let mech = e.mechanism.unwrap_or_default();
            let is_group_container =
                mech.is_exception_group == Some(true) && mech.exception_id.is_some_and(|id| parents.contains(&id));
            if is_group_container {
                return None;
            }
            Some(Exception {
                r#type: e.r#type,
                value: e.value,
                module: e.module,
                synthetic: mech.synthetic == Some(true),
                frames: e.stacktrace.map(RawStacktrace::into_frames).unwrap_or_default(),
                message_groups: false,
            })
        })
        .collect();
    all
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
    fn logentry_and_threads() {
        let ev = parse_event(r#"{"logentry": {"formatted": "hello 1"}}"#).unwrap();
        assert_eq!(ev.message.as_deref(), Some("hello 1"));
        let ev = parse_event(
            r#"{"threads": {"values": [{"crashed": true, "stacktrace": {"frames": [{"function": "a"}]}}, {"stacktrace": {"frames": [{"function": "b"}]}}]}}"#,
        )
        .unwrap();
        assert_eq!(ev.exceptions[0].frames[0].function.as_deref(), Some("a"));
        assert!(parse_event(r#"{"threads": {"values": [{}, {}]}}"#).is_err());
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
