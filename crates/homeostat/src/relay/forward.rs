//! The forwarder: takes batches from the spool and hands them on — as
//! `repository_dispatch` events to GitHub (the token stays on the server; each dispatch
//! within GitHub's 64 KB / 10-key limits) or, in direct mode, through the issue flow.
//! A batch is acknowledged only after every part of it went through; a failed batch is
//! tried again whole, and hs-issue's batch keys make a resent batch count nothing twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::config::ForwardConfig;
use super::ingest::Record;
use super::metrics::Metrics;
use super::spool::{Batch, Spool};
use crate::event::ErrorEvent;
use crate::fingerprint::Engine;
use crate::forge::Forge;
use crate::ledger::Ledger;
use crate::scrub::Scrubber;
use crate::settings::Config;

/// Bytes of one dispatch's `client_payload` (GitHub refuses past 64 KB).
pub const PAYLOAD_BUDGET: usize = 60_000;
/// The dispatch event type hs-issue's workflow listens for.
pub const EVENT_TYPE: &str = "production-error";
/// The dispatch event type hs-issue reads user feedback from.
pub const FEEDBACK_EVENT_TYPE: &str = crate::issues::feedback::EVENT_TYPE;
/// The dispatch event type hs-ops' workflow listens for.
pub const ALERT_EVENT_TYPE: &str = "alert";

/// Where batches go.
pub enum Target {
    /// One forge per project id (its `repo`), and the default one for the rest.
    Dispatch { forges: BTreeMap<String, Arc<dyn Forge>>, default: Arc<dyn Forge> },
    /// The issue flow in-process.
    Direct(Box<Direct>),
}

/// What the in-process issue flow needs.
pub struct Direct {
    pub forge: Box<dyn Forge>,
    pub config: Config,
    pub ledger: Ledger,
    pub scrubber: Scrubber,
    pub engine: Engine,
}

/// Opens where batches go, through the composition root (inside the runtime that will
/// drive the forge): the issue flow on the chosen forge (direct), or one forge per
/// repository (dispatch; GitHub with a token, else the chosen forge, e.g. the local one).
pub fn open_target(
    ctx: &crate::app::Context,
    relay: &super::RelayConfig,
    choice: &crate::app::ForgeChoice,
) -> crate::Result<Target> {
    let default = ctx.open_forge(choice)?;
    if relay.forward.mode == super::ForwardMode::Direct {
        let config = &ctx.config;
        return Ok(Target::Direct(Box::new(Direct {
            forge: default,
            config: config.clone(),
            ledger: Ledger::open(&config.ledger.path),
            scrubber: crate::scrub::config_scrubber(config)?,
            engine: crate::input::engine_for(config, None)?,
        })));
    }
    let mut forges: BTreeMap<String, Arc<dyn Forge>> = BTreeMap::new();
    if default.kind() == "github" {
        for p in &relay.projects {
            if let Some(repo) = &p.repo {
                let mut one = choice.clone();
                one.repo = Some(repo.clone());
                forges.insert(p.id.clone(), Arc::from(ctx.open_forge(&one)?));
            }
        }
    }
    Ok(Target::Dispatch { forges, default: Arc::from(default) })
}

/// Forwards every `every` until `stop`, then once more briefly, leaving the rest spooled.
pub async fn forward_loop(
    spool: Spool,
    metrics: Arc<Metrics>,
    target: Target,
    config: ForwardConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let every = config.every.as_std().max(Duration::from_millis(100));
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(every) => false,
            _ = stop.changed() => true,
        };
        let round = forward_all(&spool, &metrics, &target, config.max_events);
        if stopping {
            if tokio::time::timeout(Duration::from_secs(10), round).await.is_err() {
                tracing::warn!("stopping with {} bytes left in the spool", spool.backlog());
            }
            return;
        }
        round.await;
    }
}

