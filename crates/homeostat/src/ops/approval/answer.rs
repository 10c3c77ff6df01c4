//! The answer on the approval issue: the newest `/approve` or `/reject` comment from
//! someone with write permission (checked on the forge), not a bot.

use crate::error::Result;
use crate::ops::Ops;
use crate::ops::executor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verb {
    Approve,
    Reject,
}

/// One maintainer's answer.
pub(super) struct Answer {
    pub verb: Verb,
    pub who: String,
    /// The plan an `/approve <id>` names, when it is not the plan.
    pub other_plan: Option<String>,
}

/// The answer, if any, and who answered without the permission to (newest first).
pub(super) struct Answers {
    pub answer: Option<Answer>,
    pub refused: Vec<String>,
}

impl Ops<'_> {
    /// Reads issue `number`'s comments, newest first, up to the first answer that counts.
    pub(super) async fn read_answers(&self, number: u64, plan: &str) -> Result<Answers> {
        let mut answer = None;
        let mut refused = Vec::new();
        for c in self.forge.list_comments(number).await?.iter().rev() {
            let first = c.body.trim().lines().next().unwrap_or_default().trim();
            let verb = if first.starts_with("/approve") {
                Verb::Approve
            } else if first.starts_with("/reject") {
                Verb::Reject
            } else {
                continue;
            };
            let permission = self.forge.permission(&c.author).await?;
            if permission.can_write() && !c.author.ends_with("[bot]") {
                let other_plan = executor::other_plan_named(first, plan);
                answer = Some(Answer { verb, who: c.author.clone(), other_plan });
                break;
            }
            refused.push(c.author.clone());
        }
        Ok(Answers { answer, refused })
    }
}
