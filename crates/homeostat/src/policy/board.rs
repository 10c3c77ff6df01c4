//! The issue board of seed 002, kept as labels: `homeostat:backlog` →
//! `homeostat:ai-queue` → `homeostat:in-progress` → `homeostat:review` → `homeostat:done`.
//! An issue sits in one column at a time; the binaries that act move it.

use serde::{Deserialize, Serialize};

use crate::forge::{Forge, ForgeResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Backlog,
    AiQueue,
    InProgress,
    Review,
    Done,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Backlog, Stage::AiQueue, Stage::InProgress, Stage::Review, Stage::Done];

    pub fn label(self) -> &'static str {
        match self {
            Self::Backlog => "homeostat:backlog",
            Self::AiQueue => "homeostat:ai-queue",
            Self::InProgress => "homeostat:in-progress",
            Self::Review => "homeostat:review",
            Self::Done => "homeostat:done",
        }
    }

    /// The column an issue with these labels sits in (the furthest one if several).
    pub fn of(labels: &[String]) -> Option<Stage> {
        Self::ALL.into_iter().rev().find(|s| labels.iter().any(|l| l.eq_ignore_ascii_case(s.label())))
    }
}

/// Moves issue (or PR) `number` to `stage`: adds its label and removes every other
/// stage label. Returns whether anything changed.
pub async fn move_to(forge: &dyn Forge, number: u64, stage: Stage) -> ForgeResult<bool> {
    let issue = forge.get_issue(number).await?;
    let mut changed = false;
    for other in Stage::ALL.into_iter().filter(|s| *s != stage) {
        if let Some(label) = issue.labels.iter().find(|l| l.eq_ignore_ascii_case(other.label())) {
            forge.remove_label(number, label).await?;
            changed = true;
        }
    }
    if !issue.has_label(stage.label()) {
        forge.add_labels(number, &[stage.label().to_string()]).await?;
        changed = true;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::{NewIssue, local::LocalForge};

    #[test]
    fn moving_keeps_one_stage_label() {
        let dir = tempfile::tempdir().unwrap();
        let forge = LocalForge::open(dir.path()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let issue = forge
                .create_issue(&NewIssue {
                    title: "t".into(),
                    body: String::new(),
                    labels: vec!["bug".into(), "homeostat:backlog".into()],
                })
                .await
                .unwrap();
            assert!(move_to(&forge, issue.number, Stage::AiQueue).await.unwrap());
            assert!(!move_to(&forge, issue.number, Stage::AiQueue).await.unwrap());
            move_to(&forge, issue.number, Stage::Done).await.unwrap();
            let labels = forge.get_issue(issue.number).await.unwrap().labels;
            assert_eq!(labels, vec!["bug".to_string(), "homeostat:done".to_string()]);
            assert_eq!(Stage::of(&labels), Some(Stage::Done));
        });
    }
}
