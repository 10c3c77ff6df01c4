//! Fingerprinted events folded into one summary per fingerprint (`hs-fingerprint --group`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::Fingerprint;
use crate::event::ErrorEvent;

/// Occurrences of one fingerprint, as `hs-fingerprint --group` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub fingerprint: String,
    pub count: u64,
    pub title: String,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Event ids (at most [`GroupSummary::MAX_IDS`]; `count` has the total).
    pub ids: Vec<String>,
}

impl GroupSummary {
    pub const MAX_IDS: usize = 100;
}

/// Folds fingerprinted events into one [`GroupSummary`] per fingerprint, in the order
/// fingerprints were first seen.
#[derive(Debug, Default)]
pub struct Grouper {
    order: Vec<String>,
    groups: BTreeMap<String, GroupSummary>,
}

impl Grouper {
    pub fn add(&mut self, fp: &Fingerprint, event: &ErrorEvent) {
        let g = self.groups.entry(fp.fingerprint.clone()).or_insert_with(|| {
            self.order.push(fp.fingerprint.clone());
            GroupSummary {
                fingerprint: fp.fingerprint.clone(),
                count: 0,
                title: fp.title.clone(),
                first_seen: None,
                last_seen: None,
                ids: Vec::new(),
            }
        });
        g.count += 1;
        if let Some(ts) = &event.timestamp {
            if g.first_seen.as_ref().is_none_or(|f| ts < f) {
                g.first_seen = Some(ts.clone());
            }
            if g.last_seen.as_ref().is_none_or(|l| ts > l) {
                g.last_seen = Some(ts.clone());
            }
        }
        if let Some(id) = &event.id
            && g.ids.len() < GroupSummary::MAX_IDS
        {
            g.ids.push(id.clone());
        }
    }

    /// The groups, in first-seen order.
    pub fn finish(mut self) -> Vec<GroupSummary> {
        self.order.iter().filter_map(|fp| self.groups.remove(fp)).collect()
    }
}
