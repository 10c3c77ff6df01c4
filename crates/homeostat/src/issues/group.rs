//! Occurrences and their groups: one group per fingerprint, from events (files, stdin, a
//! dispatch payload) or held back in the ledger.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::LEDGER_HELD;
use super::plan::newest;
use crate::error::Result;
use crate::event::ErrorEvent;
use crate::fingerprint::{Engine, Fingerprint};
use crate::forge::limits;
use crate::input::{InputArgs, InputStats};
use crate::ledger::Ledger;
use crate::scrub::Scrubber;

/// One occurrence of an error, already fingerprinted and scrubbed.
#[derive(Debug, Clone, Default)]
pub struct Occurrence {
    pub fingerprint: String,
    pub algorithm: String,
    /// The same error's fingerprints under older algorithm versions: an issue filed
    /// under one of them is this error's issue.
    pub aliases: Vec<String>,
    pub title: String,
    pub culprit: String,
    pub platform: String,
    pub message: String,
    /// The in-app frames as grouped, one line each.
    pub frames: Vec<String>,
    pub stack: Option<String>,
    pub release: Option<String>,
    pub environment: Option<String>,
    /// Where in the product it happened (the event's `surface`), scrubbed.
    pub surface: Option<String>,
    /// The event's tags as `key=value`, scrubbed.
    pub tags: Vec<String>,
    pub timestamp: Option<jiff::Timestamp>,
    /// What makes this occurrence distinct (its id, else time and message).
    pub identity: String,
    /// How many occurrences it stands for (an event's `occurrences`; at least 1).
    pub weight: u64,
}

/// All occurrences of one fingerprint in a run (every text already scrubbed: a group held
/// back by a quota is kept whole in the ledger).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub fingerprint: String,
    pub algorithm: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub title: String,
    pub culprit: String,
    pub platform: String,
    pub message: String,
    pub frames: Vec<String>,
    pub sample_stack: Option<String>,
    pub count: u64,
    pub first_seen: Option<jiff::Timestamp>,
    pub last_seen: Option<jiff::Timestamp>,
    pub releases: BTreeSet<String>,
    pub environments: BTreeSet<String>,
    #[serde(default)]
    pub surfaces: BTreeSet<String>,
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// SHA-256 over the occurrences' identities: the same batch sent twice has one key.
    pub key: String,
    /// The keys of batches held back earlier that this group includes: counted with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_keys: Vec<String>,
}

impl Group {
    /// The newest release among the occurrences.
    pub fn newest_release(&self) -> Option<&str> {
        newest(self.releases.iter().map(String::as_str))
    }

    /// Adds the occurrences of another batch of the same fingerprint (and remembers its
    /// keys, so that batch is never counted again).
    pub(super) fn absorb(&mut self, other: &Group) {
        self.held_keys.extend(std::iter::once(&other.key).chain(&other.held_keys).cloned());
        self.count += other.count;
        self.first_seen = self.first_seen.into_iter().chain(other.first_seen).min();
        self.last_seen = self.last_seen.into_iter().chain(other.last_seen).max();
        self.releases.extend(other.releases.iter().cloned());
        self.environments.extend(other.environments.iter().cloned());
        self.surfaces.extend(other.surfaces.iter().cloned());
        self.tags.extend(other.tags.iter().cloned());
        if self.sample_stack.is_none() {
            self.sample_stack = other.sample_stack.clone();
        }
    }
}

/// The groups held back by a quota since `since`, one per fingerprint in the order they
/// were first held: a batch held twice (a run repeated) counts once. Entries written
/// before groups were kept whole are skipped.
pub fn held_groups(ledger: &Ledger, since: jiff::Timestamp) -> Result<Vec<Group>> {
    let mut order: Vec<String> = Vec::new();
    let mut held: HashMap<String, (Group, BTreeSet<String>)> = HashMap::new();
    for entry in ledger.since(LEDGER_HELD, since)? {
        let Some(value) = entry.data.get("group") else { continue };
        let g: Group = match serde_json::from_value(value.clone()) {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!("{}: a held group of {} is unreadable: {e}", ledger.path().display(), entry.key);
                continue;
            }
        };
        match held.get_mut(&g.fingerprint) {
            Some((merged, keys)) => {
                if keys.insert(g.key.clone()) {
                    merged.absorb(&g);
                }
            }
            None => {
                order.push(g.fingerprint.clone());
                let keys = BTreeSet::from([g.key.clone()]);
                held.insert(g.fingerprint.clone(), (g, keys));
            }
        }
    }
    Ok(order.into_iter().filter_map(|fp| held.remove(&fp)).map(|(g, _)| g).collect())
}

/// Groups occurrences by fingerprint as they stream in; memory grows with the number of
/// fingerprints, not of occurrences.
#[derive(Default)]
pub struct Grouper {
    order: Vec<String>,
    groups: HashMap<String, (Group, Sha256)>,
}

