//! Facts about an error read back from the issue hs-issue wrote: the text handling is
//! `homeostat_core::policy::issue`; this module reads them off a forge [`Issue`].

pub use homeostat_core::policy::issue::*;

use crate::forge::Issue;
use crate::policy::ErrorFacts;

/// The error's facts as far as the issue tells them.
pub fn facts_from_issue(issue: &Issue) -> ErrorFacts {
    facts_from_text(&issue.title, &issue.body, &issue.labels)
}