/// Forwards batches until the spool is empty or one fails.
async fn forward_all(spool: &Spool, metrics: &Metrics, target: &Target, max_events: usize) {
    loop {
        let batch = match spool.next_batch(max_events) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                tracing::error!("spool: {e}");
                return;
            }
        };
        if let Err(e) = send(target, &batch).await {
            metrics.forward_failed();
            tracing::warn!("forwarding batch {} failed, will retry: {e}", batch.id());
            return;
        }
        if let Err(e) = spool.ack(&batch) {
            tracing::error!("spool: {e}");
            return;
        }
        metrics.forwarded(batch.records.len());
        tracing::info!("forwarded batch {} ({} records)", batch.id(), batch.records.len());
    }
}

async fn send(target: &Target, batch: &Batch) -> crate::Result<()> {
    match target {
        Target::Dispatch { forges, default } => {
            let pick = |project: &str| forges.get(project).unwrap_or(default).clone();
            for (i, (forge, payload)) in dispatches(batch, pick).into_iter().enumerate() {
                let kind = if payload.get("events").is_some() {
                    EVENT_TYPE
                } else if payload.get("feedback").is_some() {
                    FEEDBACK_EVENT_TYPE
                } else {
                    ALERT_EVENT_TYPE
                };
                forge
                    .repository_dispatch(kind, &payload)
                    .await
                    .map_err(|e| crate::Error::Failed(format!("dispatch {} of batch {}: {e}", i + 1, batch.id())))?;
            }
            Ok(())
        }
        Target::Direct(d) => direct(d, batch).await,
    }
}

/// An event and the fingerprint the relay gave it.
type Fingerprinted<'a> = (&'a str, &'a ErrorEvent);

/// The batch as dispatches: events per forge, repeats folded ([`fold`]), cut into payloads
/// under the budget, each with a stable `batch` id; feedback per forge the same way (its
/// own payloads, `{"feedback": […], "batch"}`); alerts one per dispatch, as hs-ops reads
/// them.
pub fn dispatches(batch: &Batch, pick: impl Fn(&str) -> Arc<dyn Forge>) -> Vec<(Arc<dyn Forge>, Value)> {
    let mut events: Vec<(Arc<dyn Forge>, Vec<Fingerprinted>)> = Vec::new();
    let mut feedback: Vec<(Arc<dyn Forge>, Vec<Value>)> = Vec::new();
    let mut out = Vec::new();
    for record in &batch.records {
        match record {
            Record::Event { project, event, fingerprint } => add_to(&mut events, pick(project), (fingerprint, event)),
            Record::Feedback { project, feedback: f } => {
                add_to(&mut feedback, pick(project), serde_json::to_value(f).unwrap_or(Value::Null))
            }
            Record::Alert { project, message } => out.push((pick(project), message.clone())),
        }
    }
    let mut cut = |forge: &Arc<dyn Forge>, key: &str, part: usize, values: Vec<Value>| {
        for (c, chunk) in chunks(values, PAYLOAD_BUDGET - 100).into_iter().enumerate() {
            let id = format!("{}-{part}-{c}", batch.id());
            let payload = serde_json::Map::from_iter([(key.into(), Value::Array(chunk)), ("batch".into(), id.into())]);
            out.push((forge.clone(), Value::Object(payload)));
        }
    };
    for (f, (forge, list)) in events.into_iter().enumerate() {
        cut(&forge, "events", f, fold(&list).iter().map(|e| fit_event(e, PAYLOAD_BUDGET - 200)).collect());
    }
    for (f, (forge, list)) in feedback.into_iter().enumerate() {
        cut(&forge, "feedback", f, list);
    }
    out
}

/// Appends `item` to the list kept for `forge` (a batch names few forges: a scan is enough).
fn add_to<T>(lists: &mut Vec<(Arc<dyn Forge>, Vec<T>)>, forge: Arc<dyn Forge>, item: T) {
    match lists.iter_mut().find(|(f, _)| Arc::ptr_eq(f, &forge)) {
        Some((_, list)) => list.push(item),
        None => lists.push((forge, vec![item])),
    }
}

