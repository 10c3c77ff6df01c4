//! One HTTP stack for every service homeostat talks to: GitHub, the model providers,
//! canary sources, runbook operations and notifications. Every client is built by
//! [`client`] — rustls, homeostat's user agent, timeouts — and wrapped in one retry layer,
//! [`Retry`], whose [`RetryPolicy`] each adapter picks. Adapters never loop on a request
//! themselves; the retries left outside this module both follow a re-read, which needs to
//! know what was being written: a create tried again only when it did not land, and a
//! write built from a read ([`Reread`], an issue's counter) rebuilt from a new read.

mod retry;

use std::time::Duration;

pub use reqwest::header::HeaderMap;
pub use retry::{Attempts, Idempotent, Reread, Retry, RetryPolicy, TooLongWait, Waited};

/// The client every adapter sends through.
pub type Client = reqwest_middleware::ClientWithMiddleware;
/// A request being built on a [`Client`].
pub type RequestBuilder = reqwest_middleware::RequestBuilder;
/// What sending can fail with: the connection, or the retry layer giving up early.
pub type SendError = reqwest_middleware::Error;

/// The user agent every request carries (GitHub refuses requests without one).
pub const USER_AGENT: &str = concat!("homeostat/", env!("CARGO_PKG_VERSION"));

/// How one adapter's client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The whole request, connect to last byte; `None` waits as long as the server.
    pub timeout: Option<Duration>,
    /// `None` only in tests on a paused clock, where a pending timer would fire at once.
    pub connect_timeout: Option<Duration>,
    /// Follow redirects (up to 10); runbook operations do not, so a URL cannot wander.
    pub follow_redirects: bool,
    /// Sent with every request (a canary source's auth header, GitHub's Accept).
    pub default_headers: HeaderMap,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Some(Duration::from_secs(10)),
            follow_redirects: true,
            default_headers: HeaderMap::new(),
            retry: RetryPolicy::default(),
        }
    }
}

impl ClientOptions {
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.default_headers = headers;
        self
    }
    pub fn no_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }
}

/// Builds a client; fails only when TLS cannot be set up on this machine.
pub fn client(options: ClientOptions) -> Result<Client, String> {
    let redirect = if options.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    let mut builder =
        reqwest::Client::builder().user_agent(USER_AGENT).redirect(redirect).default_headers(options.default_headers);
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = options.connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    let inner = builder.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    Ok(reqwest_middleware::ClientBuilder::new(inner).with(Retry::new(options.retry)).build())
}

/// A sending error as a user may read it: what happened, without the URL (a canary
/// source's, a model's or a webhook's URL can carry a key in its query).
pub fn describe(e: &SendError) -> String {
    match e {
        reqwest_middleware::Error::Reqwest(e) => describe_reqwest(e),
        reqwest_middleware::Error::Middleware(e) => e.to_string(),
    }
}

/// [`describe`] for a bare reqwest error (reading a body).
pub fn describe_reqwest(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "transport error"
    };
    // reqwest's own Display names the URL; the innermost source says what happened.
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { kind.to_string() } else { format!("{kind}: {detail}") }
}
