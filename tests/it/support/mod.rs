//! Helpers for the tests that run homeostat against the GitHub stand-in.

#![allow(dead_code)]

pub mod act;
pub mod bins;
pub mod git;
pub mod http;
pub mod pairs;
pub mod run;
pub mod snap;

use std::time::Duration;

use github_standin::Standin;
use homeostat::forge::github::{GithubForge, RetryPolicy};

/// Waits short enough for tests: what `HOMEOSTAT_GITHUB_RETRY=fast` gives the binaries.
pub fn fast() -> RetryPolicy {
    RetryPolicy {
        write_gap: Duration::ZERO,
        max_attempts: 4,
        backoff: Duration::from_millis(10),
        secondary_wait: Duration::from_millis(10),
        max_wait: Duration::from_secs(2),
    }
}

pub fn forge(gh: &Standin) -> GithubForge {
    GithubForge::with_policy(gh.url(), "test-token", &gh.repo(), fast()).unwrap()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}
