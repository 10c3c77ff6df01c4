//! From request payloads to spool records, pure: Sentry envelope items and store bodies,
//! canonical JSON lines; every event scrubbed and fingerprinted before anything stores it.

use serde::{Deserialize, Serialize};

use super::RelayError;
use super::envelope::Envelope;
use crate::event::ErrorEvent;
use crate::event::feedback::{self, Feedback};
use crate::event::session::{self, SessionCounts};
use crate::fingerprint::Engine;
use crate::scrub::Scrubber;

/// One line of the spool: an event (scrubbed, with its fingerprint), a piece of user
/// feedback (scrubbed) or an alert message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
// Nearly every record is an event: boxing it would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Event { project: String, fingerprint: String, event: ErrorEvent },
    Feedback { project: String, feedback: Feedback },
    Alert { project: String, message: serde_json::Value },
}

/// What an envelope carries for homeostat: its error events, its user feedback, its
/// sessions (release health), and how many other items (transactions, client reports,
/// attachments…) were accepted and dropped.
#[derive(Debug, Default)]
pub struct Items {
    pub events: Vec<ErrorEvent>,
    pub feedback: Vec<Feedback>,
    /// Release health, counted on `/metrics` and not stored.
    pub sessions: Vec<SessionCounts>,
    pub other: usize,
}

/// The items of an envelope.
pub fn envelope_items(envelope: &Envelope<'_>, max_event_bytes: usize) -> Result<Items, RelayError> {
    let mut items = Items::default();
    let header_id = envelope.header.get("event_id").and_then(|v| v.as_str());
    for (i, item) in envelope.items.iter().enumerate() {
        let kind = item.kind.as_str();
        if matches!(kind, "session" | "sessions") {
            // A broken or oversize session costs its count, never the envelope's events.
            let parse = if kind == "session" { session::from_session } else { session::from_aggregates };
            let parsed = if item.payload.len() > max_event_bytes {
                Err(format!("{kind} of {} bytes is over {max_event_bytes}", item.payload.len()))
            } else {
                parse(item.payload)
            };
            match parsed {
                Ok(counts) => items.sessions.push(counts),
                Err(e) => {
                    tracing::debug!("item {i}: {e}");
                    items.other += 1;
                }
            }
            continue;
        }
        if !matches!(kind, "event" | "feedback" | "user_report") {
            items.other += 1;
            continue;
        }
        if item.payload.len() > max_event_bytes {
            return Err(RelayError::TooLarge(format!(
                "item {i}: {kind} of {} bytes is over {max_event_bytes}",
                item.payload.len()
            )));
        }
        let bad = |e: String| RelayError::BadRequest(format!("item {i}: {e}"));
        match kind {
            "feedback" => items.feedback.push(feedback::from_feedback_event(item.payload, header_id).map_err(bad)?),
            "user_report" => items.feedback.push(feedback::from_user_report(item.payload).map_err(bad)?),
            _ => {
                let mut event = sentry_event(item.payload).map_err(bad)?;
                if event.id.is_none() {
                    event.id = header_id.map(str::to_string);
                }
                items.events.push(event);
            }
        }
    }
    Ok(items)
}

/// Scrubs a piece of feedback's free text (the message, the page address, tag values).
pub fn prepare_feedback(project: &str, mut feedback: Feedback, scrubber: &Scrubber) -> Record {
    feedback.scrub_with(|s| scrubber.scrub(s).into_owned());
    Record::Feedback { project: project.to_string(), feedback }
}

/// One Sentry event JSON (an envelope item or a store body).
pub fn sentry_event(payload: &[u8]) -> Result<ErrorEvent, String> {
    let text = std::str::from_utf8(payload).map_err(|e| format!("event is not UTF-8: {e}"))?;
    crate::event::parse_event(text).map_err(|e| format!("event is not a Sentry event: {e}"))
}

