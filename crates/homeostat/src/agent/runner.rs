//! Runs an agent: in the checkout, with an environment reduced to an allowlist, in its
//! own process group that is killed whole at the deadline (and after the agent exits,
//! so servers it started cannot keep the job alive), with its output in a log file
//! outside the checkout. Budgets are checked in the ledger before a run starts.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::adapter::{Invocation, Usage};
use super::config::{AgentBudget, AgentsConfig};
use crate::error::{Error, Result};
use crate::gha::Env;
use crate::ledger::Ledger;

/// Ledger kind of one agent run (time, cost, agent, exit).
pub const RUN_KIND: &str = crate::ledger::kinds::AGENT_RUN;

/// How the agent's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "how", content = "code")]
pub enum Exit {
    Code(i32),
    Signal,
    TimedOut,
}

#[derive(Debug, Clone)]
pub struct AgentRun {
    pub exit: Exit,
    pub seconds: f64,
    /// Everything the agent printed (stdout and stderr, interleaved).
    pub output: String,
}

/// The variables the agent sees: `PATH`, `HOME`, the allowlisted ones that are set,
/// and `extra` (homeostat's own, e.g. the summary file).
pub fn agent_env(config: &AgentsConfig, env: &Env, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for name in ["PATH", "HOME"].into_iter().chain(config.env.iter().map(String::as_str)) {
        if let Some(value) = env.get(name)
            && !out.iter().any(|(k, _)| k == name)
        {
            out.push((name.to_string(), value.to_string()));
        }
    }
    out.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    out
}

/// Runs `inv` in `dir` with exactly `env`, killing its process group at `deadline`.
pub fn run(inv: &Invocation, dir: &Path, env: &[(String, String)], deadline: Duration, log: &Path) -> Result<AgentRun> {
    let out = File::create(log).map_err(|e| Error::io(log, e))?;
    let err = out.try_clone().map_err(|e| Error::io(log, e))?;
    let stdin = match &inv.stdin_file {
        Some(path) => Stdio::from(File::open(path).map_err(|e| Error::io(path, e))?),
        None => Stdio::null(),
    };
    let mode = super::sandbox::mode();
    if mode == super::sandbox::Mode::Off && super::sandbox::token_in_own_env() {
        return Err(Error::Failed(
            "no PID namespace for the agent (unshare, a user namespace or sudo), and this process holds a token \
             the agent could read in /proc: not running it (see docs/agent.md)"
                .into(),
        ));
    }
    super::sandbox::become_subreaper();
    let (program, args) = super::sandbox::wrap(&mode, &inv.program, &inv.args, env);
    let mut command = Command::new(&program);
    command
        .args(&args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(stdin)
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let started = Instant::now();
    let mut child =
        command.spawn().map_err(|e| Error::Failed(format!("cannot start the agent `{}`: {e}", inv.program)))?;
    let pgid = child.id() as i32;
    // Every descendant seen while the agent runs: one that leaves the group with `setsid`
    // and loses its parent is still on this list (and, orphaned, our child: subreaper).
    let mut seen = std::collections::BTreeSet::new();
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code().map_or(Exit::Signal, Exit::Code),
            Ok(None) if started.elapsed() >= deadline => {
                kill_tree(&mode, pgid, &mut seen);
                let _ = child.wait();
                break Exit::TimedOut;
            }
            Ok(None) => {
                seen.extend(super::sandbox::descendants(pgid));
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => {
                kill_tree(&mode, pgid, &mut seen);
                return Err(Error::Failed(format!("waiting for the agent: {e}")));
            }
        }
    };
    // Whatever the agent left running (servers, watchers, `setsid` children) goes with it.
    kill_tree(&mode, pgid, &mut seen);
    let seconds = started.elapsed().as_secs_f64();
    let output = String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()).into_owned();
    Ok(AgentRun { exit, seconds, output })
}

/// Kills the agent's group and every descendant (the subreaper brought orphans back),
/// then reaps them.
fn kill_tree(mode: &super::sandbox::Mode, pgid: i32, seen: &mut std::collections::BTreeSet<i32>) {
    seen.extend(super::sandbox::descendants(pgid));
    let more: Vec<i32> = seen.iter().flat_map(|p| super::sandbox::descendants(*p)).collect();
    seen.extend(more);
    super::sandbox::kill_tree(mode, pgid);
    for p in seen.iter() {
        super::sandbox::kill_tree(mode, *p);
    }
    super::sandbox::reap(&seen.iter().copied().collect::<Vec<_>>());
}

/// Why a run may not start, or what is left of the daily spend.
#[derive(Debug, Clone, PartialEq)]
pub enum BudgetCheck {
    Ok { usd_left: f64 },
    Over(String),
}

