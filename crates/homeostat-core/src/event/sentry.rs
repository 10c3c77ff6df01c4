//! The union of the canonical and Sentry shapes: serde types (DTOs) for our JSON lines and
//! Sentry's event JSON, turned into the canonical [`ErrorEvent`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Cut, ErrorEvent, Exception, Frame, stack};

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum Document {
    Many(Vec<RawEvent>),
    One(Box<RawEvent>),
}

// Fields that take several JSON shapes are read by hand-written visitors: serde's
// untagged enums buffer every value first, which costs more than the rest of the line.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct RawEvent {
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
    occurrences: Option<u64>,
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
    pub(super) fn into_event(self) -> Result<ErrorEvent, String> {
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
            occurrences: self.occurrences.filter(|n| *n > 1),
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
    use super::super::parse_event;

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
}
