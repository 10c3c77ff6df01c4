//! Counting on a known issue when runs go at once. GitHub has no conditional write (no
//! `If-Match` on an issue), so a count is a body built from a read: written from a read
//! made right before, rebuilt from a new read when the write fails (never resent as it
//! was), and looked at again `issues.settle` later, when another run's write may have
//! replaced it.

use super::apply::Writer;
use super::state::merge_state;
use super::{Group, Index, IssueState, markers, parse_state};
use crate::error::{ForgeError, Result};
use crate::forge::{Forge, Issue, IssueUpdate, State};

/// Writes of one count: the first, and rebuilt ones after failures worth another try.
const WRITE_ATTEMPTS: u32 = 4;

/// How often a run looks at its counted issues again: runs repairing at the same moment
/// can replace each other's repair, and each round settles at least one of them.
const RECOUNT_ROUNDS: usize = 4;

/// How a known issue takes a group's occurrences.
#[derive(Clone, Copy, Default)]
pub(super) struct Count<'a> {
    /// The occurrence comment posted with it, at this time.
    pub commented_at: Option<&'a str>,
    /// Reopened as a regression: open again, with its labels set.
    pub labels: Option<&'a [String]>,
}

/// The update that adds `g` to `issue` as it is now, with the state it writes; `None`
/// when its batch is counted there already (by this run or another).
pub(super) fn update_for(
    writer: &Writer<'_>,
    g: &Group,
    issue: &Issue,
    count: Count<'_>,
) -> Result<Option<(IssueUpdate, IssueState)>> {
    let old = parse_state(&issue.body);
    if old.applied.contains(&g.key) {
        return Ok(None);
    }
    let mut state = merge_state(old, g);
    if let Some(at) = count.commented_at {
        state.last_comment_at = Some(at.to_string());
    }
    let update = IssueUpdate {
        body: Some(writer.body(g, &state, &markers(&issue.body))?),
        state: count.labels.map(|_| State::Open),
        labels: count.labels.map(<[String]>::to_vec),
        ..Default::default()
    };
    Ok(Some((update, state)))
}

/// Writes `g`'s count on issue `n`, built from `read` (the issue as just read) or from a
/// new read. A write that fails in a way worth another try is rebuilt from a new read;
/// when that read shows the batch counted, the failed write landed after all (GitHub lost
/// the answer), and the issue is returned as written. `None`: the batch was counted there
/// before this run wrote anything.
pub(super) async fn write(
    forge: &dyn Forge,
    writer: &Writer<'_>,
    g: &Group,
    n: u64,
    mut read: Option<Issue>,
    count: Count<'_>,
) -> Result<Option<Issue>> {
    let mut attempt = 1;
    loop {
        let issue = match read.take() {
            Some(issue) => issue,
            None => forge.get_issue(n).await?,
        };
        let Some((update, _)) = update_for(writer, g, &issue, count)? else {
            return Ok((attempt > 1).then_some(issue));
        };
        match forge.update_issue_from_read(n, &update).await {
            Ok(updated) => return Ok(Some(updated)),
            Err(e @ ForgeError::ReadAgain { .. }) if attempt < WRITE_ATTEMPTS => {
                tracing::warn!("{e}");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// After counting: waits `settle` (longer than another run's read and write take), looks
/// at each issue counted on again, and counts once more where the batch is gone — another
/// run's write, built from a read made before this run's landed, replaced it. `listing`:
/// how many pages one listing of the index takes; fewer issues than that are read one by
/// one. Best effort: a failure is a warning, and the other issues are still looked at.
pub(super) async fn recount_replaced(
    forge: &dyn Forge,
    writer: &Writer<'_>,
    counted: &[(u64, &Group)],
    settle: std::time::Duration,
    listing: usize,
) {
    if counted.is_empty() || settle.is_zero() || forge.is_dry_run() {
        return;
    }
    let mut pending = counted.to_vec();
    for _ in 0..RECOUNT_ROUNDS {
        if pending.is_empty() {
            return;
        }
        tokio::time::sleep(settle).await;
        let index = if pending.len() > listing {
            Index::load(forge).await.map_err(|e| tracing::warn!("listing the counted issues again failed: {e}")).ok()
        } else {
            None
        };
        let mut replaced = Vec::new();
        for (n, g) in pending {
            let read = index.as_ref().and_then(|i| i.get(&g.fingerprint)).filter(|i| i.number == n).cloned();
            match write(forge, writer, g, n, read, Count::default()).await {
                Ok(None) => {}
                Ok(Some(_)) => {
                    tracing::warn!(
                        "#{n}: another run's write replaced this run's {} occurrences: counted again",
                        g.count
                    );
                    replaced.push((n, g));
                }
                Err(e) => tracing::warn!("#{n}: looking at the count again failed: {e}"),
            }
        }
        pending = replaced;
    }
    if !pending.is_empty() {
        tracing::warn!("{} issue(s) counted again in the last round, not looked at since", pending.len());
    }
}
