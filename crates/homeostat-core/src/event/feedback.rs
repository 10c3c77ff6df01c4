//! User feedback sent through the Sentry SDKs — what a user typed into a "report a
//! problem" form — read from the two shapes the SDKs send: the `feedback` envelope item (an
//! event whose `contexts.feedback` holds the message: `Sentry.captureFeedback`, the
//! feedback widget) and the deprecated `user_report` item (`{event_id, name, email,
//! comments}`, older SDKs).
//!
//! The sender's name and email are not kept: nothing downstream needs them and they are
//! personal data. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The longest message kept, in characters (Sentry's widget allows 4,096; an issue body
/// has room for far more, but a wall of text is not feedback anyone reads).
pub const MESSAGE_MAX_CHARS: usize = 8_000;

/// One piece of user feedback.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// Stable across resends: the SDK's event id, or a digest of the report.
    pub id: String,
    pub message: String,
    /// The page the user was on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The error event the user was reacting to, when the SDK tied one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_event_id: Option<String>,
    /// That event's fingerprint, when hs-relay saw the event (so the feedback issue can
    /// name the error's issue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub associated_fingerprint: Option<String>,
    /// Where the SDK says it came from (`widget`, `api`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A `feedback` item's payload (`fallback_id`: the envelope header's `event_id`).
pub fn from_feedback_event(payload: &[u8], fallback_id: Option<&str>) -> Result<Feedback, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("feedback is not JSON: {e}"))?;
    let ctx = v.pointer("/contexts/feedback").ok_or("feedback has no `contexts.feedback`")?;
    let message = text(ctx, "message").ok_or("feedback has no message")?;
    let mut tags = BTreeMap::new();
    // Sentry sends tags as an object or as a list of pairs.
    match v.get("tags") {
        Some(Value::Object(map)) => tags.extend(map.iter().filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))),
        Some(Value::Array(pairs)) => tags.extend(pairs.iter().filter_map(|p| {
            let p = p.as_array()?;
            Some((p.first()?.as_str()?.to_string(), scalar(p.get(1)?)?))
        })),
        _ => {}
    }
    let id = text(&v, "event_id").or_else(|| fallback_id.map(str::to_string));
    Ok(Feedback {
        id: normalise_id(id.as_deref(), &message),
        message: crate::limits::truncate_chars(&message, MESSAGE_MAX_CHARS),
        url: text(ctx, "url").or_else(|| v.pointer("/request/url").and_then(Value::as_str).map(str::to_string)),
        release: text(&v, "release"),
        environment: text(&v, "environment"),
        associated_event_id: text(ctx, "associated_event_id"),
        associated_fingerprint: None,
        source: text(ctx, "source"),
        tags,
    })
}

/// A `user_report` item's payload: comments about one event.
pub fn from_user_report(payload: &[u8]) -> Result<Feedback, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("user report is not JSON: {e}"))?;
    let message = text(&v, "comments").ok_or("user report has no comments")?;
    let event = text(&v, "event_id");
    // One report per event is the SDKs' model, but a user may send two: the comments are
    // part of the identity, so two reports on one event stay two.
    let seed = format!("{}\n{message}", event.as_deref().unwrap_or(""));
    Ok(Feedback {
        id: normalise_id(None, &seed),
        message: crate::limits::truncate_chars(&message, MESSAGE_MAX_CHARS),
        associated_event_id: event,
        source: Some("user_report".into()),
        ..Feedback::default()
    })
}

impl Feedback {
    /// Applies `scrub` to every free text a sender chose: the message, the page address,
    /// the tag values (the relay before storing, hs-issue before keeping a dispatch's).
    pub fn scrub_with(&mut self, scrub: impl Fn(&str) -> String) {
        self.message = scrub(&self.message);
        self.url = self.url.as_deref().map(&scrub);
        for value in self.tags.values_mut() {
            *value = scrub(value);
        }
    }

    /// A one-line title: the message's first line, cut at `max` characters on a word.
    pub fn title(&self, max: usize) -> String {
        let line = self.message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
        if line.chars().count() <= max {
            return line.to_string();
        }
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        let at_word = cut.rfind(char::is_whitespace).filter(|&i| i > max / 2).map_or(cut.as_str(), |i| &cut[..i]);
        format!("{}…", at_word.trim_end())
    }
}

