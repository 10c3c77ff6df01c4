//! homeostat's integration tests: one test binary (as release-plz and just organise theirs),
//! one module per subject. Helpers live in `support/` (running a binary and reading the
//! forge back: `support::run`), fixtures in `tests/fixtures/`, snapshots in `snapshots/`
//! beside the test's file (`canary/snapshots/` for `canary/cli.rs`). A subject too big for
//! one file is a folder: `scrub.rs` with the helpers its parts share, the parts in `scrub/`.
//!
//! Run one subject with `cargo test --test it NAME::` (for instance `cargo test --test it
//! fingerprint::`). A filter is a substring: `agent::` also picks `adversarial_agent::` and
//! `on_github::agent::` (add `-- --skip on_github::` and the like).
//!
//! Everything shares one process: a test never sets the process's environment or current
//! folder (it passes them to the child it starts), and the few that must not overlap take
//! a lock from `support`.

mod adversarial;
mod adversarial_agent;
mod adversarial_standin;
mod agent;
mod canary;
mod cluster;
mod content;
mod docs;
mod fingerprint;
mod fingerprint_real_world;
mod github;
mod guard;
mod issue_cli;
mod llm;
mod on_github;
mod ops;
mod policy;
mod relay;
mod report;
mod scrub;
mod scrub_corpus;
mod support;
mod workflows;
mod workflows_act;
