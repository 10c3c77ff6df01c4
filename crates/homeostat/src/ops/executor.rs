//! Runs checks and typed fix operations, each under a timeout. Never a shell: HTTP goes
//! to allowlisted hosts only, commands must be on the config's allowlist and run as argv
//! with a scrubbed environment, GitHub operations go through the forge.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use serde::Serialize;

use super::alert::Alert;
use super::runbook::{Check, CommandCheck, Fix, HttpCheck, HttpOp, Op, Runbook};
use super::vars::{self, Vars};
use crate::forge::{Forge, NewIssue, StateFilter};
use crate::markers::{self, Marker};

/// Label on every issue hs-ops opens.
pub const OPS_LABEL: &str = "homeostat:ops";

const CHECK_TIMEOUT: StdDuration = StdDuration::from_secs(10);
const FIX_TIMEOUT: StdDuration = StdDuration::from_secs(60);
const DETAIL_MAX: usize = 300;

/// What one step did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub name: String,
    /// `diagnosis`, `fix` or `verify`.
    pub kind: String,
    pub ok: bool,
    pub detail: String,
}

/// The executor's allowlists and the values placeholders read.
pub struct Executor<'a> {
    pub forge: &'a dyn Forge,
    pub allow_hosts: Vec<String>,
    pub commands: Vec<Vec<String>>,
    /// The only environment a command sees (PATH, HOME, … and `ops.command_env`).
    pub command_env: Vec<(String, String)>,
    pub vars: Vars,
    pub http: crate::http::Client,
    /// Show fix operations (with their values filled) instead of running them.
    pub dry_run: bool,
}

/// Whether `host` and `port` are on the allowlist. An entry carries its port:
/// `host:port`, `[v6]:port`, or `host:*` for any port; a bare `host` or `*.domain` allows
/// only the default ports 80 and 443, so an allowlisted host does not open its every port.
pub fn host_allowed(allow: &[String], host: &str, port: Option<u16>) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let default_port = matches!(port, Some(80 | 443));
    allow.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        let (name, entry_port) = match entry.rsplit_once(':') {
            Some((h, p))
                if (p == "*" || p.chars().all(|c| c.is_ascii_digit())) && (!h.contains(':') || h.ends_with(']')) =>
            {
                (h.trim_start_matches('[').trim_end_matches(']').to_string(), Some(p.to_string()))
            }
            _ => (entry.trim_start_matches('[').trim_end_matches(']').to_string(), None),
        };
        let port_ok = match entry_port.as_deref() {
            None => default_port,
            Some("*") => true,
            Some(p) => p.parse::<u16>().ok() == port,
        };
        let host_ok = match name.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => name == host,
        };
        host_ok && port_ok
    })
}

/// The digest of a filled plan (hex, 128 bits): the approval marker carries it.
pub fn plan_digest(plan: &[(String, String)]) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(serde_json::to_vec(plan).unwrap_or_default());
    homeostat_core::hex::hex(&hash[..16])
}

/// The plan id an `/approve <id>` comment names, when it names one that is not `plan`
/// (a copy of another approval issue's command): that approval is refused. A bare
/// `/approve`, or one naming a prefix (8 hex digits or more) of `plan`, approves it.
pub fn other_plan_named(first_line: &str, plan: &str) -> Option<String> {
    let word = first_line.strip_prefix("/approve")?.split_whitespace().next()?;
    let id = word.trim_matches(|c: char| matches!(c, '`' | '"' | '\'' | '.' | ','));
    let hexish = id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit());
    (hexish && !plan.starts_with(&id.to_ascii_lowercase())).then(|| id.to_string())
}

fn cut(text: &str) -> String {
    crate::forge::limits::truncate_chars(text.trim(), DETAIL_MAX)
}

