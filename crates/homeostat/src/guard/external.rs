//! External checks (`guard.checks` in homeostat.yml): a command, run in the checkout
//! without a shell, whose exit code (and, where a tool uses one code for everything,
//! its output) says clean, breaking or could not run. Presets cover
//! `cargo semver-checks`, `buf breaking` and `oasdiff breaking`.
//!
//! Placeholders in `run`: `{base}` and `{head}` (commit SHAs; `{base}` is the merge
//! base), `{base:PATH}` and `{head:PATH}` (a temporary file holding PATH as it is at that
//! commit, for tools that compare two files).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use git2::Repository;
use regex::Regex;

use crate::diff::ChangeSet;
use crate::error::{Error, Position, Result};
use crate::policy::{Class, GlobList};
use crate::settings::Config;

pub use crate::settings::guard::{ExternalCheck, GuardConfig, Preset, RequiredFor};

/// What a preset fills in.
struct Defaults {
    run: Vec<String>,
    clean: Vec<i32>,
    breaking: Vec<i32>,
    output: Option<&'static str>,
    paths: Option<Vec<String>>,
}

/// An external check with its preset applied.
#[derive(Debug, Clone)]
struct Resolved {
    name: String,
    run: Vec<String>,
    clean: Vec<i32>,
    breaking: Vec<i32>,
    breaking_output: Option<Regex>,
    paths: Option<GlobList>,
    class: Class,
    timeout: StdDuration,
}

/// Checks every `guard.checks` entry of `config` as [`run`] will configure it, so a bad
/// one (a regex, a glob, a preset without `spec`) names its key's `file:line:column`.
pub fn check(config: &Config) -> Result<()> {
    for (i, c) in config.guard.iter().flat_map(|g| g.checks.iter()).enumerate() {
        c.resolve_at(|key| config.at(&format!("guard.checks[{i}]{key}")))?;
    }
    Ok(())
}

impl ExternalCheck {
    fn resolve(&self) -> Result<Resolved> {
        self.resolve_at(|_| Position::file("homeostat.yml"))
    }

    /// The check with its preset applied; `at` places a problem at a key under the check.
    fn resolve_at(&self, at: impl Fn(&str) -> Position) -> Result<Resolved> {
        let bad = |key: &str, m: String| Error::input(at(key), format!("guard.checks {}: {m}", self.name));
        let d = match self.preset {
            None => Defaults { run: vec![], clean: vec![0], breaking: vec![1], output: None, paths: None },
            Some(Preset::CargoSemverChecks) => Defaults {
                run: ["cargo", "semver-checks", "--baseline-rev", "{base}"].map(String::from).to_vec(),
                clean: vec![0],
                breaking: vec![1],
                output: Some("semver requires new (major|minor) version"),
                paths: Some(vec!["**/*.rs".into(), "**/Cargo.toml".into()]),
            },
            Some(Preset::BufBreaking) => Defaults {
                run: ["buf", "breaking", "--against", ".git#ref={base}"].map(String::from).to_vec(),
                clean: vec![0],
                breaking: vec![100],
                output: None,
                paths: Some(vec!["**/*.proto".into(), "**/buf.yaml".into()]),
            },
            Some(Preset::OasdiffBreaking) => {
                let spec = self
                    .spec
                    .as_deref()
                    .ok_or_else(|| bad(".preset", "the oasdiff-breaking preset needs `spec`".into()))?;
                Defaults {
                    run: ["oasdiff", "breaking", "--fail-on", "ERR"]
                        .map(String::from)
                        .into_iter()
                        .chain([format!("{{base:{spec}}}"), format!("{{head:{spec}}}")])
                        .collect(),
                    clean: vec![0],
                    breaking: vec![1],
                    output: Some(r"(?i)\d+ (breaking )?changes?:"),
                    paths: Some(vec![spec.to_string()]),
                }
            }
        };
        let Defaults { run, clean, breaking, output, paths } = d;
        let run = if self.run.is_empty() { run } else { self.run.clone() };
        if run.is_empty() {
            return Err(bad("", "needs `run` or a `preset`".into()));
        }
        let breaking_output = self
            .breaking_output
            .as_deref()
            .or(output)
            .map(|r| Regex::new(r).map_err(|e| bad(".breaking_output", format!("bad breaking_output regex: {e}"))))
            .transpose()?;
        let paths = self.paths.clone().or(paths);
        let paths = paths
            .map(|p| {
                GlobList::new(&p).map_err(|(i, e)| bad(&format!(".paths[{i}]"), format!("bad glob `{}`: {e}", p[i])))
            })
            .transpose()?;
        Ok(Resolved {
            name: self.name.clone(),
            run,
            clean: self.clean.clone().unwrap_or(clean),
            breaking: self.breaking.clone().unwrap_or(breaking),
            breaking_output,
            paths,
            class: self.class.unwrap_or(Class::Critical),
            timeout: self.timeout.map_or(StdDuration::from_secs(600), |d| d.as_std()),
        })
    }
}

pub use homeostat_core::guard::external::{ExternalOutcome, ExternalResult};