/// Checks runs in the last hour and 24 hours and spend in the last 24 hours.
pub fn check_budget(ledger: &Ledger, budget: &AgentBudget, now: jiff::Timestamp) -> Result<BudgetCheck> {
    let day = ledger.since(RUN_KIND, now - jiff::SignedDuration::from_hours(24))?;
    let hour_start = now - jiff::SignedDuration::from_hours(1);
    let hour = day.iter().filter(|e| e.ts >= hour_start).count();
    let spent: f64 = day.iter().filter_map(|e| e.get_f64("usd")).sum();
    if hour >= budget.runs_per_hour as usize {
        return Ok(BudgetCheck::Over(format!(
            "{hour} agent runs in the last hour (agents.budget.runs_per_hour: {})",
            budget.runs_per_hour
        )));
    }
    if day.len() >= budget.runs_per_day as usize {
        return Ok(BudgetCheck::Over(format!(
            "{} agent runs in the last 24 hours (agents.budget.runs_per_day: {})",
            day.len(),
            budget.runs_per_day
        )));
    }
    if spent >= budget.usd_per_day {
        return Ok(BudgetCheck::Over(format!(
            "${spent:.2} spent on agents in the last 24 hours (agents.budget.usd_per_day: ${:.2})",
            budget.usd_per_day
        )));
    }
    Ok(BudgetCheck::Ok { usd_left: budget.usd_per_day - spent })
}

/// Records a finished run in the ledger.
pub fn record(ledger: &Ledger, issue: u64, agent: &str, mode: &str, run: &AgentRun, usage: &Usage) -> Result<()> {
    ledger.append(
        RUN_KIND,
        &issue.to_string(),
        serde_json::json!({
            "agent": agent,
            "mode": mode,
            "seconds": (run.seconds * 1000.0).round() / 1000.0,
            "usd": usage.usd.unwrap_or(0.0),
            "usd_reported": usage.usd.is_some(),
            "turns": usage.turns,
            "stopped_short": usage.stopped_short,
            "exit": run.exit,
        }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Invocation {
        Invocation { program: "/bin/sh".into(), args: vec!["-c".into(), script.into()], stdin_file: None }
    }

    #[test]
    fn deadline_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        // The child sleeps in the background and would write the marker later.
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let env = vec![("PATH".to_string(), std::env::var("PATH").unwrap())];
        let run = run(&sh(&script), dir.path(), &env, Duration::from_millis(300), &dir.path().join("log")).unwrap();
        assert_eq!(run.exit, Exit::TimedOut);
        assert!(run.seconds < 5.0, "{}", run.seconds);
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "a process of the agent's group outlived the deadline");
    }

    #[test]
    fn environment_is_only_the_allowlist() {
        let dir = tempfile::tempdir().unwrap();
        let env =
            Env::from_pairs([("PATH", "/usr/bin:/bin"), ("HOME", "/h"), ("SECRET", "s3"), ("OPENAI_API_KEY", "k")]);
        let config = AgentsConfig { env: vec!["OPENAI_API_KEY".into(), "MISSING".into()], ..Default::default() };
        let vars = agent_env(&config, &env, &[("HOMEOSTAT_ISSUE", "3".into())]);
        let run = run(&sh("env | sort"), dir.path(), &vars, Duration::from_secs(10), &dir.path().join("log")).unwrap();
        assert_eq!(run.exit, Exit::Code(0));
        let names: Vec<&str> = run.output.lines().filter_map(|l| l.split('=').next()).collect();
        assert!(!run.output.contains("s3"));
        for name in ["HOME", "HOMEOSTAT_ISSUE", "OPENAI_API_KEY", "PATH"] {
            assert!(names.contains(&name), "{name} missing in {names:?}");
        }
        assert!(!names.contains(&"SECRET") && !names.contains(&"MISSING"));
    }

    #[test]
    fn budgets_count_runs_and_spend() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("l.jsonl"));
        let now = jiff::Timestamp::now();
        let budget = AgentBudget { runs_per_hour: 2, runs_per_day: 3, usd_per_day: 1.0 };
        assert_eq!(check_budget(&ledger, &budget, now).unwrap(), BudgetCheck::Ok { usd_left: 1.0 });
        let two_hours_ago = now - jiff::SignedDuration::from_hours(2);
        ledger.append_at(two_hours_ago, RUN_KIND, "1", serde_json::json!({"usd": 0.25})).unwrap();
        ledger.append_at(now, RUN_KIND, "1", serde_json::json!({"usd": 0.25})).unwrap();
        assert_eq!(check_budget(&ledger, &budget, now).unwrap(), BudgetCheck::Ok { usd_left: 0.5 });
        ledger.append_at(now, RUN_KIND, "2", serde_json::json!({"usd": 0.0})).unwrap();
        let BudgetCheck::Over(why) = check_budget(&ledger, &budget, now).unwrap() else { panic!("not over") };
        assert!(why.contains("runs_per_hour"), "{why}");
        // Three hours later the hour is free again, but the day holds 3 runs.
        let later = now + jiff::SignedDuration::from_hours(3);
        let BudgetCheck::Over(why) = check_budget(&ledger, &budget, later).unwrap() else { panic!("not over") };
        assert!(why.contains("runs_per_day"), "{why}");
        let spend = AgentBudget { runs_per_hour: 10, runs_per_day: 10, usd_per_day: 0.5 };
        let BudgetCheck::Over(why) = check_budget(&ledger, &spend, now).unwrap() else { panic!("not over") };
        assert!(why.contains("usd_per_day"), "{why}");
    }
}