/// The values placeholders can take for `alert`: labels, annotations, the alert's identity,
/// then `ops.vars`, then environment variables that do not look like secrets.
pub fn vars_for(
    alert: &Alert,
    config_vars: &BTreeMap<String, String>,
    env: &crate::gha::Env,
    names: &[String],
) -> Vars {
    let mut values = BTreeMap::new();
    for name in names {
        let value = if let Some(label) = name.strip_prefix("labels.") {
            alert.labels.get(label).cloned()
        } else if let Some(a) = name.strip_prefix("annotations.") {
            alert.annotations.get(a).cloned()
        } else {
            match name.as_str() {
                "alert.name" => Some(alert.alertname.clone()),
                "alert.fingerprint" => Some(alert.fingerprint.clone()),
                "alert.title" => Some(alert.title.clone()),
                "alert.issue" => alert.issue.map(|n| n.to_string()),
                _ => config_vars.get(name).cloned().or_else(|| {
                    let upper = name.to_ascii_uppercase();
                    let secret = ["TOKEN", "SECRET", "PASSWORD", "KEY"].iter().any(|s| upper.contains(s));
                    if secret { None } else { env.get(name).map(str::to_string) }
                }),
            }
        };
        if let Some(v) = value {
            values.insert(name.clone(), v);
        }
    }
    Vars { values }
}

/// Every placeholder a runbook uses.
pub fn placeholders(runbook: &Runbook) -> Vec<String> {
    let mut text = String::new();
    for c in runbook.diagnosis.iter().chain(&runbook.verify) {
        text.push_str(&serde_json::to_string(c).unwrap_or_default());
    }
    for f in &runbook.fix {
        text.push_str(&serde_json::to_string(&f.op).unwrap_or_default());
    }
    let mut names = vars::names(&text);
    names.sort();
    names.dedup();
    names
}