/// Runs every configured check in `dir` (the checkout at head). A check that cannot
/// even be configured is bad input; one that cannot run is a result, not an error.
pub fn run(config: &GuardConfig, repo: &Repository, dir: &Path, change: &ChangeSet) -> Result<Vec<ExternalResult>> {
    let resolved = config.checks.iter().map(ExternalCheck::resolve).collect::<Result<Vec<_>>>()?;
    if resolved.is_empty() {
        return Ok(Vec::new());
    }
    let scratch = std::env::temp_dir().join(format!("homeostat-guard-{}", uuid::Uuid::new_v4().simple()));
    let results = resolved
        .iter()
        .enumerate()
        .map(|(i, check)| run_one(check, repo, dir, change, &scratch.join(i.to_string())))
        .collect();
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(results)
}

fn run_one(check: &Resolved, repo: &Repository, dir: &Path, change: &ChangeSet, scratch: &Path) -> ExternalResult {
    let result = |outcome, exit_code, detail: String| ExternalResult {
        name: check.name.clone(),
        outcome,
        exit_code,
        class: check.class,
        detail,
    };
    if let Some(globs) = &check.paths
        && !change
            .files
            .iter()
            .any(|f| globs.is_match(&f.path) || f.old_path.as_deref().is_some_and(|o| globs.is_match(o)))
    {
        return result(ExternalOutcome::Skipped, None, "skipped: no changed path concerns it".into());
    }
    let args = match check.run.iter().map(|a| expand(a, repo, change, scratch)).collect::<Result<Vec<_>, String>>() {
        Ok(args) => args,
        Err(e) => return result(ExternalOutcome::CouldNotRun, None, e),
    };
    let (program, rest) = args.split_first().map_or(("", &[][..]), |(p, r)| (p.as_str(), r));
    let output = match run_with_timeout(program, rest, dir, check.timeout) {
        Ok(o) => o,
        Err(e) => return result(ExternalOutcome::CouldNotRun, None, e),
    };
    let (code, text) = output;
    let tail = tail_lines(&text, 5);
    match code {
        Some(c) if check.clean.contains(&c) => result(ExternalOutcome::Clean, Some(c), String::new()),
        Some(c) if check.breaking.contains(&c) && check.breaking_output.as_ref().is_none_or(|r| r.is_match(&text)) => {
            result(ExternalOutcome::Breaking, Some(c), format!("exit {c}: {tail}"))
        }
        Some(c) => result(ExternalOutcome::CouldNotRun, Some(c), format!("exit {c}: {tail}")),
        None => result(ExternalOutcome::CouldNotRun, None, format!("killed by a signal: {tail}")),
    }
}

/// Runs a program (no shell) with a deadline; returns its exit code and its output
/// (stdout then stderr).
fn run_with_timeout(
    program: &str,
    args: &[String],
    dir: &Path,
    timeout: StdDuration,
) -> Result<(Option<i32>, String), String> {
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("`{program}` did not start: {e}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program}` timed out after {}s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(StdDuration::from_millis(20)),
            Err(e) => return Err(format!("`{program}`: {e}")),
        }
    };
    let mut text = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    text.push_str(&String::from_utf8_lossy(&err_reader.join().unwrap_or_default()));
    Ok((status.code(), text))
}

/// Replaces `{base}`, `{head}`, `{base:PATH}` and `{head:PATH}` in one argument.
fn expand(arg: &str, repo: &Repository, change: &ChangeSet, scratch: &Path) -> Result<String, String> {
    let mut out = arg.replace("{base}", &change.merge_base).replace("{head}", &change.head);
    for (which, commit) in [("base", &change.merge_base), ("head", &change.head)] {
        let open = format!("{{{which}:");
        while let Some(start) = out.find(&open) {
            let Some(len) = out[start..].find('}') else { break };
            let path = out[start + open.len()..start + len].to_string();
            let file = materialise(repo, commit, &path, &scratch.join(which))?;
            out.replace_range(start..start + len + 1, &file);
        }
    }
    Ok(out)
}

/// Writes `path` as it is at `commit` into `dir`; returns the file's path.
fn materialise(repo: &Repository, commit: &str, path: &str, dir: &Path) -> Result<String, String> {
    let oid = git2::Oid::from_str(commit).map_err(|e| e.message().to_string())?;
    let tree = repo.find_commit(oid).and_then(|c| c.tree()).map_err(|e| e.message().to_string())?;
    let entry = tree
        .get_path(Path::new(path))
        .map_err(|_| format!("`{path}` does not exist at {}", &commit[..12.min(commit.len())]))?;
    let blob = repo.find_blob(entry.id()).map_err(|e| e.message().to_string())?;
    let name = Path::new(path).file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let target = dir.join(name);
    std::fs::write(&target, blob.content()).map_err(|e| e.to_string())?;
    Ok(target.display().to_string())
}

fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    crate::forge::limits::truncate_chars(&lines[start..].join(" / "), 400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_check_names_its_key() {
        let text = "guard:\n  checks:\n    - name: ok\n      run: [true]\n    - name: api\n      run: [x]\n      \
                    paths: ['src/**', 'src/[ab']\n    - name: spec\n      preset: oasdiff-breaking\n";
        let config = Config::parse("h.yml", text).unwrap();
        let err = check(&config).unwrap_err().to_string();
        assert!(err.starts_with("h.yml:7:25: guard.checks api: bad glob `src/[ab`"), "{err}");
        let config = Config::parse("h.yml", &text.replace(", 'src/[ab'", "")).unwrap();
        let err = check(&config).unwrap_err().to_string();
        assert!(err.starts_with("h.yml:9:7: guard.checks spec: the oasdiff-breaking preset needs `spec`"), "{err}");
        assert!(check(&Config::default()).is_ok());
    }
}
