//! The edge of every binary: logging set up, the body run, its error printed (scrubbed)
//! and mapped to the shared exit codes — 0 done, 1 failed, 2 bad input, 3 a gate said no.

use std::process::ExitCode;

use homeostat::error::{Error, InputError};
use homeostat::gha;

/// Runs a binary's body and maps its result to an exit code, printing the error (with its
/// causes) on stderr.
pub fn main(body: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    restore_sigpipe();
    init_logging();
    match body() {
        Ok(code) => code,
        Err(err) => {
            // Error messages may quote input (serde does): scrubbed like every log line.
            gha::eprint_safe(&format!("error: {err}"));
            for cause in err.chain().skip(1) {
                let text = cause.to_string();
                if !err.to_string().contains(&text) {
                    gha::eprint_safe(&format!("  caused by: {text}"));
                }
            }
            ExitCode::from(exit_code(&err))
        }
    }
}

/// The exit code for an error that reached a binary's edge.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return e.exit_code();
        }
        if cause.is::<InputError>() {
            return 2;
        }
    }
    1
}

/// Sets up logging on stderr (`HOMEOSTAT_LOG`, else `RUST_LOG`, else info), every line
/// through the scrubbing writer.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var(gha::vars::HOMEOSTAT_LOG)
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let ansi = colour(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        var("NO_COLOR").is_some(),
        var(gha::vars::GITHUB_ACTIONS).is_some_and(|v| v == "true"),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(gha::SafeStderr::default)
        .with_target(false)
        .without_time()
        .try_init();
}

/// Colour codes only where someone reads them rendered: a terminal, or an Actions log
/// (which renders them though it is no terminal) — not a file, the systemd journal or a
/// container's log; never with `NO_COLOR` set (no-color.org).
fn colour(terminal: bool, no_color: bool, actions: bool) -> bool {
    !no_color && (terminal || actions)
}

/// `hs-issue … | head` should stop quietly when the reader goes away, as command-line
/// tools do, instead of panicking on a broken pipe (Rust ignores SIGPIPE by default).
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use homeostat::error::Position;

    #[test]
    fn colour_only_where_it_is_rendered() {
        assert!(colour(true, false, false) && colour(false, false, true));
        assert!(!colour(false, false, false), "a file or the journal gets plain text");
        assert!(!colour(true, true, true), "NO_COLOR wins");
    }

    #[test]
    fn exit_codes_follow_the_convention() {
        let input: anyhow::Error = Error::input(Position::line("a", 3), "bad").into();
        assert_eq!(exit_code(&input), 2);
        assert_eq!(exit_code(&input.context("while loading")), 2);
        let gate: anyhow::Error = Error::Gate("no".into()).into();
        assert_eq!(exit_code(&gate), 3);
        assert_eq!(exit_code(&anyhow::anyhow!("network")), 1);
    }
}