impl Grouper {
    pub fn add(&mut self, o: Occurrence) {
        let (g, hasher) = self.groups.entry(o.fingerprint.clone()).or_insert_with(|| {
            self.order.push(o.fingerprint.clone());
            let g = Group {
                fingerprint: o.fingerprint.clone(),
                algorithm: o.algorithm.clone(),
                aliases: o.aliases.clone(),
                title: o.title.clone(),
                culprit: o.culprit.clone(),
                platform: o.platform.clone(),
                message: o.message.clone(),
                frames: o.frames.clone(),
                sample_stack: None,
                count: 0,
                first_seen: None,
                last_seen: None,
                releases: BTreeSet::new(),
                environments: BTreeSet::new(),
                surfaces: BTreeSet::new(),
                tags: BTreeSet::new(),
                key: String::new(),
                held_keys: Vec::new(),
            };
            (g, Sha256::new())
        });
        g.count = g.count.saturating_add(o.weight.max(1));
        if g.sample_stack.is_none() {
            g.sample_stack = o.stack;
        }
        if let Some(ts) = o.timestamp {
            g.first_seen = Some(g.first_seen.map_or(ts, |f| f.min(ts)));
            g.last_seen = Some(g.last_seen.map_or(ts, |l| l.max(ts)));
        }
        g.releases.extend(o.release);
        g.environments.extend(o.environment);
        g.surfaces.extend(o.surface);
        g.tags.extend(o.tags);
        hasher.update(o.identity.as_bytes());
        hasher.update([0]);
    }

    /// The groups, in the order their fingerprints first appeared.
    pub fn finish(mut self) -> Vec<Group> {
        self.order
            .into_iter()
            .filter_map(|fp| self.groups.remove(&fp))
            .map(|(mut g, hasher)| {
                g.key = homeostat_core::hex::hex(&hasher.finalize()[..8]);
                g
            })
            .collect()
    }
}

/// Groups occurrences by fingerprint, in the order fingerprints first appear.
pub fn group(occurrences: impl IntoIterator<Item = Occurrence>) -> Vec<Group> {
    let mut grouper = Grouper::default();
    occurrences.into_iter().for_each(|o| grouper.add(o));
    grouper.finish()
}

/// Events carried by a `repository_dispatch` payload: `client_payload.events` (a list),
/// `client_payload.event` (one), or the client payload itself when it looks like an event.
pub fn dispatch_events(payload: &serde_json::Value) -> Vec<serde_json::Value> {
    let Some(client) = payload.get("client_payload") else { return Vec::new() };
    if let Some(list) = client.get("events").and_then(serde_json::Value::as_array) {
        return list.clone();
    }
    if let Some(one) = client.get("event") {
        return vec![one.clone()];
    }
    if client.get("message").is_some() || client.get("stack").is_some() || client.get("exception").is_some() {
        return vec![client.clone()];
    }
    Vec::new()
}

/// Caps on what one issue shows, so bodies stay far below GitHub's 65,536 characters.
const MESSAGE_MAX_CHARS: usize = 4_000;
const STACK_MAX_CHARS: usize = 16_000;
const FRAMES_MAX: usize = 40;

/// One occurrence from an event and its fingerprint, every text scrubbed.
pub fn occurrence(event: &ErrorEvent, fp: &Fingerprint, scrubber: &Scrubber) -> Occurrence {
    let scrub = |text: &str| scrubber.scrub(text).into_owned();
    let message = event
        .message
        .clone()
        .or_else(|| event.exceptions.last().and_then(|e| e.value.clone()))
        .unwrap_or_else(|| fp.title.clone());
    let frames: Vec<String> = fp
        .frames
        .iter()
        .filter(|f| f.in_app)
        .take(FRAMES_MAX)
        .map(|f| {
            let function = f.function.as_deref().unwrap_or("?");
            match f.module.as_deref().or(f.file.as_deref()) {
                Some(place) => scrub(&format!("{function}  ({place})")),
                None => scrub(function),
            }
        })
        .collect();
    let identity = match &event.id {
        Some(id) => format!("id:{id}"),
        None => format!(
            "{}\u{1f}{}\u{1f}{}",
            event.timestamp.as_deref().unwrap_or(""),
            message,
            event.stack.as_deref().unwrap_or("")
        ),
    };
    Occurrence {
        fingerprint: fp.fingerprint.clone(),
        algorithm: fp.algorithm.to_string(),
        aliases: fp.aliases.iter().map(|a| a.fingerprint.clone()).collect(),
        title: scrub(&fp.title),
        culprit: scrub(&fp.culprit),
        platform: fp.platform.clone(),
        message: limits::truncate_chars(&scrub(&message), MESSAGE_MAX_CHARS),
        frames,
        stack: event.stack.as_deref().map(|s| limits::truncate_chars(&scrub(s), STACK_MAX_CHARS)),
        release: event.release.as_deref().map(scrub),
        environment: event.environment.as_deref().map(scrub),
        surface: event.surface.as_deref().map(scrub),
        tags: event.tags.iter().map(|(k, v)| scrub(&format!("{k}={v}"))).collect(),
        timestamp: event.timestamp.as_deref().and_then(|t| t.parse().ok()),
        identity,
        weight: event.weight(),
    }
}

/// Reads the run's events (files or stdin, and the dispatch payload when asked) into
/// fingerprint groups.
pub fn read_groups(
    input: &InputArgs,
    payload: Option<&serde_json::Value>,
    engine: &Engine,
    scrubber: &Scrubber,
) -> Result<(Vec<Group>, InputStats)> {
    let mut grouper = Grouper::default();
    let mut add = |event: ErrorEvent| {
        let fp = engine.fingerprint_with_aliases(&event);
        grouper.add(occurrence(&event, &fp, scrubber));
    };
    let stats = match payload {
        Some(payload) => {
            let values = dispatch_events(payload);
            let events = crate::input::events_from_values("client_payload", &values, input.strict)?;
            let stats = InputStats { events: events.len(), bad: values.len() - events.len() };
            events.into_iter().for_each(&mut add);
            stats
        }
        None => input.for_each(|event| {
            add(event);
            Ok(())
        })?,
    };
    Ok((grouper.finish(), stats))
}