/// Canonical events: one JSON object, a JSON array, or JSON lines.
pub fn canonical_events(body: &[u8]) -> Result<Vec<ErrorEvent>, RelayError> {
    let mut events = Vec::new();
    let reader = crate::event::read_events("body", body, crate::event::InputFormat::Auto);
    for item in reader {
        events.push(item.map_err(|bad| RelayError::BadRequest(bad.to_string()))?);
    }
    if events.is_empty() {
        return Err(RelayError::BadRequest("no event in the body".into()));
    }
    Ok(events)
}

/// Scrubs and fingerprints an event; gives it an id when it has none, so a batch resent
/// after a crash has the same identities (and so the same hs-issue batch key).
pub fn prepare(project: &str, event: ErrorEvent, engine: &Engine, scrubber: &Scrubber) -> Record {
    let mut value = serde_json::to_value(&event).unwrap_or(serde_json::Value::Null);
    scrubber.scrub_json(&mut value);
    // Fails closed: an event that does not survive the round trip (it always does: only
    // strings change) is not kept unscrubbed.
    let mut event: ErrorEvent = serde_json::from_value(value).unwrap_or_else(|_| ErrorEvent {
        message: Some("(an event the relay could not scrub was dropped)".into()),
        ..ErrorEvent::default()
    });
    // How many occurrences an event stands for is the relay's to say (see forward::fold),
    // not a sender's: anyone holding the public DSN key could otherwise inflate a count.
    event.occurrences = None;
    if event.id.is_none() {
        event.id = Some(uuid::Uuid::new_v4().simple().to_string());
    }
    let fingerprint = engine.fingerprint(&event).fingerprint;
    Record::Event { project: project.to_string(), fingerprint, event }
}