/// Repeats of one error — same fingerprint, release, environment, surface and tags —
/// folded into their first and last event, the last standing for all but the first
/// (`occurrences`): an error storm becomes two events per round instead of a dispatch
/// (and a workflow run) per few dozen, while the count, first and last seen, and every
/// set an issue keeps stay exact. Deterministic, so a resent batch is the same payload.
pub fn fold(events: &[Fingerprinted]) -> Vec<ErrorEvent> {
    type Key<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a BTreeMap<String, String>);
    let mut order: Vec<Key> = Vec::new();
    let mut seen: std::collections::HashMap<Key, (usize, usize, u64)> = std::collections::HashMap::new();
    for (i, (fingerprint, e)) in events.iter().enumerate() {
        let key = (*fingerprint, e.release.as_deref(), e.environment.as_deref(), e.surface.as_deref(), &e.tags);
        let entry = seen.entry(key).or_insert_with(|| {
            order.push(key);
            (i, i, 0)
        });
        entry.1 = i;
        entry.2 = entry.2.saturating_add(e.weight());
    }
    let mut out = Vec::with_capacity(order.len() * 2);
    for key in order {
        let (first, last, total) = seen[&key];
        out.push(events[first].1.clone());
        if last != first {
            let mut e = events[last].1.clone();
            let rest = total - events[first].1.weight();
            e.occurrences = (rest > 1).then_some(rest);
            out.push(e);
        }
    }
    out
}

/// Splits events into lists whose JSON stays under `budget` bytes.
fn chunks(events: Vec<Value>, budget: usize) -> Vec<Vec<Value>> {
    let mut out: Vec<Vec<Value>> = Vec::new();
    let mut size = usize::MAX;
    for e in events {
        let n = json_len(&e) + 1;
        if size.saturating_add(n) > budget {
            out.push(Vec::new());
            size = 2;
        }
        size += n;
        if let Some(last) = out.last_mut() {
            last.push(e);
        }
    }
    out
}

/// The bytes `value` takes as JSON, counted as it is written, without keeping the text.
fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// An event as JSON within `budget` bytes: long texts and frame lists are cut first.
pub fn fit_event(event: &ErrorEvent, budget: usize) -> Value {
    if json_len(event) <= budget {
        return super::ingest::wire(event);
    }
    let mut e = event.clone();
    let cut = |s: &mut Option<String>, max: usize| {
        if let Some(t) = s {
            *t = crate::forge::limits::truncate_chars(t, max);
        }
    };
    cut(&mut e.message, 2_000);
    cut(&mut e.stack, 8_000);
    for x in &mut e.exceptions {
        cut(&mut x.value, 1_000);
        let keep = x.frames.len().saturating_sub(30);
        x.frames.drain(..keep);
    }
    e.tags.retain(|k, v| k.len() + v.len() < 200);
    while json_len(&e) > budget && (e.exceptions.len() > 1 || !e.tags.is_empty()) {
        if e.exceptions.len() > 1 {
            e.exceptions.remove(0);
        } else {
            e.tags.clear();
        }
    }
    if json_len(&e) > budget {
        e.exceptions.iter_mut().for_each(|x| x.frames.clear());
        cut(&mut e.stack, 1_000);
    }
    super::ingest::wire(&e)
}

