//! What an external check (a command `homeostat::guard::external` runs) said, and the
//! check row it becomes.

use serde::{Deserialize, Serialize};

use super::CheckRow;
use crate::policy::Class;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExternalOutcome {
    Clean,
    Breaking,
    CouldNotRun,
    /// No changed path concerns it.
    Skipped,
}

/// What one external check said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalResult {
    pub name: String,
    pub outcome: ExternalOutcome,
    pub exit_code: Option<i32>,
    /// The class a breaking result gives.
    pub class: Class,
    /// The last lines of the output, or why it could not run.
    pub detail: String,
}

impl ExternalResult {
    /// The check row: breaking → fail (its class), could not run → warn (needs-validation,
    /// never safe), clean or skipped → pass.
    pub fn row(&self) -> CheckRow {
        let id = format!("external:{}", self.name);
        match self.outcome {
            ExternalOutcome::Clean => {
                CheckRow::pass(&id, format!("clean (exit 0). {}", self.detail).trim().to_string())
            }
            ExternalOutcome::Skipped => CheckRow::pass(&id, self.detail.clone()),
            ExternalOutcome::Breaking => CheckRow::fail(&id, self.class, format!("breaking: {}", self.detail), vec![]),
            ExternalOutcome::CouldNotRun => {
                CheckRow::warn(&id, Class::NeedsValidation, format!("could not run: {}", self.detail), vec![])
            }
        }
    }
}
