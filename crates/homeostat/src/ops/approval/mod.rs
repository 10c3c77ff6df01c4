//! The approval issue. [`request`] opens it when a fix needs a person; [`Ops::approve`]
//! continues from it in stages that each return what the next needs: [`read`] (the
//! issue: its plan, its alert, the runbook) → [`answer`] (the newest `/approve` or
//! `/reject` from someone with write permission) → [`ruling`] (what that comes to: a
//! note and nothing run, or the approved fix) → [`apply`] (post the note, or run the
//! fix and report on the issue).

mod answer;
mod apply;
mod read;
mod request;
mod ruling;

use super::{Ops, Outcome};
use crate::error::Result;
use ruling::Ruling;

pub const APPROVAL_LABEL: &str = "homeostat:ops-approval";

impl Ops<'_> {
    /// Open approval issues, oldest first.
    pub async fn pending_approvals(&self) -> Result<Vec<u64>> {
        let open = self.forge.list_issues(APPROVAL_LABEL, crate::forge::StateFilter::Open).await?;
        let mut numbers: Vec<u64> = crate::issues::trusted(self.forge, open).await?.iter().map(|i| i.number).collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    /// Continues from the approval issue `number`: the newest `/approve` or `/reject`
    /// comment from someone with write permission (checked on the forge) decides.
    pub async fn approve(&self, number: u64) -> Result<Outcome> {
        let request = self.read_request(number).await?;
        let out = request.waiting(number);
        let ruling = if request.closed {
            Ruling::Stop(ruling::closed())
        } else {
            let answers = self.read_answers(number, &request.plan).await?;
            self.rule(number, &request, answers)?
        };
        match ruling {
            Ruling::Stop(stop) => self.apply_stop(number, &request, stop, out).await,
            Ruling::Run { who, executor } => self.run_approved(number, &request, &who, &executor, out).await,
        }
    }
}
