//! The `relay:` section of homeostat.yml, with `HOMEOSTAT_RELAY_*` environment overrides
//! for platforms where a file is awkward (containers, Fly.io, Cloud Run).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;
use crate::error::{Error, Position, Result};

/// hs-relay: the Sentry-protocol ingest server.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// One entry per DSN `http(s)://<public_key>@<host>/<id>`.
    #[serde(default)]
    pub projects: Vec<ProjectConfig>,
    /// The on-disk spool (append-only, fsync'd before an event is acknowledged).
    #[serde(default = "defaults::spool")]
    pub spool: PathBuf,
    /// Bytes of events not yet forwarded the spool may hold; past it new events are
    /// refused with 503 and counted as dropped.
    #[serde(default = "defaults::spool_max_bytes")]
    pub spool_max_bytes: u64,
    #[serde(default)]
    pub forward: ForwardConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// `redis://host:port`: rate limits shared by every instance using it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// A header set by the load balancer in front that carries the client's address
    /// (`fly-client-ip`, `x-forwarded-for`: its last entry); else the peer address.
    /// Only set it behind a proxy that overwrites it, or clients pick their own limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip_header: Option<String>,
    /// Seconds a client may take to send its headers and body (slow clients are cut off).
    #[serde(default = "defaults::read_timeout")]
    pub read_timeout: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            projects: Vec::new(),
            spool: defaults::spool(),
            spool_max_bytes: defaults::spool_max_bytes(),
            forward: ForwardConfig::default(),
            limits: LimitsConfig::default(),
            redis: None,
            client_ip_header: None,
            read_timeout: defaults::read_timeout(),
        }
    }
}

/// One project: its DSN id and public key, where its issues go, who may send from a browser.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The DSN's project id (the path part).
    pub id: String,
    /// The DSN's public key (the user part).
    pub public_key: String,
    /// `owner/name` the project's dispatches go to (else GITHUB_REPOSITORY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Origins a browser may send from (`https://app.example.com`,
    /// `chrome-extension://<id>`, `*` for any). Requests without `Origin` are not browsers
    /// and are not checked.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

/// Where accepted events go.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardConfig {
    #[serde(default)]
    pub mode: ForwardMode,
    /// How often the spool is forwarded.
    #[serde(default = "defaults::every")]
    pub every: Duration,
    /// Events in one forwarded batch (split further into dispatches within GitHub's limits).
    #[serde(default = "defaults::max_events")]
    pub max_events: usize,
}

impl Default for ForwardConfig {
    fn default() -> Self {
        Self { mode: ForwardMode::Dispatch, every: defaults::every(), max_events: defaults::max_events() }
    }
}

/// `dispatch`: repository_dispatch to GitHub (hs-issue runs there); `direct`: the issue
/// flow runs inside the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForwardMode {
    #[default]
    Dispatch,
    Direct,
}

/// Events accepted per minute; 0 turns a limit off.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    #[serde(default = "defaults::per_project")]
    pub per_project_per_minute: u64,
    #[serde(default = "defaults::per_client")]
    pub per_client_per_minute: u64,
    #[serde(default = "defaults::per_fingerprint")]
    pub per_fingerprint_per_minute: u64,
    /// Request bodies larger than this (compressed or not) get 413. Sentry's own limits:
    /// 20 MB compressed and 100 MB uncompressed per envelope, 1 MB per event.
    #[serde(default = "defaults::max_body")]
    pub max_body_bytes: usize,
    /// Largest body after decompression.
    #[serde(default = "defaults::max_decompressed")]
    pub max_decompressed_bytes: usize,
    /// Largest single event item.
    #[serde(default = "defaults::max_event")]
    pub max_event_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            per_project_per_minute: defaults::per_project(),
            per_client_per_minute: defaults::per_client(),
            per_fingerprint_per_minute: defaults::per_fingerprint(),
            max_body_bytes: defaults::max_body(),
            max_decompressed_bytes: defaults::max_decompressed(),
            max_event_bytes: defaults::max_event(),
        }
    }
}

mod defaults {
    use super::*;
    pub fn spool() -> PathBuf {
        PathBuf::from(".homeostat/relay")
    }
    pub fn spool_max_bytes() -> u64 {
        256 << 20
    }
    pub fn every() -> Duration {
        Duration::from_secs(30)
    }
    pub fn max_events() -> usize {
        500
    }
    pub fn per_project() -> u64 {
        600
    }
    pub fn per_client() -> u64 {
        60
    }
    pub fn per_fingerprint() -> u64 {
        30
    }
    pub fn max_body() -> usize {
        20 << 20
    }
    pub fn max_decompressed() -> usize {
        100 << 20
    }
    pub fn max_event() -> usize {
        1 << 20
    }
    pub fn read_timeout() -> Duration {
        Duration::from_secs(10)
    }
}

impl RelayConfig {
    /// Applies `HOMEOSTAT_RELAY_*` variables over the file's values. A project can be
    /// given whole as `HOMEOSTAT_RELAY_PROJECT=<id>:<public_key>[:<origin>,<origin>…]`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        let bad = |name: &str, e: String| Error::input(Position::file(name), e);
        if let Some(v) = get("HOMEOSTAT_RELAY_SPOOL") {
            self.spool = PathBuf::from(v);
        }
        if let Some(v) = get("HOMEOSTAT_RELAY_REDIS") {
            self.redis = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("HOMEOSTAT_RELAY_CLIENT_IP_HEADER") {
            self.client_ip_header = Some(v.to_ascii_lowercase()).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("HOMEOSTAT_RELAY_FORWARD_EVERY") {
            self.forward.every = v.parse().map_err(|e| bad("HOMEOSTAT_RELAY_FORWARD_EVERY", e))?;
        }
        let numbers: [(&str, &mut u64); 3] = [
            ("HOMEOSTAT_RELAY_PER_PROJECT_PER_MINUTE", &mut self.limits.per_project_per_minute),
            ("HOMEOSTAT_RELAY_PER_CLIENT_PER_MINUTE", &mut self.limits.per_client_per_minute),
            ("HOMEOSTAT_RELAY_PER_FINGERPRINT_PER_MINUTE", &mut self.limits.per_fingerprint_per_minute),
        ];
        for (name, slot) in numbers {
            if let Some(v) = get(name) {
                *slot = v.trim().parse().map_err(|e| bad(name, format!("`{v}` is not a number ({e})")))?;
            }
        }
        if let Some(v) = get("HOMEOSTAT_RELAY_PROJECT") {
            let mut parts = v.splitn(3, ':');
            let (Some(id), Some(key)) = (parts.next(), parts.next()) else {
                return Err(bad("HOMEOSTAT_RELAY_PROJECT", "expected <id>:<public_key>[:<origins>]".into()));
            };
            let origins = parts.next().map(|o| o.split(',').map(str::to_string).collect()).unwrap_or_default();
            self.projects.retain(|p| p.id != id);
            self.projects.push(ProjectConfig {
                id: id.to_string(),
                public_key: key.to_string(),
                repo: None,
                allowed_origins: origins,
            });
        }
        Ok(())
    }

    /// The project with this DSN id.
    pub fn project(&self, id: &str) -> Option<&ProjectConfig> {
        self.projects.iter().find(|p| p.id == id)
    }
}

impl ProjectConfig {
    /// Whether a browser at `origin` may send events for this project.
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.iter().any(|o| o == "*" || o.trim_end_matches('/') == origin.trim_end_matches('/'))
    }
}
