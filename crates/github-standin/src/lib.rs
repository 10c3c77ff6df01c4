#![recursion_limit = "256"]
//! A stateful stand-in for GitHub's REST API (and the GraphQL discussions query), for
//! tests: it keeps issues, pull requests, comments, labels, collaborators and Actions
//! calls; checks every request and every answer against GitHub's own OpenAPI
//! description; and fails on demand (5xx, rate limits, slow answers, dropped
//! connections, writes that land but whose answer is lost).
//!
//! ```no_run
//! let gh = github_standin::Standin::start();
//! // point GITHUB_API_URL at gh.url(), run the code under test, then:
//! assert_eq!(gh.state().plain_issues().count(), 7);
//! gh.assert_clean();
//! ```

pub mod checks;
pub mod faults;
pub mod git;
pub mod graphql;
pub mod openapi;
mod render;
pub mod request;
pub mod rest;
pub mod server;
pub mod state;

use std::io::Write;
use std::sync::{Arc, Mutex};

pub use faults::{Fault, FaultKind};
pub use server::Logged;
pub use state::State;

/// Owner and name of the repository a stand-in serves unless told otherwise.
pub const REPO: &str = "octo-org/app";

pub struct Shared {
    pub state: Mutex<State>,
    pub faults: Mutex<Vec<Fault>>,
    pub log: Mutex<Vec<Logged>>,
    pub url: String,
}

/// Every violation in the log, each prefixed with its request.
pub fn violations_of(shared: &Shared) -> Vec<String> {
    let log = shared.log.lock().map(|l| l.clone()).unwrap_or_default();
    log.iter().flat_map(|l| l.violations.iter().map(move |v| format!("{} {}: {v}", l.method, l.path))).collect()
}

/// A running stand-in on 127.0.0.1 (its own thread and runtime); stopped on drop.
pub struct Standin {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set by a test that sends bad requests on purpose: its report is marked so.
    on_purpose: std::sync::atomic::AtomicBool,
}

impl Standin {
    /// Serves [`REPO`] on a free port.
    pub fn start() -> Self {
        let (owner, name) = REPO.split_once('/').unwrap_or((REPO, ""));
        Self::start_with(State::new(owner, name))
    }

    /// Serves `state` on a free port.
    pub fn start_with(state: State) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        Self::serve(listener, url, state).expect("start the stand-in")
    }

    /// Serves `state` on an already bound listener.
    pub fn serve(listener: std::net::TcpListener, url: String, state: State) -> std::io::Result<Self> {
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            url,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let inner = shared.clone();
        let thread = std::thread::Builder::new().name("github-standin".into()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => server::serve(l, inner, async { stopped.await.unwrap_or(()) }).await,
                    Err(e) => eprintln!("github-standin: {e}"),
                }
            })
        })?;
        Ok(Self { shared, stop: Some(stop), thread: Some(thread), on_purpose: Default::default() })
    }

    /// `http://127.0.0.1:PORT`: the value for `GITHUB_API_URL`.
    pub fn url(&self) -> &str {
        &self.shared.url
    }

    /// `owner/name` served.
    pub fn repo(&self) -> String {
        self.state().full_name()
    }

    /// A copy of the state now.
    pub fn state(&self) -> State {
        self.shared.state.lock().map(|s| s.clone()).expect("stand-in state")
    }

    /// Changes the state (seeding, or a maintainer's action between runs).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.shared.state.lock().expect("stand-in state"))
    }

    pub fn fault(&self, fault: Fault) {
        self.shared.faults.lock().expect("faults").push(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.lock().expect("faults").clear();
    }

    /// Every request served so far (control API requests excluded).
    pub fn requests(&self) -> Vec<Logged> {
        self.shared.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many requests matching `method` and a path regex were served.
    pub fn count(&self, method: &str, path: &str) -> usize {
        let re = regex::Regex::new(path).expect("path regex");
        self.requests().iter().filter(|l| l.method == method && re.is_match(&l.path)).count()
    }

    /// For a test of the checks themselves: its violations are on purpose, and the
    /// suite's report (`scripts/test-openapi-report.sh`) leaves them out.
    pub fn violations_on_purpose(&self) {
        self.on_purpose.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn violations(&self) -> Vec<String> {
        violations_of(&self.shared)
    }

    /// Panics with every violation of GitHub's description seen so far.
    pub fn assert_clean(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "{} request(s) broke GitHub's OpenAPI description:\n{}", v.len(), v.join("\n"));
    }

    /// Appends this stand-in's figures to `$CARGO_TARGET_DIR/standin-report/<pid>.jsonl`
    /// (else `target/`), which `scripts/test-openapi-report.sh` sums.
    fn report(&self) {
        let Some(dir) = report_dir() else { return };
        let requests = self.requests();
        if requests.is_empty() || std::fs::create_dir_all(&dir).is_err() {
            return;
        }
        let line = serde_json::json!({
            "test": std::thread::current().name().unwrap_or("?"),
            "requests": requests.len(),
            "violations": self.violations(),
            "on_purpose": self.on_purpose.load(std::sync::atomic::Ordering::Relaxed),
        });
        let file = dir.join(format!("{}.jsonl", std::process::id()));
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
            let _ = f.write_all(format!("{line}\n").as_bytes()); // one write: threads share the file
        }
    }
}

/// `$CARGO_TARGET_DIR/standin-report`, else the `target` folder the test binary runs from.
pub fn report_dir() -> Option<std::path::PathBuf> {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return Some(std::path::PathBuf::from(t).join("standin-report"));
    }
    let exe = std::env::current_exe().ok()?;
    // target/<profile>/deps/<test binary>
    Some(exe.parent()?.parent()?.parent()?.join("standin-report"))
}

impl Drop for Standin {
    fn drop(&mut self) {
        self.report();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, UNRESERVED).to_string()
}