/// An event as hs-issue reads it from a dispatch: the canonical fields, with the
/// structured exceptions in Sentry's `exception.values` shape (the readers take that one).
pub fn wire(event: &ErrorEvent) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    let Some(map) = value.as_object_mut() else { return value };
    if let Some(serde_json::Value::Array(list)) = map.remove("exceptions") {
        let values: Vec<serde_json::Value> = list
            .into_iter()
            .map(|mut x| {
                let Some(x_map) = x.as_object_mut() else { return x };
                if let Some(frames) = x_map.remove("frames") {
                    x_map.insert("stacktrace".into(), serde_json::json!({ "frames": frames }));
                }
                if x_map.remove("synthetic").is_some() {
                    x_map.insert("mechanism".into(), serde_json::json!({ "synthetic": true }));
                }
                x
            })
            .collect();
        map.insert("exception".into(), serde_json::json!({ "values": values }));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_scrubbed_before_they_are_stored() {
        let body = br#"{"event_id":"e1"}
{"type":"session"}
{"sid":"x"}
{"type":"event"}
{"exception":{"values":[{"type":"ValueError","value":"bad token ghp_abcdefghijklmnopqrstuvwxyz0123456789 for alice@example.com"}]},"release":"1.2.0","environment":"production","tags":{"user":"bob@example.com"}}
"#;
        let env = super::super::envelope::parse(body).unwrap();
        let items = envelope_items(&env, 1 << 20).unwrap();
        assert_eq!((items.events.len(), items.feedback.len(), items.other), (1, 0, 1));
        let record = prepare("1", items.events[0].clone(), &Engine::builtin(), Scrubber::builtin());
        let Record::Event { event, fingerprint, .. } = record else { panic!("not an event") };
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("ghp_abc") && !text.contains("alice@") && !text.contains("bob@"), "{text}");
        assert_eq!(event.id.as_deref(), Some("e1"));
        assert_eq!(event.release.as_deref(), Some("1.2.0"));
        assert_eq!(fingerprint.len(), 16);
    }

    #[test]
    fn feedback_and_user_reports_are_kept_scrubbed_and_without_their_sender() {
        let body = br#"{"event_id":"9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f","dsn":"http://k@h/1"}
{"type":"feedback"}
{"contexts":{"feedback":{"message":"Export fails, my key is ghp_abcdefghijklmnopqrstuvwxyz0123456789","contact_email":"bob@example.com","name":"Bob","url":"https://app.example.com/?token=s3cr3tvalue&x=1"}},"type":"feedback","release":"5.0.0"}
{"type":"user_report"}
{"event_id":"c0ffee00c0ffee00c0ffee00c0ffee00","name":"Al","email":"al@example.com","comments":"It crashed when I saved"}
"#;
        let env = super::super::envelope::parse(body).unwrap();
        let items = envelope_items(&env, 1 << 20).unwrap();
        assert_eq!((items.events.len(), items.feedback.len(), items.other), (0, 2, 0));
        assert_eq!(items.feedback[0].id, "9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f", "the envelope's id");
        let record = prepare_feedback("1", items.feedback[0].clone(), Scrubber::builtin());
        let text = serde_json::to_string(&record).unwrap();
        for gone in ["ghp_abc", "bob@", "Bob", "s3cr3tvalue"] {
            assert!(!text.contains(gone), "`{gone}` in {text}");
        }
        let Record::Feedback { feedback, .. } = record else { panic!("not feedback") };
        assert!(feedback.message.starts_with("Export fails"), "{}", feedback.message);
        assert_eq!(items.feedback[1].message, "It crashed when I saved");
    }

    #[test]
    fn sessions_are_counted_and_a_broken_or_oversize_one_costs_only_itself() {
        let big = format!(r#"{{"attrs":{{"release":"1"}},"aggregates":[{{"exited":1,"pad":"{}"}}]}}"#, "x".repeat(300));
        let body = format!(
            "{{}}\n{{\"type\":\"session\"}}\n{{\"sid\":\"a\",\"init\":true,\"attrs\":{{\"release\":\"2.0\"}}}}\n\
             {{\"type\":\"session\"}}\n{{\"sid\":\"b\"}}\n{{\"type\":\"sessions\"}}\n{big}\n\
             {{\"type\":\"event\"}}\n{{\"message\":\"boom\"}}\n"
        );
        let env = super::super::envelope::parse(body.as_bytes()).unwrap();
        let items = envelope_items(&env, 256).unwrap();
        assert_eq!((items.events.len(), items.sessions.len(), items.other), (1, 1, 2));
        assert_eq!((items.sessions[0].release.as_str(), items.sessions[0].started), ("2.0", 1));
    }

    #[test]
    fn the_wire_form_reads_back_as_the_same_event() {
        let text = r#"{"event_id":"e2","release":"2.0","exception":{"values":[{"type":"KeyError","value":"'x'","mechanism":{"synthetic":true},
            "stacktrace":{"frames":[{"function":"main","filename":"app.py","lineno":3,"in_app":true},{"function":"load","module":"app.store","lineno":9}]}}]}}"#;
        let event = crate::event::parse_event(text).unwrap();
        let back = crate::event::parse_event(&wire(&event).to_string()).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.exceptions[0].frames.len(), 2);
    }

    #[test]
    fn oversize_and_broken_items_are_refused() {
        let body = b"{}\n{\"type\":\"event\"}\n{\"message\":\"aaaaaaaaaaaaaaaa\"}\n";
        let env = super::super::envelope::parse(body).unwrap();
        assert!(matches!(envelope_items(&env, 8), Err(RelayError::TooLarge(_))));
        let env = super::super::envelope::parse(b"{}\n{\"type\":\"event\"}\n[1,2\n").unwrap();
        assert!(matches!(envelope_items(&env, 100), Err(RelayError::BadRequest(_))));
        let env = super::super::envelope::parse(b"{}\n{\"type\":\"feedback\"}\n{\"contexts\":{}}\n").unwrap();
        let err = envelope_items(&env, 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            RelayError::BadRequest("item 0: feedback has no `contexts.feedback`".into()).to_string()
        );
    }
}
