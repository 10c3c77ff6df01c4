//! Command lines for the coding agents homeostat can drive. The prompt always travels
//! by file (on stdin, or as a file argument), never on the command line, so no issue
//! text can reach an argv or a shell. Turn and spend caps are passed where the agent
//! has a flag for them; spend is read back from what the agent prints.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::config::{AdapterKind, AgentDef};
use crate::error::{Error, Position, Result};

/// The files a run hands to the agent (all outside the checkout).
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub prompt_file: PathBuf,
    /// Where the agent writes its root cause and summary (markdown).
    pub summary_file: PathBuf,
}

/// What to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    /// A file fed to the agent's stdin (the prompt, for agents that read it there).
    pub stdin_file: Option<PathBuf>,
}

/// The command line for `def`. `usd_cap` is the run's spend cap (the agent's own
/// `max_usd`, lowered to what is left of the daily budget).
pub fn build(def: &AgentDef, files: &RunFiles, issue: u64, usd_cap: Option<f64>) -> Result<Invocation> {
    let prompt = path_arg(&files.prompt_file);
    let mut args: Vec<String> = Vec::new();
    let (program, stdin_file) = match def.adapter {
        AdapterKind::Claude => {
            args.extend(["-p", "--output-format", "json", "--permission-mode", "acceptEdits"].map(String::from));
            args.extend(["--allowedTools", "Read,Edit,Write,Glob,Grep,LS"].map(String::from));
            if let Some(model) = &def.model {
                args.extend(["--model".into(), model.clone()]);
            }
            if let Some(turns) = def.max_turns {
                args.extend(["--max-turns".into(), turns.to_string()]);
            }
            if let Some(usd) = usd_cap {
                args.extend(["--max-budget-usd".into(), format!("{usd:.2}")]);
            }
            ("claude", Some(files.prompt_file.clone()))
        }
        AdapterKind::Codex => {
            args.extend(["exec", "--full-auto", "--skip-git-repo-check"].map(String::from));
            if let Some(model) = &def.model {
                args.extend(["--model".into(), model.clone()]);
            }
            // `-` makes codex read the prompt from stdin.
            args.push("-".into());
            ("codex", Some(files.prompt_file.clone()))
        }
        AdapterKind::Aider => {
            args.extend(
                ["--yes-always", "--no-auto-commits", "--no-check-update", "--no-show-model-warnings", "--no-pretty"]
                    .map(String::from),
            );
            if let Some(model) = &def.model {
                args.extend(["--model".into(), model.clone()]);
            }
            args.extend(["--message-file".into(), prompt]);
            ("aider", None)
        }
        AdapterKind::Custom => {
            let Some((first, rest)) = def.run.split_first() else {
                return Err(Error::input(
                    Position::file("homeostat.yml"),
                    "agents.define: a custom agent needs `run: [program, args...]`",
                ));
            };
            let fill = |s: &str| {
                s.replace("{prompt_file}", &path_arg(&files.prompt_file))
                    .replace("{summary_file}", &path_arg(&files.summary_file))
                    .replace("{issue}", &issue.to_string())
                    .replace("{model}", def.model.as_deref().unwrap_or_default())
            };
            let program = fill(first);
            args.extend(rest.iter().map(|a| fill(a)));
            args.extend(def.args.iter().cloned());
            return Ok(Invocation { program: def.program.clone().unwrap_or(program), args, stdin_file: None });
        }
    };
    args.extend(def.args.iter().cloned());
    Ok(Invocation { program: def.program.clone().unwrap_or_else(|| program.to_string()), args, stdin_file })
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// What a run cost, as the agent reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    pub usd: Option<f64>,
    pub turns: Option<u32>,
    /// The agent said it stopped short (claude's `error_max_turns`, …), though it may exit 0.
    pub stopped_short: Option<String>,
}

