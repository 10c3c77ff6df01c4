//! What an issue remembers between runs: the fingerprint marker and the hidden state in
//! its body, and how a group's occurrences add to it.

use std::collections::BTreeSet;

use super::{APPLIED_KEYS_KEPT, Group, compare_releases};
pub use crate::markers::IssueState;
use crate::markers::Marker;

/// The hidden marker that ties an issue to its fingerprint.
pub fn marker(fingerprint: &str, algorithm: &str) -> String {
    fingerprint_marker(fingerprint, algorithm).render()
}

pub(super) fn fingerprint_marker(fingerprint: &str, algorithm: &str) -> Marker {
    Marker::Fingerprint { fingerprint: fingerprint.to_string(), algorithm: algorithm.to_string() }
}

/// Every `(fingerprint, algorithm)` marker in a body's trailer (an issue keeps its old
/// markers when the algorithm is bumped, so old fingerprints keep matching).
pub fn markers(body: &str) -> Vec<(String, String)> {
    crate::markers::fingerprints(body)
}

/// The state in a body's trailer (the default when there is none or it is damaged).
pub fn parse_state(body: &str) -> IssueState {
    IssueState::find(body).unwrap_or_default()
}

#[cfg(test)]
pub(super) fn state_comment(state: &IssueState) -> String {
    state.marker().render()
}

/// Adds a group's occurrences to an issue's state.
pub(super) fn merge_state(mut state: IssueState, g: &Group) -> IssueState {
    state.count += g.count;
    let fmt = |t: jiff::Timestamp| t.to_string();
    if let Some(first) = g.first_seen {
        let earlier =
            state.first_seen.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()).is_none_or(|s| first < s);
        if earlier {
            state.first_seen = Some(fmt(first));
        }
    }
    if let Some(last) = g.last_seen {
        let later = state.last_seen.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok()).is_none_or(|s| last > s);
        if later {
            state.last_seen = Some(fmt(last));
        }
    }
    for r in &g.releases {
        if !state.releases.contains(r) {
            state.releases.push(r.clone());
        }
    }
    state.releases.sort_by(|a, b| compare_releases(a, b));
    for e in &g.environments {
        if !state.environments.contains(e) {
            state.environments.push(e.clone());
        }
    }
    state.environments.sort();
    merge_sorted(&mut state.surfaces, &g.surfaces);
    merge_sorted(&mut state.tags, &g.tags);
    // The group's own key last, so the oldest keys go first and never it: a run that
    // looks for its batch again (`count::recount_replaced`) finds it.
    state.applied.extend(g.held_keys.iter().cloned());
    state.applied.push(g.key.clone());
    let excess = state.applied.len().saturating_sub(APPLIED_KEYS_KEPT);
    state.applied.drain(..excess);
    state
}

/// Adds the new values to a sorted list kept in the issue state, at most 50 of them.
fn merge_sorted(list: &mut Vec<String>, new: &BTreeSet<String>) {
    for v in new {
        if !list.contains(v) && list.len() < 50 {
            list.push(v.clone());
        }
    }
    list.sort();
}