impl Executor<'_> {
    /// The fix as it will run, every value filled: `(name, operation)` per step. The
    /// approval issue shows exactly this, and [`plan_digest`] binds `/approve` to it.
    pub fn filled_plan(&self, runbook: &Runbook) -> Result<Vec<(String, String)>, String> {
        let mut plan = Vec::new();
        for f in &runbook.fix {
            let shown = match &f.op {
                Op::Http(h) => {
                    let body = h.body.as_ref().map(|b| self.expand_json(b)).transpose()?;
                    let body = body.map_or(String::new(), |b| format!(" {b}"));
                    format!("{} {}{body}", h.method.to_ascii_uppercase(), self.url(&h.url)?)
                }
                Op::Command(c) => serde_json::to_string(&self.argv(c)?).unwrap_or_default(),
                other => self.expand_json(&serde_json::to_value(other).unwrap_or_default())?.to_string(),
            };
            plan.push((f.name.clone(), shown));
        }
        Ok(plan)
    }

    /// Why the runbook's fix and verification could not run here, if anything stops them:
    /// an undefined placeholder, a host off the allowlist, a command off the allowlist.
    pub fn environment_problem(&self, runbook: &Runbook) -> Option<String> {
        for f in &runbook.fix {
            let problem = match &f.op {
                Op::Http(h) => self.url(&h.url).err(),
                Op::Command(c) => self.argv(c).err(),
                other => self.expand_json(&serde_json::to_value(other).unwrap_or_default()).err(),
            };
            if let Some(p) = problem {
                return Some(format!("fix `{}`: {p}", f.name));
            }
        }
        for c in &runbook.verify {
            let problem = match (&c.http, &c.command) {
                (Some(h), _) => self.url(&h.url).err(),
                (_, Some(cmd)) => self.argv(cmd).err(),
                _ => None,
            };
            if let Some(p) = problem {
                return Some(format!("verify `{}`: {p}", c.name));
            }
        }
        None
    }

    fn expand_json(&self, value: &serde_json::Value) -> Result<serde_json::Value, String> {
        Ok(match value {
            serde_json::Value::String(s) => serde_json::Value::String(self.vars.expand(s)?),
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(|v| self.expand_json(v)).collect::<Result<_, _>>()?)
            }
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter().map(|(k, v)| Ok((k.clone(), self.expand_json(v)?))).collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    /// The expanded URL, if its host is allowed.
    fn url(&self, template: &str) -> Result<reqwest::Url, String> {
        let text = self.vars.expand_url(template)?;
        let url = reqwest::Url::parse(&text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{text}`: only http and https"));
        }
        let host = url.host_str().unwrap_or_default();
        if !host_allowed(&self.allow_hosts, host, url.port_or_known_default()) {
            return Err(format!("host `{host}` is not in ops.allow_hosts"));
        }
        Ok(url)
    }

    /// The expanded argv, if the command line is on the allowlist (compared before
    /// expansion, so a placeholder can fill an argument but never add one).
    fn argv(&self, c: &CommandCheck) -> Result<Vec<String>, String> {
        let template = c.run.argv();
        if !self.commands.contains(&template) {
            return Err(format!("`{}` is not in ops.commands", template.join(" ")));
        }
        template.iter().map(|a| self.vars.expand_arg(a)).collect()
    }

    /// Runs a diagnosis or verify check (after its `wait`).
    pub async fn check(&self, kind: &str, c: &Check) -> StepResult {
        if let Some(wait) = c.wait.filter(|w| !w.as_std().is_zero()) {
            tracing::info!("{kind} `{}`: waiting {wait}", c.name);
            tokio::time::sleep(wait.as_std()).await;
        }
        let timeout = c.timeout.map_or(CHECK_TIMEOUT, |t| t.as_std());
        let (ok, detail) = match (&c.http, &c.command) {
            (Some(h), _) => self.http_check(h, timeout).await,
            (_, Some(cmd)) => self.command(cmd, timeout).await,
            _ => (false, "no check".into()),
        };
        tracing::info!("{kind} `{}`: {} ({detail})", c.name, if ok { "holds" } else { "does not hold" });
        StepResult { name: c.name.clone(), kind: kind.into(), ok, detail }
    }

    async fn http_check(&self, h: &HttpCheck, timeout: StdDuration) -> (bool, String) {
        let op = HttpOp { url: h.url.clone(), method: h.method.clone(), expect_status: h.expect_status, body: None };
        self.http_request(&op, h.expect_body.as_deref(), timeout).await
    }

    async fn http_request(&self, h: &HttpOp, expect_body: Option<&str>, timeout: StdDuration) -> (bool, String) {
        let url = match self.url(&h.url) {
            Ok(u) => u,
            Err(e) => return (false, e),
        };
        let method =
            reqwest::Method::from_bytes(h.method.to_ascii_uppercase().as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method.clone(), url.clone()).timeout(timeout);
        if let Some(body) = &h.body {
            match self.expand_json(body) {
                Ok(b) => request = request.json(&b),
                Err(e) => return (false, e),
            }
        }
        let shown = format!("{method} {}{}", url.host_str().unwrap_or_default(), url.path());
        let response = match request.send().await {
            Ok(r) => r,
            Err(reqwest_middleware::Error::Reqwest(e)) if e.is_timeout() => {
                return (false, format!("{shown}: timed out after {}s", timeout.as_secs()));
            }
            Err(e) => return (false, format!("{shown}: {}", crate::http::describe(&e))),
        };
        let status = response.status().as_u16();
        let status_ok = h.expect_status.map_or((200..300).contains(&status), |s| s == status);
        let body = response.text().await.unwrap_or_default();
        let body_ok = match expect_body.map(|re| self.vars.expand_regex(re)) {
            Some(Ok(re)) => regex::Regex::new(&re).is_ok_and(|re| re.is_match(&body)),
            Some(Err(_)) => false,
            None => true,
        };
        let expected = h.expect_status.map_or("2xx".to_string(), |s| s.to_string());
        let mut detail = format!("{shown} → {status} (expected {expected})");
        if !body_ok {
            detail.push_str("; body does not match expect_body");
        }
        (status_ok && body_ok, cut(&detail))
    }

    async fn command(&self, c: &CommandCheck, timeout: StdDuration) -> (bool, String) {
        let argv = match self.argv(c) {
            Ok(a) => a,
            Err(e) => return (false, e),
        };
        let Some((program, args)) = argv.split_first() else { return (false, "empty command".into()) };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args).stdin(std::process::Stdio::null()).kill_on_drop(true).env_clear();
        cmd.envs(self.command_env.iter().map(|(k, v)| (k, v)));
        let output = match tokio::time::timeout(timeout, cmd.output()).await {
            Err(_) => return (false, format!("`{program}` timed out after {}s", timeout.as_secs())),
            Ok(Err(e)) => return (false, format!("`{program}`: {e}")),
            Ok(Ok(o)) => o,
        };
        let code = output.status.code().unwrap_or(-1);
        let out = String::from_utf8_lossy(&output.stdout);
        let output_ok = match c.expect_output.as_deref().map(|re| self.vars.expand_regex(re)) {
            Some(Ok(re)) => regex::Regex::new(&re).is_ok_and(|re| re.is_match(&out)),
            Some(Err(_)) => false,
            None => true,
        };
        let err = String::from_utf8_lossy(&output.stderr);
        let mut detail = format!("`{program}` exited {code} (expected {})", c.expect_exit);
        if !output_ok {
            detail.push_str("; output does not match expect_output");
        }
        let tail = if out.trim().is_empty() { err } else { out };
        (code == c.expect_exit && output_ok, cut(&format!("{detail}: {}", tail.trim())))
    }

    /// Runs one fix operation.
    pub async fn fix(&self, sop: &str, f: &Fix, alert: &Alert) -> StepResult {
        if self.dry_run {
            let op = serde_json::to_value(&f.op).unwrap_or_default();
            let (ok, detail) = match self.expand_json(&op) {
                Ok(filled) => (true, format!("dry run, would run {filled}")),
                Err(e) => (false, e),
            };
            crate::gha::eprint_safe(
                &serde_json::json!({"dry_run": "ops.fix", "name": f.name, "detail": detail}).to_string(),
            );
            return StepResult { name: f.name.clone(), kind: "fix".into(), ok, detail: cut(&detail) };
        }
        let timeout = f.timeout.map_or(FIX_TIMEOUT, |t| t.as_std());
        let (ok, detail) = match tokio::time::timeout(timeout, self.op(sop, &f.op, alert, timeout)).await {
            Ok(Ok(detail)) => (true, detail),
            Ok(Err(e)) => (false, e),
            Err(_) => (false, format!("timed out after {}s", timeout.as_secs())),
        };
        tracing::info!("fix `{}`: {} ({detail})", f.name, if ok { "done" } else { "failed" });
        StepResult { name: f.name.clone(), kind: "fix".into(), ok, detail: cut(&detail) }
    }

    async fn op(&self, sop: &str, op: &Op, alert: &Alert, timeout: StdDuration) -> Result<String, String> {
        let x = |s: &str| self.vars.expand(s);
        match op {
            Op::Http(h) => match self.http_request(h, None, timeout).await {
                (true, d) => Ok(d),
                (false, d) => Err(d),
            },
            Op::Command(c) => match self.command(c, timeout).await {
                (true, d) => Ok(d),
                (false, d) => Err(d),
            },
            Op::WorkflowDispatch(w) => {
                let workflow = name_like(&x(&w.workflow)?, "workflow")?;
                let git_ref = match &w.git_ref {
                    Some(r) => name_like(&x(r)?, "ref")?,
                    None => self.forge.default_branch().await.map_err(|e| e.to_string())?,
                };
                let inputs = w.inputs.iter().map(|(k, v)| Ok((k.clone(), x(v)?))).collect::<Result<_, String>>()?;
                self.forge.workflow_dispatch(&workflow, &git_ref, &inputs).await.map_err(|e| e.to_string())?;
                Ok(format!("dispatched {workflow} on {git_ref}"))
            }
            Op::RerunFailedJobs(r) => {
                let id = x(&r.run_id)?;
                let run_id: u64 = id.trim().parse().map_err(|_| format!("run_id `{id}` is not a number"))?;
                self.forge.rerun_failed_jobs(run_id).await.map_err(|e| e.to_string())?;
                Ok(format!("re-ran the failed jobs of run {run_id}"))
            }
            Op::CacheDelete(c) => {
                let key = x(&c.key)?;
                let git_ref = c.git_ref.as_deref().map(x).transpose()?;
                let n = self.forge.cache_delete(&key, git_ref.as_deref()).await.map_err(|e| e.to_string())?;
                Ok(format!("deleted {n} caches with key {key}"))
            }
            Op::Issue(i) => {
                let marker = Marker::OpsIssue(sop.to_string());
                let mut labels: Vec<String> = i.labels.iter().map(|l| x(l)).collect::<Result<_, _>>()?;
                labels.push(OPS_LABEL.into());
                let n = upsert_issue(self.forge, &marker, &[], &x(&i.title)?, &x(&i.body)?, &labels).await?;
                Ok(format!("issue #{n}"))
            }
            Op::Label(l) => {
                let number = match &l.issue {
                    Some(n) => x(n)?.trim().parse::<u64>().map_err(|_| format!("issue `{n}` is not a number"))?,
                    None => alert.issue.ok_or("the alert has no issue to label (set with.issue)")?,
                };
                let labels: Vec<String> =
                    l.labels.iter().map(|s| x(s).map(|s| crate::forge::limits::label(&s))).collect::<Result<_, _>>()?;
                self.forge.add_labels(number, &labels).await.map_err(|e| e.to_string())?;
                Ok(format!("labelled #{number} {}", labels.join(", ")))
            }
        }
    }
}

/// Opens an issue whose trailer carries `key` (and `extra`), or comments `text` on the
/// open one that already does. Returns its number.
pub async fn upsert_issue(
    forge: &dyn Forge,
    key: &Marker,
    extra: &[Marker],
    title: &str,
    text: &str,
    labels: &[String],
) -> Result<u64, String> {
    use crate::forge::limits;
    let open = forge.list_issues(OPS_LABEL, StateFilter::Open).await.map_err(|e| e.to_string())?;
    // A stranger's issue carrying a copy of the key marker is not ours to update.
    let open = crate::issues::trusted(forge, open).await.map_err(|e| e.to_string())?;
    let existing = open.into_iter().find(|i| markers::has(&i.body, key));
    match existing {
        Some(issue) => {
            let comment = markers::body(text, &[]);
            forge.create_comment(issue.number, &comment).await.map_err(|e| e.to_string())?;
            Ok(issue.number)
        }
        None => {
            let trailer: Vec<Marker> = std::iter::once(key.clone()).chain(extra.iter().cloned()).collect();
            let new = NewIssue {
                title: limits::truncate_chars(title, limits::TITLE_MAX_CHARS),
                body: markers::body(text, &trailer),
                labels: labels.iter().map(|l| limits::label(l)).collect(),
            };
            Ok(forge.create_issue(&new).await.map_err(|e| e.to_string())?.number)
        }
    }
}

/// Workflow files, refs: letters, digits and `._-/` only (a placeholder may fill them
/// from an alert label, which must not smuggle anything else).
fn name_like(value: &str, what: &str) -> Result<String, String> {
    if !value.is_empty()
        && !value.contains("..")
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
    {
        Ok(value.to_string())
    } else {
        Err(format!("{what} `{value}` has characters outside [A-Za-z0-9._/-]"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_matches_host_port_and_wildcards() {
        let allow = vec!["127.0.0.1:*".to_string(), "status.example.com:8443".into(), "*.internal.example".into()];
        assert!(host_allowed(&allow, "127.0.0.1", Some(5555)));
        assert!(!host_allowed(&["127.0.0.1".to_string()], "127.0.0.1", Some(5555)));
        assert!(host_allowed(&["127.0.0.1".to_string()], "127.0.0.1", Some(443)));
        assert!(host_allowed(&["[::1]:8080".to_string()], "[::1]", Some(8080)));
        assert!(!host_allowed(&allow, "a.internal.example", Some(22)));
        assert!(host_allowed(&allow, "status.example.com", Some(8443)));
        assert!(!host_allowed(&allow, "status.example.com", Some(443)));
        assert!(host_allowed(&allow, "a.internal.example", Some(443)));
        assert!(!host_allowed(&allow, "internal.example.evil.com", Some(443)));
        assert!(!host_allowed(&allow, "127.0.0.2", Some(80)));
    }

    #[tokio::test]
    async fn a_command_check_can_require_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let forge = crate::forge::local::LocalForge::open(dir.path()).unwrap();
        let run = vec!["echo".to_string(), "disk ${labels.disk} at 93%".to_string()];
        let vars = Vars { values: [("labels.disk".to_string(), "sda(1)".to_string())].into() };
        let exec = Executor {
            forge: &forge,
            allow_hosts: Vec::new(),
            commands: vec![run.clone()],
            command_env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
            vars,
            http: crate::ops::http_client().unwrap(),
            dry_run: false,
        };
        let check = |expect: Option<&str>| CommandCheck {
            run: crate::ops::runbook::CommandLine::Argv(run.clone()),
            expect_exit: 0,
            expect_output: expect.map(str::to_string),
        };
        let timeout = StdDuration::from_secs(10);
        // A placeholder in the regex is quoted: `sda(1)` matches itself, not a group.
        assert!(exec.command(&check(Some(r"disk ${labels.disk} at 9\d%")), timeout).await.0);
        assert!(exec.command(&check(None), timeout).await.0);
        let (ok, detail) = exec.command(&check(Some(r"at [0-8]\d%")), timeout).await;
        assert!(!ok && detail.contains("output does not match expect_output"), "{detail}");
        assert!(!exec.command(&check(Some("${labels.missing}")), timeout).await.0);
    }

    #[test]
    fn names_from_labels_cannot_smuggle() {
        assert!(name_like("deploy.yml", "workflow").is_ok());
        assert!(name_like("a b", "workflow").is_err());
        assert!(name_like("../x", "workflow").is_err());
    }
}