impl Usage {
    /// Why the run went past the caps it was given (the CLI did not enforce them), if it did.
    pub fn overran(&self, max_turns: Option<u32>, usd_cap: Option<f64>) -> Option<String> {
        let mut why = Vec::new();
        if let (Some(turns), Some(max)) = (self.turns, max_turns)
            && turns > max
        {
            why.push(format!("ran {turns} turns, above its max_turns of {max}"));
        }
        if let (Some(usd), Some(cap)) = (self.usd, usd_cap)
            && usd > cap + 0.005
        {
            why.push(format!("spent ${usd:.2}, above this run's cap of ${cap:.2}"));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

static AIDER_COST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Cost: \$[0-9.]+ message, \$(?P<usd>[0-9.]+) session").expect("a constant regex compiles")
});

/// Reads spend and turns from the agent's output: a JSON result with `total_cost_usd`
/// (claude, and any custom agent that prints one) or aider's `Cost:` lines.
pub fn parse_usage(kind: AdapterKind, output: &str) -> Usage {
    let mut usage = Usage::default();
    if kind == AdapterKind::Aider {
        usage.usd = AIDER_COST.captures_iter(output).last().and_then(|c| c["usd"].parse().ok());
        return usage;
    }
    let candidates = std::iter::once(output.trim()).chain(output.lines().rev().map(str::trim));
    for text in candidates.filter(|t| t.starts_with('{')) {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            let usd = value.get("total_cost_usd").or_else(|| value.get("cost_usd")).and_then(|v| v.as_f64());
            if usd.is_some() {
                usage.usd = usd;
                usage.turns = value.get("num_turns").and_then(|v| v.as_u64()).map(|n| n as u32);
                let subtype = value.get("subtype").and_then(|v| v.as_str()).unwrap_or_default();
                let is_error = value.get("is_error").and_then(|v| v.as_bool()).unwrap_or(false);
                if is_error || subtype.starts_with("error") {
                    usage.stopped_short = Some(match subtype {
                        "error_max_turns" => "it reached its turn limit (`max_turns`)".to_string(),
                        "error_max_budget_usd" => "it reached its spend cap".to_string(),
                        "" => "it reported an error".to_string(),
                        other => format!("it reported `{}`", other.chars().take(60).collect::<String>()),
                    });
                }
                break;
            }
        }
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(adapter: AdapterKind) -> AgentDef {
        AgentDef {
            adapter,
            model: Some("m1".into()),
            max_turns: Some(30),
            max_usd: None,
            run: vec![],
            args: vec![],
            program: None,
        }
    }

    fn files() -> RunFiles {
        RunFiles { prompt_file: "/tmp/r/prompt.md".into(), summary_file: "/tmp/r/summary.md".into() }
    }

    #[test]
    fn claude_gets_caps_and_the_prompt_on_stdin() {
        let inv = build(&def(AdapterKind::Claude), &files(), 4, Some(1.5)).unwrap();
        assert_eq!(inv.program, "claude");
        let line = inv.args.join(" ");
        assert!(
            line.contains("--max-turns 30") && line.contains("--max-budget-usd 1.50") && line.contains("--model m1")
        );
        assert_eq!(inv.stdin_file.as_deref(), Some(Path::new("/tmp/r/prompt.md")));
    }

    #[test]
    fn aider_and_codex_take_the_prompt_by_file() {
        let aider = build(&def(AdapterKind::Aider), &files(), 4, None).unwrap();
        assert!(aider.args.windows(2).any(|w| w == ["--message-file", "/tmp/r/prompt.md"]));
        assert!(aider.args.contains(&"--no-auto-commits".to_string()));
        let codex = build(&def(AdapterKind::Codex), &files(), 4, None).unwrap();
        assert_eq!(codex.args.last().map(String::as_str), Some("-"));
    }

    #[test]
    fn custom_fills_placeholders_and_needs_a_command() {
        let mut d = def(AdapterKind::Custom);
        d.run = vec!["./agent.sh".into(), "{prompt_file}".into(), "--issue={issue}".into()];
        let inv = build(&d, &files(), 4, None).unwrap();
        assert_eq!(
            (inv.program.as_str(), inv.args.clone()),
            ("./agent.sh", vec!["/tmp/r/prompt.md".into(), "--issue=4".into()])
        );
        d.run.clear();
        assert_eq!(build(&d, &files(), 4, None).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn a_run_past_its_caps_is_named() {
        let usage = Usage { usd: Some(2.4), turns: Some(73), stopped_short: None };
        let why = usage.overran(Some(60), Some(2.0)).unwrap();
        assert!(why.contains("ran 73 turns, above its max_turns of 60") && why.contains("$2.40"), "{why}");
        assert_eq!(usage.overran(Some(80), Some(3.0)), None);
        assert_eq!(usage.overran(None, None), None);
        assert_eq!(Usage::default().overran(Some(1), Some(0.0)), None, "nothing reported, nothing claimed");
    }

    #[test]
    fn usage_is_read_from_claude_json_and_aider_lines() {
        let claude = r#"{"type":"result","total_cost_usd":0.42,"num_turns":7,"result":"done"}"#;
        assert_eq!(
            parse_usage(AdapterKind::Claude, claude),
            Usage { usd: Some(0.42), turns: Some(7), stopped_short: None }
        );
        let cut =
            r#"{"type":"result","subtype":"error_max_turns","is_error":false,"total_cost_usd":0.9,"num_turns":30}"#;
        let usage = parse_usage(AdapterKind::Claude, cut);
        assert_eq!(
            (usage.turns, usage.stopped_short.as_deref()),
            (Some(30), Some("it reached its turn limit (`max_turns`)"))
        );
        let failed = r#"{"type":"result","subtype":"error_during_execution","is_error":true,"total_cost_usd":0.1}"#;
        assert!(parse_usage(AdapterKind::Claude, failed).stopped_short.unwrap().contains("error_during_execution"));
        let aider = "Tokens: 2k sent\nCost: $0.01 message, $0.03 session.\nCost: $0.02 message, $0.05 session.";
        assert_eq!(parse_usage(AdapterKind::Aider, aider).usd, Some(0.05));
        assert_eq!(parse_usage(AdapterKind::Custom, "edited a file\n"), Usage::default());
    }
}