/// The issue flow in-process: the batch's events grouped by fingerprint and filed.
async fn direct(d: &Direct, batch: &Batch) -> crate::Result<()> {
    let mut grouper = crate::issues::Grouper::default();
    let (mut alerts, mut feedback) = (Vec::new(), Vec::new());
    for record in &batch.records {
        match record {
            Record::Event { event, .. } => {
                let fp = d.engine.fingerprint(event);
                grouper.add(crate::issues::occurrence(event, &fp, &d.scrubber));
            }
            Record::Feedback { feedback: f, .. } => feedback.push(f.clone()),
            Record::Alert { message, .. } => alerts.push(message),
        }
    }
    let groups = grouper.finish();
    if !groups.is_empty() {
        let outcomes = crate::issues::run(d.forge.as_ref(), &d.config, &d.ledger, &d.scrubber, &groups).await?;
        for (name, n) in crate::issues::tally(&outcomes) {
            tracing::info!("batch {}: {name} {n}", batch.id());
        }
    }
    if !feedback.is_empty() {
        let filed =
            crate::issues::feedback::file(d.forge.as_ref(), &d.config, &d.ledger, &d.scrubber, &feedback).await?;
        let created = filed.iter().filter(|f| f.action == crate::issues::feedback::Filing::Created).count();
        tracing::info!("batch {}: feedback filed {created} of {}", batch.id(), filed.len());
    }
    for message in alerts {
        d.forge
            .repository_dispatch(ALERT_EVENT_TYPE, message)
            .await
            .map_err(|e| crate::Error::Failed(e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Exception, Frame};
    use serde_json::json;

    #[test]
    fn repeats_fold_into_first_and_last_and_every_count_survives() {
        let event = |n: u32, release: &str| ErrorEvent {
            message: Some(format!("boom {n}")),
            release: Some(release.into()),
            timestamp: Some(format!("2026-01-21T10:{:02}:00Z", n)),
            id: Some(format!("e{n}")),
            ..Default::default()
        };
        let mut storm: Vec<(String, ErrorEvent)> = (0..30).map(|n| ("a".to_string(), event(n, "1.0"))).collect();
        storm.insert(5, ("b".into(), event(40, "1.0")));
        storm.push(("a".into(), event(50, "2.0")));
        storm.push(("a".into(), event(51, "2.0")));
        storm.push(("a".into(), ErrorEvent { occurrences: Some(7), ..event(52, "2.0") }));
        let input: Vec<(&str, &ErrorEvent)> = storm.iter().map(|(f, e)| (f.as_str(), e)).collect();
        let folded = fold(&input);
        let shown: Vec<(&str, Option<u64>)> =
            folded.iter().map(|e| (e.id.as_deref().unwrap_or(""), e.occurrences)).collect();
        // Order of first appearance; the last of each run carries the rest; a release is
        // its own run; an event already standing for 7 adds 7.
        assert_eq!(shown, [("e0", None), ("e29", Some(29)), ("e40", None), ("e50", None), ("e52", Some(8))]);
        let total: u64 = folded.iter().map(|e| e.occurrences.unwrap_or(1)).sum();
        assert_eq!(total, 30 + 1 + 2 + 7);
        assert_eq!(folded[1].timestamp.as_deref(), Some("2026-01-21T10:29:00Z"), "last seen is kept");
        assert_eq!(fold(&input), folded, "the same batch folds the same way");
        let two = [("a", &storm[0].1), ("a", &storm[1].1)];
        assert_eq!(fold(&two).iter().map(|e| e.occurrences).collect::<Vec<_>>(), [None, None]);
    }

    #[test]
    fn big_events_fit_and_batches_split_under_the_limit() {
        let frame = Frame { function: Some("f".repeat(200)), ..Default::default() };
        let ex = Exception {
            r#type: Some("E".into()),
            value: Some("v".repeat(50_000)),
            frames: vec![frame; 500],
            ..Default::default()
        };
        let big = ErrorEvent {
            message: Some("m".repeat(100_000)),
            exceptions: vec![ex; 3],
            id: Some("x".into()),
            ..Default::default()
        };
        let fitted = fit_event(&big, 20_000);
        assert!(fitted.to_string().len() <= 20_000, "{}", fitted.to_string().len());
        assert_eq!(fitted["id"], "x");
        let events: Vec<Value> = (0..50).map(|_| fitted.clone()).collect();
        let parts = chunks(events, PAYLOAD_BUDGET);
        assert!(parts.len() >= 17);
        assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), 50);
        for p in &parts {
            assert!(json!({"events": p, "batch": "g0-0-0-0-0"}).to_string().len() < 64_000);
        }
    }
}
