//! The retry layer every client carries: what GitHub asks of bots (ANCHORS.md §3), which
//! suits every other service too.
//! - writes go one at a time, at least [`RetryPolicy::write_gap`] apart;
//! - a rate-limited request (429, or GitHub's 403 with `retry-after`, no requests left or
//!   a "rate limit" message) was refused before anything happened: it waits as the server
//!   asks (`retry-after`, else `x-ratelimit-reset`, else [`RetryPolicy::secondary_wait`])
//!   and is sent again, whatever its method;
//! - a 5xx or a broken connection is retried with exponential backoff only when the
//!   request is safe to repeat: GET, HEAD, OPTIONS, PUT, PATCH, DELETE, or a POST marked
//!   [`Idempotent`] (a GraphQL query, a model completion). Any other POST goes back to the
//!   caller at once — the server may have acted on it, and only the caller can look;
//! - a wait longer than [`RetryPolicy::max_wait`] fails the request instead of stalling
//!   the run ([`TooLongWait`]);
//! - a write marked [`Reread`] (built from a read) is never sent twice: after a failure
//!   worth another try the layer waits as it would, then hands the failure back, and the
//!   caller reads again before it writes again.

use std::time::Duration;

use http::{Extensions, Method, StatusCode};
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How one service is paced and retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Minimum time between two writes (GitHub asks for ≥ 1 s; zero elsewhere).
    pub write_gap: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff for 5xx and transport errors; doubles each attempt.
    pub backoff: Duration,
    /// Wait after a rate limit that named no time (GitHub's secondary limits).
    pub secondary_wait: Duration,
    /// Never wait longer than this for one retry (a reset an hour away fails the run).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    /// GitHub's pace.
    fn default() -> Self {
        Self {
            write_gap: Duration::from_secs(1),
            max_attempts: 4,
            backoff: Duration::from_secs(2),
            secondary_wait: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// Every request sent once (a probe whose caller repeats it on its own schedule).
    pub fn once() -> Self {
        Self { write_gap: Duration::ZERO, max_attempts: 1, ..Self::default() }
    }

    /// A service without write pacing: `attempts` tries, backoff from `backoff`, and at
    /// most `max_wait` for any one wait.
    pub fn unpaced(attempts: u32, backoff: Duration, max_wait: Duration) -> Self {
        Self { write_gap: Duration::ZERO, max_attempts: attempts.max(1), backoff, secondary_wait: backoff, max_wait }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.backoff.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

/// Marks a POST as safe to send again after a 5xx or a dropped connection.
#[derive(Debug, Clone, Copy)]
pub struct Idempotent;

/// Marks a write built from what a read returned (an issue body with a counter): resent
/// later as it was, it would replace whatever other runs wrote meanwhile.
#[derive(Debug, Clone, Copy)]
pub struct Reread;

/// On a [`Reread`] write's failed response: the layer has waited what the server asked,
/// and the caller may read again and write again now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waited;

/// How many times the layer sent a request, in the response's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts(pub u32);

/// The server asked for a wait longer than the policy allows.
#[derive(Debug, thiserror::Error)]
#[error("{host} asks to wait {}s, more than the {}s allowed", wait.as_secs(), max.as_secs())]
pub struct TooLongWait {
    pub host: String,
    pub wait: Duration,
    pub max: Duration,
}

/// The middleware; see the module documentation.
pub struct Retry {
    policy: RetryPolicy,
    last_write: Mutex<Option<Instant>>,
}

impl Retry {
    pub fn new(policy: RetryPolicy) -> Self {
        Self { policy, last_write: Mutex::new(None) }
    }

    async fn pace_write(&self) {
        let mut last = self.last_write.lock().await;
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < self.policy.write_gap {
                tokio::time::sleep(self.policy.write_gap - since).await;
            }
        }
        *last = Some(Instant::now());
    }
}

/// What one attempt came to.
enum Verdict {
    Done(reqwest_middleware::Result<Response>),
    /// Worth another try after this long (the outcome is kept for the last attempt).
    Again(reqwest_middleware::Result<Response>, Duration, String),
}

#[async_trait::async_trait]
impl Middleware for Retry {
    async fn handle(
        &self,
        req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let marked = extensions.get::<Idempotent>().is_some();
        let reread = extensions.get::<Reread>().is_some();
        let method = req.method().clone();
        let read = marked || matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let repeatable = read || matches!(method, Method::PUT | Method::PATCH | Method::DELETE);
        let host = req.url().host_str().unwrap_or("the server").to_string();
        let path = req.url().path().to_string();
        let mut attempt = 1;
        loop {
            // A streamed body cannot be sent twice: one attempt.
            let Some(copy) = req.try_clone() else {
                if !read {
                    self.pace_write().await;
                }
                return next.run(req, extensions).await;
            };
            if !read && self.policy.write_gap > Duration::ZERO {
                self.pace_write().await;
            }
            let outcome = next.clone().run(copy, extensions).await;
            let (outcome, wait, why) = match self.judge(outcome, repeatable, attempt).await {
                Verdict::Done(outcome) => return with_attempts(outcome, attempt),
                Verdict::Again(outcome, wait, why) => (outcome, wait, why),
            };
            if attempt >= self.policy.max_attempts {
                return with_attempts(outcome, attempt);
            }
            if wait > self.policy.max_wait {
                return Err(reqwest_middleware::Error::middleware(TooLongWait {
                    host,
                    wait,
                    max: self.policy.max_wait,
                }));
            }
            if reread {
                tracing::warn!("{method} {host}{path}: {why}; reading again in {:.1}s", wait.as_secs_f64());
                tokio::time::sleep(wait).await;
                return with_attempts(outcome, attempt).map(|mut response| {
                    response.extensions_mut().insert(Waited);
                    response
                });
            }
            tracing::warn!(
                "{method} {host}{path}: {why}; retrying in {:.1}s (attempt {attempt} of {})",
                wait.as_secs_f64(),
                self.policy.max_attempts
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

impl Retry {
    async fn judge(&self, outcome: reqwest_middleware::Result<Response>, repeatable: bool, attempt: u32) -> Verdict {
        let backoff = self.policy.backoff(attempt);
        let response = match outcome {
            Ok(response) => response,
            Err(e) if repeatable => {
                let why = super::describe(&e);
                return Verdict::Again(Err(e), backoff, why);
            }
            Err(e) => return Verdict::Done(Err(e)),
        };
        let (response, limited) = match rate_limited(response).await {
            Ok(pair) => pair,
            Err(e) => return Verdict::Done(Err(e)),
        };
        let status = response.status();
        let why = format!("HTTP {}", status.as_u16());
        if let Some(asked) = limited {
            let wait = asked.unwrap_or_else(|| self.policy.secondary_wait.max(backoff));
            return Verdict::Again(Ok(response), wait, why);
        }
        if status.is_server_error() && repeatable {
            let wait = header_secs(&response, "retry-after").unwrap_or(backoff);
            return Verdict::Again(Ok(response), wait, why);
        }
        Verdict::Done(Ok(response))
    }
}

fn with_attempts(outcome: reqwest_middleware::Result<Response>, attempts: u32) -> reqwest_middleware::Result<Response> {
    outcome.map(|mut response| {
        response.extensions_mut().insert(Attempts(attempts));
        response
    })
}

fn header_secs(response: &Response, name: &str) -> Option<Duration> {
    let value = response.headers().get(name)?.to_str().ok()?.trim();
    value.parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether the reply is a rate limit, and how long it asks to wait (`Some(None)`: a limit
/// that named no time). GitHub's secondary limits are a 403 whose only sign may be its
/// message, so a 403's body is read — and put back for the caller.
async fn rate_limited(response: Response) -> reqwest_middleware::Result<(Response, Option<Option<Duration>>)> {
    let status = response.status();
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::FORBIDDEN {
        return Ok((response, None));
    }
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let mut wait = header_secs(&response, "retry-after");
    if wait.is_none()
        && exhausted
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
    {
        let now = jiff::Timestamp::now().as_second();
        wait = Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0).max(1)));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Ok((response, Some(wait)));
    }
    if wait.is_some() || exhausted {
        return Ok((response, Some(wait)));
    }
    // A 403 without rate-limit headers: look at the message, then rebuild the response.
    let (response, body) = buffered(response).await?;
    let limited = String::from_utf8_lossy(&body).to_ascii_lowercase().contains("rate limit");
    Ok((response, limited.then_some(None)))
}

/// Reads a response's body and returns a response carrying the same status, headers and
/// body, with the bytes read.
async fn buffered(response: Response) -> reqwest_middleware::Result<(Response, bytes::Bytes)> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let url = response.url().clone();
    let body = response.bytes().await?;
    let builder = reqwest::ResponseBuilderExt::url(http::Response::builder().status(status).version(version), url);
    let mut rebuilt = builder.body(body.clone()).map_err(reqwest_middleware::Error::middleware)?;
    *rebuilt.headers_mut() = headers;
    Ok((Response::from(rebuilt), body))
}

#[cfg(test)]
mod tests {
    //! On a paused clock: every wait the layer makes is virtual, so the tests assert the
    //! waits GitHub asks for (a minute, half an hour) in milliseconds of real time.
    use std::time::Instant as RealInstant;

    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;
    use crate::http::{ClientOptions, client};

    fn policy() -> RetryPolicy {
        RetryPolicy {
            write_gap: Duration::from_secs(1),
            max_attempts: 4,
            backoff: Duration::from_secs(2),
            secondary_wait: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
        }
    }

    fn on_paused_clock(policy: RetryPolicy) -> crate::http::Client {
        let options = ClientOptions { timeout: None, connect_timeout: None, ..ClientOptions::default() };
        client(options.retry(policy)).unwrap()
    }

    async fn server(answers: Vec<ResponseTemplate>) -> MockServer {
        let server = MockServer::start().await;
        let n = answers.len() as u64;
        for (i, answer) in answers.into_iter().enumerate() {
            let mock = Mock::given(any()).respond_with(answer);
            // Each answer once, in order; the last one for every later request.
            let mock = if (i as u64) < n - 1 { mock.up_to_n_times(1) } else { mock };
            server.register(mock.with_priority(u8::try_from(i + 1).unwrap())).await;
        }
        server
    }

    async fn sent(server: &MockServer) -> usize {
        server.received_requests().await.unwrap_or_default().len()
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_is_repeated_after_5xx_with_doubling_backoff() {
        let s = server(vec![ResponseTemplate::new(502), ResponseTemplate::new(503), ResponseTemplate::new(200)]).await;
        let (virtual_start, real_start) = (Instant::now(), RealInstant::now());
        let r = on_paused_clock(policy()).get(s.uri()).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.extensions().get::<Attempts>().copied()), (200, Some(Attempts(3))));
        assert_eq!(sent(&s).await, 3);
        assert!(virtual_start.elapsed() >= Duration::from_secs(2 + 4), "{:?}", virtual_start.elapsed());
        assert!(real_start.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_and_the_rate_limit_reset_are_waited_out_even_for_a_post() {
        let s = server(vec![ResponseTemplate::new(429).insert_header("retry-after", "30"), ResponseTemplate::new(201)])
            .await;
        let start = Instant::now();
        let r = on_paused_clock(policy()).post(s.uri()).body("{}").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        assert_eq!(sent(&s).await, 2, "a refused POST is sent again");
        assert!(start.elapsed() >= Duration::from_secs(30));

        let reset = (jiff::Timestamp::now().as_second() + 600).to_string();
        let s = server(vec![
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset),
            ResponseTemplate::new(200),
        ])
        .await;
        let start = Instant::now();
        assert_eq!(on_paused_clock(policy()).get(s.uri()).send().await.unwrap().status().as_u16(), 200);
        assert!(start.elapsed() >= Duration::from_secs(595), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_secondary_limit_is_known_by_its_message_and_the_body_reaches_the_caller() {
        let message = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let s = server(vec![ResponseTemplate::new(403).set_body_string(message), ResponseTemplate::new(200)]).await;
        let start = Instant::now();
        assert_eq!(on_paused_clock(policy()).get(s.uri()).send().await.unwrap().status().as_u16(), 200);
        assert!(start.elapsed() >= Duration::from_secs(60));

        // A 403 that is not a limit comes back at once, its body intact.
        let denied = r#"{"message":"Resource not accessible by integration"}"#;
        let s = server(vec![ResponseTemplate::new(403).set_body_string(denied)]).await;
        let r = on_paused_clock(policy()).get(s.uri()).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.text().await.unwrap()), (403, denied.to_string()));
        assert_eq!(sent(&s).await, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_post_that_may_have_landed_is_not_sent_again_unless_marked_idempotent() {
        let s = server(vec![ResponseTemplate::new(502), ResponseTemplate::new(201)]).await;
        let r = on_paused_clock(policy()).post(s.uri()).body("{}").send().await.unwrap();
        assert_eq!((r.status().as_u16(), sent(&s).await), (502, 1));

        let s = server(vec![ResponseTemplate::new(502), ResponseTemplate::new(200)]).await;
        let r = on_paused_clock(policy()).post(s.uri()).with_extension(Idempotent).body("{}").send().await.unwrap();
        assert_eq!((r.status().as_u16(), sent(&s).await), (200, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_built_from_a_read_is_handed_back_after_the_wait_never_resent() {
        let message = r#"{"message":"You have exceeded a secondary rate limit."}"#;
        let s = server(vec![ResponseTemplate::new(403).set_body_string(message), ResponseTemplate::new(200)]).await;
        let start = Instant::now();
        let r = on_paused_clock(policy()).patch(s.uri()).with_extension(Reread).body("{}").send().await.unwrap();
        assert_eq!((r.status().as_u16(), sent(&s).await), (403, 1), "sent once");
        assert_eq!(r.extensions().get::<Waited>(), Some(&Waited), "and the caller told it may read again");
        assert!(start.elapsed() >= Duration::from_secs(60), "after the wait GitHub asks for");

        let s = server(vec![ResponseTemplate::new(502), ResponseTemplate::new(200)]).await;
        let r = on_paused_clock(policy()).patch(s.uri()).with_extension(Reread).body("{}").send().await.unwrap();
        assert_eq!((r.status().as_u16(), sent(&s).await), (502, 1));
        assert!(r.extensions().get::<Waited>().is_some());

        // A wait past the limit fails at once, as for any request.
        let s = server(vec![ResponseTemplate::new(429).insert_header("retry-after", "3600")]).await;
        let start = Instant::now();
        let e = on_paused_clock(policy()).patch(s.uri()).with_extension(Reread).body("{}").send().await.unwrap_err();
        assert!(e.to_string().contains("more than the 900s allowed"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(1));

        // A refusal not worth another try comes back at once, not marked.
        let s = server(vec![ResponseTemplate::new(422)]).await;
        let r = on_paused_clock(policy()).patch(s.uri()).with_extension(Reread).body("{}").send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.extensions().get::<Waited>()), (422, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_limit_fails_at_once_and_attempts_are_bounded() {
        let s = server(vec![ResponseTemplate::new(429).insert_header("retry-after", "3600")]).await;
        let start = Instant::now();
        let e = on_paused_clock(policy()).get(s.uri()).send().await.unwrap_err();
        assert!(e.to_string().contains("asks to wait 3600s, more than the 900s allowed"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(1), "no wait was made");

        let s = server(vec![ResponseTemplate::new(500)]).await;
        let r = on_paused_clock(policy()).get(s.uri()).send().await.unwrap();
        assert_eq!((r.status().as_u16(), sent(&s).await), (500, 4), "the last answer, after 4 attempts");
    }

    /// On the real clock: a paused one jumps ahead while a request waits on its socket.
    #[tokio::test]
    async fn writes_are_paced_and_reads_are_not() {
        let s = server(vec![ResponseTemplate::new(200)]).await;
        let gap = Duration::from_millis(300);
        let c = client(ClientOptions::default().retry(RetryPolicy { write_gap: gap, ..policy() })).unwrap();
        let start = RealInstant::now();
        for _ in 0..3 {
            c.get(s.uri()).send().await.unwrap();
        }
        assert!(start.elapsed() < gap, "reads go at once: {:?}", start.elapsed());
        let start = RealInstant::now();
        for _ in 0..3 {
            c.patch(s.uri()).body("{}").send().await.unwrap();
        }
        assert!(start.elapsed() >= gap * 2, "three writes, {gap:?} apart: {:?}", start.elapsed());
    }
}
