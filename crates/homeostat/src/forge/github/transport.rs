//! Sending requests as GitHub asks bots to: one write at a time and paced, rate limits
//! waited out, failures retried a bounded number of times, a create retried only after a
//! re-read shows it did not land.

use super::*;

/// One HTTP exchange.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

pub(super) enum Attempt {
    Done(Reply),
    /// Worth another try after this long.
    Retry(Duration, String),
}

impl GithubForge {
    pub fn new(api: &str, token: &str, repo: &str) -> crate::Result<Self> {
        Self::with_policy(api, token, repo, RetryPolicy::default())
    }

    pub fn with_policy(api: &str, token: &str, repo: &str, policy: RetryPolicy) -> crate::Result<Self> {
        if repo.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(crate::Error::input(
                crate::error::Position::file("--repo"),
                format!("`{repo}` is not owner/name"),
            ));
        }
        let api = api.trim_end_matches('/').to_string();
        let client = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| ForgeError::Setup(format!("GitHub API URL {api}: {e}")))?
            .personal_token(token.to_string())
            .add_retry_config(RetryConfig::None)
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| ForgeError::Setup(format!("GitHub client: {e}")))?;
        Ok(Self { client, api, repo: repo.to_string(), policy, last_write: Mutex::new(None), labels: None })
    }

    /// Makes sure each label exists, with its colour and description from `known`,
    /// before a run first writes it.
    pub fn with_labels(mut self, known: Vec<LabelSpec>) -> Self {
        self.labels = Some(LabelBook::new(known));
        self
    }

    pub(super) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/repos/{}{path}", self.api, self.repo)
        }
    }

    pub(super) async fn send_once(&self, method: &Method, url: &str, body: Option<&Value>) -> Result<Reply, String> {
        let result = match *method {
            Method::GET => self.client._get(url).await,
            Method::POST => self.client._post(url, body).await,
            Method::PATCH => self.client._patch(url, body).await,
            Method::PUT => self.client._put(url, body).await,
            Method::DELETE => self.client._delete(url, body).await,
            _ => return Err(format!("unsupported method {method}")),
        };
        let response = result.map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.client.body_to_string(response).await.map_err(|e| e.to_string())?;
        Ok(Reply { status, headers, body })
    }

    /// Sends once and says whether (and after how long) to try again.
    pub(super) async fn attempt(&self, method: &Method, url: &str, body: Option<&Value>, attempt: u32) -> Attempt {
        let backoff = self.policy.backoff * 2u32.saturating_pow(attempt.saturating_sub(1));
        let reply = match self.send_once(method, url, body).await {
            Ok(reply) => reply,
            Err(e) => return Attempt::Retry(backoff, format!("transport: {e}")),
        };
        match rate_limit_wait(&reply, &self.policy) {
            Some(wait) => Attempt::Retry(wait, format!("HTTP {}: {}", reply.status.as_u16(), api_message(&reply.body))),
            None if reply.status.is_server_error() => {
                Attempt::Retry(backoff, format!("HTTP {}: {}", reply.status.as_u16(), api_message(&reply.body)))
            }
            None => Attempt::Done(reply),
        }
    }

    /// A read: retried freely, it changes nothing.
    pub(super) async fn read(&self, what: &str, url: &str) -> ForgeResult<Reply> {
        self.read_with(what, &Method::GET, url, None).await
    }

    /// A read sent with another method (a GraphQL query is a POST): retried like [`Self::read`].
    pub(super) async fn read_with(
        &self,
        what: &str,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> ForgeResult<Reply> {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            match self.attempt(method, url, body, attempt).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// A write that is safe to repeat (PATCH, PUT, DELETE, adding labels).
    pub(super) async fn idempotent_write(
        &self,
        method: Method,
        what: &str,
        url: &str,
        body: Option<&Value>,
    ) -> ForgeResult<Reply> {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            self.pace_write().await;
            match self.attempt(&method, url, body, attempt).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// An update (PATCH) of the resource at `path`, parsed from GitHub's reply.
    pub(super) async fn patch<T>(
        &self,
        what: &str,
        path: &str,
        body: &Value,
        parse: fn(&str) -> ForgeResult<T>,
    ) -> ForgeResult<T> {
        let reply = self.idempotent_write(Method::PATCH, what, &self.url(path), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(api_error(what, &reply));
        }
        parse(&reply.body)
    }

    /// A create (POST): before each retry, `find` re-reads the forge; when the earlier
    /// attempt landed after all, its result is returned instead of writing again.
    pub(super) async fn create<T, F, Fut>(
        &self,
        what: &str,
        url: &str,
        body: &Value,
        parse: fn(&str) -> ForgeResult<T>,
        find: F,
    ) -> ForgeResult<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ForgeResult<Option<T>>>,
    {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            if attempt > 1
                && let Some(found) = find().await?
            {
                tracing::info!("{what}: the earlier attempt did land; not writing it again");
                return Ok(found);
            }
            self.pace_write().await;
            match self.attempt(&Method::POST, url, Some(body), attempt).await {
                Attempt::Done(reply) if reply.status.is_success() => return parse(&reply.body),
                Attempt::Done(reply) => return Err(api_error(what, &reply)),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// A POST that must not be repeated once GitHub may have acted on it: retried only
    /// after a rate limit (the request was refused before anything happened).
    pub(super) async fn refused_only_write(&self, what: &str, url: &str, body: &Value) -> ForgeResult<Reply> {
        for attempt in 1..=self.policy.max_attempts {
            self.pace_write().await;
            let reply = self
                .send_once(&Method::POST, url, Some(body))
                .await
                .map_err(|message| ForgeError::Transport { forge: FORGE, what: what.into(), message })?;
            match rate_limit_wait(&reply, &self.policy) {
                Some(wait) if attempt < self.policy.max_attempts => self.wait_before_retry(what, wait, attempt).await?,
                _ => return Ok(reply),
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: "rate limited".into() })
    }

    pub(super) async fn pace_write(&self) {
        let mut last = self.last_write.lock().await;
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < self.policy.write_gap {
                tokio::time::sleep(self.policy.write_gap - since).await;
            }
        }
        *last = Some(Instant::now());
    }

    pub(super) async fn wait_before_retry(&self, what: &str, wait: Duration, attempt: u32) -> ForgeResult<()> {
        if attempt >= self.policy.max_attempts {
            return Ok(());
        }
        if wait > self.policy.max_wait {
            return Err(ForgeError::Transport {
                forge: FORGE,
                what: what.into(),
                message: format!(
                    "GitHub asks to wait {}s, more than the {}s allowed",
                    wait.as_secs(),
                    self.policy.max_wait.as_secs()
                ),
            });
        }
        tracing::warn!(
            "{what}: retrying in {:.1}s (attempt {attempt} of {})",
            wait.as_secs_f64(),
            self.policy.max_attempts
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Every item of a paginated listing, following `link: rel="next"`.
    pub(super) async fn list_all(&self, what: &str, first: String) -> ForgeResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let reply = self.read(what, &url).await?;
            if !reply.status.is_success() {
                return Err(api_error(what, &reply));
            }
            let page: Vec<Value> = serde_json::from_str(&reply.body).map_err(|e| bad_json(what, e))?;
            out.extend(page);
            next = next_link(&reply.headers);
        }
        Ok(out)
    }

    /// A GraphQL query (`/graphql`, or `/api/graphql` on GitHub Enterprise Server). Its
    /// own errors (HTTP 200 with `errors`) fail it too.
    pub(super) async fn graphql(&self, what: &str, query: &str, variables: Value) -> ForgeResult<Value> {
        let url = match self.api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.api),
        };
        let body = serde_json::json!({"query": query, "variables": variables});
        let reply = self.read_with(what, &Method::POST, &url, Some(&body)).await?;
        if !reply.status.is_success() {
            return Err(api_error(what, &reply));
        }
        let value: Value = serde_json::from_str(&reply.body).map_err(|e| bad_json(what, e))?;
        if let Some(errors) = value.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let message = errors.iter().filter_map(|e| e.get("message")?.as_str()).collect::<Vec<_>>().join("; ");
            return Err(ForgeError::Api { forge: FORGE, what: what.into(), status: reply.status.as_u16(), message });
        }
        Ok(value)
    }

    pub(super) async fn get_json(&self, what: &str, url: &str) -> ForgeResult<String> {
        let reply = self.read(what, url).await?;
        match reply.status {
            s if s.is_success() => Ok(reply.body),
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound { forge: FORGE, what: what.into() }),
            _ => Err(api_error(what, &reply)),
        }
    }
}

/// How long GitHub asks us to wait, when the reply is a rate limit.
pub(super) fn rate_limit_wait(reply: &Reply, policy: &RetryPolicy) -> Option<Duration> {
    let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let limited = reply.status == StatusCode::TOO_MANY_REQUESTS
        || (reply.status == StatusCode::FORBIDDEN
            && (header("retry-after").is_some()
                || header("x-ratelimit-remaining") == Some("0")
                || reply.body.to_ascii_lowercase().contains("rate limit")));
    if !limited {
        return None;
    }
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
    {
        let now = jiff::Timestamp::now().as_second();
        return Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0).max(1)));
    }
    Some(policy.secondary_wait)
}

pub(super) fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

pub(super) fn api_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

pub(super) fn api_error(what: &str, reply: &Reply) -> ForgeError {
    ForgeError::Api {
        forge: FORGE,
        what: what.into(),
        status: reply.status.as_u16(),
        message: api_message(&reply.body),
    }
}

pub(super) fn bad_json(what: &str, e: serde_json::Error) -> ForgeError {
    ForgeError::Transport { forge: FORGE, what: what.into(), message: format!("unexpected response: {e}") }
}

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
pub(super) const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(super) fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}
