//! Sending requests to GitHub through the shared HTTP stack ([`crate::http`]: writes
//! paced, rate limits waited out, safe requests repeated), and the one retry that layer
//! cannot make: a create tried again only after a re-read shows it did not land.

use super::*;

/// One HTTP exchange.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
    /// A failed write built from a read, handed back after the wait ([`crate::http::Waited`]).
    pub(super) waited: bool,
}

/// How the retry layer may repeat a request.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// As its method allows, and a POST after a 5xx too (it changes nothing twice).
    Freely,
    /// As its method allows (a POST only after a rate limit).
    ByMethod,
    /// Never: a write built from a read ([`crate::http::Reread`]).
    Never,
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
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", http::HeaderValue::from_static(API_VERSION));
        let mut auth = http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ForgeError::Setup("the GitHub token holds characters a header cannot carry".into()))?;
        auth.set_sensitive(true);
        headers.insert(http::header::AUTHORIZATION, auth);
        let options = crate::http::ClientOptions::default().headers(headers).retry(policy.clone());
        let client = crate::http::client(options).map_err(|e| ForgeError::Setup(format!("GitHub client: {e}")))?;
        let own_logins = crate::settings::agent::DEFAULT_BOT_LOGINS.iter().map(|l| (*l).to_string()).collect();
        let token_login = tokio::sync::OnceCell::new();
        Ok(Self { client, api, repo: repo.to_string(), policy, labels: None, own_logins, token_login })
    }

    /// Makes sure each label exists, with its colour and description from `known`,
    /// before a run first writes it.
    pub fn with_labels(mut self, known: Vec<LabelSpec>) -> Self {
        self.labels = Some(LabelBook::new(known));
        self
    }

    /// The logins the token writes as (the workflow token's `github-actions[bot]`, an
    /// App's `<slug>[bot]`), for [`Forge::is_own`]; default: `DEFAULT_BOT_LOGINS`.
    pub fn with_own_logins(mut self, logins: Vec<String>) -> Self {
        self.own_logins = logins;
        self
    }

    /// The login a person's or a machine user's token writes as (`GET /user`). GitHub
    /// refuses the question for an installation token (the workflow token, an App's), whose
    /// `[bot]` login is among `own_logins`: none. The answer is kept for the run; a failure
    /// that may pass (a 5xx, a dropped connection, a rate limit) fails the caller, whose
    /// re-run asks again (taken as "not ours", it would have made a second comment).
    pub(super) async fn token_login(&self) -> ForgeResult<Option<&str>> {
        let ask = || async {
            match self.get_json("the token's user", &format!("{}/user", self.api)).await {
                Ok(text) => {
                    let user = serde_json::from_str::<serde_json::Value>(&text).ok();
                    Ok(user.and_then(|v| v["login"].as_str().map(str::to_string)))
                }
                // Refused for what the token is (not for a rate limit, which passes).
                Err(ForgeError::Api { status: 401, .. } | ForgeError::NotFound { .. }) => Ok(None),
                Err(ForgeError::Api { status: 403, message, .. }) if !message.to_lowercase().contains("rate limit") => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        };
        Ok(self.token_login.get_or_try_init(ask).await?.as_deref())
    }

    pub(super) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/repos/{}{path}", self.api, self.repo)
        }
    }

    /// Sends one request through the retry layer (which paces writes, waits out rate
    /// limits and repeats what is safe to repeat) and reads the whole reply.
    async fn send(
        &self,
        what: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
        repeat: Repeat,
    ) -> ForgeResult<Reply> {
        let mut request = self.client.request(method, url);
        if let Some(body) = body {
            request = request.json(body);
        }
        match repeat {
            Repeat::Freely => request = request.with_extension(crate::http::Idempotent),
            Repeat::Never => request = request.with_extension(crate::http::Reread),
            Repeat::ByMethod => {}
        }
        let transport = |message: String| ForgeError::Transport { forge: FORGE, what: what.into(), message };
        let response = request.send().await.map_err(|e| {
            let message = crate::http::describe(&e);
            let too_long = matches!(&e, reqwest_middleware::Error::Middleware(m) if m.is::<crate::http::TooLongWait>());
            if repeat == Repeat::Never && !too_long {
                // The layer waited its backoff; the write may or may not have landed.
                ForgeError::ReadAgain { forge: FORGE, what: what.into(), message, may_have_landed: true }
            } else {
                transport(message)
            }
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let waited = response.extensions().get::<crate::http::Waited>().is_some();
        let body = response.text().await.map_err(|e| transport(crate::http::describe_reqwest(&e)))?;
        Ok(Reply { status, headers, body, waited })
    }

    /// A read: repeated freely, it changes nothing.
    pub(super) async fn read(&self, what: &str, url: &str) -> ForgeResult<Reply> {
        self.send(what, Method::GET, url, None, Repeat::Freely).await
    }

    /// A read sent with another method (a GraphQL query is a POST): repeated like [`Self::read`].
    pub(super) async fn read_with(
        &self,
        what: &str,
        method: &Method,
        url: &str,
        body: Option<&Value>,
    ) -> ForgeResult<Reply> {
        self.send(what, method.clone(), url, body, Repeat::Freely).await
    }

    /// A write that is safe to repeat (PATCH, PUT, DELETE, adding labels, creating a
    /// label that may exist).
    pub(super) async fn idempotent_write(
        &self,
        method: Method,
        what: &str,
        url: &str,
        body: Option<&Value>,
    ) -> ForgeResult<Reply> {
        self.send(what, method, url, body, Repeat::Freely).await
    }

    /// An update (PATCH) of the resource at `path`, parsed from GitHub's reply. Built from
    /// a read of it (`Repeat::Never`), it is sent once, and a failure worth another try
    /// comes back, after the wait, as [`ForgeError::ReadAgain`].
    pub(super) async fn patch<T>(
        &self,
        what: &str,
        path: &str,
        body: &Value,
        repeat: Repeat,
        parse: fn(&str) -> ForgeResult<T>,
    ) -> ForgeResult<T> {
        let reply = self.send(what, Method::PATCH, &self.url(path), Some(body), repeat).await?;
        match reply.status {
            s if s.is_success() => parse(&reply.body),
            s if reply.waited => Err(ForgeError::ReadAgain {
                forge: FORGE,
                what: what.into(),
                message: format!("HTTP {}: {}", s.as_u16(), api_message(&reply.body)),
                may_have_landed: s.is_server_error(),
            }),
            _ => Err(api_error(what, &reply)),
        }
    }

    /// A create (POST): the retry layer sends it once (more only when GitHub refused it
    /// with a rate limit); after a 5xx or a dropped connection, `find` re-reads the forge
    /// and, when the earlier attempt landed after all, its result is returned instead of
    /// writing again.
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
        let mut attempt = 1;
        loop {
            if attempt > 1
                && let Some(found) = find().await?
            {
                tracing::info!("{what}: the earlier attempt did land; not writing it again");
                return Ok(found);
            }
            let failure = match self.send(what, Method::POST, url, Some(body), Repeat::ByMethod).await {
                Ok(reply) if reply.status.is_success() => return parse(&reply.body),
                Ok(reply) if reply.status.is_server_error() => api_error(what, &reply),
                Ok(reply) => return Err(api_error(what, &reply)),
                Err(e @ ForgeError::Transport { .. }) => e,
                Err(e) => return Err(e),
            };
            if attempt >= self.policy.max_attempts {
                return Err(failure);
            }
            let wait = self.policy.backoff.saturating_mul(2u32.saturating_pow(attempt - 1));
            tracing::warn!(
                "{what}: {failure}; looking whether it landed, then retrying in {:.1}s (attempt {attempt} of {})",
                wait.as_secs_f64(),
                self.policy.max_attempts
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// A POST that must not be repeated once GitHub may have acted on it: the retry layer
    /// sends it again only after a rate limit (refused before anything happened).
    pub(super) async fn refused_only_write(&self, what: &str, url: &str, body: &Value) -> ForgeResult<Reply> {
        self.send(what, Method::POST, url, Some(body), Repeat::ByMethod).await
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
