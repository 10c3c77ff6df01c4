//! Where the agent runs so that it cannot reach the job's token and cannot outlive its
//! deadline.
//!
//! - **A PID and mount namespace** (`unshare --pid --fork --kill-child --mount-proc`): the
//!   agent is PID 1 of its own namespace with its own `/proc`, so no ancestor (hs-agent,
//!   whose environment holds `GITHUB_TOKEN`) is visible: `/proc/$PPID/environ` does not
//!   exist. When PID 1 ends, or `unshare` is killed (`--kill-child`), the kernel kills
//!   every process in the namespace, `setsid` children included. As root `unshare` runs
//!   directly; as a user it runs in a user namespace (`--user --map-root-user`) where the
//!   kernel allows one, else through `sudo -n` (GitHub's hosted runners: passwordless sudo,
//!   but Ubuntu 24.04 restricts unprivileged user namespaces), dropping back to the
//!   caller's uid and gid with `setpriv` inside.
//! - **Always**: hs-agent is a child subreaper, so orphans of the agent come back to it
//!   rather than to init, and every descendant is killed when the run ends.
//!
//! `HOMEOSTAT_AGENT_SANDBOX=off` runs without a namespace (a process group and the
//! subreaper only); without a namespace hs-agent refuses to run an agent while its own
//! environment holds a token, since `/proc` would show it.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// How the agent is contained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `unshare` (as root, or in a user namespace: `userns` true).
    Namespace { userns: bool },
    /// `sudo -n unshare …` then `setpriv` back to `uid`/`gid`.
    SudoNamespace { uid: u32, gid: u32 },
    /// No namespace: the process group and the subreaper.
    Off,
}

const UNSHARE: [&str; 5] = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"];

fn works(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .arg("true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The best mode this machine allows (probed once per process).
pub fn mode() -> Mode {
    static MODE: OnceLock<Mode> = OnceLock::new();
    MODE.get_or_init(|| {
        if std::env::var("HOMEOSTAT_AGENT_SANDBOX").is_ok_and(|v| v == "off") {
            return Mode::Off;
        }
        // SAFETY: getuid/getgid/geteuid only read the process's credentials.
        let (euid, uid, gid) = unsafe { (libc::geteuid(), libc::getuid(), libc::getgid()) };
        if euid == 0 && works(UNSHARE[0], &UNSHARE[1..]) {
            return Mode::Namespace { userns: false };
        }
        let with_user: Vec<&str> = UNSHARE[1..].iter().copied().chain(["--user", "--map-root-user"]).collect();
        if works(UNSHARE[0], &with_user) {
            return Mode::Namespace { userns: true };
        }
        let sudo: Vec<&str> = ["-n"].into_iter().chain(UNSHARE).collect();
        if works("sudo", &sudo) {
            return Mode::SudoNamespace { uid, gid };
        }
        Mode::Off
    })
    .clone()
}

/// The program and arguments that run `program args` in `mode`, with exactly `env`
/// (through `sudo` the environment is passed by `env -i`, since sudo resets its own).
pub fn wrap(mode: &Mode, program: &str, args: &[String], env: &[(String, String)]) -> (String, Vec<String>) {
    let tail = std::iter::once(program.to_string()).chain(args.iter().cloned());
    let ns = || UNSHARE[1..].iter().map(|s| s.to_string());
    match mode {
        Mode::Off => (program.to_string(), args.to_vec()),
        Mode::Namespace { userns } => {
            let user = if *userns { vec!["--user".into(), "--map-root-user".into()] } else { Vec::new() };
            let out = ns().chain(user).chain(["--".into()]).chain(tail).collect();
            (UNSHARE[0].into(), out)
        }
        Mode::SudoNamespace { uid, gid } => {
            let drop = ["setpriv".into(), format!("--reuid={uid}"), format!("--regid={gid}"), "--init-groups".into()];
            let envs = env.iter().map(|(k, v)| format!("{k}={v}"));
            let out = ["-n".to_string(), UNSHARE[0].into()]
                .into_iter()
                .chain(ns())
                .chain(["--".into()])
                .chain(drop)
                .chain(["--".into(), "env".into(), "-i".into()])
                .chain(envs)
                .chain(tail)
                .collect();
            ("sudo".into(), out)
        }
    }
}

/// Whether hs-agent's own environment holds a token that `/proc/<pid>/environ` would
/// show to an agent running beside it.
pub fn token_in_own_env() -> bool {
    ["GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|t| !t.is_empty()))
}

/// Makes this process the reaper of its orphaned descendants (Linux), so a `setsid`
/// child of the agent is still ours to find and kill.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) sets a flag on this process; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Every live descendant of `root`, from `/proc` (parents before children).
pub fn descendants(root: i32) -> Vec<i32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // The command name may hold spaces and parentheses: fields start after the last `)`.
            let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, f)| f).split_whitespace().collect();
            if let Some(ppid) = fields.get(1).and_then(|p| p.parse::<i32>().ok()) {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out.remove(0);
    out
}

/// Kills `root`'s process group and every descendant; through sudo when they run as root.
pub fn kill_tree(mode: &Mode, root: i32) {
    if root <= 0 {
        return;
    }
    let pids = descendants(root);
    // SAFETY: kill(2) only sends signals: to the group we created (-root) and to our own
    // descendants, found just above.
    unsafe {
        libc::kill(-root, libc::SIGKILL);
        for p in &pids {
            libc::kill(*p, libc::SIGKILL);
        }
    }
    if matches!(mode, Mode::SudoNamespace { .. }) && !pids.is_empty() {
        let mut args = vec!["-n".to_string(), "kill".into(), "-s".into(), "KILL".into(), "--".into()];
        args.extend(pids.iter().map(i32::to_string));
        let _ = Command::new("sudo").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

/// Reaps the descendants that came back to us as orphans (they are our children now),
/// waiting at most about a second for them to die.
pub fn reap(pids: &[i32]) {
    for &p in pids {
        for _ in 0..100 {
            let mut status = 0;
            // SAFETY: waitpid on one pid with WNOHANG writes only into `status`.
            let r = unsafe { libc::waitpid(p, &mut status, libc::WNOHANG) };
            if r != 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