/// 32 lowercase hex digits: the SDK's id when it has that shape (dashes dropped), else a
/// digest of `seed`, so a resent report keeps its identity.
fn normalise_id(id: Option<&str>, seed: &str) -> String {
    if let Some(id) = id {
        let hex = id.replace('-', "").to_ascii_lowercase();
        if hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return hex;
        }
    }
    let digest = Sha256::digest(seed.as_bytes());
    crate::hex::hex(&digest[..16])
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Sentry.captureFeedback` puts in a `feedback` item (@sentry/core 11).
    const WIDGET: &str = r#"{"contexts":{"feedback":{"contact_email":"bob@example.com","name":"Bob",
        "message":"The export button does nothing\nI clicked it three times","url":"https://app.example.com/notes",
        "source":"widget","associated_event_id":"c0ffee00c0ffee00c0ffee00c0ffee00"}},"type":"feedback","level":"info",
        "event_id":"9F1B6C1D-0A6B-4E3A-9B7E-2C1F0A9D8E7F","release":"5.0.0","environment":"production",
        "tags":{"shop":"eu","n":3}}"#;

    #[test]
    fn a_feedback_item_keeps_the_message_and_context_and_drops_the_sender() {
        let fb = from_feedback_event(WIDGET.as_bytes(), None).unwrap();
        assert_eq!(fb.id, "9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f");
        assert_eq!(fb.message, "The export button does nothing\nI clicked it three times");
        assert_eq!(fb.url.as_deref(), Some("https://app.example.com/notes"));
        assert_eq!((fb.release.as_deref(), fb.environment.as_deref()), (Some("5.0.0"), Some("production")));
        assert_eq!(fb.associated_event_id.as_deref(), Some("c0ffee00c0ffee00c0ffee00c0ffee00"));
        assert_eq!(fb.tags.get("n").map(String::as_str), Some("3"));
        let stored = serde_json::to_string(&fb).unwrap();
        assert!(!stored.contains("bob@example.com") && !stored.contains("Bob"), "{stored}");
        assert_eq!(fb.title(80), "The export button does nothing");
    }

    #[test]
    fn a_user_report_is_feedback_about_its_event_and_keeps_its_identity() {
        let report = br#"{"event_id":"c0ffee00c0ffee00c0ffee00c0ffee00","name":"Al","email":"al@example.com","comments":"It crashed when I saved"}"#;
        let a = from_user_report(report).unwrap();
        assert_eq!(a.message, "It crashed when I saved");
        assert_eq!(a.associated_event_id.as_deref(), Some("c0ffee00c0ffee00c0ffee00c0ffee00"));
        assert_eq!(a.id.len(), 32);
        assert_eq!(a.id, from_user_report(report).unwrap().id, "a resent report keeps its id");
        let other = br#"{"event_id":"c0ffee00c0ffee00c0ffee00c0ffee00","comments":"And again"}"#;
        assert_ne!(a.id, from_user_report(other).unwrap().id);
        assert!(!serde_json::to_string(&a).unwrap().contains("al@example.com"));
    }

    #[test]
    fn feedback_without_a_message_or_json_is_refused_with_a_reason() {
        assert_eq!(
            from_feedback_event(br#"{"contexts":{"feedback":{"message":"  "}}}"#, None).unwrap_err(),
            "feedback has no message"
        );
        assert!(from_feedback_event(b"{oops", None).unwrap_err().starts_with("feedback is not JSON"));
        assert_eq!(from_user_report(br#"{"event_id":"x"}"#).unwrap_err(), "user report has no comments");
        // No id of the SDK's shape: the envelope's, else a digest.
        let fb = from_feedback_event(br#"{"contexts":{"feedback":{"message":"hi"}}}"#, Some("abc")).unwrap();
        assert_eq!(fb.id.len(), 32);
    }

    #[test]
    fn long_titles_are_cut_on_a_word() {
        let fb = Feedback { message: format!("{} tail", "word ".repeat(40)), ..Feedback::default() };
        let title = fb.title(60);
        assert!(title.ends_with("word…") && title.chars().count() <= 60, "{title}");
    }
}
