//! Issue 15, the agent: a stand-in agent that tries `/proc/$PPID/environ` (and every
//! other `/proc/*/environ`), `git config -l`, `env`, and a `setsid sleep` that would
//! outlive the deadline. It finds no token and leaves no process behind.
//!
//! The test runs in a child process of the test binary with a token in that process's
//! environment, as hs-agent's is in Actions: the shared test process never holds the token
//! (setting it there would hand it to every other test's children).

use std::time::Duration;

use homeostat::agent::adapter::Invocation;
use homeostat::agent::runner::{self, Exit};
use homeostat::agent::sandbox;

const TOKEN: &str = "ghs_adversarialTokenValue0123456789abcd";

fn processes_with(arg: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.parse::<u32>().is_ok()) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(arg) {
                out.push(format!("{}: {cmd}", entry.file_name().to_string_lossy()));
            }
        }
    }
    out
}

/// Runs [`in_a_process_holding_a_token`] alone in a child of this test binary whose
/// environment holds the token.
#[test]
fn the_agent_finds_no_token_and_leaves_no_process() {
    let me = std::env::current_exe().unwrap();
    let name = "adversarial_agent::in_a_process_holding_a_token";
    let out = std::process::Command::new(me)
        .args([name, "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the inner test did not run:\n{text}");
}

#[test]
#[ignore = "run by the_agent_finds_no_token_and_leaves_no_process, in a process holding a token"]
fn in_a_process_holding_a_token() {
    if std::env::var("GITHUB_TOKEN").as_deref() != Ok(TOKEN) {
        eprintln!("skipped: run by the_agent_finds_no_token_and_leaves_no_process");
        return;
    }
    if sandbox::mode() == sandbox::Mode::Off {
        // Without a namespace the run is refused while a token is in the environment.
        let dir = tempfile::tempdir().unwrap();
        let inv = Invocation { program: "/bin/true".into(), args: vec![], stdin_file: None };
        let err = runner::run(&inv, dir.path(), &[], Duration::from_secs(5), &dir.path().join("log")).unwrap_err();
        assert!(err.to_string().contains("namespace"), "{err}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git").arg("-C").arg(&repo).args(args).status().unwrap().success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "--quiet"]);
    // What actions/checkout leaves with persist-credentials: the token in .git/config.
    git(&["config", "http.https://github.com/.extraheader", &format!("AUTHORIZATION: basic {TOKEN}")]);
    git(&["remote", "add", "origin", &format!("https://x-access-token:{TOKEN}@github.com/o/r.git")]);
    let saved = std::fs::read_to_string(repo.join(".git/config")).unwrap();
    // hs-agent runs the agent inside this guard (as `agent::run` does).
    let checkout = homeostat::agent::git::Checkout::new(&repo);
    let guard = checkout.disable_push().unwrap();

    let marker = dir.path().join("survived");
    let script = format!(
        "echo ppid=$PPID; cat /proc/$PPID/environ 2>&1; for f in /proc/[0-9]*/environ; do cat $f 2>/dev/null; echo; done; \
         git config -l; env; cat ~/.git-credentials 2>&1; \
         setsid sh -c 'sleep 2.5; touch {m}' & setsid sleep 31.4159 & sleep 0.3; echo done",
        m = marker.display()
    );
    let inv = Invocation { program: "/bin/sh".into(), args: vec!["-c".into(), script], stdin_file: None };
    let env = vec![
        ("PATH".to_string(), std::env::var("PATH").unwrap()),
        ("HOME".to_string(), dir.path().display().to_string()),
    ];
    let run = runner::run(&inv, &repo, &env, Duration::from_secs(20), &dir.path().join("agent.log")).unwrap();
    assert_eq!(run.exit, Exit::Code(0), "{}", run.output);
    assert!(run.output.contains("done"), "{}", run.output);
    assert!(!run.output.contains(TOKEN), "the agent reached the token:\n{}", run.output);
    assert!(!run.output.contains("adversarialToken"), "{}", run.output);
    drop(guard);
    assert_eq!(std::fs::read_to_string(repo.join(".git/config")).unwrap(), saved, "the checkout's config is restored");
    // No process of the agent is left, the setsid ones included.
    std::thread::sleep(Duration::from_millis(300));
    assert!(processes_with("31.4159").is_empty(), "left behind: {:?}", processes_with("31.4159"));
    std::thread::sleep(Duration::from_millis(2600));
    assert!(!marker.exists(), "a setsid child outlived the run");

    // At the deadline too.
    let hang = Invocation {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), "setsid sleep 27.1828 & sleep 60".into()],
        stdin_file: None,
    };
    let run = runner::run(&hang, &repo, &env, Duration::from_millis(500), &dir.path().join("hang.log")).unwrap();
    assert_eq!(run.exit, Exit::TimedOut);
    std::thread::sleep(Duration::from_millis(300));
    assert!(processes_with("27.1828").is_empty(), "left behind: {:?}", processes_with("27.1828"));
}
