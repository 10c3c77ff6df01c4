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

/// Writes `g`'s count on issue `n`: `built`, the update made from a read just before, or
/// one made from a new read. A write that fails in a way worth another try is rebuilt
/// from a new read, never resent as it was. When that read shows the batch counted after
/// a write that may have landed (a 5xx, a dropped connection), it did: the issue is
/// returned as written. `None`: another run counted the batch (the first read, or after
/// a rate limit refused this run's write).
pub(super) async fn write(
    forge: &dyn Forge,
    writer: &Writer<'_>,
    g: &Group,
    n: u64,
    mut built: Option<IssueUpdate>,
    count: Count<'_>,
) -> Result<Option<Issue>> {
    let (mut attempt, mut maybe_landed) = (1, false);
    loop {
        let update = match built.take() {
            Some(update) => update,
            None => {
                let issue = forge.get_issue(n).await?;
                match update_for(writer, g, &issue, count)? {
                    Some((update, _)) => update,
                    None => return Ok(maybe_landed.then_some(issue)),
                }
            }
        };
        match forge.update_issue_from_read(n, &update).await {
            Ok(updated) => return Ok(Some(updated)),
            Err(ForgeError::ReadAgain { message, may_have_landed, .. }) if attempt < WRITE_ATTEMPTS => {
                tracing::warn!("#{n}: writing the count failed ({message}): reading the issue again");
                maybe_landed |= may_have_landed;
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
            let listed = index.as_ref().and_then(|i| i.get(&g.fingerprint)).filter(|i| i.number == n);
            match look_again(forge, writer, g, n, listed).await {
                Ok(false) => {}
                Ok(true) => {
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

/// Looks at `g`'s batch on issue `n` (as `listed`, or read now) and counts it again when
/// it is gone; true when it wrote.
async fn look_again(forge: &dyn Forge, writer: &Writer<'_>, g: &Group, n: u64, listed: Option<&Issue>) -> Result<bool> {
    let built = match listed {
        Some(issue) => match update_for(writer, g, issue, Count::default())? {
            Some((update, _)) => Some(update),
            None => return Ok(false),
        },
        None => None,
    };
    Ok(write(forge, writer, g, n, built, Count::default()).await?.is_some())
}
